"""Rules a map row obeys whether it comes from a sheet or an admin form: component names,
currencies, time zones, a shop on the row's channel (reconciliation/resources.py re-exports them)."""

from functools import lru_cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from reconciliation.domain import tiktok_normalise
from reconciliation.models import (
    Shop,
)
from reconciliation.models.shops import Channel

# --- rules the admin forms enforce too -----------------------------------------------------------

currency_code = RegexValidator(r"^[A-Z]{3}$", "currency codes are 3 letters (ISO 4217), e.g. GBP")

# DESIGN.md 4.2: `<group>.<leaf>` for the statement groups, or exactly `reserve`.
COMPONENT_GROUPS = ("revenue", "shipping", "fee", "tax", "adjustment")
component_name = RegexValidator(
    rf"^(?:(?:{'|'.join(COMPONENT_GROUPS)})\.[A-Za-z0-9_]+|reserve)$",
    "components are named <group>.<field> with group one of "
    f"{', '.join(COMPONENT_GROUPS)} (e.g. fee.transaction_fee_amount, adjustment.CHARGE_BACK), "
    "or exactly 'reserve'",
)

# The leaves the TikTok normaliser turns into components; a map row for any other leaf never matches.
TIKTOK_LEAVES = {
    "revenue": tiktok_normalise.REVENUE_LEAVES,
    "shipping": tiktok_normalise.SHIPPING_LEAVES,
    "fee": tiktok_normalise.FEE_LEAVES,
    "tax": tiktok_normalise.TAX_LEAVES,
}


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def missing_timezone_message(region: str) -> str:
    return (
        f"region {region!r} has no default time zone for statement dates: set the shop's time zone "
        "(an IANA name such as Europe/Berlin)"
    )


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone (e.g. Europe/London, America/Los_Angeles)")


def validate_currency(value: str) -> None:
    currency_code(value)


def component_warning(channel: str, component: str) -> str | None:
    """Why a well-formed TikTok component name would still never match a statement, if it would not."""
    if channel != Channel.TIKTOK or component == "reserve" or "." not in component:
        return None
    group, leaf = component.split(".", 1)
    if group == "adjustment":
        if leaf != leaf.upper():
            return (
                f"TikTok adjustment types are upper case (adjustment.{leaf.upper()}); this row never matches"
            )
        return None
    if leaf == "unclassified" or leaf in TIKTOK_LEAVES.get(group, ()):
        return None
    return f"{component} is not a field LedgerSync reads from TikTok statements; this row never matches"


def shop_channel_error(channel: str, shop: Shop | None) -> str | None:
    if shop is not None and channel and shop.channel != channel:
        return f"shop {shop.code} is on channel {shop.channel}, not {channel}"
    return None
