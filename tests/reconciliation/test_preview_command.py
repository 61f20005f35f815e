import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reconciliation.models import ComponentMapping, Shop, XeroConnection
from tests.reconciliation.planning_fixtures import FIXTURES, US_RULES

pytestmark = pytest.mark.django_db
US_FILE = FIXTURES / "tiktok" / "us_worked_order_statement.json"


@pytest.fixture
def us_shop():
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-us",
        name="Demo US",
        region="US",
        currency="USD",
        line_amount_types="NoTax",
        clearing_account="1210",
    )
    for component, rule in US_RULES.items():
        ComponentMapping.objects.create(
            channel="tiktok",
            component=component,
            account_code=rule.account_code,
            description=rule.description,
        )
    return shop


def preview(path: Path, shop: str = "tt-us"):
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("preview", "tiktok-statement", str(path), "--shop", shop, stdout=out, stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue()), err.getvalue()


def test_preview_prints_the_exact_journal_xero_would_receive(us_shop):
    code, output, err = preview(US_FILE)

    assert code == 0
    assert output["problems"] == []
    (document,) = output["documents"]
    assert document["type"] == "ManualJournal"
    lines = document["payload"]["JournalLines"]
    assert [(line["AccountCode"], line["LineAmount"]) for line in lines] == [
        ("4000", -235.95),
        ("4010", 35.39),
        ("5100", 7.93),
        ("4020", -6.5),
        ("6100", 32.09),
        ("1210", 167.04),
    ]
    assert document["payload"]["LineAmountTypes"] == "NoTax"
    assert "lock dates" in err  # no Xero organisation connected: it says what it could not check


def test_preview_writes_amounts_as_exact_numbers(us_shop):
    out = StringIO()
    call_command(
        "preview", "tiktok-statement", str(US_FILE), "--shop", "tt-us", stdout=out, stderr=StringIO()
    )
    assert '"LineAmount": -235.95' in out.getvalue() and '"LineAmount": 167.04' in out.getvalue()


def test_preview_of_a_held_statement_exits_2_naming_the_component(us_shop, tmp_path):
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    code, output, _ = preview(US_FILE)
    assert code == 2
    assert output["documents"] == []
    assert output["problems"][0]["code"] == "UNMAPPED_COMPONENT"
    assert "fee.transaction_fee_amount" in output["problems"][0]["message"]


def test_preview_with_cached_organisation_checks_lock_date_and_currency(us_shop, tmp_path):
    us_shop.xero_connection = XeroConnection.objects.create(
        name="Org",
        tenant_id="t-1",
        base_currency="GBP",
        settings_refreshed_at="2026-11-01T00:00:00Z",
        accounts=[],
        tax_rates=[],
    )
    us_shop.save()
    code, output, err = preview(US_FILE)
    assert code == 2 and [p["code"] for p in output["problems"]] == ["CURRENCY_MISMATCH"]
    assert output["checks_not_run"] == [] and err == ""


def test_preview_accepts_the_data_object_and_lists_of_pages(us_shop, tmp_path):
    data_only = tmp_path / "data.json"
    data_only.write_text(json.dumps(json.loads(US_FILE.read_text())["data"]))
    assert preview(data_only)[0] == 0
    pages = tmp_path / "pages.json"
    pages.write_text(json.dumps([json.loads(US_FILE.read_text())]))
    assert preview(pages)[0] == 0


def test_preview_rejects_unknown_shop_and_bad_files(us_shop, tmp_path):
    with pytest.raises(CommandError, match="no shop"):
        call_command("preview", "tiktok-statement", str(US_FILE), "--shop", "nope")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("preview", "tiktok-statement", str(broken), "--shop", "tt-us")
