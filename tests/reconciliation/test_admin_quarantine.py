"""The finance queue in the admin: only Finance decides, every decision goes through the services."""

from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, User
from django.urls import reverse

from reconciliation.models import QuarantineItem, Shop, Statement, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.outbox import idempotency_key

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reconciliation_quarantineitem_changelist"
ORIGINAL_DATE = date(2025, 10, 20)
PROPOSED_DATE = date(2025, 11, 1)  # the day after the period lock date


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]


def staff(name: str, group: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def finance(client):
    user = staff("fiona", "Finance")
    client.force_login(user)
    return user


@pytest.fixture
def operations(client):
    user = staff("otto", "Operations")
    client.force_login(user)
    return user


@pytest.fixture
def shop():
    xero = XeroConnection.objects.create(name="Demo org", tenant_id="tenant-1")
    return Shop.objects.create(
        channel="tiktok",
        code="tt-uk",
        name="Demo UK",
        region="GB",
        currency="GBP",
        clearing_account="1210",
        line_amount_types="Inclusive",  # a UK shop posting VAT: the approve page warns about it
        xero_connection=xero,
    )


def held_journal(shop: Shop, statement_id: str = "S1") -> XeroPosting:
    payload = {
        "Narration": f"TikTok tt-uk statement {statement_id}",
        "Date": ORIGINAL_DATE.isoformat(),
        "LineAmountTypes": "Inclusive",
        "JournalLines": [
            {"AccountCode": "4000", "LineAmount": "-10.00"},
            {"AccountCode": "1210", "LineAmount": "10.00"},
        ],
    }
    statement = Statement.objects.create(
        shop=shop,
        statement_id=statement_id,
        statement_date=ORIGINAL_DATE,
        currency="GBP",
        settlement_amount="10.00",
        content_hash=f"hash-{statement_id}",
    )
    return XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        source=statement,
        kind=XeroPosting.Kind.MANUAL_JOURNAL,
        source_ref=f"tt-uk statement {statement_id}",
        purpose="statement_journal",
        lookup_reference=f"Narration={payload['Narration']}",
        idempotency_key=idempotency_key("statement_journal", payload),
        payload=payload,
        document_date=ORIGINAL_DATE,
        state=XeroPosting.State.HELD,
    )


@pytest.fixture
def lock_date_item(shop):
    posting = held_journal(shop)
    return QuarantineItem.objects.create(
        reason=Reason.LOCK_DATE,
        shop=shop,
        posting=posting,
        source_ref=posting.source_ref,
        message="The document date cannot be before the period lock date, currently set at 31-Oct-2025",
        details={"document": posting.payload, "xero_messages": ["period lock date"]},
        proposed_date=PROPOSED_DATE,
    )


def run_action(client, action: str, items, **form):
    """The two steps a browser makes: choose the action, then submit its intermediate page (if any)."""
    ids = [item.pk for item in items]
    first = client.post(reverse(CHANGELIST), {"action": action, "_selected_action": ids, "index": "0"})
    if first.status_code != 200:
        return first
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": ids, "apply": "yes", **form}, follow=True
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def test_approve_shows_the_vat_warning_then_redates_the_document_and_makes_it_ready(
    client, finance, lock_date_item
):
    page = client.post(
        reverse(CHANGELIST), {"action": "approve", "_selected_action": [lock_date_item.pk], "index": "0"}
    )
    assert page.status_code == 200
    assert "The VAT period changes." in page.content.decode()
    assert lock_date_item.posting.state == XeroPosting.State.HELD  # nothing happens before confirming

    response = run_action(client, "approve", [lock_date_item], document_date="")

    queued = (
        f"#{lock_date_item.pk} {Reason.LOCK_DATE.label}: tt-uk statement S1: queued: sends within 300 seconds"
    )
    assert messages_of(response) == [("success", queued)]
    posting = XeroPosting.objects.get(pk=lock_date_item.posting_id)
    assert posting.state == XeroPosting.State.READY
    assert posting.payload["Date"] == "2025-11-01"
    assert posting.document_date == PROPOSED_DATE
    assert posting.original_date == ORIGINAL_DATE
    assert posting.payload["Narration"].endswith("(original date 2025-10-20)")
    assert posting.idempotency_key != lock_date_item.posting.idempotency_key
    item = QuarantineItem.objects.get(pk=lock_date_item.pk)
    assert item.status == QuarantineItem.Status.APPROVED
    assert item.decided_by == finance


def test_approve_on_a_later_date_that_finance_enters(client, finance, lock_date_item):
    run_action(client, "approve", [lock_date_item], document_date="2025-11-05")

    posting = XeroPosting.objects.get(pk=lock_date_item.posting_id)
    assert posting.payload["Date"] == "2025-11-05"
    assert posting.state == XeroPosting.State.READY


def test_approve_inside_the_locked_period_is_reported_and_changes_nothing(client, finance, lock_date_item):
    response = run_action(client, "approve", [lock_date_item], document_date="2025-10-25")

    assert response.status_code == 200
    (level, text), *_ = messages_of(response)
    assert level == "error"
    assert "still inside the locked period" in text
    assert XeroPosting.objects.get(pk=lock_date_item.posting_id).state == XeroPosting.State.HELD
    assert QuarantineItem.objects.get(pk=lock_date_item.pk).status == QuarantineItem.Status.OPEN


def test_one_refused_item_does_not_stop_the_others(client, finance, shop, lock_date_item):
    unmapped = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=shop, source_ref="tt-uk statement S2", message="fee.x"
    )

    response = run_action(client, "approve", [lock_date_item, unmapped], document_date="")

    found = messages_of(response)
    assert any(
        level == "success" and text.endswith("queued: sends within 300 seconds") for level, text in found
    )
    assert any(level == "error" and "only lock-date items" in text for level, text in found)
    assert QuarantineItem.objects.get(pk=unmapped.pk).status == QuarantineItem.Status.OPEN


def test_operations_does_not_see_the_actions_and_a_forged_post_changes_nothing(
    client, operations, lock_date_item
):
    changelist = client.get(reverse(CHANGELIST))
    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None  # no action at all is left for Operations
    assert b"Approve selected" not in changelist.content

    for action, form in [
        ("approve", {"document_date": ""}),
        ("dismiss", {"reason": "forged"}),
        ("retry", {}),
    ]:
        client.post(
            reverse(CHANGELIST),
            {"action": action, "_selected_action": [lock_date_item.pk], "apply": "yes", **form},
        )
        client.post(
            reverse(CHANGELIST), {"action": action, "_selected_action": [lock_date_item.pk], "index": "0"}
        )

    item = QuarantineItem.objects.get(pk=lock_date_item.pk)
    assert (item.status, item.decided_by) == (QuarantineItem.Status.OPEN, None)
    assert XeroPosting.objects.get(pk=lock_date_item.posting_id).state == XeroPosting.State.HELD


def test_operations_cannot_open_the_decision_pages(client, operations, lock_date_item):
    for decision in ("approve", "retry", "dismiss"):
        page = reverse("admin:reconciliation_quarantineitem_decide", args=[lock_date_item.pk, decision])
        assert client.get(page).status_code == 403
        assert client.post(page, {"reason": "forged", "apply": "yes"}).status_code == 403
    assert QuarantineItem.objects.get(pk=lock_date_item.pk).status == QuarantineItem.Status.OPEN


def test_dismiss_without_a_reason_is_refused(client, finance, lock_date_item):
    response = run_action(client, "dismiss", [lock_date_item], reason="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert QuarantineItem.objects.get(pk=lock_date_item.pk).status == QuarantineItem.Status.OPEN


def test_dismiss_with_a_reason_records_who_and_why(client, finance, lock_date_item):
    response = run_action(client, "dismiss", [lock_date_item], reason="Posted by hand in Xero as MJ-1042")

    assert [text.split(": ", 2)[-1] for _, text in messages_of(response)] == [
        "dismissed: it will not be posted"
    ]
    item = QuarantineItem.objects.get(pk=lock_date_item.pk)
    assert item.status == QuarantineItem.Status.DISMISSED
    assert item.decision_note == "Posted by hand in Xero as MJ-1042"
    assert item.decided_by == finance and item.decided_at is not None
    assert XeroPosting.objects.get(pk=lock_date_item.posting_id).state == XeroPosting.State.DISMISSED


def test_retry_sends_a_refused_document_again_under_a_new_key(client, finance, shop):
    posting = held_journal(shop)
    item = QuarantineItem.objects.create(
        reason=Reason.XERO_VALIDATION,
        shop=shop,
        posting=posting,
        source_ref=posting.source_ref,
        message="Account code '4000' is not valid",
    )

    response = client.post(
        reverse(CHANGELIST), {"action": "retry", "_selected_action": [item.pk], "index": "0"}, follow=True
    )

    ((level, text),) = messages_of(response)
    assert level == "success" and text.endswith(": queued: sends within 300 seconds")
    posting.refresh_from_db()
    assert posting.state == XeroPosting.State.READY
    assert posting.idempotency_key.endswith(":1")
    assert QuarantineItem.objects.get(pk=item.pk).decided_by == finance


def test_a_decided_item_is_not_decided_twice(client, finance, lock_date_item):
    run_action(client, "dismiss", [lock_date_item], reason="duplicate of S0")

    page = reverse("admin:reconciliation_quarantineitem_decide", args=[lock_date_item.pk, "retry"])
    response = client.post(page, {"apply": "yes"}, follow=True)

    assert any(level == "error" and "already dismissed" in text for level, text in messages_of(response))
    assert QuarantineItem.objects.get(pk=lock_date_item.pk).decision_note == "duplicate of S0"


def test_item_page_shows_the_planned_document_and_decision_links_for_finance(client, finance, lock_date_item):
    page = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[lock_date_item.pk]))

    html = page.content.decode()
    assert "&quot;LineAmountTypes&quot;: &quot;Inclusive&quot;" in html  # details, pretty-printed
    approve = reverse("admin:reconciliation_quarantineitem_decide", args=[lock_date_item.pk, "approve"])
    assert approve in html
    assert 'name="_save"' not in html  # nothing is edited directly


def test_approve_from_the_item_page(client, finance, lock_date_item):
    page = reverse("admin:reconciliation_quarantineitem_decide", args=[lock_date_item.pk, "approve"])
    assert "The VAT period changes." in client.get(page).content.decode()

    response = client.post(page, {"document_date": "", "apply": "yes"})

    assert response.status_code == 302
    assert XeroPosting.objects.get(pk=lock_date_item.posting_id).payload["Date"] == "2025-11-01"


def test_auditor_sees_no_decision_links(client, lock_date_item):
    client.force_login(staff("audrey", "Auditor"))

    html = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[lock_date_item.pk])).content
    assert b"/decide/" not in html


def test_finance_sees_the_three_actions(client, finance, lock_date_item):
    changelist = client.get(reverse(CHANGELIST))

    choices = {name for name, _label in changelist.context["action_form"].fields["action"].choices}
    assert {"approve", "retry", "dismiss"} <= choices
    assert "delete_selected" not in choices


def unmapped_item(shop: Shop) -> QuarantineItem:
    """A statement held for a line with no account: nothing planned, so no document to draft."""
    statement = Statement.objects.create(
        shop=shop, statement_id="S9", statement_date=ORIGINAL_DATE, currency="GBP", content_hash="hash-S9"
    )
    return QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT,
        shop=shop,
        source=statement,
        source_ref="tt-uk statement S9",
        message="fee.new_fee_amount has no account",
    )


@pytest.mark.parametrize(
    "decision, refusal",
    [
        ("draft", "nothing is planned for this item yet: fix its cause and retry"),
        ("approve", "only lock-date items with a planned document can be approved; use Retry"),
    ],
)
def test_a_decision_the_item_does_not_offer_is_refused_up_front_with_the_services_reason(
    client, finance, shop, decision, refusal
):
    item = unmapped_item(shop)

    page = client.get(reverse("admin:reconciliation_quarantineitem_decide", args=[item.pk, decision]))

    html = page.content.decode()
    assert refusal in html
    assert 'name="apply"' not in html  # nothing to confirm
    assert f'href="{reverse("admin:reconciliation_quarantineitem_change", args=[item.pk])}"' in html


def test_a_decided_items_decision_page_says_it_is_already_decided(client, finance, lock_date_item):
    run_action(client, "dismiss", [lock_date_item], reason="duplicate of S0")

    for decision in ("retry", "dismiss"):
        page = client.get(
            reverse("admin:reconciliation_quarantineitem_decide", args=[lock_date_item.pk, decision])
        )
        html = page.content.decode()
        assert "this item is already dismissed" in html and 'name="apply"' not in html
