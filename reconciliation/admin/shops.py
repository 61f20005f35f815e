"""Shops, their channel credentials and the Xero organisations they post to.

Credentials are encrypted at rest and never shown: forms offer a write-only input, lists and
read-only pages say only whether a value is set.
"""

from django import forms
from django.contrib import admin, messages

from connectors.errors import ConnectorError
from reconciliation.admin.base import (
    SecretsAdminMixin,
    SpreadsheetAdmin,
    pretty,
    secret_state,
    secrets_form,
)
from reconciliation.admin.choices import organisation_widgets
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import Shop, ShopConnection, XeroConnection
from reconciliation.resources import (
    POSTING_SETTINGS_PERMISSION,
    ShopResource,
    missing_timezone_message,
    validate_currency,
    validate_timezone,
)
from reconciliation.services.organisation import organisation_refresh

ShopConnectionForm = secrets_form(ShopConnection, ("app_secret", "access_token", "refresh_token"))


SHOP_CONNECTION_FIELDSETS = [
    (None, {"fields": ["app_key", "external_shop_id", "shop_cipher", "last_synced_at"]}),
    (
        "Credentials",
        {
            "fields": [
                "app_secret_state",
                "new_app_secret",
                "access_token_state",
                "new_access_token",
                "access_token_expires_at",
                "refresh_token_state",
                "new_refresh_token",
                "refresh_token_expires_at",
            ]
        },
    ),
]


class ShopConnectionSecrets(SecretsAdminMixin):
    form = ShopConnectionForm
    fieldsets = SHOP_CONNECTION_FIELDSETS
    readonly_fields = ("app_secret_state", "access_token_state", "refresh_token_state", "last_synced_at")

    app_secret_state = secret_state("app_secret")

    access_token_state = secret_state("access_token")

    refresh_token_state = secret_state("refresh_token")


class ShopConnectionInline(ShopConnectionSecrets, admin.StackedInline):
    model = ShopConnection
    extra = 0
    max_num = 1


@admin.register(ShopConnection)
class ShopConnectionAdmin(ShopConnectionSecrets, admin.ModelAdmin):
    fieldsets = [(None, {"fields": ["shop"]}), *SHOP_CONNECTION_FIELDSETS]
    list_display = (
        "shop",
        "app_key",
        "external_shop_id",
        "has_refresh_token",
        "access_token_expires_at",
        "last_synced_at",
    )
    list_filter = ("shop__channel",)
    search_fields = ("shop__code", "shop__name", "app_key", "external_shop_id")
    list_select_related = ("shop",)

    @admin.display(description="refresh token", boolean=True)
    def has_refresh_token(self, obj):
        return bool(obj.refresh_token)


class ShopForm(forms.ModelForm):
    class Meta:
        model = Shop
        fields = [
            "channel",
            "code",
            "name",
            "region",
            "currency",
            "timezone",
            "is_active",
            "xero_connection",
            "posting_mode",
            "line_amount_types",
            "clearing_account",
            "bank_account",
            "reserve_account",
            "contact_name",
            "sync_from",
        ]
        # The organisations' own account codes, suggested as the operator types (admin/choices.py).
        widgets = organisation_widgets(
            **{name: "accounts" for name in Shop.POSTING_SETTINGS if name.endswith("_account")}
        )

    def clean_currency(self):
        value = self.cleaned_data["currency"].strip().upper()
        validate_currency(value)
        return value

    def clean_timezone(self):
        value = self.cleaned_data["timezone"].strip()
        if value:
            validate_timezone(value)
        return value

    def clean(self):
        cleaned = super().clean()
        region = cleaned.get("region") or ""
        if "timezone" in cleaned and shop_timezone(region, cleaned["timezone"]) is None:
            self.add_error("timezone", missing_timezone_message(region))
        return cleaned


@admin.register(Shop)
class ShopAdmin(SpreadsheetAdmin):
    form = ShopForm
    resource_classes = [ShopResource]
    inlines = [ShopConnectionInline]
    list_display = (
        "code",
        "name",
        "channel",
        "region",
        "currency",
        "posting_mode",
        "line_amount_types",
        "clearing_account",
        "xero_connection",
        "is_active",
        "connected",
    )
    list_filter = ("channel", "posting_mode", "line_amount_types", "is_active", "region", "xero_connection")
    search_fields = ("code", "name", "contact_name")
    list_select_related = ("xero_connection", "connection")
    fieldsets = [
        (None, {"fields": ["channel", "code", "name", "region", "currency", "timezone", "is_active"]}),
        (
            "Posting",
            {
                "fields": [
                    "xero_connection",
                    "posting_mode",
                    "line_amount_types",
                    "clearing_account",
                    "bank_account",
                    "reserve_account",
                    "contact_name",
                    "sync_from",
                ]
            },
        ),
        (
            "Order invoices (used when the posting mode is order invoices)",
            {"fields": list(Shop.ORDER_INVOICE_SETTINGS)},
        ),
    ]

    def get_actions(self, request):
        # A shop's statements, payouts and postings PROTECT it: "Delete selected shops" always fails.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="API connection", boolean=True)
    def connected(self, obj):
        return hasattr(obj, "connection")

    def get_readonly_fields(self, request, obj=None):
        # Operations set a new shop up; once it exists, its posting mode and accounts are Finance's.
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and not request.user.has_perm(POSTING_SETTINGS_PERMISSION):
            return (*fields, *Shop.POSTING_SETTINGS)
        return fields


XeroConnectionForm = secrets_form(XeroConnection, ("client_secret", "refresh_token", "access_token"))


@admin.register(XeroConnection)
class XeroConnectionAdmin(SecretsAdminMixin, admin.ModelAdmin):
    form = XeroConnectionForm
    list_display = (
        "name",
        "tenant_id",
        "organisation_name",
        "base_currency",
        "status",
        "period_lock_date",
        "end_of_year_lock_date",
        "has_refresh_token",
        "settings_refreshed_at",
    )
    list_filter = ("status", "base_currency")
    search_fields = ("name", "tenant_id", "organisation_name")
    actions = ["refresh_from_xero"]
    readonly_fields = (
        "client_secret_state",
        "refresh_token_state",
        "access_token_state",
        "organisation_name",
        "base_currency",
        "period_lock_date",
        "end_of_year_lock_date",
        "accounts_pretty",
        "tax_rates_pretty",
        "items_pretty",
        "settings_refreshed_at",
        "created_at",
    )
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "tenant_id", "status", "status_reason"],
                "description": "Connect, reconnect or disconnect an organisation on the Connections page "
                "(link at the top of the page); this page keeps its name and shows what Xero last said.",
            },
        ),
        (
            "Credentials",
            {
                "fields": [
                    "client_id",
                    "client_secret_state",
                    "new_client_secret",
                    "refresh_token_state",
                    "new_refresh_token",
                    "access_token_state",
                    "new_access_token",
                    "access_token_expires_at",
                ]
            },
        ),
        (
            "Organisation settings (read from Xero at the start of each run)",
            {
                "fields": [
                    "organisation_name",
                    "base_currency",
                    "period_lock_date",
                    "end_of_year_lock_date",
                    "settings_refreshed_at",
                    "created_at",
                ]
            },
        ),
        (
            "Chart of accounts and tax rates",
            {"classes": ["collapse"], "fields": ["accounts_pretty", "tax_rates_pretty", "items_pretty"]},
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The state is the Connections page's (admin/connections.py): a paused or disconnected
        # connection becomes active only by authorising it again there, never by a form edit.
        fields = (*super().get_readonly_fields(request, obj), "status", "status_reason")
        # Postings and their audit trail belong to this tenant: it cannot be swapped under them.
        if obj is not None and obj.xeroposting_set.exists():
            return (*fields, "tenant_id")
        return fields

    @admin.display(description="refresh token", boolean=True)
    def has_refresh_token(self, obj):
        return bool(obj.refresh_token)

    client_secret_state = secret_state("client_secret")

    refresh_token_state = secret_state("refresh_token")

    access_token_state = secret_state("access_token")

    accounts_pretty = pretty("accounts", "accounts")

    tax_rates_pretty = pretty("tax_rates", "tax rates")

    items_pretty = pretty("items", "items")

    @admin.action(description="Refresh accounts, tax rates and items from Xero", permissions=["change"])
    def refresh_from_xero(self, request, queryset):
        """What the maps' sheets and forms check codes against (resources.py, admin/choices.py);
        each sync refreshes it too (services/sync.py)."""
        for connection in queryset:
            try:
                organisation_refresh(connection=connection)
            except ConnectorError as exc:
                self.message_user(
                    request, f"{connection}: not refreshed, Xero answered: {exc}", messages.ERROR
                )
                continue
            self.message_user(
                request,
                f"{connection.organisation_name or connection}: read {len(connection.accounts)} accounts, "
                f"{len(connection.tax_rates)} tax rates and {len(connection.items or [])} items from Xero",
                messages.SUCCESS,
            )
