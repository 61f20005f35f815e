"""Cancellations and returns after an order's invoice, whole: TikTok sandbox (orders, returns,
cancellations, statements) -> real clients, services and django-q2 tasks -> Xero sandbox
(DESIGN.md 4.4; services/order_credits.py)."""

import copy
from decimal import Decimal

import pytest

from connectors.tiktok.sandbox_order_data import Unit, build_order, cancellation_of, return_of
from reconciliation.models import OrderSync, QuarantineItem, SkuMapping, XeroPosting
from tests.reconciliation.test_order_end_to_end import (
    CIPHER,
    DAY,
    open_items,
    order_world,
    orders_and_statement,
    statement_and_payment,
    sync_and_send,
    worked_transaction,
)
from tests.support.ledger import account_movement

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def again(shop) -> None:
    """The next sync reads every order, return, cancellation and statement again."""
    shop.connection.refresh_from_db()
    shop.connection.last_synced_at = None
    shop.connection.save()
    OrderSync.objects.filter(shop=shop).update(orders_synced_until=None)
    sync_and_send(shop)


def clearing(xero) -> Decimal:
    """What the clearing account (1210) moved in the Xero sandbox: journals and bank transactions,
    payments into it against invoices, refunds out of it against credit notes."""
    paid = D("0")
    for payment in xero.payments:
        sign = 1 if "Invoice" in payment else -1
        paid += sign * D(str(payment["Amount"]))
    return account_movement(xero, "1210") + paid


def test_an_order_cancelled_after_its_invoice_was_posted_ends_fully_credited_by_an_allocated_credit_note():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (invoice,) = xero.invoices
    assert invoice["Status"] == "AUTHORISED" and D(str(invoice["AmountDue"])) == D("221.10")

    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    assert credit["Type"] == "ACCRECCREDIT" and D(str(credit["Total"])) == D("221.10")
    assert credit["CreditNoteNumber"] == f"TT-{order['id']}-R{cancellation_of(cancelled)['cancel_id']}"
    # the same lines as the invoice, so the whole order is credited
    assert sorted(
        (line["AccountCode"], D(str(line["LineAmount"]))) for line in credit["LineItems"]
    ) == sorted((line["AccountCode"], D(str(line["LineAmount"]))) for line in invoice["LineItems"])
    (allocation,) = credit["Allocations"]
    assert D(str(allocation["Amount"])) == D("221.10")
    assert allocation["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    (invoice,) = xero.invoices  # as Xero holds it now
    assert D(str(invoice["AmountDue"])) == D("0.00") and invoice["Status"] == "PAID"
    assert D(str(credit["RemainingCredit"])) == D("0.00")
    assert xero.payments == []  # nothing settled, nothing refunded

    # a third sync finds it all posted: nothing new is sent
    calls = len(xero.requests)
    again(shop)
    assert [r.method for r in xero.requests[calls:]] == ["GET"] * 4
    assert len(xero.credit_notes) == 1


def test_an_order_cancelled_before_its_invoice_was_sent_posts_neither_invoice_nor_credit_note():
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    sync_and_send(shop)

    assert open_items() == []
    assert xero.invoices == [] and xero.credit_notes == []


def refund_transaction(order: dict) -> dict:
    """The worked order's return as it settles in a later statement (finance.json's leaves): TikTok
    takes back the sale less the seller's discount (-235.95 + 35.39) and gives back the referral
    fee (a guess at TikTok's refund figures; only their sum matters to the ledger)."""
    tx = copy.deepcopy(worked_transaction()) | {"id": "7302900000000000001", "order_id": order["id"]}
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "0",
        "seller_discount_amount": "0",
        "refund_subtotal_before_discount_amount": "-235.95",
        "seller_discount_refund_amount": "35.39",
    }
    tx["revenue_amount"] = "-200.56"
    tx["shipping_cost_breakdown"] |= {"actual_shipping_fee_amount": "0", "shipping_fee_discount_amount": "0"}
    tx["shipping_cost_breakdown"]["supplementary_component"] = {
        "platform_shipping_fee_discount_amount": "0",
        "customer_shipping_fee": "0",
    }
    tx["shipping_cost_amount"] = "0"
    tx["fee_tax_breakdown"]["fee"] |= {"referral_fee_amount": "23.59", "transaction_fee_amount": "0"}
    tx["fee_tax_amount"] = "23.59"
    tx["supplementary_component"] = {
        "customer_payment_amount": "0",
        "platform_discount_amount": "0",
        "sales_tax_amount": "0",
    }
    tx["settlement_amount"] = "-176.97"
    return tx


def test_a_return_after_the_invoice_was_paid_is_refunded_from_clearing_and_the_statement_reconciles():
    shop, xero = order_world(1)
    sync_and_send(shop)
    (invoice,) = xero.invoices
    assert invoice["Status"] == "PAID"

    # Two more orders sell, and the first one's return settles, in a second statement.
    orders, _ = orders_and_statement(3)
    first, later = orders[0], orders[1:]
    for order in later:
        shop.tiktok.orders.add_order(CIPHER, order)
    returned = return_of(first, first["line_items"][0])
    shop.tiktok.orders.add_return(CIPHER, returned)
    sales = [
        copy.deepcopy(worked_transaction()) | {"id": f"73028{n:014d}", "order_id": order["id"]}
        for n, order in enumerate(later)
    ]
    second = statement_and_payment([*sales, refund_transaction(first)], "7301000000000000002", 1763769600)
    assert D(second[0]["settlement_amount"]) == D("157.11")  # 2 x 167.04 - 176.97
    shop.tiktok.add_statement(CIPHER, *second)
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    # the returned line only: item, seller discount, TikTok's discount and its reimbursement, tax
    assert D(str(credit["Total"])) == D("214.60") and credit["Allocations"] == []
    refunds = [p for p in xero.payments if "CreditNote" in p]
    assert [D(str(p["Amount"])) for p in refunds] == [D("214.60")]
    assert refunds[0]["CreditNote"]["CreditNoteID"] == credit["CreditNoteID"]
    assert D(str(credit["RemainingCredit"])) == D("0.00")
    assert len(xero.invoices) == 3 and len(xero.manual_journals) == 2
    receives = sorted(D(str(b["Total"])) for b in xero.bank_transactions if b["Type"] == "RECEIVE")
    assert receives == [D("157.11"), D("167.04")]
    # every payout reconciles: clearing ends where it began
    assert clearing(xero) == D("0.00")
    assert not XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).exists()


def test_a_return_whose_refund_is_not_the_lines_sale_price_is_held_for_finance_and_nothing_is_credited():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    returned = return_of(order, order["line_items"][0])
    returned["refund_amount"] |= {"refund_subtotal": "50.00", "refund_total": "50.00"}
    shop.tiktok.orders.add_return(CIPHER, returned)
    again(shop)

    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_INCONSISTENT"
    assert "refunds a subtotal of 50.00" in item.message and "sold for 170.56" in item.message
    assert xero.credit_notes == []
    assert len(xero.invoices) == 1  # the invoice stands


def two_unit_order() -> dict:
    """The worked order's unit (170.56 after both discounts, tax 14.04 as the example states) and a
    40.00 pen tray (tax at the sandbox's US rate), shipping 6.50 paid by TikTok."""
    desk = Unit(
        ("Walnut desk organiser", "DESK-WAL", "1729000000000000301", "1730000000000000301", "235.95"),
        D("35.39"),
        D("30.00"),
    )
    tray = Unit(
        ("Pen tray", "PEN-TRAY", "1729000000000000302", "1730000000000000302", "40.00"), D("0"), D("0")
    )
    order = build_order(
        order_id="576500000000000002",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=1762819200,
        update_time=1763164800,
        units=[desk, tray],
        shipping=D("6.50"),
        shipping_platform_discount=D("6.50"),
    )
    order["line_items"][0]["item_tax"] = [{"tax_type": "SALES_TAX", "tax_amount": "14.04"}]
    tray_tax = D(order["line_items"][1]["item_tax"][0]["tax_amount"])
    tax = D("14.04") + tray_tax
    order["payment"] |= {"product_tax": str(tax), "tax": str(tax), "total_amount": str(D("210.56") + tax)}
    return order


def test_a_return_before_settlement_credits_only_the_returned_line_allocated_and_the_statement_reconciles():
    shop, xero = order_world(1, settled=False)
    xero.add_item("PEN-TRAY", "Pen tray")
    SkuMapping.objects.create(channel="tiktok", channel_sku="PEN-TRAY", item_code="PEN-TRAY")
    order = two_unit_order()
    shop.tiktok.orders.add_order(CIPHER, order)
    tray = order["line_items"][1]
    tray_tax = D(tray["item_tax"][0]["tax_amount"])
    # returned before TikTok settles: the settlement nets the sale and the refund in one transaction
    shop.tiktok.orders.add_return(CIPHER, return_of(order, tray))
    tx = copy.deepcopy(worked_transaction()) | {"id": "7302700000000000001", "order_id": order["id"]}
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "275.95",
        "refund_subtotal_before_discount_amount": "-40.00",
    }
    shop.tiktok.add_statement(CIPHER, *statement_and_payment([tx], "7301000000000000003", 1763769600))
    sync_and_send(shop)

    assert open_items() == []
    invoice = next(i for i in xero.invoices if i["InvoiceNumber"] == f"TT-{order['id']}")
    assert D(str(invoice["Total"])) == D("221.10") + D("40.00") + tray_tax
    (credit,) = xero.credit_notes
    # only the pen tray: its price and its tax (gross presentation), nothing of the desk organiser
    assert sorted(
        (line["AccountCode"], D(str(line["LineAmount"]))) for line in credit["LineItems"]
    ) == sorted([("4000", D("40.00")), ("2300", tray_tax)])
    (allocation,) = credit["Allocations"]
    assert D(str(allocation["Amount"])) == D("40.00") + tray_tax
    (payment,) = [p for p in xero.payments if p["Invoice"]["InvoiceID"] == invoice["InvoiceID"]]
    assert D(str(payment["Amount"])) == D("221.10")  # what the credit left open
    (receive,) = [b for b in xero.bank_transactions if b["Type"] == "RECEIVE"]
    assert D(str(receive["Total"])) == D("167.04")
    assert clearing(xero) == D("0.00")


def test_a_statement_of_only_a_refund_is_negative_and_leaves_clearing_owing_what_tiktok_carries_forward():
    shop, xero = order_world(1)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    statement, transactions, _ = statement_and_payment(
        [refund_transaction(order)], "7301000000000000004", 1763769600
    )
    shop.tiktok.add_statement(CIPHER, statement, transactions)  # negative: TikTok pays nothing out
    again(shop)

    assert open_items() == []
    assert len(xero.credit_notes) == 1
    assert [D(str(p["Amount"])) for p in xero.payments if "CreditNote" in p] == [D("214.60")]
    assert len(xero.manual_journals) == 2
    assert len([b for b in xero.bank_transactions if b["Type"] == "RECEIVE"]) == 1  # the first payout's
    # the first payout reconciled to 0.00; the refund statement leaves clearing at its payable amount,
    # which TikTok deducts from the next payout
    assert clearing(xero) == D("-176.97")


def test_an_orders_and_its_cancellations_admin_pages_link_the_xero_documents_planned_from_them(client):
    from django.urls import reverse

    from reconciliation.models import TikTokCancellation, TikTokOrder
    from tests.reconciliation.test_admin import staff

    shop, _ = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)

    client.force_login(staff("audrey", "Auditor"))
    row = TikTokCancellation.objects.get()
    page = client.get(
        reverse("admin:reconciliation_tiktokcancellation_change", args=[row.pk])
    ).content.decode()
    for posting in XeroPosting.objects.filter(purpose__in=["order_credit_note", "order_credit_allocation"]):
        assert reverse("admin:reconciliation_xeroposting_change", args=[posting.pk]) in page
    assert page.count("(Posted)") == 2
    row = TikTokOrder.objects.get()
    page = client.get(reverse("admin:reconciliation_tiktokorder_change", args=[row.pk])).content.decode()
    # the order's page lists everything planned for it, its cancellation's credit note included
    for posting in XeroPosting.objects.all():
        assert reverse("admin:reconciliation_xeroposting_change", args=[posting.pk]) in page
    assert "credit allocated to the invoice 221.10 USD" in page and "invoice 221.10 USD" in page
    cancellation = TikTokCancellation.objects.get()
    page = client.get(
        reverse("admin:reconciliation_tiktokcancellation_change", args=[cancellation.pk])
    ).content.decode()
    assert reverse("admin:reconciliation_tiktokorder_change", args=[row.pk]) in page
