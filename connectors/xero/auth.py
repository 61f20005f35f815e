"""Xero OAuth2: the code flow, token refresh, client credentials and the tenant list.

Why not Authlib: its httpx OAuth2Client refreshes inside one process and hands the new token to an
`update_token` hook, but Xero rotates the refresh token on every refresh, so the hard part is making
sure only one worker per connection refreshes and that the new pair is stored before anyone else
reads the old one. That needs our database row lock, which Authlib cannot hold for us. What remains
is four form posts and a GET; writing them here keeps error classification in
`connectors.xero.errors` and leaves no token-refresh path we do not control.
"""

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode

import httpx

from connectors.errors import Attempt, ErrorKind, redact_headers
from connectors.xero.errors import (
    XeroError,
    classify_exception,
    classify_response,
    classify_token_exception,
    classify_token_response,
)

LOGIN_URL, AUTHORIZE_PATH = "https://login.xero.com", "/identity/connect/authorize"
AUTHORIZE_URL = LOGIN_URL + AUTHORIZE_PATH
# Roots are parameters (settings XERO_IDENTITY_URL / XERO_API_URL) so the sandbox servers can stand in.
IDENTITY_URL = "https://identity.xero.com"
API_URL = "https://api.xero.com"
TOKEN_PATH, CONNECTIONS_PATH = "/connect/token", "/connections"
TOKEN_URL = IDENTITY_URL + TOKEN_PATH
CONNECTIONS_URL = API_URL + CONNECTIONS_PATH
TIMEOUT = 30.0
# Xero's FAQ (developer.xero.com/faq/oauth2, "What do I do if a token refresh fails?"): when the
# answer to a refresh is lost, the existing refresh token may be used again for a grace period of
# 30 minutes. So a refresh that failed in transit is repeated at once with the same token, a few
# times, well inside that window; after it, only a reconnect helps.
REFRESH_GRACE = dt.timedelta(minutes=30)
REFRESH_RETRIES = 3
REFRESH_RETRY_SLEEP_CAP = 30.0
SECRET_FIELDS = frozenset(
    {"refresh_token", "access_token", "id_token", "code", "client_secret", "code_verifier"}
)

Report = Callable[[Attempt], None] | None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class XeroTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)  # "" for client_credentials (custom connections)
    expires_at: dt.datetime  # UTC
    scope: str = ""

    def expires_within(self, seconds: float, *, now: dt.datetime | None = None) -> bool:
        return self.expires_at - (now or utcnow()) <= dt.timedelta(seconds=seconds)


def authorize_url(
    *, client_id: str, redirect_uri: str, scope: str, state: str, login_url: str = LOGIN_URL
) -> str:
    """Where to send the user to connect Xero; `scope` needs `offline_access` to get a refresh token.
    Xero sends the browser back to `redirect_uri` (registered for the app, exactly) with `code` and
    `state`, or with `error` (e.g. access_denied) when the user cancels."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    return f"{login_url}{AUTHORIZE_PATH}?{urlencode(query, quote_via=quote)}"


def exchange_code(
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    identity_url: str = IDENTITY_URL,
    on_attempt: Report = None,
) -> XeroTokens:
    """Swap the authorisation code (valid 5 minutes, once) for tokens. `on_attempt` hears the
    call, code and tokens removed, for the audit."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    hooks = (None, on_attempt)
    return _token_request(form, client_id, client_secret, transport, clock, hooks, identity_url=identity_url)


def refresh(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    on_attempt: Report = None,
    on_attempt_start: Report = None,
    sleep: Callable[[float], None] = time.sleep,
    retries: int = REFRESH_RETRIES,
    identity_url: str = IDENTITY_URL,
) -> XeroTokens:
    """Swap a refresh token for a new access token AND a new refresh token.

    Xero rotates the refresh token on every refresh; the old one stays usable for about 30 minutes
    only (so a refresh whose answer was lost may be repeated with it). The caller therefore:
    locks the connection row (`select_for_update()`), re-reads the tokens inside the lock (another
    worker may have refreshed already: use its access token if it is still fresh), calls this,
    and saves the returned pair in the same transaction. This is the one network call we make
    inside a transaction, on purpose: without the lock two workers rotate the same token and one
    connection ends up with a dead refresh token.

    A TRANSIENT failure (network, 5xx, 429, an answer without tokens) may have rotated the token at
    Xero without our hearing of it; it is repeated with the same refresh token up to `retries`
    times, which Xero's grace period (REFRESH_GRACE) allows. Every HTTP call is reported to
    `on_attempt_start` / `on_attempt` with tokens and secrets removed.

    Raises XeroError: AUTH on invalid_grant (revoked, expired, already rotated: re-connect),
    TRANSIENT when every try failed that way.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    hooks = (on_attempt_start, on_attempt)
    for number in range(1, retries + 2):
        try:
            return _token_request(
                form, client_id, client_secret, transport, clock, hooks, number, identity_url=identity_url
            )
        except XeroError as exc:
            if exc.kind is not ErrorKind.TRANSIENT or number > retries:
                raise
            sleep(min(exc.retry_after or float(2 ** (number - 1)), REFRESH_RETRY_SLEEP_CAP))
    raise AssertionError("unreachable")


def client_credentials(
    *,
    client_id: str,
    client_secret: str,
    scope: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    on_attempt: Report = None,
    on_attempt_start: Report = None,
    identity_url: str = IDENTITY_URL,
) -> XeroTokens:
    """Token for a Xero custom connection (one organisation, no refresh token: just ask again)."""
    form = {"grant_type": "client_credentials", "scope": scope}
    hooks = (on_attempt_start, on_attempt)
    return _token_request(form, client_id, client_secret, transport, clock, hooks, identity_url=identity_url)


def connections(
    *,
    access_token: str,
    transport: httpx.BaseTransport | None = None,
    api_url: str = API_URL,
    on_attempt: Report = None,
) -> list[dict]:
    """The organisations this token may use: dicts with tenantId, tenantName, tenantType.
    `on_attempt` hears the call (the bearer token removed), for the audit."""
    response = _connections_call("GET", api_url + CONNECTIONS_PATH, access_token, transport, on_attempt)
    return response.json()


def _connections_call(method, url, access_token, transport, on_attempt) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        request = http.build_request(method, url, headers=headers)
        started, response, error = time.monotonic(), None, None
        try:
            response = http.send(request)
        except httpx.TransportError as exc:
            error = classify_exception(exc, method=method)
            error.__cause__ = exc
        if response is not None:
            error = classify_response(response)
        if on_attempt:
            on_attempt(_connections_attempt(request, response, error, started))
    if error:
        raise error
    assert response is not None
    return response


def _connections_attempt(request, response, error, started) -> Attempt:
    """A /connections call for the audit: the bearer token removed; the answer names tenants only."""
    return Attempt(
        method=request.method,
        url=str(request.url),
        status=response.status_code if response is not None else None,
        request_headers=redact_headers(request.headers),
        request_body="",
        response_headers={},
        response_body=response.text if response is not None else "",
        duration_ms=round((time.monotonic() - started) * 1000),
        error=f"{type(error).__name__}: {error}" if error else "",
        extra={"attempt": 1, "kind": str(error.kind) if error else ""},
        ref=uuid.uuid4().hex,
    )


def disconnect(
    *,
    access_token: str,
    connection_id: str,
    transport: httpx.BaseTransport | None = None,
    api_url: str = API_URL,
    on_attempt: Report = None,
) -> None:
    """DELETE /connections/{id}: the app gives up one organisation (`id` is the connection's id
    from `connections()`, not the tenant id). Xero answers 204. Raises XeroError (AUTH when the
    token is no longer accepted)."""
    url = f"{api_url}{CONNECTIONS_PATH}/{quote(connection_id, safe='')}"
    _connections_call("DELETE", url, access_token, transport, on_attempt)


def _token_request(
    form,
    client_id,
    client_secret,
    transport,
    clock,
    hooks=(None, None),
    number=1,
    *,
    identity_url=IDENTITY_URL,
) -> XeroTokens:
    started_hook, done_hook = hooks
    ref = uuid.uuid4().hex
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        request = http.build_request("POST", identity_url + TOKEN_PATH, data=form)
        request.headers["Authorization"] = httpx.BasicAuth(client_id, client_secret)._auth_header
        if started_hook:  # not caught: no audit row, no call
            started_hook(_token_attempt(request, None, None, ref, number, 0.0))
        started, response, error = time.monotonic(), None, None
        try:
            response = http.send(request)
        except httpx.TransportError as exc:
            error = classify_token_exception(exc)
            error.__cause__ = exc
        if response is not None:
            error = classify_token_response(response)
        if done_hook:
            done_hook(_token_attempt(request, response, error, ref, number, started))
    if error:
        raise error
    assert response is not None
    body = response.json()
    return XeroTokens(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        expires_at=clock() + dt.timedelta(seconds=int(body.get("expires_in", 1800))),
        scope=body.get("scope", ""),
    )


def _token_attempt(request, response, error, ref, number, started) -> Attempt:
    """A token call for the audit: the Basic header, every token, code and secret removed."""
    return Attempt(
        method=request.method,
        url=str(request.url),
        status=response.status_code if response is not None else None,
        request_headers=redact_headers(request.headers),
        request_body=urlencode([(k, _redacted(k, v)) for k, v in parse_qsl(request.content.decode())]),
        response_headers={},
        response_body=redacted_token_body(response.content) if response is not None else "",
        duration_ms=round((time.monotonic() - started) * 1000) if started else 0,
        error=f"{type(error).__name__}: {error}" if error else "",
        extra={"attempt": number, "kind": str(error.kind) if error else ""},
        ref=ref,
    )


def _redacted(key: str, value):
    return "[redacted]" if key in SECRET_FIELDS else value


def redacted_token_body(content: bytes) -> str:
    """The identity server's JSON with token values replaced; anything unreadable is withheld,
    since it could carry a token in a shape we do not know."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return "[body withheld: not JSON]"
    if not isinstance(body, dict):
        return "[body withheld: not an object]"
    return json.dumps({k: _redacted(k, v) for k, v in body.items()})
