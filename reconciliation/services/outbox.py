"""Turning a plan into outbox rows and quarantine items. Nothing here speaks HTTP."""

import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from reconciliation.models import QuarantineItem, Shop, XeroPosting
from reconciliation.models.postings import link_to
from reconciliation.models.quarantine import Reason
from reconciliation.planning.types import Plan, PlannedDocument, Problem
from reconciliation.services import notifications
from reconciliation.services.dependencies import as_planned, filled, initial_state, with_placeholder

# Keys whose values Xero reads as numbers; stored payloads keep them as exact text.
MONEY_KEYS = {"LineAmount", "TaxAmount", "UnitAmount", "Quantity", "Amount"}
PLANNER_REASONS = {
    Reason.SOURCE_INCONSISTENT,
    Reason.UNMAPPED_COMPONENT,
    Reason.CURRENCY_MISMATCH,
    Reason.INVALID_MAPPING,
    Reason.UNMAPPED_SKU,
    Reason.UNMAPPED_TAX,
    Reason.UNSUPPORTED_ORDER,
    Reason.ORDER_NOT_INVOICED,
}
UNSENT = (XeroPosting.State.READY, XeroPosting.State.RETRY, XeroPosting.State.HELD, XeroPosting.State.WAITING)


def stored(payload: dict) -> dict:
    """The payload as the outbox keeps it: JSON with Decimals as exact strings."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def for_xero(value):
    """A stored payload back into the element Xero receives: money keys as Decimal (sent as numbers)."""
    if isinstance(value, dict):
        return {
            k: Decimal(v) if k in MONEY_KEYS and isinstance(v, str) else for_xero(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [for_xero(v) for v in value]
    return value


def idempotency_key(purpose: str, payload: dict, generation: int = 0) -> str:
    """Derived from the content, so the same document always carries the same key (<= 128 chars)."""
    canonical = json.dumps(stored(payload), sort_keys=True, separators=(",", ":"))
    return f"ls:{purpose}:{hashlib.sha256(canonical.encode()).hexdigest()[:48]}:{generation}"


def redated(payload: dict, *, new_date, original_date) -> dict:
    """The payload finance approved: moved to `new_date`, the original date kept in its text."""
    payload = dict(payload)
    payload["Date"] = new_date.isoformat()
    note = f" (original date {original_date.isoformat()})"
    for field in ("Narration", "Reference"):
        if field in payload and note not in payload[field]:
            payload[field] += note
    return payload


# Xero definitely did not create these: the document may be replaced by a new plan.
REFUSED = {Reason.XERO_VALIDATION, Reason.LOCK_DATE}


def replaceable(posting: XeroPosting) -> bool:
    """May a new plan supersede this posting? Only if Xero cannot have it (DESIGN.md 6).

    True when it was never sent, when Xero refused the element itself (validation, lock date), or
    when every HTTP write recorded for it is known not to have reached Xero (429, auth and other
    4xx refusals, connection refused: `XeroAttempt.may_have_written`). A timeout after sending, a
    dropped response, a 5xx or a call with no recorded answer may have created it: then it is kept,
    and only a lookup in Xero (posting_send) can tell. UNKNOWN and SENDING are never replaceable.
    """
    if posting.state not in UNSENT:
        return False
    if posting.attempts == 0:
        return True
    if posting.state == XeroPosting.State.HELD and posting.last_error_kind in REFUSED:
        return True
    return not any(attempt.may_have_written() for attempt in posting.http_attempts.all())


def plan_apply(*, shop: Shop, plan: Plan, source_ref: str, source) -> list[XeroPosting]:
    """Write a plan: postings for its documents, quarantine for its problems.

    Any problem other than a lock date holds everything (nothing of a held statement is posted); a
    lock-date problem still records the planned document, HELD, so finance can approve it re-dated.
    A posting Xero may already have is never replaced: a different plan for it is SOURCE_CHANGED.
    `source` is the row the plan is for (a Statement, a Payout; any model with a `content_hash`).
    """
    source_hash = source.content_hash
    with transaction.atomic():
        # Lock the source's postings so a worker cannot claim one while we decide to replace it.
        current = list(
            XeroPosting.objects.select_for_update()
            .filter(**link_to(source))
            .exclude(state=XeroPosting.State.SUPERSEDED)
            .order_by("id")
        )
        blocking = [p for p in plan.problems if p.code != Reason.LOCK_DATE]
        if blocking or not plan.documents:
            for posting in current:
                _retire(posting, shop, source, source_ref, now=None)
            quarantine_open(shop=shop, problems=plan.problems, source=source, posting=None)
            _resolve_gone(shop, source_ref, {p.code for p in plan.problems})
            return []
        lock_problems = [p for p in plan.problems if p.code == Reason.LOCK_DATE]
        postings = []
        by_key: dict[str, XeroPosting] = {}
        earlier = _dependencies_planned_before(shop, plan.documents)
        keys_used = _keys_used(shop, plan.documents)
        # Documents others depend on first, so a dependent finds its dependency's row.
        for doc in sorted(plan.documents, key=lambda d: bool(d.depends_on)):
            mine = [p for p in current if p.purpose == doc.purpose]
            dependency = _dependency(shop, doc, by_key, earlier)
            posting = _posting_for(
                shop,
                doc,
                mine,
                source,
                source_ref,
                source_hash,
                held=bool(lock_problems),
                dependency=dependency,
                keys_used=keys_used,
            )
            if posting is not None:
                postings.append(posting)
                if doc.key:
                    by_key[doc.key] = posting
                if (
                    posting.state == XeroPosting.State.HELD
                    and lock_problems
                    and posting.original_date is None
                ):
                    quarantine_open(shop=shop, problems=lock_problems, source=source, posting=posting)
        _resolve_gone(shop, source_ref, {p.code for p in plan.problems})
        return postings


def _dependencies_planned_before(shop: Shop, documents: list[PlannedDocument]) -> dict[str, XeroPosting]:
    """The rows of earlier plans on this Xero connection that `documents` depend on, by key (the
    newest row of each key not set aside), read and locked in one query: a statement of 1,000
    orders depends on 1,000 invoices planned before it. Keys this plan plans itself are left to
    `_dependency`: this plan may set their rows aside as it goes."""
    planned_here = {doc.key for doc in documents if doc.key}
    keys = {doc.depends_on[0] for doc in documents if doc.depends_on} - planned_here
    if not keys:
        return {}
    found: dict[str, XeroPosting] = {}
    for posting in _dependency_rows(shop).filter(plan_key__in=keys):
        found.setdefault(posting.plan_key, posting)
    return found


def _dependency_rows(shop: Shop):
    # Locked: a send posting one right now either commits first (we then see it POSTED) or waits
    # for this plan to commit (and then releases the dependent it can now see).
    return (
        XeroPosting.objects.select_for_update()
        .filter(connection=shop.xero_connection)
        .exclude(state__in=[XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED])
        .order_by("-id")
    )


def _keys_used(shop: Shop, documents: list[PlannedDocument]) -> set[str]:
    """Which of the documents' keys some posting on this connection already has: only a key used
    before can have dependents left behind by an earlier row (`_posting_for`, orphans)."""
    keys = {doc.key for doc in documents if doc.key}
    if not keys:
        return set()
    return set(
        XeroPosting.objects.filter(connection=shop.xero_connection, plan_key__in=keys).values_list(
            "plan_key", flat=True
        )
    )


def _dependency(
    shop: Shop, doc: PlannedDocument, by_key: dict[str, XeroPosting], earlier: dict[str, XeroPosting]
) -> XeroPosting | None:
    """The posting whose Xero id `doc` needs: its first `depends_on` key, planned in this plan
    (`by_key`) or in an earlier one on the same Xero connection (an invoice's plan before its
    settlement's: `earlier`, read for the whole plan at once, else read now)."""
    if not doc.depends_on:
        return None
    key = doc.depends_on[0]
    found = by_key.get(key) or earlier.get(key) or _dependency_rows(shop).filter(plan_key=key).first()
    if found is None:
        raise ValueError(f"{doc.key or doc.purpose} depends on {key!r}, which is not planned")
    return found


def _posting_for(
    shop,
    doc: PlannedDocument,
    current,
    source,
    source_ref,
    source_hash,
    *,
    held,
    dependency=None,
    keys_used: set[str] | None = None,
) -> XeroPosting | None:
    payload = stored(doc.payload if dependency is None else with_placeholder(doc.payload, dependency.kind))
    if doc.key:
        current = [p for p in current if p.plan_key in ("", doc.key)]
    for posting in current:
        wanted = payload
        if posting.original_date is not None:
            wanted = stored(
                redated(payload, new_date=posting.document_date, original_date=posting.original_date)
            )
        if as_planned(posting) == wanted:
            if posting.state == XeroPosting.State.DISMISSED:
                return None  # finance decided this document is not to be posted
            if posting.source_hash != source_hash:
                # the source changed in ways this document does not show (an order's status moved
                # on): it stands as planned from the new data, which is not planned again each sync
                XeroPosting.objects.filter(pk=posting.pk).update(source_hash=source_hash)
            _follow(posting, dependency)
            if posting.state == XeroPosting.State.HELD and not held and posting.original_date is None:
                _release_lock_hold(posting)
            return posting
        if posting.state == XeroPosting.State.DISMISSED:
            continue
        if not _retire(posting, shop, source, source_ref, now=payload):
            return None
    new = _new_posting(shop, doc, payload, source, source_ref, source_hash, held=held, dependency=dependency)
    if doc.key and (keys_used is None or doc.key in keys_used):
        # dependents planned from other sources (a statement's payment of this order's invoice)
        # follow the document planned again, as those of this plan do (_follow)
        orphans = XeroPosting.objects.select_for_update().filter(
            depends_on__connection=shop.xero_connection,
            depends_on__plan_key=doc.key,
            depends_on__state=XeroPosting.State.SUPERSEDED,
        )
        for dependent in orphans:
            _follow(dependent, new)
    return new


def _follow(posting: XeroPosting, dependency: XeroPosting | None) -> None:
    """An unsent dependent whose document was planned again as a new row waits for that row."""
    if dependency is None or posting.depends_on_id in (None, dependency.pk) or posting.attempts:
        return
    if posting.state not in (XeroPosting.State.WAITING, XeroPosting.State.READY):
        return
    planned = as_planned(posting)
    posting.depends_on = dependency
    posting.state = initial_state(dependency, XeroPosting.State.READY)
    posting.payload = filled(planned, dependency.xero_id) if dependency.xero_id else planned
    posting.save(update_fields=["depends_on", "state", "payload"])


def _retire(posting: XeroPosting, shop, source, source_ref, *, now) -> bool:
    """Supersede a posting the plan no longer wants; if Xero may have it, raise SOURCE_CHANGED."""
    if posting.state in (XeroPosting.State.DISMISSED, XeroPosting.State.SUPERSEDED):
        return True
    if replaceable(posting):
        XeroPosting.objects.filter(pk=posting.pk).update(state=XeroPosting.State.SUPERSEDED)
        posting.quarantine.filter(status=QuarantineItem.Status.OPEN).update(
            status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now()
        )
        return True
    quarantine_open(
        shop=shop,
        problems=[
            Problem(
                Reason.SOURCE_CHANGED,
                source_changed_message(posting, source_ref),
                source_ref,
                details={"sent": posting.payload, "now": now},
            )
        ],
        source=source,
        posting=posting,
    )
    return False


def source_changed_message(posting: XeroPosting, source_ref: str, *, found: bool = False) -> str:
    """What finance reads on SOURCE_CHANGED: it says "sent" only of a document Xero may have."""
    if posting.state == XeroPosting.State.POSTED or found:
        return (
            f"{source_ref}: the source changed after {posting.lookup_reference} was posted to Xero; "
            "review the difference and correct it in Xero"
        )
    return (
        f"{source_ref}: the source changed after {posting.lookup_reference} was sent to Xero with no "
        f"certain answer (now {posting.get_state_display().lower()}); it will not be sent again as it "
        "was: it is looked up in Xero, and if Xero does not have it, planned again from the new data"
    )


def _new_posting(
    shop, doc: PlannedDocument, payload, source, source_ref, source_hash, *, held, dependency=None
) -> XeroPosting:
    state = initial_state(dependency, XeroPosting.State.HELD if held else XeroPosting.State.READY)
    fields = {
        "shop": shop,
        "kind": doc.kind,
        "purpose": doc.purpose,
        "lookup_reference": f"{doc.lookup[0]}={doc.lookup[1]}",
        "source_ref": source_ref,
        "source_hash": source_hash,
        "payload": payload,
        "document_date": doc.document_date,
        "state": state,
        "plan_key": doc.key,
        "depends_on": dependency,
        **link_to(source),
    }
    planned = payload  # the key is derived from the placeholder form, filled in or not
    if dependency is not None and dependency.state == XeroPosting.State.POSTED:
        fields["payload"] = filled(payload, dependency.xero_id)
    generation = 0
    while True:
        key = idempotency_key(doc.purpose, planned, generation)
        earlier = XeroPosting.objects.filter(connection=shop.xero_connection, idempotency_key=key).first()
        if earlier is None:
            return XeroPosting.objects.create(connection=shop.xero_connection, idempotency_key=key, **fields)
        if earlier.state == XeroPosting.State.SUPERSEDED and earlier.attempts == 0:
            # The same content planned again after being set aside unsent: bring that row back.
            for name, value in fields.items():
                setattr(earlier, name, value)
            earlier.save()
            return earlier
        generation += 1  # that key was used with Xero already; a new request needs a new key


def _release_lock_hold(posting: XeroPosting) -> None:
    open_locks = posting.quarantine.filter(reason=Reason.LOCK_DATE, status=QuarantineItem.Status.OPEN)
    if open_locks.exists():
        open_locks.update(status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now())
        posting.state = XeroPosting.State.READY
        posting.save(update_fields=["state"])


def quarantine_open(*, shop: Shop, problems, source, posting: XeroPosting | None) -> list[QuarantineItem]:
    """One open item per (what, reason), or per (document, reason) when `posting` is given; messages
    of the same reason are listed together.
    `source` is the row held (a Statement, a Payout, ...) or None (a connection, an unreadable record)."""
    grouped: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for problem in problems:
        grouped[(problem.source_ref, problem.code)].append(problem)
    items, opened = [], []
    for (source_ref, code), same in grouped.items():
        message = "\n".join(dict.fromkeys(p.message for p in same))
        if QuarantineItem.objects.filter(
            source_ref=source_ref, reason=code, message=message, status=QuarantineItem.Status.DISMISSED
        ).exists():
            continue  # finance already dismissed exactly this problem
        defaults = {
            "shop": shop,
            "message": message,
            "details": {"problems": [{"message": p.message, **p.details} for p in same]}
            | ({"planned": posting.payload} if posting else {}),
            "proposed_date": same[0].proposed_date,
            "proposed_action": _proposed_action(code, same[0]),
            "posting": posting,
            **link_to(source),
        }
        # an item about a planned document is that document's own; others are one per source_ref
        which = {"posting": posting} if posting is not None else {"source_ref": source_ref, "posting": None}
        item = _same_problem(which, code)
        if item is None:
            item = QuarantineItem.objects.create(
                **{**defaults, **which, "reason": code, "source_ref": source_ref}
            )
            opened.append(item.pk)
        else:
            # the same problem found again (after a retry, or a later sync): the same item, open,
            # with today's message; the notes of earlier retries and decisions stay, and it is not emailed again
            kept = {
                key: item.details[key]
                for key in ("retries", "decisions", "emailed_at")
                if item.details.get(key)
            }
            for name, value in {**defaults, "source_ref": source_ref}.items():
                setattr(item, name, value)
            item.details = {**item.details, **kept}
            item.status = QuarantineItem.Status.OPEN
            item.save()
        items.append(item)
    notifications.quarantine_opened(item_ids=opened)  # Finance hears of new items (or a digest)
    return items


def _same_problem(which: dict, code: str) -> QuarantineItem | None:
    """The open item of this problem; or, for a document Xero was asked to take again by a retry,
    the item waiting (approved) for Xero's answer: a refusal reopens it rather than opening another
    (issue 7, item 4). An item approved otherwise (a re-dated lock-date item) stays the decision it
    was, and a new refusal is a new item."""
    found = QuarantineItem.objects.filter(**which, reason=code, status=QuarantineItem.Status.OPEN).first()
    if found is None and which.get("posting") is not None:
        found = (
            QuarantineItem.objects.filter(
                **which, reason=code, status=QuarantineItem.Status.APPROVED, details__has_key="retries"
            )
            .order_by("-id")
            .first()
        )
    return found


def _proposed_action(code: str, problem: Problem) -> str:
    if code == Reason.LOCK_DATE and problem.proposed_date:
        return (
            f"Approve to post dated {problem.proposed_date.isoformat()} (original date kept in the narration)"
        )
    if code in {Reason.UNMAPPED_COMPONENT, Reason.INVALID_MAPPING, Reason.UNMAPPED_SKU, Reason.UNMAPPED_TAX}:
        return "Fix the map in the admin, then Retry"
    if code == Reason.SOURCE_INCONSISTENT:
        return "Ask TikTok to correct the statement; Retry re-reads it, or Dismiss with a reason"
    return "Review, then Retry or Dismiss with a reason"


def _resolve_gone(shop: Shop, source_ref: str, still: set[str]) -> None:
    """A re-plan without a planner problem resolves its open item (e.g. the map was fixed). Items on
    a posting (Xero's refusals, lock dates, changes after sending) close with that posting instead."""
    QuarantineItem.objects.filter(
        shop=shop,
        source_ref=source_ref,
        status=QuarantineItem.Status.OPEN,
        posting__isnull=True,
        reason__in=PLANNER_REASONS - still,
    ).update(status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now())
