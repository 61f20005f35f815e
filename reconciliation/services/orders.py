"""Orders in (DESIGN.md 4.1, 4.4): pull TikTok orders, returns and cancellations and keep them.

Nothing here plans or posts: the order planners read what is stored (TikTokOrder.source.payload).
Every raw record becomes an immutable SourceRecord first; the index row follows it unless the row
already holds a newer `update_time` (a webhook task and a pull can race; the newer state wins).
Network calls never run inside a transaction: each record is stored in its own small one.
"""

import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from reconciliation.models import OrderSync, Shop, SourceRecord, TikTokCancellation, TikTokOrder, TikTokReturn
from reconciliation.models.orders import OrderStatus
from reconciliation.models.sources import SourceKind, content_hash
from reconciliation.services.tiktok_access import tiktok_client

log = logging.getLogger(__name__)

# TikTok warns that "update times may exceed the selected search range due to ongoing data
# refreshes" (order.json, update_time_lt), so each pull re-reads a little before the cursor.
# Two hours is our choice, not TikTok's; re-reading is free because stores are idempotent.
OVERLAP = timedelta(hours=2)
FIRST_RUN_WINDOW = timedelta(days=14)
DETAIL_BATCH = 50  # GET /order/202309/orders takes at most 50 ids (order.json)
TIKTOK_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


class UnreadableRecord(ValueError):
    """A record TikTok sent without what we index it by (an id, an update_time)."""


def order_sync_for(shop: Shop) -> OrderSync:
    sync, _ = OrderSync.objects.get_or_create(shop=shop)
    return sync


def orders_pull(*, shop: Shop, until: datetime | None = None) -> Counter:
    """Pull what changed since the shop's cursor (minus OVERLAP) up to `until`, store it, move the
    cursor. The cursor only moves when everything was fetched; a failure leaves it for the next run."""
    until = until or timezone.now()
    sync = order_sync_for(shop)
    since = _window_start(shop, sync, until)
    window = {"update_time_ge": int(since.timestamp()), "update_time_lt": int(until.timestamp())}
    counts: Counter = Counter()
    with tiktok_client(shop) as client:
        ids = list(dict.fromkeys(str(o.get("id")) for o in client.order_search(**window)))
        counts["orders_found"] = len(ids)
        for start in range(0, len(ids), DETAIL_BATCH):
            for raw in client.order_details(ids[start : start + DETAIL_BATCH]):
                _count(counts, "orders", lambda raw=raw: order_store(shop=shop, raw=raw))
        for raw in client.returns_search(**window):
            _count(counts, "returns", lambda raw=raw: return_store(shop=shop, raw=raw))
        for raw in client.cancellations_search(**window):
            _count(counts, "cancellations", lambda raw=raw: cancellation_store(shop=shop, raw=raw))
    OrderSync.objects.filter(pk=sync.pk).update(orders_synced_until=until)
    return counts


def _window_start(shop: Shop, sync: OrderSync, until: datetime) -> datetime:
    if sync.orders_synced_until:
        return sync.orders_synced_until - OVERLAP
    if shop.sync_from:
        return datetime.combine(shop.sync_from, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    return until - FIRST_RUN_WINDOW


def _count(counts: Counter, kind: str, store) -> None:
    """Store one record; an unreadable one is logged and counted, and the pull goes on."""
    try:
        changed = store()
    except UnreadableRecord as exc:
        log.warning("unreadable TikTok record: %s", exc)
        counts[f"{kind}_unreadable"] += 1
        return
    counts[f"{kind}_changed" if changed else f"{kind}_unchanged"] += 1


def order_store(*, shop: Shop, raw: dict) -> bool:
    """Keep one order detail; True when the order's row changed."""
    payment = raw.get("payment") if isinstance(raw.get("payment"), dict) else {}
    fields = {
        "status": _status(raw),
        "create_time": _time(raw, "create_time", required=False),
        "currency": str(payment.get("currency") or "")[:3],
        "is_sample": raw.get("is_sample_order") is True,
        "is_replacement": raw.get("is_replacement_order") is True,
        "is_exchange": raw.get("is_exchange_order") is True,
    }
    return _store(TikTokOrder, SourceKind.ORDER, shop, raw, "order_id", _id(raw, "id"), fields)


def return_store(*, shop: Shop, raw: dict) -> bool:
    fields = {
        "order_id": _id(raw, "order_id"),
        "status": str(raw.get("return_status") or "")[:48],
        "return_type": str(raw.get("return_type") or "")[:32],
    }
    return _store(TikTokReturn, SourceKind.RETURN, shop, raw, "return_id", _id(raw, "return_id"), fields)


def cancellation_store(*, shop: Shop, raw: dict) -> bool:
    fields = {
        "order_id": _id(raw, "order_id"),
        "status": str(raw.get("cancel_status") or "")[:48],
        "cancel_type": str(raw.get("cancel_type") or "")[:32],
    }
    kind = SourceKind.CANCELLATION
    return _store(TikTokCancellation, kind, shop, raw, "cancel_id", _id(raw, "cancel_id"), fields)


def _store(model, kind: str, shop: Shop, raw: dict, id_field: str, external_id: str, fields: dict) -> bool:
    try:
        return _store_once(model, kind, shop, raw, id_field, external_id, fields)
    except IntegrityError:
        # Another worker (a webhook task, a pull) created the row between our read and our write;
        # the row exists now, so the second try locks it and compares update times.
        return _store_once(model, kind, shop, raw, id_field, external_id, fields)


def _store_once(
    model, kind: str, shop: Shop, raw: dict, id_field: str, external_id: str, fields: dict
) -> bool:
    update_time = _time(raw, "update_time")
    digest = content_hash(raw)
    with transaction.atomic():
        source, _ = SourceRecord.objects.get_or_create(
            shop=shop,
            kind=kind,
            external_id=external_id,
            sequence=0,
            content_hash=digest,
            defaults={"payload": raw},
        )
        row = model.objects.select_for_update().filter(shop=shop, **{id_field: external_id}).first()
        if row is not None and (row.content_hash == digest or row.update_time > update_time):
            return False  # the same, or older than what we hold (the raw record is kept all the same)
        values = {**fields, "update_time": update_time, "content_hash": digest, "source": source}
        model.objects.update_or_create(shop=shop, **{id_field: external_id}, defaults=values)
    return True


def _id(raw: dict, key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not TIKTOK_ID.match(value):
        raise UnreadableRecord(f"{key} is {value!r}, not a TikTok id")
    return value


def _status(raw: dict) -> str:
    status = raw.get("status")
    if status not in OrderStatus.values:
        raise UnreadableRecord(f"order {raw.get('id')!r} has status {status!r}, not one order.json lists")
    return status


def _time(raw: dict, key: str, *, required: bool = True) -> datetime | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnreadableRecord(f"{key} is {value!r}, not a unix time in seconds")
    return datetime.fromtimestamp(value, tz=UTC)
