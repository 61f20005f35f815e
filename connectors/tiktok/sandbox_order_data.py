"""Deterministic orders, returns and cancellations for the TikTok sandbox (see sandbox_orders.py).

Every key is one TikTok declares in specs/tiktok/order.json or return_refund.json (tests validate
each served body). Figures follow the formulas order.json prints for the `payment` block, and each
payment figure is the sum of the same figure over the line items, so a reader can rebuild one from
the other. Guesses, named where they are made: `sale_price` per line is what the buyer pays for that
unit before tax (original - seller - platform discount, as `sub_total` is for the order), and a
sample order is free to the buyer because the seller discounts it in full.
"""

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HOUR = 3600
US_SALES_TAX = Decimal("0.0825")
SHIPPING = Decimal("4.99")
# (product name, seller_sku, sku_id, product_id, price)
CATALOGUE = [
    ("Linen throw", "THROW-LIN", "1729000000000000101", "1730000000000000101", "39.00"),
    ("Oak coaster set", "COAST-OAK", "1729000000000000102", "1730000000000000102", "12.50"),
    ("Ceramic mug", "MUG-CER", "1729000000000000103", "1730000000000000103", "9.99"),
]
BUNDLE = ("Mug and coasters gift set", "GIFT-MUGCOAST", "1729000000000000201", "1730000000000000201", "24.99")
BUNDLE_PARTS = [
    {
        "product_id": "1730000000000000103",
        "seller_sku": "MUG-CER",
        "sku_count": 2,
        "sku_id": "1729000000000000103",
    },
    {
        "product_id": "1730000000000000102",
        "seller_sku": "COAST-OAK",
        "sku_count": 1,
        "sku_id": "1729000000000000102",
    },
]
# One order per entry: its status and what is special about it (DESIGN.md 4.1 flags).
PLAN = [
    ("AWAITING_SHIPMENT", ""),
    ("AWAITING_COLLECTION", ""),
    ("IN_TRANSIT", "bundle"),
    ("DELIVERED", "returned"),
    ("COMPLETED", ""),
    ("CANCELLED", "cancelled"),
    ("DELIVERED", "is_sample_order"),
    ("IN_TRANSIT", "is_replacement_order"),
    ("UNPAID", ""),
    ("COMPLETED", "is_exchange_order"),
    ("ON_HOLD", ""),
    ("DELIVERED", ""),
]
PACKAGE_STATUS = {
    "UNPAID": "TO_FULFILL",
    "ON_HOLD": "TO_FULFILL",
    "AWAITING_SHIPMENT": "TO_FULFILL",
    "AWAITING_COLLECTION": "PROCESSING",
    "IN_TRANSIT": "FULFILLING",
    "DELIVERED": "COMPLETED",
    "COMPLETED": "COMPLETED",
    "CANCELLED": "CANCELLED",
}


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Unit:
    """One line item (one unit): its listing and the discounts on it."""

    listing: tuple[str, str, str, str, str]
    seller_discount: Decimal
    platform_discount: Decimal

    @property
    def original(self) -> Decimal:
        return Decimal(self.listing[4])

    @property
    def sale(self) -> Decimal:
        return self.original - self.seller_discount - self.platform_discount


@dataclass
class DemoOrders:
    orders: list[dict]
    returns: list[dict]
    cancellations: list[dict]


def demo_orders(*, region: str, currency: str, start: int, seed: int = 5) -> DemoOrders:
    """The orders of PLAN, created an hour apart from the unix time `start`."""
    rng = random.Random(seed)
    made = DemoOrders([], [], [])
    for number, (status, special) in enumerate(PLAN):
        order_id = f"5770{seed % 100:02d}{number:012d}"
        units = _units(rng, special)
        order = build_order(
            order_id=order_id,
            region=region,
            currency=currency,
            status=status,
            create_time=start + number * HOUR,
            units=units,
            shipping_platform_discount=SHIPPING if number % 2 else ZERO,
            bundle=special == "bundle",
        )
        if special.startswith("is_"):
            order[special] = True
        if special == "is_replacement_order":
            order["replaced_order_id"] = made.orders[0]["id"]
        if special == "is_exchange_order":
            order["exchange_source_order_id"] = made.orders[1]["id"]
        if special == "cancelled":
            made.cancellations.append(cancellation_of(order))
        if special == "returned":
            made.returns.append(return_of(order, order["line_items"][0]))
        made.orders.append(order)
    return made


def _units(rng: random.Random, special: str) -> list[Unit]:
    if special == "bundle":
        return [Unit(BUNDLE, ZERO, ZERO)]
    units = []
    for listing in rng.sample(CATALOGUE, rng.randint(1, 2)):
        price = Decimal(listing[4])
        seller = ZERO if rng.random() < 0.5 else (price * Decimal("0.10")).quantize(CENT, ROUND_HALF_UP)
        platform = Decimal("1.00") if rng.random() < 0.3 else ZERO
        if special == "is_sample_order":
            seller, platform = price, ZERO
        units += [Unit(listing, seller, platform)] * rng.randint(1, 3)
    return units


def build_order(
    *,
    order_id: str,
    region: str,
    currency: str,
    status: str,
    create_time: int,
    units: list[Unit],
    shipping_platform_discount: Decimal = ZERO,
    shipping: Decimal = SHIPPING,
    bundle: bool = False,
    update_time: int | None = None,
) -> dict:
    """An order as GET /order/202309/orders returns it, one line item per unit."""
    taxed = region == "US"  # UK prices include VAT; TikTok states tax for the US (order.json)
    lines = [_line(order_id, n, unit, currency, status, taxed, bundle) for n, unit in enumerate(units)]
    order = {
        "id": order_id,
        "status": status,
        "create_time": create_time,
        "update_time": update_time or create_time + _age(status),
        "user_id": "7021436810468230001",
        "buyer_email": f"buyer{order_id[-4:]}@scs.tiktokw.us",
        "commerce_platform": "TIKTOK_SHOP",
        "fulfillment_type": "FULFILLMENT_BY_SELLER",
        "shipping_type": "TIKTOK",
        "delivery_option_name": "Standard Shipping",
        "payment_method_name": "CCDC",
        "order_type": "NORMAL",
        "is_cod": False,
        "is_sample_order": False,
        "is_replacement_order": False,
        "is_exchange_order": False,
        "is_on_hold_order": status == "ON_HOLD",
        "line_items": lines,
        "payment": _payment(units, lines, currency, shipping, shipping_platform_discount, taxed),
        "packages": [] if status in ("UNPAID", "CANCELLED") else [{"id": f"11530{order_id[-13:]}"}],
    }
    if status != "UNPAID":
        order["paid_time"] = create_time + 60
    if status == "CANCELLED":
        order |= {
            "cancel_time": order["update_time"],
            "cancel_reason": "No longer needed",
            "cancellation_initiator": "BUYER",
        }
    if status in ("IN_TRANSIT", "DELIVERED", "COMPLETED"):
        order["collection_time"] = create_time + 2 * 86400
    if status in ("DELIVERED", "COMPLETED"):
        order["delivery_time"] = create_time + 4 * 86400
    return order


def _age(status: str) -> int:
    """How long after creation the order last changed, by status (hours)."""
    hours = {"UNPAID": 0, "ON_HOLD": 0, "AWAITING_SHIPMENT": 1, "AWAITING_COLLECTION": 20, "CANCELLED": 2}
    return hours.get(status, 96) * HOUR + 60


def _line(order_id: str, n: int, unit: Unit, currency: str, status: str, taxed: bool, bundle: bool) -> dict:
    name, seller_sku, sku_id, product_id, _ = unit.listing
    line = {
        "id": f"5771{order_id[-10:]}{n:04d}",
        "product_id": product_id,
        "product_name": name,
        "sku_id": sku_id,
        "sku_name": "Default",
        "seller_sku": seller_sku,
        "currency": currency,
        "original_price": money(unit.original),
        "seller_discount": money(unit.seller_discount),
        "platform_discount": money(unit.platform_discount),
        "sale_price": money(unit.sale),
        "display_status": "AWAITING_SHIPMENT" if status == "ON_HOLD" else status,
        "package_status": PACKAGE_STATUS[status],
        "is_gift": False,
    }
    if taxed:
        tax = (unit.sale * US_SALES_TAX).quantize(CENT, ROUND_HALF_UP)
        line["item_tax"] = [
            {"tax_type": "SALES_TAX", "tax_amount": money(tax), "tax_rate": str(US_SALES_TAX)}
        ]
    if bundle:
        line["combined_listing_skus"] = [dict(part) for part in BUNDLE_PARTS]
    return line


def _payment(units, lines, currency, shipping: Decimal, shipping_platform: Decimal, taxed: bool) -> dict:
    original = sum((u.original for u in units), ZERO)
    seller = sum((u.seller_discount for u in units), ZERO)
    platform = sum((u.platform_discount for u in units), ZERO)
    sub_total = original - seller - platform
    shipping_fee = shipping - shipping_platform
    payment = {
        "currency": currency,
        "original_total_product_price": money(original),
        "seller_discount": money(seller),
        "platform_discount": money(platform),
        "sub_total": money(sub_total),
        "original_shipping_fee": money(shipping),
        "shipping_fee_seller_discount": "0.00",
        "shipping_fee_platform_discount": money(shipping_platform),
        "shipping_fee_cofunded_discount": "0.00",
        "shipping_fee": money(shipping_fee),
    }
    tax = ZERO
    if taxed:
        tax = sum((Decimal(t["tax_amount"]) for line in lines for t in line["item_tax"]), ZERO)
        payment |= {"product_tax": money(tax), "shipping_fee_tax": "0.00", "tax": money(tax)}
    payment["total_amount"] = money(sub_total + shipping_fee + tax)
    return payment


def _refund(lines: list[dict], currency: str) -> dict:
    subtotal = sum((Decimal(line["sale_price"]) for line in lines), ZERO)
    tax = sum((Decimal(t["tax_amount"]) for line in lines for t in line.get("item_tax", [])), ZERO)
    return {
        "currency": currency,
        "refund_subtotal": money(subtotal),
        "refund_shipping_fee": "0.00",
        "refund_tax": money(tax),
        "refund_total": money(subtotal + tax),
    }


def cancellation_of(order: dict) -> dict:
    """The completed buyer cancellation of every line of `order` (return_refund.json)."""
    currency = order["payment"]["currency"]
    return {
        "cancel_id": f"4035{order['id'][-14:]}",
        "order_id": order["id"],
        "cancel_type": "BUYER_CANCEL",
        "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
        "role": "BUYER",
        "cancel_reason": "ecom_order_to_ship_canceled_reason_no_longer_needed",
        "cancel_reason_text": "No longer needed",
        "create_time": order["create_time"] + HOUR,
        "update_time": order["update_time"],
        "refund_amount": _refund(order["line_items"], currency),
        "cancel_line_items": [
            {
                "cancel_line_item_id": f"4036{line['id'][-14:]}",
                "order_line_item_id": line["id"],
                "product_name": line["product_name"],
                "seller_sku": line["seller_sku"],
                "sku_id": line["sku_id"],
                "sku_name": line["sku_name"],
                "refund_amount": _refund([line], currency),
            }
            for line in order["line_items"]
        ],
    }


def return_of(order: dict, line: dict) -> dict:
    """A completed return and refund of one unit (one line item) of `order` (return_refund.json)."""
    currency = order["payment"]["currency"]
    return {
        "return_id": f"4037{order['id'][-14:]}",
        "order_id": order["id"],
        "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "role": "BUYER",
        "return_reason": "ecom_order_delivered_refund_and_return_reason_not_as_described",
        "return_reason_text": "Not as described",
        "return_method": "PLATFORM_SHIPPED",
        "shipment_type": "PLATFORM",
        "handover_method": "DROP_OFF",
        "create_time": order["update_time"] + 86400,
        "update_time": order["update_time"] + 5 * 86400,
        "refund_amount": _refund([line], currency),
        "discount_amount": [
            {
                "currency": currency,
                "product_platform_discount": line["platform_discount"],
                "product_seller_discount": line["seller_discount"],
                "shipping_fee_platform_discount": "0.00",
                "shipping_fee_seller_discount": "0.00",
            }
        ],
        "return_line_items": [
            {
                "return_line_item_id": f"4038{line['id'][-14:]}",
                "order_line_item_id": line["id"],
                "product_name": line["product_name"],
                "seller_sku": line["seller_sku"],
                "sku_id": line["sku_id"],
                "sku_name": line["sku_name"],
                "refund_amount": _refund([line], currency),
            }
        ],
    }


def us_worked_order() -> dict:
    """The US order of reference/tiktok-discounts-reimbursements-worked-example.txt: item 235.95,
    seller discount 35.39, TikTok discount 30.00, shipping 6.50 fully discounted by TikTok, sales
    tax 14.04, customer paid 184.60. Its id and creation time are those of the order transaction in
    tests/fixtures/tiktok/us_worked_order_statement.json. One unit (the example lists one item)."""
    unit = Unit(
        ("Walnut desk organiser", "DESK-WAL", "1729000000000000301", "1730000000000000301", "235.95"),
        Decimal("35.39"),
        Decimal("30.00"),
    )
    order = build_order(
        order_id="576500000000000001",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=1762819200,
        update_time=1763164800,
        units=[unit],
        shipping=Decimal("6.50"),
        shipping_platform_discount=Decimal("6.50"),
    )
    # The example states the tax, not a rate: the stated amount replaces the computed one.
    order["line_items"][0]["item_tax"] = [{"tax_type": "SALES_TAX", "tax_amount": "14.04"}]
    order["payment"] |= {"product_tax": "14.04", "tax": "14.04", "total_amount": "184.60"}
    return order
