"""TikTok Shop OAuth tokens: exchange an authorisation code, refresh an access token.

The token endpoints live on their own host, are not request-signed (the app secret is a query
parameter) and answer with the usual `{code, message, data}` envelope.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx

from connectors.errors import ErrorKind

from .errors import TikTokError, classify

AUTH_BASE_URL = "https://auth.tiktok-shops.com"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class TokenSet:
    # Tokens are kept out of repr so that logging a TokenSet never leaks a credential.
    access_token: str = field(repr=False)
    access_token_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_token_expires_at: datetime
    open_id: str | None = None
    seller_name: str | None = None

    @classmethod
    def from_data(cls, data: dict) -> "TokenSet":
        try:
            return cls(
                access_token=data["access_token"],
                # TikTok's `*_expire_in` fields are absolute unix times, not durations.
                access_token_expires_at=_utc(data["access_token_expire_in"]),
                refresh_token=data["refresh_token"],
                refresh_token_expires_at=_utc(data["refresh_token_expire_in"]),
                open_id=data.get("open_id") or None,
                seller_name=data.get("seller_name") or None,
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TikTokError(f"token response without {exc}", kind=ErrorKind.VALIDATION) from exc


def exchange_code(
    *,
    app_key: str,
    app_secret: str,
    auth_code: str,
    transport: httpx.BaseTransport | None = None,
    base_url: str = AUTH_BASE_URL,
) -> TokenSet:
    params = {"app_key": app_key, "app_secret": app_secret, "auth_code": auth_code}
    return _token_call("/api/v2/token/get", {**params, "grant_type": "authorized_code"}, transport, base_url)


def refresh(
    *,
    app_key: str,
    app_secret: str,
    refresh_token: str,
    transport: httpx.BaseTransport | None = None,
    base_url: str = AUTH_BASE_URL,
) -> TokenSet:
    params = {"app_key": app_key, "app_secret": app_secret, "refresh_token": refresh_token}
    return _token_call(
        "/api/v2/token/refresh", {**params, "grant_type": "refresh_token"}, transport, base_url
    )


def _token_call(path: str, params: dict, transport, base_url: str) -> TokenSet:
    try:
        with httpx.Client(base_url=base_url, transport=transport, timeout=TIMEOUT) as http:
            response = http.get(path, params=params)
    except httpx.TransportError as exc:  # includes timeouts
        raise TikTokError(f"{type(exc).__name__} calling {path}", kind=ErrorKind.TRANSIENT) from None
    try:
        data = classify(response)
    except TikTokError as exc:
        if exc.kind is ErrorKind.VALIDATION:
            # A rejected code or refresh token is a broken grant: the seller must re-authorise, so
            # the connection pauses (AUTH) rather than waiting for a mapping fix (VALIDATION).
            exc.kind = ErrorKind.AUTH
        raise
    return TokenSet.from_data(data)


def _utc(unix_seconds) -> datetime:
    return datetime.fromtimestamp(int(unix_seconds), tz=UTC)


# The seller's consent screen (Partner Center's "authorization link" of a service). Sellers of the
# US market use https://services.us.tiktokshop.com; the root is the TIKTOK_SERVICES_URL setting.
SERVICES_URL = "https://services.tiktokshop.com"
AUTHORIZE_PATH = "/open/authorize"


def authorize_url(*, service_id: str, state: str, services_url: str = SERVICES_URL) -> str:
    """Where to send a seller to authorise the app for their shops. TikTok sends them back to the
    redirect URL registered for the app in Partner Center with `code` (the auth code for
    `exchange_code`) and `state` (this `state`, to be checked)."""
    return f"{services_url}{AUTHORIZE_PATH}?{urlencode({'service_id': service_id, 'state': state})}"
