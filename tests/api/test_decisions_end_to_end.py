"""Approve through the API in a whole world: a sync meets a lock date, Finance approves over HTTP,
the journal and the payout's RECEIVE that waited for it reach the Xero sandbox, and the answer says
so (docs/ARCHITECTURE.md, "What the outbox promises")."""

from datetime import date

import pytest
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, XeroPosting
from tests.reconciliation.small_statement import lines, serve
from tests.reconciliation.test_lock_dates import journal_puts, locked_after_reading
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
NOV = {day: date(2026, 11, day) for day in range(19, 27)}


def test_approved_over_the_api_the_journal_posts_and_the_answer_says_posted(as_role, monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)  # statement dated 20 Nov
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = QuarantineItem.objects.get(reason="LOCK_DATE", status="open", posting__kind="ManualJournals")
    client = as_role("Finance")

    listed = client.get("/api/exceptions/?status=open&reason=LOCK_DATE&shop=tt-test").json()["results"]
    assert item.pk in [row["id"] for row in listed]

    response = client.post(f"/api/exceptions/{item.pk}/approve/", {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    journal = XeroPosting.objects.get(pk=item.posting_id)
    assert journal.state == "posted" and body["posting_state"] == "posted"
    # the item is resolved once its document is in Xero, and the answer says so
    assert body["item"]["status"] == "resolved"
    assert body["message"] == f"item resolved; manual journal posted to Xero (id {journal.xero_id})"
    (sent,) = world.xero.manual_journals
    assert "original date 2026-11-20" in sent["Narration"]
    assert lines(sent) == [("1210", "45.00"), ("4000", "-50.00"), ("6100", "5.00")]
    assert len(journal_puts(world)) == 2  # refused once for the lock date, then posted
    attempts = client.get(client.get(body["item"]["posting"]).json()["attempts"]).json()["results"]
    # newest first: the post, the look-up before sending again (Xero's 200 refusal of the element
    # still counts as "may have written"), and the first PUT that Xero refused for the lock date
    assert [(a["method"], a["status"]) for a in attempts] == [("PUT", 200), ("GET", 200), ("PUT", 200)]
    assert "Narration%3D%3D" in attempts[1]["url_called"]


def test_posted_as_draft_over_the_api_the_answer_says_draft_as_the_admin_does(as_role, monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = QuarantineItem.objects.get(reason="LOCK_DATE", status="open", posting__kind="ManualJournals")

    response = as_role("Finance").post(f"/api/exceptions/{item.pk}/draft/", {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    journal = XeroPosting.objects.get(pk=item.posting_id)
    (sent,) = world.xero.manual_journals  # Xero keeps drafts out of its lock dates
    assert sent["Status"] == "DRAFT" and journal.state == "posted"
    assert body["item"]["status"] == "resolved"
    assert body["message"] == (
        f"item resolved; manual journal in Xero as a draft (id {journal.xero_id}): review and approve it there"
    )
