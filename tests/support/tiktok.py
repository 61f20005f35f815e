"""Small builders for TikTok statement pages in the shape of TikTok's description."""

from decimal import Decimal

GROUP_TOTALS = {
    "total_revenue_amount": "revenue_amount",
    "total_shipping_cost_amount": "shipping_cost_amount",
    "total_fee_tax_amount": "fee_tax_amount",
    "total_adjustment_amount": "adjustment_amount",
}


def _sum(transactions: list[dict], key: str) -> Decimal:
    return sum((Decimal(t.get(key) or "0") for t in transactions), Decimal("0"))


def restate(data: dict) -> dict:
    """Recompute a page `data`'s statement totals from its transactions, after a test edited them,
    so that only the inconsistency the test means to make remains."""
    transactions = data["transactions"]
    settlement, reserve = _sum(transactions, "settlement_amount"), _sum(transactions, "reserve_amount")
    data["total_settlement_amount"] = f"{settlement:.2f}"
    data["total_reserve_amount"] = f"{reserve:.2f}"
    data["payable_amount"] = f"{settlement + reserve:.2f}"
    data["total_settlement_breakdown"] = {
        total: f"{_sum(transactions, key):.2f}" for total, key in GROUP_TOTALS.items()
    }
    data["total_count"] = len(transactions)
    return data


def money(value) -> str:
    return f"{Decimal(value):.2f}"


def order_transaction(txn_id: str, order_id: str, subtotal: str, **fees: str) -> dict:
    """An ORDER transaction: a sale of `subtotal` and optional fees (negative strings) by leaf name."""
    fee_total = sum((Decimal(v) for v in fees.values()), Decimal("0"))
    return {
        "id": txn_id,
        "type": "ORDER",
        "order_id": order_id,
        "order_create_time": 1763000000,
        "settlement_amount": money(Decimal(subtotal) + fee_total),
        "revenue_amount": money(subtotal),
        "revenue_breakdown": {"subtotal_before_discount_amount": money(subtotal)},
        "shipping_cost_amount": "0.00",
        "shipping_cost_breakdown": {},
        "fee_tax_amount": money(fee_total),
        "fee_tax_breakdown": {"fee": {k: money(v) for k, v in fees.items()}, "tax": {}},
        "adjustment_amount": "0.00",
    }


def reserve_transaction(txn_id: str, amount: str, *, status: str = "COLLECTED") -> dict:
    """A RESERVE transaction: money withheld (negative) or released (positive), outside the settlement."""
    return {
        "id": txn_id,
        "type": "RESERVE",
        "reserve_id": f"r{txn_id}",
        "associated_order_id": "576000000000000099",
        "reserve_status": status,
        "estimated_release_time": "" if status == "RELEASED" else "1765000000",
        "settlement_amount": "0.00",
        "reserve_amount": money(amount),
    }


def statement_entry(
    statement_id: str, statement_time: int, payment_id: str, transactions: list[dict]
) -> dict:
    """The GET /finance/202309/statements entry for these transactions (totals are their sums)."""
    return {
        "id": statement_id,
        "statement_time": statement_time,
        "currency": "USD",
        "settlement_amount": money(_sum(transactions, "settlement_amount")),
        "revenue_amount": money(_sum(transactions, "revenue_amount")),
        "shipping_cost_amount": money(_sum(transactions, "shipping_cost_amount")),
        "fee_amount": money(_sum(transactions, "fee_tax_amount")),
        "adjustment_amount": money(_sum(transactions, "adjustment_amount")),
        "payment_id": payment_id,
        "payment_status": "PAID",
    }


def payment_entry(
    payment_id: str, create_time: int, amount: str, *, reserve: str = "0", settlement: str
) -> dict:
    """A GET /finance/202309/payments entry (amounts as {value, currency} objects)."""
    usd = lambda value: {"value": money(value), "currency": "USD"}  # noqa: E731
    return {
        "id": payment_id,
        "create_time": create_time,
        "paid_time": create_time + 3600,
        "status": "PAID",
        "amount": usd(amount),
        "settlement_amount": usd(settlement),
        "reserve_amount": usd(reserve),
        "payment_amount_before_exchange": usd(amount),
        "exchange_rate": "1.000000",
        "bank_account": "***********1234",
    }
