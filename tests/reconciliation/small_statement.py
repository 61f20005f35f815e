"""One hand-written TikTok statement with round figures, for tests that assert exact journal lines.

Shaped as TikTok's description gives it (the world's sandbox validates every page it serves).

A single order of 50.00 with a 5.00 referral fee settles 45.00; `amended()` is the same statement
after TikTok adds a -1.50 shipping fee adjustment (settlement and payout 43.50).
"""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from tests.reconciliation.world import CIPHER

STATEMENT_ID, PAYMENT_ID = "7500000000000000001", "7600000000000000001"
REVENUE = (
    "subtotal_before_discount_amount",
    "seller_discount_amount",
    "refund_subtotal_before_discount_amount",
    "seller_discount_refund_amount",
    "cod_service_fee_amount",
)
SHIPPING = (
    "actual_shipping_fee_amount",
    "shipping_fee_discount_amount",
    "customer_paid_shipping_fee_amount",
    "return_shipping_fee_amount",
)
FEES = (
    "referral_fee_amount",
    "transaction_fee_amount",
    "affiliate_commission_amount",
    "affiliate_commission_amount_before_pit",
    "refund_administration_fee_amount",
)


def _tx(tx_id: str, kind: str, *, subtotal="0.00", referral="0.00", adjustment="0.00") -> dict:
    revenue = dict.fromkeys(REVENUE, "0.00") | {"subtotal_before_discount_amount": subtotal}
    fees = dict.fromkeys(FEES, "0.00") | {"referral_fee_amount": referral}
    settlement = Decimal(subtotal) + Decimal(referral) + Decimal(adjustment)
    return {
        "id": tx_id,
        "type": kind,
        "order_id": f"58000000000000{tx_id[-4:]}",
        "order_create_time": 1_700_000_000,
        "settlement_amount": f"{settlement:.2f}",
        "revenue_amount": subtotal,
        "revenue_breakdown": revenue,
        "shipping_cost_amount": "0.00",
        "shipping_cost_breakdown": dict.fromkeys(SHIPPING, "0.00")
        | {
            "supplementary_component": {
                "platform_shipping_fee_discount_amount": "0.00",
                "customer_shipping_fee": "0.00",
            }
        },
        "fee_tax_amount": referral,
        "fee_tax_breakdown": {"fee": fees, "tax": {"vat_amount": "0.00", "gst_amount": "0.00"}},
        "adjustment_amount": adjustment,
        "supplementary_component": {
            "customer_payment_amount": "0.00",
            "platform_discount_amount": "0.00",
            "sales_tax_amount": "0.00",
        },
    }


def statement(day, *, amended: bool = False, statement_id=STATEMENT_ID, payment_id=PAYMENT_ID):
    """(statement, transactions, payment) as TikTok serves them, dated `day` (UTC midnight)."""
    transactions = [_tx("8000000000000000001", "ORDER", subtotal="50.00", referral="-5.00")]
    if amended:
        transactions.append(_tx("8000000000000000002", "SHIPPING_FEE_ADJUSTMENT", adjustment="-1.50"))
    settlement = sum((Decimal(t["settlement_amount"]) for t in transactions), Decimal("0"))
    when = int(datetime.combine(day, time(), tzinfo=UTC).timestamp())
    summary = {
        "id": statement_id,
        "statement_time": when,
        "settlement_amount": f"{settlement:.2f}",
        "currency": "USD",
        "payment_id": payment_id,
        "payment_status": "PAID",
        "revenue_amount": "50.00",
        "fee_amount": "-5.00",
        "adjustment_amount": "-1.50" if amended else "0.00",
        "shipping_cost_amount": "0.00",
        "net_sales_amount": "50.00",
    }
    created = when + int(timedelta(hours=30).total_seconds())
    amount = {"value": f"{settlement:.2f}", "currency": "USD"}
    payment = {
        "id": payment_id,
        "create_time": created,
        "status": "PAID",
        "amount": amount,
        "settlement_amount": dict(amount),
        "reserve_amount": {"value": "0.00", "currency": "USD"},
        "paid_time": created + 86400,
        "bank_account": "****0001",
        "exchange_rate": "1",
    }
    return summary, transactions, payment


def serve(world, *, amended: bool = False, cipher: str = CIPHER, **ids) -> None:
    world.tiktok.add_statement(cipher, *statement(world.start, amended=amended, **ids))


def lines(journal: dict) -> list[tuple[str, str]]:
    """(account, amount) of each line, sorted: easy to compare with the figures of an issue."""
    return sorted(
        (line["AccountCode"], f"{Decimal(str(line['LineAmount'])):.2f}") for line in journal["JournalLines"]
    )
