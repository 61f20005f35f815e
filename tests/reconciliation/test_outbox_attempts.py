"""The attempt audit: a row exists before a request leaves, and says so when no answer came back."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from reconciliation import transports
from reconciliation.models import XeroAttempt, XeroConnection, XeroPosting
from reconciliation.services.posting import posting_send, postings_recover_stale
from reconciliation.tasks import send_due_postings
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


class WorkerKilled(BaseException):
    """What a worker sees when django-q2 kills it (task timeout) or the machine goes down: nothing
    after this line runs, not even an `except Exception`."""


def planned_only(world):
    """Plan the world's statements without sending anything (the connection is paused meanwhile)."""
    from django_q.tasks import async_task

    XeroConnection.objects.update(status="paused")
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    XeroConnection.objects.update(status="active")


def journal():
    return XeroPosting.objects.exclude(state="superseded").get(kind="ManualJournals")


def test_a_worker_killed_after_xeros_write_leaves_an_attempt_row_marked_unanswered():
    world = build_world(days=1)
    planned_only(world)
    inner = transports.transport_for("xero", world.xero.tenant_id)

    class KilledAfterTheWrite(httpx.BaseTransport):
        def handle_request(self, request):
            response = inner.handle_request(request)
            if request.method == "PUT":
                raise WorkerKilled  # Xero has applied it; we never see the answer
            return response

    transports.install("xero", world.xero.tenant_id, KilledAfterTheWrite())
    with pytest.raises(WorkerKilled):
        posting_send(posting_id=journal().pk)

    assert len(world.xero.manual_journals) == 1
    (put,) = XeroAttempt.objects.filter(method="PUT")
    assert put.posting_id == journal().pk and put.completed_at is None and put.status is None
    assert put.idempotency_key == journal().idempotency_key and put.number == 1
    assert put.may_have_written() and "no answer recorded" in str(put)

    transports.install("xero", world.xero.tenant_id, inner)
    assert postings_recover_stale(now=timezone.now() + timedelta(hours=1)) == 1
    XeroPosting.objects.filter(state="unknown").update(next_attempt_at=timezone.now())
    send_due_postings()
    assert journal().state == "posted" and len(world.xero.manual_journals) == 1


def test_attempt_rows_keep_the_try_number_and_error_class():
    world = build_world(days=1)
    planned_only(world)
    world.xero.faults.next("rate_limit", count=2, method="PUT", path_prefix="/ManualJournals")
    posting_send(posting_id=journal().pk)

    puts = list(XeroAttempt.objects.filter(method="PUT", url__contains="/ManualJournals").order_by("id"))
    assert [(a.number, a.status, a.error_kind) for a in puts] == [
        (1, 429, "transient"),
        (2, 429, "transient"),
        (3, 200, ""),
    ]
    assert all(a.completed_at is not None for a in puts)
    assert not puts[0].may_have_written() and puts[2].may_have_written()


@pytest.mark.parametrize(
    ("fault", "may_have_written"),
    [
        ("timeout_after_write", True),
        ("drop_response", True),
        ("server_error", True),  # a 5xx does not say whether Xero wrote before failing
        ("rate_limit", False),
        ("timeout_before_write", False),
    ],
)
def test_which_failed_writes_may_have_reached_xero(fault, may_have_written):
    world = build_world(days=1)
    planned_only(world)
    world.xero.faults.next(fault, method="PUT", path_prefix="/ManualJournals")
    posting_send(posting_id=journal().pk)

    first = XeroAttempt.objects.filter(method="PUT").order_by("id").first()
    assert first.may_have_written() is may_have_written
