"""What a finance decision actually did, read back from the rows once it is committed (issue 7,
item 4: every action reports what will actually happen), never what was asked for. Read-only.

With workers the send is queued (the answer comes later); with django-q2 in sync mode (tests, the
demo) it has already happened, and the answer read here is Xero's.
"""

from dataclasses import dataclass

from django.db.models import Q

from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.schedules import SWEEP_MINUTES

State = XeroPosting.State
SEND_WITHIN_SECONDS = SWEEP_MINUTES * 60
# What a READY document does next, in the admin's and the API's answers alike (api/outcome.py).
QUEUED = f"queued: sends within {SEND_WITHIN_SECONDS} seconds"
XERO_REFUSALS = {Reason.XERO_VALIDATION, Reason.LOCK_DATE}


@dataclass(frozen=True)
class Outcome:
    """`kind` names what happened (queued, posted, draft, waiting, failing, refused, held,
    inconsistent, resolved, dismissed, nothing); `text` says it in words; `done` is True when what
    finance asked for is under way or done (False: nothing will be sent, or the problem is still
    there)."""

    kind: str
    text: str
    done: bool


def decision_outcome(*, item: QuarantineItem, decision: str) -> Outcome:
    """The outcome of `decision` ("approve", "retry", "draft", "dismiss") on `item`, as the rows say now."""
    item = QuarantineItem.objects.select_related("posting", "posting__depends_on").get(pk=item.pk)
    if item.status == QuarantineItem.Status.DISMISSED:
        return Outcome("dismissed", "dismissed: it will not be posted", True)
    if item.is_open():
        return still_there(item)
    posting = item.posting
    others = list(still_open(item).order_by("id"))
    if posting is not None and posting.state not in (State.SUPERSEDED, State.DISMISSED):
        outcome = posting_outcome(posting, others)
        if decision == "draft" and outcome.kind == "posted":
            number = posting.xero_number or f"id {posting.xero_id}"
            return Outcome("draft", f"in Xero as a draft ({number}): review and approve it there", True)
        if decision == "approve" and not outcome.done:
            return Outcome(outcome.kind, f"nothing to send: {outcome.text}", False)
        return outcome
    if others:
        return Outcome("inconsistent", f"still inconsistent: see {_items(others)}", False)
    if item.status == QuarantineItem.Status.RESOLVED:
        return _resolved(item)
    return Outcome("nothing", "nothing to send", False)


def _resolved(item: QuarantineItem) -> Outcome:
    """Resolved by a re-plan: what its source now has to send (the sweep sends READY rows)."""
    if item.reason == Reason.AUTH:
        return Outcome(
            "resolved",
            f"resolved: the connection posts again; what waited for it sends within {SEND_WITHIN_SECONDS} seconds",
            True,
        )
    ready = 0
    if item.source_id is not None:
        ready = XeroPosting.objects.filter(
            source_type_id=item.source_type_id, source_id=item.source_id, state=State.READY
        ).count()
    if ready:
        return Outcome("queued", f"resolved; {ready} document{'' if ready == 1 else 's'} {QUEUED}", True)
    return Outcome("resolved", "resolved: the problem is gone", True)


def still_there(item: QuarantineItem) -> Outcome:
    message = _first(item.message).removeprefix(f"{item.source_ref}: ")
    if item.reason in XERO_REFUSALS:
        return Outcome("refused", f"refused again by Xero: {message}", False)
    return Outcome("held", f"still held: {item.get_reason_display()}: {message}", False)


def posting_outcome(posting: XeroPosting, others: list[QuarantineItem]) -> Outcome:
    """What becomes of `posting` next, in words."""
    if posting.state == State.READY:
        return Outcome("queued", QUEUED, True)
    if posting.state == State.SENDING:
        return Outcome("queued", "being sent to Xero now", True)
    if posting.state == State.POSTED:
        number = posting.xero_number or f"id {posting.xero_id}"
        return Outcome("posted", f"posted to Xero as {number}", True)
    if posting.state == State.WAITING:
        waits_for = posting.depends_on.lookup_reference if posting.depends_on else "the document it needs"
        return Outcome("waiting", f"waits until {waits_for} is in Xero", True)
    if posting.state == State.RETRY:
        when = f"{posting.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC" if posting.next_attempt_at else "soon"
        return Outcome("failing", f"Xero failed ({_first(posting.last_error)}); sent again at {when}", True)
    if posting.state == State.UNKNOWN:
        return Outcome("failing", "Xero's answer was lost: it is looked up in Xero before any new send", True)
    held = f"held again: {_first(posting.last_error) or 'see the open items'}"
    return Outcome("held", held + (f"; see {_items(others)}" if others else ""), False)


def still_open(item: QuarantineItem):
    """Open items about the same document or source: what is still in the way after a decision."""
    about = Q(posting_id=item.posting_id) if item.posting_id else Q(pk__in=[])
    if item.source_id is not None:
        about |= Q(source_type_id=item.source_type_id, source_id=item.source_id)
    return QuarantineItem.objects.filter(about, status=QuarantineItem.Status.OPEN).exclude(pk=item.pk)


def _items(items: list[QuarantineItem]) -> str:
    return ", ".join(f"item #{other.pk} ({other.get_reason_display()})" for other in items)


def _first(text: str) -> str:
    return text.splitlines()[0] if text else ""
