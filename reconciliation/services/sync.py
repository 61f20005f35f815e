"""One sync run of one shop: pull, keep, plan, and queue what is ready to send."""

import logging
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from reconciliation.models import Shop, SyncRun
from reconciliation.services.organisation import organisation_refresh
from reconciliation.services.statements import payout_ingest, payout_plan, statement_ingest, statement_plan
from reconciliation.services.tiktok_access import tiktok_client

log = logging.getLogger(__name__)

# Re-read a few days before the last run: TikTok can still amend recent statements.
OVERLAP = timedelta(days=3)
FIRST_RUN_WINDOW = timedelta(days=14)


def shop_sync(
    *, shop: Shop, until: datetime | None = None, progress: Callable[[str], None] | None = None
) -> SyncRun:
    run = SyncRun.objects.create(shop=shop)
    report = _reporter(run, progress)
    counts: Counter = Counter()
    until = until or timezone.now()
    try:
        if shop.xero_connection is not None:
            report("reading Xero organisation settings")
            organisation_refresh(connection=shop.xero_connection)
        since = _window_start(shop, until)
        with tiktok_client(shop) as client:
            _statements(shop, client, since, until, counts, report)
            _payouts(shop, client, since, until, counts, report)
        shop.connection.last_synced_at = until
        shop.connection.save(update_fields=["last_synced_at"])
    except Exception as exc:
        run.status, run.error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        log.exception("sync of %s failed", shop.code)
    else:
        run.status = SyncRun.Status.DONE
    run.finished_at, run.counts = timezone.now(), dict(counts)
    run.save(update_fields=["status", "error", "finished_at", "counts"])
    return run


def _window_start(shop: Shop, until: datetime) -> datetime:
    last = shop.connection.last_synced_at
    if last:
        return last - OVERLAP
    if shop.sync_from:
        return datetime.combine(shop.sync_from, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    return until - FIRST_RUN_WINDOW


def _statements(shop, client, since, until, counts, report) -> None:
    found = list(
        client.statements(statement_time_ge=int(since.timestamp()), statement_time_lt=int(until.timestamp()))
    )
    for number, raw in enumerate(found, start=1):
        report(f"statement {number}/{len(found)}: {raw['id']}")
        pages = list(client.statement_transaction_pages(str(raw["id"])))
        statement = statement_ingest(shop=shop, statement=raw, pages=pages)
        plan = statement_plan(statement=statement)
        counts["statements"] += 1
        counts["statements_held" if plan.held else "statements_planned"] += 1


def _payouts(shop, client, since, until, counts, report) -> None:
    found = list(
        client.payments(create_time_ge=int(since.timestamp()), create_time_lt=int(until.timestamp()))
    )
    for number, raw in enumerate(found, start=1):
        report(f"payout {number}/{len(found)}: {raw['id']}")
        plan = payout_plan(payout=payout_ingest(shop=shop, payment=raw))
        counts["payouts"] += 1
        if plan.held:
            counts["payouts_held"] += 1


def _reporter(run: SyncRun, progress):
    def report(message: str) -> None:
        SyncRun.objects.filter(pk=run.pk).update(progress=message[:200])
        if progress:
            progress(message)

    return report
