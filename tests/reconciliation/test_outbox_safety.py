"""Regression tests from the correctness review: nothing posted twice, nothing silently lost."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation import transports
from reconciliation.models import (
    ComponentMapping,
    Payout,
    QuarantineItem,
    Statement,
    SyncRun,
    XeroConnection,
    XeroPosting,
)
from reconciliation.services import sync
from reconciliation.services.posting import posting_send
from reconciliation.services.quarantine import quarantine_dismiss, quarantine_retry
from reconciliation.services.statements import statement_plan
from reconciliation.tasks import send_due_postings
from tests.reconciliation.world import CIPHER, build_world

pytestmark = pytest.mark.django_db(transaction=True)


def finance() -> User:
    user, _ = User.objects.get_or_create(username="fin", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Finance"))
    return User.objects.get(pk=user.pk)


def resync(world):
    world.shop.connection.refresh_from_db()
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)


def set_connection(world, status: str):
    XeroConnection.objects.filter(pk=world.shop.xero_connection_id).update(status=status)


def journal():
    return XeroPosting.objects.exclude(state="superseded").get(kind="ManualJournals")


def open_reasons():
    return sorted(QuarantineItem.objects.filter(status="open").values_list("reason", flat=True))


def test_a_posting_xero_may_have_is_never_replaced_by_a_new_plan():
    world = build_world(days=1)
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/ManualJournals")
    resync(world)  # applied, answer lost
    send_due_postings()  # the lookup fails too: still unknown, though the journal is in Xero
    assert journal().state == "unknown"
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").update(description="Fees")
    world.tiktok.add_statement(
        CIPHER, {**world.statements[0][0]}, [dict(t, order_id="x") for t in world.statements[0][1]]
    )
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").update(account_code="6110")
    resync(world)
    XeroPosting.objects.filter(state="unknown").update(next_attempt_at=timezone.now())
    send_due_postings()

    assert len(world.xero.manual_journals) == 1
    assert "SOURCE_CHANGED" in open_reasons()


def test_same_content_planned_again_after_being_set_aside_is_sent():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    statement = Statement.objects.get()
    mapping = ComponentMapping.objects.get(component="fee.transaction_fee_amount")
    mapping.delete()
    statement_plan(statement=statement)
    item = QuarantineItem.objects.get(status="open", reason="UNMAPPED_COMPONENT")
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    quarantine_retry(item=item, user=finance())
    set_connection(world, "active")
    send_due_postings()

    assert len(world.xero.manual_journals) == 1
    assert open_reasons() == []


def test_a_later_sync_does_not_close_the_item_of_a_document_xero_keeps_failing():
    world = build_world(days=1)
    world.xero.faults.next("server_error", count=200, method="PUT", path_prefix="/ManualJournals")
    resync(world)
    for _ in range(12):
        XeroPosting.objects.filter(state="retry").update(next_attempt_at=timezone.now())
        send_due_postings()
    assert journal().state == "held"
    world.xero.faults.clear()
    resync(world)
    assert open_reasons() == ["RETRIES_EXHAUSTED"]

    quarantine_retry(item=QuarantineItem.objects.get(status="open"), user=finance())
    assert len(world.xero.manual_journals) == 1 and journal().state == "posted"


def test_must_be_unique_answer_links_to_the_existing_document_or_quarantines():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    inner = transports.transport_for("xero", world.xero.tenant_id)

    class DuplicateAnswer(httpx.BaseTransport):
        def handle_request(self, request):
            if request.method == "PUT" and request.url.path.endswith("/ManualJournals"):
                element = {
                    "Narration": "x",
                    "HasErrors": True,
                    "ValidationErrors": [{"Message": "Narration must be unique."}],
                }
                return httpx.Response(200, content=json.dumps({"ManualJournals": [element]}))
            return inner.handle_request(request)

    transports.install("xero", world.xero.tenant_id, DuplicateAnswer())
    posting = posting_send(posting_id=journal().pk)
    assert posting.state == "held"  # nothing to link to in Xero: quarantined, not stuck SENDING
    assert "XERO_VALIDATION" in open_reasons()


def test_postings_parked_by_an_auth_failure_resume_when_finance_retries_after_reconnecting():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    world.xero.expire_access_tokens()
    XeroConnection.objects.update(refresh_token="revoked", access_token_expires_at=timezone.now())
    send_due_postings()
    assert XeroConnection.objects.get().status == "paused"
    tokens = world.xero.issue_tokens()  # the operator reconnects
    connection = XeroConnection.objects.get()
    connection.access_token, connection.refresh_token = tokens["access_token"], tokens["refresh_token"]
    connection.access_token_expires_at = timezone.now() + timedelta(minutes=29)
    connection.save()
    quarantine_retry(item=QuarantineItem.objects.get(reason="AUTH", status="open"), user=finance())
    send_due_postings()

    assert len(world.xero.manual_journals) == 1 and len(world.xero.bank_transactions) == 1


def test_retry_of_a_refused_document_plans_it_again_with_the_fixed_map():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    world.xero.state.accounts["6100"].status = "ARCHIVED"  # archived after we read the organisation
    send_due_postings()
    item = QuarantineItem.objects.get(reason="XERO_VALIDATION", status="open")
    ComponentMapping.objects.filter(account_code="6100").update(account_code="6110")
    quarantine_retry(item=item, user=finance())
    send_due_postings()

    (posted,) = world.xero.manual_journals
    assert "6100" not in {line["AccountCode"] for line in posted["JournalLines"]}


def test_a_payout_paid_days_after_it_was_created_is_still_posted():
    world = build_world(days=1)
    _, _, payment = world.statements[0]
    served = world.tiktok._payments[CIPHER][payment["id"]]
    served["status"] = "PROCESSING"
    first = datetime.fromtimestamp(payment["create_time"], tz=UTC) + timedelta(hours=1)
    sync.shop_sync(shop=world.shop, until=first)
    for day in range(1, 9):
        if day == 5:
            served["status"] = "PAID"
        world.shop.refresh_from_db()
        sync.shop_sync(shop=world.shop, until=first + timedelta(days=day))
    send_due_postings()
    assert Payout.objects.get().status == "PAID"
    assert len(world.xero.bank_transactions) == 1


def test_one_unreadable_statement_is_quarantined_and_the_rest_still_post():
    world = build_world(days=3)
    first_id = world.statements[0][0]["id"]
    statement, _ = world.tiktok._statements[CIPHER][first_id]
    statement["settlement_amount"] = float(statement["settlement_amount"])
    world.tiktok.spec = None  # TikTok breaking its own description is exactly what this test is about
    resync(world)

    assert SyncRun.objects.get().status == "done"
    # the other two statements and their payouts post; the unreadable one's payout waits for it
    assert len(world.xero.manual_journals) == 2 and len(world.xero.bank_transactions) == 2
    assert open_reasons() == ["SOURCE_INCONSISTENT"]
    waiting = XeroPosting.objects.get(purpose="payout_receive", state=XeroPosting.State.WAITING)
    assert waiting.source.payment_id == world.statements[0][0]["payment_id"]


def test_a_receive_not_yet_sent_is_withdrawn_when_the_payout_fails():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    _, _, payment = world.statements[0]
    world.tiktok._payments[CIPHER][payment["id"]]["status"] = "FAILED"
    resync(world)
    set_connection(world, "active")
    send_due_postings()
    assert world.xero.bank_transactions == []
    assert XeroPosting.objects.get(kind="BankTransactions").state == "superseded"


def test_a_map_change_does_not_touch_what_is_already_posted():
    world = build_world(days=1)
    resync(world)
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").update(account_code="6110")
    resync(world)
    assert len(world.xero.manual_journals) == 1 and open_reasons() == []


def test_a_dismissed_problem_stays_dismissed_when_the_statement_is_read_again():
    world = build_world(days=1)
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    resync(world)
    quarantine_dismiss(
        item=QuarantineItem.objects.get(status="open"), user=finance(), reason="posted by hand"
    )
    resync(world)
    assert open_reasons() == []


def test_a_failed_lookup_is_never_taken_for_xero_refusing_the_document():
    world = build_world(days=1)
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    inner = transports.transport_for("xero", world.xero.tenant_id)

    class RefusedLookup(httpx.BaseTransport):
        def handle_request(self, request):
            if request.method == "GET" and "where" in request.url.params:
                return httpx.Response(400, content=b'{"Type": "QueryParseException", "Message": "bad where"}')
            return inner.handle_request(request)

    transports.install("xero", world.xero.tenant_id, RefusedLookup())
    resync(world)
    send_due_postings()
    assert journal().state == "unknown"
    assert "XERO_VALIDATION" not in open_reasons()
    transports.install("xero", world.xero.tenant_id, inner)
    XeroPosting.objects.filter(state="unknown").update(next_attempt_at=timezone.now())
    send_due_postings()
    assert journal().state == "posted" and len(world.xero.manual_journals) == 1


def test_created_with_warnings_counts_as_posted_and_is_never_sent_again():
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    posting = journal()
    lines = posting.payload["JournalLines"]
    lines += [
        {"Description": "x", "LineAmount": "5.00", "AccountCode": "9998"},
        {"Description": "y", "LineAmount": "-5.00", "AccountCode": "9999"},
    ]
    XeroPosting.objects.filter(pk=posting.pk).update(payload={**posting.payload, "JournalLines": lines})
    send_due_postings()

    assert journal().state == "posted" and len(world.xero.manual_journals) == 1
    assert open_reasons() == ["XERO_MISMATCH"]


def test_a_statement_tiktok_refuses_to_serve_is_quarantined_and_the_others_still_post():
    world = build_world(days=2)
    broken = world.statements[0][0]["id"]
    inner = transports.transport_for("tiktok", world.shop.code)

    class OneBrokenStatement(httpx.BaseTransport):
        def handle_request(self, request):
            if broken in request.url.path:
                body = {"code": 36009004, "message": "invalid statement", "request_id": "x", "data": None}
                return httpx.Response(400, content=json.dumps(body))
            return inner.handle_request(request)

    transports.install("tiktok", world.shop.code, OneBrokenStatement())
    resync(world)

    assert SyncRun.objects.get().status == "done"
    assert len(world.xero.manual_journals) == 1
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_INCONSISTENT" and broken in item.source_ref


def test_a_journal_left_unknown_by_an_unexpected_error_is_looked_up_at_the_next_sweep(monkeypatch):
    from reconciliation.services import posting as posting_module

    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    real_outcome = posting_module.element_outcome

    def broken_once(*args, **kwargs):
        monkeypatch.setattr(posting_module, "element_outcome", real_outcome)
        raise RuntimeError("a bug while recording an outcome")

    monkeypatch.setattr(posting_module, "element_outcome", broken_once)
    with pytest.raises(RuntimeError):
        send_due_postings()
    journal = XeroPosting.objects.get(kind="ManualJournals")
    assert journal.state == "unknown" and journal.next_attempt_at is not None

    send_due_postings()

    journal.refresh_from_db()
    assert journal.state == "posted" and len(world.xero.manual_journals) == 1
