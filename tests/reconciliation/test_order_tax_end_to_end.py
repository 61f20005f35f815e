"""An order whose tax rate is unmapped, or mapped to a TaxType the organisation lacks, is held
before any call to Xero writes anything; fixing the map posts it once (DESIGN.md 4.5). A UK shop:
VAT-inclusive prices, TikTok states no tax on the order, so its rate is looked up as the region's
"*" row (planning/order_maps.py)."""

from datetime import date
from decimal import Decimal

import pytest

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_order_data import Unit, build_order
from connectors.xero.sandbox import XeroSandbox
from reconciliation.demo.scenario import sandbox_shop_connection, sandbox_xero_connection
from reconciliation.models import QuarantineItem, Shop, SkuMapping, TaxRateMapping
from tests.reconciliation.test_order_end_to_end import open_items, sync_and_send
from tests.support.specs import tiktok_spec_if_present

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
CIPHER = "uk-orders-cipher"


def uk_world():
    xero = XeroSandbox.demo(base_currency="GBP")
    for code, name, kind in (
        ("4050", "TikTok platform discounts", "REVENUE"),
        ("4060", "TikTok discount reimbursements", "REVENUE"),
        ("4070", "Shipping income", "REVENUE"),
    ):
        xero.add_account(code, name, kind)
    xero.add_item("MUG-WHT", "White mug")
    tiktok = TikTokSandbox(spec=tiktok_spec_if_present())
    tiktok.add_shop(CIPHER, "7490000000000000044", "Orders UK", "GB", "GBP")
    mug = Unit(
        ("White mug", "MUG-WHT", "1729000000000000401", "1730000000000000401", "24.99"), D("2.50"), D("1.00")
    )
    tiktok.orders.add_order(
        CIPHER,
        build_order(
            order_id="576600000000000001",
            region="GB",
            currency="GBP",
            status="DELIVERED",
            create_time=1762819200,
            update_time=1763164800,
            units=[mug, mug],
            shipping=D("3.99"),
        ),
    )
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-uk-orders",
        name="Orders UK",
        region="GB",
        currency="GBP",
        line_amount_types="Inclusive",
        clearing_account="1210",
        bank_account="090",
        posting_mode="order_invoices",
        order_sales_account="4000",
        order_seller_discount_account="4010",
        order_platform_discount_account="4050",
        order_platform_reimbursement_account="4060",
        order_shipping_account="4070",
        xero_connection=sandbox_xero_connection(xero, name="UK orders org"),
        sync_from=date(2025, 11, 1),
    )
    sandbox_shop_connection(shop, tiktok)
    SkuMapping.objects.create(channel="tiktok", channel_sku="MUG-WHT", item_code="MUG-WHT")
    return shop, xero


def writes(xero) -> list[str]:
    return [f"{r.method} {r.path}" for r in xero.requests if r.method != "GET"]


def test_an_unmapped_or_unknown_tax_rate_holds_the_order_before_any_write_and_the_fixed_map_posts_it_once():
    shop, xero = uk_world()
    sync_and_send(shop)

    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "UNMAPPED_TAX" and "(tiktok, GB," in item.message
    assert writes(xero) == [] and xero.invoices == []

    TaxRateMapping.objects.create(
        channel="tiktok", region="GB", source_tax="*", usage="sales", tax_type="OUTPUT9"
    )
    sync_and_send(shop)
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "INVALID_MAPPING" and "OUTPUT9" in item.message
    assert writes(xero) == [] and xero.invoices == []

    TaxRateMapping.objects.filter(tax_type="OUTPUT9").update(tax_type="OUTPUT2")
    sync_and_send(shop)
    sync_and_send(shop)
    assert open_items() == []
    (invoice,) = xero.invoices
    # two mugs at 24.99 less 2.50 (seller) and 1.00 (TikTok, reimbursed), shipping 3.99: VAT inside
    assert D(str(invoice["Total"])) == 2 * D("22.49") + D("3.99")
    assert {line.get("TaxType") for line in invoice["LineItems"]} == {"OUTPUT2"}
    assert writes(xero) == ["PUT /api.xro/2.0/Invoices"]
