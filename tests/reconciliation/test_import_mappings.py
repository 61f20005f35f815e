"""`manage.py import_mappings`: the contract other scripts rely on (exit status, stderr, summary)."""

import shutil
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from reconciliation.imports import mappings_import
from reconciliation.models import ComponentMapping, Shop
from reconciliation.selectors import component_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mappings"

pytestmark = pytest.mark.django_db


def run(kind: str, path: Path, *extra: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_mappings", "--kind", kind, str(path), *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(kind: str, path: Path, *extra: str) -> str:
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_mappings", "--kind", kind, str(path), *extra, stdout=StringIO(), stderr=err)
    assert failure.value.returncode == 1
    return err.getvalue()


def write_csv(tmp_path: Path, text: str, name: str = "sheet.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def shops() -> None:
    run("shops", FIXTURES / "shops.csv")


# --- shops ---------------------------------------------------------------------------------------


def test_valid_shops_csv_creates_shops_with_normalised_values():
    out, err = run("shops", FIXTURES / "shops.csv")

    assert out.strip() == "shops: 2 created, 0 updated, 0 unchanged"
    assert err == ""
    us, uk = Shop.objects.get(code="tt-us"), Shop.objects.get(code="tt-uk")
    assert (us.channel, us.name, us.region, us.currency) == ("tiktok", "Demo US", "US", "USD")
    assert (us.clearing_account, us.bank_account, us.timezone) == ("1210", "090", "America/Los_Angeles")
    assert us.posting_mode == "statement_journal" and us.line_amount_types == "NoTax"
    # case-insensitive choices are stored canonically; a blank time zone is the default, UTC
    assert uk.line_amount_types == "Inclusive"
    assert uk.timezone == ""  # blank: the region's zone (Europe/London for GB), never UTC by default


def test_xlsx_written_by_a_spreadsheet_imports_the_same(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(
        [
            "channel",
            "code",
            "name",
            "region",
            "currency",
            "clearing_account",
            "posting_mode",
            "line_amount_types",
            "reserve_account",
        ]
    )
    # Excel stores typed account codes as numbers; they must come back as "1210", not "1210.0".
    sheet.append(["tiktok", "tt-us", "Demo US", "US", "USD", 1210, "statement_journal", "NoTax", 1220.0])
    sheet.append(["tiktok", "tt-uk", "Demo UK", "GB", "GBP", "1211", "order_invoices", "Inclusive", None])
    sheet.append([None] * 9)  # formatted but empty rows at the end are common
    path = tmp_path / "shops.xlsx"
    book.save(path)

    out, _ = run("shops", path)

    assert out.strip() == "shops: 2 created, 0 updated, 0 unchanged"
    us = Shop.objects.get(code="tt-us")
    assert (us.clearing_account, us.reserve_account) == ("1210", "1220")
    assert Shop.objects.get(code="tt-uk").posting_mode == "order_invoices"


def test_a_bad_row_saves_nothing_and_names_row_and_column():
    err = run_failing("shops", FIXTURES / "shops_bad_row.csv")

    # row 2 is valid, but the file is all or nothing
    assert Shop.objects.count() == 0
    assert "row 3: posting_mode: 'weekly' is not one of statement_journal, order_invoices" in err
    assert "row 4: clearing_account: Xero account codes are 1-10 characters" in err
    assert "row 2" not in err


# run_from_argv closes every DB connection when it ends; on PostgreSQL that would end the
# test's wrapping transaction, so these run without one.
@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_1_and_prints_the_errors(capsys):
    argv = ["manage.py", "import_mappings", "--kind", "shops", str(FIXTURES / "shops_bad_row.csv")]
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(argv).execute()

    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert "row 3: posting_mode:" in captured.err
    assert "CommandError: shops: nothing saved (3 errors)" in captured.err
    assert captured.out == ""
    assert Shop.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_0_with_the_summary(capsys):
    argv = ["manage.py", "import_mappings", "--kind", "shops", str(FIXTURES / "shops.csv")]
    ManagementUtility(argv).execute()  # no SystemExit: status 0

    assert capsys.readouterr().out == "shops: 2 created, 0 updated, 0 unchanged\n"


def test_dry_run_reports_counts_and_saves_nothing():
    out, _ = run("shops", FIXTURES / "shops.csv", "--dry-run")

    assert out.strip() == "shops: 2 created, 0 updated, 0 unchanged (dry run, nothing saved)"
    assert Shop.objects.count() == 0


def test_dry_run_of_changes_to_existing_shops_counts_updates_and_changes_nothing(tmp_path):
    shops()
    changed = (FIXTURES / "shops.csv").read_text().replace("Demo UK", "Demo United Kingdom")

    out, _ = run("shops", write_csv(tmp_path, changed), "--dry-run")

    assert out.strip() == "shops: 0 created, 1 updated, 1 unchanged (dry run, nothing saved)"
    assert Shop.objects.get(code="tt-uk").name == "Demo UK"


def test_dry_run_with_a_bad_row_fails_like_the_real_import():
    err = run_failing("shops", FIXTURES / "shops_bad_row.csv", "--dry-run")

    assert "row 3: posting_mode:" in err


def test_reimport_updates_by_code_instead_of_duplicating(tmp_path):
    shops()
    first_pk = Shop.objects.get(code="tt-uk").pk
    changed = (FIXTURES / "shops.csv").read_text().replace("Demo UK", "Demo United Kingdom")

    out, _ = run("shops", write_csv(tmp_path, changed))

    assert out.strip() == "shops: 0 created, 1 updated, 1 unchanged"
    assert Shop.objects.count() == 2
    uk = Shop.objects.get(code="tt-uk")
    assert (uk.pk, uk.name) == (first_pk, "Demo United Kingdom")


def test_optional_columns_left_out_keep_their_values(tmp_path):
    shops()
    without_bank = "channel,code,name,region,currency,clearing_account,posting_mode,line_amount_types\n"
    without_bank += "tiktok,tt-us,Demo US,US,USD,1210,statement_journal,NoTax\n"

    run("shops", write_csv(tmp_path, without_bank))

    us = Shop.objects.get(code="tt-us")
    assert (us.bank_account, us.timezone) == ("090", "America/Los_Angeles")


def test_unknown_column_is_refused_by_name(tmp_path):
    err = run_failing("shops", FIXTURES / "shops_unknown_column.csv")

    assert "unknown column(s): clearing_acount" in err
    assert "missing required column(s): clearing_account" in err
    assert Shop.objects.count() == 0


def test_missing_required_columns_are_named(tmp_path):
    path = write_csv(tmp_path, "channel,code,name\ntiktok,tt-us,Demo US\n")

    err = run_failing("shops", path)

    assert (
        "missing required column(s): region, currency, clearing_account, posting_mode, line_amount_types"
        in err
    )


def test_a_key_repeated_in_one_file_is_refused(tmp_path):
    text = (FIXTURES / "shops.csv").read_text() + "tiktok,tt-us,Other,US,USD,1210,statement_journal,NoTax,,\n"

    err = run_failing("shops", write_csv(tmp_path, text))

    assert "row 4: repeats row 2 (code 'tt-us')" in err
    assert Shop.objects.count() == 0


def test_blank_rows_are_ignored_and_rows_keep_their_spreadsheet_numbers(tmp_path):
    header = "channel,code,name,region,currency,clearing_account,posting_mode,line_amount_types\n"
    text = header + "tiktok,tt-us,Demo US,US,USD,1210,statement_journal,NoTax\n\n,,,,,,,\n"
    text += "tiktok,tt-uk,Demo UK,GB,pounds,1211,statement_journal,Inclusive\n,,,,,,,\n\n"

    err = run_failing("shops", write_csv(tmp_path, text))

    assert err.splitlines() == ["row 5: currency: currency codes are 3 letters (ISO 4217), e.g. GBP"]

    out, _ = run("shops", write_csv(tmp_path, text.replace("pounds", "GBP")))
    assert out.strip() == "shops: 2 created, 0 updated, 0 unchanged"


def test_bad_time_zone_is_refused(tmp_path):
    text = (FIXTURES / "shops.csv").read_text().replace("America/Los_Angeles", "Pacific Time")

    err = run_failing("shops", write_csv(tmp_path, text))

    assert "row 2: timezone: 'Pacific Time' is not an IANA time zone" in err


def test_unsupported_or_missing_file_is_an_error(tmp_path):
    txt = tmp_path / "shops.txt"
    shutil.copy(FIXTURES / "shops.csv", txt)

    assert "use a .csv or .xlsx file" in run_failing("shops", txt)
    assert "No such file" in run_failing("shops", tmp_path / "missing.csv")


# --- components ----------------------------------------------------------------------------------


def test_channel_wide_and_shop_specific_component_rows_both_import():
    shops()

    out, err = run("components", FIXTURES / "components.csv")

    assert out.strip() == "components: 5 created, 0 updated, 0 unchanged"
    assert err == ""
    channel_wide = ComponentMapping.objects.get(
        shop=None, component="revenue.subtotal_before_discount_amount"
    )
    assert (channel_wide.account_code, channel_wide.tax_type) == ("4000", "")
    uk_rules = component_rules(Shop.objects.get(code="tt-uk"))
    us_rules = component_rules(Shop.objects.get(code="tt-us"))
    assert uk_rules["revenue.subtotal_before_discount_amount"].account_code == "4001"  # the shop row wins
    assert us_rules["revenue.subtotal_before_discount_amount"].account_code == "4000"
    assert uk_rules["adjustment.CHARGE_BACK"].tax_type == "NONE"
    assert "adjustment.CHARGE_BACK" not in us_rules
    assert us_rules["reserve"].account_code == "1220"


def test_component_reimport_is_keyed_on_channel_shop_and_component(tmp_path):
    shops()
    run("components", FIXTURES / "components.csv")
    changed = (FIXTURES / "components.csv").read_text().replace("4001,OUTPUT2", "4002,OUTPUT2")

    out, _ = run("components", write_csv(tmp_path, changed))

    assert out.strip() == "components: 0 created, 1 updated, 4 unchanged"
    assert ComponentMapping.objects.count() == 5
    assert (
        ComponentMapping.objects.get(shop__code="tt-uk", component__startswith="revenue").account_code
        == "4002"
    )


def test_bad_component_rows_save_nothing_and_name_row_and_column():
    shops()

    err = run_failing("components", FIXTURES / "components_bad_rows.csv")

    assert ComponentMapping.objects.count() == 0
    lines = err.splitlines()
    assert "row 3: account_code: Xero account codes are 1-10 characters" in lines
    assert "row 4: shop: no shop with code 'tt-fr'" in lines
    assert any(line.startswith("row 5: component: components are named <group>.<field>") for line in lines)


def test_a_shop_of_another_channel_is_refused(tmp_path):
    shops()
    text = "channel,shop,component,account_code,tax_type,description\n"
    text += "amazon_vendor,tt-uk,fee.transaction_fee_amount,6100,,\n"

    err = run_failing("components", write_csv(tmp_path, text))

    assert "row 2: shop: shop tt-uk is on channel tiktok, not amazon_vendor" in err


def test_component_rows_that_can_never_match_are_warned_about_but_saved(tmp_path):
    text = "channel,shop,component,account_code,tax_type,description\n"
    text += "tiktok,,fee.transacton_fee_amount,6100,,typo\n"

    out, err = run("components", write_csv(tmp_path, text))

    assert out.strip() == "components: 1 created, 0 updated, 0 unchanged"
    assert "warning: row 2: component: fee.transacton_fee_amount is not a field" in err


# --- the service --------------------------------------------------------------------------------


def test_service_reports_counts_and_errors_as_data():
    report = mappings_import(kind="shops", path=FIXTURES / "shops_bad_row.csv", dry_run=False)

    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    assert len(report.errors) == 3 and report.errors[0].startswith("row 3: posting_mode:")
    assert report.errors[1].startswith("row 4: timezone: region 'DE' has no default time zone")
    assert Shop.objects.count() == 0


def test_service_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown kind"):
        mappings_import(kind="vendors", path=FIXTURES / "shops.csv", dry_run=True)


def test_a_key_repeated_with_other_spelling_of_the_channel_is_refused(tmp_path):
    text = "channel,shop,component,account_code,tax_type,description\n"
    text += "tiktok,,fee.transaction_fee_amount,6100,,\nTikTok,,fee.transaction_fee_amount,6200,,\n"

    err = run_failing("components", write_csv(tmp_path, text))

    assert "row 3: repeats row 2 (channel 'TikTok', shop '', component 'fee.transaction_fee_amount')" in err
