"""The one place that turns what Xero says into our error classes (DESIGN.md 6, "Error classes").

The client, the token calls and the rate limiter all call into this module; nothing else decides
whether a Xero failure is transient, a lock date, a duplicate, a mapping problem or an auth problem.
"""

import datetime as dt
import email.utils
import json
import re
from collections.abc import Sequence

import httpx

from connectors.errors import ConnectorError, ErrorKind


class XeroError(ConnectorError):
    """A Xero call failed as a whole. `problem` is Xero's X-Rate-Limit-Problem on a 429."""

    def __init__(self, message: str, *, problem: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.problem = problem


# "The document date cannot be before the period lock date, currently set at 30-Nov-2018",
# "... end of year lock date ...", "cannot be on or before ...": any mention of a lock date.
_LOCK_DATE = re.compile(r"lock\s*date", re.IGNORECASE)
# "Invoice # must be unique.", "The contact name ... must be unique across all active contacts."
_DUPLICATE = re.compile(r"must\s+be\s+unique", re.IGNORECASE)
_DATE = re.compile(r"\b(\d{1,2})[- ]([A-Za-z]{3})[a-z]*[- ](\d{4})\b")
_MONTHS = {  # not strptime's %b, which follows the process locale
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}

# Failures where the request never reached Xero, so nothing can have been applied.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def classify_messages(messages: Sequence[str]) -> ErrorKind:
    """Kind of a failed element from its ValidationErrors messages.

    A duplicate wins over everything (the document exists: link it, never create it twice); a lock
    date wins over validation (finance must move the date whatever else is wrong).
    """
    if any(_DUPLICATE.search(m) for m in messages):
        return ErrorKind.DUPLICATE
    if any(_LOCK_DATE.search(m) for m in messages):
        return ErrorKind.LOCK_DATE
    return ErrorKind.VALIDATION


def parse_lock_date(message: str) -> dt.date | None:
    """The date in Xero's lock-date message ("... currently set at 30-Nov-2018"), else None."""
    match = _DATE.search(message)
    if not match or match.group(2).lower() not in _MONTHS:
        return None
    day, month, year = int(match.group(1)), _MONTHS[match.group(2).lower()], int(match.group(3))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def collect_messages(node, key: str = "ValidationErrors") -> tuple[str, ...]:
    """Every `Message` under `key` anywhere in a Xero element (lines and contacts carry their own)."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == key and isinstance(v, list):
                    found.extend(str(e.get("Message", "")) for e in v if isinstance(e, dict))
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(node)
    return tuple(dict.fromkeys(m for m in found if m))


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds: Xero sends delta-seconds; an HTTP date is accepted too."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def classify_response(response: httpx.Response) -> XeroError | None:
    """None for 2xx, otherwise the whole-request error with its kind."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "")
        return XeroError(
            f"Xero rate limit hit ({problem or 'unknown'} limit)",
            kind=ErrorKind.TRANSIENT,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            problem=problem,
        )
    messages = _error_messages(response)
    summary = f"Xero answered {status}: {'; '.join(messages) or response.reason_phrase}"
    return XeroError(summary, kind=_status_kind(response, messages), status=status, messages=messages)


def _status_kind(response: httpx.Response, messages: Sequence[str]) -> ErrorKind:
    status = response.status_code
    if status in (401, 403):  # token expired or revoked; tenant disconnected or not authorised
        return ErrorKind.AUTH
    if status >= 500:
        return ErrorKind.TRANSIENT
    if status == 409 and _request_method(response) not in _SAFE_METHODS:
        # A conflict on a keyed write can mean an earlier request with this Idempotency-Key is
        # still being processed: the document may yet appear, so look it up before re-sending.
        return ErrorKind.UNKNOWN_OUTCOME
    if status == 400:
        return classify_messages(messages)
    return ErrorKind.VALIDATION


def _request_method(response: httpx.Response) -> str:
    try:
        return response.request.method
    except RuntimeError:  # a Response built by hand, with no request attached
        return ""


def _error_messages(response: httpx.Response) -> tuple[str, ...]:
    """Messages of Xero's ApiException body, or of its problem+json body on 401/403."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return (text[:500],) if text else ()
    if not isinstance(body, dict):
        return ()
    messages = collect_messages(body.get("Elements", []))
    if messages:
        return messages
    return tuple(str(body[k]) for k in ("Message", "Detail", "Title", "error") if body.get(k))[:1]


def classify_token_response(response: httpx.Response) -> XeroError | None:
    """The identity server's answer. Any 4xx but 429 (invalid_grant, invalid_client): re-connect.

    A 2xx without a readable access token is TRANSIENT: Xero keeps the old refresh token usable
    for a grace period (about 30 minutes), so asking again with it is safe.
    """
    status = response.status_code
    if 400 <= status < 500 and status != 429:
        detail = "; ".join(_error_messages(response)) or response.reason_phrase
        return XeroError(f"Xero refused the token request: {detail}", kind=ErrorKind.AUTH, status=status)
    if error := classify_response(response):
        return error
    try:
        ok = bool(response.json().get("access_token"))
    except (ValueError, AttributeError):
        ok = False
    if not ok:
        return XeroError("Xero's token answer has no access_token", kind=ErrorKind.TRANSIENT, status=status)
    return None


def classify_token_exception(exc: Exception) -> XeroError:
    """A token request lost on the network: safe to repeat (see classify_token_response)."""
    return XeroError(
        f"Xero identity server unreachable ({type(exc).__name__}: {exc})", kind=ErrorKind.TRANSIENT
    )


def classify_unexpected_body(detail: str, *, method: str, status: int | None = None) -> XeroError:
    """A 2xx whose body we cannot read as the documents we asked for (not JSON, wrong count).

    After a write Xero has applied something we cannot match to what we sent: look it up.
    """
    kind = ErrorKind.TRANSIENT if method.upper() in _SAFE_METHODS else ErrorKind.UNKNOWN_OUTCOME
    return XeroError(f"Unexpected answer from Xero: {detail}", kind=kind, status=status)


def classify_exception(exc: Exception, *, method: str) -> XeroError:
    """A network failure. On a write it may have been applied unless it never reached Xero."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, _NOT_SENT) or method.upper() in _SAFE_METHODS:
        return XeroError(f"Xero unreachable ({text})", kind=ErrorKind.TRANSIENT)
    return XeroError(
        f"Outcome of {method.upper()} unknown ({text}): look the document up before retrying",
        kind=ErrorKind.UNKNOWN_OUTCOME,
    )
