"""Email to the people who have to act (issue 7, item 5): the Finance group on new quarantined
items, at once or in one daily digest (QUARANTINE_EMAIL_DIGEST=1, a django-q2 schedule), and the
administrators (superusers) when a Xero connection's authorisation fails and it is paused, or a
shop's sync first fails because its channel refused the shop's authorisation.

Django's email framework (EMAIL_BACKEND); members without an email address are skipped. Mail goes
out once the row that caused it is committed, and a failing mail server is logged, never raised:
a posting or a sync does not fail because a message could not be sent.

An item is emailed once: `details["emailed_at"]` marks it (kept when the item is found again,
outbox.quarantine_open). New items go out through a task that takes every item not yet emailed, so
a sync that holds thirty statements sends one email, not thirty; the digest takes the same set.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.finance_queue import amount_words, item_amounts
from reconciliation.models import QuarantineItem

log = logging.getLogger(__name__)
FINANCE = "Finance"


def finance_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, groups__name=FINANCE).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def admin_addresses() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def quarantine_opened(*, item_ids: list[int]) -> None:
    """New items were opened: Finance hears at once (a task, once committed), unless they read the
    daily digest (QUARANTINE_EMAIL_DIGEST=1: the schedule in schedules.py sends the same email)."""
    if item_ids and not settings.QUARANTINE_EMAIL_DIGEST:
        transaction.on_commit(lambda: async_task("reconciliation.tasks.send_quarantine_email", group="email"))


def quarantine_email_send() -> int:
    """One email to Finance about every open item not emailed yet, then marked; how many messages
    were sent (0 when nothing is new, nobody has an address, or the mail server failed: then the
    items stay unmarked and go with the next email)."""
    items = list(
        QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN)
        .exclude(details__has_key="emailed_at")
        .select_related("shop", "posting")
        .order_by("created_at", "pk")
    )
    if not items:
        return 0
    subject = f"LedgerSync: {_count(len(items))} held for finance"
    sent = _send(subject, _items_text(items), finance_addresses())
    if sent:
        now = timezone.now().isoformat()
        for item in items:  # one row at a time: details is JSON, updated as a whole
            item.details = {**item.details, "emailed_at": now}
            item.save(update_fields=["details"])
    return sent


def connection_paused(*, name: str, reason: str) -> None:
    """A Xero connection's authorisation failed and it was paused: the administrators reconnect it."""
    text = (
        f"LedgerSync paused the Xero connection {name}: Xero refused its authorisation.\n\n"
        f"{reason}\n\n"
        "Nothing is sent to Xero for it until it is reconnected (admin: Connections, "
        f"{_url(reverse('admin:connections'))}, Reconnect); its 'Xero connection needs attention' "
        "items are then resolved and what waited sends."
    )
    subject = f"LedgerSync: Xero connection {name} needs to be reconnected"
    transaction.on_commit(lambda: _send(subject, text, admin_addresses()))


def shop_authorisation_failed(*, shop: str, channel: str, reason: str) -> None:
    """A shop's sync failed because its channel refused the shop's authorisation (services/sync.py)."""
    text = (
        f"LedgerSync could not sync the shop {shop}: {channel} refused its authorisation.\n\n"
        f"{reason}\n\n"
        "Nothing is read from the shop until it is authorised again (admin: Connections, "
        f"{_url(reverse('admin:connections'))}, Authorise); the next sync then "
        "catches up from where the last one stopped."
    )
    subject = f"LedgerSync: shop {shop} needs to be authorised again"
    transaction.on_commit(lambda: _send(subject, text, admin_addresses()))


def _items_text(items: list[QuarantineItem]) -> str:
    amounts = item_amounts(items)
    lines = []
    for item in items:
        amount = amount_words(amounts.get(item.pk))
        lines.append(
            f"#{item.pk} {item.get_reason_display()}\n"
            f"  {item.source_ref} ({item.shop.code}), {amount}\n"
            f"  {_first(item.message)}\n"
            f"  {_url(reverse('admin:reconciliation_quarantineitem_change', args=[item.pk]))}"
        )
    queue = _url(reverse("admin:reconciliation_quarantineitem_changelist"))
    return f"{_count(len(items))} wait for a decision in the finance queue: {queue}\n\n" + "\n\n".join(lines)


def _send(subject: str, text: str, to: list[str]) -> int:
    if not to:
        log.info("no address to send %r to", subject)
        return 0
    try:
        return send_mail(subject, text, None, to)
    except OSError:  # SMTP refused or unreachable: logged, the work that caused it stands
        log.exception("could not send %r", subject)
        return 0


def _url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _count(n: int) -> str:
    return "1 item" if n == 1 else f"{n} items"


def _first(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= 200 else first[:199] + "…"
