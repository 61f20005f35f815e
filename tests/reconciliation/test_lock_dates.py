"""Lock dates from Xero's refusal (issue 5, item 6): propose the later lock date + 1, and check an
approved date against fresh settings before sending."""

import json
from datetime import date

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation import transports
from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.services import sync
from reconciliation.services.quarantine import quarantine_approve
from reconciliation.tasks import send_due_postings
from tests.reconciliation.small_statement import lines, serve
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
NOV = {day: date(2026, 11, day) for day in range(19, 27)}


def finance() -> User:
    user, _ = User.objects.get_or_create(username="fin", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Finance"))
    return User.objects.get(pk=user.pk)


def locked_after_reading(world, monkeypatch, *, period, end_of_year):
    """Xero gains these lock dates right after a run has read the organisation settings."""
    real_refresh = sync.organisation_refresh

    def refresh_then_lock(*, connection):
        result = real_refresh(connection=connection)
        world.xero.set_lock_dates(period=period, end_of_year=end_of_year)
        return result

    monkeypatch.setattr(sync, "organisation_refresh", refresh_then_lock)


def journal_puts(world):
    return [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/ManualJournals")]


def open_lock_item() -> QuarantineItem:
    """The statement's lock-date item (the payout's RECEIVE, paid on 22 Nov, is locked too)."""
    return QuarantineItem.objects.get(reason="LOCK_DATE", status="open", posting__kind="ManualJournals")


def test_a_lock_date_refusal_proposes_the_later_lock_date_plus_one_day(monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)  # statement dated 20 Nov
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    item = open_lock_item()
    assert "end of year lock date" in item.message  # Xero names only the lock date it tripped over
    assert item.proposed_date == NOV[23]
    assert "2026-11-23" in item.proposed_action and world.xero.manual_journals == []

    quarantine_approve(item=item, user=finance())

    (journal,) = world.xero.manual_journals
    assert journal["Date"].startswith("2026-11-23") or "/Date(" in journal["Date"]
    assert "original date 2026-11-20" in journal["Narration"]
    assert lines(journal) == [("1210", "45.00"), ("4000", "-50.00"), ("6100", "5.00")]
    assert len(journal_puts(world)) == 2  # refused once, then posted: Xero never refused it again


def test_an_approved_date_locked_meanwhile_is_not_sent_and_comes_back_with_a_new_proposal(monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = open_lock_item()
    world.xero.set_lock_dates(period=NOV[24], end_of_year=NOV[20])  # finance in Xero moves it on

    quarantine_approve(item=item, user=finance())  # approves 23 Nov, now locked

    assert world.xero.manual_journals == [] and len(journal_puts(world)) == 1  # not sent again
    again = open_lock_item()
    assert again.pk != item.pk and again.proposed_date == NOV[25]
    assert "2026-11-23 is still locked" in again.message and "not sent" in again.message
    item.refresh_from_db()
    assert item.status == "approved"
    assert XeroPosting.objects.get(kind="ManualJournals").state == "held"

    quarantine_approve(item=again, user=finance())

    (journal,) = world.xero.manual_journals
    assert "original date 2026-11-20" in journal["Narration"]
    assert not QuarantineItem.objects.filter(
        reason="LOCK_DATE", status="open", posting__kind="ManualJournals"
    ).exists()


def test_a_whole_request_refused_for_a_lock_date_gets_the_same_proposal(monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    inner = transports.transport_for("xero", world.xero.tenant_id)
    message = "The document date cannot be before the end of year lock date, currently set at 20-Nov-2026"

    class WholeRequestRefused(httpx.BaseTransport):
        def handle_request(self, request):
            if request.method == "PUT" and request.url.path.endswith("/ManualJournals"):
                body = {"ErrorNumber": 10, "Type": "ValidationException", "Message": message}
                body["Elements"] = [{"ValidationErrors": [{"Message": message}]}]
                return httpx.Response(400, content=json.dumps(body))
            return inner.handle_request(request)

    transports.install("xero", world.xero.tenant_id, WholeRequestRefused())
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert open_lock_item().proposed_date == NOV[23]


def test_an_approved_date_is_not_sent_while_xeros_lock_dates_cannot_be_read(monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/Organisation")

    quarantine_approve(item=open_lock_item(), user=finance())

    journal = XeroPosting.objects.get(kind="ManualJournals")
    assert journal.state == "retry" and len(journal_puts(world)) == 1  # unchecked: not sent
    XeroPosting.objects.filter(pk=journal.pk).update(next_attempt_at=timezone.now())
    send_due_postings()
    assert len(world.xero.manual_journals) == 1
    assert "original date 2026-11-20" in world.xero.manual_journals[0]["Narration"]


def test_the_lock_date_message_names_the_vat_period_only_for_a_taxed_shop():
    from dataclasses import replace
    from datetime import date

    from reconciliation.planning.checks import lock_date_problems
    from tests.reconciliation.order_fixtures import order_org

    org = replace(order_org(), period_lock_date=date(2025, 11, 30))
    (us,) = lock_date_problems(date(2025, 11, 15), org, "ref", taxed=False)
    (gb,) = lock_date_problems(date(2025, 11, 15), org, "ref", taxed=True)
    assert "VAT" not in us.message and "proposed date 2025-12-01" in us.message
    assert "the VAT period changes if approved" in gb.message


def test_a_payout_whose_journal_xero_refused_reads_as_waiting_for_a_held_statement(monkeypatch):
    from reconciliation.dashboard import dashboard

    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    assert open_lock_item().posting.state == "held"

    (panel,) = dashboard(today=NOV[26])
    (line,) = panel.payouts
    assert line.words == "waiting for 1 held statement"
