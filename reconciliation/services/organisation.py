"""Xero is the source of truth for lock dates, accounts, tax rates and items: re-read them on every run."""

from datetime import UTC, date, datetime

from django.utils import timezone

from reconciliation.models import XeroConnection
from reconciliation.services import xero_access


def organisation_refresh(*, connection: XeroConnection) -> XeroConnection:
    with xero_access.xero_client(connection) as client:
        org = client.get_organisation()
        accounts = client.get_accounts()
        tax_rates = client.get_tax_rates()
        # One request: GET /Items has no paging in Xero's OpenAPI file (where, order, unitdp only).
        items = client.get_items()
    connection.organisation_name = org.get("Name", "")
    connection.base_currency = org.get("BaseCurrency", "")
    connection.period_lock_date = xero_date(org.get("PeriodLockDate"))
    connection.end_of_year_lock_date = xero_date(org.get("EndOfYearLockDate"))
    connection.accounts = [_account_fields(a) for a in accounts]
    connection.tax_rates = [_tax_rate_fields(t) for t in tax_rates]
    connection.items = [_item_fields(i) for i in items]
    connection.settings_refreshed_at = timezone.now()
    # Only the settings: the client may have rotated the tokens meanwhile (another row instance),
    # and a full save would write the old, now dead, refresh token back.
    connection.save(update_fields=SETTINGS_FIELDS)
    return connection


SETTINGS_FIELDS = [
    "organisation_name",
    "base_currency",
    "period_lock_date",
    "end_of_year_lock_date",
    "accounts",
    "tax_rates",
    "items",
    "settings_refreshed_at",
]


def xero_date(value) -> date | None:
    """Xero sends dates as ISO text or as /Date(1543536000000+0000)/ (milliseconds since 1970)."""
    if not value:
        return None
    text = str(value)
    if text.startswith("/Date("):
        millis = int(text[6:].split(")")[0].split("+")[0].split("-")[0])
        return datetime.fromtimestamp(millis // 1000, tz=UTC).date()
    return date.fromisoformat(text[:10])


def _account_fields(raw: dict) -> dict:
    keep = (
        "AccountID",
        "Code",
        "Name",
        "Type",
        "Class",
        "Status",
        "TaxType",
        "SystemAccount",
        "EnablePaymentsToAccount",
        "CurrencyCode",
    )
    return {k: raw[k] for k in keep if k in raw}


def _tax_rate_fields(raw: dict) -> dict:
    keep = ("Name", "TaxType", "Status", "EffectiveRate", "DisplayTaxRate")
    return {k: str(raw[k]) if k.endswith("Rate") else raw[k] for k in keep if k in raw} | {
        k: raw[k] for k in raw if k.startswith("CanApplyTo")
    }


def _item_fields(raw: dict) -> dict:
    """What the SKU map is checked against (planning/order_maps.py): the code, and the name and
    flags finance reads beside it."""
    keep = ("ItemID", "Code", "Name", "IsSold", "IsTrackedAsInventory")
    return {k: raw[k] for k in keep if k in raw}
