"""Fault injection for the Xero sandbox (DESIGN.md 7): the failures a posting service must survive.

Kinds, and whether the request was applied:
- "timeout_after_write": applied, then httpx.ReadTimeout -- the caller cannot know it succeeded.
- "drop_response": applied, then httpx.RemoteProtocolError (connection closed mid-response).
- "server_error": HTTP 500, not applied.
- "rate_limit": HTTP 429 with Retry-After: 2, not applied.
- "timeout_before_write": httpx.ConnectTimeout, not applied.
"""

from __future__ import annotations

import random as _random
from collections import Counter
from dataclasses import dataclass

KINDS = ("timeout_after_write", "drop_response", "server_error", "rate_limit", "timeout_before_write")
APPLIED_KINDS = frozenset({"timeout_after_write", "drop_response"})


@dataclass
class _Planned:
    kind: str
    remaining: int
    method: str | None
    path_prefix: str | None

    def fits(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_prefix or path.lower().startswith(self.path_prefix.lower())


class Faults:
    """`next(...)` queues faults for the next matching requests; `random(...)` adds seeded chaos.
    `path_prefix` is matched against the API path after /api.xro/2.0 (e.g. "/ManualJournals"), or
    the URL path for the token and connections endpoints (e.g. "/connect/token")."""

    def __init__(self):
        self._planned: list[_Planned] = []
        self._chaos: tuple[float, _random.Random, tuple[str, ...]] | None = None
        self.injected: Counter[str] = Counter()

    def next(
        self, kind: str, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        _check_kinds((kind,))
        self._planned.append(_Planned(kind, count, method, path_prefix))

    def random(self, rate: float, seed: int, kinds: tuple[str, ...] = KINDS) -> None:
        """Each request fails with probability `rate`, the kind drawn from `kinds`; the sequence is
        fixed by `seed`, so a chaos run that fails can be replayed exactly. rate=0 turns it off."""
        _check_kinds(kinds)
        if not 0 <= rate <= 1:
            raise ValueError("rate is a probability between 0 and 1")
        self._chaos = (rate, _random.Random(seed), tuple(kinds)) if rate else None

    def clear(self) -> None:
        self._planned.clear()
        self._chaos = None

    def take(self, method: str, path: str) -> str | None:
        """The fault to inject into this request, if any (queued faults first)."""
        for planned in self._planned:
            if planned.fits(method, path):
                planned.remaining -= 1
                if planned.remaining <= 0:
                    self._planned.remove(planned)
                return self._fire(planned.kind)
        if self._chaos is not None:
            rate, rng, kinds = self._chaos
            if rng.random() < rate:
                return self._fire(rng.choice(kinds))
        return None

    def _fire(self, kind: str) -> str:
        self.injected[kind] += 1
        return kind


def _check_kinds(kinds: tuple[str, ...]) -> None:
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        raise ValueError(f"fault kinds are {KINDS}, not {sorted(unknown) or kinds}")
