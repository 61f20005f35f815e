"""Trying to break the statement matching of order credits (31e71cb: StatementOrder, every statement
read before any is planned, documents_settled's combination search) end to end: TikTok sandbox ->
real services and django-q2 tasks -> Xero sandbox, asserting the figures Xero ends up with."""

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.tiktok.sandbox_order_data import Unit, build_order, cancellation_of, return_of
from reconciliation.models import QuarantineItem, SkuMapping, StatementOrder
from tests.reconciliation.test_order_credit_faults import LATER, invoice_of, receives, refunds
from tests.reconciliation.test_order_credits_end_to_end import again, clearing, refund_transaction
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

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
FIRST = 1763164800  # the first statement's time (15 Nov 2025)


def paid(xero) -> list[Decimal]:
    return sorted(D(str(p["Amount"])) for p in xero.payments if "Invoice" in p)


def open_reasons() -> list[str]:
    return sorted(QuarantineItem.objects.filter(status="open").values_list("reason", flat=True))


def sale_tx(order_id: str, tx_id: str) -> dict:
    """The worked order's sale (settles 167.04; covers 207.06 of its 221.10 invoice)."""
    return copy.deepcopy(worked_transaction()) | {"id": tx_id, "order_id": order_id}


def other_orders(shop, count: int) -> list[dict]:
    """`count` more worked orders (ids 5766...01, ...), pulled by the next sync."""
    orders, _ = orders_and_statement(count + 1)
    for order in orders[1:]:
        shop.tiktok.orders.add_order(CIPHER, order)
    return orders[1:]


def refund_of(order: dict, tx_id: str, amount: str) -> dict:
    """A refund of `amount` of `order`'s lines (no fees given back) as it settles later."""
    tx = refund_transaction(order) | {"id": tx_id}
    tx["revenue_breakdown"] |= {
        "refund_subtotal_before_discount_amount": f"-{amount}",
        "seller_discount_refund_amount": "0",
    }
    tx["revenue_amount"] = f"-{amount}"
    tx["fee_tax_breakdown"]["fee"] |= {"referral_fee_amount": "0"}
    tx["fee_tax_amount"] = "0"
    tx["settlement_amount"] = f"-{amount}"
    return tx


def mapped_item(shop, xero, sku: str, name: str) -> None:
    xero.add_item(sku, name)
    SkuMapping.objects.get_or_create(channel="tiktok", channel_sku=sku, defaults={"item_code": sku})


# --- 1. Three returns of one order: the 80.00 lamp is netted in the sale's statement, the two 40.00
# pen trays settle in two later statements, all pulled by one (first) sync.


def three_line_order() -> dict:
    tray = ("Pen tray", "PEN-TRAY", "1729000000000000302", "1730000000000000302", "40.00")
    lamp = ("Desk lamp", "LAMP", "1729000000000000303", "1730000000000000303", "80.00")
    return build_order(
        order_id="576500000000000003",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=1762819200,
        update_time=1763164800 - DAY,
        units=[Unit(tray, D("0"), D("0")), Unit(tray, D("0"), D("0")), Unit(lamp, D("0"), D("0"))],
        shipping=D("6.50"),
        shipping_platform_discount=D("6.50"),
    )


def numbered_return(order: dict, line: dict, return_id: str, hours: int) -> dict:
    returned = return_of(order, line) | {"return_id": return_id}
    returned["create_time"] = order["update_time"] + hours * 3600
    return returned


@pytest.mark.parametrize("lamp_first", [True, False], ids=["lamp-requested-first", "trays-requested-first"])
def test_a_backfill_where_the_sale_nets_the_80_refund_and_two_40_refunds_settle_later_reconciles(lamp_first):
    shop, xero = order_world(1, settled=False)
    mapped_item(shop, xero, "PEN-TRAY", "Pen tray")
    mapped_item(shop, xero, "LAMP", "Desk lamp")
    order = three_line_order()
    tray1, tray2, lamp = order["line_items"]
    shop.tiktok.orders.add_order(CIPHER, order)
    hours = {"lamp": 1, "tray1": 2, "tray2": 3} if lamp_first else {"lamp": 3, "tray1": 1, "tray2": 2}
    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, lamp, "4039000000000000011", hours["lamp"]))
    shop.tiktok.orders.add_return(
        CIPHER, numbered_return(order, tray1, "4039000000000000012", hours["tray1"])
    )
    shop.tiktok.orders.add_return(
        CIPHER, numbered_return(order, tray2, "4039000000000000013", hours["tray2"])
    )
    # statement 1: the sale (160.00 + TikTok's 6.50 shipping) nets the lamp's refund (-80.00)
    tx = sale_tx(order["id"], "7302700000000000011")
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "160.00",
        "seller_discount_amount": "0",
        "refund_subtotal_before_discount_amount": "-80.00",
    }
    tx["revenue_amount"] = "80.00"
    tx["settlement_amount"] = str(D("80.00") + D(tx["shipping_cost_amount"]) + D(tx["fee_tax_amount"]))
    first = statement_and_payment([tx], "7301000000000000011", FIRST)
    shop.tiktok.add_statement(CIPHER, *first)
    # statements 2 and 3: another order's sale and one pen tray's refund each
    a, b = other_orders(shop, 2)
    second = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000012"), refund_of(order, "7302900000000000012", "40.00")],
        "7301000000000000012",
        LATER,
    )
    third = statement_and_payment(
        [sale_tx(b["id"], "7302800000000000013"), refund_of(order, "7302900000000000013", "40.00")],
        "7301000000000000013",
        LATER + 7 * DAY,
    )
    shop.tiktok.add_statement(CIPHER, *second)
    shop.tiktok.add_statement(CIPHER, *third)
    sync_and_send(shop)

    invoice = invoice_of(xero, order["id"])
    assert D(str(invoice["Total"])) == D("179.70")  # 160.00 + 6.50 + 13.20 tax
    print(dump(xero))
    lamp_credit = next(c for c in xero.credit_notes if D(str(c["Total"])) == D("86.60"))
    assert [D(str(x["Amount"])) for x in lamp_credit["Allocations"]] == [D("86.60")]
    assert open_items() == []
    assert refunds(xero) == [D("43.30"), D("43.30")]
    assert receives(xero) == sorted(D(s[0]["settlement_amount"]) for s in (first, second, third))
    assert clearing(xero) == D("0.00")


# --- 2. Two pen trays (equal refunds) of one order. The sale's statement (held: a fee not mapped yet)
# nets one tray's refund; the return granted first is read; a sync later the other return, requested
# EARLIER but completed later, is read with the statement that settles its refund.


def two_tray_order() -> dict:
    tray = ("Pen tray", "PEN-TRAY", "1729000000000000302", "1730000000000000302", "40.00")
    return build_order(
        order_id="576500000000000004",
        region="US",
        currency="USD",
        status="DELIVERED",
        create_time=1762819200,
        update_time=1763164800 - DAY,
        units=[Unit(tray, D("0"), D("0")), Unit(tray, D("0"), D("0"))],
        shipping=D("6.50"),
        shipping_platform_discount=D("6.50"),
    )


def test_equal_refunds_one_netted_by_a_held_sale_statement_one_settled_later_each_settle_once():
    from reconciliation.models import ComponentMapping

    shop, xero = order_world(1, settled=False)
    mapped_item(shop, xero, "PEN-TRAY", "Pen tray")
    order = two_tray_order()
    early, late = order["line_items"]
    shop.tiktok.orders.add_order(CIPHER, order)
    ComponentMapping.objects.get(channel="tiktok", component="fee.transaction_fee_amount").delete()
    tx = sale_tx(order["id"], "7302700000000000021")
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "80.00",
        "seller_discount_amount": "0",
        "refund_subtotal_before_discount_amount": "-40.00",
    }
    tx["revenue_amount"] = "40.00"
    tx["settlement_amount"] = str(D("40.00") + D(tx["shipping_cost_amount"]) + D(tx["fee_tax_amount"]))
    first = statement_and_payment([tx], "7301000000000000021", FIRST)
    shop.tiktok.add_statement(CIPHER, *first)
    # the tray returned second (requested 3 h after delivery) is granted at once: the one the sale nets
    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, late, "4039000000000000022", 3))
    sync_and_send(shop)
    assert open_reasons() == ["UNMAPPED_COMPONENT"]
    assert [D(str(c["Total"])) for c in xero.credit_notes] == [D("43.30")]

    # the other tray's return, requested 1 h after delivery, is granted later; its refund settles
    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, early, "4039000000000000021", 1))
    (a,) = other_orders(shop, 1)
    second = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000022"), refund_of(order, "7302900000000000022", "40.00")],
        "7301000000000000022",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *second)
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    again(shop)
    again(shop)

    print(dump(xero))
    invoice = invoice_of(xero, order["id"])
    assert D(str(invoice["Total"])) == D("93.10")  # 80.00 + 6.50 + 6.60 tax
    assert open_items() == []
    allocated = sorted(D(str(x["Amount"])) for c in xero.credit_notes for x in c["Allocations"])
    assert allocated == [D("43.30")] and refunds(xero) == [D("43.30")]
    assert D(str(invoice["AmountDue"])) == D("0.00")
    assert receives(xero) == sorted([D(first[0]["settlement_amount"]), D(second[0]["settlement_amount"])])
    assert clearing(xero) == D("0.00")


# --- 3. A whole order cancelled after its invoice was sent; TikTok's statement carries the order at
# net zero (the sale and its refund in one transaction), read in the same sync as the cancellation.


def net_zero_tx(order: dict, tx_id: str, shipping: str = "0") -> dict:
    """The worked order sold and refunded in one transaction: no fees, nothing paid out."""
    tx = refund_transaction(order) | {"id": tx_id}
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "235.95",
        "seller_discount_amount": "-35.39",
        "refund_subtotal_before_discount_amount": "-235.95",
        "seller_discount_refund_amount": "35.39",
    }
    tx["revenue_amount"] = "0"
    tx["shipping_cost_breakdown"] |= {"shipping_fee_discount_amount": shipping}
    tx["shipping_cost_amount"] = "0"
    tx["fee_tax_breakdown"]["fee"] |= {"referral_fee_amount": "0", "transaction_fee_amount": "0"}
    tx["fee_tax_amount"] = "0"
    tx["settlement_amount"] = "0"
    return tx


def test_a_cancelled_order_settled_at_net_zero_in_the_same_sync_is_allocated_not_refunded_from_clearing():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    (a,) = other_orders(shop, 1)
    statement = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000031"), net_zero_tx(order, "7302900000000000031")],
        "7301000000000000031",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *statement)
    again(shop)

    print(dump(xero))
    assert open_items() == []
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("221.10")
    # the statement nets the refund with the sale: the credit goes to the invoice, no cash moves
    assert [D(str(x["Amount"])) for x in credit["Allocations"]] == [D("221.10")]
    assert refunds(xero) == [] and paid(xero) == [D("221.10")]  # the other order's sale only
    assert receives(xero) == [D("167.04")]
    assert clearing(xero) == D("0.00")


def test_a_cancelled_order_settled_at_net_zero_after_its_credit_was_allocated_posts_the_statement():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)
    (a,) = other_orders(shop, 1)
    statement = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000032"), net_zero_tx(order, "7302900000000000032")],
        "7301000000000000032",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *statement)
    again(shop)

    print(dump(xero))
    assert open_items() == []
    (credit,) = xero.credit_notes
    assert [D(str(x["Amount"])) for x in credit["Allocations"]] == [D("221.10")]
    assert refunds(xero) == [] and paid(xero) == [D("221.10")]
    assert receives(xero) == [D("167.04")]
    assert clearing(xero) == D("0.00")


def test_an_order_cancelled_before_it_was_invoiced_settled_at_net_zero_does_not_hold_the_payout():
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    (a,) = other_orders(shop, 1)
    statement = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000033"), net_zero_tx(order, "7302900000000000033")],
        "7301000000000000033",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *statement)
    sync_and_send(shop)

    print(dump(xero))
    assert xero.credit_notes == [] and [i["InvoiceNumber"] for i in xero.invoices] == [f"TT-{a['id']}"]
    assert open_items() == []
    assert paid(xero) == [D("221.10")] and receives(xero) == [D("167.04")]
    assert clearing(xero) == D("0.00")


# --- 4. One order's sale settled over two statements (two ORDER transactions): paid once, or held.


def test_a_sale_split_over_two_statements_is_never_paid_twice_and_both_are_held_naming_the_figures():
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    goods = sale_tx(order["id"], "7302700000000000041")
    goods["shipping_cost_breakdown"] |= {"shipping_fee_discount_amount": "0"}
    goods["shipping_cost_amount"] = str(D(goods["shipping_cost_amount"]) - D("6.50"))
    goods["settlement_amount"] = str(D(goods["settlement_amount"]) - D("6.50"))
    shipping = refund_of(order, "7302700000000000042", "0")
    shipping["revenue_breakdown"] |= {"refund_subtotal_before_discount_amount": "0"}
    shipping["revenue_amount"] = "0"
    shipping["shipping_cost_breakdown"] |= {"shipping_fee_discount_amount": "6.50"}
    shipping["shipping_cost_amount"] = "6.50"
    shipping["settlement_amount"] = "6.50"
    first = statement_and_payment([goods], "7301000000000000041", FIRST)
    second = statement_and_payment([shipping], "7301000000000000042", LATER)
    shop.tiktok.add_statement(CIPHER, *first)
    shop.tiktok.add_statement(CIPHER, *second)
    sync_and_send(shop)
    again(shop)

    print(dump(xero))
    assert len(xero.invoices) == 1
    assert len(xero.payments) <= 1
    if xero.payments:  # paid once, by whichever statement; the other must then reconcile too
        assert open_items() == [] and clearing(xero) == D("0.00")
    else:
        assert open_reasons() == ["SOURCE_INCONSISTENT", "SOURCE_INCONSISTENT"]
        assert receives(xero) == []


# --- 5. The Seller Center import path (manage.py import_statement) for an order-invoices shop.

SC = "tests/fixtures/tiktok/seller_center/us_worked_order.csv"


def sc_file(tmp_path, name: str, *, sale: bool, refund: bool) -> str:
    """A Seller Center export of the worked order's sale (settled 2025/11/14) and/or its desk
    organiser's refund (settled 2025/11/21: -235.95 + 35.39, referral fee 23.59 given back)."""
    header, row = Path(SC).read_text().splitlines()[:2]
    cells = row.split(",")
    refund_cells = list(cells)
    names = header.split(",")
    values = {
        "Order settled time": "2025/11/21",
        "Total settlement amount": "-$176.97",
        "Total revenue": "-$200.56",
        "Subtotal after seller discounts": "$0.00",
        "Subtotal before discounts": "$0.00",
        "Seller discounts": "$0.00",
        "Refund subtotal after seller discounts": "-$200.56",
        "Refund subtotal before seller discounts": "-$235.95",
        "Refund of seller discounts": "$35.39",
        "Total fees": "$23.59",
        "Transaction fee": "$0.00",
        "Referral fee": "$23.59",
        "Seller shipping fee": "$0.00",
        "Actual shipping fee": "$0.00",
        "Platform shipping fee discount": "$0.00",
        "Customer payment": "$0.00",
        "Platform discounts": "$0.00",
        "Sales tax payment": "$0.00",
    }
    for column, value in values.items():
        refund_cells[names.index(column)] = value
    lines = [header] + ([row] if sale else []) + ([",".join(refund_cells)] if refund else [])
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def import_file(path: str) -> int:
    from django.core.management import call_command

    try:
        call_command("import_statement", path, "--shop", "tt-orders")
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_seller_center_sale_then_return_then_refund_file_refunds_the_credit_from_clearing(tmp_path):
    from tests.reconciliation.test_end_to_end import drain

    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)  # the invoice
    assert import_file(sc_file(tmp_path, "sale.csv", sale=True, refund=False)) == 0
    drain()
    assert paid(xero) == [D("221.10")]
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    again(shop)
    assert import_file(sc_file(tmp_path, "refund.csv", sale=False, refund=True)) == 0
    drain()
    again(shop)

    print(dump(xero))
    assert open_items() == []
    (credit,) = xero.credit_notes
    assert credit["Allocations"] == [] and refunds(xero) == [D("214.60")]
    assert paid(xero) == [D("221.10")]
    assert StatementOrder.objects.count() == 2


def test_seller_center_file_of_sale_and_refund_imported_after_the_return_was_credited(tmp_path):
    """The return is granted (and pulled by the hourly sync) after TikTok generated the sale's
    statement but before finance imports the Seller Center file of it and of the refund's statement:
    no statement was read when the credit's allocation was decided."""
    from tests.reconciliation.test_end_to_end import drain

    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    again(shop)
    import_file(sc_file(tmp_path, "both.csv", sale=True, refund=True))
    drain()
    again(shop)

    print(dump(xero))
    # README's known limit (a refund allocated before any statement was read, then settled after a
    # sale settled in full): held, naming both figures; here both of the file's statements are held
    assert open_reasons() == ["SOURCE_INCONSISTENT", "SOURCE_INCONSISTENT"]
    assert any("at 207.06" in m and "come to 6.50" in m for m in open_items())
    assert paid(xero) == [] and refunds(xero) == []
    (credit,) = xero.credit_notes
    assert [D(str(x["Amount"])) for x in credit["Allocations"]] == [D("214.60")]


# --- 6. A shop switched from statement_journal to order_invoices after its first statement posted.


def test_a_shop_switched_to_order_invoices_does_not_invoice_a_sale_its_journal_already_posted():
    from reconciliation.models import Shop

    shop, xero = order_world(1)
    Shop.objects.filter(pk=shop.pk).update(posting_mode="statement_journal")
    sync_and_send(shop)
    assert len(xero.manual_journals) == 1 and xero.invoices == [] and receives(xero) == [D("167.04")]
    Shop.objects.filter(pk=shop.pk).update(posting_mode="order_invoices")
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    (a,) = other_orders(shop, 1)
    second = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000061"), refund_transaction(order) | {"id": "7302900000000000061"}],
        "7301000000000000061",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *second)
    again(shop)

    print(dump(xero))
    # the worked order's sale is in statement 1's journal: no invoice (nor credit note) for it
    assert [i["InvoiceNumber"] for i in xero.invoices] == [f"TT-{a['id']}"]


# --- 7. TikTok corrects a held statement after StatementOrder rows were recorded from it.


def test_a_held_sale_statement_corrected_to_net_the_refund_pays_the_invoice_and_refunds_the_credit():
    from reconciliation.models import ComponentMapping

    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    (a,) = other_orders(shop, 1)
    ComponentMapping.objects.get(channel="tiktok", component="fee.transaction_fee_amount").delete()
    # version 1: the worked order's sale in full (no payment yet); the return is granted meanwhile
    v1, v1_txs, _ = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000071"), sale_tx(order["id"], "7302700000000000071")],
        "7301000000000000071",
        FIRST,
    )
    shop.tiktok.add_statement(CIPHER, v1, v1_txs)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    sync_and_send(shop)
    assert open_reasons() == ["UNMAPPED_COMPONENT"]
    assert [(str(r.sales), str(r.refunds)) for r in StatementOrder.objects.filter(order_id=order["id"])] == [
        ("207.06", "0.00")
    ]
    (credit,) = xero.credit_notes
    assert credit["Allocations"] == []  # the statement read settles the sale without the refund

    # version 2: TikTok nets the refund into the order's transaction; the fee gets mapped
    netted = sale_tx(order["id"], "7302700000000000071")
    netted["revenue_breakdown"] |= {
        "refund_subtotal_before_discount_amount": "-235.95",
        "seller_discount_refund_amount": "35.39",
    }
    netted["revenue_amount"] = "0"
    netted["settlement_amount"] = str(D(netted["settlement_amount"]) - D("200.56"))
    v2 = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000071"), netted], "7301000000000000071", FIRST
    )
    shop.tiktok.add_statement(CIPHER, *v2)
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    again(shop)
    again(shop)

    print(dump(xero))
    assert [(str(r.sales), str(r.refunds)) for r in StatementOrder.objects.filter(order_id=order["id"])] == [
        ("207.06", "-200.56")
    ]
    assert open_items() == []
    assert paid(xero) == [D("221.10"), D("221.10")] and refunds(xero) == [D("214.60")]
    assert receives(xero) == [D(v2[0]["settlement_amount"])]
    assert clearing(xero) == D("0.00")


# --- 8. Two pen trays (equal refunds) of a paid order, both returned, refunds settling in two
# statements, all read by one sync.


def test_equal_refunds_of_a_paid_order_settling_in_two_statements_each_refund_one_credit_note():
    shop, xero = order_world(1, settled=False)
    mapped_item(shop, xero, "PEN-TRAY", "Pen tray")
    order = two_tray_order()
    t1, t2 = order["line_items"]
    shop.tiktok.orders.add_order(CIPHER, order)
    tx = sale_tx(order["id"], "7302700000000000081")
    tx["revenue_breakdown"] |= {"subtotal_before_discount_amount": "80.00", "seller_discount_amount": "0"}
    tx["revenue_amount"] = "80.00"
    tx["settlement_amount"] = str(D("80.00") + D(tx["shipping_cost_amount"]) + D(tx["fee_tax_amount"]))
    first = statement_and_payment([tx], "7301000000000000081", FIRST)
    shop.tiktok.add_statement(CIPHER, *first)
    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, t1, "4039000000000000081", 1))
    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, t2, "4039000000000000082", 2))
    a, b = other_orders(shop, 2)
    second = statement_and_payment(
        [sale_tx(a["id"], "7302800000000000082"), refund_of(order, "7302900000000000082", "40.00")],
        "7301000000000000082",
        LATER,
    )
    third = statement_and_payment(
        [sale_tx(b["id"], "7302800000000000083"), refund_of(order, "7302900000000000083", "40.00")],
        "7301000000000000083",
        LATER + 7 * DAY,
    )
    shop.tiktok.add_statement(CIPHER, *third)  # listed before the second
    shop.tiktok.add_statement(CIPHER, *second)
    sync_and_send(shop)
    again(shop)

    print(dump(xero))
    assert open_items() == []
    assert paid(xero) == [D("93.10"), D("221.10"), D("221.10")]
    assert refunds(xero) == [D("43.30"), D("43.30")]
    assert all(D(str(c["RemainingCredit"])) == D("0.00") for c in xero.credit_notes)
    assert len(xero.credit_notes) == 2
    assert receives(xero) == sorted(D(s[0]["settlement_amount"]) for s in (first, second, third))
    assert clearing(xero) == D("0.00")


# --- 9. A return credited automatically and a partial refund finance dismissed (to credit by hand)
# on one paid order, both settled by the same statement.


def test_a_dismissed_partial_refund_does_not_swallow_the_automatic_refund_settled_beside_it():
    from reconciliation.services.quarantine import quarantine_dismiss
    from tests.reconciliation.test_order_credit_faults import finance, partial_refund_transaction
    from tests.reconciliation.test_order_credits_end_to_end import two_unit_order

    shop, xero = order_world(1, settled=False)
    mapped_item(shop, xero, "PEN-TRAY", "Pen tray")
    order = two_unit_order()
    desk, tray = order["line_items"]
    tray_tax = D(tray["item_tax"][0]["tax_amount"])
    shop.tiktok.orders.add_order(CIPHER, order)
    tx = sale_tx(order["id"], "7302700000000000091")
    tx["revenue_breakdown"] |= {"subtotal_before_discount_amount": "275.95"}
    tx["settlement_amount"] = str(D(tx["settlement_amount"]) + D("40.00"))
    tx["revenue_amount"] = str(D(tx["revenue_amount"]) + D("40.00"))
    first = statement_and_payment([tx], "7301000000000000091", FIRST)
    shop.tiktok.add_statement(CIPHER, *first)
    sync_and_send(shop)
    assert open_items() == [] and receives(xero) == [D("207.04")]

    shop.tiktok.orders.add_return(CIPHER, numbered_return(order, tray, "4039000000000000091", 1))
    partial = numbered_return(order, desk, "4039000000000000092", 2)
    partial["refund_amount"] |= {"refund_subtotal": "50.00", "refund_total": "50.00"}
    shop.tiktok.orders.add_return(CIPHER, partial)
    again(shop)
    (item,) = QuarantineItem.objects.filter(status="open")
    quarantine_dismiss(item=item, user=finance(), reason="credited 50.00 by hand in Xero")
    (a,) = other_orders(shop, 1)
    second = statement_and_payment(
        [
            sale_tx(a["id"], "7302800000000000092"),
            refund_of(order, "7302900000000000092", "40.00"),
            partial_refund_transaction(order, "50.00") | {"id": "7302900000000000093"},
        ],
        "7301000000000000092",
        LATER,
    )
    shop.tiktok.add_statement(CIPHER, *second)
    again(shop)

    print(dump(xero))
    assert open_items() == []
    # the pen tray's credit note is refunded from clearing by the statement that settles it ...
    assert refunds(xero) == [D("40.00") + tray_tax]
    assert all(D(str(c["RemainingCredit"])) == D("0.00") for c in xero.credit_notes)
    assert receives(xero) == sorted([D("207.04"), D(second[0]["settlement_amount"])])
    # ... and what is left in clearing is the 50.00 finance refunds by hand
    assert clearing(xero) == D("50.00")


def dump(xero) -> str:
    return "\n".join(
        [
            f"open: {open_items()}",
            f"invoices: {[(i['InvoiceNumber'], str(i['Total']), str(i['AmountDue'])) for i in xero.invoices]}",
            f"credits: {[(c['CreditNoteNumber'], str(c['Total']), [str(a['Amount']) for a in c['Allocations']]) for c in xero.credit_notes]}",
            f"paid: {paid(xero)} refunds: {refunds(xero)} receives: {receives(xero)} clearing: {clearing(xero)}",
        ]
    )
