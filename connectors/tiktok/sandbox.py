"""In-process fake of the TikTok Shop Partner API (DESIGN.md 7), served as an `httpx.MockTransport`.

It checks what the real API checks (signature with the real algorithm, timestamp window, access
token, shop cipher) so the real client is exercised byte for byte, and it can inject faults.
"""

import base64
import copy
import re
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlencode

import httpx

from connectors.sandbox_consent import consent_page, error_page, redirect, with_query

from . import errors
from .openapi import TikTokSpec
from .sandbox_data import statement_page_data
from .sandbox_orders import BadRequest, OrderBook
from .signing import verify

# Codes for rejections whose real TikTok codes we could not confirm; `classify` reads them as
# VALIDATION, which is what the real ones mean to us too.
INVALID_PARAMS = 36009004
INVALID_TIMESTAMP = 106005
INVALID_SHOP_CIPHER = 106011
INVALID_GRANT = 36004004
NOT_FOUND = 36009404

WINDOW_BEHIND = 300  # seconds a timestamp may lag the server (DESIGN.md 4.1)
WINDOW_AHEAD = 30
WEEK = 7 * 86400
TRANSACTIONS_PATH = re.compile(r"^/finance/202501/statements/(?P<id>[^/]+)/statement_transactions$")
FAULT_REPLIES = {
    "rate_limit": (errors.RATE_LIMITED, 429, "Too many requests", {"Retry-After": "1"}),
    "internal": (errors.INTERNAL_ERROR, 500, "Internal error", {}),
    "token_expired": (errors.ACCESS_TOKEN_EXPIRED, 401, "Access token is expired", {}),
}


class Rejected(Exception):
    def __init__(self, code: int, message: str, status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.code, self.status, self.headers = code, status, headers or {}


class Faults:
    """`sandbox.faults.next("rate_limit", count=3)`: the next 3 API calls fail that way."""

    KINDS = ("rate_limit", "internal", "timeout", "token_expired")

    def __init__(self):
        self._pending: deque[str] = deque()

    def next(self, kind: str, count: int = 1) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {self.KINDS}")
        self._pending.extend([kind] * count)

    def take(self) -> str | None:
        return self._pending.popleft() if self._pending else None

    def __len__(self) -> int:
        return len(self._pending)


class TikTokSandbox:
    def __init__(
        self,
        *,
        app_key: str = "sandbox-app",
        app_secret: str = "sandbox-secret",
        access_token: str = "sandbox-token",
        now: Callable[[], float] = time.time,
        spec: TikTokSpec | None = None,
    ):
        """`spec`: TikTok's description; when given, every successful API response is checked
        against it before it is served (SpecViolation), as the Xero sandbox does with Xero's file."""
        self.app_key = app_key
        self.app_secret = app_secret
        self.access_token = access_token
        self.refresh_token = "sandbox-refresh"
        self.now = now
        self.spec = spec
        self.faults = Faults()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.transport = httpx.MockTransport(self._handle)
        self._expired_tokens: set[str] = set()
        self._auth_codes: set[str] = set()
        # The app's service id and the redirect URL registered for it in Partner Center: TikTok
        # sends the seller back there, never to a URL the authorisation link names.
        self.service_id = "sandbox-service"
        self.registered_redirect = ""
        self._shops: dict[str, dict] = {}
        self._statements: dict[str, dict[str, tuple[dict, list[dict]]]] = {}
        self._payments: dict[str, dict[str, dict]] = {}
        self.orders = OrderBook()  # orders, returns, cancellations: sandbox_orders.py
        self._served = 0
        self._token_base = access_token
        self._tokens_issued = 0
        self._codes_issued = 0

    # --- data ------------------------------------------------------------------------------------

    def add_shop(self, cipher: str, shop_id: str, name: str, region: str, currency: str) -> None:
        code = f"{region.upper()}LC{shop_id[-6:].upper()}"
        info = {"cipher": cipher, "id": shop_id, "name": name, "region": region, "code": code}
        self._shops[cipher] = {**info, "seller_type": "LOCAL", "currency": currency}
        self._statements[cipher] = {}
        self._payments[cipher] = {}

    def add_statement(
        self, shop_cipher: str, statement: dict, transactions: list[dict], payment: dict | None = None
    ) -> None:
        shop = self._shops[shop_cipher]
        if statement["currency"] != shop["currency"]:
            raise ValueError(f"statement in {statement['currency']} for a {shop['currency']} shop")
        entry = (copy.deepcopy(statement), copy.deepcopy(transactions))
        self._statements[shop_cipher][statement["id"]] = entry
        if payment is not None:
            self._payments[shop_cipher][payment["id"]] = copy.deepcopy(payment)

    def expire_access_token(self) -> None:
        self._expired_tokens.add(self.access_token)

    def issue_auth_code(self) -> str:
        self._codes_issued += 1
        code = f"sandbox-auth-code-{self._codes_issued}"
        self._auth_codes.add(code)
        return code

    # --- transport -------------------------------------------------------------------------------

    def _handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        params = dict(request.url.params)
        self.requests.append((request.method, request.url.path, params))
        if request.url.host.startswith("services") and request.url.path == "/open/authorize":
            return self._consent(request.url.path, params)
        try:
            if request.url.host.startswith("auth"):
                data = self._auth(request.url.path, params)
            else:
                data = self._api(request, params)
        except Rejected as rejected:
            return self._reply(rejected.code, str(rejected), None, rejected.status, rejected.headers)
        response = self._reply(0, "Success", data)
        if self.spec is not None and self.spec.describes(request.method, request.url.path):
            self.spec.validate_response(request.method, request.url.path, response.json())
        return response

    def _reply(self, code: int, message: str, data, status: int = 200, headers=None) -> httpx.Response:
        self._served += 1
        envelope = {
            "code": code,
            "message": message,
            "request_id": f"sandbox{self._served:020d}",
            "data": data,
        }
        return httpx.Response(status, json=envelope, headers=headers)

    def _api(self, request: httpx.Request, params: dict[str, str]) -> dict:
        self._inject_fault(request)
        path = request.url.path
        if params.get("app_key") != self.app_key:
            raise Rejected(errors.INVALID_SIGN, "Invalid credentials: unknown app_key", 401)
        if not verify(self.app_secret, path, params, request.content, params.get("sign", "")):
            raise Rejected(
                errors.INVALID_SIGN, "Invalid credentials. The 'sign' query parameter is invalid.", 401
            )
        self._check_timestamp(params.get("timestamp", ""))
        self._check_token(request.headers.get("x-tts-access-token", ""))
        if request.method == "GET" and path == "/authorization/202309/shops":
            return {"shops": [_public(shop) for shop in self._shops.values()]}
        return self._shop_api(request.method, path, params, request.content)

    def _inject_fault(self, request: httpx.Request) -> None:
        fault = self.faults.take()
        if fault == "timeout":
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        if fault:
            code, status, message, headers = FAULT_REPLIES[fault]
            raise Rejected(code, message, status, headers)

    def _check_timestamp(self, value: str) -> None:
        now = self.now()
        if not value.isdigit() or not now - WINDOW_BEHIND <= int(value) <= now + WINDOW_AHEAD:
            raise Rejected(INVALID_TIMESTAMP, f"timestamp {value!r} is outside the allowed window", 401)

    def _check_token(self, token: str) -> None:
        if token in self._expired_tokens:
            raise Rejected(errors.ACCESS_TOKEN_EXPIRED, "Access token is expired", 401)
        if token != self.access_token:
            raise Rejected(errors.INVALID_ACCESS_TOKEN, "Access token is invalid", 401)

    # --- shop APIs -------------------------------------------------------------------------------

    def _shop_api(self, method: str, path: str, params: dict[str, str], body: bytes = b"") -> dict:
        cipher = params.get("shop_cipher", "")
        if cipher not in self._shops:
            raise Rejected(INVALID_SHOP_CIPHER, f"shop_cipher {cipher!r} is not authorised for this app")
        if self.orders.routes(method, path):
            try:
                return self.orders.handle(cipher, method, path, params, body)
            except BadRequest as exc:
                raise Rejected(INVALID_PARAMS, str(exc)) from exc
        if method != "GET":
            raise Rejected(NOT_FOUND, f"sandbox: no {method} {path}", 404)
        if path == "/finance/202309/statements":
            statements = [statement for statement, _ in self._statements[cipher].values()]
            items, token = _page(_between(statements, "statement_time", params), params)
            return {"statements": items, "next_page_token": token}
        if path == "/finance/202309/payments":
            items, token = _page(_between(self._payments[cipher].values(), "create_time", params), params)
            return {"payments": items, "next_page_token": token}
        if match := TRANSACTIONS_PATH.match(path):
            return self._transactions(cipher, match["id"], params)
        raise Rejected(NOT_FOUND, f"sandbox: no {method} {path}", 404)

    def _transactions(self, cipher: str, statement_id: str, params: dict[str, str]) -> dict:
        if statement_id not in self._statements[cipher]:
            raise Rejected(INVALID_PARAMS, f"statement {statement_id} not found")
        statement, transactions = self._statements[cipher][statement_id]
        items, token = _page(transactions, params)
        return {
            **statement_page_data(statement, transactions),
            "next_page_token": token,
            "transactions": items,
        }

    # --- the seller's consent screen --------------------------------------------------------------

    def _consent(self, path: str, params: dict[str, str]) -> httpx.Response:
        """GET services.tiktokshop.com/open/authorize?service_id=&state=: the seller approves, and
        TikTok redirects to the app's registered URL with `code` and `state`."""
        if params.get("service_id") != self.service_id:
            return error_page(400, f"unknown service_id {params.get('service_id', '')!r}")
        if not self.registered_redirect:
            return error_page(400, "the app has no redirect URL registered (Partner Center)")
        decision, state = params.pop("decision", ""), params.get("state", "")
        if decision == "allow":
            return redirect(self.registered_redirect, {"code": self.issue_auth_code(), "state": state})
        if decision == "deny":
            return redirect(self.registered_redirect, {"error": "access_denied", "state": state})
        here = f"{path}?{urlencode(params)}"
        return consent_page(
            title="TikTok Shop (sandbox): authorise an app",
            question=f"Allow app {self.app_key} to read the finance, orders and returns of these shops?",
            items=[
                f"{shop['name']} ({shop['region']}, shop id {shop['id']})" for shop in self._shops.values()
            ],
            allow=with_query(here, {"decision": "allow"}),
            deny=with_query(here, {"decision": "deny"}),
        )

    # --- auth host -------------------------------------------------------------------------------

    def _auth(self, path: str, params: dict[str, str]) -> dict:
        if params.get("app_key") != self.app_key or params.get("app_secret") != self.app_secret:
            raise Rejected(INVALID_GRANT, "invalid app_key or app_secret", 401)
        if path == "/api/v2/token/get" and params.get("grant_type") == "authorized_code":
            if params.get("auth_code") not in self._auth_codes:
                raise Rejected(INVALID_GRANT, "auth_code is invalid or used")
            self._auth_codes.discard(params["auth_code"])
            if self.access_token in self._expired_tokens:
                self._rotate_access_token()
            return self._token_data()
        if path == "/api/v2/token/refresh" and params.get("grant_type") == "refresh_token":
            if params.get("refresh_token") != self.refresh_token:
                raise Rejected(INVALID_GRANT, "refresh_token is invalid")
            self._rotate_access_token()
            return self._token_data()
        raise Rejected(NOT_FOUND, f"sandbox: no auth endpoint {path} for that grant_type", 404)

    def _rotate_access_token(self) -> None:
        self._tokens_issued += 1
        self.access_token = f"{self._token_base}~{self._tokens_issued}"

    def _token_data(self) -> dict:
        now = int(self.now())
        return {
            "access_token": self.access_token,
            "access_token_expire_in": now + WEEK,
            "refresh_token": self.refresh_token,
            "refresh_token_expire_in": now + 52 * WEEK,
            "open_id": "sandbox-open-id",
            "seller_name": "Sandbox Seller",
            "seller_base_region": "GB",
            "user_type": 0,
            "granted_scopes": ["seller.finance.info", "seller.order.info", "seller.authorization.info"],
        }


def _public(shop: dict) -> dict:
    return {key: shop[key] for key in ("id", "name", "region", "seller_type", "cipher", "code")}


def _between(items, field: str, params: dict[str, str]) -> list[dict]:
    low = _int_param(params, f"{field}_ge", 0)
    high = _int_param(params, f"{field}_lt", 2**63)
    chosen = sorted((item for item in items if low <= item[field] < high), key=lambda item: item[field])
    return chosen[::-1] if params.get("sort_order", "ASC").upper() == "DESC" else chosen


def _page(items: list[dict], params: dict[str, str]) -> tuple[list[dict], str]:
    size = _int_param(params, "page_size", 20)
    if not 1 <= size <= 100:
        raise Rejected(INVALID_PARAMS, "page_size must be between 1 and 100")
    start = _decode_token(params.get("page_token", ""))
    end = start + size
    return items[start:end], (_encode_token(end) if end < len(items) else "")


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.lstrip("-").isdigit():
        raise Rejected(INVALID_PARAMS, f"{name} must be an integer")
    return int(value)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
    except ValueError:  # bad base64, bad UTF-8 and a missing ":" are all ValueErrors
        prefix, offset = "", ""
    if prefix != "offset" or not offset.isdigit():
        raise Rejected(INVALID_PARAMS, f"page_token {token!r} is invalid")
    return int(offset)
