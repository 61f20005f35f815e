"""Finance decisions on quarantined items (DESIGN.md 6, 8). Permissions are checked here, not only in
the admin, so every way in (admin, API, shell) obeys the same rule."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.outbox import idempotency_key

DECIDE = "reconciliation.decide_quarantineitem"


def _require_finance(user) -> None:
    if not (user and user.is_active and user.has_perm(DECIDE)):
        raise PermissionDenied("only Finance may approve, retry or dismiss quarantined items")


def _open(item: QuarantineItem) -> QuarantineItem:
    item = QuarantineItem.objects.select_for_update().get(pk=item.pk)
    if not item.can_approve():
        raise ValidationError(f"this item is already {item.get_status_display().lower()}")
    return item


def quarantine_approve(*, item: QuarantineItem, user, document_date: date | None = None) -> QuarantineItem:
    """Approve a lock-date item: the document (and what depends on it) is re-dated and sent.

    The original date stays in the narration or reference, and a new idempotency key is used
    because the content changed.
    """
    _require_finance(user)
    with transaction.atomic():
        item = _open(item)
        if item.reason != Reason.LOCK_DATE or item.posting is None:
            raise ValidationError("only lock-date items with a planned document can be approved; use Retry")
        new_date = document_date or item.proposed_date
        if new_date is None:
            raise ValidationError("give the date to post on")
        if item.proposed_date and new_date < item.proposed_date:
            raise ValidationError(
                f"{new_date} is still inside the locked period (first open day {item.proposed_date})"
            )
        postings = [item.posting, *item.posting.dependents.all()]
        for posting in postings:
            _redate(posting, new_date)
        _decide(item, user, QuarantineItem.Status.APPROVED, f"re-dated to {new_date.isoformat()}")
        _send_after_commit(postings)
    return item


def _send_after_commit(postings: list[XeroPosting]) -> None:
    """Queue the send once the decision is committed, so a worker never sees the old state."""
    ids = [p.pk for p in postings]
    transaction.on_commit(
        lambda: [async_task("reconciliation.tasks.send_posting", pk, group="xero-send") for pk in ids]
    )


def _redate(posting: XeroPosting, new_date: date) -> None:
    if posting.state not in (XeroPosting.State.HELD, XeroPosting.State.READY, XeroPosting.State.RETRY):
        raise ValidationError(f"{posting} is {posting.get_state_display().lower()} and cannot be re-dated")
    original = posting.original_date or posting.document_date
    payload = dict(posting.payload)
    payload["Date"] = new_date.isoformat()
    note = f" (original date {original.isoformat()})"
    if "Narration" in payload and note not in payload["Narration"]:
        payload["Narration"] += note
    if "Reference" in payload and note not in payload["Reference"]:
        payload["Reference"] += note
        posting.lookup_reference = f"Reference={payload['Reference']}"
    elif "Narration" in payload:
        posting.lookup_reference = f"Narration={payload['Narration']}"
    posting.payload, posting.document_date, posting.original_date = payload, new_date, original
    posting.idempotency_key = idempotency_key(posting.purpose, payload)
    posting.state, posting.next_attempt_at = XeroPosting.State.READY, None
    posting.save()


def quarantine_retry(*, item: QuarantineItem, user) -> QuarantineItem:
    """Try again after the cause was fixed: re-plan a held statement, or re-send a refused document."""
    from reconciliation.services.statements import payout_plan, statement_plan

    _require_finance(user)
    with transaction.atomic():
        item = _open(item)
        posting = item.posting
        if posting is not None and posting.state == XeroPosting.State.HELD:
            # Same content was refused under the old key: Xero would replay that refusal, so use a new one.
            generation = int(posting.idempotency_key.rsplit(":", 1)[1]) + 1
            posting.idempotency_key = idempotency_key(posting.purpose, posting.payload, generation)
            posting.state, posting.next_attempt_at = XeroPosting.State.READY, None
            posting.save(update_fields=["idempotency_key", "state", "next_attempt_at"])
            _send_after_commit([posting])
        _decide(item, user, QuarantineItem.Status.APPROVED, "retry requested")
    if posting is None and item.statement is not None:
        statement_plan(statement=item.statement)
    elif posting is None and item.payout is not None:
        payout_plan(payout=item.payout)
    _settle_after_replan(item)
    return item


def _settle_after_replan(item: QuarantineItem) -> None:
    """If re-planning raised the same problem again, that problem is a new open item; this one is done."""
    if item.posting is None:
        QuarantineItem.objects.filter(pk=item.pk).update(
            status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now()
        )


def quarantine_dismiss(*, item: QuarantineItem, user, reason: str) -> QuarantineItem:
    """Finance decides this will not be posted. The reason is required and kept for the auditor."""
    _require_finance(user)
    if not reason or not reason.strip():
        raise ValidationError("a reason is required to dismiss an item")
    with transaction.atomic():
        item = _open(item)
        if item.posting is not None and item.posting.state in (
            XeroPosting.State.HELD,
            XeroPosting.State.RETRY,
        ):
            XeroPosting.objects.filter(pk=item.posting.pk).update(state=XeroPosting.State.SUPERSEDED)
        _decide(item, user, QuarantineItem.Status.DISMISSED, reason.strip())
    return item


def _decide(item: QuarantineItem, user, status: str, note: str) -> None:
    item.status, item.decided_by, item.decided_at, item.decision_note = status, user, timezone.now(), note
    item.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
