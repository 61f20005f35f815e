"""The demo's second shop: posting mode "order invoices" (docs/ARCHITECTURE.md, Orders).

A US shop with its own Xero organisation (USD), served by the same Xero sandbox under a second
tenant id (XeroSandbox.add_organisation), and its own TikTok shop in the same TikTok sandbox. Five
orders, built by connectors/tiktok/sandbox_order_data.py, in two rounds:

- first: the worked US order, a linen throw order, two gift-set bundles (one order), a mug order
  and a coaster order waiting for collection are invoiced; statement 1 (paid) settles the first two.
- later (`orders_later`, TikTok after the first sync): the coaster order is cancelled (a credit note
  allocated to its unpaid invoice), one throw of the settled order is returned (a credit note
  refunded out of clearing), and statement 2 (paid) settles the bundles, the mugs and that refund.

Statement transactions are computed from the orders (sandbox_settlements.py), so each payment into
clearing, the fees journal and the payout's RECEIVE add up to the cent: clearing moves by exactly
each payout.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_order_data import (
    BUNDLE,
    CATALOGUE,
    Unit,
    build_order,
    cancellation_of,
    return_of,
    us_worked_order,
)
from connectors.tiktok.sandbox_settlements import order_transaction, refund_transaction, statement_and_payment
from connectors.xero.sandbox import XeroSandbox
from reconciliation.models import BundleComponent, Shop, SkuMapping

CIPHER = "demo-cipher-us-orders"
TIKTOK_SHOP_ID = "7490000000000000002"
CODE = "demo-us-orders"
DAY, HOUR = 86400, 3600
D = Decimal
THROW, COASTERS, MUG = CATALOGUE
# Xero items for every SKU sold, the bundle's parts among them (BUNDLE_PARTS in sandbox_order_data).
ITEMS = {"DESK-WAL": "Walnut desk organiser", **{sku: name for name, sku, *_ in CATALOGUE}}
ACCOUNTS = (
    ("2300", "Sales tax remitted by TikTok", "CURRLIAB"),
    ("4050", "TikTok platform discounts", "REVENUE"),
    ("4060", "TikTok discount reimbursements", "REVENUE"),
    ("4070", "Shipping income", "REVENUE"),
)


@dataclass
class OrderDemo:
    shop: Shop
    xero: XeroSandbox  # the shop's organisation (served by the demo's Xero sandbox)
    orders: dict[str, dict]  # by role: worked, throws, bundle, mugs, coasters
    midnight: int  # unix time of the UTC day the demo runs on


def order_organisation(xero: XeroSandbox) -> XeroSandbox:
    """The order shop's Xero organisation, served by `xero` as a second tenant."""
    org = XeroSandbox.demo(base_currency="USD")
    org.org.Name = "LedgerSync Demo orders (US)"
    for code, name, kind in ACCOUNTS:
        org.add_account(code, name, kind)
    for code, name in ITEMS.items():
        org.add_item(code, name)
    xero.add_organisation(org)
    return org


def order_shop(connection, *, sync_from: date) -> Shop:
    shop = Shop.objects.create(
        channel="tiktok",
        code=CODE,
        name="Demo TikTok US orders",
        region="US",
        currency="USD",
        timezone="America/Los_Angeles",
        line_amount_types="NoTax",
        clearing_account="1210",
        bank_account="090",
        reserve_account="1220",
        contact_name="TikTok Shop customers",
        posting_mode="order_invoices",
        order_sales_account="4000",
        order_seller_discount_account="4010",
        order_platform_discount_account="4050",
        order_platform_reimbursement_account="4060",
        order_shipping_account="4070",
        order_sales_tax_account="2300",
        order_tax_presentation="gross",
        xero_connection=connection,
        sync_from=sync_from,
    )
    for sku in ITEMS:
        SkuMapping.objects.create(channel="tiktok", shop=shop, channel_sku=sku, item_code=sku)
    # The gift set: two mugs and a coaster set, its price split 2 x 9.99 : 12.50.
    for item, quantity, weight in (("MUG-CER", 2, "9.99"), ("COAST-OAK", 1, "12.50")):
        BundleComponent.objects.get_or_create(
            channel="tiktok",
            bundle_sku=BUNDLE[1],
            item_code=item,
            defaults={"quantity": quantity, "price_weight": weight},
        )
    return shop


def first_orders(midnight: int) -> dict[str, dict]:
    """The orders as TikTok serves them on the first sync, dated back from `midnight`."""
    worked = us_worked_order()
    age = worked["update_time"] - worked["create_time"]
    worked |= {"create_time": midnight - 9 * DAY, "update_time": midnight - 9 * DAY + age}
    worked["paid_time"] = worked["create_time"] + 60
    worked["collection_time"], worked["delivery_time"] = (
        worked["create_time"] + 2 * DAY,
        worked["create_time"] + 4 * DAY,
    )
    throws = build_order(
        order_id="577100000000000001",
        region="US",
        currency="USD",
        status="COMPLETED",
        create_time=midnight - 9 * DAY + 5 * HOUR,
        units=[Unit(THROW, D("3.90"), D("0")), Unit(THROW, D("3.90"), D("0")), Unit(MUG, D("0"), D("1.00"))],
    )
    bundle = build_order(
        order_id="577100000000000002",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=midnight - 7 * DAY,
        units=[Unit(BUNDLE, D("0"), D("0"))] * 2,
        shipping_platform_discount=D("4.99"),
        bundle=True,
    )
    mugs = build_order(
        order_id="577100000000000004",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=midnight - 6 * DAY - 2 * HOUR,
        units=[Unit(MUG, D("1.00"), D("0"))] * 4,
    )
    coasters = _coasters(midnight, "AWAITING_COLLECTION")
    return {"worked": worked, "throws": throws, "bundle": bundle, "mugs": mugs, "coasters": coasters}


def _coasters(midnight: int, status: str, update_time: int | None = None) -> dict:
    return build_order(
        order_id="577100000000000003",
        region="US",
        currency="USD",
        status=status,
        create_time=midnight - 2 * DAY,
        units=[Unit(COASTERS, D("1.25"), D("0"))] * 2,
        update_time=update_time,
    )


def order_demo_build(xero: XeroSandbox, tiktok: TikTokSandbox, *, now: datetime, connect) -> OrderDemo:
    """The order shop and its first round in the sandboxes; `connect(org, name)` makes its
    XeroConnection (scenario.sandbox_xero_connection)."""
    midnight = int(datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC).timestamp())
    org = order_organisation(xero)
    tiktok.add_shop(CIPHER, TIKTOK_SHOP_ID, "Demo TikTok US orders", "US", "USD")
    orders = first_orders(midnight)
    for order in orders.values():
        tiktok.orders.add_order(CIPHER, order)
    first = [
        # the worked example's own fee figures (tests/fixtures/tiktok/us_worked_order_statement.json)
        order_transaction(
            orders["worked"],
            "7302100000000000001",
            referral_fee=D("23.59"),
            transaction_fee=D("8.50"),
            label_cost=D("7.93"),
        ),
        order_transaction(orders["throws"], "7302100000000000002"),
    ]
    tiktok.add_statement(CIPHER, *statement_and_payment(first, "7301100000000000001", midnight - 4 * DAY))
    sync_from = (now - timedelta(days=10)).date()
    shop = order_shop(connect(org, name="Demo Xero organisation (US orders)"), sync_from=sync_from)
    return OrderDemo(shop, org, orders, midnight)


def orders_later(tiktok: TikTokSandbox, orders: dict[str, dict], *, midnight: int, now: int) -> None:
    """What TikTok has by the second sync: the coaster order cancelled, a throw of the settled
    order returned, and statement 2 settling the bundle's sale and that refund. Their update times
    are minutes old, so the next pull (which reads from its cursor less 2 hours) finds them."""
    cancelled = _coasters(midnight, "CANCELLED", update_time=now - 5 * 60)
    tiktok.orders.add_order(CIPHER, cancelled)
    tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    throws = orders["throws"]
    returned = return_of(throws, throws["line_items"][0])
    returned |= {"create_time": midnight - 3 * DAY, "update_time": now - 5 * 60}
    tiktok.orders.add_return(CIPHER, returned)
    second = [
        order_transaction(orders["bundle"], "7302100000000000003"),
        order_transaction(orders["mugs"], "7302100000000000004"),
        refund_transaction(throws, returned, "7302100000000000005"),
    ]
    tiktok.add_statement(CIPHER, *statement_and_payment(second, "7301100000000000002", midnight - 2 * DAY))
