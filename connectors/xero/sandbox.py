"""An in-process fake of Xero's Accounting API, served as an `httpx.MockTransport` (DESIGN.md 7).

Tests and `make demo` post through the real Xero client into it, so it keeps Xero's rules that
matter to us (see sandbox_journals, sandbox_documents, sandbox_settlement), Xero's limits and
OAuth behaviour (sandbox_access), and it checks every request and response body against Xero's
published OpenAPI file (openapi.py), so the fake cannot drift from the contract, as stripe-mock does
for Stripe. Faults are injected with `sandbox.faults` (sandbox_faults).

Not modelled: the limit of 5 concurrent calls per tenant (a synchronous MockTransport never has
two calls in flight), multi-currency, content edits of existing documents, attachments, tracking
categories as master data, and any endpoint not listed in sandbox_routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from connectors.xero.openapi import SpecViolation
from connectors.xero.sandbox_access import IdempotencyStore, RateLimits, StoredResponse, TokenStore
from connectors.xero.sandbox_demo import seed_demo
from connectors.xero.sandbox_faults import Faults
from connectors.xero.sandbox_http import (
    JSON_TYPE,
    RecordedRequest,
    authorise,
    connections,
    disconnect,
    json_body,
    load_spec,
    respond,
    token_endpoint,
    unauthorised,
    validation_error,
)
from connectors.xero.sandbox_routes import canonical_path, serve
from connectors.xero.sandbox_state import ALL_CLASSES, Account, Ctx, Organisation, OrgState, TaxRate
from connectors.xero.sandbox_wire import BadRequest, problem, wire

API_HOST, IDENTITY_HOST, LOGIN_HOST = "api.xero.com", "identity.xero.com", "login.xero.com"
API_PREFIX = "/api.xro/2.0"
MAX_BODY_BYTES = 3_500_000  # Xero: "The maximum size for a single POST is 3.5MB"; decimal MB to be safe


class XeroSandbox:
    def __init__(
        self,
        *,
        base_currency: str = "USD",
        spec_path: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        strict: bool = True,
    ):
        self.clock = clock
        self.strict = strict
        self.state = OrgState(base_currency=base_currency)
        self.tenant_id = str(uuid.uuid4())
        self.tokens = TokenStore(clock)
        self.rate_limits = RateLimits()
        self.idempotency = IdempotencyStore()
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.spec_violations: list[str] = []
        self.spec = load_spec(spec_path)
        self.max_body_bytes = MAX_BODY_BYTES
        self.transport = httpx.MockTransport(self._handle)
        # Other organisations the same user connected, by tenant id (add_organisation).
        self.organisations: dict[str, XeroSandbox] = {}
        # Tenants the app was disconnected from (DELETE /connections/{id}) until connected again.
        self.disconnected: set[str] = set()

    def __getstate__(self) -> dict:
        # Pickled only as another sandbox's organisation (sandbox_server.state_save writes the
        # served sandbox's own attributes): the spec and clock are the serving sandbox's, given
        # back on every request it passes on; the requests seen are per process.
        return {k: v for k, v in vars(self).items() if k not in ("spec", "requests")}

    def __setstate__(self, state: dict) -> None:
        vars(self).update(state, spec=None, requests=[])

    @classmethod
    def demo(cls, base_currency: str = "USD", **options) -> XeroSandbox:
        sandbox = cls(base_currency=base_currency, **options)
        seed_demo(sandbox)
        return sandbox

    # -- set-up ---------------------------------------------------------------------------------
    @property
    def org(self) -> Organisation:
        return self.state.org

    @property
    def spec_checked(self) -> bool:
        return self.spec is not None

    def add_account(
        self,
        code: str,
        name: str,
        type: str,
        *,
        tax_type: str = "NONE",
        enable_payments: bool = False,
        currency: str | None = None,
        system_account: str | None = None,
        status: str = "ACTIVE",
    ) -> Account:
        account = Account(code, name, type, tax_type, enable_payments, currency, system_account, status)
        return self.state.add_account(account)

    def add_tax_rate(
        self,
        tax_type: str,
        name: str,
        rate: Decimal,
        *,
        can_apply_to: tuple[str, ...] = ALL_CLASSES,
        status: str = "ACTIVE",
    ) -> TaxRate:
        return self.state.add_tax_rate(
            TaxRate(tax_type, name, Decimal(rate), frozenset(can_apply_to), status)
        )

    def add_item(self, code: str, name: str) -> dict:
        return self.state.add_item(code, name, self.clock())

    def add_contact(self, name: str) -> dict:
        return self.state.add_contact(name, self.clock())

    def add_organisation(self, other: XeroSandbox) -> None:
        """Serve `other` as a second organisation under its own tenant id: as in Xero, one user's
        tokens reach every organisation they connected (GET /connections lists them all), and each
        organisation keeps its own documents, settings, rate limits and faults. One sandbox server
        then stands in for several organisations (`make demo`)."""
        other.tokens, other.clock, other.spec = self.tokens, self.clock, self.spec
        self.organisations[other.tenant_id] = other

    def set_lock_dates(self, period: date | None = None, end_of_year: date | None = None) -> None:
        self.org.PeriodLockDate, self.org.EndOfYearLockDate = period, end_of_year

    def issue_tokens(self) -> dict:
        """A token grant as if the user had just connected (access_token, refresh_token, ...)."""
        return self.tokens.issue()

    def expire_access_tokens(self) -> None:
        self.tokens.expire_all()

    # -- inspection: documents as Xero returns them ------------------------------------------------
    @property
    def manual_journals(self) -> list[dict]:
        return wire(self.state.manual_journals)

    @property
    def bank_transactions(self) -> list[dict]:
        return wire(self.state.bank_transactions)

    @property
    def invoices(self) -> list[dict]:
        return wire(self.state.invoices)

    @property
    def credit_notes(self) -> list[dict]:
        return wire(self.state.credit_notes)

    @property
    def payments(self) -> list[dict]:
        return wire(self.state.payments)

    @property
    def contacts(self) -> list[dict]:
        return wire(self.state.contacts)

    # -- HTTP -----------------------------------------------------------------------------------
    def _handle(self, request: httpx.Request) -> httpx.Response:
        tenant = request.headers.get("xero-tenant-id", "")
        if tenant and tenant in self.disconnected:
            return respond(403, problem(403, "Forbidden", "AuthorizationUnsuccessful"))
        other = self.organisations.get(tenant)
        if other is not None:
            other.spec, other.clock = self.spec, self.clock  # see __getstate__
            return other._handle(request)
        request.read()
        url = request.url
        self.requests.append(
            RecordedRequest(
                request.method, url.path, dict(url.params), dict(request.headers), request.content
            )
        )
        is_api = url.path.lower().startswith(API_PREFIX.lower() + "/")
        fault = self.faults.take(request.method, url.path[len(API_PREFIX) :] if is_api else url.path)
        if fault == "timeout_before_write":
            raise httpx.ConnectTimeout("sandbox: injected connect timeout", request=request)
        limits = self.rate_limits.headers(self.clock())  # on every response, injected ones too
        if fault == "server_error":
            detail = "Injected by the sandbox; nothing was applied"
            return respond(500, problem(500, "Internal Server Error", detail), limits)
        if fault == "rate_limit":
            headers = {**limits, "Retry-After": "2", "X-Rate-Limit-Problem": "minute"}
            return respond(429, problem(429, "Too Many Requests", "Injected by the sandbox"), headers)
        response = self._dispatch(request, is_api)
        if fault == "timeout_after_write":
            raise httpx.ReadTimeout(
                "sandbox: injected read timeout after the write was applied", request=request
            )
        if fault == "drop_response":
            raise httpx.RemoteProtocolError(
                "sandbox: connection closed after the write was applied", request=request
            )
        return response

    def _dispatch(self, request: httpx.Request, is_api: bool) -> httpx.Response:
        host, path, method = request.url.host.lower(), request.url.path.lower(), request.method
        if host == IDENTITY_HOST and path == "/connect/token" and method == "POST":
            return token_endpoint(self.tokens, request)
        if host == API_HOST and path == "/connections" and method == "GET":
            return unauthorised(self.tokens, request) or respond(200, connections(self))
        if host == API_HOST and path.startswith("/connections/") and method == "DELETE":
            return disconnect(self, request, request.url.path)
        if host == LOGIN_HOST and path == "/identity/connect/authorize" and method == "GET":
            return authorise(self, request)
        if host == API_HOST and is_api:
            return self._api(request)
        return respond(404, problem(404, "Not Found", f"The sandbox does not serve {method} {request.url}"))

    def _api(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        denied = unauthorised(self.tokens, request)
        if denied is not None:
            return denied
        if request.headers.get("xero-tenant-id") != self.tenant_id:
            return respond(403, problem(403, "Forbidden", "AuthenticationUnsuccessful"))
        over = self.rate_limits.over(now)
        if over is not None:  # refused calls do not count against the limits
            headers = {
                "Retry-After": str(over[1]),
                "X-Rate-Limit-Problem": over[0],
                **self.rate_limits.headers(now),
            }
            return respond(
                429, problem(429, "Too Many Requests", f"Rate limit exceeded ({over[0]})"), headers
            )
        self.rate_limits.record(now)
        limits = self.rate_limits.headers(now)
        if len(request.content) > self.max_body_bytes:
            return respond(413, problem(413, "Request Entity Too Large", "The body is over 3.5 MB"), limits)
        key = request.headers.get("Idempotency-Key")
        if key is not None and request.method in ("PUT", "POST"):
            return self._idempotent(request, key, now, limits)
        return respond(*self._serve(request, now), limits)

    def _idempotent(self, request: httpx.Request, key: str, now: datetime, limits: dict) -> httpx.Response:
        if not key or len(key) > IdempotencyStore.MAX_KEY_LENGTH:
            return respond(
                400, validation_error("The Idempotency-Key header must be 1 to 128 characters."), limits
            )
        url = request.url
        fingerprint = IdempotencyStore.fingerprint(
            request.method, url.path, url.query.decode(), request.content
        )
        stored = self.idempotency.lookup(key, fingerprint, now)
        if stored == "conflict":
            message = "This Idempotency-Key was already used for a different request."
            return respond(400, validation_error(message), limits)
        if isinstance(stored, StoredResponse):  # replay: nothing is applied again
            return httpx.Response(stored.status, headers={**stored.headers, **limits}, content=stored.content)
        status, body = self._serve(request, now)
        response = respond(status, body, limits)
        self.idempotency.remember(
            key, StoredResponse(fingerprint, now, status, {"Content-Type": JSON_TYPE}, response.content)
        )
        return response

    def _serve(self, request: httpx.Request, now: datetime) -> tuple[int, dict]:
        parts = [p for p in request.url.path[len(API_PREFIX) :].split("/") if p]
        path = canonical_path(parts)
        query = dict(request.url.params)
        try:
            body, plain = json_body(request)
            if path is not None:
                self._spec_check(lambda: self.spec.validate_request(request.method, path, plain))
            ctx = Ctx(now=now, unitdp=4 if query.get("unitdp") == "4" else 2)
            status, payload = serve(self.state, request.method, parts, query, body, ctx)
        except BadRequest as exc:
            status, payload = 400, exc.body
        if path is not None:
            self._spec_check(lambda: self.spec.validate_response(request.method, path, status, payload))
        return status, payload

    def _spec_check(self, check: Callable[[], None]) -> None:
        if self.spec is None:
            return
        try:
            check()
        except SpecViolation as exc:
            self.spec_violations.append(str(exc))
            if self.strict:
                raise
