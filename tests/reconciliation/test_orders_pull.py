"""Orders in: orders_pull stores TikTok orders, returns and cancellations; the gate selects as data."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.tiktok.sandbox_order_data import build_order, us_worked_order
from reconciliation import selectors
from reconciliation.models import OrderSync, SourceRecord, TikTokCancellation, TikTokOrder, TikTokReturn
from reconciliation.models.sources import SourceKind
from reconciliation.services.orders import OVERLAP, order_store, orders_pull
from tests.support.orders import CIPHER, order_shop

pytestmark = pytest.mark.django_db
START = 1763000000  # the demo orders are created an hour apart from here (2025-11-13)
UNTIL = datetime(2025, 11, 25, tzinfo=UTC)  # first window: the 14 days before
WORKED = Path(__file__).parents[1] / "fixtures" / "tiktok" / "us_worked_order_detail.json"


@pytest.fixture
def world(tiktok_spec):
    return order_shop(spec=tiktok_spec, start=START)


def detail_calls(world) -> list[list[str]]:
    return [p["ids"].split(",") for _, path, p in world.tiktok.requests if path == "/order/202309/orders"]


def test_pull_keeps_every_order_return_and_cancellation_and_moves_the_cursor(world):
    counts = orders_pull(shop=world.shop, until=UNTIL)

    served = world.tiktok.orders.orders[CIPHER]
    assert set(TikTokOrder.objects.values_list("order_id", flat=True)) == set(served)
    assert counts["orders_changed"] == len(served) == 13
    for row in TikTokOrder.objects.select_related("source"):
        assert row.source.kind == SourceKind.ORDER and row.source.payload == served[row.order_id]
        assert row.status == served[row.order_id]["status"]
    assert TikTokOrder.objects.filter(is_sample=True).count() == 1
    assert TikTokOrder.objects.filter(is_replacement=True).count() == 1
    assert TikTokOrder.objects.filter(is_exchange=True).count() == 1
    [ret] = TikTokReturn.objects.all()
    assert (ret.order_id, ret.source.kind) == (world.demo.returns[0]["order_id"], SourceKind.RETURN)
    [cancellation] = TikTokCancellation.objects.all()
    assert cancellation.source.payload == world.demo.cancellations[0]
    assert OrderSync.objects.get(shop=world.shop).orders_synced_until == UNTIL
    assert all(len(ids) <= 50 for ids in detail_calls(world))


def test_the_worked_order_is_kept_exactly_as_tiktok_describes_it(world):
    orders_pull(shop=world.shop, until=UNTIL)
    row = TikTokOrder.objects.get(order_id="576500000000000001")
    [expected] = json.loads(WORKED.read_text())["data"]["orders"]
    assert row.source.payload == expected
    assert (row.status, row.currency, row.update_time.timestamp()) == ("DELIVERED", "USD", 1763164800)


def test_a_second_pull_rereads_only_the_overlap_and_changes_nothing(world):
    orders_pull(shop=world.shop, until=UNTIL)
    sources = SourceRecord.objects.count()
    world.tiktok.requests.clear()
    later = UNTIL + timedelta(days=2)

    counts = orders_pull(shop=world.shop, until=later)

    since = (UNTIL - OVERLAP).timestamp()
    in_overlap = [o for o in world.tiktok.orders.orders[CIPHER].values() if o["update_time"] >= since]
    assert counts["orders_found"] == len(in_overlap)
    assert counts["orders_changed"] == 0 and SourceRecord.objects.count() == sources
    assert OrderSync.objects.get(shop=world.shop).orders_synced_until == later


def test_many_changed_orders_are_fetched_fifty_at_a_time(world):
    for n in range(120):
        order = build_order(
            order_id=f"57800000000000{n:04d}",
            region="US",
            currency="USD",
            status="COMPLETED",
            create_time=START,
            units=[],
        )
        world.tiktok.orders.add_order(CIPHER, order)
    orders_pull(shop=world.shop, until=UNTIL)
    assert [len(ids) for ids in detail_calls(world)] == [50, 50, 33]
    assert TikTokOrder.objects.count() == 133


def test_a_changed_order_is_a_new_source_record_and_an_older_one_never_wins(world):
    orders_pull(shop=world.shop, until=UNTIL)
    order = us_worked_order()
    newer = {**order, "status": "COMPLETED", "update_time": order["update_time"] + 600}
    assert order_store(shop=world.shop, raw=newer) is True
    assert order_store(shop=world.shop, raw=order) is False  # a late copy of the older state
    row = TikTokOrder.objects.get(order_id=order["id"])
    assert (row.status, row.source.payload) == ("COMPLETED", newer)
    kept = SourceRecord.objects.filter(kind=SourceKind.ORDER, external_id=order["id"])
    assert kept.count() == 2  # both states stay for the auditor


def test_a_failed_pull_leaves_the_cursor_where_it_was(world):
    world.tiktok.faults.next("internal", count=4)  # more than the client's retries
    with pytest.raises(Exception, match="Internal"):
        orders_pull(shop=world.shop, until=UNTIL)
    assert OrderSync.objects.get(shop=world.shop).orders_synced_until is None


def test_an_unreadable_order_is_counted_and_the_pull_goes_on(world):
    bad = build_order(
        order_id="579999999999999999",
        region="US",
        currency="USD",
        status="COMPLETED",
        create_time=START,
        units=[],
    )
    world.tiktok.orders.add_order(CIPHER, bad)
    world.tiktok.orders.orders[CIPHER][bad["id"]]["status"] = "SHIPPED_SOMEHOW"  # not one TikTok lists
    world.tiktok.spec = None  # the real API would never serve it; the sandbox's check is off for this
    counts = orders_pull(shop=world.shop, until=UNTIL)
    assert counts["orders_unreadable"] == 1 and counts["orders_changed"] == 13


def ready(shop) -> set[str]:
    return set(selectors.orders_ready_to_invoice(shop).values_list("status", flat=True))


def test_the_gate_is_data_and_only_sales_pass_it(world):
    orders_pull(shop=world.shop, until=UNTIL)
    passed = selectors.orders_ready_to_invoice(world.shop)
    assert not passed.filter(is_sample=True) and not passed.filter(is_replacement=True)
    assert not passed.filter(is_exchange=True)
    assert ready(world.shop) == {"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"}

    OrderSync.objects.filter(shop=world.shop).update(order_finalised_status="DELIVERED")
    assert ready(world.shop) == {"DELIVERED", "COMPLETED"}
    OrderSync.objects.filter(shop=world.shop).update(order_finalised_status="UNPAID")
    assert "CANCELLED" not in ready(world.shop) and "UNPAID" in ready(world.shop)


def test_orders_pull_command_reports_per_shop(world):
    from io import StringIO

    from django.core.management import call_command

    world.shop.sync_from = UNTIL.date() - timedelta(days=14)
    world.shop.save()
    out = StringIO()
    call_command("orders_pull", shop=world.shop.code, stdout=out)
    assert out.getvalue().startswith(f"{world.shop.code}: ") and "orders_changed" in out.getvalue()
    assert OrderSync.objects.get(shop=world.shop).orders_synced_until is not None


def test_a_shop_posting_order_invoices_gets_an_orders_schedule(world):
    from django_q.models import Schedule

    name = f"ledgersync: orders {world.shop.code}"
    assert Schedule.objects.get(name=name).func == "reconciliation.tasks.pull_orders"
    world.shop.posting_mode = "statement_journal"
    world.shop.save()
    assert not Schedule.objects.filter(name=name).exists()
