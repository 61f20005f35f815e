"""TikTok's published description is the contract: fixtures and sandbox pages are checked against it."""

import json
from datetime import date
from pathlib import Path

import pytest

from connectors.tiktok.client import TikTokClient
from connectors.tiktok.openapi import SpecViolation
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_data import demo_statements

FIXTURES = sorted((Path(__file__).parents[2] / "fixtures" / "tiktok").glob("*statement*.json"))
STATEMENT_PAGE = "/finance/202501/statements/{statement_id}/statement_transactions"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_every_statement_fixture_is_in_tiktoks_shape(tiktok_spec, fixture):
    tiktok_spec.validate_statement_page(json.loads(fixture.read_text()))


def test_the_validator_refuses_the_shape_the_first_fixtures_guessed(tiktok_spec):
    guessed = json.loads(FIXTURES[0].read_text())
    data = guessed["data"]
    data["statement_id"], data["statement_time"] = data.pop("id"), data.pop("create_time")
    data["settlement_amount"] = data.pop("total_settlement_amount")
    with pytest.raises(SpecViolation, match="statement_id"):
        tiktok_spec.validate_statement_page(guessed)


def test_the_validator_refuses_a_transaction_currency_and_a_number_for_an_amount(tiktok_spec):
    page = json.loads(FIXTURES[0].read_text())
    page["data"]["transactions"][0]["currency"] = "USD"
    with pytest.raises(SpecViolation, match="currency"):
        tiktok_spec.validate_statement_page(page)
    page = json.loads(FIXTURES[0].read_text())
    page["data"]["transactions"][0]["settlement_amount"] = 167.04
    with pytest.raises(SpecViolation, match="settlement_amount"):
        tiktok_spec.validate_statement_page(page)


@pytest.mark.parametrize(("region", "currency"), [("US", "USD"), ("GB", "GBP")])
def test_every_sandbox_response_is_in_tiktoks_shape(tiktok_spec, region, currency):
    statements = demo_statements(region=region, currency=currency, start=date(2025, 11, 1), days=4, seed=9)
    now = statements[-1][0]["statement_time"] + 3 * 86400
    sandbox = TikTokSandbox(now=lambda: now, spec=tiktok_spec)
    sandbox.add_shop("cipher", "7494000000000000001", "Demo", region, currency)
    for statement, transactions, payment in statements:
        sandbox.add_statement("cipher", statement, transactions, payment)
    client = TikTokClient(
        app_key=sandbox.app_key,
        app_secret=sandbox.app_secret,
        access_token=sandbox.access_token,
        shop_cipher="cipher",
        transport=sandbox.transport,
        clock=sandbox.now,
    )
    found = list(client.statements(statement_time_ge=0, statement_time_lt=now))
    payments = list(client.payments(create_time_ge=0, create_time_lt=now + 86400 * 3))
    pages = [page for s in found for page in client.statement_transaction_pages(str(s["id"]), page_size=2)]

    assert len(found) == 4 and len(payments) == 4 and len(pages) >= 8
    served = [path for _, path, _ in sandbox.requests]
    assert any(p.startswith("/finance/202501/statements/") for p in served)
    # the sandbox validated each body before serving it; check the pages once more here, whole
    for page in pages:
        tiktok_spec.validate_response(
            "GET", STATEMENT_PAGE.replace("{statement_id}", page["id"]), {"code": 0, "data": page}
        )
