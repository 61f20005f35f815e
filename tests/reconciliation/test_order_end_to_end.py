"""Posting mode "order invoices" whole: TikTok sandbox (orders and statements) -> real clients,
services and django-q2 tasks -> Xero sandbox (DESIGN.md 4.4)."""

import copy
import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django_q.tasks import async_task

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_order_data import us_worked_order
from connectors.xero.sandbox import XeroSandbox
from reconciliation.demo.scenario import sandbox_shop_connection, sandbox_xero_connection
from reconciliation.models import (
    ComponentMapping,
    OrderSync,
    QuarantineItem,
    Shop,
    SkuMapping,
    SyncRun,
    XeroPosting,
)
from tests.reconciliation.test_end_to_end import drain
from tests.reconciliation.world import US_MAP
from tests.support.ledger import account_movement
from tests.support.specs import tiktok_spec_if_present

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
CIPHER = "order-e2e-cipher"
FIXTURE = "tests/fixtures/tiktok/us_worked_order_statement.json"
DAY = 86400


def worked_transaction() -> dict:
    """The worked order's transaction in its statement (tests/fixtures/tiktok)."""
    with open(FIXTURE) as handle:
        return json.load(handle)["data"]["transactions"][0]


def orders_and_statement(count: int) -> tuple[list[dict], tuple[dict, list[dict], dict]]:
    """`count` copies of the worked US order (sandbox_order_data.us_worked_order, each its own id)
    and one statement settling all of them, with its PAID payment, as TikTok serves them."""
    base, tx = us_worked_order(), worked_transaction()
    orders, transactions = [], []
    for n in range(count):
        order_id = base["id"] if n == 0 else f"5766{n:014d}"
        order = copy.deepcopy(base) | {"id": order_id}
        for line in order["line_items"]:
            line["id"] = f"5767{n:010d}{line['id'][-4:]}"
        orders.append(order)
        transactions.append(copy.deepcopy(tx) | {"id": f"7302{n:015d}", "order_id": order_id})
    return orders, statement_and_payment(transactions, "7301000000000000001", 1763164800)


def statement_and_payment(
    transactions: list[dict], statement_id: str, statement_time: int
) -> tuple[dict, list[dict], dict]:
    """A statement of `transactions` and its PAID payment, as TikTok's 202309 endpoints serve them."""
    total = lambda key: sum((D(t[key]) for t in transactions), D("0"))  # noqa: E731
    statement = {
        "id": statement_id,
        "statement_time": statement_time,
        "settlement_amount": str(total("settlement_amount")),
        "currency": "USD",
        "payment_id": f"7309{statement_id[4:]}",
        "payment_status": "PAID",
        "payment_time": statement_time + DAY,
        "revenue_amount": str(total("revenue_amount")),
        "fee_amount": str(total("fee_tax_amount")),
        "adjustment_amount": str(total("adjustment_amount")),
        "shipping_cost_amount": str(total("shipping_cost_amount")),
        "net_sales_amount": str(total("revenue_amount")),
    }
    amount = {"value": statement["settlement_amount"], "currency": "USD"}
    payment = {
        "id": statement["payment_id"],
        "create_time": statement_time + DAY,
        "status": "PAID",
        "amount": amount,
        "settlement_amount": dict(amount),
        "reserve_amount": {"value": "0.00", "currency": "USD"},
        "paid_time": statement_time + 2 * DAY,
        "bank_account": "****0042",
        "exchange_rate": "1",
    }
    return statement, transactions, payment


def order_world(count: int, *, settled: bool = True):
    """A USD Xero organisation and a TikTok sandbox holding `count` copies of the worked order and,
    when `settled`, the statement settling them all."""
    xero = XeroSandbox.demo(base_currency="USD")
    for code, name, kind in (
        ("2300", "Sales tax remitted by TikTok", "CURRLIAB"),
        ("4050", "TikTok platform discounts", "REVENUE"),
        ("4060", "TikTok discount reimbursements", "REVENUE"),
        ("4070", "Shipping income", "REVENUE"),
    ):
        xero.add_account(code, name, kind)
    xero.add_item("DESK-WAL", "Walnut desk organiser")
    tiktok = TikTokSandbox(spec=tiktok_spec_if_present())
    tiktok.add_shop(CIPHER, "7490000000000000019", "Orders US", "US", "USD")
    orders, statement = orders_and_statement(count)
    for order in orders:
        tiktok.orders.add_order(CIPHER, order)
    if settled:
        tiktok.add_statement(CIPHER, *statement)
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-orders",
        name="Orders US",
        region="US",
        currency="USD",
        timezone="UTC",
        line_amount_types="NoTax",
        clearing_account="1210",
        bank_account="090",
        reserve_account="1220",
        posting_mode="order_invoices",
        order_sales_account="4000",
        order_seller_discount_account="4010",
        order_platform_discount_account="4050",
        order_platform_reimbursement_account="4060",
        order_shipping_account="4070",
        order_sales_tax_account="2300",
        order_tax_presentation="gross",
        xero_connection=sandbox_xero_connection(xero, name="Orders org"),
        sync_from=date(2025, 11, 1),
    )
    sandbox_shop_connection(shop, tiktok)
    for component, account in US_MAP.items():
        ComponentMapping.objects.create(channel="tiktok", component=component, account_code=account)
    SkuMapping.objects.create(channel="tiktok", channel_sku="DESK-WAL", item_code="DESK-WAL")
    shop.tiktok = tiktok  # the sandbox, for tests that change what TikTok serves next
    return shop, xero


def sync_and_send(shop) -> None:
    async_task("reconciliation.tasks.sync_shop", shop.pk)
    drain()


def open_items() -> list[str]:
    return [f"{i.reason}: {i.message}" for i in QuarantineItem.objects.filter(status="open")]


@pytest.mark.parametrize(
    ("presentation", "total", "journal_clearing"),
    [("gross", D("221.10"), D("-54.06")), ("net", D("207.06"), D("-40.02"))],
)
def test_the_worked_order_posts_its_invoice_payment_fees_journal_and_receive(
    presentation, total, journal_clearing
):
    shop, xero = order_world(1)
    Shop.objects.filter(pk=shop.pk).update(order_tax_presentation=presentation)
    sync_and_send(shop)

    assert open_items() == []
    assert XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).count() == 0
    (invoice,) = xero.invoices
    assert D(str(invoice["Total"])) == total and invoice["InvoiceNumber"] == "TT-576500000000000001"
    (payment,) = xero.payments
    assert D(str(payment["Amount"])) == total
    assert payment["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    (journal,) = xero.manual_journals
    clearing = [
        D(str(line["LineAmount"])) for line in journal["JournalLines"] if line["AccountCode"] == "1210"
    ]
    assert sum(clearing) == journal_clearing
    (receive,) = xero.bank_transactions
    assert receive["Type"] == "RECEIVE" and D(str(receive["Total"])) == D("167.04")
    # gross: payment +221.10, journal -54.06, RECEIVE -167.04 (net: +207.06, -40.02, -167.04);
    # clearing ends where it began
    assert account_movement(xero, "1210") + D(str(payment["Amount"])) == D("0.00")


def test_a_second_sync_posts_nothing_new_and_replans_no_posted_order():
    shop, xero = order_world(1)
    sync_and_send(shop)
    calls = len(xero.requests)
    shop.connection.refresh_from_db()
    shop.connection.last_synced_at = None  # re-read the whole window again
    shop.connection.save()
    OrderSync.objects.filter(shop=shop).update(orders_synced_until=None)
    sync_and_send(shop)

    assert open_items() == []
    assert len(xero.invoices) == len(xero.payments) == len(xero.manual_journals) == 1
    assert len(xero.bank_transactions) == 1
    assert [(r.method, r.path) for r in xero.requests[calls:]] == [
        ("GET", f"/api.xro/2.0/{what}") for what in ("Organisation", "Accounts", "TaxRates", "Items")
    ]
    assert SyncRun.objects.order_by("-pk").first().counts["invoices_posted"] == 1


def xero_calls(xero) -> int:
    return len(xero.requests)


def test_a_statement_of_1000_orders_posts_in_at_most_50_xero_calls():
    shop, xero = order_world(1000)
    sync_and_send(shop)

    assert open_items() == []
    assert len(xero.invoices) == 1000 and len(xero.payments) == 1000
    assert len(xero.manual_journals) == 1 and len(xero.bank_transactions) == 1
    calls = xero_calls(xero)
    print(f"Xero calls for 1,000 orders: {calls}", Counter((r.method, r.path) for r in xero.requests))
    assert calls <= 50, [(r.method, r.path) for r in xero.requests]


def test_an_unmapped_sku_holds_the_order_and_its_statement_until_the_map_is_fixed():
    shop, xero = order_world(1)
    SkuMapping.objects.all().delete()
    sync_and_send(shop)

    reasons = sorted(QuarantineItem.objects.filter(status="open").values_list("reason", flat=True))
    assert reasons == ["ORDER_NOT_INVOICED", "UNMAPPED_SKU"]
    assert xero.invoices == [] and xero.payments == [] and xero.manual_journals == []
    assert xero.bank_transactions == []  # the RECEIVE waits for its statement

    SkuMapping.objects.create(channel="tiktok", channel_sku="DESK-WAL", item_code="DESK-WAL")
    sync_and_send(shop)

    assert open_items() == []
    assert len(xero.invoices) == len(xero.payments) == len(xero.manual_journals) == 1
    (receive,) = xero.bank_transactions
    assert D(str(receive["Total"])) == D("167.04")


def test_an_order_whose_data_moves_on_after_posting_without_changing_its_invoice_is_planned_once():
    shop, xero = order_world(1)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_order(
        CIPHER, order | {"status": "COMPLETED", "update_time": order["update_time"] + DAY}
    )
    OrderSync.objects.filter(shop=shop).update(orders_synced_until=None)
    sync_and_send(shop)
    assert SyncRun.objects.order_by("-pk").first().counts.get("invoices_planned") == 1  # checked again

    sync_and_send(shop)
    counts = SyncRun.objects.order_by("-pk").first().counts
    assert counts.get("invoices_planned") == 0 and counts["invoices_posted"] == 1
    assert len(xero.invoices) == 1 and open_items() == []


def test_payments_go_out_as_soon_as_their_invoices_post_not_at_the_next_sweep():
    shop, xero = order_world(3)
    async_task("reconciliation.tasks.sync_shop", shop.pk)  # no sweep afterwards

    assert len(xero.invoices) == 3 and len(xero.payments) == 3
    assert {p["Invoice"]["InvoiceNumber"] for p in xero.payments} == {
        i["InvoiceNumber"] for i in xero.invoices
    }
    # one request for the three invoices, one for their three payments
    assert [r.path for r in xero.requests if r.method == "PUT"].count("/api.xro/2.0/Payments") == 1
