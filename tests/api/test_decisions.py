"""Approve, retry, post as draft and dismiss through the API: Finance only, the same services as the admin, and an
answer that says what actually happened."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services import quarantine
from reconciliation.services.decision_outcomes import QUEUED, posting_outcome
from tests.api.conftest import ORIGINAL_DATE, journal_of, lock_date_item_of, statement_of

pytestmark = pytest.mark.django_db
DECISIONS = {"approve": {}, "retry": {}, "draft": {}, "dismiss": {"reason": "posted by hand"}}


@pytest.fixture
def queued(monkeypatch):
    """The tasks a decision queues after it commits (django-q2's async_task), in order."""
    calls: list[tuple] = []
    monkeypatch.setattr(quarantine, "async_task", lambda name, *args, **kw: calls.append((name, *args)))
    return calls


def url(item: QuarantineItem, decision: str) -> str:
    return f"/api/exceptions/{item.pk}/{decision}/"


@pytest.mark.parametrize("decision", DECISIONS)
@pytest.mark.parametrize("role", ["Auditor", "Operations", None])
def test_only_finance_decides(as_role, world, queued, role, decision):
    response = as_role(role).post(url(world["item"], decision), DECISIONS[decision], format="json")

    assert response.status_code == 403
    item = QuarantineItem.objects.get(pk=world["item"].pk)
    assert item.status == "open" and item.decided_by is None
    assert XeroPosting.objects.get(pk=world["journal"].pk).state == "held" and queued == []


@pytest.mark.parametrize("decision", DECISIONS)
def test_anonymous_gets_401(as_role, world, decision):
    assert as_role("anonymous").post(url(world["item"], decision), {}).status_code == 401


# What the document is sent as: approve re-dates it to the proposed date; a draft keeps its date
# (Xero keeps drafts out of the lock dates) and goes as DRAFT.
SENT = {"approve": {"Date": "2025-11-01"}, "draft": {"Date": "2025-10-20", "Status": "DRAFT"}}
NOTED = {"approve": " (original date 2025-10-20)", "draft": ""}  # what the narration says of the date
ADMIN_ACTION = {"approve": {"action": "approve", "document_date": ""}, "draft": {"action": "post_as_draft"}}


@pytest.mark.parametrize("decision", SENT)
def test_finance_approves_or_posts_as_draft_and_the_answer_says_it_is_queued(
    as_role, world, queued, django_capture_on_commit_callbacks, decision
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_role("Finance").post(url(world["item"], decision), {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["item"]["status"] == "approved" and body["item"]["decided_by"] == "finance"
    assert body["posting_state"] == "ready"
    assert body["message"] == f"item approved; manual journal {QUEUED}"
    posting = XeroPosting.objects.get(pk=world["journal"].pk)
    assert SENT[decision].items() <= posting.payload.items()
    assert posting.original_date == {"approve": ORIGINAL_DATE, "draft": None}[decision]
    assert queued == [("reconciliation.tasks.send_posting", posting.pk)]


@pytest.mark.parametrize("decision", SENT)
def test_a_decision_through_the_api_queues_exactly_what_the_admin_queues(
    client, as_role, shop, queued, django_capture_on_commit_callbacks, decision
):
    by_admin = lock_date_item_of(journal_of(shop, statement_of(shop, "S1", ORIGINAL_DATE, "10.00"), "10.00"))
    by_api = lock_date_item_of(journal_of(shop, statement_of(shop, "S2", ORIGINAL_DATE, "10.00"), "10.00"))
    client.force_login(User.objects.create_user("fiona", password="x", is_staff=True))
    User.objects.get(username="fiona").groups.add(Group.objects.get(name="Finance"))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:reconciliation_quarantineitem_changelist"),
            {**ADMIN_ACTION[decision], "_selected_action": [by_admin.pk], "apply": "yes"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        as_role("Finance").post(url(by_api, decision), {}, format="json")

    admin_posting, api_posting = (XeroPosting.objects.get(pk=i.posting_id) for i in (by_admin, by_api))
    assert queued == [
        ("reconciliation.tasks.send_posting", admin_posting.pk),
        ("reconciliation.tasks.send_posting", api_posting.pk),
    ]
    for posting in (admin_posting, api_posting):
        assert posting.state == "ready" and SENT[decision].items() <= posting.payload.items()
        assert posting.document_date.isoformat() == SENT[decision]["Date"]
    assert api_posting.payload["JournalLines"] == admin_posting.payload["JournalLines"]
    assert admin_posting.payload["Narration"] == f"TikTok tt-uk statement S1{NOTED[decision]}"
    assert api_posting.payload["Narration"] == f"TikTok tt-uk statement S2{NOTED[decision]}"
    assert {QuarantineItem.objects.get(pk=i.pk).status for i in (by_admin, by_api)} == {"approved"}


def test_approve_on_a_later_date_and_a_date_inside_the_lock_is_a_400_with_the_reason(as_role, world, queued):
    client = as_role("Finance")

    refused = client.post(url(world["item"], "approve"), {"document_date": "2025-10-31"}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "2025-10-31 is still inside the locked period (first open day 2025-11-01)"
    }
    assert QuarantineItem.objects.get(pk=world["item"].pk).status == "open"

    later = client.post(url(world["item"], "approve"), {"document_date": "2025-11-05"}, format="json")

    assert later.status_code == 200
    assert XeroPosting.objects.get(pk=world["journal"].pk).payload["Date"] == "2025-11-05"


def test_approve_is_only_for_lock_date_items(as_role, shop, queued):
    statement = statement_of(shop, "S9", ORIGINAL_DATE, "1.00")
    item = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=shop, source=statement, source_ref="S9", message="unmapped"
    )

    response = as_role("Finance").post(url(item, "approve"), {}, format="json")

    assert response.status_code == 400
    assert "only lock-date items" in response.json()["detail"]


def test_dismiss_needs_a_reason_and_records_who_and_why(as_role, world, queued):
    client = as_role("Finance")

    assert client.post(url(world["item"], "dismiss"), {}, format="json").json() == {
        "reason": ["This field is required."]
    }
    assert client.post(url(world["item"], "dismiss"), {"reason": "  "}, format="json").status_code == 400
    assert QuarantineItem.objects.get(pk=world["item"].pk).status == "open"

    response = client.post(
        url(world["item"], "dismiss"), {"reason": "Posted by hand as MJ-1042"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["item"]["status"] == "dismissed" and body["posting_state"] == "dismissed"
    assert body["item"]["decision_note"] == "Posted by hand as MJ-1042"
    assert body["message"] == "item dismissed; manual journal dismissed: it will not be posted"
    assert XeroPosting.objects.get(pk=world["journal"].pk).state == "dismissed"


def test_retry_resends_under_a_new_key(as_role, shop, queued, django_capture_on_commit_callbacks):
    posting = journal_of(shop, statement_of(shop, "S3", ORIGINAL_DATE, "3.00"), "3.00", state="held")
    item = QuarantineItem.objects.create(
        reason=Reason.XERO_VALIDATION, shop=shop, posting=posting, source_ref="S3", message="bad account"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = as_role("Finance").post(url(item, "retry"), {}, format="json")

    assert response.status_code == 200
    assert response.json()["posting_state"] == "ready"
    posting.refresh_from_db()
    assert posting.state == "ready" and posting.idempotency_key.endswith(":1")
    assert queued == [("reconciliation.tasks.send_posting", posting.pk)]


def test_a_decided_item_is_not_decided_again(as_role, world, queued):
    client = as_role("Finance")
    client.post(url(world["item"], "dismiss"), {"reason": "duplicate"}, format="json")

    response = client.post(url(world["item"], "retry"), {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "this item is already dismissed"}


def test_finance_decides_with_a_token(world, queued):
    user = User.objects.create_user("fin-bot", password="x")
    user.groups.add(Group.objects.get(name="Finance"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = client.post(url(world["item"], "dismiss"), {"reason": "by script"}, format="json")

    assert response.status_code == 200
    assert QuarantineItem.objects.get(pk=world["item"].pk).decided_by == user


def test_a_missing_item_is_404(as_role, world):
    assert as_role("Finance").post("/api/exceptions/999999/retry/", {}).status_code == 404


def test_an_administrator_decides_like_finance(world, queued):
    client = APIClient()
    client.force_login(User.objects.create_superuser("root", password="x"))

    response = client.post(url(world["item"], "dismiss"), {"reason": "admin says no"}, format="json")

    assert response.status_code == 200
    assert response.json()["item"]["decided_by"] == "root"


def test_the_api_promises_what_the_admin_promises_for_a_queued_document(
    as_role, world, queued, django_capture_on_commit_callbacks
):
    """One promise for a queued send: the API's answer is the admin's (services/decision_outcomes.py)."""
    with django_capture_on_commit_callbacks(execute=True):
        body = as_role("Finance").post(url(world["item"], "approve"), {}, format="json").json()

    admin_says = posting_outcome(XeroPosting.objects.get(pk=world["journal"].pk), [])
    assert admin_says.kind == "queued" and admin_says.text == QUEUED
    assert body["message"].endswith(f"manual journal {admin_says.text}")
    assert "seconds" in QUEUED and str(5 * 60) in QUEUED  # the sweep runs every 5 minutes


def test_what_cannot_go_as_a_draft_is_a_400_with_the_admins_reason(as_role, world, queued):
    receive = world["receive"]
    XeroPosting.objects.filter(pk=receive.pk).update(state=XeroPosting.State.HELD, xero_id="")
    item = lock_date_item_of(XeroPosting.objects.get(pk=receive.pk))

    response = as_role("Finance").post(url(item, "draft"), {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Xero has no draft bank transaction: only journals, invoices and credit notes"
    }
    assert QuarantineItem.objects.get(pk=item.pk).status == "open" and queued == []
    assert XeroPosting.objects.get(pk=receive.pk).payload.get("Status") is None
