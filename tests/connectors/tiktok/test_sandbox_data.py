import itertools
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.tiktok.sandbox_data import demo_statements, make_inconsistent

FIXTURE = Path(__file__).parents[2] / "fixtures" / "tiktok" / "us_worked_order_statement.json"
MONEY = re.compile(r"^-?\d+\.\d{2}$")
GROUPS = ("revenue_amount", "shipping_cost_amount", "fee_tax_amount", "adjustment_amount")


def d(value: str) -> Decimal:
    assert isinstance(value, str) and MONEY.match(value) and value != "-0.00", value
    return Decimal(value)


def problems(statement: dict, transactions: list[dict]) -> list[str]:
    """Everything that does not add up, checked independently of how the generator computes it."""
    found = []
    for tx in transactions:
        shipping = {k: v for k, v in tx["shipping_cost_breakdown"].items() if k != "supplementary_component"}
        fee_tax = {**tx["fee_tax_breakdown"]["fee"], **tx["fee_tax_breakdown"]["tax"]}
        for group, leaves in (
            ("revenue_amount", tx["revenue_breakdown"]),
            ("shipping_cost_amount", shipping),
            ("fee_tax_amount", fee_tax),
        ):
            if sum(map(d, leaves.values())) != d(tx[group]):
                found.append(f"{tx['id']} {group}")
        if sum(d(tx[group]) for group in GROUPS) != d(tx["settlement_amount"]):
            found.append(f"{tx['id']} settlement")
    for total, group in [("settlement_amount", "settlement_amount"), ("fee_amount", "fee_tax_amount")] + [
        (g, g) for g in GROUPS if g != "fee_tax_amount"
    ]:
        if sum(d(tx[group]) for tx in transactions) != d(statement[total]):
            found.append(f"statement {total}")
    return found


@pytest.fixture(params=[("US", "USD", 7), ("GB", "GBP", 11)], ids=["US", "UK"])
def demo(request):
    region, currency, seed = request.param
    return region, demo_statements(
        region=region, currency=currency, start=date(2025, 11, 1), days=14, seed=seed
    )


def test_every_statement_adds_up(demo):
    _, statements = demo
    assert len(statements) == 14
    for statement, transactions, payment in statements:
        assert problems(statement, transactions) == []
        assert payment["status"] == "PAID" and statement["payment_status"] == "PAID"
        assert payment["id"] == statement["payment_id"]
        assert d(payment["amount"]["value"]) == d(statement["settlement_amount"]) > 0
        assert payment["amount"]["currency"] == statement["currency"]


def test_statements_are_daily_and_ids_unique(demo):
    _, statements = demo
    times = [s["statement_time"] for s, _, _ in statements]
    assert [b - a for a, b in itertools.pairwise(times)] == [86400] * 13
    ids = [s["id"] for s, _, _ in statements] + [tx["id"] for _, txs, _ in statements for tx in txs]
    assert len(ids) == len(set(ids))


def test_demo_has_refunds_and_adjustments(demo):
    _, statements = demo
    _, first_transactions, _ = statements[0]
    refunds = [
        tx
        for tx in first_transactions
        if d(tx["revenue_breakdown"]["refund_subtotal_before_discount_amount"]) < 0
    ]
    assert refunds and all(d(tx["settlement_amount"]) < 0 for tx in refunds)
    kinds = {tx["type"] for tx in first_transactions}
    assert {"ORDER", "PLATFORM_REIMBURSEMENT", "SHIPPING_FEE_ADJUSTMENT"} <= kinds
    adjustments = [tx for tx in first_transactions if tx["type"] != "ORDER"]
    assert all(d(tx["adjustment_amount"]) == d(tx["settlement_amount"]) != 0 for tx in adjustments)
    orders = sum(tx["type"] == "ORDER" for _, txs, _ in statements for tx in txs)
    assert orders >= 3 * len(statements)


def test_region_specific_fee_leaves(demo):
    region, statements = demo
    fees = [tx["fee_tax_breakdown"] for _, txs, _ in statements for tx in txs if tx["type"] == "ORDER"]
    if region == "US":
        assert all(d(f["fee"]["referral_fee_amount"]) < 0 for f in fees[:3])
        assert all("platform_commission_amount" not in f["fee"] for f in fees)
    else:
        assert all(d(f["fee"]["platform_commission_amount"]) < 0 for f in fees[:3])
        assert all(d(f["tax"]["vat_amount"]) < 0 for f in fees[:3])
        assert all("referral_fee_amount" not in f["fee"] for f in fees)


def test_deterministic_for_a_seed():
    kwargs = {"region": "US", "currency": "USD", "start": date(2025, 11, 1), "days": 3}
    assert demo_statements(**kwargs, seed=1) == demo_statements(**kwargs, seed=1)
    assert demo_statements(**kwargs, seed=1) != demo_statements(**kwargs, seed=2)


def test_make_inconsistent_is_caught_and_leaves_the_original_alone():
    statement, transactions, _ = demo_statements(
        region="GB", currency="GBP", start=date(2025, 11, 1), days=1, seed=3
    )[0]
    before = json.dumps([statement, transactions])
    held, held_transactions = make_inconsistent(statement, transactions)
    assert problems(held, held_transactions) == ["statement settlement_amount", "statement revenue_amount"]
    assert json.dumps([statement, transactions]) == before


def test_the_worked_fixture_passes_the_same_checks():
    data = json.loads(FIXTURE.read_text().replace('"0"', '"0.00"'))["data"]
    breakdown = data["total_settlement_breakdown"]
    statement = {
        "settlement_amount": data["total_settlement_amount"],
        "fee_amount": breakdown["total_fee_tax_amount"],
        "revenue_amount": breakdown["total_revenue_amount"],
        "shipping_cost_amount": breakdown["total_shipping_cost_amount"],
        "adjustment_amount": breakdown["total_adjustment_amount"],
    }
    assert problems(statement, data["transactions"]) == []
