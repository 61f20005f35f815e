"""A finance user clears the one payout waiting on a lock date; an operator is offered no decision."""

from datetime import UTC, datetime, timedelta

import pytest
from django_q.tasks import async_task

from reconciliation.models import Payout, QuarantineItem, XeroPosting
from tests.browser.conftest import follow, screenshot, text
from tests.reconciliation.small_statement import serve
from tests.reconciliation.test_admin import staff
from tests.reconciliation.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held():
    """The lock-date world (tests/reconciliation/test_lock_dates.py): one statement dated inside
    Xero's lock date, so the planner holds it and its payout waits; the payout's bank receipt,
    paid a day later, is in an open period."""
    day = datetime.now(UTC).date() - timedelta(days=5)
    world = build_world(days=0, start=day)
    serve(world)
    world.xero.set_lock_dates(period=day, end_of_year=day - timedelta(days=30))
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = QuarantineItem.objects.get(reason="LOCK_DATE", status="open")
    assert item.posting.kind == "ManualJournals"
    return world, item


def test_finance_approves_the_lock_date_item_and_the_payout_reconciles(browse, live_server, held):
    world, item = held
    page = browse(staff("fiona", "Finance"))

    assert "waiting for 1 held statement" in text(page)
    screenshot(page, "dashboard-waiting")

    follow(page, page.get_by_role("link", name="Dated in a locked period"))  # the dashboard's exception
    queue = text(page)
    assert "Dated in a locked period" in queue and "45.00 USD" in queue
    screenshot(page, "finance-queue")
    follow(page, page.locator("#result_list a", has_text="Dated in a locked period").first)
    follow(page, page.get_by_role("link", name="Approve and re-date"))
    confirm = text(page)
    assert "The posting date changes" in confirm and "VAT" not in confirm  # a US shop has no VAT return
    follow(page, page.locator("#content input[type=submit], #content button[type=submit]").first)

    assert "posted to Xero" in text(page)  # tasks run inline: the send has already happened
    assert XeroPosting.objects.get(kind="ManualJournals").state == "posted"
    (journal,) = world.xero.manual_journals
    assert "original date" in journal["Narration"]
    item.refresh_from_db()
    assert item.status == "resolved"
    follow(page, page.get_by_role("link", name="Home"))
    assert "reconciled" in text(page) and "waiting for" not in text(page)
    screenshot(page, "dashboard")
    follow(page, page.get_by_role("link", name=Payout.objects.get().payment_id))
    assert "reconciled" in text(page)
    screenshot(page, "payout")


def test_an_operator_opening_the_same_item_is_not_offered_a_decision(browse, live_server, held):
    _, item = held
    page = browse(staff("otto", "Operations"))

    follow(page, page.get_by_role("link", name="Dated in a locked period"))
    actions = page.locator("select[name=action] option").all_inner_texts()
    assert not [a for a in actions if any(word in a for word in ("Approve", "Retry", "Dismiss", "draft"))]
    follow(page, page.locator("#result_list a", has_text="Dated in a locked period").first)

    assert f"/quarantineitem/{item.pk}/" in page.url and "Dated in a locked period" in text(page)
    for name in ("Approve", "Retry", "Dismiss", "Post as draft"):
        assert page.get_by_role("link", name=name).count() == 0
        assert page.get_by_role("button", name=name).count() == 0
    assert page.locator("a[href*='/decide/']").count() == 0
