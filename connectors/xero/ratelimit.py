"""Xero's per-tenant call budget, shared by every worker that uses the same storage.

Xero allows per tenant 60 calls a minute, 5,000 a day and 5 in flight, and 10,000 a minute per app
(DESIGN.md 6). The minute and day budgets are moving windows in `limits` storage: `memory://` for
one process, `redis://...` so workers on several machines draw on one budget. Xero's own counters
win: `observe()` turns "X-MinLimit-Remaining: 0" (or a 429) into a pause marker in the same storage,
so every worker waits, not only the one that saw the header.

Concurrency is a per-process semaphore per tenant: across processes it is bounded by the number of
workers (run at most five per tenant, or accept an occasional 429 "concurrent", which the client
retries). A Redis counter would add lease expiry and crash recovery for little gain.

Times are wall-clock seconds (`clock=time.time`): `limits` stamps its windows with `time.time()`,
so a monotonic clock would not be comparable with a window's reset time.
"""

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from limits import RateLimitItemPerDay, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from connectors.errors import ErrorKind
from connectors.xero.errors import XeroError, retry_after_seconds

APP_SCOPE = "*app*"  # pause key for Xero's app-wide minute limit
DAY_PAUSE_SECONDS = 3600  # Xero said "none left today" without a Retry-After: probe again in an hour
SLACK_SECONDS = 0.05  # a window frees strictly after its oldest call is `expiry` seconds old


class TenantRateLimiter:
    def __init__(
        self,
        *,
        storage_uri: str = "memory://",
        per_minute: int = 60,
        per_day: int = 5000,
        concurrent: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 90.0,
        key_prefix: str = "xero",
    ):
        self._storage = storage_from_string(storage_uri)
        self._windows = MovingWindowRateLimiter(self._storage)
        self._minute = RateLimitItemPerMinute(per_minute)
        self._day = RateLimitItemPerDay(per_day)
        self._concurrent = concurrent
        self._sleep = sleep
        self._clock = clock
        self.max_wait = max_wait
        self._prefix = key_prefix
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def acquire(self, tenant_id: str) -> None:
        """Take one call from the tenant's budget, sleeping (at most `max_wait` in all) for room.

        Raises XeroError(TRANSIENT, retry_after=...) when the day is used up, or when the minute
        would not free up within `max_wait`: the caller reschedules instead of holding a worker.
        """
        waited = 0.0
        while True:
            self._raise_if_day_spent(tenant_id)
            wait = max(self._pause_left(tenant_id), self._pause_left(APP_SCOPE))
            if wait <= 0:
                if self._windows.hit(self._minute, self._prefix, tenant_id):
                    if self._windows.hit(self._day, self._prefix, tenant_id):
                        return
                    self._raise_if_day_spent(tenant_id)  # another worker took the last call
                wait = self._reset_in(self._minute, tenant_id) + SLACK_SECONDS
            if waited + wait > self.max_wait:
                raise XeroError(
                    f"Xero minute budget for {tenant_id} busy for {wait:.0f}s",
                    kind=ErrorKind.TRANSIENT,
                    retry_after=wait,
                    problem="minute",
                )
            self._sleep(wait)
            waited += wait

    @contextmanager
    def concurrency(self, tenant_id: str) -> Iterator[None]:
        """Hold one of the tenant's in-flight slots (this process only; see the module docstring)."""
        semaphore = self._semaphore(tenant_id)
        if not semaphore.acquire(timeout=self.max_wait):
            raise XeroError(
                f"{self._concurrent} Xero calls for {tenant_id} still in flight",
                kind=ErrorKind.TRANSIENT,
                retry_after=1.0,
                problem="concurrent",
            )
        try:
            yield
        finally:
            semaphore.release()

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Learn from Xero's X-*Limit-Remaining headers (and a 429's Retry-After) on any response."""
        h = {k.lower(): v.strip() for k, v in dict(headers).items()}
        retry_after = retry_after_seconds(h.get("retry-after"))
        problem = h.get("x-rate-limit-problem", "").lower()
        if h.get("x-daylimit-remaining") == "0" or problem == "day":
            self._pause(tenant_id, "day", retry_after or DAY_PAUSE_SECONDS)
        if h.get("x-minlimit-remaining") == "0" or problem == "minute":
            self._pause(tenant_id, "minute", retry_after or 60)
        if h.get("x-appminlimit-remaining") == "0" or problem == "appminute":
            self._pause(APP_SCOPE, "minute", retry_after or 60)

    def _raise_if_day_spent(self, tenant_id: str) -> None:
        paused = self._pause_left(tenant_id, "day")
        if paused <= 0 and self._windows.test(self._day, self._prefix, tenant_id):
            return
        retry_after = paused if paused > 0 else self._reset_in(self._day, tenant_id)
        raise XeroError(
            f"Xero day budget for {tenant_id} used up; next call in {retry_after:.0f}s",
            kind=ErrorKind.TRANSIENT,
            retry_after=retry_after,
            problem="day",
        )

    def _reset_in(self, item, tenant_id: str) -> float:
        stats = self._windows.get_window_stats(item, self._prefix, tenant_id)
        return max(stats.reset_time - self._clock(), 0.0)

    def _pause_key(self, scope: str, window: str) -> str:
        return f"{self._prefix}/pause/{window}/{scope}"

    def _pause(self, scope: str, window: str, seconds: float) -> None:
        # The marker's expiry is the pause; an existing marker keeps its (earlier) expiry.
        self._storage.incr(self._pause_key(scope, window), math.ceil(seconds))

    def _pause_left(self, scope: str, window: str = "minute") -> float:
        key = self._pause_key(scope, window)
        if self._storage.get(key) <= 0:
            return 0.0
        return max(self._storage.get_expiry(key) - self._clock(), 0.0)

    def _semaphore(self, tenant_id: str) -> threading.BoundedSemaphore:
        with self._lock:
            if tenant_id not in self._semaphores:
                self._semaphores[tenant_id] = threading.BoundedSemaphore(self._concurrent)
            return self._semaphores[tenant_id]
