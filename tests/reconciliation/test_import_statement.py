"""`manage.py import_statement`: Seller Center files kept, planned like API statements, exit codes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reconciliation.models import (
    ComponentMapping,
    QuarantineItem,
    Shop,
    SourceRecord,
    Statement,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.sources import SourceKind
from reconciliation.services.sources import source_replan
from tests.reconciliation.planning_fixtures import FIXTURES, US_RULES

pytestmark = pytest.mark.django_db
SELLER_CENTER = FIXTURES / "tiktok" / "seller_center"


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
        xero_connection=XeroConnection.objects.create(name="Demo org", tenant_id="tenant-1"),
    )
    for component, rule in US_RULES.items():
        ComponentMapping.objects.create(
            channel="tiktok",
            component=component,
            account_code=rule.account_code,
            description=rule.description,
        )
    return shop


def run(name: str, *options: str):
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command(
            "import_statement", str(SELLER_CENTER / name), "--shop", "tt-us", *options, stdout=out, stderr=err
        )
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def test_dry_run_prints_the_worked_example_journal_and_writes_nothing(us_shop):
    code, out, _ = run("us_worked_order.csv", "--dry-run")

    assert code == 0
    (statement,) = json.loads(out)["statements"]
    assert statement["statement_id"] == "SC-2025-11-14" and statement["problems"] == []
    (document,) = statement["documents"]
    lines = [(line["AccountCode"], line["LineAmount"]) for line in document["payload"]["JournalLines"]]
    assert lines == [
        ("4000", -235.95),
        ("4010", 35.39),
        ("5100", 7.93),
        ("4020", -6.5),
        ("6100", 32.09),
        ("1210", 167.04),
    ]
    assert not SourceRecord.objects.exists() and not Statement.objects.exists()


def test_import_keeps_the_rows_and_plans_the_statement_into_the_outbox(us_shop):
    code, out, _ = run("us_worked_order.csv")

    assert code == 0
    assert (
        "statement SC-2025-11-14 of 2025-11-14: 1 transaction(s) from 1 row(s), settlement 167.04 USD: planned"
        in out
    )
    assert out.strip().endswith("1 statement(s): 1 planned, 0 held")
    statement = Statement.objects.get(shop=us_shop, statement_id="SC-2025-11-14")
    assert statement.state == Statement.State.PLANNED and str(statement.settlement_amount) == "167.04"
    (record,) = SourceRecord.objects.filter(kind=SourceKind.SELLER_CENTER)
    assert record.payload["rows"][0]["where"] == "row 2"
    assert record.payload["rows"][0]["cells"]["Total settlement amount"] == "$167.04"
    (posting,) = XeroPosting.objects.filter(statement=statement)
    assert posting.payload["JournalLines"][-1]["LineAmount"] in (167.04, "167.04")


def test_importing_the_same_file_twice_changes_nothing(us_shop):
    run("us_worked_order.csv")
    code, _, _ = run("us_worked_order.csv")

    assert code == 0
    assert SourceRecord.objects.count() == 1 and XeroPosting.objects.count() == 1


def test_a_held_statement_exits_2_and_replans_from_its_kept_rows_after_the_map_is_fixed(us_shop):
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    code, out, _ = run("us_worked_order.csv")

    assert code == 2
    assert "HELD" in out and "UNMAPPED_COMPONENT" in out and "fee.transaction_fee_amount" in out
    statement = Statement.objects.get(statement_id="SC-2025-11-14")
    assert statement.state == Statement.State.HELD

    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    plan = source_replan(statement)  # what Retry in the quarantine runs
    assert not plan.held and len(plan.documents) == 1


def test_an_unknown_money_column_holds_naming_the_column(us_shop):
    code, out, _ = run("unknown_column.csv")

    assert code == 2
    assert "column 'Sales tax on referral fees' is not one LedgerSync knows" in out
    item = QuarantineItem.objects.get()
    assert item.reason == "UNMAPPED_COMPONENT" and "Sales tax on referral fees" in item.message


def test_totals_that_disagree_hold_the_statement(us_shop):
    code, out, _ = run("totals_disagree.csv")

    assert code == 2
    assert "SOURCE_INCONSISTENT" in out and "row 3" in out
    assert QuarantineItem.objects.get().reason == "SOURCE_INCONSISTENT"


def test_an_unreadable_file_exits_1_naming_the_row_and_keeps_nothing(us_shop, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "Order/adjustment ID,Type,Order settled time,Total settlement amount\n1,Order,2025/11/14,abc\n"
    )

    with pytest.raises(CommandError) as raised:
        call_command("import_statement", str(path), "--shop", "tt-us", stdout=StringIO(), stderr=StringIO())

    assert raised.value.returncode == 1
    assert "row 2, Total settlement amount: 'abc' is not a plain decimal amount" in str(raised.value)
    assert not SourceRecord.objects.exists()


def test_a_shop_without_a_xero_connection_is_refused_unless_dry_run(us_shop):
    us_shop.xero_connection = None
    us_shop.save()
    with pytest.raises(CommandError, match="has no Xero connection") as raised:
        call_command("import_statement", str(SELLER_CENTER / "us_worked_order.csv"), "--shop", "tt-us")
    assert raised.value.returncode == 1
    assert run("us_worked_order.csv", "--dry-run")[0] == 0


def test_unknown_shop_exits_1(us_shop):
    with pytest.raises(CommandError, match="no shop with code 'nope'") as raised:
        call_command("import_statement", str(SELLER_CENTER / "us_worked_order.csv"), "--shop", "nope")
    assert raised.value.returncode == 1
