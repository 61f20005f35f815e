"""Faults a reviewer found by trying to break the TikTok, reserve and outbox changes: each test failed before its fix."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django_q.tasks import async_task

from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.models import QuarantineItem
from tests.reconciliation.world import CIPHER, build_world
from tests.support.ledger import account_movement
from tests.support.tiktok import (
    order_transaction,
    payment_entry,
    reserve_transaction,
    restate,
    statement_entry,
)

D = Decimal


def _page(transactions, **overrides):
    data = restate(
        {
            "id": "7311000000000000001",
            "create_time": 1763000000,
            "status": "SETTLED",
            "currency": "USD",
            "transactions": transactions,
        }
    )
    data.update(overrides)
    return data


# --- 1. the normaliser raises ------------------------------------------------------------------


def test_a_malformed_total_reserve_amount_beside_reserve_transactions_is_held_not_raised():
    """TikTok sends total_reserve_amount as a JSON number (its schema says string)."""
    page = _page(
        [
            order_transaction("7311000000000000101", "576000000000000001", "100.00"),
            reserve_transaction("7311000000000000102", "-10.00"),
        ],
        total_reserve_amount=-10.5,
    )
    _facts, problems = statement_facts([page], timezone="UTC")  # must never raise
    assert problems and any("total_reserve_amount" in p.message for p in problems)


# --- 2. a held/unreadable statement does not stop its payout's RECEIVE -------------------------


def _midnight(world) -> int:
    return int(datetime.combine(world.start + timedelta(days=1), time(), tzinfo=UTC).timestamp())


def _world_with(transactions, *, payment_amount, payment_reserve):
    world = build_world(days=0)
    when = _midnight(world)
    statement = statement_entry("7311000000000000001", when, "7312000000000000001", transactions)
    payment = payment_entry(
        "7312000000000000001",
        when + 3600,
        payment_amount,
        reserve=payment_reserve,
        settlement=statement["settlement_amount"],
    )
    world.tiktok.add_statement(CIPHER, statement, transactions, payment)
    return world


@pytest.mark.django_db(transaction=True)
def test_a_statement_whose_pages_raise_in_the_normaliser_still_holds_its_payouts_receive():
    world = _world_with(
        [
            order_transaction("7311000000000000101", "576000000000000001", "100.00"),
            reserve_transaction("7311000000000000102", "-10.00"),
        ],
        payment_amount="90.00",
        payment_reserve="-10.00",
    )
    world.tiktok.spec = None  # the served page is edited below, as a faulty TikTok would send it
    original = world.tiktok._transactions

    def numeric_reserve(cipher, statement_id, params):
        return {**original(cipher, statement_id, params), "total_reserve_amount": -10.5}

    world.tiktok._transactions = numeric_reserve
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert world.xero.manual_journals == []  # the statement is not posted...
    assert QuarantineItem.objects.filter(status="open").exists()
    # ...so its payout must not be either: clearing would show 90.00 paid that nothing explains
    assert world.xero.bank_transactions == [], account_movement(world.xero, "1210")


@pytest.mark.django_db(transaction=True)
def test_a_statement_whose_list_entry_is_unreadable_still_holds_its_payouts_receive():
    world = _world_with(
        [order_transaction("7311000000000000101", "576000000000000001", "100.00")],
        payment_amount="100.00",
        payment_reserve="0.00",
    )
    world.tiktok.spec = None
    statement, _ = world.tiktok._statements[CIPHER]["7311000000000000001"]
    statement["settlement_amount"] = 100.0  # a JSON number where TikTok's schema says string

    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert world.xero.manual_journals == []
    (item,) = QuarantineItem.objects.filter(status="open")
    assert "7311000000000000001" in item.source_ref
    assert world.xero.bank_transactions == [], account_movement(world.xero, "1210")


@pytest.mark.django_db(transaction=True)
def test_a_reserve_is_counted_twice_when_the_statement_was_unreadable_on_the_first_sync():
    """The RECEIVE posted while the statement was unreadable carries the payment's reserve; when
    TikTok's page reads correctly on the next sync, the journal posts the same reserve again."""
    world = _world_with(
        [
            order_transaction("7311000000000000101", "576000000000000001", "100.00"),
            reserve_transaction("7311000000000000102", "-10.00"),
        ],
        payment_amount="90.00",
        payment_reserve="-10.00",
    )
    world.tiktok.spec = None
    original = world.tiktok._transactions
    world.tiktok._transactions = lambda c, s, p: {**original(c, s, p), "total_reserve_amount": -10.5}
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    world.tiktok._transactions = original  # TikTok's next answer is well formed
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert len(world.xero.manual_journals) == 1 and len(world.xero.bank_transactions) <= 1
    # TikTok withheld 10.00 once; clearing must end at what TikTok still owes (0.00)
    balances = (account_movement(world.xero, "1220"), account_movement(world.xero, "1210"))
    assert balances == (D("10.00"), D("0.00")), "(reserve 1220, clearing 1210)"


# --- 3. a PAID payment without paid_time is silently never posted --------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_paid_payment_without_paid_time_is_posted_or_held_never_silently_dropped():
    world = _world_with(
        [order_transaction("7311000000000000101", "576000000000000001", "100.00")],
        payment_amount="100.00",
        payment_reserve="0.00",
    )
    payment = world.tiktok._payments[CIPHER]["7312000000000000001"]
    del payment["paid_time"]  # optional in TikTok's description; the status still says PAID

    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert len(world.xero.manual_journals) == 1
    # 100.00 reached the bank: either a RECEIVE for it, or a quarantine item saying why not
    assert world.xero.bank_transactions or QuarantineItem.objects.filter(status="open").exists(), (
        f"payout PAID, nothing posted, nothing held; clearing stays at {account_movement(world.xero, '1210')}"
    )


# --- 4. a fee line whose stated tax and gross both net to zero holds the statement ----------------

from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction  # noqa: E402
from reconciliation.planning.statement_journal import plan_statement_journal  # noqa: E402
from reconciliation.planning.types import ComponentRule  # noqa: E402
from tests.reconciliation.planning_fixtures import UK_SHOP, org  # noqa: E402

UK_VAT_RULES = {
    "revenue.subtotal_before_discount_amount": ComponentRule("4000", "OUTPUT2", description="Sales"),
    "revenue.refund_subtotal_before_discount_amount": ComponentRule("4030", "OUTPUT2", description="Refunds"),
    "fee.platform_commission_amount": ComponentRule("6100", "INPUT2", description="Commission"),
    "tax.vat_amount": ComponentRule("6100", "INPUT2", description="VAT on commission"),
}


def _txn(txn_id, parts):
    components = tuple(Component(name, D(amount), txn_id) for name, amount in parts)
    return StatementTransaction(txn_id, "ORDER", "o1", sum((c.amount for c in components), D(0)), components)


def test_an_order_and_its_refund_on_one_statement_are_not_held_as_a_bad_tax_mapping():
    """Order: sale 120, commission -10, VAT on it -2. Same day, the order is refunded: TikTok
    returns the commission (+10) and its VAT (+2). The fee line nets to 0.00 with 0.00 tax."""
    sale = _txn(
        "t1",
        [
            ("revenue.subtotal_before_discount_amount", "120.00"),
            ("fee.platform_commission_amount", "-10.00"),
            ("tax.vat_amount", "-2.00"),
        ],
    )
    refund = _txn(
        "t2",
        [
            ("revenue.refund_subtotal_before_discount_amount", "-120.00"),
            ("fee.platform_commission_amount", "10.00"),
            ("tax.vat_amount", "2.00"),
        ],
    )
    facts = StatementFacts("S-1", date(2025, 11, 15), "GBP", D("0.00"), (sale, refund))

    result = plan_statement_journal(facts, shop=UK_SHOP, rules=UK_VAT_RULES, org=org("GBP"))

    assert result.problems == (), [p.message for p in result.problems]


# --- 5. a leaf TikTok adds directly under fee_tax_breakdown is never named -----------------------


def test_a_new_leaf_directly_in_fee_tax_breakdown_is_named_not_just_a_bare_disagreement():
    order = order_transaction(
        "7311000000000000101", "576000000000000001", "100.00", transaction_fee_amount="-2.00"
    )
    # TikTok adds a leaf beside `fee` and `tax` (its group total includes it)
    order["fee_tax_breakdown"]["digital_services_levy_amount"] = "-0.50"
    order["fee_tax_amount"] = "-2.50"
    order["settlement_amount"] = "97.50"
    facts, problems = statement_facts([_page([order])], timezone="UTC")

    named = [c.note for c in (facts.components() if facts else []) if c.note] + [p.message for p in problems]
    assert any("digital_services_levy_amount" in text for text in named), named


# --- 6. the either-sign acceptance lets a breakdown through that adds up under no convention ------


def test_a_statement_breakdown_that_fits_neither_sign_convention_is_held():
    """The transaction: revenue 100, shipping -10, fees -20, settlement 70. The statement's
    breakdown says shipping +10 (TikTok's printed "subtracted" convention) and fees -20 (signed):
    signed, 100 + 10 - 20 = 90; subtracted, 100 - 10 + 20 = 110; neither is 70."""
    order = order_transaction(
        "7311000000000000101", "576000000000000001", "100.00", transaction_fee_amount="-20.00"
    )
    order["shipping_cost_amount"] = "-10.00"
    order["shipping_cost_breakdown"] = {"actual_shipping_fee_amount": "-10.00"}
    order["settlement_amount"] = "70.00"
    page = _page([order])
    page["total_settlement_breakdown"]["total_shipping_cost_amount"] = "10.00"
    assert page["total_settlement_breakdown"]["total_fee_tax_amount"] == "-20.00"
    assert page["total_settlement_amount"] == "70.00"

    _facts, problems = statement_facts([page], timezone="UTC")

    assert problems, "TikTok's statement breakdown disagrees with its total under either convention"


# --- 7. payout amounts finer than the currency go to Xero unchecked -----------------------------

from reconciliation.domain.tiktok import PayoutFacts  # noqa: E402
from reconciliation.planning.payout_receive import plan_payout_receive  # noqa: E402
from tests.reconciliation.planning_fixtures import US_SHOP  # noqa: E402


def test_a_payout_amount_finer_than_the_currency_is_held_like_a_statement_amount():
    payout = PayoutFacts("7312000000000000001", "PAID", D("90.005"), "USD", date(2025, 11, 16))
    result = plan_payout_receive(payout, shop=US_SHOP, org=org("USD"))
    assert result.problems, [li["UnitAmount"] for li in result.documents[0].payload["LineItems"]]


# --- 8. one malformed entry in the statement list stops the whole run ----------------------------

from reconciliation.models import SyncRun  # noqa: E402


@pytest.mark.django_db(transaction=True)
def test_a_null_entry_in_the_statement_list_is_held_and_the_other_statements_post():
    world = build_world(days=3)
    world.tiktok.spec = None  # TikTok breaking its own description is the point
    original = world.tiktok._shop_api

    def with_a_null_entry(method, path, params, *rest):
        data = original(method, path, params, *rest)
        if path == "/finance/202309/statements":
            data = {**data, "statements": [None, *data["statements"]]}
        return data

    world.tiktok._shop_api = with_a_null_entry
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    run = SyncRun.objects.get()
    assert run.status == "done", run.error
    assert len(world.xero.manual_journals) == 3


# --- 9. "Retry re-reads it": Retry on an unreadable statement resolves it without reading anything --

from django.contrib.auth.models import Group, User  # noqa: E402

from reconciliation.services.quarantine import quarantine_retry  # noqa: E402


@pytest.mark.django_db(transaction=True)
def test_retry_on_an_unreadable_statement_does_not_resolve_it_while_it_is_still_unposted():
    world = _world_with(
        [order_transaction("7311000000000000101", "576000000000000001", "100.00")],
        payment_amount="100.00",
        payment_reserve="0.00",
    )
    world.tiktok.spec = None
    statement, _ = world.tiktok._statements[CIPHER]["7311000000000000001"]
    statement["settlement_amount"] = 100.0  # still malformed when finance presses Retry
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    (item,) = QuarantineItem.objects.filter(status="open")
    assert "Retry re-reads it" in item.proposed_action

    user = User.objects.create_user("fin", is_staff=True)
    user.groups.add(Group.objects.get(name="Finance"))
    quarantine_retry(item=item, user=User.objects.get(pk=user.pk))

    assert world.xero.manual_journals == []  # nothing was re-read or posted...
    # ...so the statement must still be visible to finance as unposted
    assert QuarantineItem.objects.filter(status="open", source_ref=item.source_ref).exists(), (
        QuarantineItem.objects.get(pk=item.pk).status
    )


@pytest.mark.django_db(transaction=True)
def test_a_held_statement_is_read_again_after_the_overlap_and_posts_once_tiktok_corrects_it():
    from reconciliation.services import sync
    from reconciliation.tasks import send_due_postings

    world = _world_with(
        [order_transaction("7311000000000000101", "576000000000000001", "100.00")],
        payment_amount="100.00",
        payment_reserve="0.00",
    )
    world.tiktok.spec = None
    statement, _ = world.tiktok._statements[CIPHER]["7311000000000000001"]
    statement["settlement_amount"] = 100.0  # unreadable on the first sync
    first = datetime.combine(world.start + timedelta(days=3), time(), tzinfo=UTC)
    first_run = sync.shop_sync(shop=world.shop, until=first)
    assert first_run.counts.get("unreadable") == 1, (first_run.counts, first_run.error)
    assert world.xero.manual_journals == [] and world.xero.bank_transactions == []

    world.shop.refresh_from_db()
    sync.shop_sync(shop=world.shop, until=first + timedelta(days=10))  # a week later: still broken
    statement["settlement_amount"] = "100.00"  # TikTok corrects it, long after the 3-day overlap
    world.shop.refresh_from_db()
    run = sync.shop_sync(shop=world.shop, until=first + timedelta(days=30))
    send_due_postings()

    assert run.status == "done", run.error
    assert len(world.xero.manual_journals) == 1 and len(world.xero.bank_transactions) == 1
    assert not QuarantineItem.objects.filter(status="open").exists()
    assert account_movement(world.xero, "1210") == D("0.00")
