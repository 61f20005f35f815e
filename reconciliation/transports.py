"""Where HTTP goes. In production: the real network (None). Tests and the demo install the
in-process sandboxes here, so the real clients are exercised byte for byte (DESIGN.md 7)."""

import time

import httpx

_installed: dict[tuple[str, str], httpx.BaseTransport] = {}


def install(system: str, key: str, transport: httpx.BaseTransport) -> None:
    """Route `system` ("xero", "tiktok") calls for `key` (tenant id, shop code) to `transport`."""
    _installed[(system, key)] = transport


def uninstall_all() -> None:
    _installed.clear()


def transport_for(system: str, key: str) -> httpx.BaseTransport | None:
    return _installed.get((system, key))


def sleep(seconds: float) -> None:
    """Back-off waits between HTTP attempts go through here, so tests can run them without waiting."""
    time.sleep(seconds)
