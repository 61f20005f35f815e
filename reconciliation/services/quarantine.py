"""Finance decisions on quarantined items (DESIGN.md 6, 8). Permissions are checked here, not only in
the admin, so every way in (admin, API, shell) obeys the same rule."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, Statement, XeroPosting
from reconciliation.models.postings import link_to
from reconciliation.models.quarantine import Reason
from reconciliation.services.outbox import PLANNER_REASONS, REFUSED, idempotency_key, redated, replaceable
from reconciliation.services.payout_gate import receives_release, statement_state_refresh
from reconciliation.services.posting import connection_resume
from reconciliation.services.sources import source_replan

DECIDE = "reconciliation.decide_quarantineitem"


def _require_finance(user) -> None:
    if not (user and user.is_active and user.has_perm(DECIDE)):
        raise PermissionDenied("only Finance may approve, retry, post as draft or dismiss quarantined items")


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
        if refusal := approve_refusal(item):
            raise ValidationError(refusal)
        new_date = document_date or item.proposed_date
        if new_date is None:
            raise ValidationError("give the date to post on")
        if item.proposed_date and new_date < item.proposed_date:
            raise ValidationError(
                f"{new_date} is still inside the locked period (first open day {item.proposed_date})"
            )
        # What depends on it moves with it (DESIGN.md 6) but keeps waiting until it is in Xero, when
        # its placeholder is filled (services/dependencies.py); set-aside rows stay set aside.
        dependents = item.posting.dependents.exclude(
            state__in=[XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED]
        )
        _redate(item.posting, new_date, XeroPosting.State.READY)
        for dependent in dependents:
            _redate(dependent, new_date, XeroPosting.State.WAITING)
        postings = [item.posting]
        _decide(item, user, QuarantineItem.Status.APPROVED, f"re-dated to {new_date.isoformat()}", "approve")
        _send_after_commit(postings)
    return item


def _send_after_commit(postings: list[XeroPosting]) -> None:
    """Queue the send once the decision is committed, so a worker never sees the old state."""
    ids = [p.pk for p in postings]
    transaction.on_commit(
        lambda: [async_task("reconciliation.tasks.send_posting", pk, group="xero-send") for pk in ids]
    )


def _redate(posting: XeroPosting, new_date: date, state: str) -> None:
    if not replaceable(posting):
        raise ValidationError(f"{posting} may already be in Xero and cannot be re-dated")
    original = posting.original_date or posting.document_date
    base = posting.payload
    if posting.original_date is not None:  # approving again: start from the original text
        base = _undated(base, original)
    payload = redated(base, new_date=new_date, original_date=original)
    # A journal or bank transaction is found by the text the new date changes; an invoice, credit
    # note or allocation by its number, which the date does not touch.
    field = posting.lookup_reference.split("=", 1)[0]
    if field in ("Reference", "Narration") and field in payload:
        posting.lookup_reference = f"{field}={payload[field]}"
    posting.payload, posting.document_date, posting.original_date = payload, new_date, original
    posting.idempotency_key = idempotency_key(posting.purpose, payload)
    posting.state, posting.next_attempt_at = state, None
    posting.save()


def _undated(payload: dict, original: date) -> dict:
    note = f" (original date {original.isoformat()})"
    return {k: v.replace(note, "") if k in ("Narration", "Reference") else v for k, v in payload.items()}


def quarantine_retry(*, item: QuarantineItem, user) -> QuarantineItem:
    """Try again after the cause was fixed.

    A document Xero refused is planned again from its source with today's maps (it was never
    created, so it may be replaced) and queued; one whose fate is unsure is re-sent, looked up
    first; a held statement or payout is re-planned; an auth item resumes its connection.

    The item is resolved only when its problem is gone (issue 7, item 4): a re-plan that finds the
    same problem updates this same item, which stays open; a document queued again waits, approved,
    for Xero's answer (posted resolves it, refused again reopens it: `outbox.quarantine_open`).
    Every retry is noted on the item with who and when (`details["retries"]`).
    """
    _require_finance(user)
    with transaction.atomic():
        item = _open(item)
        posting = item.posting
        if refusal := retry_refusal(item):
            raise ValidationError(refusal)
        if item.reason == Reason.AUTH:
            connection_resume(connection=item.shop.xero_connection)
            _retried(item, user, QuarantineItem.Status.RESOLVED, "connection resumed")
        elif posting is not None and _refused(posting) and _source_of(item) is not None:
            _replan_refused(item, posting, user)
        elif posting is not None:
            _resend(posting)
            _retried(item, user, QuarantineItem.Status.APPROVED, "sent again")
        else:
            # Still open while re-planning: the same problem found again updates this very item
            # (quarantine_open), a problem gone resolves it (_resolve_gone).
            _replan(item)
            item.refresh_from_db()
            still = item.is_open() and item.reason in PLANNER_REASONS
            _retried(item, user, item.status if still else QuarantineItem.Status.RESOLVED, "re-planned")
    return item


def approve_refusal(item: QuarantineItem) -> str:
    """Why `item` cannot be approved ("" when it can): approving re-dates a lock-date document."""
    if item.reason == Reason.LOCK_DATE and item.posting_id is not None:
        return ""
    return "only lock-date items with a planned document can be approved; use Retry"


def retry_refusal(item: QuarantineItem) -> str:
    """Why `item` cannot be retried ("" when it can): a document already in Xero is corrected
    there; a connection someone disconnected comes back only by reconnecting it (Connections)."""
    posting = item.posting
    if item.reason == Reason.XERO_MISMATCH or (
        posting is not None and posting.state == XeroPosting.State.POSTED
    ):
        return "this document is already in Xero: correct it there, then dismiss the item"
    connection = item.shop.xero_connection if item.reason == Reason.AUTH else None
    if connection is not None and connection.status == connection.Status.DISCONNECTED:
        return f"Xero connection {connection.name} was disconnected: reconnect it on the Connections page"
    return ""


# Xero creates these as DRAFT (Status on the element); payments, allocations and bank transactions
# have no draft status in Xero's API: they exist or they do not.
DRAFTABLE = {XeroPosting.Kind.MANUAL_JOURNAL, XeroPosting.Kind.INVOICE, XeroPosting.Kind.CREDIT_NOTE}


def draft_refusal(item: QuarantineItem) -> str:
    """Why `item`'s document cannot be sent as a draft ("" when it can)."""
    posting = item.posting
    if posting is None:
        return "nothing is planned for this item yet: fix its cause and retry"
    if posting.kind not in DRAFTABLE:
        return f"Xero has no draft {posting.get_kind_display().lower()}: only journals, invoices and credit notes"
    if posting.state == XeroPosting.State.POSTED or not replaceable(posting):
        return "this document may already be in Xero: correct it there"
    if posting.dependents.exclude(
        state__in=[XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED]
    ).exists():
        return "a payment or allocation waits for this document, and Xero cannot apply it to a draft"
    return ""


def quarantine_post_as_draft(*, item: QuarantineItem, user) -> QuarantineItem:
    """Send the item's document to Xero as a DRAFT for finance to review and approve there (a
    document Xero refused for validation, a lock-date item finance wants to see first). Xero keeps a
    draft out of the ledger and its lock dates, so what it refused as posted it may take as a draft.

    Like approve, the new content gets a new idempotency key and is queued once committed; the item
    waits (approved) for Xero's answer: accepted resolves it, refused reopens it (a retry note)."""
    _require_finance(user)
    with transaction.atomic():
        item = _open(item)
        refusal = draft_refusal(item)
        if refusal:
            raise ValidationError(refusal)
        posting = item.posting
        assert posting is not None  # draft_refusal
        posting.payload = {**posting.payload, "Status": "DRAFT"}
        posting.idempotency_key = idempotency_key(posting.purpose, posting.payload)
        posting.state, posting.next_attempt_at = XeroPosting.State.READY, None
        posting.save(update_fields=["payload", "idempotency_key", "state", "next_attempt_at"])
        _retried(item, user, QuarantineItem.Status.APPROVED, "sent as a draft for review in Xero", "draft")
        _send_after_commit([posting])
    return item


def _refused(posting: XeroPosting) -> bool:
    return posting.last_error_kind in REFUSED and posting.last_error_kind != Reason.LOCK_DATE


def _source_of(item: QuarantineItem):
    return item.source or (item.posting.source if item.posting else None)


def _replan_refused(item: QuarantineItem, posting: XeroPosting, user) -> None:
    """Set the refused document aside, plan its source again and queue what replaces it; the item
    follows the new document and waits (approved) for Xero's answer."""
    XeroPosting.objects.filter(pk=posting.pk).update(state=XeroPosting.State.SUPERSEDED)
    source = _source_of(item)
    source_replan(source)
    again = (
        XeroPosting.objects.filter(**link_to(source), purpose=posting.purpose, plan_key=posting.plan_key)
        .exclude(state__in=[XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED])
        .order_by("-id")
        .first()
    )
    if again is None:  # the source is held now, or no longer needs this document
        _retried(item, user, QuarantineItem.Status.RESOLVED, f"re-planned without {posting.lookup_reference}")
        return
    item.posting = again
    item.save(update_fields=["posting"])
    what = f"re-planned: posting #{posting.pk} set aside, #{again.pk} sent instead"
    _retried(item, user, QuarantineItem.Status.APPROVED, what)
    if again.state == XeroPosting.State.READY:
        _send_after_commit([again])


def _retried(item: QuarantineItem, user, status: str, what: str, decision: str = "retry") -> None:
    """Record a retry (or a send as draft) on the item: who, when, what it did; the status it ends
    in. `details["retries"]` is what lets Xero's refusal reopen this item (outbox._same_problem)."""
    now = timezone.now()
    item.details = {
        **_noted(item, user, decision, what, now),
        "retries": [
            *item.details.get("retries", []),
            {"by": user.get_username(), "at": now.isoformat(), "did": what, "posting": item.posting_id},
        ],
    }
    item.status, item.decided_by, item.decided_at = status, user, now
    item.decision_note = f"{decision} by {user.get_username()} at {now:%Y-%m-%d %H:%M:%S} UTC: {what}"
    if status == QuarantineItem.Status.RESOLVED and item.resolved_at is None:
        item.resolved_at = now
    item.save(update_fields=["details", "status", "decided_by", "decided_at", "decision_note", "resolved_at"])


def _resend(posting: XeroPosting) -> None:
    # Same content under the old key would get Xero's replay of the old answer: use the next key.
    generation = int(posting.idempotency_key.rsplit(":", 1)[1]) + 1
    posting.idempotency_key = idempotency_key(posting.purpose, posting.payload, generation)
    posting.state, posting.next_attempt_at = XeroPosting.State.READY, None
    posting.save(update_fields=["idempotency_key", "state", "next_attempt_at"])
    _send_after_commit([posting])


def _replan(item: QuarantineItem) -> None:
    source_replan(_source_of(item))


def quarantine_dismiss(*, item: QuarantineItem, user, reason: str) -> QuarantineItem:
    """Finance decides this will not be posted. The reason is required and kept for the auditor; the
    same problem on the same source stays dismissed when the source is planned again."""
    _require_finance(user)
    if not reason or not reason.strip():
        raise ValidationError("a reason is required to dismiss an item")
    with transaction.atomic():
        item = _open(item)
        if item.posting is not None and replaceable(item.posting):
            XeroPosting.objects.filter(pk=item.posting.pk).update(state=XeroPosting.State.DISMISSED)
            # what waits for it (a payment on its invoice) cannot go without it: dismissed with it
            XeroPosting.objects.filter(depends_on=item.posting, state=XeroPosting.State.WAITING).update(
                state=XeroPosting.State.DISMISSED,
                last_error=f"dismissed with {item.posting.lookup_reference}: {reason.strip()}",
            )
        _decide(item, user, QuarantineItem.Status.DISMISSED, reason.strip(), "dismiss")
        statement = item.source or (item.posting.source if item.posting else None)
        if isinstance(statement, Statement):
            # its payout's RECEIVE no longer waits for it: queued at once, not at the next sweep
            statement_state_refresh(statement)
            receives_release(statement=statement)
    return item


def _decide(item: QuarantineItem, user, status: str, note: str, decision: str) -> None:
    now = timezone.now()
    item.details = _noted(item, user, decision, note, now)
    item.status, item.decided_by, item.decided_at, item.decision_note = status, user, now, note
    item.save(update_fields=["details", "status", "decided_by", "decided_at", "decision_note"])


def _noted(item: QuarantineItem, user, decision: str, what: str, now) -> dict:
    """The item's details with this decision added to its history (`details["decisions"]`: who,
    when, which decision, what it did or why), which the item's page lists; decided_by / decided_at
    / decision_note hold the latest."""
    entry = {"decision": decision, "by": user.get_username(), "at": now.isoformat(), "note": what}
    return {**item.details, "decisions": [*item.details.get("decisions", []), entry]}
