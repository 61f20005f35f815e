"""Which Accounting API resource a request is for, and the batch semantics around it (DESIGN.md 6).

Batches are not transactional: each element is checked and stored on its own, in order, so a later
element sees the earlier ones (a repeated invoice number in one batch fails the second time). With
`summarizeErrors=false` the answer is HTTP 200 and every element says how it went; without it any
failed element turns the answer into HTTP 400 listing only the failed elements, although the valid
ones were still created (the behaviour behind DESIGN.md's "always send summarizeErrors=false").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.xero.sandbox_documents import (
    create_bank_transaction,
    create_contact,
    create_credit_note,
    create_invoice,
)
from connectors.xero.sandbox_journals import create_manual_journal
from connectors.xero.sandbox_settlement import (
    allocate_credit_note,
    change_status,
    create_payment,
    delete_payment,
)
from connectors.xero.sandbox_state import Ctx, OrgState, Outcome
from connectors.xero.sandbox_wire import (
    ZERO_ID,
    BadRequest,
    api_exception,
    envelope,
    matches,
    page_of,
    problem,
    where_filter,
)


@dataclass(frozen=True)
class Collection:
    name: str
    id_field: str
    store: str
    create: Callable[[OrgState, dict, Ctx], Outcome]


COLLECTIONS = {
    c.name.lower(): c
    for c in (
        Collection("ManualJournals", "ManualJournalID", "manual_journals", create_manual_journal),
        Collection("BankTransactions", "BankTransactionID", "bank_transactions", create_bank_transaction),
        Collection("Invoices", "InvoiceID", "invoices", create_invoice),
        Collection("CreditNotes", "CreditNoteID", "credit_notes", create_credit_note),
        Collection("Payments", "PaymentID", "payments", create_payment),
        Collection("Contacts", "ContactID", "contacts", create_contact),
    )
}
# Read-only settings: (path as Xero spells it, envelope key, records).
SETTINGS = {
    "organisation": ("Organisation", "Organisations", lambda s: [s.org.as_xero()]),
    "accounts": ("Accounts", "Accounts", lambda s: [a.as_xero() for a in s.accounts.values()]),
    "taxrates": ("TaxRates", "TaxRates", lambda s: [t.as_xero() for t in s.tax_rates.values()]),
    "items": ("Items", "Items", lambda s: list(s.items.values())),
}


def canonical_path(parts: list[str]) -> str | None:
    """The path with Xero's spelling (paths are case-insensitive at Xero, templates in the spec are
    not), or None when the sandbox does not serve it."""
    if not parts:
        return None
    head = parts[0].lower()
    if head in SETTINGS and len(parts) == 1:
        return "/" + SETTINGS[head][0]
    if head not in COLLECTIONS or len(parts) > 3:
        return None
    tail = parts[1:]
    if len(tail) == 2:
        if head != "creditnotes" or tail[1].lower() != "allocations":
            return None
        tail = [tail[0], "Allocations"]
    return "/" + "/".join([COLLECTIONS[head].name, *tail])


def serve(state: OrgState, method: str, parts: list[str], query: dict, body, ctx: Ctx) -> tuple[int, dict]:
    path = canonical_path(parts)
    if path is None:
        return 404, problem(404, "Not Found", f"The sandbox does not serve {method} /{'/'.join(parts)}")
    head = parts[0].lower()
    if head in SETTINGS:
        if method != "GET":
            return 404, problem(404, "Not Found", f"The sandbox serves {path} read-only")
        _, key, records = SETTINGS[head]
        return 200, envelope(key, _select(records(state), query), ctx.now)
    collection = COLLECTIONS[head]
    if method == "GET":
        return _get(state, collection, parts, query, ctx)
    if method not in ("PUT", "POST") or (method == "PUT" and len(parts) == 2):
        return 404, problem(404, "Not Found", f"Xero has no {method} {path}")
    if len(parts) == 3:
        return _allocate(state, parts[1], query, body, ctx)
    path_id = parts[1] if len(parts) == 2 else None
    elements = _elements(body, collection.name)
    outcomes = [_write_one(state, collection, method, data, path_id, ctx) for data in elements]
    return batch_response(collection.name, outcomes, query, ctx)


def _select(records: list[dict], query: dict) -> list[dict]:
    terms = where_filter(query.get("where"))
    return [r for r in records if matches(r, terms)]


def _get(
    state: OrgState, collection: Collection, parts: list[str], query: dict, ctx: Ctx
) -> tuple[int, dict]:
    documents = getattr(state, collection.store)
    if len(parts) == 2:
        found = state.find(documents, collection.id_field, parts[1])
        if found is None:
            return 404, problem(
                404, "Not Found", f"No {collection.name} with {collection.id_field} {parts[1]}"
            )
        return 200, envelope(collection.name, [found], ctx.now)
    if len(parts) == 3:
        return 404, problem(404, "Not Found", "The sandbox does not list allocations on their own")
    page, pagination = page_of(_select(documents, query), query)
    body = envelope(collection.name, page, ctx.now)
    if pagination:
        body["pagination"] = pagination
    return 200, body


def _elements(body, collection: str) -> list[dict]:
    """Xero takes the plural envelope (`{"Invoices": [...]}`) or, on some operations such as
    POST /Payments, a single object."""
    if not isinstance(body, dict):
        raise BadRequest("JSON for post data was invalid: expected an object")
    elements = body.get(collection, [body])
    if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
        raise BadRequest(f"JSON for post data was invalid: {collection} must be an array of objects")
    if not elements:
        raise BadRequest(f"No {collection} were supplied", error_type="ValidationException", number=10)
    return elements


def _write_one(
    state, collection: Collection, method: str, data: dict, path_id: str | None, ctx: Ctx
) -> Outcome:
    target_id = data.get(collection.id_field) or path_id
    if not target_id or target_id == ZERO_ID:
        return collection.create(state, data, ctx)
    existing = state.find(getattr(state, collection.store), collection.id_field, target_id)
    if existing is None:
        return Outcome(
            {collection.id_field: ZERO_ID}, errors=[f"{collection.id_field} {target_id} was not found."]
        )
    if method == "PUT":
        # PUT only creates; POST is Xero's "update or create", which our client never uses.
        return Outcome(
            existing, errors=[f"{collection.id_field} {target_id} already exists; PUT only creates."]
        )
    if collection.name == "Payments":
        return delete_payment(state, existing, data, ctx)
    if collection.name == "Contacts":
        return Outcome(existing, errors=["The sandbox does not model contact updates."])
    return change_status(state, collection.name, existing, data, ctx)


def _allocate(state: OrgState, credit_note_id: str, query: dict, body, ctx: Ctx) -> tuple[int, dict]:
    credit_note = state.find(state.credit_notes, "CreditNoteID", credit_note_id)
    if credit_note is None:
        return 404, problem(404, "Not Found", f"No credit note with CreditNoteID {credit_note_id}")
    outcomes = [
        allocate_credit_note(state, credit_note, data, ctx) for data in _elements(body, "Allocations")
    ]
    return batch_response("Allocations", outcomes, query, ctx)


def batch_response(collection: str, outcomes: list[Outcome], query: dict, ctx: Ctx) -> tuple[int, dict]:
    elements = [_element(outcome) for outcome in outcomes]
    failed = [element for element, outcome in zip(elements, outcomes, strict=True) if outcome.errors]
    if failed and query.get("summarizeErrors", "true").lower() != "false":
        return 400, api_exception(failed)
    return 200, envelope(collection, elements, ctx.now)


def _element(outcome: Outcome) -> dict:
    element = dict(outcome.document)  # never decorate the stored document itself
    if outcome.errors:
        element.update(HasErrors=True, StatusAttributeString="ERROR")
        element["ValidationErrors"] = [{"Message": m} for m in outcome.errors]
        if "HasValidationErrors" in element:
            element["HasValidationErrors"] = True
    else:
        element["StatusAttributeString"] = "WARNING" if outcome.warnings else "OK"
    if outcome.warnings:
        element["Warnings"] = [{"Message": m} for m in outcome.warnings]
    return element
