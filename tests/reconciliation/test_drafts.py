"""A document finance sent to Xero as a draft is outside Xero's ledger until approved there: each
sync re-reads the drafts and records Xero's latest answer (services/drafts.py)."""

import pytest
from django.urls import reverse
from django_q.tasks import async_task

from reconciliation.dashboard import payout_words
from reconciliation.models import Payout, SyncRun, XeroPosting
from reconciliation.selectors import payouts_reconciled
from reconciliation.services.drafts import drafts_check
from tests.reconciliation.test_finance_queue import locked_world
from tests.reconciliation.test_honest_actions import act, member
from tests.reconciliation.test_lock_dates import open_lock_item

pytestmark = pytest.mark.django_db(transaction=True)


def drafted(client, monkeypatch):
    world = locked_world(monkeypatch)
    member(client, "Finance")
    act(client, "post_as_draft", [open_lock_item()])
    posting = XeroPosting.objects.get(kind=XeroPosting.Kind.MANUAL_JOURNAL)
    assert posting.state == XeroPosting.State.POSTED and posting.xero_response["Status"] == "DRAFT"
    return world, posting


def test_a_draft_approved_in_xero_is_recorded_on_the_next_sync(client, monkeypatch):
    world, posting = drafted(client, monkeypatch)
    assert drafts_check(connection=posting.connection) == (1, 0)  # still a draft: nothing changes

    (journal,) = world.xero.state.manual_journals
    journal["Status"] = "POSTED"  # someone approved it in Xero
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    posting.refresh_from_db()
    assert (
        posting.xero_response["Status"] == "POSTED"
        and posting.xero_response["ManualJournalID"] == posting.xero_id
    )
    assert SyncRun.objects.latest("started_at").counts.get("xero_drafts_approved") == 1
    assert drafts_check(connection=posting.connection) == (0, 0)


def test_a_draft_deleted_in_xero_is_recorded_as_deleted(client, monkeypatch):
    world, posting = drafted(client, monkeypatch)
    (journal,) = world.xero.state.manual_journals
    journal["Status"] = "DELETED"

    assert drafts_check(connection=posting.connection) == (0, 1)
    posting.refresh_from_db()
    assert posting.xero_response["Status"] == "DELETED"


def test_xero_unreachable_leaves_the_drafts_to_the_next_sync(client, monkeypatch):
    world, posting = drafted(client, monkeypatch)
    for _ in range(4):  # the first try and every retry of the lookup
        world.xero.faults.next("server_error", method="GET", path_prefix="/ManualJournals")

    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    posting.refresh_from_db()
    assert world.xero.faults.injected == {"server_error": 4}  # the lookup was tried, and failed
    assert posting.xero_response["Status"] == "DRAFT"
    assert SyncRun.objects.latest("started_at").status == SyncRun.Status.DONE


def test_a_payout_whose_journal_is_a_draft_waits_for_its_approval_in_xero(client, monkeypatch):
    world, _ = drafted(client, monkeypatch)
    async_task("reconciliation.tasks.send_due_postings")  # the payout's RECEIVE follows the journal
    payout = Payout.objects.get()
    row = payouts_reconciled([payout])[payout.pk]
    assert row["residue"] == 0 and row["draft_statements"] == 1
    assert payout_words(payout, row) == "waiting for 1 draft journal to be approved in Xero"

    (journal,) = world.xero.state.manual_journals
    journal["Status"] = "POSTED"
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    row = payouts_reconciled([payout])[payout.pk]
    assert row["draft_statements"] == 0
    # the draft no longer stands in the way; what is left is the receipt Xero locked out too
    assert payout_words(payout, row) == "residue 0.00, bank receipt held (quarantined)"


def test_a_draft_is_called_a_draft_not_posted_on_the_posting_pages(client, monkeypatch):
    world, posting = drafted(client, monkeypatch)
    page = client.get(reverse("admin:reconciliation_xeroposting_change", args=[posting.pk])).content.decode()
    listed = client.get(reverse("admin:reconciliation_xeroposting_changelist")).content.decode()

    assert "Draft in Xero (not in the ledger until approved there)" in page
    assert "Draft in Xero" in listed and str(posting).endswith(
        "Draft in Xero (not in the ledger until approved there)"
    )

    (journal,) = world.xero.state.manual_journals
    journal["Status"] = "POSTED"
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    page = client.get(reverse("admin:reconciliation_xeroposting_change", args=[posting.pk])).content.decode()
    assert "Draft in Xero" not in page
