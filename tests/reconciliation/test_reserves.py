"""Reserves reconcile (issue 5, case 2): money TikTok withholds sits in the reserve account, clearing
ends at 0.00 after the payout, and a reserve is counted once whoever reports it."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django_q.tasks import async_task

from reconciliation import selectors
from reconciliation.models import QuarantineItem, Statement
from tests.reconciliation.world import CIPHER, build_world
from tests.support.ledger import account_movement
from tests.support.tiktok import order_transaction, payment_entry, reserve_transaction, statement_entry

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def world_with(
    transactions, *, payment_amount: str, payment_reserve: str, statement_id="7311000000000000001"
):
    """A shop whose only statement is `transactions`, paid as one payment."""
    world = build_world(days=0)
    time = _midnight(world)
    statement = statement_entry(statement_id, time, "7312000000000000001", transactions)
    settlement = statement["settlement_amount"]
    payment = payment_entry(
        "7312000000000000001", time + 3600, payment_amount, reserve=payment_reserve, settlement=settlement
    )
    world.tiktok.add_statement(CIPHER, statement, transactions, payment)
    return world


def _midnight(world) -> int:
    """The day after the world's start, 00:00 UTC: when TikTok generates a statement."""
    return int(datetime.combine(world.start + timedelta(days=1), time(), tzinfo=UTC).timestamp())


def sync(world):
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)


def test_a_reserve_on_the_statement_moves_to_the_reserve_account_and_clearing_ends_at_zero():
    world = world_with(
        [
            order_transaction("7311000000000000101", "576000000000000001", "100.00"),
            reserve_transaction("7311000000000000102", "-10.00"),
        ],
        payment_amount="90.00",
        payment_reserve="-10.00",
    )
    sync(world)

    (journal,) = world.xero.manual_journals
    lines = {line["AccountCode"]: D(str(line["LineAmount"])) for line in journal["JournalLines"]}
    assert lines == {"4000": D("-100.00"), "1220": D("10.00"), "1210": D("90.00")}
    (receive,) = world.xero.bank_transactions
    assert D(str(receive["Total"])) == D("90.00")
    assert account_movement(world.xero, "1210") == D("0.00")
    assert account_movement(world.xero, "1220") == D("10.00")
    assert Statement.objects.get().reserve_amount == D("-10.00")
    (row,) = selectors.payout_reconciliation(world.shop)
    assert (row["deposit"], row["posted_to_clearing"], row["residue"]) == (D("90.00"), D("90.00"), D("0.00"))


def test_a_reserve_only_the_payment_reports_is_posted_once_on_the_receive():
    world = world_with(
        [order_transaction("7311000000000000101", "576000000000000001", "100.00")],
        payment_amount="90.00",
        payment_reserve="-10.00",
    )
    sync(world)

    (journal,) = world.xero.manual_journals
    assert {line["AccountCode"] for line in journal["JournalLines"]} == {"4000", "1210"}
    (receive,) = world.xero.bank_transactions
    assert D(str(receive["Total"])) == D("90.00")
    assert sorted((li["AccountCode"], D(str(li["LineAmount"]))) for li in receive["LineItems"]) == [
        ("1210", D("100.00")),
        ("1220", D("-10.00")),
    ]
    assert account_movement(world.xero, "1210") == D("0.00")
    assert account_movement(world.xero, "1220") == D("10.00")
    (row,) = selectors.payout_reconciliation(world.shop)
    assert (row["posted_to_clearing"], row["reserve_on_receive"], row["residue"]) == (
        D("100.00"),
        D("-10.00"),
        D("0.00"),
    )


def test_a_released_reserve_moves_back_through_clearing_into_the_payout():
    world = world_with(
        [
            order_transaction("7311000000000000101", "576000000000000001", "50.00"),
            reserve_transaction("7311000000000000102", "10.00", status="RELEASED"),
        ],
        payment_amount="60.00",
        payment_reserve="10.00",
    )
    sync(world)

    assert account_movement(world.xero, "1220") == D("-10.00")
    assert account_movement(world.xero, "1210") == D("0.00")
    (receive,) = world.xero.bank_transactions
    assert D(str(receive["Total"])) == D("60.00")


def test_a_statement_total_that_disagrees_with_its_reserve_transactions_is_held():
    world = world_with(
        [
            order_transaction("7311000000000000101", "576000000000000001", "100.00"),
            reserve_transaction("7311000000000000102", "-10.00"),
        ],
        payment_amount="90.00",
        payment_reserve="-10.00",
    )
    world.tiktok.spec = None  # the served page is edited below, as a faulty TikTok would send it
    original = world.tiktok._transactions

    def wrong_reserve(cipher, statement_id, params):
        page = original(cipher, statement_id, params)
        return {**page, "total_reserve_amount": "-20.00", "payable_amount": "80.00"}

    world.tiktok._transactions = wrong_reserve
    sync(world)

    assert world.xero.manual_journals == [] and world.xero.bank_transactions == []
    assert Statement.objects.get().state == "held"
    (item,) = QuarantineItem.objects.filter(status="open")
    assert "total_reserve_amount is -20.00" in item.message and "payable_amount is 80.00" in item.message
