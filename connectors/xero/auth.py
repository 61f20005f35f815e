"""Xero OAuth2: the code flow, token refresh, client credentials and the tenant list.

Why not Authlib: its httpx OAuth2Client refreshes inside one process and hands the new token to an
`update_token` hook, but Xero rotates the refresh token on every refresh, so the hard part is making
sure only one worker per connection refreshes and that the new pair is stored before anyone else
reads the old one. That needs our database row lock, which Authlib cannot hold for us. What remains
is four form posts and a GET; writing them here keeps error classification in
`connectors.xero.errors` and leaves no token-refresh path we do not control.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import httpx

from connectors.xero.errors import (
    classify_exception,
    classify_response,
    classify_token_exception,
    classify_token_response,
)

AUTHORIZE_URL = "https://login.xero.com/identity/connect/authorize"
# Roots are parameters (settings XERO_IDENTITY_URL / XERO_API_URL) so the sandbox servers can stand in.
IDENTITY_URL = "https://identity.xero.com"
API_URL = "https://api.xero.com"
TOKEN_PATH, CONNECTIONS_PATH = "/connect/token", "/connections"
TOKEN_URL = IDENTITY_URL + TOKEN_PATH
CONNECTIONS_URL = API_URL + CONNECTIONS_PATH
TIMEOUT = 30.0


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


def authorize_url(*, client_id: str, redirect_uri: str, scope: str, state: str) -> str:
    """Where to send the user to connect Xero; `scope` needs `offline_access` to get a refresh token."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    return f"{AUTHORIZE_URL}?{urlencode(query, quote_via=quote)}"


def exchange_code(
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    identity_url: str = IDENTITY_URL,
) -> XeroTokens:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _token_request(form, client_id, client_secret, transport, clock, identity_url)


def refresh(
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
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

    Raises XeroError: AUTH on invalid_grant (revoked, expired, already rotated: re-connect),
    TRANSIENT on 5xx, 429 and network failures.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _token_request(form, client_id, client_secret, transport, clock, identity_url)


def client_credentials(
    *,
    client_id: str,
    client_secret: str,
    scope: str,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    identity_url: str = IDENTITY_URL,
) -> XeroTokens:
    """Token for a Xero custom connection (one organisation, no refresh token: just ask again)."""
    form = {"grant_type": "client_credentials", "scope": scope}
    return _token_request(form, client_id, client_secret, transport, clock, identity_url)


def connections(
    *, access_token: str, transport: httpx.BaseTransport | None = None, api_url: str = API_URL
) -> list[dict]:
    """The organisations this token may use: dicts with tenantId, tenantName, tenantType."""
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        try:
            response = http.get(api_url + CONNECTIONS_PATH, headers=headers)
        except httpx.TransportError as exc:
            raise classify_exception(exc, method="GET") from exc
    if error := classify_response(response):
        raise error
    return response.json()


def _token_request(form, client_id, client_secret, transport, clock, identity_url) -> XeroTokens:
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        try:
            response = http.post(identity_url + TOKEN_PATH, data=form, auth=(client_id, client_secret))
        except httpx.TransportError as exc:
            raise classify_token_exception(exc) from exc
    if error := classify_token_response(response):
        raise error
    body = response.json()
    return XeroTokens(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        expires_at=clock() + dt.timedelta(seconds=int(body.get("expires_in", 1800))),
        scope=body.get("scope", ""),
    )
