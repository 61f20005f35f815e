"""Deterministic demo statements for the TikTok sandbox, in the shapes of TikTok's description.

Statements are entries of GET /finance/202309/statements, transactions those of the 202501
statement-transactions pages, payments entries of GET /finance/202309/payments; every key is one
TikTok declares (tests validate each served page against specs/tiktok/finance.json).

Every amount is computed in Decimal from quantised parts, so each breakdown group equals the sum of
its leaves, each transaction's groups sum to its settlement amount, and the transactions sum to the
statement's settlement amount. `supplementary_component` dicts are information only and never part
of a sum, as in TikTok's own data (DESIGN.md 4.1).
"""

import copy
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAY = 86400
UK_VAT = Decimal("0.20")
US_SALES_TAX = Decimal("0.07")
REFUND_ADMIN_CAP = Decimal("5.00")
REVENUE_KEYS = (
    "subtotal_before_discount_amount",
    "seller_discount_amount",
    "refund_subtotal_before_discount_amount",
    "seller_discount_refund_amount",
    "cod_service_fee_amount",
)
SHIPPING_KEYS = (
    "actual_shipping_fee_amount",
    "shipping_fee_discount_amount",
    "customer_paid_shipping_fee_amount",
    "return_shipping_fee_amount",
)
# US shops pay a referral fee; UK shops a platform commission that bears VAT (DESIGN.md 4.1).
US_FEE_KEYS = (
    "referral_fee_amount",
    "transaction_fee_amount",
    "affiliate_commission_amount",
    "affiliate_commission_amount_before_pit",
    "refund_administration_fee_amount",
)
UK_FEE_KEYS = (
    "platform_commission_amount",
    "transaction_fee_amount",
    "affiliate_commission_amount",
    "sfp_service_fee_amount",
    "refund_administration_fee_amount",
)
UK_VATABLE_FEES = (
    "platform_commission_amount",
    "transaction_fee_amount",
    "sfp_service_fee_amount",
    "refund_administration_fee_amount",
)
ADJUSTMENTS = {"PLATFORM_REIMBURSEMENT": (500, 3000), "SHIPPING_FEE_ADJUSTMENT": (-300, -50)}

Statement = tuple[dict, list[dict], dict | None]


def money(value: Decimal) -> str:
    """TikTok's string form: 2 dp, and never "-0.00"."""
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{ZERO if value == 0 else value:.2f}"


def _pct(amount: Decimal, rate: Decimal | str) -> Decimal:
    return (amount * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Day:
    rng: random.Random
    us: bool
    currency: str
    statement_time: int
    ids: set = field(default_factory=set)

    def new_id(self, digits: int) -> str:
        while (value := str(self.rng.randrange(10 ** (digits - 1), 10**digits))) in self.ids:
            pass
        self.ids.add(value)
        return value

    def cents(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low, high)) / 100


@dataclass
class _Sale:
    """An order's money before it is booked as a sale (positive) or reversed as a refund."""

    order_id: str
    create_time: int
    subtotal: Decimal
    seller_discount: Decimal
    platform_discount: Decimal
    customer_shipping: Decimal
    platform_shipping: Decimal
    fees: dict[str, Decimal]


def demo_statements(*, region: str, currency: str, start: date, days: int, seed: int) -> list[Statement]:
    """One statement a day from `start`, each with its transactions and a PAID payment."""
    rng = random.Random(seed)
    ids: set = set()
    statements = []
    for offset in range(days):
        midnight = datetime.combine(start + timedelta(days=offset), time(), tzinfo=UTC)
        day = _Day(rng, region.upper() == "US", currency, int(midnight.timestamp()), ids)
        statements.append(_statement(day, first=offset == 0))
    return statements


def make_inconsistent(statement: dict, transactions: list[dict]) -> tuple[dict, list[dict]]:
    """A copy whose transactions sum to one cent more than the statement (each stays consistent)."""
    statement, transactions = copy.deepcopy(statement), copy.deepcopy(transactions)
    order = next(tx for tx in transactions if tx["type"] == "ORDER")
    for holder, key in (
        (order["revenue_breakdown"], "subtotal_before_discount_amount"),
        (order, "revenue_amount"),
        (order, "settlement_amount"),
    ):
        holder[key] = money(Decimal(holder[key]) + CENT)
    return statement, transactions


def _statement(day: _Day, *, first: bool) -> Statement:
    rng = day.rng
    transactions = [_order(day, _sale(day, days_before=rng.randint(3, 10))) for _ in range(rng.randint(3, 6))]
    if first or rng.random() < 0.3:
        transactions.append(_refund(day, _sale(day, days_before=rng.randint(12, 25))))
    for kind in ADJUSTMENTS:
        if first or rng.random() < 0.25:
            transactions.append(_adjustment(day, kind))
    while _total(transactions, "settlement_amount") <= 0:  # a demo payout is always a deposit
        transactions.append(_order(day, _sale(day, days_before=3)))
    statement = _summary(day, transactions)
    return statement, transactions, _payment(day, statement)


def _sale(day: _Day, *, days_before: int) -> _Sale:
    rng = day.rng
    subtotal = sum((day.cents(799, 4999) for _ in range(rng.randint(1, 3))), ZERO)
    seller_discount = -_pct(subtotal, rng.choice(("0", "0", "0.10", "0.15")))
    customer_shipping = rng.choice((ZERO, Decimal("3.99"), Decimal("6.50")))
    base = subtotal + seller_discount  # what TikTok charges its fees on
    return _Sale(
        order_id=day.new_id(18),
        create_time=day.statement_time - days_before * DAY - rng.randint(0, DAY - 1),
        subtotal=subtotal,
        seller_discount=seller_discount,
        platform_discount=_pct(subtotal, rng.choice(("0", "0", "0.05"))),
        customer_shipping=customer_shipping,
        platform_shipping=customer_shipping if rng.random() < 0.5 else ZERO,
        fees=_fees(day, base, affiliate=rng.random() < 0.3),
    )


def _fees(day: _Day, base: Decimal, *, affiliate: bool) -> dict[str, Decimal]:
    fees = _no_fees(day)
    if day.us:
        fees["referral_fee_amount"] = -_pct(base, "0.06")
        fees["transaction_fee_amount"] = -(_pct(base, "0.029") + Decimal("0.30"))
    else:
        fees["platform_commission_amount"] = -_pct(base, "0.09")
        fees["sfp_service_fee_amount"] = -_pct(base, "0.04") if day.rng.random() < 0.3 else ZERO
    if affiliate:
        fees["affiliate_commission_amount"] = -_pct(base, "0.10")
    return fees


def _order(day: _Day, sale: _Sale) -> dict:
    customer_paid = sale.customer_shipping - sale.platform_shipping
    revenue = {
        "subtotal_before_discount_amount": sale.subtotal,
        "seller_discount_amount": sale.seller_discount,
    }
    shipping = {
        "actual_shipping_fee_amount": -day.cents(250, 799),
        "shipping_fee_discount_amount": sale.platform_shipping,
        "customer_paid_shipping_fee_amount": customer_paid,
    }
    goods = sale.subtotal + sale.seller_discount - sale.platform_discount
    sales_tax = _pct(goods + customer_paid, US_SALES_TAX) if day.us else ZERO
    info = {
        "customer_payment_amount": goods + customer_paid + sales_tax,
        "platform_discount_amount": sale.platform_discount,
        "sales_tax_amount": sales_tax,
    }
    shipping_info = {
        "platform_shipping_fee_discount_amount": sale.platform_shipping,
        "customer_shipping_fee": sale.customer_shipping,
    }
    return _transaction(
        day, "ORDER", sale, revenue, shipping, sale.fees, info=info, shipping_info=shipping_info
    )


def _refund(day: _Day, sale: _Sale) -> dict:
    """A full refund of an earlier order: revenue and fees reversed, less an administration fee."""
    fees = {key: -value for key, value in sale.fees.items()}
    reversed_fee = fees.get("referral_fee_amount", fees.get("platform_commission_amount", ZERO))
    fees["refund_administration_fee_amount"] = -min(_pct(reversed_fee, "0.20"), REFUND_ADMIN_CAP)
    revenue = {
        "refund_subtotal_before_discount_amount": -sale.subtotal,
        "seller_discount_refund_amount": -sale.seller_discount,
    }
    shipping = {"return_shipping_fee_amount": -day.cents(0, 450) if day.rng.random() < 0.5 else ZERO}
    goods = sale.subtotal + sale.seller_discount - sale.platform_discount
    sales_tax = _pct(goods, US_SALES_TAX) if day.us else ZERO
    info = {
        "customer_payment_amount": -(goods + sales_tax),
        "platform_discount_amount": -sale.platform_discount,
        "sales_tax_amount": -sales_tax,
    }
    return _transaction(day, "ORDER", sale, revenue, shipping, fees, info=info)


def _adjustment(day: _Day, kind: str) -> dict:
    """An adjustment names its order in adjustment_order_id and carries an adjustment_id instead of
    an order_id (TikTok: "Each transaction can only be associated with an order ID or an adjustment ID")."""
    sale = _Sale(day.new_id(18), day.statement_time - 20 * DAY, ZERO, ZERO, ZERO, ZERO, ZERO, {})
    amount = day.cents(*ADJUSTMENTS[kind])
    transaction = _transaction(day, kind, sale, {}, {}, _no_fees(day), adjustment=amount)
    del transaction["order_id"], transaction["order_create_time"]
    return {"adjustment_id": day.new_id(19), "adjustment_order_id": sale.order_id, **transaction}


def _no_fees(day: _Day) -> dict[str, Decimal]:
    return dict.fromkeys(US_FEE_KEYS if day.us else UK_FEE_KEYS, ZERO)


def _transaction(
    day: _Day,
    kind: str,
    sale: _Sale,
    revenue: dict[str, Decimal],
    shipping: dict[str, Decimal],
    fees: dict[str, Decimal],
    *,
    adjustment: Decimal = ZERO,
    info: dict[str, Decimal] | None = None,
    shipping_info: dict[str, Decimal] | None = None,
) -> dict:
    revenue = {key: revenue.get(key, ZERO) for key in REVENUE_KEYS}
    shipping = {key: shipping.get(key, ZERO) for key in SHIPPING_KEYS}
    tax = _tax(day, fees)
    groups = {"revenue": sum(revenue.values()), "shipping": sum(shipping.values())}
    groups["fee_tax"] = sum(fees.values()) + sum(tax.values())
    shipping_info = shipping_info or dict.fromkeys(
        ("platform_shipping_fee_discount_amount", "customer_shipping_fee"), ZERO
    )
    info = info or dict.fromkeys(
        ("customer_payment_amount", "platform_discount_amount", "sales_tax_amount"), ZERO
    )
    return {
        "id": day.new_id(19),
        "type": kind,
        "order_id": sale.order_id,
        "order_create_time": sale.create_time,
        "settlement_amount": money(sum(groups.values()) + adjustment),
        "revenue_amount": money(groups["revenue"]),
        "revenue_breakdown": _strings(revenue),
        "shipping_cost_amount": money(groups["shipping"]),
        "shipping_cost_breakdown": {**_strings(shipping), "supplementary_component": _strings(shipping_info)},
        "fee_tax_amount": money(groups["fee_tax"]),
        "fee_tax_breakdown": {"fee": _strings(fees), "tax": _strings(tax)},
        "adjustment_amount": money(adjustment),
        "supplementary_component": _strings(info),
    }


def _tax(day: _Day, fees: dict[str, Decimal]) -> dict[str, Decimal]:
    if day.us:
        return {"vat_amount": ZERO, "gst_amount": ZERO}
    # UK: TikTok charges VAT on its own fees (not on affiliate commission, which goes to creators).
    vat = _pct(sum((fees[key] for key in UK_VATABLE_FEES), ZERO), UK_VAT)
    return {"vat_amount": vat, "local_vat_amount": ZERO}


def _summary(day: _Day, transactions: list[dict]) -> dict:
    revenue = _total(transactions, "revenue_amount")
    return {
        "id": day.new_id(19),
        "statement_time": day.statement_time,
        "settlement_amount": money(_total(transactions, "settlement_amount")),
        "currency": day.currency,
        "payment_id": day.new_id(19),
        "payment_status": "PAID",
        "payment_time": day.statement_time + DAY,
        "revenue_amount": money(revenue),
        "fee_amount": money(_total(transactions, "fee_tax_amount")),
        "adjustment_amount": money(_total(transactions, "adjustment_amount")),
        "shipping_cost_amount": money(_total(transactions, "shipping_cost_amount")),
        "net_sales_amount": money(revenue),
    }


def _payment(day: _Day, statement: dict) -> dict:
    created = day.statement_time + DAY + day.rng.randint(1, 8) * 3600
    amount = {"value": statement["settlement_amount"], "currency": day.currency}
    return {
        "id": statement["payment_id"],
        "create_time": created,
        "status": "PAID",
        "amount": amount,
        "settlement_amount": dict(amount),
        "reserve_amount": {"value": money(ZERO), "currency": day.currency},
        "paid_time": created + DAY,
        "bank_account": f"****{day.rng.randint(0, 9999):04d}",
        "exchange_rate": "1",
    }


def statement_page_data(statement: dict, transactions: list[dict]) -> dict:
    """The statement-level part of a 202501 statement-transactions page `data` (no paging keys).

    The totals are the statement's own (its GET /finance/202309/statements entry), so a statement
    whose transactions disagree with it (make_inconsistent) is served as TikTok would serve it.
    The reserve sits outside the settlement: payable = settlement + reserve (TikTok's formula)."""
    settlement = Decimal(statement["settlement_amount"])
    # tolerant of the malformed transactions tests serve on purpose
    reserve = sum(
        (Decimal(tx.get("reserve_amount") or "0") for tx in transactions if isinstance(tx, dict)), ZERO
    )
    return {
        "id": statement["id"],
        "create_time": statement["statement_time"],
        "status": "SETTLED",
        "currency": statement["currency"],
        "total_settlement_amount": money(settlement),
        "total_reserve_amount": money(reserve),
        "payable_amount": money(settlement + reserve),
        "total_settlement_breakdown": {
            "total_revenue_amount": statement["revenue_amount"],
            "total_shipping_cost_amount": statement["shipping_cost_amount"],
            "total_fee_tax_amount": statement["fee_amount"],
            "total_adjustment_amount": statement["adjustment_amount"],
        },
        "total_count": len(transactions),
    }


def _total(transactions: list[dict], key: str) -> Decimal:
    return sum((Decimal(tx.get(key) or "0") for tx in transactions), ZERO)


def _strings(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {key: money(value) for key, value in amounts.items()}
