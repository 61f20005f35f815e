"""The demo's order-invoices shop (reconciliation/demo/orders.py), run in this process as
`python manage.py demo` without --live runs it."""

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from connectors.sandbox_server import state_load, state_save
from connectors.tiktok.sandbox_order_data import us_worked_order
from connectors.tiktok.sandbox_settlements import order_transaction
from connectors.xero.sandbox import XeroSandbox
from reconciliation import selectors
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import QuarantineItem, Shop, XeroPosting
from tests.support.ledger import account_movement

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
FIXTURE = Path("tests/fixtures/tiktok/us_worked_order_statement.json")


def clearing(org) -> Decimal:
    """What clearing (1210) moved in the organisation: journals and bank transactions, payments into
    it against invoices, refunds out of it against credit notes."""
    paid = sum((D(str(p["Amount"])) * (1 if "Invoice" in p else -1) for p in org.payments), D("0"))
    return account_movement(org, "1210") + paid


def test_the_order_shop_posts_invoices_credit_notes_payments_journals_and_receives_and_every_payout_reconciles():
    demo = demo_build(days=3)
    demo_run(demo)
    shop, org = demo.orders.shop, demo.orders.xero

    assert not QuarantineItem.objects.filter(shop=shop, status="open").exists()
    assert not XeroPosting.objects.filter(shop=shop).exclude(state=XeroPosting.State.POSTED).exists()
    assert selectors.posted_by_purpose(shop) == {
        "order_invoice": 5,
        "order_credit_note": 2,  # the cancellation's and the return's
        "order_credit_allocation": 1,  # the cancelled order's invoice was never paid
        "order_payment": 4,
        "credit_note_refund": 1,  # the return came after its order's settlement
        "order_settlement_journal": 2,
        "payout_receive": 2,
    }
    rows = selectors.payout_reconciliation(shop)
    assert [r["receive"] for r in rows] == ["posted", "posted"]
    for row in rows:
        assert row["residue"] == D("0.00") and row["posted_to_clearing"] == row["deposit"]
        assert row["currency"] == "USD"
    # Xero's own side: the documents are in the shop's organisation, not the statement shop's,
    # and clearing ends where it began (each payment, journal and RECEIVE moved it by its payout).
    assert len(org.invoices) == 5 and len(org.credit_notes) == 2 and len(org.payments) == 5
    assert len(org.bank_transactions) == 2 and org.invoices[0]["InvoiceNumber"].startswith("TT-")
    assert demo.xero.invoices == [] and demo.xero.payments == []
    assert clearing(org) == D("0.00")
    assert sorted(D(str(b["Total"])) for b in org.bank_transactions) == sorted(r["deposit"] for r in rows)


def test_the_demo_command_prints_the_order_shop_and_keeps_the_statement_shop_as_it_was():
    out = StringIO()
    call_command("demo", "--days", "5", stdout=out)
    text = out.getvalue()

    statement_shop = Shop.objects.get(code="demo-us")
    journals = XeroPosting.objects.filter(shop=statement_shop, kind="ManualJournals", state="posted")
    assert journals.count() == 3  # as before the order shop: 5 statements, one locked, one inconsistent
    assert "Order shop demo-us-orders (posting mode order invoices, USD" in text
    assert "  invoices posted: 5" in text
    assert "credit notes posted: 2 (allocated to their invoice: 1, refunded out of clearing: 1)" in text
    assert (
        "payments posted: 5 (invoices paid into clearing: 4, credit notes refunded out of clearing: 1)"
        in text
    )
    order_part = text[text.index("Order shop demo-us-orders") :]
    rows = [line.split() for line in order_part.splitlines() if line.startswith("  7309")]
    assert len(rows) == 2
    for _payout, _paid, currency, deposit, _statements, posted, receive, residue in rows:
        assert (currency, posted, receive, residue) == ("USD", deposit, "posted", "0.00")


def test_the_worked_orders_settlement_is_the_fixtures_transaction():
    (expected,) = json.loads(FIXTURE.read_text())["data"]["transactions"]
    made = order_transaction(
        us_worked_order(),
        expected["id"],
        referral_fee=D("23.59"),
        transaction_fee=D("8.50"),
        label_cost=D("7.93"),
    )
    assert _amounts(made) == _amounts(expected)


def _amounts(value):
    if isinstance(value, dict):
        return {key: _amounts(item) for key, item in value.items()}
    try:
        return D(value) if isinstance(value, str) else value
    except ArithmeticError:
        return value


def test_a_second_organisation_is_served_under_its_tenant_id_and_survives_the_state_file(tmp_path):
    xero, other = XeroSandbox.demo(), XeroSandbox.demo()
    other.org.Name = "Second org"
    xero.add_organisation(other)
    other.add_item("MUG", "Mug")
    state_save("xero", xero, tmp_path / "xero.pickle")

    loaded = state_load("xero", tmp_path / "xero.pickle")
    token = loaded.issue_tokens()["access_token"]  # one user's grant reaches both organisations
    response = loaded.transport.handle_request(
        httpx.Request(
            "GET",
            "https://api.xero.com/api.xro/2.0/Items",
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": other.tenant_id},
        )
    )

    assert response.status_code == 200
    assert [item["Code"] for item in response.json()["Items"]] == ["MUG"]
    again = loaded.organisations[other.tenant_id]
    assert again.org.Name == "Second org" and again.spec is loaded.spec and len(again.requests) == 1
    assert loaded.requests == []  # the request was the second organisation's
