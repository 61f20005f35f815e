"""A payout's RECEIVE waits for its statements (DESIGN.md 3).

The bank transaction puts the deposit through the clearing account; until every statement of that
payout has its journal in Xero (or finance has dismissed it), clearing would show money TikTok has
paid but we have not explained. So the RECEIVE waits, visibly, rather than half-post the payout.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django_q.tasks import async_task

from reconciliation.models import Payout, QuarantineItem, Statement, XeroPosting

SETTLED = (XeroPosting.State.POSTED, XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED)
# What a statement moves through clearing: its journal, and in order-invoice mode also the
# payments of its orders' invoices and the refunds of its credit notes (planning/order_settlement).
STATEMENT_PURPOSES = ("statement_journal", "order_settlement_journal", "order_payment", "credit_note_refund")
# Statements whose postings reached Xero inside `gates_deferred()`, settled once on leaving it.
_deferred: ContextVar[set[int] | None] = ContextVar("payout_gate_deferred", default=None)


def statements_pending(payout: Payout) -> list[str]:
    """Statement ids of this payout that are held or whose journal is not in Xero yet."""
    statements = ContentType.objects.get_for_model(Statement)
    held = QuarantineItem.objects.filter(
        source_type=statements, source_id=OuterRef("pk"), status=QuarantineItem.Status.OPEN
    )
    unposted = XeroPosting.objects.filter(
        source_type=statements, source_id=OuterRef("pk"), purpose__in=STATEMENT_PURPOSES
    ).exclude(state__in=SETTLED)
    pending = Statement.objects.filter(shop=payout.shop, payment_id=payout.payment_id).filter(
        Exists(held) | Exists(unposted)
    )
    return list(pending.values_list("statement_id", flat=True))


def receive_gate(*, payout: Payout) -> None:
    """Park the payout's unsent RECEIVE while statements are pending; release it when none are."""
    receives = payout.postings.filter(purpose="payout_receive")
    if statements_pending(payout):
        receives.filter(state=XeroPosting.State.READY, attempts=0).update(state=XeroPosting.State.WAITING)
        return
    released = list(receives.filter(state=XeroPosting.State.WAITING).values_list("pk", flat=True))
    if released:
        XeroPosting.objects.filter(pk__in=released, state=XeroPosting.State.WAITING).update(
            state=XeroPosting.State.READY
        )
        transaction.on_commit(
            lambda: [
                async_task("reconciliation.tasks.send_posting", pk, group="xero-send") for pk in released
            ]
        )


def receives_release(*, statement: Statement | None = None) -> None:
    """Re-check waiting RECEIVEs: of one statement's payout, or all of them (the sweep)."""
    payouts = Payout.objects.filter(postings__state=XeroPosting.State.WAITING).distinct()
    if statement is not None:
        payouts = payouts.filter(shop_id=statement.shop_id, payment_id=statement.payment_id)
    for payout in payouts:
        receive_gate(payout=payout)


def statement_posted(statement_id: int) -> None:
    """A posting of this statement reached Xero: its state is refreshed and its payout's RECEIVE
    re-checked, at once, or once for the whole batch when called inside `gates_deferred()`."""
    pending = _deferred.get()
    if pending is None:
        statements_settle([statement_id])
    else:
        pending.add(statement_id)


@contextmanager
def gates_deferred() -> Iterator[None]:
    """Record a batch's outcomes first, then settle each statement it touched once and gate each
    payout once: 50 payments of one statement re-checked its payout 50 times, each a handful of
    queries, for the same answer. Settled on the way out even after an error, so a statement
    whose posting was recorded POSTED never keeps a stale state (the sweep's receives_release()
    is the second net for the RECEIVE)."""
    if _deferred.get() is not None:
        yield  # already deferred by an outer block: it settles
        return
    pending: set[int] = set()
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
        if pending:
            statements_settle(pending)


def statements_settle(statement_ids: Iterable[int]) -> None:
    """Refresh each statement's state, then re-check the waiting RECEIVE of each payout once."""
    statements = list(Statement.objects.filter(pk__in=list(statement_ids)).order_by("pk"))
    for statement in statements:
        statement_state_refresh(statement)
    for shop_id, payment_id in sorted({(s.shop_id, s.payment_id) for s in statements}):
        payouts = Payout.objects.filter(
            postings__state=XeroPosting.State.WAITING, shop_id=shop_id, payment_id=payment_id
        ).distinct()
        for payout in payouts:
            receive_gate(payout=payout)


def statement_state_refresh(statement: Statement) -> None:
    """A statement is HELD while any item about it (or about one of its postings) is open, PLANNED
    otherwise; called when an item is decided or a posting reaches Xero, so the state never lags."""
    statements = ContentType.objects.get_for_model(Statement)
    open_items = QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN).filter(
        Q(source_type=statements, source_id=statement.pk)
        | Q(posting__source_type=statements, posting__source_id=statement.pk)
    )
    state = Statement.State.HELD if open_items.exists() else Statement.State.PLANNED
    Statement.objects.filter(pk=statement.pk).exclude(state=state).update(state=state)
