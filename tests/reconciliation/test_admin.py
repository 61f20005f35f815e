"""The admin: roles from the migration's groups, read-only audit rows, secrets never rendered."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    Payout,
    QuarantineItem,
    Shop,
    ShopConnection,
    SkuMapping,
    SourceRecord,
    Statement,
    StatementOrder,
    SyncRun,
    TaxRateMapping,
    UnitOfMeasureConversion,
    XeroAttempt,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.quarantine import Reason
from reconciliation.services.outbox import idempotency_key
from tests.support.orders import orders_world

pytestmark = pytest.mark.django_db

SECRETS = {
    "xero_client_secret": "xero-client-secret-5f1c",
    "xero_refresh_token": "xero-refresh-token-9a2b",
    "xero_access_token": "xero-access-token-77de",
    "tiktok_app_secret": "tiktok-app-secret-31aa",
    "tiktok_access_token": "tiktok-access-token-0c4e",
    "tiktok_refresh_token": "tiktok-refresh-token-ee81",
}
AUDIT_MODELS = [SourceRecord, Statement, Payout, SyncRun, XeroPosting, XeroAttempt]


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]


def staff(name: str, group: str | None = None, **extra) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def world():
    """One row of every model, with credentials and a held journal: enough for every admin page."""
    xero = XeroConnection.objects.create(
        name="Demo org",
        tenant_id="tenant-1",
        client_id="client-id-1",
        client_secret=SECRETS["xero_client_secret"],
        refresh_token=SECRETS["xero_refresh_token"],
        access_token=SECRETS["xero_access_token"],
        base_currency="GBP",
        period_lock_date=date(2025, 10, 31),
        accounts=[{"Code": "1210", "Type": "CURRENT", "Class": "ASSET"}],
        tax_rates=[{"TaxType": "OUTPUT2", "EffectiveRate": "20"}],
        settings_refreshed_at=timezone.now(),
    )
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-uk",
        name="Demo UK",
        region="GB",
        currency="GBP",
        clearing_account="1210",
        xero_connection=xero,
    )
    ShopConnection.objects.create(
        shop=shop,
        app_key="app-key-1",
        app_secret=SECRETS["tiktok_app_secret"],
        access_token=SECRETS["tiktok_access_token"],
        refresh_token=SECRETS["tiktok_refresh_token"],
    )
    SourceRecord.objects.create(shop=shop, kind="tiktok.statement", external_id="S1", payload={"id": "S1"})
    statement = Statement.objects.create(
        shop=shop,
        statement_id="S1",
        statement_date=date(2025, 10, 20),
        currency="GBP",
        settlement_amount=Decimal("167.04"),
        content_hash="h",
    )
    Payout.objects.create(
        shop=shop, payment_id="P1", status="PAID", amount=Decimal("167.04"), currency="GBP", content_hash="h"
    )
    SyncRun.objects.create(shop=shop, counts={"statements": 1})
    payload = {"Narration": "TikTok tt-uk statement S1", "Date": "2025-10-20", "JournalLines": []}
    posting = XeroPosting.objects.create(
        connection=xero,
        shop=shop,
        source=statement,
        kind=XeroPosting.Kind.MANUAL_JOURNAL,
        source_ref="tt-uk statement S1",
        purpose="statement_journal",
        lookup_reference="Narration=TikTok tt-uk statement S1",
        idempotency_key=idempotency_key("statement_journal", payload),
        payload=payload,
        document_date=date(2025, 10, 20),
        state=XeroPosting.State.HELD,
    )
    XeroAttempt.objects.create(
        connection=xero,
        posting=posting,
        method="PUT",
        url="https://api.xero.com/api.xro/2.0/ManualJournals",
        status=400,
        request_body='{"ManualJournals": []}',
        response_body='{"Elements": []}',
        duration_ms=120,
    )
    QuarantineItem.objects.create(
        reason=Reason.LOCK_DATE,
        shop=shop,
        source=statement,
        posting=posting,
        source_ref="tt-uk statement S1",
        message="dated on or before the period lock date 2025-10-31",
        details={"document": payload},
        proposed_date=date(2025, 11, 1),
    )
    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    SkuMapping.objects.create(channel="tiktok", shop=shop, channel_sku="SKU-1", item_code="ITEM-1")
    BundleComponent.objects.create(
        channel="tiktok", bundle_sku="B-1", item_code="ITEM-1", quantity=2, price_weight=1
    )
    TaxRateMapping.objects.create(
        channel="tiktok", region="GB", source_tax="20%", usage="sales", tax_type="OUTPUT2"
    )
    UnitOfMeasureConversion.objects.create(item_code="ITEM-1", from_unit="case", to_unit="each", factor=12)
    orders_world(shop)
    StatementOrder.objects.create(
        statement=statement, order_id="576500000000000001", sales=Decimal("207.06"), refunds=Decimal("0")
    )
    return {"xero": xero, "shop": shop, "posting": posting}


def app_models():
    return [model for model in admin.site._registry if model._meta.app_label == "reconciliation"]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:reconciliation_{model._meta.model_name}_{view}", args=args)


def assert_no_secret(html: str) -> None:
    leaked = [name for name, value in SECRETS.items() if value in html]
    assert leaked == [], f"secrets rendered: {leaked}"


def test_every_model_is_registered():
    from django.apps import apps

    assert set(app_models()) == set(apps.get_app_config("reconciliation").get_models())


def test_auditor_sees_every_changelist_and_change_page_and_no_secret(client, world):
    client.force_login(staff("audrey", "Auditor"))

    for model in app_models():
        changelist = client.get(url(model, "changelist"))
        assert changelist.status_code == 200, model
        assert_no_secret(changelist.content.decode())
        obj = model.objects.first()
        change = client.get(url(model, "change", obj.pk))
        assert change.status_code == 200, model
        html = change.content.decode()
        assert_no_secret(html)
        assert 'name="_save"' not in html, f"{model.__name__} is editable by an auditor"


def test_auditor_cannot_add_or_change_maps(client, world):
    client.force_login(staff("audrey", "Auditor"))

    assert client.get(url(ComponentMapping, "add")).status_code == 403
    mapping = ComponentMapping.objects.get()
    response = client.post(
        url(ComponentMapping, "change", mapping.pk),
        {"channel": "tiktok", "component": "fee.transaction_fee_amount", "account_code": "9999"},
    )
    assert response.status_code == 403
    mapping.refresh_from_db()
    assert mapping.account_code == "6100"


@pytest.mark.parametrize("model", AUDIT_MODELS, ids=lambda m: m.__name__)
def test_audit_models_are_read_only_even_for_a_superuser(client, world, model):
    superuser = User.objects.create_superuser("root", password="x")
    client.force_login(superuser)
    model_admin = admin.site._registry[model]
    obj = model.objects.first()
    request = client.get(url(model, "changelist")).wsgi_request

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert model_admin.has_view_permission(request, obj)
    assert client.get(url(model, "add")).status_code == 403
    assert client.post(url(model, "change", obj.pk), {}).status_code == 403
    assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_posting_page_shows_its_http_attempts_and_pretty_payload(client, world):
    client.force_login(staff("audrey", "Auditor"))

    html = client.get(url(XeroPosting, "change", world["posting"].pk)).content.decode()

    assert "https://api.xero.com/api.xro/2.0/ManualJournals" in html
    assert "&quot;Narration&quot;: &quot;TikTok tt-uk statement S1&quot;" in html


# --- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", "operations"])
def test_secrets_never_appear_in_connection_forms(client, world, who):
    user = (
        User.objects.create_superuser("root", password="x")
        if who == "superuser"
        else staff("otto", "Operations")
    )
    client.force_login(user)
    pages = [
        url(XeroConnection, "change", world["xero"].pk),
        url(ShopConnection, "change", world["shop"].connection.pk),
        url(Shop, "change", world["shop"].pk),  # the connection inline
    ]

    for page in pages:
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert_no_secret(html)
        assert 'type="password"' in html  # the write-only replacement input
        assert ">set<" in html.replace(" ", "").replace("\n", "")  # the indicator
        form = response.context["adminform"].form
        assert not any(str(value) in SECRETS.values() for value in form.initial.values())


def xero_form_data(xero: XeroConnection, **changes) -> dict:
    data = {
        "name": xero.name,
        "tenant_id": xero.tenant_id,
        "client_id": xero.client_id,
        "status": xero.status,
        "status_reason": "",
        "access_token_expires_at_0": "",
        "access_token_expires_at_1": "",
        "new_client_secret": "",
        "new_refresh_token": "",
        "new_access_token": "",
    }
    return {**data, **changes}


def test_blank_secret_input_keeps_the_stored_secret(client, world):
    client.force_login(staff("otto", "Operations"))
    xero = world["xero"]

    response = client.post(url(XeroConnection, "change", xero.pk), xero_form_data(xero, name="Renamed org"))

    assert response.status_code == 302
    xero.refresh_from_db()
    assert xero.name == "Renamed org"
    assert xero.client_secret == SECRETS["xero_client_secret"]
    assert xero.refresh_token == SECRETS["xero_refresh_token"]


def test_a_filled_secret_input_replaces_the_secret_encrypted_at_rest(client, world):
    client.force_login(staff("otto", "Operations"))
    xero = world["xero"]

    response = client.post(
        url(XeroConnection, "change", xero.pk), xero_form_data(xero, new_refresh_token="rotated-token-1")
    )

    assert response.status_code == 302
    xero.refresh_from_db()
    assert xero.refresh_token == "rotated-token-1"
    assert xero.client_secret == SECRETS["xero_client_secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_token FROM reconciliation_xeroconnection WHERE id = %s", [xero.pk])
        (stored,) = cursor.fetchone()
    assert stored and "rotated-token-1" not in stored


def test_cached_organisation_settings_are_read_only(client, world):
    client.force_login(User.objects.create_superuser("root", password="x"))
    xero = world["xero"]

    client.post(
        url(XeroConnection, "change", xero.pk),
        xero_form_data(xero, base_currency="USD", period_lock_date="2020-01-01"),
    )

    xero.refresh_from_db()
    assert (xero.base_currency, xero.period_lock_date) == ("GBP", date(2025, 10, 31))


def test_a_new_shop_connection_needs_its_app_secret(client, world):
    client.force_login(staff("otto", "Operations"))
    shop = Shop.objects.create(
        channel="tiktok", code="tt-us", name="Demo US", region="US", currency="USD", clearing_account="1210"
    )
    data = {"shop": shop.pk, "app_key": "k2", "external_shop_id": "", "shop_cipher": ""}
    data |= {f"{f}_{i}": "" for f in ("access_token_expires_at", "refresh_token_expires_at") for i in (0, 1)}

    refused = client.post(url(ShopConnection, "add"), data)
    assert refused.status_code == 200
    assert "new_app_secret" in refused.context["adminform"].form.errors

    saved = client.post(url(ShopConnection, "add"), {**data, "new_app_secret": "new-app-secret-1"})
    assert saved.status_code == 302
    assert ShopConnection.objects.get(shop=shop).app_secret == "new-app-secret-1"


# --- maps ------------------------------------------------------------------------------------------


def test_component_map_form_applies_the_spreadsheet_rules(client, world):
    client.force_login(staff("otto", "Operations"))
    data = {
        "channel": "amazon_vendor",
        "shop": world["shop"].pk,
        "component": "fees.commission",
        "account_code": "6100",
        "tax_type": "",
        "tracking_category": "",
        "tracking_option": "",
        "description": "",
    }

    response = client.post(url(ComponentMapping, "add"), data)

    errors = response.context["adminform"].form.errors
    assert "components are named" in errors["component"][0]
    assert "shop tt-uk is on channel tiktok, not amazon_vendor" in errors["shop"][0]
    assert ComponentMapping.objects.count() == 1


def test_shop_form_upper_cases_currency_and_checks_time_zone(client, world):
    client.force_login(staff("otto", "Operations"))
    shop = world["shop"]
    data = {
        "channel": "tiktok",
        "code": "tt-uk",
        "name": "Demo UK",
        "region": "GB",
        "currency": "gbp",
        "timezone": "Europe/Londres",
        "is_active": "on",
        "xero_connection": "",
        "posting_mode": "statement_journal",
        "line_amount_types": "Inclusive",
        "clearing_account": "1210",
        "bank_account": "",
        "reserve_account": "",
        "contact_name": "",
        "sync_from": "",
        "connection-TOTAL_FORMS": "0",
        "connection-INITIAL_FORMS": "0",
    }

    refused = client.post(url(Shop, "change", shop.pk), data)
    assert "is not an IANA time zone" in refused.context["adminform"].form.errors["timezone"][0]

    saved = client.post(url(Shop, "change", shop.pk), {**data, "timezone": "Europe/London"})
    assert saved.status_code == 302
    shop.refresh_from_db()
    assert (shop.currency, shop.timezone) == ("GBP", "Europe/London")
    assert shop.connection.app_secret == SECRETS["tiktok_app_secret"]  # the inline was not touched


# --- quarantine list ---------------------------------------------------------------------------


def test_quarantine_list_shows_open_items_by_default(client, world):
    client.force_login(staff("audrey", "Auditor"))
    done = QuarantineItem.objects.get()
    QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT,
        shop=world["shop"],
        source_ref="tt-uk statement S2",
        message="fee.x unmapped",
    )
    QuarantineItem.objects.filter(pk=done.pk).update(status=QuarantineItem.Status.DISMISSED)

    default = client.get(url(QuarantineItem, "changelist"))
    everything = client.get(url(QuarantineItem, "changelist") + "?status=all")
    dismissed = client.get(url(QuarantineItem, "changelist") + "?status=dismissed")

    assert [i.source_ref for i in default.context["cl"].result_list] == ["tt-uk statement S2"]
    assert len(everything.context["cl"].result_list) == 2
    assert [i.source_ref for i in dismissed.context["cl"].result_list] == ["tt-uk statement S1"]


def test_quarantine_age_filter(client, world):
    client.force_login(staff("audrey", "Auditor"))
    QuarantineItem.objects.update(created_at=timezone.now() - timedelta(days=2))
    QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT,
        shop=world["shop"],
        source_ref="tt-uk statement S2",
        message="fee.x unmapped",
    )
    changelist = url(QuarantineItem, "changelist")

    older_than_a_day = client.get(changelist + "?older_than=day").context["cl"].result_list
    older_than_a_week = client.get(changelist + "?older_than=week").context["cl"].result_list

    assert [i.source_ref for i in older_than_a_day] == ["tt-uk statement S1"]
    assert list(older_than_a_week) == []


def test_the_connection_form_cannot_make_a_disconnected_connection_active(client, world):
    """Only authorising it again (Connections) brings it back: a form edit of its state is ignored."""
    client.force_login(staff("otto", "Operations"))
    xero = world["xero"]
    XeroConnection.objects.filter(pk=xero.pk).update(
        status=XeroConnection.Status.DISCONNECTED, status_reason="by x"
    )

    page = client.get(url(XeroConnection, "change", xero.pk)).content.decode()
    response = client.post(
        url(XeroConnection, "change", xero.pk), xero_form_data(xero, status="active", status_reason="")
    )

    assert "Connections page" in page and response.status_code == 302
    xero.refresh_from_db()
    assert (xero.status, xero.status_reason) == (XeroConnection.Status.DISCONNECTED, "by x")


def test_the_shop_list_offers_no_bulk_delete_which_protected_postings_would_always_refuse(client):
    """A shop is referenced by statements, payouts and postings (PROTECT): deleting it always fails."""
    client.force_login(staff("otto", "Operations"))
    Shop.objects.create(channel="tiktok", code="s1", name="S1", region="US", currency="USD")

    page = client.get(reverse("admin:reconciliation_shop_changelist"))

    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action left to offer
    assert 'value="delete_selected"' not in page.content.decode()
