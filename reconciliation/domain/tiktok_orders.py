"""TikTok Shop order facts (DESIGN.md 4.1, 4.4): frozen, Decimal, no ORM, no HTTP.

Two sources, both read as TikTok's published description names them (specs/tiktok):

- the order detail, one element of `data.orders` of `GET /order/202309/orders?ids=` (order.json):
  what the buyer bought and paid. A line item is ONE unit (TikTok has no quantity field); a virtual
  bundle lists its parts in `combined_listing_skus` (seller_sku, sku_id, sku_count). Amounts are
  strings in the order's currency, positive (a discount is a positive amount taken off).
- the order's settlement, `data` of `GET /finance/202501/orders/{order_id}/statement_transactions`
  (finance.json): per SKU and per statement, the same additive leaves as a 202501 statement
  transaction (tiktok_leaves), signed as TikTok signs them (money to the seller positive).

Nothing here raises on JSON input: unreadable data is a Problem (SOURCE_INCONSISTENT) naming the
field, and facts are None.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reconciliation.domain import tiktok_leaves as leaves
from reconciliation.domain.money import ZERO, AmountError, parse_amount
from reconciliation.domain.tiktok import Component, StatementTransaction
from reconciliation.domain.tiktok_time import local_date
from reconciliation.planning.types import Problem

INCONSISTENT = "SOURCE_INCONSISTENT"
CANCELLED = "CANCELLED"
# Payment fields we have no invoice line for yet: an order that carries any of them is held rather
# than posted short (a guess at what is rare in US/UK shops; listed so it is never silent).
UNSUPPORTED_PAYMENT_FIELDS = (
    "retail_delivery_fee",
    "buyer_service_fee",
    "handling_fee",
    "item_insurance_fee",
    "shipping_insurance_fee",
    "small_order_fee",
)


class Unreadable(ValueError):
    """Order data that is not in the shape TikTok describes; the message says where."""


@dataclass(frozen=True)
class BundlePart:
    """One SKU inside a virtual bundle (`combined_listing_skus[]`): `count` units of it per bundle."""

    seller_sku: str
    sku_id: str
    count: int


@dataclass(frozen=True)
class OrderLine:
    """One unit sold (`line_items[]`). Amounts in the order's currency, each >= 0:

    `original_price` before any discount; `seller_discount` funded by the seller; `platform_discount`
    funded by TikTok (TikTok pays it back to the seller in the settlement); `sale_price` what the buyer
    paid before tax (= original - seller - platform, checked); `tax` the sum of `item_tax[].tax_amount`
    (US sales tax, remitted by TikTok as marketplace facilitator); `tax_rate` and `tax_name` as TikTok
    states them ("" when it states none). `bundle` is empty for a plain SKU. `status` is its
    `display_status` (a cancelled line is CANCELLED).
    """

    id: str
    sku_id: str
    seller_sku: str
    name: str
    original_price: Decimal
    seller_discount: Decimal
    platform_discount: Decimal
    sale_price: Decimal
    tax: Decimal = ZERO
    tax_rate: str = ""
    tax_name: str = ""
    bundle: tuple[BundlePart, ...] = ()
    status: str = ""

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass(frozen=True)
class OrderFacts:
    """A TikTok order as invoicing needs it (`payment` amounts, all >= 0, in `currency`).

    `order_date`: `paid_time` (else `create_time`) as a calendar date in the shop's zone.
    `shipping_fee` is what the buyer paid for shipping = original_shipping_fee - shipping_fee_seller_discount
    (incl. the co-funded one) - shipping_fee_platform_discount. `tax` = product_tax + shipping_fee_tax,
    what TikTok collected as sales tax; `total_amount` = sub_total + shipping_fee + tax, what the buyer paid.
    """

    order_id: str
    status: str
    currency: str
    order_date: date
    lines: tuple[OrderLine, ...]
    original_shipping_fee: Decimal
    shipping_fee: Decimal
    shipping_fee_platform_discount: Decimal
    shipping_fee_seller_discount: Decimal
    product_tax: Decimal
    shipping_fee_tax: Decimal
    tax: Decimal
    sub_total: Decimal
    total_amount: Decimal
    is_sample: bool = False
    is_replacement: bool = False
    is_exchange: bool = False

    @property
    def excluded_reason(self) -> str:
        """Why the order is not a sale (DESIGN.md 4.1: samples, replacements and exchanges), or ""."""
        flags = [
            ("sample", self.is_sample),
            ("replacement", self.is_replacement),
            ("exchange", self.is_exchange),
        ]
        return ", ".join(f"{name} order" for name, on in flags if on)

    @property
    def platform_discount(self) -> Decimal:
        return sum((line.platform_discount for line in self.lines), ZERO)

    @property
    def seller_discount(self) -> Decimal:
        return sum((line.seller_discount for line in self.lines), ZERO)


def order_ref(order_id: str) -> str:
    return f"TikTok order {order_id}"


def orders_in(envelope) -> list:
    """The order objects of a `GET /order/202309/orders` response (the envelope or its `data`)."""
    data = envelope.get("data", envelope) if isinstance(envelope, dict) else None
    orders = data.get("orders") if isinstance(data, dict) else None
    return orders if isinstance(orders, list) else []


def order_facts(raw, *, timezone: str) -> tuple[OrderFacts | None, list[Problem]]:
    """One order object -> (facts, problems). Problems: SOURCE_INCONSISTENT when the data cannot be
    read or its own formulas (TikTok's description of sub_total, shipping_fee, total_amount) do not
    hold; UNSUPPORTED_ORDER for a non-zero payment field we have no line for."""
    order_id = str(raw.get("id") or "?") if isinstance(raw, dict) else "?"
    ref = order_ref(order_id)
    try:
        facts = _order(raw, timezone)
    except (Unreadable, AmountError) as exc:
        return None, [Problem(INCONSISTENT, f"{ref}: unreadable order data: {exc}", ref)]
    return facts, _order_problems(facts, raw, ref)


def _text(raw: dict, key: str) -> str:
    value = raw.get(key, "")
    return value if isinstance(value, str) else ""


def _money(raw: dict, key: str, where: str) -> Decimal:
    amount = parse_amount(raw.get(key, ""), where=f"{where}.{key}")
    if amount < ZERO:
        raise Unreadable(f"{where}.{key} is {amount}; TikTok states order amounts as positive figures")
    return amount


def _order(raw, timezone: str) -> OrderFacts:
    if not isinstance(raw, dict):
        raise Unreadable("the order is not a JSON object")
    order_id = _text(raw, "id")
    if not order_id:
        raise Unreadable("the order has no id")
    payment = raw.get("payment")
    if not isinstance(payment, dict):
        raise Unreadable("payment is missing")
    currency = _text(payment, "currency").upper()
    if len(currency) != 3:
        raise Unreadable(f"payment.currency is {payment.get('currency')!r}, not an ISO 4217 code")
    raw_lines = raw.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise Unreadable("line_items is missing or empty")
    when = raw.get("paid_time") or raw.get("create_time")
    if isinstance(when, bool) or not isinstance(when, int):
        raise Unreadable(f"paid_time/create_time is {when!r}, not a unix time")
    money = {key: _money(payment, key, "payment") for key in _PAYMENT_FIELDS}
    return OrderFacts(
        order_id=order_id,
        status=_text(raw, "status"),
        currency=currency,
        order_date=local_date(when, timezone),
        lines=tuple(_line(item, n) for n, item in enumerate(raw_lines, start=1)),
        original_shipping_fee=money["original_shipping_fee"],
        shipping_fee=money["shipping_fee"],
        shipping_fee_platform_discount=money["shipping_fee_platform_discount"],
        shipping_fee_seller_discount=money["shipping_fee_seller_discount"]
        + money["shipping_fee_cofunded_discount"],
        product_tax=money["product_tax"],
        shipping_fee_tax=money["shipping_fee_tax"],
        tax=money["tax"],
        sub_total=money["sub_total"],
        total_amount=money["total_amount"],
        is_sample=raw.get("is_sample_order") is True,
        is_replacement=raw.get("is_replacement_order") is True,
        is_exchange=raw.get("is_exchange_order") is True,
    )


_PAYMENT_FIELDS = (
    "original_shipping_fee",
    "shipping_fee",
    "shipping_fee_platform_discount",
    "shipping_fee_seller_discount",
    "shipping_fee_cofunded_discount",
    "product_tax",
    "shipping_fee_tax",
    "tax",
    "sub_total",
    "total_amount",
    "original_total_product_price",
    "seller_discount",
    "platform_discount",
)


def _line(raw, number: int) -> OrderLine:
    where = f"line_items[{number - 1}]"
    if not isinstance(raw, dict):
        raise Unreadable(f"{where} is not an object")
    line_id = _text(raw, "id")
    if not line_id:
        raise Unreadable(f"{where} has no id")
    taxes = raw.get("item_tax") or []
    if not isinstance(taxes, list):
        raise Unreadable(f"{where}.item_tax is not a list")
    tax = sum((_money(t, "tax_amount", f"{where}.item_tax") for t in taxes if isinstance(t, dict)), ZERO)
    rates = {_text(t, "tax_rate") for t in taxes if isinstance(t, dict)}
    names = {_text(t, "tax_type") for t in taxes if isinstance(t, dict)}
    return OrderLine(
        id=line_id,
        sku_id=_text(raw, "sku_id"),
        seller_sku=_text(raw, "seller_sku"),
        name=_text(raw, "product_name") or _text(raw, "sku_name"),
        original_price=_money(raw, "original_price", where),
        seller_discount=_money(raw, "seller_discount", where),
        platform_discount=_money(raw, "platform_discount", where),
        sale_price=_money(raw, "sale_price", where),
        tax=tax,
        tax_rate=",".join(sorted(r for r in rates if r)),
        tax_name=",".join(sorted(n for n in names if n)),
        bundle=_bundle(raw.get("combined_listing_skus"), where),
        status=_text(raw, "display_status"),
    )


def _bundle(raw, where: str) -> tuple[BundlePart, ...]:
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise Unreadable(f"{where}.combined_listing_skus is not a list")
    parts = []
    for n, part in enumerate(raw):
        count = part.get("sku_count") if isinstance(part, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise Unreadable(f"{where}.combined_listing_skus[{n}].sku_count is {count!r}, not a count")
        parts.append(BundlePart(_text(part, "seller_sku"), _text(part, "sku_id"), count))
    return tuple(parts)


def _order_problems(facts: OrderFacts, raw: dict, ref: str) -> list[Problem]:
    """TikTok's own formulas (order.json, `payment`), each naming the figures it compared."""
    payment = raw["payment"]
    stated = {key: _money(payment, key, "payment") for key in _PAYMENT_FIELDS}
    checks = [
        ("sum of line_items original_price", _sum(facts, "original_price"), "original_total_product_price"),
        ("sum of line_items seller_discount", facts.seller_discount, "seller_discount"),
        ("sum of line_items platform_discount", facts.platform_discount, "platform_discount"),
        ("sum of line_items sale_price", _sum(facts, "sale_price"), "sub_total"),
        ("sum of line_items item_tax", _sum(facts, "tax"), "product_tax"),
        (
            "original_total_product_price - seller_discount - platform_discount",
            stated["original_total_product_price"] - stated["seller_discount"] - stated["platform_discount"],
            "sub_total",
        ),
        (
            "original_shipping_fee - shipping_fee_seller_discount - shipping_fee_cofunded_discount - "
            "shipping_fee_platform_discount",
            facts.original_shipping_fee
            - facts.shipping_fee_seller_discount
            - facts.shipping_fee_platform_discount,
            "shipping_fee",
        ),
        ("product_tax + shipping_fee_tax", facts.product_tax + facts.shipping_fee_tax, "tax"),
        ("sub_total + shipping_fee + tax", facts.sub_total + facts.shipping_fee + facts.tax, "total_amount"),
    ]
    problems = [
        Problem(INCONSISTENT, f"{ref}: {label} is {figure}, payment.{field} is {stated[field]}", ref)
        for label, figure, field in checks
        if figure != stated[field]
    ]
    for line in facts.lines:
        expected = line.original_price - line.seller_discount - line.platform_discount
        if expected != line.sale_price:
            problems.append(
                Problem(
                    INCONSISTENT,
                    f"{ref}: line {line.id} original_price - seller_discount - platform_discount is {expected}, "
                    f"its sale_price is {line.sale_price}",
                    ref,
                )
            )
    for key in UNSUPPORTED_PAYMENT_FIELDS:
        try:
            amount = parse_amount(payment.get(key, ""), where=f"payment.{key}")
        except AmountError as exc:
            problems.append(Problem(INCONSISTENT, f"{ref}: {exc}", ref))
            continue
        if amount:
            problems.append(
                Problem(
                    "UNSUPPORTED_ORDER",
                    f"{ref}: payment.{key} is {amount}; order invoices have no line for it yet, so the order "
                    "is held rather than invoiced short",
                    ref,
                )
            )
    return problems


def _sum(facts: OrderFacts, attribute: str) -> Decimal:
    return sum((getattr(line, attribute) for line in facts.lines), ZERO)


# The order's settlement -------------------------------------------------------------------------


def order_settlement(
    raw, *, order_id: str = ""
) -> tuple[tuple[StatementTransaction, ...] | None, list[Problem]]:
    """`GET /finance/202501/orders/{order_id}/statement_transactions` (envelope or `data`) ->
    one StatementTransaction per (statement_id, sku_id) row, typed ORDER, with the same component
    names as statement mode (revenue.*, shipping.*, fee.*, tax.*), so the same component map reads
    both. Checks: each row's leaves against its group totals and its settlement_amount, and the rows
    against the order-level totals (all signed sums: money to the seller positive, the convention
    docs/ARCHITECTURE.md "Signs" records)."""
    data = raw.get("data", raw) if isinstance(raw, dict) else None
    oid = order_id or (str(data.get("order_id") or "") if isinstance(data, dict) else "") or "?"
    ref = order_ref(oid)
    try:
        if not isinstance(data, dict):
            raise Unreadable("no data object")
        rows = data.get("sku_transactions") or []
        if not isinstance(rows, list):
            raise Unreadable("sku_transactions is not a list")
        transactions = tuple(_sku_transaction(row, n, oid) for n, row in enumerate(rows))
        problems = _settlement_problems(data, transactions, ref)
    except (Unreadable, AmountError) as exc:
        return None, [Problem(INCONSISTENT, f"{ref}: unreadable order settlement: {exc}", ref)]
    return transactions, problems


def _sku_transaction(row, number: int, order_id: str) -> StatementTransaction:
    where = f"sku_transactions[{number}]"
    if not isinstance(row, dict):
        raise Unreadable(f"{where} is not an object")
    components: list[Component] = []
    totals: dict[str, Decimal] = {}
    residues: list[str] = []
    txn_id = f"{order_id}:{_text(row, 'statement_id')}:{_text(row, 'sku_id')}:{number}"
    for group, spec in leaves.GROUPS.items():
        total_field, breakdown_field = str(spec[0]), str(spec[1])
        subgroups: dict = spec[2]  # type: ignore[assignment]
        totals[group] = parse_amount(row.get(total_field, ""), where=f"{where}.{total_field}")
        breakdown = row.get(breakdown_field) or {}
        if not isinstance(breakdown, dict):
            raise Unreadable(f"{where}.{breakdown_field} is not an object")
        found = []
        for sub, allowed in subgroups.items():
            container: object = (breakdown.get(sub) or {}) if sub else breakdown
            if not isinstance(container, dict):
                raise Unreadable(f"{where}.{breakdown_field}.{sub} is not an object")
            prefix = leaves.PREFIX[(group, sub)]
            for key, value in container.items():
                if key in allowed:
                    amount = parse_amount(value, where=f"{where}.{prefix}.{key}")
                    if amount:
                        found.append(Component(f"{prefix}.{key}", amount, txn_id))
        residual = totals[group] - sum((c.amount for c in found), ZERO)
        if residual:
            residues.append(
                f"{where}: its {group} leaves add up to {totals[group] - residual}, {total_field} is {totals[group]}"
            )
        components += found
    return StatementTransaction(
        id=txn_id,
        type="ORDER",
        order_id=order_id,
        settlement_amount=parse_amount(row.get("settlement_amount", ""), where=f"{where}.settlement_amount"),
        components=tuple(components),
        information={"statement_id": _text(row, "statement_id"), "sku_id": _text(row, "sku_id")},
        residues=tuple(residues),
        totals=totals,
    )


def _settlement_problems(data: dict, rows: tuple[StatementTransaction, ...], ref: str) -> list[Problem]:
    messages = [m for t in rows for m in t.residues]
    for row in rows:
        if sum(row.totals.values(), ZERO) != row.settlement_amount:
            messages.append(
                f"row {row.id}: its groups add up to {sum(row.totals.values(), ZERO)}, its settlement_amount is {row.settlement_amount}"
            )
    order_totals = {
        "settlement_amount": sum((t.settlement_amount for t in rows), ZERO),
        "revenue_amount": sum((t.totals["revenue"] for t in rows), ZERO),
        "shipping_cost_amount": sum((t.totals["shipping"] for t in rows), ZERO),
        "fee_and_tax_amount": sum((t.totals["fee_tax"] for t in rows), ZERO),
    }
    for field, figure in order_totals.items():
        if data.get(field) in (None, ""):
            continue
        stated = parse_amount(data[field], where=f"data.{field}")
        if stated != figure:
            messages.append(f"its rows' {field} add up to {figure}, data.{field} is {stated}")
    return [Problem(INCONSISTENT, f"{ref}: {m}", ref) for m in messages]
