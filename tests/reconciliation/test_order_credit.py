"""Refunds and cancellations after the invoice (planning/order_credit.py), and their settlement."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from reconciliation.domain.tiktok import Component, StatementTransaction
from reconciliation.planning.invoice_arithmetic import xero_totals
from reconciliation.planning.order_credit import InvoiceState, OrderRefund, plan_order_credit
from reconciliation.planning.order_settlement import plan_order_settlement
from reconciliation.planning.types import ComponentRule
from tests.reconciliation.order_fixtures import (
    GROSS,
    MAPS,
    NET,
    US_ORDER_SHOP,
    WORKED_ORDER_ID,
    order_org,
    worked_order,
    worked_statement,
)
from tests.reconciliation.planning_fixtures import US_RULES
from tests.reconciliation.test_order_settlement import clearing_movement
from tests.reconciliation.xero_payloads import validate

D = Decimal
HOODIE = "576500000000100001"
INVOICE = InvoiceState(f"order {WORKED_ORDER_ID}:invoice", f"TT-{WORKED_ORDER_ID}", D("0"))
RETURN = OrderRefund("4035000000000000001", WORKED_ORDER_ID, date(2025, 11, 20), (HOODIE,))


def credit_lines(plan):
    return [
        (line["Description"], line["UnitAmount"], line["AccountCode"])
        for line in plan.documents[0].payload["LineItems"]
    ]


def test_a_return_after_payment_credits_exactly_the_returned_line_and_is_refunded_from_clearing(
    xero_spec_path,
):
    plan, document = plan_order_credit(
        worked_order(),
        RETURN,
        invoice=INVOICE,
        shop=US_ORDER_SHOP,
        settings=GROSS,
        maps=MAPS,
        org=order_org(),
    )
    assert plan.problems == ()
    (credit,) = plan.documents  # the invoice is paid: nothing to allocate
    assert credit_lines(plan) == [
        ("Heavyweight hoodie", D("99.95"), "4000"),
        ("Seller discount: Heavyweight hoodie", D("-14.99"), "4010"),
        ("TikTok reimbursement of its platform discount", D("12.71"), "4060"),
        ("TikTok platform discount", D("-12.71"), "4050"),
        ("Sales tax collected and remitted by TikTok (marketplace facilitator)", D("5.95"), "2300"),
    ]
    assert credit.payload["Type"] == "ACCRECCREDIT"
    assert credit.payload["CreditNoteNumber"] == f"TT-{WORKED_ORDER_ID}-R4035000000000000001"
    assert xero_totals(credit.payload["LineItems"], "NoTax", None)[0] == D("90.91")
    assert document is not None
    assert (document.kind, document.amount, document.tax_kept) == ("credit_note", D("90.91"), D("5.95"))
    validate(xero_spec_path, credit)

    # The return settles in a later statement: TikTok takes back the sale less the seller's
    # discount (84.96), gives back the referral fee (10.00) less its 20% administration fee (2.00).
    row = StatementTransaction(
        "t-return",
        "ORDER",
        WORKED_ORDER_ID,
        D("-76.96"),
        (
            Component("revenue.refund_subtotal_before_discount_amount", D("-99.95"), "t-return"),
            Component("revenue.seller_discount_refund_amount", D("14.99"), "t-return"),
            Component("fee.referral_fee_amount", D("10.00"), "t-return"),
            Component("fee.refund_administration_fee_amount", D("-2.00"), "t-return"),
        ),
    )
    statement = replace(
        worked_statement(),
        statement_id="7301000000000000009",
        transactions=(row,),
        settlement_amount=D("-76.96"),
    )
    rules = {
        **US_RULES,
        "fee.refund_administration_fee_amount": ComponentRule("6100", description="Marketplace fees"),
    }
    settled = plan_order_settlement(
        statement,
        shop=US_ORDER_SHOP,
        documents={WORKED_ORDER_ID: [document]},
        rules=rules,
        sales_tax_account="2300",
        org=order_org(),
    )
    assert settled.problems == ()
    refund, journal = settled.documents
    assert refund.payload["CreditNote"] == {"CreditNoteNumber": f"TT-{WORKED_ORDER_ID}-R4035000000000000001"}
    assert refund.payload["Amount"] == D("90.91") and refund.depends_on == (credit.key,)
    assert [(line["AccountCode"], line["LineAmount"]) for line in journal.payload["JournalLines"]] == [
        ("6100", D("-8.00")),
        ("2300", D("-5.95")),  # the tax TikTok refunded to the buyer, no longer remitted
        ("1210", D("13.95")),
    ]
    assert clearing_movement(settled) == D("-76.96")
    for planned in settled.documents:
        validate(xero_spec_path, planned)


def test_a_cancellation_while_the_invoice_is_open_is_allocated_to_it(xero_spec_path):
    cancel = OrderRefund(
        "cancel-1", WORKED_ORDER_ID, date(2025, 11, 12), (HOODIE, "576500000000100002"), shipping=True
    )
    open_invoice = replace(INVOICE, amount_due=D("207.06"))
    plan, document = plan_order_credit(
        worked_order(),
        cancel,
        invoice=open_invoice,
        shop=US_ORDER_SHOP,
        settings=NET,
        maps=MAPS,
        org=order_org(),
    )
    assert plan.problems == () and document is None  # the invoice took all of it
    credit, allocation = plan.documents
    assert xero_totals(credit.payload["LineItems"], "NoTax", None)[0] == D("207.06")
    assert allocation.kind == "Allocations"
    assert allocation.payload == {
        "Invoice": {"InvoiceNumber": f"TT-{WORKED_ORDER_ID}"},
        "Amount": D("207.06"),
        "Date": "2025-11-12",
    }
    assert allocation.depends_on == (credit.key, open_invoice.key)
    validate(xero_spec_path, credit)
    validate(xero_spec_path, allocation)


def test_credit_the_open_invoice_cannot_take_is_left_for_clearing():
    partly_paid = replace(INVOICE, amount_due=D("50.00"))
    plan, document = plan_order_credit(
        worked_order(),
        RETURN,
        invoice=partly_paid,
        shop=US_ORDER_SHOP,
        settings=NET,
        maps=MAPS,
        org=order_org(),
    )
    assert plan.documents[1].payload["Amount"] == D("50.00")
    assert document is not None and document.amount == D("84.96") - D("50.00")


def test_a_refund_of_a_line_the_order_does_not_have_is_inconsistent():
    refund = replace(RETURN, line_ids=("nope",))
    plan, document = plan_order_credit(
        worked_order(), refund, invoice=INVOICE, shop=US_ORDER_SHOP, settings=NET, maps=MAPS, org=order_org()
    )
    assert document is None and [p.code for p in plan.problems] == ["SOURCE_INCONSISTENT"]
    assert "refunds line(s) nope the order does not have" in plan.problems[0].message
