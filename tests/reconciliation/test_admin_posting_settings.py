"""Finance chooses a shop's posting mode and accounts (DESIGN.md 1); Operations keep the rest."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reconciliation.models import Shop

pytestmark = pytest.mark.django_db


def member(group: str) -> User:
    user = User.objects.create_user(group.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def shop():
    return Shop.objects.create(
        channel="tiktok",
        code="tt-us",
        name="US",
        region="US",
        currency="USD",
        clearing_account="1210",
        bank_account="090",
        line_amount_types="NoTax",
    )


def change_form(shop: Shop, **changes) -> dict:
    data = {
        "channel": shop.channel,
        "code": shop.code,
        "name": shop.name,
        "region": shop.region,
        "currency": shop.currency,
        "timezone": shop.timezone,
        "is_active": "on",
        "posting_mode": shop.posting_mode,
        "line_amount_types": shop.line_amount_types,
        "clearing_account": shop.clearing_account,
        "bank_account": shop.bank_account,
        "reserve_account": "",
        "contact_name": "",
        "sync_from": "",
        "xero_connection": "",
        "order_tax_presentation": shop.order_tax_presentation,
        "order_invoice_prefix": shop.order_invoice_prefix,
        "connection-TOTAL_FORMS": "0",
        "connection-INITIAL_FORMS": "0",
        "connection-MIN_NUM_FORMS": "0",
        "connection-MAX_NUM_FORMS": "1",
    }
    return data | changes


@pytest.mark.parametrize(("group", "changed"), [("Operations", False), ("Finance", True)])
def test_only_finance_changes_the_clearing_account(client, shop, group, changed):
    client.force_login(member(group))
    response = client.post(
        reverse("admin:reconciliation_shop_change", args=[shop.pk]),
        change_form(shop, clearing_account="1299", name="Renamed"),
    )
    assert response.status_code == 302, response.content[:2000]
    shop.refresh_from_db()
    assert shop.name == "Renamed"  # Operations still keep the rest of the shop
    assert (shop.clearing_account == "1299") is changed


@pytest.mark.parametrize(("group", "changed"), [("Operations", False), ("Finance", True)])
def test_only_finance_chooses_the_order_invoice_accounts_and_tax_presentation(client, shop, group, changed):
    client.force_login(member(group))
    response = client.post(
        reverse("admin:reconciliation_shop_change", args=[shop.pk]),
        change_form(shop, order_sales_account="4000", order_tax_presentation="gross"),
    )
    assert response.status_code == 302, response.content[:2000]
    shop.refresh_from_db()
    assert (shop.order_sales_account, shop.order_tax_presentation) == (
        ("4000", "gross") if changed else ("", "net")
    )


def test_an_operations_admin_import_cannot_change_posting_settings(client, shop):
    client.force_login(member("Operations"))
    sheet = (
        "channel,code,name,region,currency,clearing_account,posting_mode,line_amount_types\n"
        "tiktok,tt-us,US renamed,US,USD,1299,statement_journal,NoTax\n"
    )
    upload = SimpleUploadedFile("shops.csv", sheet.encode(), content_type="text/csv")
    preview = client.post(
        reverse("admin:reconciliation_shop_import"), {"resource": "0", "format": "0", "import_file": upload}
    )

    assert preview.context.get("confirm_form") is None
    assert "only Finance may change" in preview.content.decode()
    shop.refresh_from_db()
    assert shop.clearing_account == "1210" and shop.name == "US"
