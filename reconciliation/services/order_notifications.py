"""TikTok notifications (DESIGN.md 4.1): 1 order status change, 11 cancellation, 12 return.

A notification is a hint, not a fact: it is kept once per `tts_notification_id`, and a task then
confirms it by fetching the order (and, for 11 and 12, that order's cancellations or returns) and
storing what TikTok returns, exactly as the pull does. A notification that fails to process is
marked FAILED and left: its order changed, so the next orders_pull (by update_time) reads it anyway.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import Shop, WebhookEvent
from reconciliation.services.orders import (
    TIKTOK_ID,
    cancellation_store,
    order_store,
    return_store,
)
from reconciliation.services.tiktok_access import tiktok_client

log = logging.getLogger(__name__)

ORDER_STATUS, CANCELLATION, RETURN = 1, 11, 12
HANDLED = (ORDER_STATUS, CANCELLATION, RETURN)


class Unreadable(ValueError):
    """A signed notification without the fields every TikTok notification has."""


def notification_receive(*, shop: Shop, notification: dict) -> WebhookEvent | None:
    """Keep a (signature-checked) notification and queue its processing; None if already kept."""
    notification_id, kind = notification.get("tts_notification_id"), notification.get("type")
    if not isinstance(notification_id, str) or not notification_id or isinstance(kind, bool):
        raise Unreadable("tts_notification_id must be a non-empty string")
    if not isinstance(kind, int) or kind < 0:
        raise Unreadable("type must be a non-negative integer")
    timestamp = notification.get("timestamp")
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                notification_id=notification_id[:100],
                type=kind,
                external_shop_id=str(notification.get("shop_id"))[:64],
                shop=shop,
                timestamp=timestamp
                if isinstance(timestamp, int) and not isinstance(timestamp, bool)
                else None,
                payload=notification,
                state=WebhookEvent.State.RECEIVED if kind in HANDLED else WebhookEvent.State.IGNORED,
            )
    except IntegrityError:
        return None  # TikTok delivered it again: the first delivery is (being) processed
    if event.state == WebhookEvent.State.RECEIVED:
        transaction.on_commit(
            lambda: async_task(
                "reconciliation.tasks.process_tiktok_notification", event.pk, group="tiktok-webhooks"
            )
        )
    return event


def notification_process(*, event_id: int) -> str:
    """Confirm a notification by fetching its order from TikTok; runs once per notification."""
    claimed = WebhookEvent.objects.filter(pk=event_id, state=WebhookEvent.State.RECEIVED).update(
        state=WebhookEvent.State.PROCESSING
    )
    event = WebhookEvent.objects.select_related("shop").get(pk=event_id)
    if not claimed:
        return event.state  # processed, or being processed, by an earlier delivery of the task
    data = event.payload.get("data") if isinstance(event.payload.get("data"), dict) else {}
    order_id = data.get("order_id")
    if not isinstance(order_id, str) or not TIKTOK_ID.match(order_id):
        return _finish(event, WebhookEvent.State.IGNORED, f"data.order_id is {order_id!r}")
    try:
        _confirm(event, order_id)
    except Exception as exc:  # any failure is recorded; the next pull catches up
        log.warning("TikTok notification %s: %s", event.notification_id, exc)
        return _finish(event, WebhookEvent.State.FAILED, f"{type(exc).__name__}: {exc}")
    return _finish(event, WebhookEvent.State.PROCESSED, "")


def _confirm(event: WebhookEvent, order_id: str) -> None:
    shop = event.shop
    with tiktok_client(shop) as client:
        orders = client.order_details([order_id])
        cancellations = (
            list(client.cancellations_search(order_ids=[order_id])) if event.type == CANCELLATION else []
        )
        returns = list(client.returns_search(order_ids=[order_id])) if event.type == RETURN else []
    if not orders:
        raise LookupError(f"TikTok returned no order {order_id}")
    for raw in orders:
        order_store(shop=shop, raw=raw)
    for raw in cancellations:
        cancellation_store(shop=shop, raw=raw)
    for raw in returns:
        return_store(shop=shop, raw=raw)


def _finish(event: WebhookEvent, state: str, error: str) -> str:
    WebhookEvent.objects.filter(pk=event.pk).update(state=state, error=error, processed_at=timezone.now())
    return state
