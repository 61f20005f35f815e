"""Honest actions (issue 7, item 4): every decision reports what will actually happen, a retry
resolves nothing it did not fix, counters agree with the audit rows, warnings only where they apply,
and no role is offered a button it cannot use."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import ComponentMapping, QuarantineItem, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services import quarantine
from reconciliation.services.posting import posting_send
from reconciliation.tasks import send_due_postings
from tests.reconciliation.small_statement import serve
from tests.reconciliation.test_lock_dates import NOV, locked_after_reading, open_lock_item
from tests.reconciliation.test_outbox_attempts import journal, planned_only
from tests.reconciliation.test_outbox_safety import resync, set_connection
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "admin:reconciliation_quarantineitem_changelist"


def member(client, group: str) -> User:
    user = User.objects.create_user(group.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def act(client, action: str, items, **form) -> list[tuple[str, str]]:
    """Choose the action on the finance queue (and confirm its page, if it has one): its messages."""
    chosen = {"action": action, "_selected_action": [item.pk for item in items], "index": "0"}
    response = client.post(reverse(QUEUE), chosen, follow=True)
    if "decision" in (response.context or {}):  # an intermediate page: confirm it
        response = client.post(reverse(QUEUE), {**chosen, "apply": "yes", **form}, follow=True)
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def unmapped_world():
    world = build_world(days=1)
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    return world


def test_a_retry_that_fixed_nothing_keeps_the_same_item_open_and_says_still_held(client):
    unmapped_world()
    user = member(client, "Finance")
    item = QuarantineItem.objects.get(reason=Reason.UNMAPPED_COMPONENT)

    ((level, text),) = act(client, "retry", [item])

    assert level == "warning"
    assert f"still held: {Reason.UNMAPPED_COMPONENT.label}: " in text and "fee.transaction_fee_amount" in text
    assert "Retried" not in text and "resolved" not in text
    (same,) = QuarantineItem.objects.filter(reason=Reason.UNMAPPED_COMPONENT)  # no new item opened
    assert same.pk == item.pk and same.status == QuarantineItem.Status.OPEN
    assert same.decided_by == user and same.decided_at is not None
    assert same.details["retries"][0]["by"] == "finance" and "retry by finance" in same.decision_note
    assert "fee.transaction_fee_amount" in same.details["problems"][0]["message"]  # today's problem


def test_a_retry_after_the_fix_resolves_the_item_and_says_what_is_queued(client):
    world = unmapped_world()
    member(client, "Finance")
    item = QuarantineItem.objects.get(reason=Reason.UNMAPPED_COMPONENT)
    act(client, "retry", [item])  # nothing fixed yet: still held, noted
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )

    ((level, text),) = act(client, "retry", [item])

    assert level == "success" and "resolved; " in text and "queued: sends within 300 seconds" in text
    item.refresh_from_db()
    assert item.status == QuarantineItem.Status.RESOLVED and len(item.details["retries"]) == 2
    assert not QuarantineItem.objects.filter(status="open").exists()
    send_due_postings()
    assert len(world.xero.manual_journals) == 1


def refused_world():
    """The journal is refused by Xero: an account was archived after the organisation was read."""
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    world.xero.state.accounts["6100"].status = "ARCHIVED"
    send_due_postings()
    return world, QuarantineItem.objects.get(reason=Reason.XERO_VALIDATION, status="open")


def test_a_retry_xero_refuses_again_reopens_the_same_item_and_says_refused_again(client):
    world, item = refused_world()
    member(client, "Finance")

    ((level, text),) = act(client, "retry", [item])  # the map still names the archived account

    assert level == "warning" and "refused again by Xero: " in text and "6100" in text
    (same,) = QuarantineItem.objects.filter(reason=Reason.XERO_VALIDATION)  # no second item
    assert same.pk == item.pk and same.status == QuarantineItem.Status.OPEN
    assert same.posting_id == journal().pk != item.posting_id  # it follows the document sent again
    assert (
        f"posting #{item.posting_id} set aside, #{journal().pk} sent instead"
        in same.details["retries"][0]["did"]
    )
    assert world.xero.manual_journals == []

    ComponentMapping.objects.filter(account_code="6100").update(account_code="6110")
    ((level, text),) = act(client, "retry", [same])

    assert level == "success" and text.endswith(f"posted to Xero as id {journal().xero_id}")
    assert QuarantineItem.objects.get(pk=item.pk).status == QuarantineItem.Status.RESOLVED
    assert len(world.xero.manual_journals) == 1


def test_approving_a_date_locked_meanwhile_says_nothing_is_sent(client, monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = open_lock_item()
    world.xero.set_lock_dates(period=NOV[24], end_of_year=NOV[20])  # moved on in Xero meanwhile
    member(client, "Finance")

    found = act(client, "approve", [item], document_date="")

    ((level, text),) = found
    assert level == "warning" and "nothing to send: held again: " in text and "still locked" in text
    assert f"see item #{open_lock_item().pk}" in text
    assert not any("Approved" in message for _, message in found)
    assert world.xero.manual_journals == []


def test_a_bulk_retry_counts_what_really_happened(client, monkeypatch):
    world, refused = refused_world()
    ComponentMapping.objects.filter(account_code="6100").update(account_code="6110")
    sent: list[int] = []
    monkeypatch.setattr(quarantine, "async_task", lambda name, pk, **kw: sent.append(pk))  # no worker yet
    nowhere = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=world.shop, source_ref="a record no longer read", message="x"
    )
    member(client, "Finance")

    found = act(client, "retry", [refused, nowhere])

    assert ("warning", "Retry, 2 items: 1 still held, 1 queued.") in found  # newest item first
    assert sent == [journal().pk]
    assert QuarantineItem.objects.get(pk=nowhere.pk).status == QuarantineItem.Status.OPEN


def test_http_attempts_shown_are_the_attempt_rows_not_the_claims(client):
    world = build_world(days=1)
    planned_only(world)
    world.xero.faults.next("rate_limit", count=2, method="PUT", path_prefix="/ManualJournals")
    posting_send(posting_id=journal().pk)  # one claim, three PUTs (two answered 429)
    assert journal().attempts == 1 and journal().http_attempts.count() == 3
    member(client, "Auditor")

    changelist = client.get(reverse("admin:reconciliation_xeroposting_changelist"))
    page = client.get(reverse("admin:reconciliation_xeroposting_change", args=[journal().pk]))

    shown = {row.pk: row.http_attempt_count for row in changelist.context["cl"].result_list}
    assert shown[journal().pk] == 3
    assert "HTTP attempts" in changelist.content.decode()
    html = page.content.decode()
    assert "HTTP attempts" in html and '<div class="readonly">3</div>' in html


def test_a_posting_that_posts_keeps_no_stale_error():
    world = build_world(days=1)
    planned_only(world)
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    posting_send(posting_id=journal().pk)
    assert journal().state == "unknown" and journal().last_error_kind
    XeroPosting.objects.filter(pk=journal().pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    send_due_postings()  # looked up: Xero has it

    posted = journal()
    assert posted.state == "posted" and len(world.xero.manual_journals) == 1
    assert (posted.last_error, posted.last_error_kind, posted.next_attempt_at) == ("", "", None)


def test_a_no_tax_shop_gets_no_vat_warning(client, monkeypatch):
    world = build_world(days=0, start=NOV[20])
    assert world.shop.line_amount_types == "NoTax"
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = open_lock_item()
    member(client, "Finance")

    page = client.get(reverse("admin:reconciliation_quarantineitem_decide", args=[item.pk, "approve"]))

    assert "Proposed date 2026-11-23" in item.message and "VAT" not in item.message
    html = page.content.decode()
    assert "VAT" not in html and "The posting date changes." in html


@pytest.mark.parametrize("role", ["Operations", "Auditor"])
def test_roles_that_cannot_decide_are_offered_no_decision(client, role):
    unmapped_world()
    item = QuarantineItem.objects.get(reason=Reason.UNMAPPED_COMPONENT)
    member(client, role)

    html = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[item.pk])).content.decode()
    changelist = client.get(reverse(QUEUE))

    assert "/decide/" not in html and "Retry…</a>" not in html and "Dismiss…</a>" not in html
    assert changelist.context["action_form"] is None


def test_finance_is_offered_only_the_decisions_an_item_allows(client):
    world, item = refused_world()
    member(client, "Finance")
    mismatch = QuarantineItem.objects.create(
        reason=Reason.XERO_MISMATCH, shop=world.shop, posting=journal(), source_ref="j", message="totals"
    )

    def offered(which):
        html = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[which.pk])).content
        return {d for d in ("approve", "retry", "dismiss") if f"/decide/{d}/" in html.decode()}

    assert offered(item) == {"retry", "dismiss"}
    assert offered(mismatch) == {"dismiss"}  # already in Xero: a retry is always refused


def test_a_retry_after_reconnecting_says_the_connection_posts_again(client):
    world = build_world(days=1)
    set_connection(world, "paused")
    resync(world)
    set_connection(world, "active")
    world.xero.expire_access_tokens()
    XeroConnection.objects.update(refresh_token="revoked", access_token_expires_at=timezone.now())
    send_due_postings()
    tokens = world.xero.issue_tokens()  # the operator reconnects
    connection = XeroConnection.objects.get()
    connection.access_token, connection.refresh_token = tokens["access_token"], tokens["refresh_token"]
    connection.access_token_expires_at = timezone.now() + timedelta(minutes=29)
    connection.save()
    member(client, "Finance")

    ((level, text),) = act(client, "retry", [QuarantineItem.objects.get(reason=Reason.AUTH, status="open")])

    assert level == "success"
    assert text.endswith("resolved: the connection posts again; what waited for it sends within 300 seconds")
    assert XeroConnection.objects.get().status == "active"
