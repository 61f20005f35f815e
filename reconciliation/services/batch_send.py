"""Sending up to 50 outbox rows of one kind to one Xero organisation as ONE request (DESIGN.md 6).

Everything posting.py promises for one row holds here per element (docs/ARCHITECTURE.md, "What the
outbox promises"): each row is claimed with its own compare-and-swap (a row another worker holds
is left out); a row whose earlier outcome is unknown is looked up on its own first and only sent
again if Xero does not have it; the request's audit row is written before the call, one per member
(`AttemptLog.members`, sharing `batch_ref`); Xero's answer is read element by element with the same
rules as a single send; a failure of the whole request (429, 5xx, a timeout after the write) is
applied to every member with the same error classes.

Invoices, credit notes and payments go to `PUT /<Kind>`; allocations to
`PUT /CreditNotes/{id}/Allocations`, one credit note per request. Manual journals and bank
transactions keep the single-element path (posting.posting_send).
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from connectors.errors import ConnectorError
from connectors.xero.client import MAX_BODY_BYTES, MAX_ELEMENTS, ElementResult, XeroClient, dumps
from reconciliation.models import QuarantineItem, XeroAttempt, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services import xero_access
from reconciliation.services.lock_dates import approved_date_open
from reconciliation.services.outbox import for_xero
from reconciliation.services.payout_gate import gates_deferred
from reconciliation.services.posting import (
    BATCHED_KINDS,
    element_outcome,
    existing_lookup,
    request_failed,
    stale_settle,
)
from reconciliation.services.posting_outcomes import hold, mark_posted, set_state

# In the order a sweep sends them: a payment's invoice and an allocation's credit note go first,
# so a dependent released by them goes out in the same sweep.
BATCH_KINDS = BATCHED_KINDS


@dataclass(frozen=True)
class Batch:
    """Due postings that may share one request: one Xero connection, one kind (and for
    allocations one credit note), at most MAX_ELEMENTS, in the order they fell due."""

    connection_id: int
    kind: str
    posting_ids: tuple[int, ...]


def due_batches(posting_ids: Iterable[int], kind: str) -> list[Batch]:
    """Split due postings of `kind` into batches, keeping their order."""
    rows = XeroPosting.objects.filter(pk__in=list(posting_ids), kind=kind).values_list(
        "pk", "connection_id", "depends_on_id"
    )
    found = {pk: (connection_id, depends_on_id) for pk, connection_id, depends_on_id in rows}
    groups: dict[tuple, list[int]] = {}
    for pk in posting_ids:
        if pk in found:
            connection_id, credit_note = found[pk]
            group = (connection_id, credit_note if kind == "Allocations" else None)
            groups.setdefault(group, []).append(pk)
    return [
        Batch(connection_id, kind, tuple(ids[start : start + MAX_ELEMENTS]))
        for (connection_id, _), ids in groups.items()
        for start in range(0, len(ids), MAX_ELEMENTS)
    ]


def batch_send(*, connection_id: int, kind: str, posting_ids: Iterable[int]) -> list[XeroPosting]:
    """Claim, check and send the postings as one request; returns the members this worker claimed."""
    if kind not in BATCH_KINDS:
        raise ValueError(f"{kind} is sent one element at a time (posting.posting_send)")
    connection = XeroConnection.objects.get(pk=connection_id)
    candidates = _candidates(connection, kind, list(posting_ids))
    if not candidates or not connection.can_post():
        return []  # a redelivered task, or a paused connection: nothing to do
    # Built before the claim: a bad configuration must not leave claimed rows behind.
    client, audit = xero_access.xero_batch_client(connection)
    # Each statement touched and its payout's RECEIVE gate are settled once, after every member's
    # outcome is recorded (payout_gate.gates_deferred), not once per member.
    with client, gates_deferred():
        members = _claim(candidates)
        try:
            sendable = _checked_members(client, audit, members)
            if sendable:
                _send(client, audit, kind, sendable)
        except Exception as exc:  # after the claim: we cannot know what Xero saw
            _unexpected([posting for posting, _ in members], exc)
            raise
    return [posting for posting, _ in members]


def _candidates(connection: XeroConnection, kind: str, posting_ids: list[int]) -> list[XeroPosting]:
    rows = list(
        XeroPosting.objects.select_related("connection", "shop", "depends_on")
        .filter(pk__in=posting_ids, connection=connection, kind=kind, state__in=XeroPosting.SENDABLE)
        .order_by("document_date", "id")[:MAX_ELEMENTS]
    )
    if kind == "Allocations" and rows:
        rows = [p for p in rows if _invoice_posted(p)]
        rows = [p for p in rows if p.depends_on_id == rows[0].depends_on_id]  # one credit note's path
    return rows


def _invoice_posted(allocation: XeroPosting) -> bool:
    """An allocation needs its invoice in Xero as well as its credit note (the `depends_on` row).
    The invoice is named by number in the payload; until our own ledger has it POSTED the
    allocation stays due and is looked at again at the next sweep, unclaimed."""
    number = (allocation.payload.get("Invoice") or {}).get("InvoiceNumber")
    if not number:
        return True  # named by id: the planner already knew it was in Xero
    return XeroPosting.objects.filter(
        connection_id=allocation.connection_id,
        kind=XeroPosting.Kind.INVOICE,
        state=XeroPosting.State.POSTED,
        payload__InvoiceNumber=number,
    ).exists()


def _claim(candidates: list[XeroPosting]) -> list[tuple[XeroPosting, str]]:
    """Each row with its own compare-and-swap: a row another worker claimed first is left out.
    The rows won are then read again together, as they are now that they are ours."""
    won: dict[int, str] = {}
    for posting in candidates:
        previous = posting.state
        if XeroPosting.objects.filter(pk=posting.pk, state=previous).update(
            state=XeroPosting.State.SENDING, attempts=F("attempts") + 1, claimed_at=timezone.now()
        ):
            won[posting.pk] = previous
    fresh = XeroPosting.objects.select_related("connection", "shop", "depends_on").in_bulk(list(won))
    return [(fresh[pk], previous) for pk, previous in won.items()]


@dataclass(frozen=True)
class _Checks:
    """What the per-member checks read from the database, read for all claimed members at once
    (two queries, not two per member), after the claim as the single send reads them."""

    source_changed: frozenset[int]  # members with a SOURCE_CHANGED item not resolved
    tried: dict[tuple[int, str, str], frozenset[int]]  # (connection, kind, reference) -> rows tried

    @classmethod
    def of(cls, members: list[tuple[XeroPosting, str]]) -> "_Checks":
        postings = [posting for posting, _ in members]
        if not postings:
            return cls(frozenset(), {})
        changed = (
            QuarantineItem.objects.filter(posting__in=postings, reason=Reason.SOURCE_CHANGED)
            .exclude(status=QuarantineItem.Status.RESOLVED)
            .values_list("posting_id", flat=True)
        )
        rows = XeroPosting.objects.filter(
            connection__in={p.connection_id for p in postings},
            kind__in={p.kind for p in postings},
            lookup_reference__in={p.lookup_reference for p in postings},
            attempts__gt=0,
        ).values_list("connection_id", "kind", "lookup_reference", "pk")
        tried: dict[tuple[int, str, str], set[int]] = {}
        for connection_id, kind, reference, pk in rows:
            tried.setdefault((connection_id, kind, reference), set()).add(pk)
        return cls(frozenset(changed), {identity: frozenset(pks) for identity, pks in tried.items()})


def _checked_members(client: XeroClient, audit, members: list[tuple[XeroPosting, str]]) -> list[XeroPosting]:
    checks = _Checks.of(members)
    sendable = []
    for posting, previous in members:
        if _checked(client, audit, posting, previous, checks):
            sendable.append(posting)
        elif posting.pk in checks.source_changed:
            # stale_settle may have planned its source again, flagging other members of this
            # batch SOURCE_CHANGED: read the checks again for the ones still to come
            checks = _Checks.of(members)
    return sendable


def _checked(client: XeroClient, audit, posting: XeroPosting, previous: str, checks: _Checks) -> bool:
    """May this member be created in the batch? The same checks as a single send, per element;
    lookups are single requests audited against this posting alone."""
    audit.members = [posting]
    if posting.depends_on_id is not None and posting.depends_on.state != XeroPosting.State.POSTED:
        set_state(posting, XeroPosting.State.WAITING, error=f"waits for {posting.depends_on}")
        return False
    if posting.pk in checks.source_changed:  # posting.source_change_open, for every member at once
        stale_settle(client, posting)
        return False
    if _may_exist(posting, previous, checks):
        found = existing_lookup(client, posting)
        if found is None:
            return False  # the lookup failed: still unknown, looked up again later
        if found:
            mark_posted(posting, found)
            return False
    return posting.original_date is None or approved_date_open(posting)


def _may_exist(posting: XeroPosting, previous: str, checks: _Checks) -> bool:
    """Could Xero already hold this document? Batched kinds are many documents per source and
    purpose, so a document's identity is its lookup reference (InvoiceNumber, Reference, ...):
    another row of it that was ever tried (`_Checks.tried_references`) may be in Xero."""
    if (
        previous != XeroPosting.State.READY
        or posting.attempts > 1
        or not posting.idempotency_key.endswith(":0")
    ):
        return True
    identity = (posting.connection_id, posting.kind, posting.lookup_reference)
    return bool(checks.tried.get(identity, frozenset()) - {posting.pk})


def _send(client: XeroClient, audit, kind: str, members: list[XeroPosting]) -> None:
    if not _fits(kind, members):
        _send_in_halves(client, audit, kind, members)
        return
    audit.members = members  # the request's audit rows: one per member, written before the call
    try:
        results = _create(client, kind, members, idempotency_key=batch_key(kind, members))
    except ConnectorError as exc:
        for posting in members:  # the whole request failed: the same error class for every member
            request_failed(posting, exc)
        return
    for posting, result in zip(members, results, strict=True):
        audit.members = [posting]  # a duplicate's lookup belongs to that posting alone
        try:
            element_outcome(client, posting, result)
        except ConnectorError as exc:
            # e.g. the lookup after "must be unique" failed: this member's fate is unknown, the
            # others' outcomes are still recorded
            request_failed(posting, exc)


def _fits(kind: str, members: list[XeroPosting]) -> bool:
    """Is the request body within Xero's 3.5 MB (DESIGN.md 6)? Checked before any request."""
    body = dumps({kind: [for_xero(posting.payload) for posting in members]}).encode()
    return len(body) <= MAX_BODY_BYTES


def _send_in_halves(client: XeroClient, audit, kind: str, members: list[XeroPosting]) -> None:
    """Too large for one request: two smaller batches (each its own member set, so its own key);
    a single document over the limit can never be sent, and finance is told so."""
    if len(members) == 1:
        (posting,) = members
        hold(posting, Reason.XERO_VALIDATION, ["the document is over Xero's 3.5 MB request limit"], lead="")
        return
    half = len(members) // 2
    _send(client, audit, kind, members[:half])
    _send(client, audit, kind, members[half:])


def _create(
    client: XeroClient, kind: str, members: list[XeroPosting], *, idempotency_key: str
) -> list[ElementResult]:
    elements = [for_xero(posting.payload) for posting in members]
    if kind == "Allocations":
        credit_note = members[0].depends_on
        return client.allocate_credit_note(credit_note.xero_id, elements, idempotency_key=idempotency_key)
    unitdp4 = any(_needs_unitdp4(posting.payload) for posting in members)
    return client.create(kind, elements, idempotency_key=idempotency_key, unitdp4=unitdp4)


def _needs_unitdp4(payload: dict) -> bool:
    """A unit price with more than 2 decimals is only kept by Xero with ?unitdp=4 (DESIGN.md 3).
    Sending unitdp=4 for the whole batch leaves 2-decimal prices as they are."""
    return any(
        Decimal(str(line.get("UnitAmount", "0"))).as_tuple().exponent < -2  # type: ignore[operator]
        for line in payload.get("LineItems") or []
    )


def batch_key(kind: str, members: list[XeroPosting]) -> str:
    """The batch request's Idempotency-Key, derived from its members (DESIGN.md 6).

    The same members with the same content give the same key, so a batch sent again after a
    request that never reached Xero (a 429, a refused connection) is the same request to Xero.
    Each member also counts its batch requests that may have reached Xero (answered, or answer
    lost): a member sent again after one of those goes under a new key, never replayed as Xero's
    stored answer (DESIGN.md 6: failed elements are retried in a new batch under a new key).
    """
    answered = _answered(members)
    parts = sorted(f"{p.idempotency_key}#{_content(p.payload)}#{answered.get(p.pk, 0)}" for p in members)
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:48]
    return f"ls:batch:{kind}:{digest}"


def _answered(members: list[XeroPosting]) -> dict[int, int]:
    """Per member, how many of its batch requests may have reached Xero (an answer, a lost answer,
    a 5xx: XeroAttempt.may_have_written). Xero may hold a stored answer under each of those keys,
    so the next request must not reuse one; a 429 or a refused connection never reached it."""
    counts: dict[int, int] = {}
    attempts = XeroAttempt.objects.filter(posting__in=members, method="PUT").exclude(batch_ref="")
    for attempt in attempts:
        if attempt.may_have_written():
            counts[attempt.posting_id] = counts.get(attempt.posting_id, 0) + 1
    return counts


def _content(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _unexpected(members: list[XeroPosting], exc: Exception) -> None:
    """A bug after the claim: every member still SENDING may be in Xero; look them up next."""
    XeroPosting.objects.filter(
        pk__in=[posting.pk for posting in members], state=XeroPosting.State.SENDING
    ).update(
        state=XeroPosting.State.UNKNOWN,
        last_error=f"unexpected: {exc!r}",
        last_error_kind="unexpected",
        next_attempt_at=timezone.now(),  # looked up at the next sweep, never left undue
    )
