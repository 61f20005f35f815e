"""Statements that settle sandbox orders (sandbox_order_data.py), as TikTok's finance API serves them.

`order_transaction` is the ORDER transaction of a statement (GET /finance/202501/statements/{id}/
statement_transactions) computed from the order, in the shape of the worked US order's transaction
(tests/fixtures/tiktok/us_worked_order_statement.json; its figures come out exactly for that order).
What an invoice carries follows from the order (the sale less the seller's discount, the shipping the
buyer paid and TikTok's shipping subsidy: planning/order_settlement.COVERED), so the settlement
reconciles with the order's invoice by construction; the fees and the label cost are a seller's
figures, guesses here that only the fees journal reads. Every key is one TikTok declares in
specs/tiktok/finance.json (the sandbox validates every page it serves).
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
DAY = 86400
REFERRAL_RATE = Decimal("0.08")  # of the revenue (a guess: only the journal reads fees)
TRANSACTION_RATE = Decimal("0.03")  # of what the buyer paid (the same)
LABEL_COST = Decimal("5.60")  # shipping label TikTok charges (the same)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), ZERO)


def order_transaction(
    order: dict,
    transaction_id: str,
    *,
    referral_fee: Decimal | None = None,
    transaction_fee: Decimal | None = None,
    label_cost: Decimal = LABEL_COST,
) -> dict:
    """The sale of the whole `order` settling in a statement. Fees and label cost are positive
    amounts TikTok deducts; by default 8 % of the revenue, 3 % of what the buyer paid, 5.60."""
    pay = order["payment"]
    revenue = Decimal(pay["original_total_product_price"]) - Decimal(pay["seller_discount"])
    referral = referral_fee if referral_fee is not None else revenue * REFERRAL_RATE
    fee = transaction_fee if transaction_fee is not None else Decimal(pay["total_amount"]) * TRANSACTION_RATE
    subsidy, buyer_shipping = Decimal(pay["shipping_fee_platform_discount"]), Decimal(pay["shipping_fee"])
    shipping = -label_cost + subsidy + buyer_shipping
    fees = -Decimal(_money(referral)) - Decimal(_money(fee))
    return _transaction(
        order,
        transaction_id,
        revenue={
            "subtotal_before_discount_amount": pay["original_total_product_price"],
            "seller_discount_amount": _money(-Decimal(pay["seller_discount"])),
        },
        shipping={
            "actual_shipping_fee_amount": _money(-label_cost),
            "shipping_fee_discount_amount": _money(subsidy),
            "customer_paid_shipping_fee_amount": _money(buyer_shipping),
        },
        shipping_supplement={
            "platform_shipping_fee_discount_amount": _money(subsidy),
            "customer_shipping_fee": pay["original_shipping_fee"],
        },
        fees={"referral_fee_amount": _money(-referral), "transaction_fee_amount": _money(-fee)},
        supplement={
            "customer_payment_amount": pay["total_amount"],
            "platform_discount_amount": pay["platform_discount"],
            "sales_tax_amount": pay.get("tax", "0"),
        },
        totals=(revenue, shipping, fees),
    )


def refund_transaction(order: dict, returned: dict, transaction_id: str) -> dict:
    """The refund of a return (`returned`, return_refund.json) of `order`, settling in a statement
    after the sale did: TikTok takes back each returned line's price less the seller's discount
    and gives back the referral fee on it (a guess at TikTok's figures; only their sum matters)."""
    ids = {line["order_line_item_id"] for line in returned["return_line_items"]}
    lines = [line for line in order["line_items"] if line["id"] in ids]
    original = _sum(line["original_price"] for line in lines)
    seller = _sum(line["seller_discount"] for line in lines)
    referral = Decimal(_money((original - seller) * REFERRAL_RATE))
    return _transaction(
        order,
        transaction_id,
        revenue={
            "refund_subtotal_before_discount_amount": _money(-original),
            "seller_discount_refund_amount": _money(seller),
        },
        shipping={},
        shipping_supplement={},
        fees={"referral_fee_amount": _money(referral)},
        supplement={},
        totals=(seller - original, ZERO, referral),
    )


def _transaction(order, transaction_id, *, revenue, shipping, shipping_supplement, fees, supplement, totals):
    zero = "0"
    revenue_amount, shipping_amount, fee_amount = totals
    return {
        "id": transaction_id,
        "type": "ORDER",
        "order_id": order["id"],
        "order_create_time": order["create_time"],
        "settlement_amount": _money(revenue_amount + shipping_amount + fee_amount),
        "revenue_amount": _money(revenue_amount),
        "revenue_breakdown": {
            "subtotal_before_discount_amount": zero,
            "seller_discount_amount": zero,
            "refund_subtotal_before_discount_amount": zero,
            "seller_discount_refund_amount": zero,
            "cod_service_fee_amount": zero,
        }
        | revenue,
        "shipping_cost_amount": _money(shipping_amount),
        "shipping_cost_breakdown": {
            "actual_shipping_fee_amount": zero,
            "shipping_fee_discount_amount": zero,
            "customer_paid_shipping_fee_amount": zero,
            "return_shipping_fee_amount": zero,
        }
        | shipping
        | {
            "supplementary_component": {
                "platform_shipping_fee_discount_amount": zero,
                "customer_shipping_fee": zero,
            }
            | shipping_supplement
        },
        "fee_tax_amount": _money(fee_amount),
        "fee_tax_breakdown": {
            "fee": {
                "referral_fee_amount": zero,
                "transaction_fee_amount": zero,
                "affiliate_commission_amount": zero,
                "affiliate_commission_amount_before_pit": zero,
            }
            | fees,
            "tax": {"vat_amount": zero, "gst_amount": zero},
        },
        "adjustment_amount": zero,
        "supplementary_component": {
            "customer_payment_amount": zero,
            "platform_discount_amount": zero,
            "sales_tax_amount": zero,
        }
        | supplement,
    }


def statement_and_payment(
    transactions: list[dict], statement_id: str, statement_time: int, *, currency: str = "USD"
) -> tuple[dict, list[dict], dict]:
    """A statement of `transactions` (GET /finance/202309/statements) and its PAID payment
    (GET /finance/202309/payments), created a day after the statement and paid a day later."""
    total = lambda key: _money(_sum(t[key] for t in transactions))  # noqa: E731
    statement = {
        "id": statement_id,
        "statement_time": statement_time,
        "settlement_amount": total("settlement_amount"),
        "currency": currency,
        "payment_id": f"7309{statement_id[4:]}",
        "payment_status": "PAID",
        "payment_time": statement_time + DAY,
        "revenue_amount": total("revenue_amount"),
        "fee_amount": total("fee_tax_amount"),
        "adjustment_amount": total("adjustment_amount"),
        "shipping_cost_amount": total("shipping_cost_amount"),
        "net_sales_amount": total("revenue_amount"),
    }
    amount = {"value": statement["settlement_amount"], "currency": currency}
    payment = {
        "id": statement["payment_id"],
        "create_time": statement_time + DAY,
        "status": "PAID",
        "amount": amount,
        "settlement_amount": dict(amount),
        "reserve_amount": {"value": "0.00", "currency": currency},
        "paid_time": statement_time + 2 * DAY,
        "bank_account": "****0042",
        "exchange_rate": "1",
    }
    return statement, transactions, payment
