"""When a statement settles in order-invoice mode (planning/order_settlement.py)."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok import PayoutFacts, StatementFacts, StatementTransaction
from reconciliation.planning.order_invoice import (
    expected_invoice_total,
    plan_order_invoice,
    tax_kept_by_tiktok,
)
from reconciliation.planning.order_settlement import OrderDocument, payment_batches, plan_order_settlement
from reconciliation.planning.payout_receive import plan_payout_receive
from tests.reconciliation.order_fixtures import (
    GROSS,
    MAPS,
    NET,
    US_ORDER_SHOP,
    WORKED_ORDER_ID,
    WORKED_STATEMENT_ID,
    order_org,
    worked_order,
    worked_order_rows,
    worked_statement,
)
from tests.reconciliation.planning_fixtures import US_RULES
from tests.reconciliation.xero_payloads import validate

D = Decimal


def invoice_document(presentation) -> OrderDocument:
    facts = worked_order()
    plan = plan_order_invoice(facts, shop=US_ORDER_SHOP, settings=presentation, maps=MAPS, org=order_org())
    (invoice,) = plan.documents
    return OrderDocument(
        WORKED_ORDER_ID,
        invoice.key,
        invoice.payload["InvoiceNumber"],
        "invoice",
        expected_invoice_total(facts, US_ORDER_SHOP, presentation),
        tax_kept_by_tiktok(facts, US_ORDER_SHOP, presentation),
    )


def settle(statement: StatementFacts, documents, **kwargs):
    return plan_order_settlement(
        statement,
        shop=US_ORDER_SHOP,
        documents=documents,
        rules=US_RULES,
        sales_tax_account="2300",
        org=order_org(),
        **kwargs,
    )


def clearing_movement(plan, clearing: str = "1210") -> Decimal:
    moved = ZERO
    for document in plan.documents:
        if document.kind == "Payments":
            sign = 1 if "Invoice" in document.payload else -1
            moved += sign * document.payload["Amount"]
        else:
            moved += sum(
                (
                    line["LineAmount"]
                    for line in document.payload["JournalLines"]
                    if line["AccountCode"] == clearing
                ),
                ZERO,
            )
    return moved


@pytest.mark.parametrize(
    ("presentation", "payment", "expense", "journal"),
    [
        (
            GROSS,
            D("221.10"),
            D("54.06"),
            [
                ("Shipping cost", D("7.93"), "5100"),  # actual_shipping_fee 7.93 = 1.43 "adjustment" + 6.50
                ("Marketplace fees", D("32.09"), "6100"),  # referral 23.59 + transaction 8.50
                ("Sales tax remitted by TikTok (marketplace facilitator)", D("14.04"), "2300"),
                ("TikTok Shop settlement, statement 7301000000000000001", D("-54.06"), "1210"),
            ],
        ),
        (
            NET,
            D("207.06"),
            D("40.02"),
            [
                ("Shipping cost", D("7.93"), "5100"),
                ("Marketplace fees", D("32.09"), "6100"),
                ("TikTok Shop settlement, statement 7301000000000000001", D("-40.02"), "1210"),
            ],
        ),
    ],
)
def test_the_worked_statement_pays_the_invoice_and_journals_the_rest_clearing_moves_by_the_payout(
    presentation, payment, expense, journal, xero_spec_path
):
    plan = settle(worked_statement(), {WORKED_ORDER_ID: [invoice_document(presentation)]})
    assert plan.problems == ()
    pay, fees = plan.documents
    assert pay.kind == "Payments" and pay.payload == {
        "Invoice": {"InvoiceNumber": f"TT-{WORKED_ORDER_ID}"},
        "Account": {"Code": "1210"},
        "Date": "2025-11-14",
        "Amount": payment,
        "Reference": f"TikTok statement {WORKED_STATEMENT_ID}: TT-{WORKED_ORDER_ID}",
    }
    assert pay.depends_on == (f"order {WORKED_ORDER_ID}:invoice",)
    assert fees.kind == "ManualJournals" and fees.purpose == "order_settlement_journal"
    lines = [
        (line["Description"], line["LineAmount"], line["AccountCode"])
        for line in fees.payload["JournalLines"]
    ]
    assert lines == journal
    assert sum(amount for _, amount, code in lines if code != "1210") == expense
    assert clearing_movement(plan) == D("167.04") == worked_statement().payable_amount
    for document in plan.documents:
        validate(xero_spec_path, document)


def test_the_receive_after_it_is_statement_modes_for_the_payout():
    payout = PayoutFacts("pay-1", "PAID", D("167.04"), "USD", date(2025, 11, 17))
    plan = plan_payout_receive(
        payout, shop=replace(US_ORDER_SHOP, posting_mode="statement_journal"), org=order_org()
    )
    (receive,) = plan.documents
    assert receive.payload["LineItems"][0]["UnitAmount"] == D("167.04")
    assert receive.payload["LineItems"][0]["AccountCode"] == "1210"


def test_the_order_level_settlement_rows_settle_the_same_way():
    """The order's own statement transactions (GET /finance/202501/orders/{id}/statement_transactions)
    give the same components as the statement's ORDER row."""
    statement = replace(worked_statement(), transactions=worked_order_rows())
    plan = settle(statement, {WORKED_ORDER_ID: [invoice_document(GROSS)]})
    assert plan.problems == ()
    assert clearing_movement(plan) == D("167.04")


def test_an_order_without_an_invoice_holds_the_statement():
    plan = settle(worked_statement(), {})
    assert plan.documents == ()
    assert [p.code for p in plan.problems] == ["ORDER_NOT_INVOICED"]
    assert plan.problems[0].details == {"order_id": WORKED_ORDER_ID}


def test_an_invoice_that_disagrees_with_the_settlement_holds_it_with_both_figures():
    document = replace(invoice_document(NET), amount=D("207.07"))
    plan = settle(worked_statement(), {WORKED_ORDER_ID: [document]})
    assert [p.code for p in plan.problems] == ["SOURCE_INCONSISTENT"]
    assert (
        "settles its sales and shipping at 207.06, its invoices and credit notes (less tax TikTok keeps) come to 207.07"
        in (plan.problems[0].message)
    )


def test_an_excluded_order_posts_its_costs_in_the_journal():
    plan = settle(worked_statement(), {}, excluded_orders=frozenset({WORKED_ORDER_ID}))
    assert plan.problems == ()
    (journal,) = plan.documents
    assert clearing_movement(plan) == D("167.04")
    assert journal.kind == "ManualJournals"


def test_clearing_must_take_payments():
    org = order_org()
    accounts = {**org.accounts, "1210": replace(org.accounts["1210"], enable_payments=False)}
    plan = plan_order_settlement(
        worked_statement(),
        shop=US_ORDER_SHOP,
        documents={WORKED_ORDER_ID: [invoice_document(NET)]},
        rules=US_RULES,
        sales_tax_account="2300",
        org=replace(org, accounts=accounts),
    )
    assert any("payments enabled" in p.message for p in plan.problems)


def test_payments_go_in_batches_of_at_most_50():
    rows, documents = [], {}
    for n in range(120):
        oid = f"order-{n}"
        rows.append(
            StatementTransaction(
                f"t{n}",
                "ORDER",
                oid,
                D("10.00"),
                (
                    replace(
                        worked_statement().transactions[0].components[0],
                        amount=D("10.00"),
                        transaction_id=f"t{n}",
                    ),
                ),
            )
        )
        documents[oid] = [OrderDocument(oid, f"order {oid}:invoice", f"TT-{oid}", "invoice", D("10.00"))]
    statement = replace(worked_statement(), transactions=tuple(rows), settlement_amount=D("1200.00"))
    plan = settle(statement, documents)
    assert plan.problems == ()
    batches = payment_batches(plan.documents)
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [d.payload["Invoice"]["InvoiceNumber"] for b in batches for d in b] == [
        f"TT-order-{n}" for n in range(120)
    ]
    assert clearing_movement(plan) == D("1200.00")
    assert [d.kind for d in plan.documents if d.kind != "Payments"] == []  # nothing left to journal


def test_the_rounded_order_settles_to_the_payout():
    """The three-tee order (test_order_invoice.three_tees): Xero's invoice total 3.47 (with its
    rounding line) is what the payment moves into clearing; the fees and the 0.32 tax TikTok keeps go
    out by the journal, so clearing moves by the settlement, 2.85."""
    from reconciliation.domain.tiktok_orders import order_facts
    from tests.reconciliation.test_order_invoice import EXCLUSIVE_SHOP, TAX_MAPS, three_tees

    facts, _ = order_facts(three_tees(), timezone="UTC")
    assert facts is not None
    maps = replace(TAX_MAPS, sku={"TEE-1": "TEE-1"})
    (invoice,) = plan_order_invoice(
        facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org()
    ).documents
    document = OrderDocument(
        facts.order_id,
        invoice.key,
        invoice.payload["InvoiceNumber"],
        "invoice",
        expected_invoice_total(facts, EXCLUSIVE_SHOP, NET),
        tax_kept_by_tiktok(facts, EXCLUSIVE_SHOP, NET),
    )
    assert (document.amount, document.tax_kept) == (D("3.47"), D("0.32"))
    base = worked_statement().transactions[0].components[0]
    row = StatementTransaction(
        "t1",
        "ORDER",
        facts.order_id,
        D("2.85"),
        (
            replace(base, amount=D("3.15"), transaction_id="t1"),
            replace(base, name="fee.transaction_fee_amount", amount=D("-0.30"), transaction_id="t1"),
        ),
    )
    statement = replace(worked_statement(), transactions=(row,), settlement_amount=D("2.85"))
    plan = plan_order_settlement(
        statement,
        shop=EXCLUSIVE_SHOP,
        documents={facts.order_id: [document]},
        rules=US_RULES,
        sales_tax_account="2300",
        org=order_org(),
    )
    assert plan.problems == ()
    assert plan.documents[0].payload["Amount"] == D("3.47")
    assert clearing_movement(plan) == D("2.85")


def test_an_invoice_with_nothing_left_open_gets_no_payment():
    """Cancelled and wholly credited before it settled: TikTok's row nets to the fees alone."""
    statement = worked_statement()
    row = statement.transactions[0]
    costs = tuple(c for c in row.components if c.name.startswith(("fee.", "shipping.actual")))
    net_row = replace(row, components=costs, settlement_amount=sum(c.amount for c in costs))
    statement = replace(statement, transactions=(net_row,), settlement_amount=net_row.settlement_amount)
    closed = replace(invoice_document(NET), amount=D("0"))
    plan = settle(statement, {WORKED_ORDER_ID: [closed]})
    assert plan.problems == ()
    assert [d.kind for d in plan.documents] == ["ManualJournals"]
    assert clearing_movement(plan) == D("-40.02")
