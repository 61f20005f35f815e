"""Which calendar date a TikTok time falls on for a shop (docs/ARCHITECTURE.md, "Dates").

TikTok sends instants as unix seconds; its description of statements says "Statements are
generated daily at 00:00 UTC" (finance.json, `create_time`). The date we post is that instant's
calendar date in the shop's time zone: the shop's own `timezone` when set, otherwise the zone of its
marketplace below. A region with no entry and no shop time zone has no date: the shop is held
until operations set one, never silently read in UTC.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# Marketplace -> the zone its Seller Center reports in. GB: Europe/London (UK local time, with BST).
# US: America/Los_Angeles. This is an assumption (Seller Center US shows Pacific Time to the sellers
# we know of; TikTok's API description does not say); set the shop's time zone to override it.
REGION_TIMEZONES = {
    "GB": "Europe/London",
    "UK": "Europe/London",
    "US": "America/Los_Angeles",
}


def shop_timezone(region: str, timezone: str) -> str | None:
    """The IANA zone a shop's dates are read in, or None when neither the shop nor its region says."""
    return timezone or REGION_TIMEZONES.get((region or "").upper())


def local_date(unix_seconds: int, timezone: str) -> date:
    """The calendar date of a unix time in `timezone` (an IANA name)."""
    return datetime.fromtimestamp(int(unix_seconds), tz=UTC).astimezone(ZoneInfo(timezone)).date()
