"""Order invoices (planning/order_invoice.py): the worked US order line by line, maps, rounding."""

import copy
from dataclasses import replace
from decimal import Decimal

import pytest

from reconciliation.domain.tiktok_orders import order_facts
from reconciliation.planning.invoice_arithmetic import xero_totals
from reconciliation.planning.order_invoice import (
    expected_invoice_total,
    plan_order_invoice,
    tax_kept_by_tiktok,
)
from tests.reconciliation.order_fixtures import (
    GROSS,
    MAPS,
    NET,
    US_ORDER_SHOP,
    WORKED_ORDER_ID,
    order_org,
    raw_order,
    worked_order,
)
from tests.reconciliation.xero_payloads import validate

D = Decimal


def lines_of(plan):
    (document,) = plan.documents
    return [
        (line["Description"], line["Quantity"], line["UnitAmount"], line["AccountCode"])
        for line in document.payload["LineItems"]
    ]


# The worked example's invoice (shared/reference/tiktok-discounts-reimbursements-worked-example.txt):
# items 235.95 (here a hoodie and a gift-set bundle split over its mugs and candle), seller discount
# 35.39, TikTok's platform discount 30.00 shown as given and paid back, shipping 6.50 and TikTok's
# shipping discount 6.50 shown the same way; gross adds the 14.04 sales tax TikTok remits.
WORKED_LINES = [
    ("Heavyweight hoodie", 1, D("99.95"), "4000"),
    ("Seller discount: Heavyweight hoodie", 1, D("-14.99"), "4010"),
    ("Gift set: two mugs and a candle: MUG-WHT (bundle GIFTSET-3)", 2, D("38.8550"), "4000"),
    ("Gift set: two mugs and a candle: CANDLE-SOY (bundle GIFTSET-3)", 1, D("58.29"), "4000"),
    ("Seller discount: Gift set: two mugs and a candle", 1, D("-20.40"), "4010"),
    ("TikTok reimbursement of its platform discount", 1, D("30.00"), "4060"),
    ("TikTok platform discount", 1, D("-30.00"), "4050"),
    ("Shipping", 1, D("6.50"), "4070"),
    ("TikTok shipping reimbursement", 1, D("6.50"), "4060"),
    ("TikTok shipping discount", 1, D("-6.50"), "4050"),
]
SALES_TAX = ("Sales tax collected and remitted by TikTok (marketplace facilitator)", 1, D("14.04"), "2300")


def test_gross_presentation_is_the_worked_example_221_10(xero_spec_path):
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=GROSS, maps=MAPS, org=order_org())
    assert plan.problems == () and plan.skipped_checks == ()
    assert lines_of(plan) == [*WORKED_LINES, SALES_TAX]
    (invoice,) = plan.documents
    assert xero_totals(invoice.payload["LineItems"], "NoTax", order_org()) == (D("221.10"), D("0"))
    # 184.60 paid by the buyer + 30.00 + 6.50 paid back by TikTok
    assert expected_invoice_total(worked_order(), US_ORDER_SHOP, GROSS) == D("184.60") + D("30.00") + D(
        "6.50"
    )
    assert tax_kept_by_tiktok(worked_order(), US_ORDER_SHOP, GROSS) == D("14.04")
    assert invoice.payload | {"LineItems": None} == {
        "Type": "ACCREC",
        "Contact": {"Name": "TikTok Shop"},
        "Date": "2025-11-10",
        "DueDate": "2025-11-10",
        "InvoiceNumber": f"TT-{WORKED_ORDER_ID}",
        "Reference": f"TikTok order {WORKED_ORDER_ID}",
        "CurrencyCode": "USD",
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": None,
    }
    assert invoice.key == f"order {WORKED_ORDER_ID}:invoice" and invoice.unitdp4  # 77.71 / 2 mugs
    assert invoice.lookup == ("InvoiceNumber", f"TT-{WORKED_ORDER_ID}")
    validate(xero_spec_path, invoice)


def test_net_presentation_leaves_the_facilitator_tax_out_207_06(xero_spec_path):
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=NET, maps=MAPS, org=order_org())
    assert plan.problems == ()
    assert lines_of(plan) == WORKED_LINES
    assert xero_totals(plan.documents[0].payload["LineItems"], "NoTax", None)[0] == D("207.06")
    assert expected_invoice_total(worked_order(), US_ORDER_SHOP, NET) == D("184.60") - D("14.04") + D("36.50")
    assert tax_kept_by_tiktok(worked_order(), US_ORDER_SHOP, NET) == 0
    validate(xero_spec_path, plan.documents[0])


def test_an_unmapped_sku_or_bundle_says_exactly_what_to_add():
    maps = replace(MAPS, sku={"MUG-WHT": "MUG-WHT", "CANDLE-SOY": "CANDLE-SOY"}, bundles={})
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=GROSS, maps=maps, org=order_org())
    assert plan.documents == ()
    messages = [(p.code, p.message.split(": ", 1)[1]) for p in plan.problems]
    assert messages == [
        (
            "UNMAPPED_SKU",
            "line 576500000000100001 (seller_sku HOODIE-BLK-M, sku_id 1729000000000000101) has no Xero item; "
            "add a SKU-map row HOODIE-BLK-M -> <Xero item code>",
        ),
        (
            "UNMAPPED_SKU",
            "bundle GIFTSET-3 (line 576500000000100002) has no entry in the bundle map; add its components with "
            "quantities and price weights (TikTok lists: 2 x MUG-WHT, 1 x CANDLE-SOY)",
        ),
    ]


def test_a_bundle_kept_as_one_xero_item_posts_as_that_item():
    maps = replace(MAPS, sku={**MAPS.sku, "GIFTSET-3": "GIFTSET-3"}, bundles={})
    org = replace(order_org(), items=order_org().items | {"GIFTSET-3"})
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=NET, maps=maps, org=org)
    assert plan.problems == ()
    assert lines_of(plan)[2] == ("Gift set: two mugs and a candle", 1, D("136.00"), "4000")


def test_an_unmapped_tax_rate_is_one_problem_however_many_lines_use_it():
    facts, _ = order_facts(three_tees(), timezone="UTC")
    assert facts is not None
    maps = replace(MAPS, sku={"TEE-1": "TEE-1"}, tax={})
    plan = plan_order_invoice(facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org())
    assert [p.code for p in plan.problems] == ["UNMAPPED_TAX"]


def test_an_item_xero_does_not_have_or_too_long_a_code_is_refused():
    maps = replace(MAPS, sku={**MAPS.sku, "HOODIE-BLK-M": "H" * 31})
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=GROSS, maps=maps, org=order_org())
    assert [p.code for p in plan.problems] == ["INVALID_MAPPING"]
    assert "at most 30 characters" in plan.problems[0].message
    maps = replace(MAPS, sku={**MAPS.sku, "HOODIE-BLK-M": "HOODIE-OLD"})
    plan = plan_order_invoice(worked_order(), shop=US_ORDER_SHOP, settings=GROSS, maps=maps, org=order_org())
    assert "item HOODIE-OLD is not one of the Xero organisation's Items" in plan.problems[0].message
    # Without the organisation's Items the check is skipped, and the plan says so.
    plan = plan_order_invoice(
        worked_order(), shop=US_ORDER_SHOP, settings=GROSS, maps=maps, org=replace(order_org(), items=None)
    )
    assert plan.problems == () and plan.skipped_checks == ("item codes against the organisation's Items",)


@pytest.mark.parametrize(
    ("status", "flag", "note"),
    [
        (
            "AWAITING_SHIPMENT",
            None,
            "not invoiced yet: AWAITING_SHIPMENT is before the shop's finalised status",
        ),
        ("CANCELLED", None, "not invoiced: cancelled before it reached the shop's finalised status"),
        ("COMPLETED", "is_replacement_order", "not invoiced: TikTok flags it as a replacement order"),
    ],
)
def test_orders_that_are_not_sales_yet_or_at_all_plan_nothing(status, flag, note):
    raw = copy.deepcopy(raw_order())
    raw["status"] = status
    if flag:
        raw[flag] = True
    facts, _ = order_facts(raw, timezone="UTC")
    assert facts is not None
    plan = plan_order_invoice(facts, shop=US_ORDER_SHOP, settings=GROSS, maps=MAPS, org=order_org())
    assert plan.documents == () and plan.problems == ()
    assert plan.information[0].code == "ORDER_NOT_INVOICED" and note in plan.information[0].message


# Tax per line -------------------------------------------------------------------------------------

EXCLUSIVE_SHOP = replace(US_ORDER_SHOP, line_amount_types="Exclusive")
TAX_MAPS = replace(MAPS, tax={("tiktok", "US", "0.1", "sales"): "TAX10"})


def three_tees() -> dict:
    """Three one-unit lines of 1.05 at 10%: TikTok states the order's tax once (3.15 x 10% = 0.315,
    0.32) and spreads it 0.11 + 0.11 + 0.10; Xero rounds each line (0.105 -> 0.11) and sums 0.33."""
    raw = copy.deepcopy(raw_order())
    line = raw["line_items"][0]
    raw["line_items"] = [
        {
            **line,
            "id": f"5765000000001000{n}",
            "seller_sku": "TEE-1",
            "product_name": "Tee",
            "original_price": "1.05",
            "seller_discount": "0",
            "platform_discount": "0",
            "sale_price": "1.05",
            "item_tax": [{"tax_type": "SALES_TAX", "tax_rate": "0.1", "tax_amount": tax}],
        }
        for n, tax in ((1, "0.11"), (2, "0.11"), (3, "0.10"))
    ]
    raw["payment"].update(
        original_total_product_price="3.15",
        seller_discount="0",
        platform_discount="0",
        sub_total="3.15",
        original_shipping_fee="0",
        shipping_fee_platform_discount="0",
        shipping_fee="0",
        product_tax="0.32",
        tax="0.32",
        total_amount="3.47",
    )
    return raw


def test_xeros_per_line_rounding_is_reproduced_and_a_rounding_line_makes_its_total_the_orders(xero_spec_path):
    facts, problems = order_facts(three_tees(), timezone="UTC")
    assert facts is not None and problems == []
    maps = replace(TAX_MAPS, sku={"TEE-1": "TEE-1"})
    plan = plan_order_invoice(facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org())
    assert plan.problems == ()
    (invoice,) = plan.documents
    lines = invoice.payload["LineItems"]
    # Naively, 3.15 + round(3.15 x 10%) = 3.47; Xero's per-line tax makes the three tees 3.48.
    assert xero_totals(lines[:3], "Exclusive", order_org()) == (D("3.48"), D("0.33"))
    assert lines[3] == {
        "Description": "Rounding (Xero rounds tax per line, TikTok per order)",
        "Quantity": 1,
        "UnitAmount": D("-0.01"),
        "AccountCode": "860",  # the organisation's ROUNDING system account, looked up
        "TaxType": "NONE",
    }
    assert xero_totals(lines, "Exclusive", order_org())[0] == D("3.47") == facts.total_amount
    validate(xero_spec_path, invoice)


def test_an_unmapped_or_unusable_tax_rate_says_what_to_add():
    facts, _ = order_facts(three_tees(), timezone="UTC")
    assert facts is not None
    maps = replace(MAPS, sku={"TEE-1": "TEE-1"}, tax={})
    plan = plan_order_invoice(facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org())
    assert {p.code for p in plan.problems} == {"UNMAPPED_TAX"}
    assert "add a tax-rate map row (tiktok, US, 0.1, sales) -> <Xero TaxType>" in plan.problems[0].message
    maps = replace(maps, tax={("tiktok", "US", "SALES_TAX", "sales"): "EXEMPTIN"})  # an expense-only rate
    plan = plan_order_invoice(facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org())
    assert {p.code for p in plan.problems} == {"INVALID_MAPPING"}
    assert "tax type EXEMPTIN cannot be used on revenue account" in plan.problems[0].message


def test_without_a_rounding_account_the_order_is_held_not_posted_a_cent_off():
    facts, _ = order_facts(three_tees(), timezone="UTC")
    assert facts is not None
    org = order_org()
    accounts = {k: v for k, v in org.accounts.items() if v.system_account != "ROUNDING"}
    plan = plan_order_invoice(
        facts,
        shop=EXCLUSIVE_SHOP,
        settings=NET,
        maps=replace(TAX_MAPS, sku={"TEE-1": "TEE-1"}),
        org=replace(org, accounts=accounts),
    )
    assert [p.code for p in plan.problems] == ["INVALID_MAPPING"]
    assert "no active ROUNDING system account for a -0.01 rounding line" in plan.problems[0].message


def test_a_uk_shop_posts_vat_inclusive_lines_on_the_mapped_rate(xero_spec_path):
    from tests.reconciliation.planning_fixtures import UK_SHOP

    raw = copy.deepcopy(raw_order())
    raw["payment"].update(currency="GBP", product_tax="0", tax="0", total_amount="170.56")
    for line in raw["line_items"]:
        line["item_tax"] = []
    facts, problems = order_facts(raw, timezone="Europe/London")
    assert facts is not None and problems == []
    shop = replace(UK_SHOP, posting_mode="order_invoices")
    maps = replace(MAPS, tax={("tiktok", "GB", "*", "sales"): "OUTPUT2"})
    plan = plan_order_invoice(facts, shop=shop, settings=NET, maps=maps, org=order_org("GBP"))
    assert plan.problems == ()
    (invoice,) = plan.documents
    assert {line["TaxType"] for line in invoice.payload["LineItems"]} == {"OUTPUT2"}
    total, vat = xero_totals(invoice.payload["LineItems"], "Inclusive", order_org("GBP"))
    assert total == D("170.56") + D("30.00") + D("6.50")  # VAT inside the prices: the total is the gross
    # Each line's VAT is a sixth of its gross, rounded per line: 16.66 - 2.50 + 12.95 + 9.72 - 3.40
    # + 5.00 - 5.00 + 1.08 + 1.08 - 1.08 = 34.51 (a sixth of the total, 207.06 / 6 = 34.51, by luck).
    assert vat == D("34.51")
    validate(xero_spec_path, invoice)
