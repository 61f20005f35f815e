"""The same sync, through the Redis broker and django-q2's own pusher -> worker -> monitor steps
(what `qcluster` runs on each machine), instead of the inline mode the other tests use."""

import os
import uuid
from multiprocessing import Event, Value

import pytest
import redis
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Success
from django_q.monitor import monitor
from django_q.pusher import pusher
from django_q.queues import Queue
from django_q.tasks import async_task
from django_q.worker import worker

from reconciliation.models import XeroPosting
from tests.conftest import need
from tests.reconciliation.world import build_world

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable() -> bool:
    try:
        return bool(redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def run_worker_once(broker) -> int:
    """Pull everything queued, run it in a worker, save the results; returns how many ran."""
    tasks, results, event = Queue(), Queue(), Event()
    event.set()
    ran = 0
    while broker.queue_size():
        pusher(tasks, event, broker=broker)
        ran += 1
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)
    return ran


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_sync_and_sends_run_through_the_redis_broker_and_a_worker(monkeypatch):
    need(redis_reachable(), f"Redis is not reachable at {REDIS_URL}")
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", f"ledgersync-test-{uuid.uuid4().hex}")
    broker = get_broker()
    world = build_world(days=2)
    try:
        async_task("reconciliation.tasks.sync_shop", world.shop.pk)
        assert run_worker_once(broker) == 1  # the sync, which queues a send per journal
        assert broker.queue_size() == 2  # the RECEIVEs wait for their statements' journals
        assert run_worker_once(broker) == 2  # posting a journal releases its payout's RECEIVE
        assert run_worker_once(broker) == 2
    finally:
        broker.delete_queue()

    assert len(world.xero.manual_journals) == 2 and len(world.xero.bank_transactions) == 2
    assert set(XeroPosting.objects.values_list("state", flat=True)) == {"posted"}
    assert Success.objects.filter(func="reconciliation.tasks.send_posting").count() == 4
