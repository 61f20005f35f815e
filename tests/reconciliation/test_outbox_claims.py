"""The claim: one worker per posting, and one Idempotency-Key per posting however often it is claimed."""

import threading

import pytest
from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import XeroConnection, XeroPosting
from reconciliation.services import posting as posting_service
from reconciliation.services.posting import posting_send
from reconciliation.tasks import send_due_postings
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


def planned_only(world):
    from django_q.tasks import async_task

    XeroConnection.objects.update(status="paused")
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    XeroConnection.objects.update(status="active")


def journal_puts(world) -> list:
    return [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/ManualJournals")]


@pytest.mark.skipif(
    ON_SQLITE,
    reason="needs a server database: SQLite serialises writers, so two workers never race on a claim "
    "(CI runs this on PostgreSQL)",
)
def test_two_workers_claiming_the_same_ready_posting_send_it_once(monkeypatch):
    rounds = 6
    world = build_world(days=rounds)
    planned_only(world)
    targets = list(
        XeroPosting.objects.filter(kind="ManualJournals", state="ready").values_list("pk", flat=True)
    )
    assert len(targets) == rounds
    real_client = posting_service.xero_access.xero_client
    barrier = threading.Barrier(2, timeout=30)
    target: dict[str, int] = {}

    def client_then_wait(connection, *, posting=None):
        # Both workers have read the posting as READY and built their client: now both claim at once.
        client = real_client(connection, posting=posting)
        if posting is not None and posting.pk == target["pk"]:
            barrier.wait()
        return client

    monkeypatch.setattr(posting_service.xero_access, "xero_client", client_then_wait)
    errors: list[BaseException] = []

    def worker(pk: int) -> None:
        try:
            posting_send(posting_id=pk)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            db_connection.close()  # each thread has its own connection

    for number, pk in enumerate(targets, start=1):
        target["pk"] = pk
        threads = [threading.Thread(target=worker, args=(pk,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert len(journal_puts(world)) == number, f"round {number}: the posting was sent twice"
        assert XeroPosting.objects.get(pk=pk).attempts == 1

    assert len(world.xero.manual_journals) == rounds


def test_every_claim_of_a_posting_sends_the_same_idempotency_key():
    world = build_world(days=1)
    planned_only(world)
    posting = XeroPosting.objects.get(kind="ManualJournals")
    planned_key = posting.idempotency_key
    # Claim 1: refused five times by the rate limit (the client's own retries included): RETRY.
    world.xero.faults.next("rate_limit", count=5, method="PUT", path_prefix="/ManualJournals")
    posting_send(posting_id=posting.pk)
    posting.refresh_from_db()
    assert posting.state == "retry"
    world.shop.connection.refresh_from_db()
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)  # planned again: same row, same key
    assert XeroPosting.objects.get(kind="ManualJournals").pk == posting.pk
    # Claim 2: applied, answer lost. Claim 3: looked up (found), never created again.
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    XeroPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now())
    send_due_postings()
    XeroPosting.objects.filter(pk=posting.pk).update(next_attempt_at=timezone.now())
    send_due_postings()

    posting.refresh_from_db()
    assert posting.state == "posted" and posting.attempts == 3
    assert posting.idempotency_key == planned_key
    keys = {r.headers["idempotency-key"] for r in journal_puts(world)}
    assert len(journal_puts(world)) == 6 and keys == {planned_key}
    assert len(world.xero.manual_journals) == 1
