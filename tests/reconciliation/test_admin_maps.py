"""The map admin's add and change forms refuse what the map sheets refuse (issue 7, item 6): an
account, tax type or item the row's Xero organisation does not have, with the sheet's own message
(reconciliation/sheets/), read from the organisation's cached settings. Items not read yet are not
checked, as in a sheet."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    Shop,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
    XeroConnection,
)
from tests.reconciliation.test_sheets import credentials_key, demo, operator, page_text

pytestmark = pytest.mark.django_db
__all__ = ["credentials_key", "demo"]  # fixtures, used by name
US = "LedgerSync Demo (US)"  # both demo organisations (tests/reconciliation/test_sheets.py demo)
ORG = f"Xero organisation {US} (shop demo-us-orders)"


def component(shop: Shop) -> ComponentMapping:
    return ComponentMapping.objects.create(
        channel="tiktok", shop=shop, component="fee.transaction_fee_amount", account_code="6100"
    )


def sku(shop: Shop) -> SkuMapping:
    return SkuMapping.objects.get(shop=shop, channel_sku="MUG-CER")


def bundle(shop: Shop) -> BundleComponent:
    return BundleComponent.objects.create(
        channel="tiktok", shop=shop, bundle_sku="GIFT-2", item_code="MUG-CER", quantity=2, price_weight=1
    )


def tax_rate(shop: Shop) -> TaxRateMapping:
    return TaxRateMapping.objects.create(
        channel="tiktok", shop=shop, region="US", source_tax="*", usage="sales", tax_type="TAX001"
    )


def uom(shop: Shop) -> UnitOfMeasureConversion:
    return UnitOfMeasureConversion.objects.create(
        item_code="MUG-CER", from_unit="case", to_unit="each", factor=Decimal("12")
    )


# kind -> (a stored row of demo-us-orders, the code field, an unknown value and the sheet's message
# for it, a value the organisation has)
KINDS = {
    "componentmapping": (
        component,
        "account_code",
        ("9999", f"{ORG} has no account 9999; add it to the chart of accounts in Xero or fix this row"),
        "4000",
    ),
    "skumapping": (
        sku,
        "item_code",
        ("NOPE", f"{ORG} has no item NOPE; create it in Xero or fix this row"),
        "DESK-WAL",
    ),
    "bundlecomponent": (
        bundle,
        "item_code",
        ("NOPE", f"{ORG} has no item NOPE; create it in Xero or fix this row"),
        "DESK-WAL",
    ),
    "taxratemapping": (tax_rate, "tax_type", ("NOPE", f"{ORG} has no tax rate NOPE"), "NONE"),
    "unitofmeasureconversion": (
        uom,
        "item_code",
        ("NOPE", f"no Xero organisation ({US}, {US}) has item NOPE; create it in Xero or fix this row"),
        "DESK-WAL",
    ),
}


def change(client, kind: str, row, **values):
    data = {name: "" if value is None else value for name, value in model_to_dict(row).items()}
    data.pop("id", None)
    return client.post(reverse(f"admin:reconciliation_{kind}_change", args=[row.pk]), data | values)


@pytest.fixture
def shop(demo) -> Shop:
    return Shop.objects.get(code="demo-us-orders")


@pytest.mark.parametrize("kind", KINDS)
def test_the_change_form_refuses_a_code_the_organisation_does_not_have_with_the_sheets_message(
    client, shop, kind
):
    stored, field, (unknown, message), _known = KINDS[kind]
    row = stored(shop)
    before = model_to_dict(row)
    operator(client)

    response = change(client, kind, row, **{field: unknown})

    assert response.status_code == 200  # the form again, with the error beside the field
    assert message in page_text(response)
    assert model_to_dict(type(row).objects.get(pk=row.pk)) == before


@pytest.mark.parametrize("kind", KINDS)
def test_the_change_form_saves_a_code_the_organisation_has(client, shop, kind):
    stored, field, _unknown, known = KINDS[kind]
    row = stored(shop)
    operator(client)

    response = change(client, kind, row, **{field: known})

    assert response.status_code == 302, page_text(response)
    assert getattr(type(row).objects.get(pk=row.pk), field) == known


def test_the_add_form_refuses_an_unknown_item_and_saves_nothing(client, shop):
    operator(client)
    row = {"channel": "tiktok", "shop": shop.pk, "channel_sku": "NEW-SKU", "item_code": "NOPE"}

    response = client.post(reverse("admin:reconciliation_skumapping_add"), row)

    assert response.status_code == 200
    assert f"{ORG} has no item NOPE; create it in Xero or fix this row" in page_text(response)
    assert not SkuMapping.objects.filter(channel_sku="NEW-SKU").exists()


def test_items_not_read_from_xero_yet_are_not_checked(client, shop):
    XeroConnection.objects.update(items=None)
    row = sku(shop)
    operator(client)

    response = change(client, "skumapping", row, item_code="NOT-YET-READ")

    assert response.status_code == 302, page_text(response)
    assert SkuMapping.objects.get(pk=row.pk).item_code == "NOT-YET-READ"


def test_a_shop_of_another_channel_is_still_refused_once(client, shop):
    operator(client)
    row = {"channel": "amazon_vendor", "shop": shop.pk, "region": "US"}
    row |= {"source_tax": "*", "usage": "sales", "tax_type": "NOPE"}

    response = client.post(reverse("admin:reconciliation_taxratemapping_add"), row)

    text = page_text(response)
    assert text.count("shop demo-us-orders is on channel tiktok, not amazon_vendor") == 1
    assert "has no tax rate" not in text  # the shop's organisation is not this row's to check against
    assert not TaxRateMapping.objects.exists()


def test_a_bundle_whose_weights_would_all_be_0_is_refused_as_in_a_sheet(client, shop):
    row = bundle(shop)  # the only component of GIFT-2
    operator(client)

    response = change(client, "bundlecomponent", row, price_weight="0")

    assert response.status_code == 200
    assert "bundle GIFT-2: its weights are all 0, so its price cannot be split" in page_text(response)
    assert BundleComponent.objects.get(pk=row.pk).price_weight == 1
