"""The finance queue (issue 7, item 5): what finance reads first in the list, filters by reason,
shop, age and amount, decisions (approve re-dated, retry, post as draft, dismiss with a reason) in
bulk with one summary, each recorded with who, when and why; email to Finance on new items (or a
daily digest) and to administrators when a Xero connection's authorisation fails."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, SyncRun, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.schedules import DIGEST, schedules_ensure
from reconciliation.services import quarantine
from reconciliation.services.notifications import quarantine_email_send
from reconciliation.services.outbox import idempotency_key
from reconciliation.services.quarantine import quarantine_approve
from reconciliation.tasks import send_due_postings
from tests.reconciliation.small_statement import serve
from tests.reconciliation.test_honest_actions import act, member
from tests.reconciliation.test_lock_dates import NOV, locked_after_reading, open_lock_item
from tests.reconciliation.test_outbox_safety import resync, set_connection
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "admin:reconciliation_quarantineitem_changelist"


def locked_world(monkeypatch):
    """A statement dated 20 Nov and its payout's RECEIVE, both refused: Xero locked the period."""
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    return world


def queue(client, **filters) -> str:
    return client.get(reverse(QUEUE), filters).content.decode()


def test_the_list_shows_reason_what_is_held_amount_shop_age_and_proposed_date(client, monkeypatch):
    world = locked_world(monkeypatch)
    member(client, "Finance")
    item = open_lock_item()
    statement = item.source

    page = queue(client)

    assert Reason.LOCK_DATE.label in page and "LOCK_DATE<" not in page
    link = reverse("admin:reconciliation_statement_change", args=[statement.pk])
    assert f'<a href="{link}">{item.source_ref}</a>' in page
    assert f"{statement.settlement_amount:,.2f} {statement.currency}" in page  # the money it holds
    assert (
        f'<td class="field-shop_code"><span style="white-space: nowrap">{world.shop.code}</span></td>' in page
    )
    assert '<td class="field-age">today</td>' in page
    assert "2026-11-23" in page  # the proposed date: the day after the later lock date


def test_age_is_counted_in_days_and_filtered_by_bucket(client, monkeypatch):
    locked_world(monkeypatch)
    member(client, "Finance")
    item = open_lock_item()
    QuarantineItem.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(days=10))

    assert '<td class="field-age">10 days</td>' in queue(client)
    assert item.source_ref in queue(client, older_than="week")
    assert item.source_ref not in queue(client, older_than="month")
    assert item.source_ref not in queue(client, older_than="today")


def test_amount_buckets_filter_by_the_money_held(client, monkeypatch):
    locked_world(monkeypatch)
    member(client, "Finance")
    item = open_lock_item()
    amount = abs(item.source.settlement_amount)
    assert amount < 100  # the small statement

    assert item.source_ref in queue(client, amount="lt100")
    assert item.source_ref not in queue(client, amount="1000")
    assert item.source_ref not in queue(client, amount="none")


def test_approve_offers_the_first_open_day_after_the_lock_dates(client, monkeypatch):
    locked_world(monkeypatch)
    member(client, "Finance")
    item = open_lock_item()

    page = client.get(reverse("admin:reconciliation_quarantineitem_decide", args=[item.pk, "approve"]))

    assert 'value="2026-11-23"' in page.content.decode()


def test_post_as_draft_sends_the_journal_as_a_draft_and_records_who_and_why(client, monkeypatch):
    world = locked_world(monkeypatch)
    user = member(client, "Finance")
    item = open_lock_item()

    ((level, text),) = act(client, "post_as_draft", [item])

    (journal,) = world.xero.manual_journals  # Xero keeps drafts out of its lock dates
    assert journal["Status"] == "DRAFT"
    assert level == "success" and "in Xero as a draft" in text and "review and approve it there" in text
    item.refresh_from_db()
    assert item.status == QuarantineItem.Status.RESOLVED
    assert item.decided_by == user and item.decided_at is not None and "draft" in item.decision_note
    assert item.details["decisions"][-1]["decision"] == "draft"
    page = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[item.pk])).content.decode()
    assert "sent as a draft for review in Xero" in page and ">finance<" in page


def test_a_bank_transaction_cannot_go_as_a_draft_and_is_not_offered_it(client, monkeypatch):
    locked_world(monkeypatch)
    user = member(client, "Finance")
    quarantine_approve(item=open_lock_item(), user=user)  # the journal posts; the RECEIVE (22 Nov) is locked
    receive = QuarantineItem.objects.get(reason="LOCK_DATE", status="open", posting__kind="BankTransactions")

    ((level, text),) = act(client, "post_as_draft", [receive])

    assert level == "error" and "Xero has no draft bank transaction" in text
    assert QuarantineItem.objects.get(pk=receive.pk).status == QuarantineItem.Status.OPEN
    assert XeroPosting.objects.get(pk=receive.posting_id).state == XeroPosting.State.HELD
    page = client.get(
        reverse("admin:reconciliation_quarantineitem_change", args=[receive.pk])
    ).content.decode()
    assert "Post as draft" not in page and "Approve and re-date" in page


def test_a_bulk_dismiss_needs_a_reason(client, monkeypatch):
    world = locked_world(monkeypatch)
    member(client, "Finance")
    QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=world.shop, source_ref="old", message="x"
    )
    items = list(QuarantineItem.objects.filter(status="open"))
    chosen = {"action": "dismiss", "_selected_action": [i.pk for i in items], "index": "0"}

    response = client.post(reverse(QUEUE), {**chosen, "apply": "yes", "reason": "  "})

    assert "This field is required" in response.content.decode()
    assert QuarantineItem.objects.filter(status="open").count() == len(items) == 2


def test_a_bulk_decision_ends_in_one_summary_and_each_decision_is_in_the_history(client, monkeypatch):
    world = locked_world(monkeypatch)
    user = member(client, "Finance")
    extra = [
        QuarantineItem.objects.create(
            reason=Reason.UNMAPPED_COMPONENT, shop=world.shop, source_ref=f"an old record {n}", message="x"
        )
        for n in range(6)
    ]

    found = act(client, "dismiss", extra, reason="posted by hand in Xero")

    assert found == [("success", "Dismiss, 6 items: 6 dismissed.")]
    for item in QuarantineItem.objects.filter(pk__in=[i.pk for i in extra]):
        assert item.status == "dismissed" and item.decided_by == user
        assert item.details["decisions"] == [
            {
                "decision": "dismiss",
                "by": "finance",
                "at": item.decided_at.isoformat(),
                "note": "posted by hand in Xero",
            }
        ]


def finance_with_email() -> User:
    user = User.objects.create_user("fay", email="fay@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    return user


def test_finance_is_emailed_about_new_items_with_their_money(monkeypatch):
    finance_with_email()
    User.objects.create_user("nomail", is_staff=True)  # not Finance, no address: not written to

    locked_world(monkeypatch)

    (message,) = [m for m in mail.outbox if "held for finance" in m.subject]
    assert message.to == ["fay@example.com"] and message.subject == "LedgerSync: 1 item held for finance"
    item = open_lock_item()
    assert Reason.LOCK_DATE.label in message.body and item.source_ref in message.body
    assert f"{item.source.settlement_amount:,.2f} {item.source.currency}" in message.body
    assert reverse("admin:reconciliation_quarantineitem_change", args=[item.pk]) in message.body


def test_an_item_found_again_by_the_next_sync_is_not_emailed_again(monkeypatch):
    finance_with_email()
    world = locked_world(monkeypatch)
    held = [m for m in mail.outbox if "held for finance" in m.subject]
    extra = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=world.shop, source_ref="another statement", message="x"
    )

    resync(world)  # reads the held statement again: the same open item, and no new email...
    assert [m for m in mail.outbox if "held for finance" in m.subject] == held
    assert quarantine_email_send() == 1  # ...until the next one, which carries only what is new

    (*_, last) = mail.outbox
    assert last.subject == "LedgerSync: 1 item held for finance" and extra.source_ref in last.body
    assert open_lock_item().source_ref not in last.body


def test_with_a_digest_finance_gets_one_email_a_day(monkeypatch, settings):
    settings.QUARANTINE_EMAIL_DIGEST = True
    finance_with_email()
    locked_world(monkeypatch)
    assert [m for m in mail.outbox if "held for finance" in m.subject] == []

    schedules_ensure()
    assert Schedule.objects.get(name=DIGEST).func == "reconciliation.tasks.send_quarantine_email"
    assert quarantine_email_send() == 1
    assert mail.outbox[-1].subject == "LedgerSync: 1 item held for finance"
    assert quarantine_email_send() == 0  # each item once

    settings.QUARANTINE_EMAIL_DIGEST = False
    schedules_ensure()
    assert not Schedule.objects.filter(name=DIGEST).exists()


def test_administrators_are_emailed_once_when_a_connection_is_paused():
    User.objects.create_superuser("root", email="root@example.com", password="x")
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    world.xero.expire_access_tokens()
    XeroConnection.objects.update(refresh_token="revoked", access_token_expires_at=timezone.now())

    send_due_postings()
    send_due_postings()  # still paused: no second email

    paused = [m for m in mail.outbox if "needs to be reconnected" in m.subject]
    assert len(paused) == 1 and paused[0].to == ["root@example.com"]
    assert XeroConnection.objects.get().name in paused[0].subject
    assert "reconnected" in paused[0].body


def test_administrators_are_emailed_once_when_tiktok_refuses_a_shops_authorisation():
    User.objects.create_superuser("root", email="root@example.com", password="x")
    world = build_world(days=1)
    world.tiktok.access_token = "a token the shop does not have"  # the seller revoked the app

    resync(world)
    resync(world)  # fails the same way: no second email

    runs = list(SyncRun.objects.filter(shop=world.shop).order_by("id").values_list("status", flat=True))
    assert runs[-2:] == [SyncRun.Status.FAILED, SyncRun.Status.FAILED]
    (refused,) = [m for m in mail.outbox if "authorised again" in m.subject]
    assert refused.to == ["root@example.com"] and world.shop.code in refused.subject


def refused_invoice(shop) -> QuarantineItem:
    """An invoice Xero refused for validation (made by hand: the outbox's rows, not a plan)."""
    payload = {"Type": "ACCREC", "InvoiceNumber": "TT-1", "Status": "AUTHORISED", "LineItems": []}
    invoice = XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        kind=XeroPosting.Kind.INVOICE,
        source=shop,  # an order in real life; any row will do for this decision
        source_ref="order 1",
        purpose="order_invoice",
        lookup_reference="InvoiceNumber=TT-1",
        idempotency_key=idempotency_key("order_invoice", payload),
        payload=payload,
        document_date=NOV[20],
        state=XeroPosting.State.HELD,
        last_error_kind=Reason.XERO_VALIDATION,
    )
    return QuarantineItem.objects.create(
        reason=Reason.XERO_VALIDATION, shop=shop, posting=invoice, source_ref="order 1", message="no lines"
    )


def test_an_invoice_goes_as_a_draft_under_a_new_key_unless_a_payment_waits_for_it(monkeypatch):
    world = build_world(days=0)
    sent: list[int] = []
    monkeypatch.setattr(quarantine, "async_task", lambda name, pk, **kw: sent.append(pk))
    user = User.objects.create_user("fin", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    item = refused_invoice(world.shop)
    old_key = item.posting.idempotency_key
    payment = XeroPosting.objects.create(
        connection=world.shop.xero_connection,
        shop=world.shop,
        kind=XeroPosting.Kind.PAYMENT,
        source=world.shop,
        source_ref="order 1 payment",
        purpose="order_payment",
        lookup_reference="Reference=order 1",
        idempotency_key="ls:order_payment:x:0",
        payload={"Amount": "10.00"},
        document_date=NOV[20],
        state=XeroPosting.State.WAITING,
        depends_on=item.posting,
    )

    with pytest.raises(ValidationError, match="Xero cannot apply it to a draft"):
        quarantine.quarantine_post_as_draft(item=item, user=user)
    XeroPosting.objects.filter(pk=payment.pk).update(state=XeroPosting.State.DISMISSED)
    quarantine.quarantine_post_as_draft(item=item, user=user)

    invoice = XeroPosting.objects.get(pk=item.posting_id)
    assert invoice.payload["Status"] == "DRAFT" and invoice.state == XeroPosting.State.READY
    assert invoice.idempotency_key != old_key and sent == [invoice.pk]
    assert QuarantineItem.objects.get(pk=item.pk).status == QuarantineItem.Status.APPROVED
