"""Whole runs: TikTok sandbox -> real clients, services and django-q2 tasks -> Xero sandbox."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation import selectors
from reconciliation.models import (
    ComponentMapping,
    QuarantineItem,
    Statement,
    SyncRun,
    XeroAttempt,
    XeroPosting,
)
from reconciliation.services import sync
from reconciliation.services.posting import posting_send
from reconciliation.services.quarantine import quarantine_approve, quarantine_dismiss, quarantine_retry
from reconciliation.tasks import send_due_postings
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def run_sync(world):
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)


def drain(rounds: int = 6):
    """What the scheduled sweep does over time; back-off waits are skipped by making retries due now."""
    for _ in range(rounds):
        XeroPosting.objects.filter(state=XeroPosting.State.RETRY, next_attempt_at__isnull=False).update(
            next_attempt_at=timezone.now()
        )
        send_due_postings()


def user_in(group: str) -> User:
    user = User.objects.create_user(group.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def narrations(world):
    return sorted(j["Narration"] for j in world.xero.manual_journals)


def test_sync_posts_one_balanced_journal_per_statement_and_one_receive_per_payout():
    world = build_world(days=3)
    run_sync(world)

    assert len(world.xero.manual_journals) == 3
    for journal in world.xero.manual_journals:
        total = sum(D(str(line["LineAmount"])) for line in journal["JournalLines"])
        assert total == 0
    assert len(world.xero.bank_transactions) == 3
    deposits = sorted(D(str(bt["Total"])) for bt in world.xero.bank_transactions)
    assert deposits == sorted(D(p["amount"]["value"]) for _, _, p in world.statements)
    for row in selectors.payout_reconciliation(world.shop):
        assert row["residue"] == 0 and row["posted_to_clearing"] == row["deposit"]
        assert row["receive"] == "posted"


def test_a_second_sync_posts_nothing_new():
    world = build_world(days=2)
    run_sync(world)
    before = (len(world.xero.manual_journals), len(world.xero.bank_transactions))
    world.shop.connection.refresh_from_db()
    world.shop.connection.last_synced_at = None  # re-read the whole window again
    world.shop.connection.save()
    run_sync(world)
    assert (len(world.xero.manual_journals), len(world.xero.bank_transactions)) == before


def test_faults_after_the_write_500s_and_429s_still_give_exactly_one_journal_per_statement():
    world = build_world(days=4)
    world.xero.faults.next("timeout_after_write", count=2, method="PUT", path_prefix="/ManualJournals")
    world.xero.faults.next("server_error", count=1, method="PUT", path_prefix="/ManualJournals")
    world.xero.faults.next("rate_limit", count=2, method="PUT")
    world.xero.faults.next("drop_response", count=1, method="PUT", path_prefix="/BankTransactions")
    world.tiktok.faults.next("rate_limit")

    run_sync(world)
    drain()

    assert len(narrations(world)) == 4 and len(set(narrations(world))) == 4
    assert (
        len({bt["Reference"] for bt in world.xero.bank_transactions})
        == len(world.xero.bank_transactions)
        == 4
    )
    assert XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).count() == 0
    assert sum(world.xero.faults.injected.values()) >= 5
    # Every HTTP attempt to the Xero API is in the audit trail, including the failed ones.
    api_requests = [
        r for r in world.xero.requests if "/api.xro/2.0/" in str(r[1]) or r[1].startswith("/api.xro")
    ]
    assert XeroAttempt.objects.filter(url__contains="/api.xro/2.0/").count() == len(api_requests)
    assert XeroAttempt.objects.filter(status=429).exists()
    assert XeroAttempt.objects.filter(error__gt="").exists()


def test_redelivered_send_task_is_a_no_op():
    world = build_world(days=1)
    run_sync(world)
    posting = XeroPosting.objects.get(kind=XeroPosting.Kind.MANUAL_JOURNAL)
    attempts = XeroAttempt.objects.count()
    assert posting_send(posting_id=posting.pk).state == XeroPosting.State.POSTED
    assert XeroAttempt.objects.count() == attempts
    assert len(world.xero.manual_journals) == 1


def test_statement_on_the_lock_date_is_quarantined_then_finance_approval_posts_it_redated():
    world = build_world(days=2)
    world.xero.set_lock_dates(period=world.start)
    run_sync(world)

    item = QuarantineItem.objects.get(reason="LOCK_DATE")
    assert item.proposed_date == world.start.fromordinal(world.start.toordinal() + 1)
    assert item.posting.state == XeroPosting.State.HELD
    assert item.posting.source.state == Statement.State.HELD
    assert len(world.xero.manual_journals) == 1  # the other day posted

    with pytest.raises(PermissionDenied):
        quarantine_approve(item=item, user=user_in("Operations"))
    item.refresh_from_db()
    assert item.status == "open"

    quarantine_approve(item=item, user=user_in("Finance"))  # queues the send itself

    assert len(world.xero.manual_journals) == 2
    redated = next(j for j in world.xero.manual_journals if "original date" in j["Narration"])
    assert world.start.isoformat() in redated["Narration"]
    item.refresh_from_db()
    assert item.status == "resolved" and item.decided_by.username == "finance"
    assert item.posting.source.state == Statement.State.PLANNED  # not left showing "held"


def test_dismissing_a_held_statement_releases_its_payouts_receipt_at_once():
    world = build_world(days=2)
    statement, transactions, payment = world.statements[0]
    world.tiktok.add_statement("test-cipher", *_inconsistent(statement, transactions), payment)
    run_sync(world)
    item = QuarantineItem.objects.get(reason="SOURCE_INCONSISTENT")
    assert len(world.xero.bank_transactions) == 1  # the held statement's payout waits

    quarantine_dismiss(item=item, user=user_in("Finance"), reason="TikTok will not correct it")

    assert len(world.xero.bank_transactions) == 2  # sent now, not at the next 5-minute sweep
    assert item.source.state == Statement.State.PLANNED


def _inconsistent(statement, transactions):
    from connectors.tiktok.sandbox_data import make_inconsistent

    return make_inconsistent(statement, transactions)


def test_lock_date_found_only_by_xero_is_quarantined_with_a_proposed_date(monkeypatch):
    world = build_world(days=1)
    real_refresh = sync.organisation_refresh

    def refresh_then_lock(*, connection):
        # Finance locks the period right after we read the settings: only Xero can tell us now.
        result = real_refresh(connection=connection)
        world.xero.set_lock_dates(period=world.start)
        return result

    monkeypatch.setattr(sync, "organisation_refresh", refresh_then_lock)
    run_sync(world)

    item = QuarantineItem.objects.get(reason="LOCK_DATE", posting__kind="ManualJournals")
    assert item.proposed_date is not None and item.proposed_date > world.start
    assert "lock date" in item.message
    assert world.xero.manual_journals == []
    assert item.posting.attempts == 1  # never retried


def test_unmapped_component_holds_the_statement_until_the_map_is_fixed():
    world = build_world(days=1)
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    run_sync(world)

    item = QuarantineItem.objects.get(reason="UNMAPPED_COMPONENT")
    assert "fee.transaction_fee_amount" in item.message
    assert Statement.objects.get().state == Statement.State.HELD
    assert world.xero.manual_journals == []

    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    quarantine_retry(item=item, user=user_in("Finance"))
    send_due_postings()  # a re-planned statement is picked up by the sweep

    assert len(world.xero.manual_journals) == 1
    assert not QuarantineItem.objects.filter(reason="UNMAPPED_COMPONENT", status="open").exists()


def test_shop_in_another_currency_than_the_organisation_is_held():
    world = build_world(days=1, base_currency="GBP")
    run_sync(world)
    assert QuarantineItem.objects.filter(reason="CURRENCY_MISMATCH").count() >= 1
    assert world.xero.manual_journals == [] and world.xero.bank_transactions == []


def test_refused_refresh_token_pauses_the_connection_without_retrying():
    world = build_world(days=1)
    connection = world.shop.xero_connection
    connection.access_token_expires_at = connection.access_token_expires_at.replace(year=2000)
    connection.refresh_token = "revoked"
    connection.save()

    run_sync(world)

    connection.refresh_from_db()
    assert connection.status == "paused"
    assert world.xero.manual_journals == []


def test_every_xero_request_and_sandbox_response_conforms_to_xeros_openapi_file(xero_spec_path):
    world = build_world(days=2)
    world.xero.set_lock_dates(period=world.start)  # a refused element's response is checked too
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    run_sync(world)
    drain()

    assert world.xero.spec_checked
    assert world.xero.spec_violations == []
    puts = [r for r in world.xero.requests if r[0] == "PUT"]
    assert len(puts) >= 2 and any(r[0] == "GET" and "where" in r[2] for r in world.xero.requests)


def test_statement_changed_by_tiktok_after_posting_is_quarantined_not_posted_again():
    world = build_world(days=1)
    run_sync(world)
    statement, transactions, payment = world.statements[0]
    amended = [dict(t) for t in transactions]
    amended[0]["order_id"] = "amended-order"  # same money, different content: still must be reviewed
    world.tiktok.add_statement("test-cipher", statement, amended, payment)
    world.shop.connection.refresh_from_db()
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()

    run_sync(world)

    assert len(world.xero.manual_journals) == 1
    assert Statement.objects.get().state == Statement.State.PLANNED
    # The journal itself did not change (order ids are not posted), so nothing to review...
    assert not QuarantineItem.objects.filter(reason="SOURCE_CHANGED").exists()

    amended[0]["settlement_amount"] = str(D(amended[0]["settlement_amount"]) + 1)
    amended[0]["adjustment_amount"] = "1.00"
    amended[0]["type"] = "PLATFORM_REIMBURSEMENT"
    bumped = dict(statement, settlement_amount=str(D(statement["settlement_amount"]) + 1))
    world.tiktok.add_statement("test-cipher", bumped, amended, None)
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()
    run_sync(world)

    # ...but different money after posting is held for finance, never posted a second time.
    assert len(world.xero.manual_journals) == 1
    item = QuarantineItem.objects.get(reason="SOURCE_CHANGED")
    assert "changed after" in item.message and item.posting.state == XeroPosting.State.POSTED


def test_a_worker_that_died_mid_send_is_recovered_by_lookup_not_by_a_second_create():
    world = build_world(days=1)
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    run_sync(world)
    posting = XeroPosting.objects.get(kind=XeroPosting.Kind.MANUAL_JOURNAL)
    # Simulate the worst case: Xero applied it and the worker was killed before writing anything.
    XeroPosting.objects.filter(pk=posting.pk).update(
        state=XeroPosting.State.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )

    send_due_postings()

    posting.refresh_from_db()
    assert posting.state == XeroPosting.State.POSTED and posting.xero_id
    assert len(world.xero.manual_journals) == 1


def test_xero_unreachable_at_the_start_of_a_run_plans_with_the_cached_settings():
    world = build_world(days=1)
    run_sync(world)  # organisation settings cached
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/Organisation")
    run_sync(world)

    latest = SyncRun.objects.order_by("-id").first()
    assert latest.status == "done" and latest.counts.get("xero_settings_from_cache") == 1


def test_without_any_organisation_settings_the_run_stops_rather_than_skip_currency_checks():
    world = build_world(days=1)
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/Organisation")
    run_sync(world)

    assert SyncRun.objects.get().status == "failed"
    assert XeroPosting.objects.count() == 0


def test_a_payouts_receive_waits_for_its_held_statement_and_follows_the_approval():
    world = build_world(days=2)
    world.xero.set_lock_dates(period=world.start)
    run_sync(world)
    locked = QuarantineItem.objects.get(reason="LOCK_DATE").source
    receive = XeroPosting.objects.get(purpose="payout_receive", payout__payment_id=locked.payment_id)
    assert receive.state == XeroPosting.State.WAITING
    assert len(world.xero.bank_transactions) == 1  # the other day's payout went through

    quarantine_approve(item=QuarantineItem.objects.get(reason="LOCK_DATE"), user=user_in("Finance"))

    receive.refresh_from_db()
    assert receive.state == XeroPosting.State.POSTED and len(world.xero.bank_transactions) == 2
    for row in selectors.payout_reconciliation(world.shop):
        assert row["residue"] == 0


def test_a_custom_connection_without_refresh_token_gets_tokens_by_client_credentials():
    world = build_world(days=1)
    connection = world.shop.xero_connection
    connection.refresh_token, connection.access_token = "", ""
    connection.access_token_expires_at = None
    connection.save()

    run_sync(world)

    connection.refresh_from_db()
    assert connection.status == "active" and connection.access_token
    assert len(world.xero.manual_journals) == 1
