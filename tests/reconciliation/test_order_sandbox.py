"""The order-invoice plans sent to the Xero sandbox, which does Xero's arithmetic (sandbox_documents.py):
its totals are the plan's, the payment closes the invoice, and every body matches Xero's file."""

from dataclasses import replace
from decimal import Decimal

from reconciliation.domain.tiktok_orders import order_facts
from reconciliation.planning.order_invoice import plan_order_invoice
from reconciliation.planning.order_settlement import plan_order_settlement
from tests.connectors.xero.test_sandbox_support import demo, messages, only, send
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
from tests.reconciliation.test_order_invoice import EXCLUSIVE_SHOP, TAX_MAPS, three_tees
from tests.reconciliation.test_order_settlement import invoice_document

D = Decimal


def sandbox_for_orders(xero_spec_path):
    sandbox, client, _ = demo("USD", spec_path=xero_spec_path)
    for code, name, kind in (
        ("2300", "Sales tax remitted by TikTok", "CURRLIAB"),
        ("4050", "TikTok platform discounts", "REVENUE"),
        ("4060", "TikTok discount reimbursements", "REVENUE"),
        ("4070", "Shipping income", "REVENUE"),
    ):
        sandbox.add_account(code, name, kind)
    sandbox.add_account("860", "Rounding (orders)", "CURRLIAB", system_account="ROUNDING")
    sandbox.add_tax_rate("TAX10", "Sales tax 10%", D("10"), can_apply_to=("Revenue",))
    for code in ("HOODIE-BLK-M", "MUG-WHT", "CANDLE-SOY", "TEE-1"):
        sandbox.add_item(code, code)
    return sandbox, client


def put(client, document):
    params = {"unitdp": "4"} if document.unitdp4 else {}
    created = only(
        send(client, "PUT", f"/{document.kind}", {document.kind: [document.payload]}, **params), document.kind
    )
    assert created.get("StatusAttributeString") == "OK", messages(created)
    return created


def test_the_worked_invoice_payment_and_journal_in_xeros_arithmetic(xero_spec_path):
    for settings, total, expense in ((GROSS, D("221.10"), D("54.06")), (NET, D("207.06"), D("40.02"))):
        sandbox, client = sandbox_for_orders(xero_spec_path)
        plan = plan_order_invoice(
            worked_order(), shop=US_ORDER_SHOP, settings=settings, maps=MAPS, org=order_org()
        )
        invoice = put(client, plan.documents[0])
        assert (invoice["Total"], invoice["AmountDue"]) == (total, total)

        settled = plan_order_settlement(
            worked_statement(),
            shop=US_ORDER_SHOP,
            documents={WORKED_ORDER_ID: [invoice_document(settings)]},
            rules=US_RULES,
            sales_tax_account="2300",
            org=order_org(),
        )
        payment, journal = settled.documents
        put(client, payment)
        put(client, journal)
        found = client.get("/Invoices", params={"where": f'InvoiceNumber=="TT-{WORKED_ORDER_ID}"'})
        (paid,) = found.json(parse_float=Decimal)["Invoices"]
        assert (paid["Status"], paid["AmountDue"]) == ("PAID", D("0"))
        clearing = payment.payload["Amount"] + next(
            line["LineAmount"] for line in journal.payload["JournalLines"] if line["AccountCode"] == "1210"
        )
        assert (payment.payload["Amount"], -(clearing - payment.payload["Amount"])) == (total, expense)
        assert clearing == D("167.04")
        assert sandbox.spec_violations == []


def test_the_rounding_line_makes_xeros_total_what_the_buyer_paid(xero_spec_path):
    sandbox, client = sandbox_for_orders(xero_spec_path)
    assert sandbox.spec_checked
    facts, _ = order_facts(three_tees(), timezone="UTC")
    assert facts is not None
    maps = replace(TAX_MAPS, sku={"TEE-1": "TEE-1"})
    (document,) = plan_order_invoice(
        facts, shop=EXCLUSIVE_SHOP, settings=NET, maps=maps, org=order_org()
    ).documents
    naive = replace(
        document,
        payload={
            **document.payload,
            "InvoiceNumber": "naive",
            "LineItems": document.payload["LineItems"][:3],
        },
    )
    assert put(client, naive)["Total"] == D("3.48")  # a cent more than the buyer paid
    invoice = put(client, document)
    assert (invoice["Total"], invoice["TotalTax"]) == (D("3.47"), D("0.33")) and facts.total_amount == D(
        "3.47"
    )
