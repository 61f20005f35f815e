"""Turning a plan into outbox rows and quarantine items. Nothing here speaks HTTP."""

import hashlib
import json
from collections import defaultdict
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from reconciliation.models import QuarantineItem, Shop, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.planning.types import Plan, PlannedDocument, Problem

# Keys whose values Xero reads as numbers; stored payloads keep them as exact text.
MONEY_KEYS = {"LineAmount", "TaxAmount", "UnitAmount", "Quantity", "Amount"}
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


def plan_apply(*, shop: Shop, plan: Plan, source_ref: str, statement=None, payout=None) -> list[XeroPosting]:
    """Write a plan: postings for its documents, quarantine for its problems.

    Any problem other than a lock date holds everything (nothing of a held statement is posted); a
    lock-date problem still records the planned document, HELD, so finance can approve it re-dated.
    """
    source = {"statement": statement, "payout": payout}
    with transaction.atomic():
        blocking = [p for p in plan.problems if p.code != Reason.LOCK_DATE]
        if blocking or not plan.documents:
            _supersede_unsent(source, keep=())
            quarantine_open(shop=shop, problems=plan.problems, source=source, posting=None)
            _resolve_gone(shop, source_ref, {p.code for p in plan.problems})
            return []
        lock_problems = [p for p in plan.problems if p.code == Reason.LOCK_DATE]
        postings = [
            _posting_for(shop, doc, source, source_ref, held=bool(lock_problems)) for doc in plan.documents
        ]
        postings = [p for p in postings if p is not None]
        for posting in postings:
            if posting.state == XeroPosting.State.HELD:
                quarantine_open(shop=shop, problems=lock_problems, source=source, posting=posting)
        _resolve_gone(shop, source_ref, {p.code for p in plan.problems})
        return postings


def _posting_for(
    shop: Shop, doc: PlannedDocument, source: dict, source_ref: str, *, held: bool
) -> XeroPosting | None:
    payload = stored(doc.payload)
    existing = XeroPosting.objects.filter(purpose=doc.purpose, **source).exclude(
        state=XeroPosting.State.SUPERSEDED
    )
    for posting in existing:
        if posting.payload == payload or posting.original_date is not None:
            # Same document (or one finance already re-dated): nothing new to plan, but a pre-check
            # hold whose lock date has since moved away is released.
            if posting.state == XeroPosting.State.HELD and not held and posting.original_date is None:
                _release_lock_hold(posting)
            return posting
        if posting.state not in UNSENT:
            # Posted or in flight, and the source now says something else: never post a second copy.
            quarantine_open(
                shop=shop,
                problems=[
                    Problem(
                        Reason.SOURCE_CHANGED,
                        f"{source_ref}: the source changed after the document was sent to Xero; "
                        "review the difference and correct it in Xero",
                        source_ref,
                        details={"sent": posting.payload, "now": payload},
                    )
                ],
                source=source,
                posting=posting,
            )
            return None
    _supersede_unsent(source, keep=(), purpose=doc.purpose)
    key = idempotency_key(doc.purpose, payload)
    posting, _ = XeroPosting.objects.get_or_create(
        connection=shop.xero_connection,
        idempotency_key=key,
        defaults={
            "shop": shop,
            "kind": doc.kind,
            "purpose": doc.purpose,
            "lookup_reference": f"{doc.lookup[0]}={doc.lookup[1]}",
            "source_ref": source_ref,
            "payload": payload,
            "document_date": doc.document_date,
            "state": XeroPosting.State.HELD if held else XeroPosting.State.READY,
            **source,
        },
    )
    return posting


def _release_lock_hold(posting: XeroPosting) -> None:
    open_locks = posting.quarantine.filter(reason=Reason.LOCK_DATE, status=QuarantineItem.Status.OPEN)
    if open_locks.exists():
        open_locks.update(status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now())
        posting.state = XeroPosting.State.READY
        posting.save(update_fields=["state"])


def _supersede_unsent(source: dict, *, keep, purpose: str | None = None) -> None:
    postings = XeroPosting.objects.filter(state__in=UNSENT, **source)
    if purpose:
        postings = postings.filter(purpose=purpose)
    postings.exclude(pk__in=[p.pk for p in keep]).update(state=XeroPosting.State.SUPERSEDED)


def quarantine_open(
    *, shop: Shop, problems, source: dict, posting: XeroPosting | None
) -> list[QuarantineItem]:
    """One open item per (what, reason); messages of the same reason are listed together."""
    grouped: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for problem in problems:
        grouped[(problem.source_ref, problem.code)].append(problem)
    items = []
    for (source_ref, code), same in grouped.items():
        message = "\n".join(dict.fromkeys(p.message for p in same))
        defaults = {
            "shop": shop,
            "message": message,
            "details": {"problems": [{"message": p.message, **p.details} for p in same]}
            | ({"planned": posting.payload} if posting else {}),
            "proposed_date": same[0].proposed_date,
            "proposed_action": _proposed_action(code, same[0]),
            "posting": posting,
            "statement": source.get("statement"),
            "payout": source.get("payout"),
        }
        item, _ = QuarantineItem.objects.update_or_create(
            source_ref=source_ref, reason=code, status=QuarantineItem.Status.OPEN, defaults=defaults
        )
        items.append(item)
    return items


def _proposed_action(code: str, problem: Problem) -> str:
    if code == Reason.LOCK_DATE and problem.proposed_date:
        return (
            f"Approve to post dated {problem.proposed_date.isoformat()} (original date kept in the narration)"
        )
    if code in {Reason.UNMAPPED_COMPONENT, Reason.INVALID_MAPPING}:
        return "Fix the map in the admin, then Retry"
    if code == Reason.SOURCE_INCONSISTENT:
        return "Ask TikTok to correct the statement; Retry re-reads it, or Dismiss with a reason"
    return "Review, then Retry or Dismiss with a reason"


def _resolve_gone(shop: Shop, source_ref: str, still: set[str]) -> None:
    """A re-plan that no longer has a problem resolves its open item (e.g. the map was fixed)."""
    QuarantineItem.objects.filter(
        shop=shop, source_ref=source_ref, status=QuarantineItem.Status.OPEN
    ).exclude(reason__in=[*still, Reason.SOURCE_CHANGED, Reason.LOCK_DATE]).update(
        status=QuarantineItem.Status.RESOLVED, resolved_at=timezone.now()
    )
