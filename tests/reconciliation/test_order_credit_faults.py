"""Trying to break credit notes for TikTok returns and cancellations (services/order_credits.py) the
way a finance user meets them: end to end, TikTok sandbox -> real services and django-q2 tasks ->
Xero sandbox, asserting the figures Xero ends up with."""

import copy
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from connectors.tiktok.sandbox_order_data import cancellation_of, return_of
from reconciliation.models import QuarantineItem, SkuMapping, XeroPosting
from reconciliation.services import sync
from reconciliation.services.quarantine import quarantine_approve, quarantine_retry
from tests.reconciliation.test_order_credits_end_to_end import (
    again,
    clearing,
    refund_transaction,
    two_unit_order,
)
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
LATER = 1763769600  # the second statement's time (22 Nov 2025)


def finance() -> User:
    user, _ = User.objects.get_or_create(username="fin", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name="Finance"))
    return User.objects.get(pk=user.pk)


def receives(xero) -> list[Decimal]:
    return sorted(D(str(b["Total"])) for b in xero.bank_transactions if b["Type"] == "RECEIVE")


def refunds(xero) -> list[Decimal]:
    return sorted(D(str(p["Amount"])) for p in xero.payments if "CreditNote" in p)


def invoice_of(xero, order_id: str) -> dict:
    (invoice,) = [i for i in xero.invoices if i["InvoiceNumber"] == f"TT-{order_id}"]
    return invoice


def add_refund_statement(shop, returned_order: dict, statement_id: str = "7301000000000000002") -> None:
    """Two more orders sell and `returned_order`'s desk organiser refund settles, in a later statement
    (2 x 167.04 - 176.97 = 157.11)."""
    orders, _ = orders_and_statement(3)
    later = orders[1:]
    for order in later:
        shop.tiktok.orders.add_order(CIPHER, order)
    sales = [
        copy.deepcopy(worked_transaction()) | {"id": f"73028{n:014d}", "order_id": order["id"]}
        for n, order in enumerate(later)
    ]
    second = statement_and_payment([*sales, refund_transaction(returned_order)], statement_id, LATER)
    assert D(second[0]["settlement_amount"]) == D("157.11")
    shop.tiktok.add_statement(CIPHER, *second)


def sync_locking_after_reading(shop, xero, monkeypatch, period: date, *, first: bool = True) -> None:
    """One sync during which Xero gains a period lock date right after the run has read the
    organisation settings (finance closed the month in Xero while LedgerSync was syncing)."""
    real_refresh = sync.organisation_refresh

    def refresh_then_lock(*, connection):
        result = real_refresh(connection=connection)
        xero.set_lock_dates(period=period)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(sync, "organisation_refresh", refresh_then_lock)
        sync_and_send(shop) if first else again(shop)


# --- 1. A shop's first sync (or one after a few days' outage) pulls the sale's statement, the
# return and the statement that settles the refund at once.


def test_a_backfill_pulling_the_sale_statement_the_return_and_the_refund_statement_at_once_reconciles():
    shop, xero = order_world(1)  # statement 1 settles the sale in full (167.04)
    (first,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(first, first["line_items"][0]))
    add_refund_statement(shop, first)
    sync_and_send(shop)

    assert open_items() == []
    invoice = invoice_of(xero, first["id"])
    paid = [
        D(str(p["Amount"]))
        for p in xero.payments
        if p.get("Invoice", {}).get("InvoiceID") == invoice["InvoiceID"]
    ]
    assert paid == [D("221.10")]  # statement 1 paid the sale as TikTok did
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60") and refunds(xero) == [D("214.60")]
    assert receives(xero) == [D("157.11"), D("167.04")]
    assert clearing(xero) == D("0.00")


# --- 2. Two returns of one order: the pen tray before settlement, the desk organiser after.


@pytest.mark.parametrize("presentation", ["gross", "net"])
def test_two_returns_of_different_lines_one_allocated_one_refunded_from_clearing_reconcile(presentation):
    from reconciliation.models import Shop

    shop, xero = order_world(1, settled=False)
    Shop.objects.filter(pk=shop.pk).update(order_tax_presentation=presentation)
    gross = presentation == "gross"
    xero.add_item("PEN-TRAY", "Pen tray")
    SkuMapping.objects.create(channel="tiktok", channel_sku="PEN-TRAY", item_code="PEN-TRAY")
    order = two_unit_order()
    desk, tray = order["line_items"]
    tray_tax = D(tray["item_tax"][0]["tax_amount"])
    shop.tiktok.orders.add_order(CIPHER, order)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, tray))
    tx = copy.deepcopy(worked_transaction()) | {"id": "7302700000000000001", "order_id": order["id"]}
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "275.95",
        "refund_subtotal_before_discount_amount": "-40.00",
    }
    shop.tiktok.add_statement(CIPHER, *statement_and_payment([tx], "7301000000000000003", 1763164800))
    sync_and_send(shop)
    assert open_items() == []
    assert len(xero.credit_notes) == 1

    # the desk organiser comes back a week later, its refund settling in the next statement
    second = return_of(order, desk) | {"return_id": "4039000000000000002"}
    second["create_time"] += 3 * DAY
    second["update_time"] += 3 * DAY
    shop.tiktok.orders.add_return(CIPHER, second)
    add_refund_statement(shop, order, "7301000000000000004")
    again(shop)

    assert open_items() == []
    by_number = {c["CreditNoteNumber"]: c for c in xero.credit_notes}
    assert len(by_number) == 2
    tray_credit = by_number[f"TT-{order['id']}-R{return_of(order, tray)['return_id']}"]
    desk_credit = by_number[f"TT-{order['id']}-R4039000000000000002"]
    tray_total = D("40.00") + (tray_tax if gross else 0)
    desk_total = D("214.60") if gross else D("200.56")
    assert D(str(tray_credit["Total"])) == tray_total
    assert [D(str(a["Amount"])) for a in tray_credit["Allocations"]] == [tray_total]
    assert D(str(desk_credit["Total"])) == desk_total and desk_credit["Allocations"] == []
    assert refunds(xero) == [desk_total]
    invoice = invoice_of(xero, order["id"])
    assert D(str(invoice["AmountDue"])) == D("0.00")
    assert receives(xero) == [D("157.11"), D("167.04")]
    assert clearing(xero) == D("0.00")
    assert not XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).exists()
    calls = len(xero.requests)
    again(shop)
    assert [r.method for r in xero.requests[calls:]] == ["GET"] * 4


# --- 3. The same return delivered again, its status moving on from SUCCESS to COMPLETE.


@pytest.mark.parametrize("settled_first", [False, True])
def test_a_return_moving_from_success_to_complete_posts_one_credit_note(settled_first):
    shop, xero = order_world(1, settled=settled_first)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    granted = return_of(order, order["line_items"][0]) | {"return_status": "RETURN_OR_REFUND_REQUEST_SUCCESS"}
    granted["update_time"] = granted["create_time"] + DAY
    shop.tiktok.orders.add_return(CIPHER, granted)
    again(shop)
    assert open_items() == []
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    puts = len([r for r in xero.requests if r.method == "PUT"])

    # delivered again unchanged, then completed (the buyer's parcel arrived): the content changes
    again(shop)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    again(shop)
    again(shop)

    assert open_items() == []
    assert len(xero.credit_notes) == 1
    assert len([r for r in xero.requests if r.method == "PUT"]) == puts  # nothing new sent
    (credit,) = xero.credit_notes
    if settled_first:  # invoice paid by the statement: the credit waits for the refund's statement
        assert credit["Allocations"] == [] and D(str(credit["RemainingCredit"])) == D("214.60")
    else:
        (allocation,) = credit["Allocations"]
        assert D(str(allocation["Amount"])) == D("214.60")
        assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")


# --- 4. A return pulled while the order's invoice is not in Xero (Xero refused it: the month was
# locked in Xero after LedgerSync read the settings), then the order is cancelled.


def test_a_return_on_an_order_whose_invoice_xero_refused_posts_no_credit_note_before_the_invoice(monkeypatch):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    sync_locking_after_reading(
        shop, xero, monkeypatch, date(2025, 11, 12)
    )  # the invoice is dated 11 Nov, the return 16 Nov

    assert xero.invoices == []
    (invoice_item,) = QuarantineItem.objects.filter(status="open", posting__kind="Invoices")
    assert invoice_item.reason == "LOCK_DATE"
    assert xero.credit_notes == []  # nothing credited before the sale is in Xero

    # finance approves the invoice re-dated: then the credit note follows and is allocated
    quarantine_approve(item=invoice_item, user=finance())
    again(shop)
    invoice = invoice_of(xero, order["id"])
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    assert D(str(invoice["AmountDue"])) == D("6.50")
    assert open_items() == []


def test_a_return_then_a_cancellation_of_an_order_whose_invoice_xero_refused_leaves_nothing_in_xero(
    monkeypatch,
):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    sync_locking_after_reading(shop, xero, monkeypatch, date(2025, 11, 12))
    assert xero.invoices == []

    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + 2 * DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)

    assert xero.invoices == [] and xero.credit_notes == [] and xero.payments == []
    assert open_items() == []


def test_a_cancellation_of_an_order_whose_invoice_xero_refused_retires_the_invoice_and_credits_nothing(
    monkeypatch,
):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_locking_after_reading(shop, xero, monkeypatch, date(2025, 11, 12))
    assert xero.invoices == []
    assert [i.reason for i in QuarantineItem.objects.filter(status="open")] == ["LOCK_DATE"]

    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)

    assert xero.invoices == [] and xero.credit_notes == []
    assert open_items() == []  # the invoice's lock-date item went with the invoice
    assert not XeroPosting.objects.exclude(
        state__in=[XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED]
    ).exists()


# --- 5. The statement that settles a refund arrives before the return does.


def test_a_refund_statement_pulled_before_its_return_is_held_then_posts_and_its_receive_follows():
    shop, xero = order_world(1)
    sync_and_send(shop)
    (first,), _ = orders_and_statement(1)
    add_refund_statement(shop, first)
    again(shop)

    items = QuarantineItem.objects.filter(status="open")
    assert [i.reason for i in items] == ["ORDER_NOT_INVOICED"]
    assert first["id"] in items[0].message
    assert len(xero.manual_journals) == 1 and receives(xero) == [D("167.04")]  # the payout waits
    assert len(xero.invoices) == 3  # the two new sales are invoiced meanwhile

    shop.tiktok.orders.add_return(CIPHER, return_of(first, first["line_items"][0]))
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60") and credit["Allocations"] == []
    assert refunds(xero) == [D("214.60")]
    assert receives(xero) == [D("157.11"), D("167.04")]
    assert clearing(xero) == D("0.00")
    assert not XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).exists()


# --- 6. Xero's lock date refuses the credit note; finance approves it re-dated.


def test_a_credit_note_refused_by_the_lock_date_is_approved_re_dated_with_its_allocation(monkeypatch):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    assert len(xero.invoices) == 1
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    sync_locking_after_reading(
        shop, xero, monkeypatch, date(2025, 11, 20), first=False
    )  # the return is dated 16 Nov
    assert xero.credit_notes == []
    lock_items = list(QuarantineItem.objects.filter(status="open"))
    assert {i.reason for i in lock_items} == {"LOCK_DATE"}
    credit_item = next(i for i in lock_items if i.posting and i.posting.kind == "CreditNotes")

    quarantine_approve(item=credit_item, user=finance())
    again(shop)

    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    assert str(credit["Date"]).startswith("2025-11-21") or credit["DateString"].startswith("2025-11-21")
    (allocation,) = credit["Allocations"]
    assert D(str(allocation["Amount"])) == D("214.60")
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")
    assert open_items() == []
    assert not XeroPosting.objects.exclude(
        state__in=[XeroPosting.State.POSTED, XeroPosting.State.SUPERSEDED]
    ).exists()


# --- 7. A refund held for finance: Retry while the data is still wrong, then TikTok corrects it.


def test_retry_of_a_held_partial_refund_keeps_it_held_until_tiktok_corrects_it_then_credits_it():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    returned = return_of(order, order["line_items"][0])
    partial = copy.deepcopy(returned)
    partial["refund_amount"] |= {"refund_subtotal": "50.00", "refund_total": "50.00"}
    shop.tiktok.orders.add_return(CIPHER, partial)
    again(shop)
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_INCONSISTENT" and "50.00" in item.message

    quarantine_retry(item=item, user=finance())  # nothing changed: it must stay held
    assert [i.reason for i in QuarantineItem.objects.filter(status="open")] == ["SOURCE_INCONSISTENT"]
    assert xero.credit_notes == []

    fixed = returned | {"update_time": returned["update_time"] + DAY}
    shop.tiktok.orders.add_return(CIPHER, fixed)
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")


def test_retry_of_a_refund_naming_an_unknown_line_holds_it_again_and_the_invoice_stands():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    returned = return_of(order, order["line_items"][0])
    returned["return_line_items"][0]["order_line_item_id"] = "999999999999999999"
    shop.tiktok.orders.add_return(CIPHER, returned)
    again(shop)
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_INCONSISTENT" and "999999999999999999" in item.message

    quarantine_retry(item=item, user=finance())
    again(shop)

    assert [i.reason for i in QuarantineItem.objects.filter(status="open")] == ["SOURCE_INCONSISTENT"]
    assert xero.credit_notes == []
    (invoice,) = xero.invoices
    assert invoice["Status"] == "AUTHORISED" and D(str(invoice["AmountDue"])) == D("221.10")


def test_a_credit_note_inside_a_lock_date_known_when_planned_is_approved_re_dated_with_its_allocation():
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    xero.set_lock_dates(period=date(2025, 11, 20))  # finance closed the month before the return came
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    again(shop)
    assert xero.credit_notes == []
    credit_item = QuarantineItem.objects.get(status="open", reason="LOCK_DATE", posting__kind="CreditNotes")

    quarantine_approve(item=credit_item, user=finance())
    again(shop)

    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    (allocation,) = credit["Allocations"]
    assert D(str(allocation["Amount"])) == D("214.60")
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")
    assert open_items() == []


# --- 8. The sale's statement is held (a fee not mapped yet) when the return arrives; finance maps the
# fee, and the refund settles in the next statement.


def test_a_return_arriving_while_the_sale_statement_is_held_does_not_block_it_once_the_map_is_fixed():
    from reconciliation.models import ComponentMapping

    shop, xero = order_world(1)
    fee = ComponentMapping.objects.get(channel="tiktok", component="fee.transaction_fee_amount")
    fee.delete()
    sync_and_send(shop)
    assert [i.reason for i in QuarantineItem.objects.filter(status="open")] == ["UNMAPPED_COMPONENT"]
    assert xero.payments == [] and len(xero.invoices) == 1

    (first,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(first, first["line_items"][0]))
    add_refund_statement(shop, first)
    again(shop)
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    again(shop)

    assert open_items() == []
    invoice = invoice_of(xero, first["id"])
    paid = [
        D(str(p["Amount"]))
        for p in xero.payments
        if p.get("Invoice", {}).get("InvoiceID") == invoice["InvoiceID"]
    ]
    assert paid == [D("221.10")]
    assert refunds(xero) == [D("214.60")]
    assert receives(xero) == [D("157.11"), D("167.04")]
    assert clearing(xero) == D("0.00")


# --- 9. The statement netting a sale and its refund is pulled before the return is.


def test_a_netting_statement_pulled_before_the_return_is_held_then_posts_with_the_credit_allocated():
    shop, xero = order_world(1, settled=False)
    xero.add_item("PEN-TRAY", "Pen tray")
    SkuMapping.objects.create(channel="tiktok", channel_sku="PEN-TRAY", item_code="PEN-TRAY")
    order = two_unit_order()
    tray = order["line_items"][1]
    tray_tax = D(tray["item_tax"][0]["tax_amount"])
    shop.tiktok.orders.add_order(CIPHER, order)
    tx = copy.deepcopy(worked_transaction()) | {"id": "7302700000000000001", "order_id": order["id"]}
    tx["revenue_breakdown"] |= {
        "subtotal_before_discount_amount": "275.95",
        "refund_subtotal_before_discount_amount": "-40.00",
    }
    shop.tiktok.add_statement(CIPHER, *statement_and_payment([tx], "7301000000000000003", 1763164800))
    sync_and_send(shop)
    assert [i.reason for i in QuarantineItem.objects.filter(status="open")] == ["SOURCE_INCONSISTENT"]
    assert xero.payments == [] and receives(xero) == []

    shop.tiktok.orders.add_return(CIPHER, return_of(order, tray))
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    assert [D(str(a["Amount"])) for a in credit["Allocations"]] == [D("40.00") + tray_tax]
    invoice = invoice_of(xero, order["id"])
    assert [D(str(p["Amount"])) for p in xero.payments] == [D("221.10")]
    assert D(str(invoice["AmountDue"])) == D("0.00")
    assert receives(xero) == [D("167.04")]
    assert clearing(xero) == D("0.00")


# --- 10. TikTok updates the order after the return (COMPLETED): the invoice and credit stand.


def test_an_order_updated_after_its_return_is_credited_changes_nothing_in_xero():
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    returned = return_of(order, order["line_items"][0])
    shop.tiktok.orders.add_return(CIPHER, returned)
    again(shop)
    assert len(xero.credit_notes) == 1
    puts = len([r for r in xero.requests if r.method == "PUT"])

    completed = copy.deepcopy(order) | {"status": "COMPLETED", "update_time": returned["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, completed)
    again(shop)
    again(shop)

    assert open_items() == []
    assert len([r for r in xero.requests if r.method == "PUT"]) == puts
    assert len(xero.invoices) == 1 and len(xero.credit_notes) == 1
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")


# --- 11. A partial refund finance credited by hand (as the item asks) and dismissed; its statement.


def partial_refund_transaction(order: dict, amount: str) -> dict:
    tx = refund_transaction(order)
    tx["revenue_breakdown"] |= {
        "refund_subtotal_before_discount_amount": f"-{amount}",
        "seller_discount_refund_amount": "0",
    }
    tx["revenue_amount"] = f"-{amount}"
    tx["fee_tax_breakdown"]["fee"] |= {"referral_fee_amount": "0"}
    tx["fee_tax_amount"] = "0"
    tx["settlement_amount"] = f"-{amount}"
    return tx


def test_a_dismissed_partial_refund_does_not_hold_the_statement_that_settles_it_for_ever():
    from reconciliation.services.quarantine import quarantine_dismiss

    shop, xero = order_world(1)
    sync_and_send(shop)
    (first,), _ = orders_and_statement(1)
    partial = return_of(first, first["line_items"][0])
    partial["refund_amount"] |= {"refund_subtotal": "50.00", "refund_total": "50.00"}
    shop.tiktok.orders.add_return(CIPHER, partial)
    again(shop)
    (item,) = QuarantineItem.objects.filter(status="open")
    quarantine_dismiss(item=item, user=finance(), reason="credited 50.00 by hand in Xero")

    orders, _ = orders_and_statement(3)
    for order in orders[1:]:
        shop.tiktok.orders.add_order(CIPHER, order)
    sales = [
        copy.deepcopy(worked_transaction()) | {"id": f"73028{n:014d}", "order_id": order["id"]}
        for n, order in enumerate(orders[1:])
    ]
    second = statement_and_payment(
        [*sales, partial_refund_transaction(first, "50.00")], "7301000000000000002", LATER
    )
    assert D(second[0]["settlement_amount"]) == D("284.08")
    shop.tiktok.add_statement(CIPHER, *second)
    again(shop)

    # the two new sales are paid and the payout is received; what is open names the refund
    paid = sorted(D(str(p["Amount"])) for p in xero.payments if "Invoice" in p)
    assert paid == [D("221.10")] * 3
    assert receives(xero) == [D("167.04"), D("284.08")]


# --- 12. Xero refuses the credit note (its item was deleted in Xero meanwhile); finance restores the
# item and presses Retry.


def test_retry_of_a_credit_note_xero_refused_after_the_item_is_restored_posts_it_with_its_allocation(
    monkeypatch,
):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    real_refresh = sync.organisation_refresh

    def refresh_then_delete_item(*, connection):
        result = real_refresh(connection=connection)
        xero.state.items.pop("DESK-WAL")
        return result

    with monkeypatch.context() as patch:
        patch.setattr(sync, "organisation_refresh", refresh_then_delete_item)
        again(shop)
    assert xero.credit_notes == []
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "XERO_VALIDATION" and "DESK-WAL" in item.message

    xero.add_item("DESK-WAL", "Walnut desk organiser")
    quarantine_retry(item=item, user=finance())
    again(shop)

    assert open_items() == []
    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("214.60")
    assert [D(str(a["Amount"])) for a in credit["Allocations"]] == [D("214.60")]
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")
    assert not XeroPosting.objects.exclude(
        state__in=[XeroPosting.State.POSTED, XeroPosting.State.SUPERSEDED]
    ).exists()


# --- 13. Xero's answer is lost after it applied the allocation / the refund payment.


@pytest.mark.parametrize("fault", ["timeout_after_write", "drop_response", "server_error"])
def test_an_allocation_whose_answer_was_lost_is_found_not_allocated_twice(fault):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    sync_and_send(shop)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    xero.faults.next(fault, method="PUT", path_prefix="/CreditNotes/")
    again(shop)
    again(shop)

    assert xero.faults.injected[fault] == 1
    assert open_items() == []
    (credit,) = xero.credit_notes
    assert [D(str(a["Amount"])) for a in credit["Allocations"]] == [D("214.60")]
    assert D(str(credit["RemainingCredit"])) == D("0.00")
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("6.50")
    assert not XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).exists()


@pytest.mark.parametrize("fault", ["timeout_after_write", "drop_response"])
def test_a_refund_payment_whose_answer_was_lost_is_found_not_refunded_twice(fault):
    shop, xero = order_world(1)
    sync_and_send(shop)
    (first,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(first, first["line_items"][0]))
    again(shop)  # the credit note is posted, waiting for the refund's statement
    add_refund_statement(shop, first)
    xero.faults.next(fault, method="PUT", path_prefix="/Payments")
    again(shop)
    again(shop)

    assert xero.faults.injected[fault] == 1
    assert open_items() == []
    assert refunds(xero) == [D("214.60")]
    assert sorted(D(str(p["Amount"])) for p in xero.payments if "Invoice" in p) == [D("221.10")] * 3
    assert receives(xero) == [D("157.11"), D("167.04")]
    assert clearing(xero) == D("0.00")


# --- 14. The refused invoice is approved re-dated: does the early credit note still end allocated?


def test_after_the_refused_invoice_is_approved_re_dated_the_return_ends_allocated_to_it(monkeypatch):
    shop, xero = order_world(1, settled=False)
    (order,), _ = orders_and_statement(1)
    shop.tiktok.orders.add_return(CIPHER, return_of(order, order["line_items"][0]))
    sync_locking_after_reading(shop, xero, monkeypatch, date(2025, 11, 12))
    invoice_item = QuarantineItem.objects.get(status="open", posting__kind="Invoices")

    quarantine_approve(item=invoice_item, user=finance())
    again(shop)
    again(shop)

    assert open_items() == []
    invoice = invoice_of(xero, order["id"])
    assert D(str(invoice["Total"])) == D("221.10") and D(str(invoice["AmountDue"])) == D("6.50")
    (credit,) = xero.credit_notes
    assert [D(str(a["Amount"])) for a in credit["Allocations"]] == [D("214.60")]
    assert not XeroPosting.objects.exclude(
        state__in=[XeroPosting.State.POSTED, XeroPosting.State.SUPERSEDED]
    ).exists()


# --- 15. TikTok reports the order CANCELLED a sync before it reports the cancellation granted (the
# order's webhook, or the cancellations search, lags behind).


def test_an_order_seen_cancelled_before_its_cancellation_ends_credited_with_nothing_left_open():
    shop, xero = order_world(1, settled=False)
    sync_and_send(shop)
    (order,), _ = orders_and_statement(1)
    cancelled = copy.deepcopy(order) | {"status": "CANCELLED", "update_time": order["update_time"] + DAY}
    shop.tiktok.orders.add_order(CIPHER, cancelled)
    again(shop)  # the cancellation is not reported yet
    assert xero.credit_notes == []

    shop.tiktok.orders.add_cancellation(CIPHER, cancellation_of(cancelled))
    again(shop)

    (credit,) = xero.credit_notes
    assert D(str(credit["Total"])) == D("221.10")
    assert [D(str(a["Amount"])) for a in credit["Allocations"]] == [D("221.10")]
    assert D(str(invoice_of(xero, order["id"])["AmountDue"])) == D("0.00")
    assert open_items() == []  # nothing tells finance to correct the invoice by hand any more


# --- 16. Two returns of one paid order, granted together, whose refunds settle in two statements.


def tray_refund_transaction(order: dict, tx_id: str) -> dict:
    """The pen tray's refund as it settles: TikTok takes back its 40.00 sale (no fees given back)."""
    tx = refund_transaction(order) | {"id": tx_id}
    tx["revenue_breakdown"] |= {
        "refund_subtotal_before_discount_amount": "-40.00",
        "seller_discount_refund_amount": "0",
    }
    tx["revenue_amount"] = "-40.00"
    tx["fee_tax_breakdown"]["fee"] |= {"referral_fee_amount": "0"}
    tx["fee_tax_amount"] = "0"
    tx["settlement_amount"] = "-40.00"
    return tx


def test_two_returns_of_a_paid_order_settling_in_two_statements_each_refund_their_own_credit_note():
    shop, xero = order_world(1, settled=False)
    xero.add_item("PEN-TRAY", "Pen tray")
    SkuMapping.objects.create(channel="tiktok", channel_sku="PEN-TRAY", item_code="PEN-TRAY")
    order = two_unit_order()
    desk, tray = order["line_items"]
    tray_tax = D(tray["item_tax"][0]["tax_amount"])
    shop.tiktok.orders.add_order(CIPHER, order)
    tx = copy.deepcopy(worked_transaction()) | {"id": "7302700000000000001", "order_id": order["id"]}
    tx["revenue_breakdown"] |= {"subtotal_before_discount_amount": "275.95"}
    tx["settlement_amount"] = str(D(tx["settlement_amount"]) + D("40.00"))
    tx["revenue_amount"] = str(D(tx["revenue_amount"]) + D("40.00"))
    shop.tiktok.add_statement(CIPHER, *statement_and_payment([tx], "7301000000000000003", 1763164800))
    sync_and_send(shop)
    assert open_items() == [] and receives(xero) == [D("207.04")]
    invoice = invoice_of(xero, order["id"])
    assert D(str(invoice["AmountDue"])) == D("0.00")

    # both returns are granted before either refund settles
    desk_return = return_of(order, desk) | {"return_id": "4039000000000000002"}
    shop.tiktok.orders.add_return(CIPHER, return_of(order, tray))
    shop.tiktok.orders.add_return(CIPHER, desk_return)
    again(shop)
    assert len(xero.credit_notes) == 2
    # the desk organiser's refund settles first, the pen tray's a week later
    add_refund_statement(shop, order, "7301000000000000004")
    orders, _ = orders_and_statement(4)
    shop.tiktok.orders.add_order(CIPHER, orders[3])
    sale = copy.deepcopy(worked_transaction()) | {"id": "7302900000000000031", "order_id": orders[3]["id"]}
    third = statement_and_payment(
        [sale, tray_refund_transaction(order, "7302900000000000032")], "7301000000000000005", LATER + 7 * DAY
    )
    assert D(third[0]["settlement_amount"]) == D("127.04")
    shop.tiktok.add_statement(CIPHER, *third)
    again(shop)

    assert open_items() == []
    assert refunds(xero) == sorted([D("214.60"), D("40.00") + tray_tax])
    assert receives(xero) == [D("127.04"), D("157.11"), D("207.04")]
    assert clearing(xero) == D("0.00")
