"""Who may call the Xero sandbox, how often, and what a repeated Idempotency-Key returns (DESIGN.md 6).

All three read the sandbox's injected clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

ACCESS_TOKEN_SECONDS = 1800  # Xero access tokens live 30 minutes
MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)


REFRESH_GRACE = timedelta(minutes=30)
CODE_LIFE = timedelta(minutes=5)  # Xero's authorisation codes
DEFAULT_SCOPE = "offline_access accounting.transactions accounting.settings accounting.contacts"


class TokenStore:
    """OAuth2 as Xero's identity server does it. Every refresh rotates the refresh token; the one
    presented stays usable for a grace period of 30 minutes (Xero's FAQ, developer.xero.com/faq/
    oauth2: "If, for whatever reason, you don't receive the response you can retry refreshing your
    existing refresh token for a grace period of 30 minutes"), and is dead after it. Each use in
    the grace period issues a new pair (Xero does not say whether it repeats the first one; a
    client must store whatever it receives last). A client that keeps a rotated token for longer
    than the grace period therefore fails in tests, as it would at Xero."""

    def __init__(self, clock: Callable[[], datetime]):
        self._clock = clock
        self._access: dict[str, datetime] = {}
        self._refresh: dict[str, datetime | None] = {}  # token -> end of its grace period, once used
        # Codes the consent page issued: code -> (redirect_uri, scope, client_id, valid until).
        self._codes: dict[str, tuple[str, str, str, datetime]] = {}

    def issue(self, *, with_refresh: bool = True, scope: str = DEFAULT_SCOPE) -> dict:
        access = "sbx-at-" + secrets.token_urlsafe(24)
        self._access[access] = self._clock() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        grant = {
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "token_type": "Bearer",
            "scope": scope,
        }
        if with_refresh:
            grant["refresh_token"] = "sbx-rt-" + secrets.token_urlsafe(24)
            self._refresh[grant["refresh_token"]] = None
        return grant

    def refresh(self, refresh_token: str) -> dict | None:
        if refresh_token not in self._refresh:
            return None
        now = self._clock()
        grace_ends = self._refresh[refresh_token]
        if grace_ends is not None and now >= grace_ends:
            del self._refresh[refresh_token]
            return None
        if grace_ends is None:
            self._refresh[refresh_token] = now + REFRESH_GRACE
        return self.issue()

    def issue_code(self, *, redirect_uri: str, scope: str, client_id: str = "") -> str:
        """What the consent page hands the callback when the user allows access."""
        code = "sbx-code-" + secrets.token_urlsafe(16)
        self._codes[code] = (redirect_uri, scope, client_id, self._clock() + CODE_LIFE)
        return code

    def exchange_code(self, code: str, redirect_uri: str, client_id: str = "") -> dict | None:
        """A code works once, for 5 minutes, only with the redirect_uri it was issued for and by the
        client it was issued to (RFC 6749 4.1.3; Xero: "the code is valid for 5 minutes"); a
        refresh token comes only with the `offline_access` scope (Xero's scopes page)."""
        issued = self._codes.pop(code, None)
        if issued is None or issued[0] != redirect_uri or self._clock() >= issued[3]:
            return None
        if issued[2] and issued[2] != client_id:
            return None
        scope = issued[1]
        return self.issue(with_refresh="offline_access" in scope.split(), scope=scope)

    def valid(self, access_token: str) -> bool:
        expires = self._access.get(access_token)
        return expires is not None and self._clock() < expires

    def expire_all(self) -> None:
        self._access.clear()


@dataclass
class RateLimits:
    """Xero's per-tenant limits (60/minute, 5,000/day, both rolling) and the app-wide minute limit."""

    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10000

    def __post_init__(self):
        self._calls: deque[datetime] = deque()

    def over(self, now: datetime) -> tuple[str, int] | None:
        """(problem, Retry-After seconds) when one more call now would break a limit."""
        while self._calls and self._calls[0] <= now - DAY:
            self._calls.popleft()
        if len(self._calls) >= self.per_day:
            return "day", _seconds_until(self._calls[-self.per_day] + DAY, now)
        minute = self._in_last_minute(now)
        if minute >= self.per_minute:
            return "minute", _seconds_until(self._calls[-self.per_minute] + MINUTE, now)
        return None

    def record(self, now: datetime) -> None:
        self._calls.append(now)

    def headers(self, now: datetime) -> dict[str, str]:
        minute = self._in_last_minute(now)
        return {
            "X-MinLimit-Remaining": str(max(self.per_minute - minute, 0)),
            "X-DayLimit-Remaining": str(max(self.per_day - len(self._calls), 0)),
            "X-AppMinLimit-Remaining": str(max(self.app_per_minute - minute, 0)),
        }

    def _in_last_minute(self, now: datetime) -> int:
        return sum(1 for when in reversed(self._calls) if when > now - MINUTE)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(math.ceil((moment - now).total_seconds()), 1)


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    stored_at: datetime
    status: int
    headers: dict[str, str]
    content: bytes


class IdempotencyStore:
    """Xero replays the first response to a repeated Idempotency-Key for a short window (reported
    as minutes; 10 by default here). A key reused with a different request is an error."""

    MAX_KEY_LENGTH = 128

    def __init__(self, window: timedelta = timedelta(minutes=10)):
        self.window = window
        self._responses: dict[str, StoredResponse] = {}

    @staticmethod
    def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
        return hashlib.sha256(
            b"\n".join([method.encode(), path.lower().encode(), query.encode(), body])
        ).hexdigest()

    def lookup(self, key: str, fingerprint: str, now: datetime) -> StoredResponse | str | None:
        """The stored response, "conflict" for a different request under the same key, or None."""
        stored = self._responses.get(key)
        if stored is None or now - stored.stored_at > self.window:
            return None
        return stored if stored.fingerprint == fingerprint else "conflict"

    def remember(self, key: str, response: StoredResponse) -> None:
        self._responses[key] = response
