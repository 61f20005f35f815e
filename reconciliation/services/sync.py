"""One sync run of one shop: pull, keep, plan, and queue what is ready to send."""

import logging
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from connectors.errors import ConnectorError, ErrorKind
from connectors.xero.errors import XeroError
from reconciliation.domain.money import AmountError
from reconciliation.domain.tiktok_normalise import Unreadable
from reconciliation.domain.tiktok_time import local_date, shop_timezone
from reconciliation.models import Payout, Shop, Statement, SyncRun, XeroConnection
from reconciliation.models.quarantine import Reason
from reconciliation.planning.statement_journal import statement_ref
from reconciliation.planning.types import Problem
from reconciliation.services import notifications
from reconciliation.services.drafts import drafts_check
from reconciliation.services.order_plan import credit_notes_plan, orders_plan, statements_index
from reconciliation.services.orders import orders_pull
from reconciliation.services.organisation import organisation_refresh
from reconciliation.services.outbox import quarantine_open
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
        _organisation(shop, counts, report)
        since = _window_start(shop, until)
        before = BEFORE_STATEMENTS.get((shop.channel, shop.posting_mode))
        if before is not None:
            before(shop, until, counts, report)
        with tiktok_client(shop) as client:
            _statements(shop, client, since, until, counts, report)
            _payouts(shop, client, since, until, counts, report)
        shop.connection.last_synced_at = until
        shop.connection.save(update_fields=["last_synced_at"])
    except Exception as exc:
        run.status, run.error = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        log.exception("sync of %s failed", shop.code)
        if isinstance(exc, ConnectorError) and exc.kind == ErrorKind.AUTH:
            _authorisation_failed(shop, run, exc)
    else:
        run.status = SyncRun.Status.DONE
    run.finished_at, run.counts = timezone.now(), dict(counts)
    run.save(update_fields=["status", "error", "finished_at", "counts"])
    return run


def _authorisation_failed(shop: Shop, run: SyncRun, exc: ConnectorError) -> None:
    """The administrators hear when a shop's sync first fails for authorisation (TikTok refused its
    token and could not refresh it; Xero's refusals pause the connection: xero_access), not again on
    every hourly run until a sync succeeds."""
    if (
        isinstance(exc, XeroError)
        and XeroConnection.objects.filter(
            pk=shop.xero_connection_id, status=XeroConnection.Status.DISCONNECTED
        ).exists()
    ):
        return  # someone disconnected it on the Connections page: a choice, not an alert
    previous = SyncRun.objects.filter(shop=shop).exclude(pk=run.pk).order_by("-started_at", "-id").first()
    if previous is not None and previous.status == SyncRun.Status.FAILED and previous.error == run.error:
        return
    notifications.shop_authorisation_failed(
        shop=shop.code, channel=shop.get_channel_display(), reason=str(exc)
    )


def _organisation(shop: Shop, counts: Counter, report) -> None:
    """Re-read lock dates, accounts and tax rates. If Xero cannot answer now, plan with the last
    copy (Xero enforces its rules anyway); with no copy at all, stop: the currency and lock-date
    checks would be skipped, and a journal in the wrong currency would be accepted by Xero."""
    connection = shop.xero_connection
    if connection is None:
        raise ValueError(f"shop {shop.code} has no Xero connection")
    report("reading Xero organisation settings")
    try:
        organisation_refresh(connection=connection)
    except ConnectorError as exc:
        if connection.settings_refreshed_at is None:
            raise
        counts["xero_settings_from_cache"] += 1
        report(
            f"Xero organisation settings not refreshed ({exc}); using those of {connection.settings_refreshed_at:%Y-%m-%d %H:%M}"
        )
        return
    _drafts(connection, counts, report)


def _drafts(connection, counts: Counter, report) -> None:
    """Drafts finance sent for review: approved in Xero yet? (services/drafts.py). Not being able
    to tell now only delays the answer to the next sync."""
    try:
        waiting, changed = drafts_check(connection=connection)
    except ConnectorError as exc:
        report(f"drafts in Xero not re-read ({exc}); read again next sync")
        return
    if waiting or changed:
        counts["xero_drafts_waiting"] += waiting
        counts["xero_drafts_approved"] += changed
        report(f"drafts in Xero: {waiting} still draft, {changed} approved or changed since the last sync")


def _orders(shop: Shop, until: datetime, counts: Counter, report) -> None:
    """Order invoices: pull the orders (services/orders.py) and plan every ready order's invoice,
    so the statements that settle them find their invoices in the outbox."""
    report("pulling orders")
    counts.update(orders_pull(shop=shop, until=until))
    report("planning order invoices")
    counts.update(orders_plan(shop=shop))


def _credits(shop: Shop, statements: list[Statement], counts: Counter, report) -> None:
    """Order invoices, once the window's statements are read: record what each settles of each
    order, then plan the credit notes of granted returns and cancellations, which go to the invoice
    or out of clearing by what those statements show (services/order_credits.py)."""
    report("planning credit notes")
    statements_index(statements)
    counts.update(credit_notes_plan(shop=shop))


# What a posting mode needs done before its statements are planned, by (channel, posting mode).
BEFORE_STATEMENTS: dict[tuple[str, str], Callable[[Shop, datetime, Counter, Callable[[str], None]], None]] = {
    ("tiktok", "order_invoices"): _orders,
}
# ... and once the window's statements are read, before any is planned.
AFTER_STATEMENTS_READ: dict[
    tuple[str, str], Callable[[Shop, list[Statement], Counter, Callable[[str], None]], None]
] = {
    ("tiktok", "order_invoices"): _credits,
}


def _window_start(shop: Shop, until: datetime) -> datetime:
    last = shop.connection.last_synced_at
    if last:
        return last - OVERLAP
    if shop.sync_from:
        return datetime.combine(shop.sync_from, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)
    return until - FIRST_RUN_WINDOW


def _statements(shop, client, since, until, counts, report) -> None:
    # A held statement is read again on every sync until it posts (TikTok may correct it), however
    # long ago it was generated; Retry then has fresh data to plan.
    held = shop.statements.filter(state=Statement.State.HELD).exclude(statement_date=None)
    oldest = held.order_by("statement_date").values_list("statement_date", flat=True).first()
    if oldest is not None:
        since = min(since, datetime.combine(oldest, datetime.min.time(), tzinfo=UTC) - timedelta(days=1))
    found = list(
        client.statements(statement_time_ge=int(since.timestamp()), statement_time_lt=int(until.timestamp()))
    )
    read: list[tuple[str, Statement]] = []
    for number, raw in enumerate(found, start=1):
        statement_id = _entry_id(raw)
        report(f"statement {number}/{len(found)}: {statement_id or 'without an id'}")
        counts["statements"] += 1
        ref = statement_ref(shop.code, statement_id or f"#{number} of the list")
        with _unreadable_held(
            shop, ref, counts, source=lambda raw=raw, sid=statement_id: _unreadable_statement(shop, raw, sid)
        ):
            if statement_id is None:
                raise Unreadable(f"entry {number} of the statement list has no id: {str(raw)[:200]}")
            pages = list(client.statement_transaction_pages(statement_id))
            read.append((ref, statement_ingest(shop=shop, statement=raw, pages=pages)))
    # Every statement is read before any is planned, so what a posting mode plans in between
    # (order credit notes) knows every statement of the window (a first sync, a catch-up).
    after = AFTER_STATEMENTS_READ.get((shop.channel, shop.posting_mode))
    if after is not None:
        after(shop, [statement for _, statement in read], counts, report)
    for ref, statement in read:
        with _unreadable_held(shop, ref, counts, source=lambda statement=statement: statement):
            plan = statement_plan(statement=statement)
            counts["statements_held" if plan.held else "statements_planned"] += 1


def _entry_id(raw) -> str | None:
    """The id of a list entry, or None when the entry is not an object or has no usable id."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        return None
    return str(value)


def _readable_date(shop: Shop, unix_time):
    """The statement's date if its time can be read (so every sync reads it again), else None."""
    zone = shop_timezone(shop.region, shop.timezone)
    if zone is None or isinstance(unix_time, bool) or not str(unix_time).isdigit():
        return None
    return local_date(int(unix_time), zone)


def _unreadable_statement(shop: Shop, raw, statement_id: str | None) -> Statement | None:
    """The Statement row an unreadable statement's hold is linked to, so the payout's RECEIVE waits
    for it (payout_gate) and Retry can re-plan it. None when TikTok gave no id to link it by."""
    if statement_id is None:
        return None
    payment_id = raw.get("payment_id") if isinstance(raw, dict) else None
    row, created = Statement.objects.get_or_create(
        shop=shop,
        statement_id=statement_id,
        defaults={
            "currency": shop.currency,
            "payment_id": str(payment_id) if isinstance(payment_id, (str, int)) else "",
            "statement_date": _readable_date(shop, raw.get("statement_time")),
            "content_hash": "",
            "state": Statement.State.HELD,
        },
    )
    if not created:
        Statement.objects.filter(pk=row.pk).update(state=Statement.State.HELD)
    return row


def _payouts(shop, client, since, until, counts, report) -> None:
    # A payout still in flight (or PAID without a paid time) is re-read until it is final, however
    # long ago TikTok created it.
    pending = (
        shop.payouts.exclude(status__in=Payout.FINAL_STATUSES)
        | shop.payouts.filter(status="PAID", paid_date=None)
    ).exclude(created_time=None)
    since = min([since, *(p.created_time for p in pending)])
    found = list(
        client.payments(create_time_ge=int(since.timestamp()), create_time_lt=int(until.timestamp()))
    )
    for number, raw in enumerate(found, start=1):
        payment_id = _entry_id(raw)
        report(f"payout {number}/{len(found)}: {payment_id or 'without an id'}")
        counts["payouts"] += 1
        with _unreadable_held(
            shop, f"TikTok {shop.code} payout {payment_id or f'#{number} of the list'}", counts
        ):
            if payment_id is None:
                raise Unreadable(f"entry {number} of the payment list has no id: {str(raw)[:200]}")
            plan = payout_plan(payout=payout_ingest(shop=shop, payment=raw))
            if plan.held:
                counts["payouts_held"] += 1


@contextmanager
def _unreadable_held(shop: Shop, source_ref: str, counts: Counter, source=lambda: None):
    """A record TikTok sent in a shape we cannot read is quarantined and the run goes on without it.
    (Network and auth failures still stop the run: they would fail every record the same way.)
    `source()` gives the row the hold is linked to, if there can be one."""
    try:
        yield
    except ConnectorError as exc:
        if not exc.permanent or exc.kind == ErrorKind.AUTH:
            raise
        _hold_unreadable(shop, source_ref, counts, exc, source())
    except (AmountError, AttributeError, KeyError, TypeError, ValueError) as exc:
        _hold_unreadable(shop, source_ref, counts, exc, source())


def _hold_unreadable(shop: Shop, source_ref: str, counts: Counter, exc: Exception, source) -> None:
    log.warning("%s is unreadable: %s", source_ref, exc)
    counts["unreadable"] += 1
    quarantine_open(
        shop=shop,
        problems=[Problem(Reason.SOURCE_INCONSISTENT, f"{source_ref}: unreadable: {exc}", source_ref)],
        source=source,
        posting=None,
    )


def _reporter(run: SyncRun, progress):
    def report(message: str) -> None:
        SyncRun.objects.filter(pk=run.pk).update(progress=message[:200])
        if progress:
            progress(message)

    return report
