"""Map sheets checked against the Xero organisation (issue 7, item 6): errors shown as text with
their row numbers in the admin, cells the spreadsheet did not keep as typed refused, templates that
import cleanly into the demo organisation, and units of measure."""

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from connectors.xero.sandbox import XeroSandbox
from reconciliation.demo.orders import ACCOUNTS, ITEMS, order_shop
from reconciliation.demo.scenario import sandbox_xero_connection
from reconciliation.imports import mappings_import
from reconciliation.models import ComponentMapping, Shop, UnitOfMeasureConversion, XeroConnection
from reconciliation.resources import RESOURCES, SHOP_COLUMNS, UnitOfMeasureResource
from tests.reconciliation.test_import_mappings import run, run_failing

pytestmark = pytest.mark.django_db
CSV = "0"  # the admin's first import format


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]


def as_json(records: list[dict]) -> list[dict]:
    return json.loads(json.dumps(records, default=str))  # as the JSON field stores Xero's answer


def connect(sandbox: XeroSandbox, tenant: str) -> XeroConnection:
    """A connection whose cached settings are what a refresh reads from `sandbox`."""
    state = sandbox.state
    return XeroConnection.objects.create(
        name=sandbox.org.Name,
        tenant_id=tenant,
        organisation_name=sandbox.org.Name,
        base_currency=sandbox.org.BaseCurrency,
        accounts=as_json([account.as_xero() for account in state.accounts.values()]),
        tax_rates=as_json([rate.as_xero() for rate in state.tax_rates.values()]),
        items=[{"Code": code, "Name": item.get("Name", "")} for code, item in state.items.items()],
        settings_refreshed_at=timezone.now(),
    )


@pytest.fixture
def demo() -> None:
    """`make demo`'s shops: demo-us (statement journals) and demo-us-orders (order invoices), each
    in its own demo organisation (connectors/xero/sandbox_demo.py, reconciliation/demo/orders.py)."""
    statements = connect(XeroSandbox.demo(base_currency="USD"), "tenant-demo-us")
    run("shops", Path("reconciliation/demo/tiktok_us_shop.csv"))
    Shop.objects.filter(code="demo-us").update(xero_connection=statements)
    orders = XeroSandbox.demo(base_currency="USD")
    for code, name, kind in ACCOUNTS:
        orders.add_account(code, name, kind)
    for code, name in ITEMS.items():
        orders.add_item(code, name)
    order_shop(connect(orders, "tenant-demo-orders"), sync_from=date(2026, 1, 1))


def operator(client) -> None:
    user = User.objects.create_user("otto", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)


def page_text(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


def xlsx(tmp_path: Path, rows: list[list], name: str = "sheet.xlsx") -> Path:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    return path


COMPONENTS = ["channel", "shop", "component", "account_code", "tax_type", "description"]


# --- the admin shows every error as text, with its row number ---------------------------------------


def test_two_bad_rows_show_both_errors_with_row_numbers_in_the_page_and_save_nothing(client, demo):
    operator(client)
    bad = (
        "channel,shop,component,account_code,tax_type,description\n"
        "tiktok,demo-us,fee.transaction_fee_amount,6100,,Fees\n"
        "tiktok,demo-us,fee.affiliate_commission_amount,9999,,Commission\n"
        "tiktok,demo-us,fee.shipping_fee_amount,6100,NOSUCHTAX,Shipping fees\n"
    )
    preview = client.post(
        reverse("admin:reconciliation_componentmapping_import"),
        {"format": CSV, "import_file": SimpleUploadedFile("components.csv", bad.encode())},
    )

    text = page_text(preview)
    assert preview.context.get("confirm_form") is None
    assert "Nothing was imported: 2 errors" in text
    assert (
        "row 3: account_code: Xero organisation LedgerSync Demo (US) (shop demo-us) has no account 9999"
        in text
    )
    assert (
        "row 4: tax_type: Xero organisation LedgerSync Demo (US) (shop demo-us) has no tax rate NOSUCHTAX"
        in text
    )
    assert ComponentMapping.objects.filter(shop__code="demo-us").count() == 0

    fixed = bad.replace(",9999,", ",6110,").replace("NOSUCHTAX", "INPUT")
    preview = client.post(
        reverse("admin:reconciliation_componentmapping_import"),
        {"format": CSV, "import_file": SimpleUploadedFile("components.csv", fixed.encode())},
    )
    assert "Preview: 3 new, 0 changed, 0 unchanged" in page_text(preview)
    confirm = preview.context["confirm_form"]
    done = client.post(
        reverse("admin:reconciliation_componentmapping_process_import"),
        {**confirm.initial, "confirm": "Confirm import"},
    )

    assert done.status_code == 302
    assert ComponentMapping.objects.filter(shop__code="demo-us").count() == 3
    again = client.post(
        reverse("admin:reconciliation_componentmapping_import"),
        {"format": CSV, "import_file": SimpleUploadedFile("components.csv", fixed.encode())},
    )
    text = page_text(again)
    assert "Preview: 0 new, 0 changed, 3 unchanged" in text
    assert "Skipped" not in text


# --- cells the spreadsheet did not keep as typed ------------------------------------------------------


def test_an_account_code_typed_as_a_number_that_lost_its_leading_zero_is_refused(tmp_path, demo):
    path = xlsx(tmp_path, [COMPONENTS, ["tiktok", "demo-us", "fee.transaction_fee_amount", 90, "", "Fees"]])

    err = run_failing("components", path)

    assert "row 2: account_code: '90' is a number cell, which dropped the leading zeros of account 090" in err
    assert "format the column as Text" in err
    assert ComponentMapping.objects.count() == 0


def test_an_account_code_typed_as_a_number_the_organisation_has_is_accepted(tmp_path, demo):
    path = xlsx(tmp_path, [COMPONENTS, ["tiktok", "demo-us", "fee.transaction_fee_amount", 6100, "", "Fees"]])

    run("components", path)

    assert ComponentMapping.objects.get().account_code == "6100"


def test_a_formula_is_refused_in_a_code_column_and_in_a_text_column(tmp_path, demo):
    path = xlsx(
        tmp_path,
        [
            COMPONENTS,
            ["tiktok", "demo-us", "fee.transaction_fee_amount", "6100", "", '=CONCAT("Fe", "es")'],
            ["tiktok", "demo-us", "fee.affiliate_commission_amount", "=D2", "", "Commission"],
        ],
    )

    err = run_failing("components", path)

    assert 'row 2: description: \'=CONCAT("Fe", "es")\' is a formula' in err
    assert "row 3: account_code: '=D2' is a formula" in err
    assert ComponentMapping.objects.count() == 0


@pytest.mark.parametrize(
    "cell,problem",
    [(True, "'TRUE' is a TRUE/FALSE cell"), (datetime(2026, 4, 1), "'2026-04-01' is a date cell")],
)
def test_true_or_a_date_in_an_account_column_is_refused(tmp_path, demo, cell, problem):
    path = xlsx(tmp_path, [COMPONENTS, ["tiktok", "demo-us", "fee.transaction_fee_amount", cell, "", "Fees"]])

    err = run_failing("components", path)

    assert f"row 2: account_code: {problem}" in err
    assert ComponentMapping.objects.count() == 0


def test_a_shop_account_unknown_to_its_organisation_is_refused(tmp_path, demo):
    path = xlsx(
        tmp_path,
        [
            [*SHOP_COLUMNS, "bank_account"],
            ["tiktok", "demo-us", "Demo TikTok US", "US", "USD", "1299", "statement_journal", "NoTax", 90],
        ],
    )

    err = run_failing("shops", path)

    assert "row 2: clearing_account: Xero organisation LedgerSync Demo (US) has no account 1299" in err
    assert "row 2: bank_account: '90' is a number cell, which dropped the leading zeros of account 090" in err
    assert Shop.objects.get(code="demo-us").clearing_account == "1210"


def test_unknown_account_is_refused_only_once_the_organisation_has_read_its_accounts(tmp_path, demo):
    sheet = "channel,shop,component,account_code,tax_type,description\ntiktok,demo-us,reserve,1299,,Reserve\n"
    path = tmp_path / "components.csv"
    path.write_text(sheet)

    assert "has no account 1299" in "\n".join(
        mappings_import(kind="components", path=path, dry_run=True).errors
    )

    XeroConnection.objects.filter(tenant_id="tenant-demo-us").update(accounts=[], settings_refreshed_at=None)
    assert mappings_import(kind="components", path=path, dry_run=True).errors == []


# --- templates ----------------------------------------------------------------------------------------

ADMINS = {
    "shops": "shop",
    "components": "componentmapping",
    "skus": "skumapping",
    "bundles": "bundlecomponent",
    "tax_rates": "taxratemapping",
    "uoms": "unitofmeasureconversion",
}


@pytest.mark.parametrize("kind", list(RESOURCES))
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_downloaded_template_imports_cleanly_into_the_demo_organisation(
    client, tmp_path, demo, kind, file_format
):
    operator(client)
    changelist = client.get(reverse(f"admin:reconciliation_{ADMINS[kind]}_changelist"))
    url = reverse(f"admin:reconciliation_{ADMINS[kind]}_sheet_template", args=[file_format])
    assert url in changelist.content.decode() and "Download template" in page_text(changelist)

    download = client.get(url)
    path = tmp_path / f"{kind}.{file_format}"
    path.write_bytes(download.content)
    report = mappings_import(kind=kind, path=path, dry_run=False)

    assert download.status_code == 200
    assert report.errors == [] and report.warnings == []
    assert report.created == len(RESOURCES[kind].example_rows)


# --- units of measure ---------------------------------------------------------------------------------


def test_units_of_measure_round_trip_through_csv_and_xlsx(tmp_path, demo):
    path = tmp_path / "uoms.csv"
    path.write_text("item_code,from_unit,to_unit,factor\nMUG-CER,case,each,12\nCOAST-OAK,pack,set,2.5\n")
    run("uoms", path)
    exported = UnitOfMeasureResource().export()

    for name, data in (("back.csv", exported.csv), ("back.xlsx", exported.xlsx)):
        back = tmp_path / name
        back.write_bytes(data.encode() if isinstance(data, str) else data)
        report = mappings_import(kind="uoms", path=back, dry_run=False)
        assert (report.errors, report.created, report.updated, report.unchanged) == ([], 0, 0, 2)

    stored = UnitOfMeasureConversion.objects.get(item_code="COAST-OAK")
    assert (stored.from_unit, stored.to_unit, stored.factor) == ("pack", "set", Decimal("2.5"))


def test_a_uom_row_with_an_unknown_item_or_a_bad_factor_is_refused(tmp_path, demo):
    path = tmp_path / "uoms.csv"
    path.write_text("item_code,from_unit,to_unit,factor\nNO-SUCH,case,each,12\nMUG-CER,case,each,zero\n")

    err = run_failing("uoms", path)

    assert "row 2: item_code: no Xero organisation" in err and "has item NO-SUCH" in err
    assert "row 3: factor: 'zero' is not a number above 0" in err
    assert UnitOfMeasureConversion.objects.count() == 0


# --- the admin forms offer the organisation's own codes -----------------------------------------------


@pytest.mark.parametrize(
    "admin_name,offered",
    [
        ("componentmapping", ['<option value="6100">6100 (Marketplace fees)</option>', 'value="TAX001"']),
        ("skumapping", ['<option value="MUG-CER">MUG-CER (Ceramic mug)</option>']),
        ("taxratemapping", ['value="INPUT"']),
        ("unitofmeasureconversion", ['value="COAST-OAK"']),
    ],
)
def test_code_fields_offer_the_organisations_own_values(client, demo, admin_name, offered):
    operator(client)

    page = client.get(reverse(f"admin:reconciliation_{admin_name}_add")).content.decode()

    assert "<datalist" in page
    for option in offered:
        assert option in page


def test_refresh_from_xero_reads_the_organisations_codes_the_sheets_are_checked_against(client):
    sandbox = XeroSandbox.demo(base_currency="USD")
    sandbox.add_item("MUG-CER", "Ceramic mug")
    connection = sandbox_xero_connection(sandbox, name="Demo org")
    client.force_login(User.objects.create_superuser("admin", password="x"))

    done = client.post(
        reverse("admin:reconciliation_xeroconnection_changelist"),
        {"action": "refresh_from_xero", "_selected_action": [connection.pk]},
        follow=True,
    )

    connection.refresh_from_db()
    assert "read 16 accounts, 3 tax rates and 1 items from Xero" in page_text(done)
    assert [item["Code"] for item in connection.items] == ["MUG-CER"]


def test_a_shops_account_fields_offer_the_organisations_accounts(client, demo):
    client.force_login(User.objects.create_superuser("admin", password="x"))

    page = client.get(reverse("admin:reconciliation_shop_add")).content.decode()

    assert 'list="id_clearing_account_choices"' in page and 'list="id_order_sales_account_choices"' in page
    assert '<option value="090">090 (Checking Account)</option>' in page


def test_dry_run_rows_list_new_changed_and_unchanged_rows_with_what_changes(tmp_path, demo):
    path = tmp_path / "components.csv"
    path.write_text(
        "channel,shop,component,account_code,tax_type,description\n"
        "tiktok,demo-us,fee.transaction_fee_amount,6100,,Fees\n"
        "tiktok,demo-us,fee.affiliate_commission_amount,6110,,Commission\n"
    )
    run("components", path)
    path.write_text(
        "channel,shop,component,account_code,tax_type,description\n"
        "tiktok,demo-us,fee.transaction_fee_amount,6100,,Fees\n"
        "tiktok,demo-us,fee.affiliate_commission_amount,8000,,Commission\n"
        "tiktok,demo-us,fee.shipping_fee_amount,5100,,Shipping\n"
    )

    out, _ = run("components", path, "--dry-run", "--rows")

    assert out.splitlines() == [
        "row 2: unchanged: fee.transaction_fee_amount -> 6100",
        "row 3: changed: fee.affiliate_commission_amount -> 8000 (account_code: '6110' -> '8000')",
        "row 4: new: fee.shipping_fee_amount -> 5100",
        "components: 1 created, 1 updated, 1 unchanged (dry run, nothing saved)",
    ]
    assert ComponentMapping.objects.get(component="fee.affiliate_commission_amount").account_code == "6110"
