"""Order facts from TikTok's order detail and the order's settlement (domain/tiktok_orders.py)."""

import copy
from decimal import Decimal

from reconciliation.domain.tiktok_orders import order_facts, order_settlement
from tests.reconciliation.order_fixtures import (
    WORKED_ORDER_ID,
    WORKED_STATEMENT_ID,
    raw_order,
    worked_order,
    worked_order_rows,
    worked_settlement_envelope,
)

D = Decimal
TZ = "America/Los_Angeles"


def test_the_worked_order_fixtures_are_in_the_shape_tiktok_describes(tiktok_spec):
    import json

    from tests.reconciliation.order_fixtures import ORDERS

    detail = json.loads((ORDERS / "us_worked_order_detail.json").read_text())
    tiktok_spec.validate_response("GET", "/order/202309/orders", detail)
    tiktok_spec.validate_response(
        "GET",
        f"/finance/202501/orders/{WORKED_ORDER_ID}/statement_transactions",
        worked_settlement_envelope(),
    )


def test_the_worked_order_reads_as_the_worked_example_states_it():
    facts = worked_order()
    assert facts.order_id == WORKED_ORDER_ID and facts.currency == "USD"
    assert sum(line.original_price for line in facts.lines) == D("235.95")  # Item Price
    assert facts.seller_discount == D("35.39") and facts.platform_discount == D("30.00")
    assert facts.sub_total == D("170.56")
    assert (facts.original_shipping_fee, facts.shipping_fee_platform_discount, facts.shipping_fee) == (
        D("6.50"),
        D("6.50"),
        D("0.00"),
    )
    assert facts.tax == D("14.04") and facts.total_amount == D("184.60")
    bundle = facts.lines[1].bundle
    assert [(p.seller_sku, p.count) for p in bundle] == [("MUG-WHT", 2), ("CANDLE-SOY", 1)]
    assert facts.excluded_reason == ""


def test_the_order_settlement_rows_carry_statement_components():
    rows = worked_order_rows()
    assert [r.information["statement_id"] for r in rows] == [WORKED_STATEMENT_ID] * 2
    assert sum(r.settlement_amount for r in rows) == D("167.04")
    totals: dict[str, Decimal] = {}
    for row in rows:
        for c in row.components:
            totals[c.name] = totals.get(c.name, D(0)) + c.amount
    assert totals == {
        "revenue.subtotal_before_discount_amount": D("235.95"),
        "revenue.seller_discount_amount": D("-35.39"),
        "shipping.actual_shipping_fee_amount": D("-7.93"),
        "shipping.shipping_fee_discount_amount": D("6.50"),
        "fee.referral_fee_amount": D("-23.59"),
        "fee.transaction_fee_amount": D("-8.50"),
    }


def test_settlement_rows_that_disagree_with_the_order_totals_are_inconsistent():
    envelope = worked_settlement_envelope()
    envelope["data"]["settlement_amount"] = "167.05"
    rows, problems = order_settlement(envelope)
    assert rows is not None
    assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
    assert "settlement_amount add up to 167.04, data.settlement_amount is 167.05" in problems[0].message


def test_unreadable_orders_are_problems_never_exceptions():
    for mutate in (
        lambda o: o["payment"].update(total_amount=184.6),  # a float has already lost cents
        lambda o: o["line_items"][0].update(original_price="1E+3"),
        lambda o: o.update(line_items="two hoodies"),
        lambda o: o["line_items"][1]["combined_listing_skus"][0].update(sku_count="2"),
        lambda o: o.pop("payment"),
        lambda o: o.update(paid_time=None, create_time="yesterday"),
    ):
        raw = copy.deepcopy(raw_order())
        mutate(raw)
        facts, problems = order_facts(raw, timezone=TZ)
        assert facts is None
        assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
        assert problems[0].source_ref == f"TikTok order {WORKED_ORDER_ID}"
    assert order_facts("not an order", timezone=TZ)[0] is None
    assert order_settlement(["no"])[0] is None


def test_tiktoks_own_formulas_are_checked_and_name_both_figures():
    raw = copy.deepcopy(raw_order())
    raw["payment"]["total_amount"] = "184.61"
    facts, problems = order_facts(raw, timezone=TZ)
    assert facts is not None
    assert [p.message.split(": ", 1)[1] for p in problems] == [
        "sub_total + shipping_fee + tax is 184.60, payment.total_amount is 184.61"
    ]


def test_samples_replacements_and_exchanges_are_not_sales():
    raw = copy.deepcopy(raw_order())
    raw["is_sample_order"] = True
    raw["is_exchange_order"] = True
    facts, _ = order_facts(raw, timezone=TZ)
    assert facts is not None and facts.excluded_reason == "sample order, exchange order"


def test_a_fee_we_have_no_line_for_holds_the_order():
    raw = copy.deepcopy(raw_order())
    raw["payment"]["retail_delivery_fee"] = "0.28"
    raw["payment"]["total_amount"] = "184.88"
    _, problems = order_facts(raw, timezone=TZ)
    assert "UNSUPPORTED_ORDER" in [p.code for p in problems]
