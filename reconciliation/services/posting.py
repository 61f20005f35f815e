"""Sending one outbox row to Xero, exactly once (DESIGN.md 2, 6).

The row is claimed with a compare-and-swap, the HTTP call runs outside any transaction, and the
outcome is written after it. When an earlier attempt may have reached Xero, the document is looked
up before anything is created again.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from connectors.errors import ConnectorError, ErrorKind
from connectors.xero.client import ElementResult
from reconciliation.models import QuarantineItem, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.planning.types import Problem
from reconciliation.selectors import postings_due
from reconciliation.services import xero_access
from reconciliation.services.lock_dates import approved_date_open, hold_locked
from reconciliation.services.outbox import for_xero, quarantine_open, source_changed_message
from reconciliation.services.payout_gate import receives_release
from reconciliation.services.posting_outcomes import (
    MAX_ATTEMPTS,
    hold,
    mark_posted,
    next_try,
    set_state,
    xero_id,
)
from reconciliation.services.sources import source_replan

log = logging.getLogger(__name__)

# Longer than a task may run (Q_CLUSTER timeout 600 s): a posting still SENDING after this had its
# worker die mid-call, so what Xero saw is unknown.
STALE_SENDING = timedelta(minutes=15)
# Kinds Xero takes up to 50 to a request: sent by batch_send.py (which imports this module).
BATCHED_KINDS = ("Invoices", "CreditNotes", "Payments", "Allocations")


def posting_send(*, posting_id: int) -> XeroPosting:
    posting = XeroPosting.objects.select_related("connection", "shop").get(pk=posting_id)
    if not posting.can_send() or not posting.connection.can_post():
        return posting  # a redelivered task, or a paused connection: nothing to do
    if posting.kind in BATCHED_KINDS:
        # A batch of one (e.g. a posting finance retried): the path every sweep sends it by.
        from reconciliation.services.batch_send import batch_send

        batch_send(connection_id=posting.connection_id, kind=posting.kind, posting_ids=[posting.pk])
        posting.refresh_from_db()
        return posting
    previous = posting.state
    # Built before the claim: a bad configuration must not leave a claimed row behind.
    with xero_access.xero_client(posting.connection, posting=posting) as client:
        claimed = XeroPosting.objects.filter(pk=posting.pk, state=previous).update(
            state=XeroPosting.State.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        )
        if claimed != 1:
            return posting  # another worker has it
        posting.refresh_from_db()
        try:
            if source_change_open(posting):
                return stale_settle(client, posting)
            if _may_exist(posting, previous):
                found = existing_lookup(client, posting)
                if found is None:
                    return posting  # the lookup itself failed: still unknown, tried again later
                if found:
                    return mark_posted(posting, found)
            if posting.original_date is not None and not approved_date_open(posting):
                return posting
            (result,) = client.create(
                posting.kind, [for_xero(posting.payload)], idempotency_key=posting.idempotency_key
            )
            return element_outcome(client, posting, result)
        except ConnectorError as exc:
            return request_failed(posting, exc)
        except Exception as exc:  # anything unexpected after the claim: we cannot know what Xero saw
            # looked up at the next sweep (never left where nothing would pick it up again)
            set_state(
                posting,
                XeroPosting.State.UNKNOWN,
                error=f"unexpected: {exc!r}",
                kind="unexpected",
                next_at=timezone.now(),
            )
            raise


def source_change_open(posting: XeroPosting) -> bool:
    """Flagged SOURCE_CHANGED and not settled. Approving (Retry) or dismissing the item does not
    make the old content right again: it is still only looked up, never created."""
    return (
        posting.quarantine.filter(reason=Reason.SOURCE_CHANGED)
        .exclude(status=QuarantineItem.Status.RESOLVED)
        .exists()
    )


def stale_settle(client, posting: XeroPosting) -> XeroPosting:
    """A posting whose source changed after a send with no certain answer: never create it as it
    was. Look it up: if Xero has it, it is posted and finance corrects the difference in Xero; if
    Xero does not, it is set aside and the source is planned again from the new data."""
    found = existing_lookup(client, posting)
    if found is None:
        return posting  # cannot tell yet: looked up again later, still never created
    items = posting.quarantine.filter(
        reason=Reason.SOURCE_CHANGED,
        status__in=[QuarantineItem.Status.OPEN, QuarantineItem.Status.APPROVED],
    )
    if found:
        items.update(message=source_changed_message(posting, posting.source_ref, found=True))
        return mark_posted(posting, found)
    with transaction.atomic():
        set_state(posting, XeroPosting.State.SUPERSEDED, error="not in Xero; planned again")
        items.update(status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now())
        source_replan(posting.source)
        ready = XeroPosting.objects.filter(
            source_type=posting.source_type, source_id=posting.source_id, state=XeroPosting.State.READY
        ).values_list("pk", flat=True)
        fresh = list(ready)
        transaction.on_commit(
            lambda: [async_task("reconciliation.tasks.send_posting", pk, group="xero-send") for pk in fresh]
        )
    return posting


def _may_exist(posting: XeroPosting, previous: str) -> bool:
    """Could Xero already hold this document? Then look before creating: Xero's idempotency replay
    window is short, so our own ledger plus a lookup is what prevents a twin."""
    if (
        previous != XeroPosting.State.READY
        or posting.attempts > 1
        or not posting.idempotency_key.endswith(":0")
    ):
        return True
    # Any earlier posting of the same source, or of anything Xero would know by the same
    # narration / reference in this organisation (the same TikTok statement, whichever shop row).
    same = Q(source_type=posting.source_type, source_id=posting.source_id, purpose=posting.purpose) | Q(
        connection=posting.connection_id, lookup_reference=posting.lookup_reference
    )
    return XeroPosting.objects.filter(same, attempts__gt=0).exclude(pk=posting.pk).exists()


def existing_lookup(client, posting: XeroPosting) -> dict | None:
    """The document if Xero has it, {} if it does not, None if we could not tell (state recorded).

    A failed lookup says nothing about the document, so it is never recorded as Xero refusing it.
    """
    try:
        return _find_existing(client, posting) or {}
    except ConnectorError as exc:
        if exc.kind == ErrorKind.AUTH:
            request_failed(posting, exc)
        elif posting.attempts >= MAX_ATTEMPTS:
            hold(
                posting,
                Reason.RETRIES_EXHAUSTED,
                [f"{posting.attempts} attempts; cannot tell if Xero has it: {exc}"],
            )
        else:
            set_state(
                posting,
                XeroPosting.State.UNKNOWN,
                error=f"lookup before re-sending failed: {exc}",
                kind=ErrorKind.UNKNOWN_OUTCOME,
                next_at=next_try(posting, exc),
            )
        return None


def lookup_where(posting: XeroPosting) -> str:
    """Xero's `where` filter that finds the document by what it was sent with (Narration, Reference
    or number: `lookup_reference` is "Field=value"), e.g. `Reference=="TT-1"`."""
    field, value = posting.lookup_reference.split("=", 1)
    escaped = value.replace('"', '\\"')
    return f'{field}=="{escaped}"'


def _find_existing(client, posting: XeroPosting) -> dict | None:
    collection = "CreditNotes" if posting.kind == XeroPosting.Kind.ALLOCATION else posting.kind
    matches = [
        doc
        for doc in client.find(collection, where=lookup_where(posting))
        if doc.get("Status") not in {"DELETED", "VOIDED"}
    ]
    if posting.kind == XeroPosting.Kind.ALLOCATION:
        return _allocation_in(matches, posting.payload)
    return matches[0] if matches else None


def _allocation_in(credit_notes: list[dict], payload: dict) -> dict | None:
    """An allocation has no collection of its own: it is found on its credit note, by the invoice
    it names and its amount."""
    invoice = payload.get("Invoice") or {}
    for credit_note in credit_notes:
        for allocation in credit_note.get("Allocations") or []:
            named = allocation.get("Invoice") or {}
            same_invoice = all(named.get(k) == v for k, v in invoice.items())
            if same_invoice and Decimal(str(allocation.get("Amount"))) == Decimal(str(payload["Amount"])):
                return allocation
    return None


NO_ID = "00000000-0000-0000-0000-000000000000"  # what Xero puts on an element it did not create


def element_outcome(client, posting: XeroPosting, result: ElementResult) -> XeroPosting:
    if result.ok:
        return mark_posted(posting, result.element)
    messages = list(result.messages) + [f"warning: {w}" for w in result.warnings]
    if xero_id(posting.kind, result.element) not in ("", NO_ID):
        # Created, but with warnings (e.g. Xero dropped a line on an unknown account): it exists,
        # so it is posted, and finance is told it differs from the plan. Never re-created.
        mark_posted(posting, result.element)
        quarantine_open(
            shop=posting.shop,
            problems=[
                Problem(
                    Reason.XERO_MISMATCH,
                    f"{posting.source_ref}: created with warnings: " + "; ".join(messages),
                    posting.source_ref,
                )
            ],
            source=posting.source,
            posting=posting,
        )
        return posting
    if result.kind == ErrorKind.DUPLICATE:
        # "must be unique" after our own earlier success: link to it, never create twice.
        found = _find_existing(client, posting)
        if found is not None:
            return mark_posted(posting, found)
    if result.kind == ErrorKind.LOCK_DATE:
        hold_locked(posting, messages, element=result.element)
    else:
        hold(posting, Reason.XERO_VALIDATION, messages, element=result.element)
    return posting


def request_failed(posting: XeroPosting, exc: ConnectorError) -> XeroPosting:
    if exc.kind == ErrorKind.LOCK_DATE:
        hold_locked(posting, list(exc.messages))  # reads Xero again: outside any transaction
        return posting
    return _request_failed_record(posting, exc)


@transaction.atomic
def _request_failed_record(posting: XeroPosting, exc: ConnectorError) -> XeroPosting:
    if exc.kind == ErrorKind.UNKNOWN_OUTCOME and posting.attempts >= MAX_ATTEMPTS:
        hold(
            posting, Reason.RETRIES_EXHAUSTED, [f"{posting.attempts} attempts, outcome still unknown: {exc}"]
        )
    elif exc.kind == ErrorKind.AUTH:
        xero_access.connection_pause(posting.connection_id, reason=str(exc))
        set_state(posting, XeroPosting.State.RETRY, error=str(exc), kind=exc.kind, next_at=None)
        quarantine_open(
            shop=posting.shop,
            problems=[
                Problem(
                    Reason.AUTH,
                    f"Xero connection {posting.connection.name} paused: {exc}",
                    posting.connection.name,
                )
            ],
            source=None,
            posting=None,
        )
    elif exc.kind == ErrorKind.UNKNOWN_OUTCOME:
        # Look it up soon, but not in a tight loop if Xero keeps timing out.
        next_at = timezone.now() if posting.attempts <= 1 else next_try(posting, exc)
        set_state(posting, XeroPosting.State.UNKNOWN, error=str(exc), kind=exc.kind, next_at=next_at)
    elif exc.kind == ErrorKind.TRANSIENT:
        if posting.attempts >= MAX_ATTEMPTS:
            hold(posting, Reason.RETRIES_EXHAUSTED, [f"{posting.attempts} attempts, last: {exc}"])
        else:
            set_state(
                posting,
                XeroPosting.State.RETRY,
                error=str(exc),
                kind=exc.kind,
                next_at=next_try(posting, exc),
            )
    elif exc.kind == ErrorKind.DUPLICATE:
        # A whole request refused as a duplicate: something like it exists; look before anything else.
        set_state(posting, XeroPosting.State.UNKNOWN, error=str(exc), kind=exc.kind, next_at=timezone.now())
    else:
        hold(posting, Reason.XERO_VALIDATION, list(exc.messages))
    return posting


def connection_resume(*, connection: XeroConnection) -> None:
    """After a reconnect: the connection posts again; its parked postings are due at once (selectors).
    A disconnected connection is left alone: only a reconnect (with new tokens) undoes that."""
    XeroConnection.objects.filter(pk=connection.pk).exclude(status=XeroConnection.Status.DISCONNECTED).update(
        status=XeroConnection.Status.ACTIVE, status_reason=""
    )


def postings_recover_stale(*, now=None) -> int:
    """A worker killed between claim and outcome leaves a posting SENDING; make it UNKNOWN, so the
    next send looks it up in Xero before creating anything."""
    now = now or timezone.now()
    return XeroPosting.objects.filter(
        state=XeroPosting.State.SENDING, claimed_at__lt=now - STALE_SENDING
    ).update(
        state=XeroPosting.State.UNKNOWN,
        last_error="the worker sending this stopped before recording Xero's answer",
        last_error_kind=ErrorKind.UNKNOWN_OUTCOME,
        next_attempt_at=now,
    )


def postings_send_due(*, progress=None) -> int:
    """Send every due posting in this process, in date order (what the django-q2 workers do):
    manual journals and bank transactions one by one, the kinds Xero takes in batches in batches
    (batch_send.py), each kind after the ones it may depend on, read as due when its turn comes
    so that a payment released by its invoice in this sweep goes out in it too."""
    from reconciliation.services.batch_send import batch_send, due_batches

    postings_recover_stale()
    receives_release()
    due = postings_due(timezone.now())
    singles = set(
        XeroPosting.objects.filter(pk__in=due).exclude(kind__in=BATCHED_KINDS).values_list("pk", flat=True)
    )
    single_ids = [pk for pk in due if pk in singles]
    for number, posting_id in enumerate(single_ids, start=1):
        posting = posting_send(posting_id=posting_id)
        if progress:
            progress(
                f"sending {number}/{len(single_ids)}: {posting.source_ref} -> {posting.get_state_display()}"
            )
    sent = len(single_ids)
    for kind in BATCHED_KINDS:
        for batch in due_batches(postings_due(timezone.now()), kind):
            members = batch_send(connection_id=batch.connection_id, kind=kind, posting_ids=batch.posting_ids)
            sent += len(members)
            if progress:
                progress(f"sent a batch of {len(members)} {kind}")
    return sent
