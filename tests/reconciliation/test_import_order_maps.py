"""`import_mappings --kind skus | bundles | tax_rates`: the order maps (DESIGN.md 4.5), checked
against the Xero organisation's cached Items and TaxRates, all or nothing like the other kinds."""

from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from reconciliation import selectors
from reconciliation.imports import mappings_import
from reconciliation.models import BundleComponent, Shop, SkuMapping, TaxRateMapping, XeroConnection
from reconciliation.planning import order_maps
from reconciliation.planning.bundles import BundleComponent as Part
from tests.reconciliation.test_import_mappings import FIXTURES, run, run_failing, shops, write_csv

pytestmark = pytest.mark.django_db


def tax_rate(tax_type: str, *, revenue: bool = True, expenses: bool = True, status: str = "ACTIVE") -> dict:
    return {
        "TaxType": tax_type,
        "Status": status,
        "EffectiveRate": "20.0",
        "CanApplyToRevenue": revenue,
        "CanApplyToExpenses": expenses,
    }


def organisation(shop_code: str, name: str, *, items=None, tax_rates=None) -> XeroConnection:
    """Connect the shop to an organisation; `items` / `tax_rates` None means never read from Xero."""
    connection = XeroConnection.objects.create(
        name=name,
        tenant_id=f"tenant-{shop_code}",
        organisation_name=name,
        items=None if items is None else [{"Code": code} for code in items],
        tax_rates=tax_rates or [],
        settings_refreshed_at=None if tax_rates is None else timezone.now(),
    )
    Shop.objects.filter(code=shop_code).update(xero_connection=connection)
    return connection


@pytest.fixture
def organisations():
    """tt-uk (GB) and tt-us (US), each in its own organisation with Items and TaxRates read."""
    shops()
    organisation(
        "tt-uk",
        "Demo UK Ltd",
        items=["MUG-WHT", "TEE-1", "MUG-WHT-UK"],
        tax_rates=[
            tax_rate("OUTPUT2", expenses=False),
            tax_rate("INPUT2", revenue=False),
            tax_rate("ZERORATEDOUTPUT", expenses=False),
            tax_rate("OLDVAT", status="DELETED"),
        ],
    )
    organisation("tt-us", "Demo US Inc", items=["MUG-WHT", "TEE-1"], tax_rates=[tax_rate("NONE")])


def uk() -> Shop:
    return Shop.objects.get(code="tt-uk")


def us() -> Shop:
    return Shop.objects.get(code="tt-us")


# --- skus ----------------------------------------------------------------------------------------


def test_a_good_sku_sheet_imports_and_the_shop_row_wins(organisations):
    out, err = run("skus", FIXTURES / "skus.csv")

    assert out.strip() == "skus: 3 created, 0 updated, 0 unchanged"
    assert err == ""
    assert selectors.sku_map(uk()) == {"MUG-WHITE": "MUG-WHT-UK", "1729382256910270001": "TEE-1"}
    assert selectors.sku_map(us()) == {"MUG-WHITE": "MUG-WHT", "1729382256910270001": "TEE-1"}
    row = SkuMapping.objects.get(shop=None, channel_sku="MUG-WHITE")
    assert (row.channel, row.item_code, row.description) == ("tiktok", "MUG-WHT", "White mug")


def test_bad_sku_rows_are_named_by_row_and_nothing_is_saved(organisations):
    err = run_failing("skus", FIXTURES / "skus_bad_rows.csv")

    assert err.splitlines() == [
        "row 3: item_code: Xero item codes are at most 30 characters; "
        "'TSHIRT-ORGANIC-COTTON-BLACK-XXL' has 31",
        "row 4: item_code: Xero organisation Demo UK Ltd (shop tt-uk) has no item MUG-BLU; "
        "create it in Xero or fix this row",
    ]
    assert SkuMapping.objects.count() == 0


def test_a_sku_sheet_imported_again_is_unchanged(organisations):
    run("skus", FIXTURES / "skus.csv")

    out, _ = run("skus", FIXTURES / "skus.csv")

    assert out.strip() == "skus: 0 created, 0 updated, 3 unchanged"
    assert SkuMapping.objects.count() == 3


def test_a_channel_wide_row_needs_the_item_in_every_organisation_of_the_channel(organisations, tmp_path):
    text = "channel,shop,external_sku,item_code,description\ntiktok,,MUG-WHITE,MUG-WHT-UK,\n"

    err = run_failing("skus", write_csv(tmp_path, text))

    # the UK organisation has the item; the error names the one that lacks it
    assert err.splitlines() == [
        "row 2: item_code: Xero organisation Demo US Inc (shop tt-us) has no item MUG-WHT-UK; "
        "create it in Xero or fix this row"
    ]


def test_items_never_read_from_xero_are_accepted_with_a_warning(tmp_path):
    shops()
    organisation("tt-uk", "Demo UK Ltd")  # connected, but GET /Items has not been read yet
    text = "channel,shop,external_sku,item_code,description\n"
    text += "tiktok,tt-uk,MUG-BLUE,MUG-BLU,\ntiktok,,MUG-WHITE,MUG-WHT,\n"

    out, err = run("skus", write_csv(tmp_path, text))

    assert out.strip() == "skus: 2 created, 0 updated, 0 unchanged"
    not_read = "Xero organisation Demo UK Ltd (shop tt-uk) has not read its items from Xero yet"
    assert err.splitlines() == [
        f"warning: row 2: item_code: not checked against Xero: {not_read}",
        # a channel-wide row applies to tt-us too, which has no organisation to check against
        f"warning: row 3: item_code: not checked against Xero: {not_read}; shop tt-us has no Xero organisation",
    ]


def test_code_cells_a_spreadsheet_reinterpreted_are_refused(organisations, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["channel", "shop", "external_sku", "item_code", "description"])
    sheet.append(["tiktok", "", "MUG-WHITE", "MUG-WHT", "text cells: fine"])
    sheet.append(["tiktok", "", 123, "MUG-WHT", "was 00123 before Excel"])
    sheet.append(["tiktok", "", "TRUE-SKU", True, ""])
    sheet.append(["tiktok", "", "MAR-1", '=B2&"X"', ""])
    sheet.append(["tiktok", "", date(2025, 3, 1), "MUG-WHT", ""])
    path = tmp_path / "skus.xlsx"
    book.save(path)

    err = run_failing("skus", path)

    fix = "format the column as Text and type the code again"
    assert err.splitlines() == [
        f"row 3: external_sku: '123' is a number cell, which drops leading zeros and digits past the 15th: {fix}",
        f"row 4: item_code: 'TRUE' is a TRUE/FALSE cell, not a code: {fix}",
        f"row 5: item_code: '=B2&\"X\"' is a formula; type the code itself: {fix}",
        f"row 6: external_sku: '2025-03-01' is a date cell (the spreadsheet read the code as a date): {fix}",
    ]
    assert SkuMapping.objects.count() == 0


def test_a_shop_of_another_channel_is_refused_for_order_maps(organisations, tmp_path):
    text = "channel,shop,external_sku,item_code,description\namazon_vendor,tt-uk,B000123,MUG-WHT,\n"

    err = run_failing("skus", write_csv(tmp_path, text))

    assert err.splitlines() == ["row 2: shop: shop tt-uk is on channel tiktok, not amazon_vendor"]


def test_a_sku_repeated_in_one_file_is_refused(organisations, tmp_path):
    text = (FIXTURES / "skus.csv").read_text() + "tiktok,,MUG-WHITE,TEE-1,again\n"

    err = run_failing("skus", write_csv(tmp_path, text))

    assert err.splitlines() == [
        "row 5: repeats row 2 (channel 'tiktok', shop '', external_sku 'MUG-WHITE'); each appears once per file"
    ]


# --- bundles -------------------------------------------------------------------------------------


def test_a_good_bundle_sheet_imports_and_a_shop_bundle_replaces_the_channel_one(organisations):
    out, err = run("bundles", FIXTURES / "bundles.csv")

    assert out.strip() == "bundles: 3 created, 0 updated, 0 unchanged"
    assert err == ""
    assert selectors.bundle_map(us()) == {
        "GIFT-SET": (Part("MUG-WHT", 1, Decimal("12.5")), Part("TEE-1", 2, Decimal("7.25")))
    }
    # the UK shop's one row is its whole bundle: TEE-1 is not merged in from the channel-wide set
    assert selectors.bundle_map(uk()) == {"GIFT-SET": (Part("MUG-WHT-UK", 1, Decimal("1")),)}


def test_bad_bundle_rows_are_named_by_row_and_nothing_is_saved(organisations):
    err = run_failing("bundles", FIXTURES / "bundles_bad_rows.csv")

    assert err.splitlines() == [
        "row 3: quantity: '1.5' is not a positive whole number",
        "row 4: price_weight: bundle FREEBIE: its weights are all 0, so its price cannot be split; "
        "give at least one component a weight above 0",
        "row 5: price_weight: 'heavy' is not a number",
    ]
    assert BundleComponent.objects.count() == 0


def test_a_negative_weight_and_a_zero_quantity_are_refused(organisations, tmp_path):
    text = "channel,shop,bundle_sku,item_code,quantity,price_weight\n"
    text += "tiktok,,SET,MUG-WHT,0,1\ntiktok,,SET,TEE-1,1,-2\n"

    err = run_failing("bundles", write_csv(tmp_path, text))

    assert err.splitlines() == [
        "row 2: quantity: '0' is not a positive whole number",
        "row 3: price_weight: '-2' is negative; a price weight is 0 or more",
    ]


def test_a_bundle_sheet_imported_again_is_unchanged(organisations):
    run("bundles", FIXTURES / "bundles.csv")

    out, _ = run("bundles", FIXTURES / "bundles.csv")

    assert out.strip() == "bundles: 0 created, 0 updated, 3 unchanged"


# --- tax rates -----------------------------------------------------------------------------------


def test_a_good_tax_rate_sheet_imports_and_the_shop_row_wins(organisations):
    out, err = run("tax_rates", FIXTURES / "tax_rates.csv")

    assert out.strip() == "tax_rates: 4 created, 0 updated, 0 unchanged"
    assert err == ""
    assert selectors.tax_map(uk()) == {
        ("tiktok", "GB", "*", "sales"): "ZERORATEDOUTPUT",
        ("tiktok", "GB", "*", "fees"): "INPUT2",
        ("tiktok", "US", "*", "sales"): "NONE",
    }
    assert selectors.tax_map(us())[("tiktok", "GB", "*", "sales")] == "OUTPUT2"
    assert TaxRateMapping.objects.get(shop__code="tt-uk").usage == "sales"


def test_the_order_planner_uses_the_shops_own_tax_row(organisations):
    run("tax_rates", FIXTURES / "tax_rates.csv")
    org = selectors.org_settings(uk().xero_connection)

    def sales_tax(shop: Shop) -> tuple[str, list]:
        maps = selectors.order_maps(shop)
        return order_maps.tax_type(
            maps.tax, region="GB", rate="", name="", side="sales", account_class="REVENUE", org=org, ref="o-1"
        )

    assert sales_tax(uk()) == ("ZERORATEDOUTPUT", [])
    assert sales_tax(us()) == ("OUTPUT2", [])  # the channel-wide row


def test_bad_tax_rate_rows_are_named_by_row_and_nothing_is_saved(organisations):
    err = run_failing("tax_rates", FIXTURES / "tax_rates_bad_rows.csv")

    assert err.splitlines() == [
        "row 3: tax_type: Xero organisation Demo UK Ltd (shop tt-uk) has no tax rate OUTPUT9",
        "row 4: tax_type: tax rate OUTPUT2 of Xero organisation Demo UK Ltd (shop tt-uk) cannot be used "
        "on expense lines (fees)",
        "row 5: direction: 'refunds' is not one of sales, fees",
    ]
    assert TaxRateMapping.objects.count() == 0


def test_a_channel_wide_tax_row_is_checked_against_the_organisations_of_its_region(organisations, tmp_path):
    text = "channel,shop,region,source_tax,direction,tax_type\n"
    text += "tiktok,,US,*,sales,OUTPUT2\ntiktok,,GB,*,sales,OLDVAT\n"

    err = run_failing("tax_rates", write_csv(tmp_path, text))

    assert err.splitlines() == [
        "row 2: tax_type: Xero organisation Demo US Inc (shop tt-us) has no tax rate OUTPUT2",
        "row 3: tax_type: tax rate OLDVAT of Xero organisation Demo UK Ltd (shop tt-uk) is DELETED, not ACTIVE",
    ]


def test_a_tax_rate_sheet_imported_again_is_unchanged(organisations):
    run("tax_rates", FIXTURES / "tax_rates.csv")

    out, _ = run("tax_rates", FIXTURES / "tax_rates.csv")

    assert out.strip() == "tax_rates: 0 created, 0 updated, 4 unchanged"


def test_the_service_counts_order_maps_like_the_other_kinds(organisations):
    report = mappings_import(kind="tax_rates", path=FIXTURES / "tax_rates.csv", dry_run=True)

    assert (report.created, report.errors, report.saved) == (4, [], False)
    assert TaxRateMapping.objects.count() == 0


def test_a_bundle_is_weighed_as_a_whole_also_in_a_dry_run(organisations, tmp_path):
    text = "channel,shop,bundle_sku,item_code,quantity,price_weight\n"
    text += "tiktok,,SET,MUG-WHT,1,0\ntiktok,,SET,TEE-1,1,3\n"  # a free mug with the T-shirt

    out, err = run("bundles", write_csv(tmp_path, text), "--dry-run")

    assert out.strip() == "bundles: 2 created, 0 updated, 0 unchanged (dry run, nothing saved)"
    assert err == ""
    assert BundleComponent.objects.count() == 0
