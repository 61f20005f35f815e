"""One django-q2 schedule per active shop, plus the outbox sweep. Kept in step with the Shop rows."""

from django_q.models import Schedule

from reconciliation.models import Shop

SWEEP = "ledgersync: send due postings"


def schedules_ensure(*, every_minutes: int = 60) -> int:
    Schedule.objects.update_or_create(
        name=SWEEP,
        defaults={
            "func": "reconciliation.tasks.send_due_postings",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
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
    return len(names)
