"""Amended statements never post stale (issue 5, item 4)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.services.quarantine import quarantine_dismiss, quarantine_retry
from reconciliation.tasks import send_due_postings
from tests.reconciliation.small_statement import lines, serve
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
NEW_LINES = [("1210", "43.50"), ("4000", "-50.00"), ("5100", "1.50"), ("6100", "5.00")]


def resync(world):
    world.shop.connection.refresh_from_db()
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)


def sweep():
    XeroPosting.objects.filter(state__in=["retry", "unknown"]).update(next_attempt_at=timezone.now())
    send_due_postings()


def clearing(world) -> Decimal:
    """The clearing account's balance in Xero: journal debits less the RECEIVEs coded to it."""
    journal_lines = [line for j in world.xero.manual_journals for line in j["JournalLines"]]
    moved = sum(
        (Decimal(str(x["LineAmount"])) for x in journal_lines if x["AccountCode"] == "1210"), Decimal(0)
    )
    paid = sum((Decimal(str(bt["Total"])) for bt in world.xero.bank_transactions), Decimal(0))
    return moved - paid


def open_reasons():
    return sorted(QuarantineItem.objects.filter(status="open").values_list("reason", flat=True))


def test_a_journal_xero_refused_with_429_is_planned_again_from_the_amended_statement():
    world = build_world(days=0)
    serve(world)
    world.xero.faults.next("rate_limit", count=5, method="PUT", path_prefix="/ManualJournals")
    resync(world)  # Xero created nothing: every try was a 429
    assert (
        world.xero.manual_journals == [] and XeroPosting.objects.get(kind="ManualJournals").state == "retry"
    )

    serve(world, amended=True)  # TikTok adds a -1.50 shipping adjustment: 45.00 -> 43.50
    resync(world)
    sweep()

    (journal,) = world.xero.manual_journals
    assert lines(journal) == NEW_LINES
    (receive,) = world.xero.bank_transactions
    assert Decimal(str(receive["Total"])) == Decimal("43.50")
    assert clearing(world) == Decimal("0.00")
    assert open_reasons() == []


def test_once_a_change_is_flagged_the_stale_journal_is_never_sent_and_is_replanned_if_xero_lacks_it():
    world = build_world(days=0)
    serve(world)
    # 500s: Xero may have written before failing, so the posting cannot simply be replaced.
    world.xero.faults.next("server_error", count=5, method="PUT", path_prefix="/ManualJournals")
    resync(world)
    serve(world, amended=True)
    resync(world)
    (item,) = QuarantineItem.objects.filter(status="open", reason="SOURCE_CHANGED")
    assert "no certain answer" in item.message and "posted to Xero" not in item.message

    sweep()  # looked up first: not in Xero, so planned again from the amended statement

    (journal,) = world.xero.manual_journals
    assert lines(journal) == NEW_LINES
    assert [Decimal(str(bt["Total"])) for bt in world.xero.bank_transactions] == [Decimal("43.50")]
    assert clearing(world) == Decimal("0.00") and open_reasons() == []
    stale = XeroPosting.objects.get(kind="ManualJournals", state="superseded")
    puts = stale.http_attempts.filter(method="PUT")
    assert puts.count() == 5 and all(a.status == 500 for a in puts)  # nothing after the flag


def test_a_flagged_journal_that_xero_does_have_is_linked_and_left_to_finance():
    world = build_world(days=0)
    serve(world)
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/ManualJournals")
    resync(world)  # applied, answer lost, and the lookup failed too
    serve(world, amended=True)
    resync(world)
    sweep()

    (journal,) = world.xero.manual_journals
    assert lines(journal) == [("1210", "45.00"), ("4000", "-50.00"), ("6100", "5.00")]
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_CHANGED" and "was posted to Xero" in item.message
    assert item.posting.state == "posted"
    assert world.xero.bank_transactions == []  # the payout waits until finance settles the change


@pytest.mark.parametrize("decision", ["retry", "dismiss"])
def test_finance_deciding_on_the_flag_never_releases_the_stale_journal(decision):
    world = build_world(days=0)
    serve(world)
    world.xero.faults.next("server_error", count=5, method="PUT", path_prefix="/ManualJournals")
    resync(world)
    serve(world, amended=True)
    resync(world)
    item = QuarantineItem.objects.get(status="open", reason="SOURCE_CHANGED")
    user, _ = User.objects.get_or_create(username="fin", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Finance"))
    user = User.objects.get(pk=user.pk)

    if decision == "retry":
        quarantine_retry(item=item, user=user)
    else:
        quarantine_dismiss(item=item, user=user, reason="seen")
    sweep()

    (journal,) = world.xero.manual_journals
    assert lines(journal) == NEW_LINES
