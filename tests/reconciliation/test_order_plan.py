"""order_plan: a ready order's invoice into the outbox, re-planned after a map fix like a statement
(services/order_plan.py, services/sources.py)."""

import pytest

from connectors.tiktok.sandbox_order_data import us_worked_order
from reconciliation.models import QuarantineItem, SkuMapping, TikTokOrder, XeroPosting
from reconciliation.planning import checks
from reconciliation.services.order_plan import order_plan, orders_plan
from reconciliation.services.orders import order_store
from reconciliation.services.sources import source_replan
from tests.reconciliation import test_order_preview
from tests.reconciliation.test_order_preview import with_xero_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(monkeypatch):
    monkeypatch.setattr(checks, "BUILT_MODES", {*checks.BUILT_MODES, "order_invoices"})


us_shop = test_order_preview.us_shop  # the preview tests' US shop and maps (a fixture)


@pytest.fixture
def shop(us_shop, xero_spec_path):
    us_shop.posting_mode = "order_invoices"
    us_shop.save()
    with_xero_org(us_shop, xero_spec_path)
    order_store(shop=us_shop, raw=us_worked_order())
    return us_shop


def the_order(shop) -> TikTokOrder:
    return TikTokOrder.objects.get(shop=shop, order_id="576500000000000001")


def test_an_order_is_held_while_the_mode_is_not_built(shop, monkeypatch):
    monkeypatch.setattr(checks, "BUILT_MODES", {"statement_journal"})  # the switch that holds a mode
    plan = order_plan(order=the_order(shop))
    assert plan.documents == () and [p.code for p in plan.problems] == ["INVALID_MAPPING"]
    assert XeroPosting.objects.count() == 0
    assert QuarantineItem.objects.get().source == the_order(shop)


def test_an_unmapped_sku_is_quarantined_and_a_fixed_map_plans_the_invoice(shop, built):
    plan = order_plan(order=the_order(shop))
    assert [p.code for p in plan.problems] == ["UNMAPPED_SKU"]
    item = QuarantineItem.objects.get(status="open")
    assert item.reason == "UNMAPPED_SKU" and item.get_reason_display() != "UNMAPPED_SKU"
    assert item.source == the_order(shop)

    SkuMapping.objects.create(channel="tiktok", channel_sku="DESK-WAL", item_code="HOODIE-BLK-M")
    replanned = source_replan(item.source)
    assert replanned is not None and replanned.problems == ()
    item.refresh_from_db()
    assert item.status == "resolved"
    posting = XeroPosting.objects.get()
    assert posting.kind == "Invoices" and posting.plan_key == "order 576500000000000001:invoice"
    assert posting.source == the_order(shop) and posting.source_hash == the_order(shop).content_hash
    # planned again from the same content: the same posting, nothing new
    assert orders_plan(shop=shop)["invoices_planned"] == 1
    assert XeroPosting.objects.count() == 1


def test_an_order_before_the_gate_is_not_planned(shop, built):
    raw = us_worked_order() | {"status": "AWAITING_SHIPMENT", "update_time": 1763164900}
    order_store(shop=shop, raw=raw)
    plan = order_plan(order=the_order(shop))
    assert plan.documents == () and plan.problems == () and plan.information
    assert XeroPosting.objects.count() == QuarantineItem.objects.count() == 0


def test_an_order_cancelled_after_its_invoice_was_planned_retires_the_unsent_invoice(shop, built):
    SkuMapping.objects.create(channel="tiktok", channel_sku="DESK-WAL", item_code="HOODIE-BLK-M")
    assert orders_plan(shop=shop)["invoices_planned"] == 1
    posting = XeroPosting.objects.get()
    assert posting.state == XeroPosting.State.READY

    order_store(shop=shop, raw=us_worked_order() | {"status": "CANCELLED", "update_time": 1763165000})
    counts = orders_plan(shop=shop)

    assert counts["invoices_retired"] == 1 and counts["invoices_planned"] == 0
    posting.refresh_from_db()
    assert posting.state == XeroPosting.State.SUPERSEDED
    assert QuarantineItem.objects.filter(status="open").count() == 0
    assert "invoices_retired" not in orders_plan(shop=shop)  # nothing live is left to retire
