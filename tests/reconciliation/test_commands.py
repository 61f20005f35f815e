import re
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from reconciliation import transports
from reconciliation.models import QuarantineItem, Shop, XeroPosting
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_command_reports_progress_and_a_summary():
    world = build_world(days=2)
    out = StringIO()
    call_command("sync", "--shop", world.shop.code, stdout=out)
    text = out.getvalue()
    assert "statement 1/2" in text and "statement 2/2" in text
    assert "Xero documents posted: 4" in text
    assert len(world.xero.manual_journals) == 2


def test_sync_command_exits_1_when_a_shop_cannot_be_read():
    world = build_world(days=1)
    transports.uninstall_all()
    transports.install("xero", world.xero.tenant_id, world.xero.transport)
    world.tiktok.expire_access_token()
    world.shop.connection.refresh_token = "revoked"
    world.shop.connection.save()
    err = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("sync", stdout=StringIO(), stderr=err)
    assert exit_.value.code == 1
    assert "sync failed" in err.getvalue()


def test_demo_posts_most_statements_and_quarantines_the_locked_and_the_inconsistent_one():
    out = StringIO()
    call_command("demo", "--days", "5", stdout=out)
    text = out.getvalue()

    reasons = set(QuarantineItem.objects.filter(status="open").values_list("reason", flat=True))
    # (the demo's order-invoices shop quarantines nothing: tests/demo/test_order_demo.py)
    assert reasons == {"LOCK_DATE", "SOURCE_INCONSISTENT"}
    journals = XeroPosting.objects.filter(shop__code="demo-us", kind="ManualJournals", state="posted")
    assert journals.count() == 3  # 5 statements: one locked, one inconsistent
    assert "quarantined items open: 2" in text
    # reasons in words, counts in words, no Python structures (issue 7, item 10)
    assert "- Dated in a locked period: " in text and "- The marketplace's figures do not add up: " in text
    assert "LOCK_DATE" not in text and "SOURCE_INCONSISTENT" not in text
    assert "Faults injected into Xero: 1 timeout after write, 1 server error" in text
    assert re.search(r"HTTP attempts audited: \d+ \(200: \d+, 500: 1, no answer: 1\)", text)
    assert "{" not in text and "None" not in text
    assert "Demo shop demo-us (USD): 5 daily statements" in text
    assert "ledgersync-demo" in text


def test_each_active_shop_gets_a_sync_schedule_and_loses_it_when_paused():
    world = build_world(days=1)
    assert Schedule.objects.filter(name=f"ledgersync: sync {world.shop.code}").exists()
    assert Schedule.objects.filter(func="reconciliation.tasks.send_due_postings").exists()
    Shop.objects.filter(pk=world.shop.pk).update(is_active=False)
    world.shop.refresh_from_db()
    world.shop.save()
    assert not Schedule.objects.filter(name=f"ledgersync: sync {world.shop.code}").exists()
