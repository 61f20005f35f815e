"""TikTok Shop Partner API client: HTTP only (signing, retries, paging), no interpretation of data.

Money fields are returned exactly as TikTok sends them (strings); parsing is the normaliser's job.
"""

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import httpx

from connectors.errors import Attempt, ErrorKind, redact_headers

from .errors import TikTokError, classify
from .signing import sign

BASE_URL = "https://open-api.tiktokglobalshop.com"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
BACKOFF_BASE = 0.5  # seconds; doubled per retry
BACKOFF_CAP = 8.0
# A Retry-After longer than this is not slept through inside a worker: the error goes up with
# `retry_after` set so the task can be rescheduled instead.
MAX_SLEEP = 30.0
STATEMENT_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# GET /order/202309/orders: "ids ... Max count: 50" (specs/tiktok/order.json).
ORDER_DETAIL_BATCH = 50
ORDER_ID = re.compile(r"^[0-9A-Za-z_-]+$")


class TikTokClient:
    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        access_token: str,
        shop_cipher: str | None = None,
        transport: httpx.BaseTransport | None = None,
        base_url: str = BASE_URL,
        clock: Callable[[], float] = time.time,
        on_attempt: Callable[[Attempt], None] | None = None,
        token_refresher: Callable[[], str] | None = None,
        max_retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.app_key = app_key
        self._app_secret = app_secret
        self.access_token = access_token
        self.shop_cipher = shop_cipher
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=TIMEOUT)
        self._clock = clock
        self._on_attempt = on_attempt
        self._token_refresher = token_refresher
        self._max_retries = max_retries
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"TikTokClient(app_key={self.app_key!r}, shop_cipher={self.shop_cipher!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "TikTokClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- endpoints -------------------------------------------------------------------------------

    def authorized_shops(self) -> list[dict]:
        return self.call("GET", "/authorization/202309/shops", shop=False).get("shops") or []

    def statements(
        self, *, statement_time_ge: int, statement_time_lt: int, page_size: int = 100
    ) -> Iterator[dict]:
        query = {
            "statement_time_ge": statement_time_ge,
            "statement_time_lt": statement_time_lt,
            "page_size": page_size,
            "sort_field": "statement_time",
            "sort_order": "ASC",
        }
        for page in self._pages("/finance/202309/statements", query):
            yield from page.get("statements") or []

    def payments(self, *, create_time_ge: int, create_time_lt: int, page_size: int = 100) -> Iterator[dict]:
        query = {
            "create_time_ge": create_time_ge,
            "create_time_lt": create_time_lt,
            "page_size": page_size,
            "sort_field": "create_time",
            "sort_order": "ASC",
        }
        for page in self._pages("/finance/202309/payments", query):
            yield from page.get("payments") or []

    def statement_transaction_pages(self, statement_id: str, page_size: int = 100) -> Iterator[dict]:
        """Each page's `data` unchanged: the caller stores it as an immutable source record."""
        if not STATEMENT_ID.match(statement_id):
            raise ValueError(f"not a TikTok statement id: {statement_id!r}")
        path = f"/finance/202501/statements/{statement_id}/statement_transactions"
        query = {"page_size": page_size, "sort_field": "order_create_time", "sort_order": "ASC"}
        yield from self._pages(path, query)

    # --- orders, returns, cancellations (specs/tiktok/order.json, return_refund.json) -----------

    def order_search(
        self, *, update_time_ge: int, update_time_lt: int, page_size: int = 100
    ) -> Iterator[dict]:
        """Orders updated in [ge, lt), oldest change first. page_size/page_token/sort_* go in the
        query and the filters in the JSON body, as order.json declares them (page_size 1-100)."""
        query = {"page_size": page_size, "sort_field": "update_time", "sort_order": "ASC"}
        body = {"update_time_ge": update_time_ge, "update_time_lt": update_time_lt}
        for page in self._pages("/order/202309/orders/search", query, method="POST", json_body=body):
            yield from page.get("orders") or []

    def order_details(self, ids: Sequence[str]) -> list[dict]:
        """Full order details, at most 50 ids a call (order.json); a longer list is batched.

        order.json declares `ids` as an array in the query without a style; it is sent comma-joined
        (a guess: what Go clients such as david-yappeter/go-tiktok send, and the only form the
        request signature, one key+value per parameter, can cover)."""
        for order_id in ids:
            if not ORDER_ID.match(str(order_id)):
                raise ValueError(f"not a TikTok order id: {order_id!r}")
        orders: list[dict] = []
        for start in range(0, len(ids), ORDER_DETAIL_BATCH):
            batch = [str(i) for i in ids[start : start + ORDER_DETAIL_BATCH]]
            data = self.call("GET", "/order/202309/orders", query={"ids": ",".join(batch)})
            orders.extend(data.get("orders") or [])
        return orders

    def returns_search(
        self,
        *,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        order_ids: Sequence[str] | None = None,
        page_size: int = 50,
    ) -> Iterator[dict]:
        """Returns updated in [ge, lt) and/or of these orders; return_refund.json allows page_size 10-50."""
        body = _filters(update_time_ge, update_time_lt, order_ids)
        for page in self._search("/return_refund/202309/returns/search", body, page_size):
            yield from page.get("return_orders") or []

    def cancellations_search(
        self,
        *,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        order_ids: Sequence[str] | None = None,
        page_size: int = 50,
    ) -> Iterator[dict]:
        """Cancellations updated in [ge, lt) and/or of these orders; page_size 1-50 (return_refund.json)."""
        body = _filters(update_time_ge, update_time_lt, order_ids)
        for page in self._search("/return_refund/202309/cancellations/search", body, page_size):
            yield from page.get("cancellations") or []

    def _search(self, path: str, body: dict, page_size: int) -> Iterator[dict]:
        query = {"page_size": page_size, "sort_field": "update_time", "sort_order": "ASC"}
        yield from self._pages(path, query, method="POST", json_body=body)

    # --- transport -------------------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, query: Mapping | None = None, json_body=None, shop: bool = True
    ) -> dict:
        """One API call with retries; returns the envelope's `data`.

        Transient failures are retried as they are, so use it only for calls that are safe to
        repeat (every TikTok call LedgerSync makes is a read, including POST .../orders/search).
        """
        if shop and not self.shop_cipher:
            raise ValueError(f"{path} is a shop API: the client needs a shop_cipher")
        # Serialised once: the bytes signed are the bytes sent, on every attempt.
        body = b"" if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        query = {key: str(value) for key, value in (query or {}).items()}
        retries = 0
        refreshed = False
        while True:
            try:
                return self._send(method, path, query, body, shop)
            except TikTokError as exc:
                if exc.token_expired and self._token_refresher and not refreshed:
                    self.access_token = self._token_refresher()
                    refreshed = True
                    continue
                delay = self._retry_delay(exc, retries)
                if delay is None:
                    raise
                self._sleep(delay)
                retries += 1

    def _retry_delay(self, exc: TikTokError, retries: int) -> float | None:
        if exc.kind is not ErrorKind.TRANSIENT or retries >= self._max_retries:
            return None
        if exc.retry_after is not None:
            return exc.retry_after if exc.retry_after <= MAX_SLEEP else None
        return min(BACKOFF_BASE * 2**retries, BACKOFF_CAP)

    def _pages(self, path: str, query: dict, *, method: str = "GET", json_body=None) -> Iterator[dict]:
        seen: set[str] = set()
        token = ""
        while True:
            page_query = {**query, "page_token": token} if token else query
            data = self.call(method, path, query=page_query, json_body=json_body)
            yield data
            token = data.get("next_page_token") or ""
            if not token:
                return
            if token in seen:  # a provider bug must not become an endless sync
                raise TikTokError(f"{path}: next_page_token {token!r} repeated", kind=ErrorKind.VALIDATION)
            seen.add(token)

    def _send(self, method: str, path: str, query: dict, body: bytes, shop: bool) -> dict:
        params = {**query, "app_key": self.app_key, "timestamp": str(int(self._clock()))}
        if shop:
            params["shop_cipher"] = self.shop_cipher
        params["sign"] = sign(self._app_secret, path, params, body)
        headers = {"x-tts-access-token": self.access_token}
        if body:
            headers["content-type"] = "application/json"
        request = self._http.build_request(method, path, params=params, content=body or None, headers=headers)
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:  # includes every httpx timeout
            self._report(request, body, None, started, error=type(exc).__name__)
            raise TikTokError(f"{type(exc).__name__} on {method} {path}", kind=ErrorKind.TRANSIENT) from exc
        try:
            data = classify(response)
        except TikTokError as exc:
            self._report(request, body, response, started, error=str(exc))
            raise
        self._report(request, body, response, started)
        return data

    def _report(self, request, body: bytes, response, started: float, error: str = "") -> None:
        if self._on_attempt is None:
            return
        attempt = Attempt(
            method=request.method,
            url=str(request.url),
            status=response.status_code if response is not None else None,
            request_headers=redact_headers(request.headers),
            request_body=body.decode(),
            response_headers=redact_headers(response.headers) if response is not None else {},
            response_body=response.text if response is not None else "",
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
        self._on_attempt(attempt)


def _filters(update_time_ge: int | None, update_time_lt: int | None, order_ids: Sequence[str] | None) -> dict:
    """A return_refund search body with only the filters given (names from return_refund.json)."""
    body: dict = {}
    if update_time_ge is not None:
        body["update_time_ge"] = update_time_ge
    if update_time_lt is not None:
        body["update_time_lt"] = update_time_lt
    if order_ids:
        body["order_ids"] = [str(i) for i in order_ids]
    return body
