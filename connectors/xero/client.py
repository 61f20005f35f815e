"""HTTP to Xero's Accounting API and nothing else: no ORM, no posting decisions.

Error classes come from `connectors.xero.errors`; this module only acts on them: it retries
TRANSIENT failures (re-sending the same Idempotency-Key, which Xero answers by replaying the first
response inside its window), raises everything else, and reports every attempt twice: to
`on_attempt_start` just before the request leaves (so an audit row exists even if the process dies
while Xero is applying the write) and to `on_attempt` with the outcome. Both reports of one HTTP
exchange carry the same `Attempt.ref`.
"""

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

import httpx

from connectors.errors import Attempt, ErrorKind, redact_headers
from connectors.xero.errors import (
    XeroError,
    classify_exception,
    classify_messages,
    classify_response,
    classify_unexpected_body,
    collect_messages,
)
from connectors.xero.ratelimit import TenantRateLimiter

logger = logging.getLogger(__name__)

API_PATH = "/api.xro/2.0"  # under the API root (settings XERO_API_URL)
BASE_URL = "https://api.xero.com" + API_PATH
COLLECTIONS = frozenset(
    {"ManualJournals", "BankTransactions", "Invoices", "CreditNotes", "Payments", "Contacts", "Items"}
)
MAX_ELEMENTS = 50  # Xero's batch limit
MAX_BODY_BYTES = 3_500_000  # Xero rejects POST/PUT bodies over 3.5 MB
MAX_KEY_LENGTH = 128  # Idempotency-Key limit
MAX_RETRY_SLEEP = 60.0  # longer waits (a day-limit 429) go back to the caller as TRANSIENT
BACKOFF_BASE = 1.0
AUDIT_HEADERS = (
    "Retry-After",
    "X-Rate-Limit-Problem",
    "X-MinLimit-Remaining",
    "X-DayLimit-Remaining",
    "X-AppMinLimit-Remaining",
    "Xero-Correlation-Id",
)


@dataclass(frozen=True)
class ElementResult:
    """Xero's answer for one element of a batch, in the order the elements were sent."""

    ok: bool
    element: dict
    messages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    kind: ErrorKind | None = None

    @classmethod
    def from_element(cls, element: dict) -> "ElementResult":
        messages = collect_messages(element, "ValidationErrors")
        # Xero drops an unknown account's line from a manual journal and only warns: a failure.
        warnings = collect_messages(element, "Warnings")
        failed = element.get("HasErrors") is True or element.get("StatusAttributeString") == "ERROR"
        if not (messages or warnings or failed):
            return cls(ok=True, element=element)
        kind = classify_messages(messages) if messages else ErrorKind.VALIDATION
        return cls(ok=False, element=element, messages=messages, warnings=warnings, kind=kind)


def dumps(payload) -> str:
    """JSON like `json.dumps`, but a Decimal is written as a number with its exact digits."""
    if isinstance(payload, Decimal):
        if not payload.is_finite():
            raise ValueError(f"cannot send {payload} to Xero")
        return format(payload, "f")
    if isinstance(payload, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dumps(v)}" for k, v in payload.items()) + "}"
    if isinstance(payload, list | tuple):
        return "[" + ", ".join(dumps(v) for v in payload) + "]"
    return json.dumps(payload, allow_nan=False)


class XeroClient:
    def __init__(
        self,
        *,
        tenant_id: str,
        access_token: Callable[[], str],
        transport: httpx.BaseTransport | None = None,
        base_url: str = BASE_URL,
        on_attempt: Callable[[Attempt], None] | None = None,
        on_attempt_start: Callable[[Attempt], None] | None = None,
        limiter: TenantRateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 4,
        timeout: float = 30.0,
    ):
        self.tenant_id = tenant_id
        self._access_token = access_token
        self._on_attempt = on_attempt
        self._on_attempt_start = on_attempt_start
        self._limiter = limiter
        self._sleep = sleep
        self._max_retries = max_retries
        self._http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "XeroClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # Reads

    def get_organisation(self) -> dict:
        organisations = self._get("Organisation", "Organisations")
        if not organisations:
            raise classify_unexpected_body("no Organisation", method="GET")
        return organisations[0]

    def get_accounts(self) -> list[dict]:
        return self._get("Accounts", "Accounts")

    def get_tax_rates(self) -> list[dict]:
        return self._get("TaxRates", "TaxRates")

    def get_items(self) -> list[dict]:
        return self._get("Items", "Items")

    def find(self, collection: str, *, where: str | None = None, page: int | None = None) -> list[dict]:
        """Look documents up, e.g. `where='Reference=="PO-1"'`, before re-creating after UNKNOWN_OUTCOME."""
        _check_collection(collection)
        params = {k: v for k, v in (("where", where), ("page", page)) if v is not None}
        return self._get(collection, collection, params=params)

    # Writes (PUT only: POST is "update or create", and a retried POST can overwrite a document)

    def create(
        self, collection: str, elements: list[dict], *, idempotency_key: str, unitdp4: bool = False
    ) -> list[ElementResult]:
        _check_collection(collection)
        return self._put_batch(f"/{collection}", collection, elements, idempotency_key, unitdp4)

    def allocate_credit_note(
        self, credit_note_id: str, allocations: list[dict], *, idempotency_key: str
    ) -> list[ElementResult]:
        path = f"/CreditNotes/{uuid.UUID(str(credit_note_id))}/Allocations"
        return self._put_batch(path, "Allocations", allocations, idempotency_key, False)

    def _put_batch(
        self, path: str, key: str, elements: list[dict], idempotency_key: str, unitdp4: bool
    ) -> list[ElementResult]:
        if not elements or len(elements) > MAX_ELEMENTS:
            raise ValueError(f"Xero takes 1 to {MAX_ELEMENTS} elements per request, not {len(elements)}")
        if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
            raise ValueError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
        body = dumps({key: elements}).encode()
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(f"request body of {len(body)} bytes is over Xero's 3.5 MB limit")
        params = {"summarizeErrors": "false"} | ({"unitdp": "4"} if unitdp4 else {})
        response = self._send("PUT", path, params=params, body=body, idempotency_key=idempotency_key)
        returned = _elements(response, key, method="PUT")
        if len(returned) != len(elements):
            # The write happened but we cannot tell which element became which document.
            raise classify_unexpected_body(
                f"{len(returned)} {key} back for {len(elements)} sent", method="PUT", status=200
            )
        return [ElementResult.from_element(e) for e in returned]

    # One request, with retries

    def _get(self, path: str, key: str, params: dict | None = None) -> list[dict]:
        response = self._send("GET", f"/{path}", params=params or {})
        return _elements(response, key, method="GET")

    def _send(
        self, method: str, path: str, *, params: dict, body: bytes | None = None, idempotency_key: str = ""
    ) -> httpx.Response:
        for attempt in range(self._max_retries + 1):
            error, response = self._attempt(method, path, params, body, idempotency_key, attempt)
            if error is None:
                return response
            if error.kind is not ErrorKind.TRANSIENT or attempt == self._max_retries:
                raise error
            delay = self._delay(attempt, error)
            if delay > MAX_RETRY_SLEEP:
                raise error
            self._sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _delay(attempt: int, error: XeroError) -> float:
        if error.retry_after is not None:
            return error.retry_after  # Xero says exactly when the window has room again
        ceiling = BACKOFF_BASE * 2**attempt
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter spreads workers' retries

    def _attempt(self, method, path, params, body, idempotency_key, number):
        """One HTTP exchange: (None, response) on 2xx, else (error, response or None)."""
        if self._limiter:
            self._limiter.acquire(self.tenant_id)  # may sleep, so the token is read afterwards
        request = self._http.build_request(
            method, path, params=params, content=body, headers=self._headers(body, idempotency_key)
        )
        response, error = None, None
        ref = uuid.uuid4().hex
        with self._limiter.concurrency(self.tenant_id) if self._limiter else nullcontext():
            # Not caught: if the start cannot be recorded, the request is not sent at all.
            self._report_start(request, idempotency_key, number, ref)
            started = time.monotonic()
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                error = classify_exception(exc, method=method)
                error.__cause__ = exc
            except Exception as exc:  # a bug or an odd httpx error: still leave an audit trail
                self._report(request, None, exc, started, idempotency_key, number, ref)
                raise
        if response is not None:
            if self._limiter:
                self._limiter.observe(self.tenant_id, response.headers)
            error = classify_response(response)
        self._report(request, response, error, started, idempotency_key, number, ref)
        return error, response

    def _headers(self, body: bytes | None, idempotency_key: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._access_token()}",  # per attempt: tokens get refreshed
            "xero-tenant-id": self.tenant_id,
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _report_start(self, request, idempotency_key, number, ref) -> None:
        if self._on_attempt_start is None:
            return
        self._on_attempt_start(
            Attempt(
                method=request.method,
                url=str(request.url),
                status=None,
                request_headers=redact_headers(request.headers),
                request_body=request.content.decode("utf-8", "replace"),
                response_headers={},
                response_body="",
                duration_ms=0,
                idempotency_key=idempotency_key,
                extra={"attempt": number + 1, "kind": ""},
                ref=ref,
            )
        )

    def _report(self, request, response, error, started, idempotency_key, number, ref) -> None:
        if self._on_attempt is None:
            return
        attempt = Attempt(
            method=request.method,
            url=str(request.url),
            status=response.status_code if response is not None else None,
            request_headers=redact_headers(request.headers),
            request_body=request.content.decode("utf-8", "replace"),
            response_headers=_audit_headers(response),
            response_body=response.text if response is not None else "",
            duration_ms=round((time.monotonic() - started) * 1000),
            error=f"{type(error).__name__}: {error}" if error else "",
            idempotency_key=idempotency_key,
            extra={"attempt": number + 1, "kind": str(getattr(error, "kind", ""))},
            ref=ref,
        )
        try:
            self._on_attempt(attempt)
        except Exception:
            # A failing audit hook must not turn a write Xero applied into an error for the caller.
            logger.exception("on_attempt failed for %s %s", request.method, request.url)


def _check_collection(collection: str) -> None:
    if collection not in COLLECTIONS:
        raise ValueError(f"unsupported Xero collection {collection!r}")


def _audit_headers(response: httpx.Response | None) -> dict[str, str]:
    if response is None:
        return {}
    return {name: response.headers[name] for name in AUDIT_HEADERS if name in response.headers}


def _elements(response: httpx.Response, key: str, *, method: str) -> list[dict]:
    """The `key` list of a 2xx body. Strict: an empty answer to `find` must really mean "none"."""
    try:
        elements = json.loads(response.content, parse_float=Decimal)[key]  # money stays exact
    except (ValueError, KeyError, TypeError) as exc:
        raise classify_unexpected_body(
            f"no {key} list in the body ({type(exc).__name__})", method=method, status=response.status_code
        ) from exc
    if not isinstance(elements, list):
        raise classify_unexpected_body(f"{key} is not a list", method=method, status=response.status_code)
    return elements
