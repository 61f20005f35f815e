"""Spreadsheet import and export in the admin: the same resources and rules as the command."""

from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reconciliation.imports import mappings_import
from reconciliation.models import ComponentMapping, Shop, SkuMapping, TaxRateMapping
from reconciliation.resources import RESOURCES, ComponentMappingResource, ShopResource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mappings"
IMPORT = "admin:reconciliation_shop_import"
PROCESS = "admin:reconciliation_shop_process_import"
CSV, XLSX = "0", "1"  # the admin's import formats, in order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]


def staff(name: str, group: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def upload(path: Path, content_type: str = "text/csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type=content_type)


def test_operations_imports_shops_through_the_admin_after_a_preview(client):
    client.force_login(staff("otto", "Operations"))

    preview = client.post(
        reverse(IMPORT), {"resource": "0", "format": CSV, "import_file": upload(FIXTURES / "shops.csv")}
    )

    assert preview.status_code == 200
    assert Shop.objects.count() == 0  # the preview is a dry run
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    done = client.post(reverse(PROCESS), {**confirm.initial, "confirm": "Confirm import"})
    assert done.status_code == 302
    assert sorted(Shop.objects.values_list("code", "currency")) == [("tt-uk", "GBP"), ("tt-us", "USD")]


def test_admin_import_refuses_a_bad_file_with_spreadsheet_row_numbers(client):
    client.force_login(staff("otto", "Operations"))

    preview = client.post(
        reverse(IMPORT),
        {"resource": "0", "format": CSV, "import_file": upload(FIXTURES / "shops_bad_row.csv")},
    )

    result = preview.context["result"]
    assert preview.context.get("confirm_form") is None
    assert [row.number for row in result.invalid_rows] == [3, 4]
    assert "posting_mode" in result.invalid_rows[0].field_specific_errors
    assert Shop.objects.count() == 0


def test_admin_import_refuses_unknown_columns(client):
    client.force_login(staff("otto", "Operations"))

    preview = client.post(
        reverse(IMPORT),
        {"resource": "0", "format": CSV, "import_file": upload(FIXTURES / "shops_unknown_column.csv")},
    )

    assert preview.context.get("confirm_form") is None
    assert "unknown column(s): clearing_acount" in preview.content.decode()


def test_admin_imports_xlsx(client):
    client.force_login(staff("otto", "Operations"))
    book = openpyxl.Workbook()
    book.active.append(
        [
            "channel",
            "code",
            "name",
            "region",
            "currency",
            "clearing_account",
            "posting_mode",
            "line_amount_types",
        ]
    )
    book.active.append(["tiktok", "tt-us", "Demo US", "US", "USD", 1210, "statement_journal", "NoTax"])
    data = BytesIO()
    book.save(data)
    file = SimpleUploadedFile("shops.xlsx", data.getvalue())

    preview = client.post(reverse(IMPORT), {"resource": "0", "format": XLSX, "import_file": file})
    client.post(reverse(PROCESS), {**preview.context["confirm_form"].initial, "confirm": "Confirm import"})

    assert Shop.objects.get(code="tt-us").clearing_account == "1210"


def test_finance_and_auditors_cannot_import(client):
    for name, group in [("fiona", "Finance"), ("audrey", "Auditor")]:
        client.force_login(staff(name, group))
        assert client.get(reverse(IMPORT)).status_code == 403
        changelist = client.get(reverse("admin:reconciliation_shop_changelist"))
        assert reverse(IMPORT) not in changelist.content.decode()


def test_auditor_can_export_shops_as_csv(client):
    mappings_import(kind="shops", path=FIXTURES / "shops.csv", dry_run=False)
    client.force_login(staff("audrey", "Auditor"))
    fields = {f"shopresource_{name}": "on" for name in ShopResource.columns()}

    response = client.post(
        reverse("admin:reconciliation_shop_export"), {"resource": "0", "format": CSV, **fields}
    )

    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == ",".join(ShopResource.columns())
    assert any(line.startswith("tiktok,tt-us,Demo US,US,USD,1210,") for line in lines)


@pytest.mark.parametrize("kind,resource", [("shops", ShopResource), ("components", ComponentMappingResource)])
def test_an_exported_sheet_imports_back_unchanged(tmp_path, kind, resource):
    mappings_import(kind="shops", path=FIXTURES / "shops.csv", dry_run=False)
    mappings_import(kind="components", path=FIXTURES / "components.csv", dry_run=False)
    exported = tmp_path / f"{kind}.csv"
    exported.write_text(resource().export().csv)

    report = mappings_import(kind=kind, path=exported, dry_run=False)

    assert report.errors == []
    assert (report.created, report.updated) == (0, 0)
    assert report.unchanged == {"shops": 2, "components": 5}[kind]
    assert ComponentMapping.objects.count() == 5


ORDER_MAPS = [
    ("skus", "skumapping", 3),
    ("bundles", "bundlecomponent", 3),
    ("tax_rates", "taxratemapping", 4),
]


@pytest.mark.parametrize("kind,model,rows", ORDER_MAPS)
@pytest.mark.parametrize("file_format", [CSV, XLSX])
def test_an_order_map_exported_from_the_admin_imports_back_unchanged(
    client, tmp_path, kind, model, rows, file_format
):
    mappings_import(kind="shops", path=FIXTURES / "shops.csv", dry_run=False)
    assert mappings_import(kind=kind, path=FIXTURES / f"{kind}.csv", dry_run=False).created == rows
    client.force_login(staff("audrey", "Auditor"))
    resource = RESOURCES[kind]
    fields = {f"{resource.__name__.lower()}_{name}": "on" for name in resource.columns()}

    response = client.post(
        reverse(f"admin:reconciliation_{model}_export"), {"resource": "0", "format": file_format, **fields}
    )

    assert response.status_code == 200
    exported = tmp_path / f"{kind}.{'csv' if file_format == CSV else 'xlsx'}"
    exported.write_bytes(response.content)
    report = mappings_import(kind=kind, path=exported, dry_run=False)
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, rows)


def test_operations_imports_the_sku_map_through_the_admin_with_the_same_rules(client):
    mappings_import(kind="shops", path=FIXTURES / "shops.csv", dry_run=False)
    client.force_login(staff("otto", "Operations"))
    url = reverse("admin:reconciliation_skumapping_import")

    bad = client.post(
        url, {"resource": "0", "format": CSV, "import_file": upload(FIXTURES / "skus_bad_rows.csv")}
    )
    good = client.post(url, {"resource": "0", "format": CSV, "import_file": upload(FIXTURES / "skus.csv")})
    client.post(
        reverse("admin:reconciliation_skumapping_process_import"),
        {**good.context["confirm_form"].initial, "confirm": "Confirm import"},
    )

    assert bad.context.get("confirm_form") is None
    assert [row.number for row in bad.context["result"].invalid_rows] == [3]  # over 30 characters
    assert sorted(SkuMapping.objects.values_list("channel_sku", "item_code")) == [
        ("1729382256910270001", "TEE-1"),
        ("MUG-WHITE", "MUG-WHT"),
        ("MUG-WHITE", "MUG-WHT-UK"),
    ]


def test_the_admin_refuses_a_tax_row_for_a_shop_of_another_channel(client):
    mappings_import(kind="shops", path=FIXTURES / "shops.csv", dry_run=False)
    client.force_login(staff("otto", "Operations"))
    row = {"channel": "amazon_vendor", "shop": Shop.objects.get(code="tt-uk").pk, "region": "GB"}
    row |= {"source_tax": "*", "usage": "sales", "tax_type": "OUTPUT2"}

    response = client.post(reverse("admin:reconciliation_taxratemapping_add"), row)

    assert response.status_code == 200  # the form again, with the error
    assert "shop tt-uk is on channel tiktok, not amazon_vendor" in response.content.decode()
    assert not TaxRateMapping.objects.exists()
