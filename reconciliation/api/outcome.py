"""What a decision actually did, read back from the rows after the service returned (issue 7 item 4:
"answers say what will actually happen"), not what was asked for."""

from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.services import decision_outcomes
from reconciliation.services.decision_outcomes import QUEUED, still_open, still_there

State = XeroPosting.State

NEXT = {
    State.READY: QUEUED,  # the admin's words (services/decision_outcomes.py): one promise, one place
    State.SENDING: "being sent to Xero now",
    State.UNKNOWN: "Xero's answer was lost: it is looked up in Xero before it is ever sent again",
    State.WAITING: "waits until the document it depends on is in Xero",
    State.SUPERSEDED: "replaced by a new plan from its source (see the source's postings)",
    State.DISMISSED: "dismissed: it will not be posted",
}


def posting_next(posting: XeroPosting) -> str:
    if posting.state == State.POSTED:
        return (
            f"posted to Xero as {posting.xero_number}"
            if posting.xero_number
            else f"posted to Xero (id {posting.xero_id})"
        )
    if posting.state == State.RETRY:
        return f"Xero failed; it is sent again at {posting.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
    if posting.state == State.HELD:
        return f"held again: {posting.last_error or 'see the open exceptions'}"
    return NEXT.get(posting.state, posting.get_state_display())


def decision_outcome(item: QuarantineItem, decision: str = "") -> dict:
    """`decision` ("approve", "retry", "draft", "dismiss"): what was asked, so that a document Xero
    took as a draft reads as the admin says it ("in Xero as a draft ..."), not as posted."""
    item = QuarantineItem.objects.select_related("posting", "shop", "decided_by").get(pk=item.pk)
    posting = item.posting
    others = list(still_open(item).order_by("id"))
    parts = [f"item {item.get_status_display().lower()}"]
    if item.is_open():  # a retry that found the same problem again: this same item, still open
        parts.append(still_there(item).text)
    if posting is not None:
        parts.append(f"{posting.get_kind_display().lower()} {_next(item, posting, decision)}")
    if others:
        parts.append("still open: " + ", ".join(f"exception #{o.pk} ({o.reason})" for o in others))
    return {
        "item": item,
        "posting_state": posting.state if posting else None,
        "still_open": others,
        "message": "; ".join(parts),
    }


def _next(item: QuarantineItem, posting: XeroPosting, decision: str) -> str:
    if decision == "draft" and posting.state == State.POSTED:
        said = decision_outcomes.decision_outcome(item=item, decision=decision)
        if said.kind == "draft":
            return said.text
    return posting_next(posting)
