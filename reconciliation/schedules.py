"""One django-q2 schedule per active shop, plus the outbox sweep. Kept in step with the Shop rows."""

from django.conf import settings
from django_q.models import Schedule

from reconciliation.models import Shop

SWEEP = "ledgersync: send due postings"
# A queued send goes to a worker at once; this sweep picks up anything due at the latest after it.
SWEEP_MINUTES = 5
DIGEST = "ledgersync: quarantine digest"


def schedules_ensure(*, every_minutes: int = 60) -> int:
    Schedule.objects.update_or_create(
        name=SWEEP,
        defaults={
            "func": "reconciliation.tasks.send_due_postings",
            "schedule_type": Schedule.MINUTES,
            "minutes": SWEEP_MINUTES,
        },
    )
    names = set()
    for shop in Shop.objects.filter(is_active=True):
        name = f"ledgersync: sync {shop.code}"
        names.add(name)
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "reconciliation.tasks.sync_shop",
                "args": repr(shop.pk),
                "schedule_type": Schedule.MINUTES,
                "minutes": every_minutes,
            },
        )
    stale = Schedule.objects.filter(name__startswith="ledgersync: sync ").exclude(name__in=names)
    stale.delete()
    _orders_ensure(every_minutes)
    _digest_ensure()
    return len(names)


def _digest_ensure() -> None:
    """Finance's daily email of new quarantined items, only while QUARANTINE_EMAIL_DIGEST=1 (else
    each new item is emailed at once: services/notifications.py)."""
    if not settings.QUARANTINE_EMAIL_DIGEST:
        Schedule.objects.filter(name=DIGEST).delete()
        return
    Schedule.objects.update_or_create(
        name=DIGEST,
        defaults={"func": "reconciliation.tasks.send_quarantine_email", "schedule_type": Schedule.DAILY},
    )


def _orders_ensure(every_minutes: int) -> None:
    """Orders in (services/orders.py) for TikTok shops that post order invoices; webhooks fill the
    time between runs."""
    names = set()
    shops = Shop.objects.filter(is_active=True, channel="tiktok", posting_mode="order_invoices")
    for shop in shops:
        name = f"ledgersync: orders {shop.code}"
        names.add(name)
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "reconciliation.tasks.pull_orders",
                "args": repr(shop.pk),
                "schedule_type": Schedule.MINUTES,
                "minutes": every_minutes,
            },
        )
    Schedule.objects.filter(name__startswith="ledgersync: orders ").exclude(name__in=names).delete()
