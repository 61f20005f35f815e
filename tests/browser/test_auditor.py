"""An auditor follows a payout to its statements, a posting and its HTTP attempts, and is offered
nothing that changes a row on the way."""

import pytest
from django_q.tasks import async_task

from reconciliation.models import Payout, XeroPosting
from tests.browser.conftest import follow, text
from tests.reconciliation.small_statement import serve
from tests.reconciliation.test_admin import staff
from tests.reconciliation.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHANGES = ("Save", "Save and continue editing", "Save and add another", "Delete", "Add", "Go", "Import")


def read_only(page) -> None:
    """No form button, no delete or add link, no admin action shown on this page (Django's inline
    script builds a hidden "Add another" link even where adding is not allowed: visible ones only)."""
    assert page.locator("select[name=action]").filter(visible=True).count() == 0, page.url
    buttons = page.locator("#content form input[type=submit], #content form button").filter(visible=True)
    assert buttons.count() == 0, page.url
    for name in CHANGES:
        assert page.get_by_role("button", name=name, exact=True).count() == 0, (page.url, name)
    bad = page.locator("a.deletelink, a.addlink, a[href$='/delete/'], a[href*='/decide/']").filter(
        visible=True
    )
    assert bad.count() == 0, (page.url, [bad.nth(i).evaluate("e => e.outerHTML") for i in range(bad.count())])


def test_an_auditor_follows_a_payout_to_its_http_attempts_and_can_change_nothing(browse):
    world = build_world(days=0)
    serve(world)
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    payout = Payout.objects.get()
    page = browse(staff("audrey", "Auditor"))
    read_only(page)

    follow(page, page.get_by_role("link", name=payout.payment_id))
    assert "State: reconciled" in text(page) and "Statements" in text(page)
    read_only(page)

    follow(page, page.locator("#content a", has_text="7500000000000000001").first)
    assert "/statement/" in page.url
    read_only(page)

    follow(page, page.locator("#content a", has_text="Manual journal").first)
    assert "/xeroposting/" in page.url
    read_only(page)
    assert "State: Posted" in text(page) and "PUT /ManualJournals" in text(page)
    attempts = XeroPosting.objects.get(kind="ManualJournals").http_attempts.count()
    assert f"HTTP attempts: {attempts}" in text(page)

    follow(page, page.locator("a[href*='/xeroattempt/']", has_text="View").first)
    assert "/xeroattempt/" in page.url and "ManualJournals" in text(page)
    read_only(page)
