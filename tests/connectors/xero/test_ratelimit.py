import datetime as dt
import threading
import uuid

import pytest
import redis
import time_machine

from connectors.errors import ErrorKind
from connectors.xero.errors import XeroError
from connectors.xero.ratelimit import TenantRateLimiter
from tests.conftest import need

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clock():
    """Frozen wall time (the `limits` windows read time.time()); sleeping moves it on."""
    with time_machine.travel(dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def slept(clock):
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock.shift(seconds)

    sleep.calls = sleeps
    return sleep


def test_the_61st_call_in_a_minute_waits_for_the_oldest_to_leave_the_window(slept):
    limiter = TenantRateLimiter(sleep=slept)
    for _ in range(60):
        limiter.acquire("tenant-a")
    assert slept.calls == []

    limiter.acquire("tenant-a")
    assert slept.calls == [pytest.approx(60, abs=0.1)]

    limiter.acquire("tenant-b")  # another organisation has its own budget
    assert len(slept.calls) == 1


def test_xero_saying_none_left_this_minute_makes_the_next_acquire_wait(slept):
    limiter = TenantRateLimiter(sleep=slept)
    limiter.acquire("tenant-a")
    limiter.observe("tenant-a", {"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "4000"})

    limiter.acquire("tenant-a")
    assert slept.calls == [pytest.approx(60)]
    limiter.acquire("tenant-a")
    assert len(slept.calls) == 1


def test_a_429_pauses_for_its_retry_after(slept):
    limiter = TenantRateLimiter(sleep=slept)
    limiter.observe("tenant-a", {"retry-after": "7", "x-rate-limit-problem": "minute"})
    limiter.acquire("tenant-a")
    assert slept.calls == [pytest.approx(7)]


def test_the_app_wide_minute_limit_pauses_every_tenant(slept):
    limiter = TenantRateLimiter(sleep=slept)
    limiter.observe("tenant-a", {"X-AppMinLimit-Remaining": "0"})
    limiter.acquire("tenant-b")
    assert slept.calls == [pytest.approx(60)]


def test_a_used_up_day_raises_transient_with_the_time_to_the_window_reset(slept, clock):
    limiter = TenantRateLimiter(per_day=3, sleep=slept)
    for _ in range(3):
        limiter.acquire("tenant-a")
    clock.shift(3600)

    with pytest.raises(XeroError) as caught:
        limiter.acquire("tenant-a")

    assert (caught.value.kind, caught.value.problem) == (ErrorKind.TRANSIENT, "day")
    assert caught.value.retry_after == pytest.approx(23 * 3600, abs=1)
    assert slept.calls == []


def test_xero_saying_none_left_today_raises_instead_of_sleeping(slept):
    limiter = TenantRateLimiter(sleep=slept)
    limiter.observe("tenant-a", {"X-DayLimit-Remaining": "0", "X-MinLimit-Remaining": "12"})
    with pytest.raises(XeroError) as caught:
        limiter.acquire("tenant-a")
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retry_after == pytest.approx(3600)  # no Retry-After: probe again in an hour

    limiter.observe("tenant-b", {"Retry-After": "40000", "X-Rate-Limit-Problem": "day"})
    with pytest.raises(XeroError) as caught:
        limiter.acquire("tenant-b")
    assert caught.value.retry_after == pytest.approx(40000)
    assert slept.calls == []


def test_waiting_is_bounded(slept):
    limiter = TenantRateLimiter(per_minute=1, max_wait=10, sleep=slept)
    limiter.acquire("tenant-a")
    with pytest.raises(XeroError) as caught:
        limiter.acquire("tenant-a")
    assert (caught.value.kind, caught.value.problem) == (ErrorKind.TRANSIENT, "minute")
    assert caught.value.retry_after == pytest.approx(60, abs=0.1)
    assert slept.calls == []


def test_concurrency_holds_at_most_n_calls_per_tenant_in_flight():
    limiter = TenantRateLimiter(concurrent=2, max_wait=0.01)
    with limiter.concurrency("tenant-a"), limiter.concurrency("tenant-a"):
        with pytest.raises(XeroError) as caught, limiter.concurrency("tenant-a"):
            pass
        assert (caught.value.kind, caught.value.problem) == (ErrorKind.TRANSIENT, "concurrent")
        with limiter.concurrency("tenant-b"):
            pass
    with limiter.concurrency("tenant-a"):  # slots come back
        pass


def test_concurrency_blocks_other_threads_until_a_slot_is_free():
    limiter = TenantRateLimiter(concurrent=1, max_wait=5)
    inside = threading.Event()
    release = threading.Event()
    order = []

    def first():
        with limiter.concurrency("tenant-a"):
            inside.set()
            release.wait(5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    threading.Timer(0.05, release.set).start()
    with limiter.concurrency("tenant-a"):
        order.append("second in")
    thread.join(5)
    assert order == ["first done", "second in"]


def _redis_reachable(url):
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.exceptions.RedisError, OSError):
        return False


@pytest.mark.redis
def test_two_limiters_on_redis_share_one_budget():
    need(_redis_reachable(REDIS_URL), f"Redis is not reachable at {REDIS_URL}")
    prefix = f"test-xero-{uuid.uuid4().hex}"
    worker_1, worker_2 = (
        TenantRateLimiter(storage_uri=REDIS_URL, per_minute=3, key_prefix=prefix, max_wait=0)
        for _ in range(2)
    )
    try:
        worker_1.acquire("tenant-a")
        worker_1.acquire("tenant-a")
        worker_2.acquire("tenant-a")
        with pytest.raises(XeroError) as caught:
            worker_2.acquire("tenant-a")  # the fourth call this minute, whoever makes it
        assert caught.value.kind is ErrorKind.TRANSIENT
        assert 55 < caught.value.retry_after <= 61

        worker_1.observe("tenant-b", {"X-MinLimit-Remaining": "0"})
        with pytest.raises(XeroError):
            worker_2.acquire("tenant-b")  # what one worker heard from Xero pauses the other
    finally:
        server = redis.Redis.from_url(REDIS_URL)
        server.delete(*server.keys(f"*{prefix}*"))
