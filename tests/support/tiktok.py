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
