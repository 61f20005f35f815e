import os
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() == "true"
# A fixed key for tests only: credentials in test databases are throwaway sandbox values.
TEST_CREDENTIALS_KEY = "k1nKXbIO0-8jS1pyY4qKkLJaDQWJ3V3wp1b0gX2TtCY="


def need(condition: bool, reason: str) -> None:
    """Skip a test whose service or file is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture
def xero_spec_path():
    path = settings.XERO_OPENAPI_SPEC
    need(
        path.exists(),
        f"Xero's OpenAPI file is not at {path} (set XERO_OPENAPI_SPEC or put ../shared beside the repo)",
    )
    return path


@pytest.fixture
def tiktok_spec():
    from connectors.tiktok.openapi import TikTokSpec

    folder = settings.TIKTOK_OPENAPI_DIR
    need(
        (folder / "finance.json").exists(),
        f"TikTok's OpenAPI description is not in {folder} (set TIKTOK_OPENAPI_DIR or put ../shared beside the repo)",
    )
    return TikTokSpec.load(folder)


@pytest.fixture(autouse=True)
def _isolated_outside_world(settings, monkeypatch):
    """Every test starts with no sandboxes installed and fresh rate-limit windows; a back-off wait
    moves the clock forward instead of sleeping, so Retry-After and rate windows behave as in real
    time without the suite waiting for them."""
    from django_q.conf import Conf

    from reconciliation import transports
    from reconciliation.services import xero_access

    settings.CREDENTIALS_KEYS = [TEST_CREDENTIALS_KEY]
    # Test users need no slow key stretching (PBKDF2 made the suite four times slower).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATE_LIMIT_STORAGE = "memory://"
    monkeypatch.setattr(Conf, "SYNC", True)  # django-q2 runs tasks inline, as STYLE.md asks for tests
    slept: list[float] = []
    transports.uninstall_all()
    xero_access.limiters_reset()
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:

        def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            traveller.shift(seconds)

        monkeypatch.setattr(transports, "sleep", fake_sleep)
        yield slept
    transports.uninstall_all()
    xero_access.limiters_reset()
