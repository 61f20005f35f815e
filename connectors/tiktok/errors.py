"""The one place that turns a TikTok Shop response into data or a classified `TikTokError`."""

import httpx

from connectors.errors import ConnectorError, ErrorKind

# Envelope codes from the Partner API docs (DESIGN.md 4.1).
OK = 0
RATE_LIMITED = 36009002  # sent with HTTP 429
INTERNAL_ERROR = 36009003
GATEWAY_TIMEOUT = 36009007
INVALID_ACCESS_TOKEN = 105001
ACCESS_TOKEN_EXPIRED = 105002
INVALID_SIGN = 106001

TRANSIENT_CODES = {RATE_LIMITED, INTERNAL_ERROR, GATEWAY_TIMEOUT}
AUTH_CODES = {INVALID_ACCESS_TOKEN, ACCESS_TOKEN_EXPIRED, INVALID_SIGN}


class TikTokError(ConnectorError):
    """A TikTok Shop call failed. `token_expired` tells the client one refresh may fix it."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        status: int | None = None,
        retry_after: float | None = None,
        code: int | None = None,
        request_id: str = "",
        token_expired: bool = False,
    ):
        super().__init__(message, kind=kind, status=status, retry_after=retry_after)
        self.code = code
        self.request_id = request_id
        self.token_expired = token_expired


def classify(response: httpx.Response) -> dict:
    """Return the envelope's `data` when `code == 0` (whatever the HTTP status); raise otherwise."""
    status = response.status_code
    envelope = _envelope(response)
    if envelope is None:
        # A gateway in front of TikTok may answer 429/408/5xx in HTML: those are worth retrying.
        transient = status >= 500 or status in (408, 429)
        raise TikTokError(
            f"HTTP {status} without a TikTok envelope",
            kind=ErrorKind.TRANSIENT if transient else ErrorKind.VALIDATION,
            status=status,
            retry_after=_retry_after(response) if status == 429 else None,
        )
    code = envelope["code"]
    if code == OK:
        return envelope.get("data") or {}
    message = f"TikTok {code}: {envelope.get('message') or 'no message'}"
    raise TikTokError(
        message,
        kind=_kind(code, status),
        status=status,
        retry_after=_retry_after(response) if code == RATE_LIMITED or status == 429 else None,
        code=code,
        request_id=str(envelope.get("request_id") or ""),
        token_expired=code == ACCESS_TOKEN_EXPIRED,
    )


def _envelope(response: httpx.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        return None
    return body


def _kind(code: int, status: int) -> ErrorKind:
    if code in AUTH_CODES:
        return ErrorKind.AUTH
    if code in TRANSIENT_CODES or status == 429 or status >= 500:
        return ErrorKind.TRANSIENT
    return ErrorKind.VALIDATION


def _retry_after(response: httpx.Response) -> float | None:
    # TikTok sends delta-seconds; an HTTP-date or garbage falls back to the client's own backoff.
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
