"""What the finance queue shows beside each quarantined item: the money it holds and its age.

Read-only, like selectors.py. The money is the dashboard's ("open exceptions with the money they
hold": the statement's settlement, the payout's amount), else the held document's amount as planned
(api/money.document_amount), so the queue, the dashboard and the emails agree.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from reconciliation.api.money import document_amount
from reconciliation.dashboard import money, plural, source_amounts
from reconciliation.models import QuarantineItem


def item_amounts(items: list[QuarantineItem]) -> dict[int, tuple[Decimal, str]]:
    """item id -> (amount, currency) for the items whose money is known. Two queries for the
    sources, however many items; `items` should have `posting` and `shop` selected."""
    keys = [(i.shop_id, i.reason, i.source_type_id, i.source_id) for i in items]
    by_source = source_amounts(keys)
    found = {}
    for item in items:
        if (item.source_type_id, item.source_id) in by_source:
            found[item.pk] = by_source[(item.source_type_id, item.source_id)]
        elif item.posting is not None:
            amount = document_amount(item.posting)
            if amount is not None:
                currency = item.posting.payload.get("CurrencyCode") or item.shop.currency
                found[item.pk] = (amount, currency)
    return found


def amount_words(amount: tuple[Decimal, str] | None) -> str:
    return "-" if amount is None else money(*amount)


def age_days(item: QuarantineItem, today: date | None = None) -> int:
    today = today or timezone.localdate()
    return (today - timezone.localdate(item.created_at)).days


def age_words(item: QuarantineItem, today: date | None = None) -> str:
    """'today', '1 day', '3 days': how long finance has left it, in whole days."""
    days = age_days(item, today)
    return "today" if days <= 0 else plural(days, "day")


def day_start(days_ago: int) -> datetime:
    """The first instant of the local day `days_ago` days before today: an item opened before it is
    more than `days_ago` days old in age_days' count (0: opened before today)."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time.min))
