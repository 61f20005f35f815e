"""Orders, returns and cancellations: the client against the sandbox, both held to TikTok's description."""

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.tiktok.errors import TikTokError
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_order_data import build_order, demo_orders, us_worked_order
from connectors.tiktok.signing import verify
from tests.connectors.tiktok.test_client import CIPHER, NOW, make_client

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tiktok" / "us_worked_order_detail.json"
START = int(NOW) - 30 * 86400


def d(value: str) -> Decimal:
    assert isinstance(value, str), value
    return Decimal(value)


@pytest.fixture
def sandbox(tiktok_spec) -> TikTokSandbox:
    """A sandbox that checks every response it serves against specs/tiktok/ (SpecViolation)."""
    box = TikTokSandbox(now=lambda: NOW, spec=tiktok_spec)
    box.add_shop(CIPHER, "7494000000000000001", "Sandbox US", "US", "USD")
    demo = demo_orders(region="US", currency="USD", start=START)
    for order in demo.orders:
        box.orders.add_order(CIPHER, order)
    for return_order in demo.returns:
        box.orders.add_return(CIPHER, return_order)
    for cancellation in demo.cancellations:
        box.orders.add_cancellation(CIPHER, cancellation)
    box.orders.add_order(CIPHER, us_worked_order())
    return box


def test_order_search_pages_by_update_time_with_filters_in_the_body(sandbox):
    client = make_client(sandbox)
    found = list(client.order_search(update_time_ge=START, update_time_lt=int(NOW), page_size=5))
    expected = [o for o in sandbox.orders.orders[CIPHER].values() if START <= o["update_time"] < NOW]
    assert sorted(o["id"] for o in found) == sorted(o["id"] for o in expected)
    assert [o["update_time"] for o in found] == sorted(o["update_time"] for o in found)
    searches = [r for r in sandbox.requests if r[1] == "/order/202309/orders/search"]
    assert len(searches) == -(-len(expected) // 5)
    method, _, params = searches[0]
    assert (method, params["page_size"], params["sort_field"], params["sort_order"]) == (
        "POST",
        "5",
        "update_time",
        "ASC",
    )
    assert "update_time_ge" not in params and "page_token" in searches[1][2]


def test_order_search_body_is_signed_and_sent_as_json(sandbox):
    sent = []

    def spy(request):
        sent.append(request)
        return sandbox.transport.handle_request(request)

    client = make_client(sandbox, transport=httpx.MockTransport(spy))
    list(client.order_search(update_time_ge=START, update_time_lt=START + 3600))
    body = sent[0].content
    assert json.loads(body) == {"update_time_ge": START, "update_time_lt": START + 3600}
    params = dict(sent[0].url.params)
    assert verify("sandbox-secret", "/order/202309/orders/search", params, body, params["sign"])


def test_order_details_batches_fifty_ids_a_call(sandbox):
    for n in range(120):
        order = build_order(
            order_id=f"5790000000000{n:05d}",
            region="US",
            currency="USD",
            status="COMPLETED",
            create_time=START,
            units=[],
        )
        sandbox.orders.add_order(CIPHER, order)
    ids = [f"5790000000000{n:05d}" for n in range(120)]
    orders = make_client(sandbox).order_details(ids)
    assert [o["id"] for o in orders] == ids
    calls = [r[2]["ids"].split(",") for r in sandbox.requests if r[1] == "/order/202309/orders"]
    assert [len(c) for c in calls] == [50, 50, 20]


def test_order_details_refuses_what_is_not_an_order_id(sandbox):
    with pytest.raises(ValueError):
        make_client(sandbox).order_details(["576500000000000001", "1,2"])
    with pytest.raises(TikTokError):  # the sandbox, like TikTok, takes at most 50
        make_client(sandbox).call("GET", "/order/202309/orders", query={"ids": ",".join(["1"] * 51)})


def test_returns_and_cancellations_reference_orders_the_shop_has(sandbox):
    client = make_client(sandbox)
    returns = list(client.returns_search(update_time_ge=START, update_time_lt=int(NOW) + 30 * 86400))
    cancellations = list(client.cancellations_search(update_time_ge=START, update_time_lt=int(NOW)))
    assert len(returns) == 1 and len(cancellations) == 1
    orders = sandbox.orders.orders[CIPHER]
    [ret], [cancel] = returns, cancellations
    order = orders[ret["order_id"]]
    [returned] = ret["return_line_items"]
    line = next(li for li in order["line_items"] if li["id"] == returned["order_line_item_id"])
    assert d(ret["refund_amount"]["refund_subtotal"]) == d(line["sale_price"])
    assert orders[cancel["order_id"]]["status"] == "CANCELLED"
    assert {c["order_line_item_id"] for c in cancel["cancel_line_items"]} == {
        li["id"] for li in orders[cancel["order_id"]]["line_items"]
    }
    refund = cancel["refund_amount"]
    assert d(refund["refund_total"]) == d(refund["refund_subtotal"]) + d(refund["refund_tax"])


def test_search_page_sizes_are_the_described_ranges(sandbox):
    client = make_client(sandbox)
    with pytest.raises(TikTokError):  # returns: 10-50 (return_refund.json)
        list(client.returns_search(update_time_ge=START, update_time_lt=int(NOW), page_size=5))
    with pytest.raises(TikTokError):  # orders: 1-100 (order.json)
        list(client.order_search(update_time_ge=START, update_time_lt=int(NOW), page_size=101))


def payment_problems(order: dict) -> list[str]:
    """What does not follow order.json's formulas, or does not add up over the line items."""
    p, lines, found = order["payment"], order["line_items"], []
    sums = {
        "original_total_product_price": "original_price",
        "seller_discount": "seller_discount",
        "platform_discount": "platform_discount",
    }
    for total, leaf in sums.items():
        if d(p[total]) != sum((d(li[leaf]) for li in lines), Decimal(0)):
            found.append(total)
    for li in lines:
        if d(li["sale_price"]) != d(li["original_price"]) - d(li["seller_discount"]) - d(
            li["platform_discount"]
        ):
            found.append(f"{li['id']} sale_price")
    if d(p["sub_total"]) != d(p["original_total_product_price"]) - d(p["seller_discount"]) - d(
        p["platform_discount"]
    ):
        found.append("sub_total")
    shipping = (
        d(p["original_shipping_fee"])
        - d(p["shipping_fee_seller_discount"])
        - d(p["shipping_fee_platform_discount"])
    )
    if d(p["shipping_fee"]) != shipping:
        found.append("shipping_fee")
    if d(p["total_amount"]) != d(p["sub_total"]) + d(p["shipping_fee"]) + d(p.get("tax", "0")):
        found.append("total_amount")
    return found


@pytest.mark.parametrize("region,currency", [("US", "USD"), ("GB", "GBP")])
def test_demo_orders_add_up_and_carry_the_cases_orders_need(region, currency):
    demo = demo_orders(region=region, currency=currency, start=START)
    for order in demo.orders:
        assert payment_problems(order) == [], order["id"]
        assert all("quantity" not in li for li in order["line_items"])  # one line item per unit
    flags = {
        flag
        for o in demo.orders
        for flag in ("is_sample_order", "is_replacement_order", "is_exchange_order")
        if o[flag]
    }
    assert flags == {"is_sample_order", "is_replacement_order", "is_exchange_order"}
    [bundle] = [li for o in demo.orders for li in o["line_items"] if "combined_listing_skus" in li]
    assert {(p["seller_sku"], p["sku_count"]) for p in bundle["combined_listing_skus"]} == {
        ("MUG-CER", 2),
        ("COAST-OAK", 1),
    }
    assert {o["status"] for o in demo.orders} >= {
        "UNPAID",
        "ON_HOLD",
        "AWAITING_COLLECTION",
        "CANCELLED",
        "COMPLETED",
    }
    assert demo_orders(region=region, currency=currency, start=START) == demo  # deterministic


def test_worked_order_fixture_is_the_sandbox_order_in_the_described_shape(tiktok_spec):
    envelope = json.loads(FIXTURE.read_text())
    tiktok_spec.validate_response("GET", "/order/202309/orders", envelope)
    [order] = envelope["data"]["orders"]
    assert order == us_worked_order()
    assert payment_problems(order) == []
    p = order["payment"]
    assert (p["original_total_product_price"], p["seller_discount"], p["platform_discount"]) == (
        "235.95",
        "35.39",
        "30.00",
    )
    assert (p["original_shipping_fee"], p["shipping_fee_platform_discount"], p["shipping_fee"]) == (
        "6.50",
        "6.50",
        "0.00",
    )
    assert (p["tax"], p["sub_total"], p["total_amount"]) == ("14.04", "170.56", "184.60")
    statement = json.loads((FIXTURE.parent / "us_worked_order_statement.json").read_text())
    [transaction] = statement["data"]["transactions"]
    assert (transaction["order_id"], transaction["order_create_time"]) == (order["id"], order["create_time"])
    assert transaction["supplementary_component"]["customer_payment_amount"] == p["total_amount"]


@pytest.mark.parametrize(
    "route",
    ["order_search", "order_details", "returns_search", "cancellations_search"],
)
def test_every_new_route_is_checked_against_the_description(sandbox, route):
    """The check is on for each route: a key TikTok does not declare is refused, not served."""
    from connectors.tiktok.openapi import SpecViolation

    book = sandbox.orders
    target = {
        "order_search": next(iter(book.orders[CIPHER].values())),
        "order_details": next(iter(book.orders[CIPHER].values())),
        "returns_search": next(iter(book.returns[CIPHER].values())),
        "cancellations_search": next(iter(book.cancellations[CIPHER].values())),
    }[route]
    target["quantity"] = 1  # order.json has no quantity: one line item is one unit
    client = make_client(sandbox)
    window = {"update_time_ge": 0, "update_time_lt": 2**40}
    with pytest.raises(SpecViolation, match="quantity"):
        if route == "order_details":
            client.order_details([target["id"]])
        else:
            list(getattr(client, route)(**window))
