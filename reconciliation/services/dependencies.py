"""Documents that need another document's Xero id (a payment its invoice, an allocation its credit
note): stored WAITING with a placeholder, filled in and made READY when that document posts.

The placeholder convention (docs/ARCHITECTURE.md, "What the outbox promises"): in the stored
payload of a posting with `depends_on`, the reference to that document is the object
`{"<IdField>": "{depends_on}"}`, e.g. a payment's `"Invoice": {"InvoiceID": "{depends_on}"}`
(planned as `{"InvoiceNumber": ...}`; the id is what Xero needs and cannot be misread). When the
document posts, every "{depends_on}" string becomes its Xero id. An allocation has no reference in
its body: its credit note's id goes into the request path (`allocate_credit_note`). The
idempotency key is derived from the placeholder form, so it is the same before and after.
"""

from django.db import transaction

from reconciliation.models import XeroPosting

PLACEHOLDER = "{depends_on}"
# Which key of a dependent's payload names a document of each kind, and by which id field.
REFERENCES = {"Invoices": ("Invoice", "InvoiceID"), "CreditNotes": ("CreditNote", "CreditNoteID")}


def with_placeholder(payload: dict, dependency_kind: str) -> dict:
    """The stored form of a dependent's planned payload: its reference to the dependency replaced
    by the placeholder (a payload that does not name the dependency is returned as it is)."""
    field, id_field = REFERENCES.get(dependency_kind, ("", ""))
    if field not in payload:
        return payload
    return {**payload, field: {id_field: PLACEHOLDER}}


def filled(value, xero_id: str):
    """`value` with every placeholder replaced by `xero_id`."""
    if isinstance(value, dict):
        return {k: filled(v, xero_id) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, xero_id) for v in value]
    return xero_id if value == PLACEHOLDER else value


def unfilled(value, xero_id: str):
    """The inverse of `filled`: what the plan stored, to compare a new plan with (outbox._posting_for)."""
    if not xero_id:
        return value
    if isinstance(value, dict):
        return {k: unfilled(v, xero_id) for k, v in value.items()}
    if isinstance(value, list):
        return [unfilled(v, xero_id) for v in value]
    return PLACEHOLDER if value == xero_id else value


def as_planned(posting: XeroPosting) -> dict:
    """A posting's payload in the form its plan stored it (placeholder back in place)."""
    if posting.depends_on_id is None:
        return posting.payload
    return unfilled(posting.payload, posting.depends_on.xero_id)


@transaction.atomic
def dependents_release(posting: XeroPosting) -> int:
    """`posting` is POSTED: its WAITING dependents get its Xero id and become READY. A compare-and-
    swap per row, so a dependent finance dismissed meanwhile stays as it is."""
    released = 0
    # by id: the model's -created_at ordering let the database walk that index, not depends_on's
    for dependent in posting.dependents.filter(state=XeroPosting.State.WAITING).order_by("pk"):
        released += XeroPosting.objects.filter(pk=dependent.pk, state=XeroPosting.State.WAITING).update(
            state=XeroPosting.State.READY, payload=filled(dependent.payload, posting.xero_id)
        )
    return released


def initial_state(dependency: XeroPosting | None, state: str) -> str:
    """A new posting's state: WAITING while its dependency is not in Xero yet."""
    if dependency is None or state != XeroPosting.State.READY:
        return state
    return state if dependency.state == XeroPosting.State.POSTED else XeroPosting.State.WAITING
