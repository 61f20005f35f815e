"""django-q2 tasks: thin. Each loads one row by id and calls one service; the services start with a
state guard because django-q2 delivers at least once."""

from django.utils import timezone
from django_q.tasks import async_task

from reconciliation import selectors
from reconciliation.models import Shop, XeroPosting
from reconciliation.services.batch_send import BATCH_KINDS, batch_send, due_batches
from reconciliation.services.notifications import quarantine_email_send
from reconciliation.services.order_notifications import notification_process
from reconciliation.services.orders import orders_pull
from reconciliation.services.payout_gate import receives_release
from reconciliation.services.posting import posting_send, postings_recover_stale
from reconciliation.services.sync import shop_sync


def sync_shop(shop_id: int) -> dict:
    shop = Shop.objects.select_related("connection", "xero_connection").get(pk=shop_id)
    if not shop.is_active:
        return {"skipped": "shop inactive"}
    run = shop_sync(shop=shop)
    queued = enqueue_due_postings()
    return {"run": run.pk, "status": run.status, "counts": run.counts, "queued": queued}


def pull_orders(shop_id: int) -> dict:
    """Orders in (services/orders.py): stores orders, returns and cancellations; plans nothing."""
    shop = Shop.objects.select_related("connection").get(pk=shop_id)
    if not shop.is_active:
        return {"skipped": "shop inactive"}
    return dict(orders_pull(shop=shop))


def process_tiktok_notification(event_id: int) -> str:
    return notification_process(event_id=event_id)


def send_posting(posting_id: int) -> str:
    state = posting_send(posting_id=posting_id).state
    released_send([posting_id])
    return state


def released_send(sent: list[int]) -> int:
    """Documents a send just released (a payment whose invoice posted, an allocation whose credit
    note did) are queued now, in batches, rather than waiting for the next sweep. Returns how many
    postings were queued (0 when nothing was released)."""
    released = XeroPosting.objects.filter(depends_on__in=sent, state=XeroPosting.State.READY, attempts=0)
    return enqueue_due_postings() if released.exists() else 0


def send_batch(connection_id: int, kind: str, posting_ids: list[int]) -> dict:
    """Up to 50 postings of one kind and Xero connection as one request (services/batch_send.py)."""
    members = batch_send(connection_id=connection_id, kind=kind, posting_ids=posting_ids)
    released_send([member.pk for member in members])
    return {"claimed": len(members), "states": [posting.state for posting in members]}


def send_due_postings() -> int:
    """Scheduled sweep: retries whose time has come, outcomes to reconcile, sends a dead worker left."""
    postings_recover_stale()
    receives_release()
    return enqueue_due_postings()


def enqueue_due_postings() -> int:
    due = selectors.postings_due(timezone.now())
    batched = set(XeroPosting.objects.filter(pk__in=due, kind__in=BATCH_KINDS).values_list("pk", flat=True))
    for posting_id in due:
        if posting_id not in batched:
            async_task("reconciliation.tasks.send_posting", posting_id, group="xero-send")
    for kind in BATCH_KINDS:
        for batch in due_batches([pk for pk in due if pk in batched], kind):
            async_task(
                "reconciliation.tasks.send_batch",
                batch.connection_id,
                kind,
                list(batch.posting_ids),
                group="xero-send",
            )
    return len(due)


def send_quarantine_email() -> int:
    """Finance's email of the open items not emailed yet: as items open, or daily
    (QUARANTINE_EMAIL_DIGEST=1, the schedule in schedules.py)."""
    return quarantine_email_send()
