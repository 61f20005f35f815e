"""An operator imports the component map from the admin: a sheet with two bad rows shows both
errors with their row numbers and imports nothing; the fixed sheet imports and its rows are listed."""

import pytest

from reconciliation.models import ComponentMapping
from tests.browser.conftest import follow, screenshot, text
from tests.reconciliation.test_admin import staff
from tests.reconciliation.test_sheets import demo  # noqa: F401 - the demo shops, a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = (
    "channel,shop,component,account_code,tax_type,description\n"
    "tiktok,demo-us,fee.transaction_fee_amount,6100,,Fees\n"
    "tiktok,demo-us,fee.affiliate_commission_amount,9999,,Commission\n"
    "tiktok,demo-us,fee.shipping_fee_amount,6100,NOSUCHTAX,Shipping fees\n"
)
FIXED = BAD.replace(",9999,", ",6110,").replace("NOSUCHTAX", "INPUT")


def upload(page, path) -> None:
    page.select_option("select[name=format]", label="csv")
    page.set_input_files("input[name=import_file]", str(path))
    follow(page, page.locator("#content input[type=submit], #content button[type=submit]").first)


def test_an_operator_fixes_two_bad_rows_and_imports_the_component_map(browse, demo, tmp_path):  # noqa: F811
    sheet = tmp_path / "components.csv"
    sheet.write_text(BAD)
    page = browse(staff("otto", "Operations"))
    follow(page, page.get_by_role("link", name="Component mappings"))
    follow(page, page.get_by_role("link", name="Import", exact=True))

    upload(page, sheet)

    errors = text(page)
    assert "Nothing was imported: 2 errors" in errors
    assert "row 3: account_code:" in errors and "has no account 9999" in errors
    assert "row 4: tax_type:" in errors and "has no tax rate NOSUCHTAX" in errors
    screenshot(page, "import-errors")
    assert not ComponentMapping.objects.exists()

    sheet.write_text(FIXED)
    upload(page, sheet)
    assert "Preview: 3 new, 0 changed, 0 unchanged" in text(page)
    follow(page, page.locator("input[name=confirm], button[name=confirm]").first)

    listed = text(page)
    assert "fee.transaction_fee_amount" in listed and "fee.affiliate_commission_amount" in listed
    assert "fee.shipping_fee_amount" in listed and "6110" in listed
    assert ComponentMapping.objects.filter(shop__code="demo-us").count() == 3
