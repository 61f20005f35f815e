"""Posting mode "order invoices" after the invoice: a credit note for each return or cancellation
TikTok grants on an invoiced order, allocated to the invoice while it is open, otherwise refunded
from clearing when the refund settles (docs/ARCHITECTURE.md, "Orders").

Each credited TikTokReturn / TikTokCancellation row is the source of its own credit note and
allocation (`plan_apply(source=row)`), so a refund held for finance never touches its order's
invoice, and Retry re-plans that refund alone (services/sources.py).

What a credit allocates follows TikTok's statements (StatementOrder, recorded when a statement is
read, before any is planned): while no statement we have read settles the order's sale, or when the
one that does nets this refund with it, the credit goes to the invoice (up to what earlier credits
left open); when a statement settled the sale without it, or a statement's payment of the invoice
is planned, the credit is refunded from clearing by the statement that settles the refund. Once an
allocation is planned its amount is kept on every re-plan. A statement pays, of an order's
documents, the combination that adds up to what it settles for that order (settled_documents).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations, product

from django.db import transaction

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok import StatementFacts
from reconciliation.domain.tiktok_orders import OrderFacts, order_facts
from reconciliation.domain.tiktok_refunds import (
    CREDITED_STATUSES,
    REFUND_RETURN_TYPES,
    OrderRefund,
    is_credited,
    refund_facts,
    refund_ref,
)
from reconciliation.models import (
    QuarantineItem,
    Shop,
    Statement,
    StatementOrder,
    TikTokCancellation,
    TikTokOrder,
    TikTokReturn,
    XeroPosting,
)
from reconciliation.models.postings import link_to
from reconciliation.planning.order_credit import (
    InvoiceState,
    allocated_tax,
    credit_document,
    credit_note_key,
    plan_order_credit,
)
from reconciliation.planning.order_invoice import (
    expected_invoice_total,
    invoice_key,
    invoice_number,
    tax_kept_by_tiktok,
)
from reconciliation.planning.order_settlement import (
    REFUND_COVERED,
    SALE_COVERED,
    OrderDocument,
    documents_settled,
    order_covered,
)
from reconciliation.planning.types import Information, Plan, Problem
from reconciliation.services.outbox import plan_apply

GONE = (XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED)
PAYMENT_PURPOSES = ("order_payment", "credit_note_refund")


@dataclass
class Credit:
    """A credited return or cancellation of one order, read (`refund`) or held (`problems`)."""

    row: TikTokReturn | TikTokCancellation
    kind: str
    refund: OrderRefund | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return refund_ref(self.row.order_id, self.refund_id, self.kind)

    @property
    def refund_id(self) -> str:
        return self.row.return_id if self.kind == "return" else self.row.cancel_id

    @property
    def key(self) -> str:
        return credit_note_key(self.row.order_id, self.refund_id)


def credited_rows(shop: Shop, order_ids: Iterable[str] | None = None) -> dict[str, list[tuple[str, object]]]:
    """The shop's granted returns and cancellations (domain/tiktok_refunds.is_credited), by order id,
    oldest request first: [(kind, row)]."""
    returns = TikTokReturn.objects.filter(
        shop=shop, status__in=CREDITED_STATUSES["return"], return_type__in=REFUND_RETURN_TYPES
    )
    cancellations = TikTokCancellation.objects.filter(shop=shop, status__in=CREDITED_STATUSES["cancellation"])
    if order_ids is not None:
        ids = list(order_ids)
        returns, cancellations = returns.filter(order_id__in=ids), cancellations.filter(order_id__in=ids)
    found: dict[str, list[tuple[str, object]]] = defaultdict(list)
    for kind, rows in (("return", returns), ("cancellation", cancellations)):
        for row in rows.select_related("source"):
            if is_credited(row.source.payload, kind):
                found[row.order_id].append((kind, row))
    for rows in found.values():
        rows.sort(key=lambda pair: (pair[1].source.payload.get("create_time") or 0, _id(*pair)))
    return found


def _id(kind: str, row) -> str:
    return row.return_id if kind == "return" else row.cancel_id


def order_credits(facts: OrderFacts, rows: list[tuple[str, object]], zone: str) -> list[Credit]:
    """Each credited row read against the order; a line refunded by an earlier request is refunded
    once (the later request is held, SOURCE_INCONSISTENT)."""
    credits, claimed = [], {}
    for kind, row in rows:
        refund, problems = refund_facts(row.source.payload, kind=kind, order=facts, timezone=zone)
        credit = Credit(row, kind, refund, problems)
        if refund is not None:
            twice = [line for line in refund.line_ids if line in claimed]
            if twice:
                message = (
                    f"{credit.ref}: refunds line(s) {', '.join(twice)} already credited by refund "
                    f"{', '.join(sorted({claimed[line] for line in twice}))}"
                )
                credit.problems.append(Problem("SOURCE_INCONSISTENT", message, credit.ref))
                credit.refund = None
            else:
                claimed.update(dict.fromkeys(refund.line_ids, credit.refund_id))
        credits.append(credit)
    return credits


class OrderLedger:
    """What the outbox holds for some orders of one Xero connection: their invoices, credit notes
    and allocations (live postings by planning key), the statements paying them, and what each
    statement we have read settles of them (StatementOrder)."""

    def __init__(self, shop: Shop, keys: Iterable[str], order_ids: Iterable[str] = ()):
        keys = list(keys)
        live = (
            XeroPosting.objects.filter(connection=shop.xero_connection, plan_key__in=keys)
            .exclude(state__in=GONE)
            .order_by("id")
        )
        self.postings = {p.plan_key: p for p in live}
        payments = (
            XeroPosting.objects.filter(
                connection=shop.xero_connection,
                purpose__in=PAYMENT_PURPOSES,
                depends_on__plan_key__in=keys,
            )
            .exclude(state__in=GONE)
            .values_list("depends_on__plan_key", "plan_key")
        )
        self.payments: dict[str, list[str]] = defaultdict(list)
        for paid, key in payments:
            self.payments[paid].append(key)
        self.settled: dict[str, list[StatementOrder]] = defaultdict(list)
        rows = StatementOrder.objects.filter(
            statement__shop=shop, order_id__in=list(order_ids)
        ).select_related("statement")
        for row in rows.order_by("statement__statement_date", "statement_id"):
            self.settled[row.order_id].append(row)

    def allocated(self, credit_key: str) -> Decimal | None:
        posting = self.postings.get(f"{credit_key}:allocation")
        return None if posting is None else Decimal(str(posting.payload["Amount"]))

    def paid_elsewhere(self, key: str, statement_id: str | None = None) -> bool:
        """Does a statement (other than `statement_id`) have a payment of this document planned?"""
        return any(not k.endswith(f":payment {statement_id}") for k in self.payments.get(key, ()))


def ledger_keys(order_id: str, credits: list[Credit]) -> list[str]:
    keys = [invoice_key(order_id)]
    for credit in credits:
        keys += [credit.key, f"{credit.key}:allocation"]
    return keys


def credits_plan(*, shop: Shop, context, order_ids: list[str] | None = None) -> dict[str, int]:
    """Plan the credit note of every granted return and cancellation of the shop's invoiced orders
    (sync: after the invoices, before the statements). `context`: order_plan's per-shop context.
    `order_ids`: only those orders' refunds. Returns counts: credit notes planned, held, and
    unchanged (posted from the same data, or nothing to credit)."""
    counts = {"credit_notes_planned": 0, "credit_notes_held": 0, "credit_notes_unchanged": 0}
    if context.zone is None:
        return counts
    by_order = credited_rows(shop, order_ids)
    orders = {
        o.order_id: o
        for o in TikTokOrder.objects.filter(shop=shop, order_id__in=list(by_order)).select_related("source")
    }
    for order_id, rows in by_order.items():
        order = orders.get(order_id)
        facts = order_facts(order.source.payload, timezone=context.zone)[0] if order else None
        if facts is None:
            continue  # the order is not pulled (or unreadable, and its own plan holds it)
        credits = order_credits(facts, rows, context.zone)
        ledger = OrderLedger(shop, ledger_keys(order_id, credits), [order_id])
        places = credit_places(facts, credits, ledger, context)  # once per order: the ledger is as read
        for credit in credits:
            outcome = _credit_plan(credit, facts, ledger, context, places)
            counts[f"credit_notes_{outcome}"] += 1
    return counts


def credit_plan_one(row, *, context) -> Plan:
    """Plan one return's or cancellation's credit note again (Retry after a map fix)."""
    kind = "return" if isinstance(row, TikTokReturn) else "cancellation"
    order = TikTokOrder.objects.filter(shop=row.shop, order_id=row.order_id).select_related("source").first()
    facts = order_facts(order.source.payload, timezone=context.zone)[0] if order and context.zone else None
    if facts is None:
        return Plan((), ())
    rows = credited_rows(row.shop, [row.order_id]).get(row.order_id, [])
    everyone = order_credits(facts, rows, context.zone)
    mine = [c for c in everyone if c.row.pk == row.pk and c.kind == kind]
    if not mine:
        return Plan((), ())
    ledger = OrderLedger(row.shop, ledger_keys(row.order_id, everyone), [row.order_id])
    _credit_plan(mine[0], facts, ledger, context, credit_places(facts, everyone, ledger, context))
    return Plan((), ())


def _credit_plan(
    credit: Credit, facts: OrderFacts, ledger: OrderLedger, context, places: dict[str, str]
) -> str:
    row, shop = credit.row, context.shop
    live = XeroPosting.objects.filter(**link_to(row)).exclude(state__in=GONE)
    if ledger.postings.get(invoice_key(facts.order_id)) is None:
        # No invoice to credit (not invoiced, or its unsent invoice was retired when the order was
        # cancelled): what was planned for this refund earlier goes too (SOURCE_CHANGED if sent).
        if live.exists():
            note = Information(
                "ORDER_NOT_INVOICED", f"{credit.ref}: the order has no invoice to credit", credit.ref
            )
            plan_apply(shop=shop, plan=Plan((), (), information=(note,)), source_ref=credit.ref, source=row)
        return "unchanged"
    posted_as_is = live.filter(state=XeroPosting.State.POSTED, source_hash=row.content_hash)
    if live.exists() and live.count() == posted_as_is.count():
        return "unchanged"  # all of it posted from this very data: nothing to plan again
    if credit.problems or credit.refund is None:
        plan = Plan((), tuple(credit.problems))
    else:
        plan, _ = plan_order_credit(
            facts,
            credit.refund,
            invoice=_invoice_state(facts, credit, ledger, context, places),
            shop=context.shop_settings,
            settings=context.settings,
            maps=context.maps,
            org=context.org,
        )
    plan_apply(shop=shop, plan=plan, source_ref=credit.ref, source=row)
    return "held" if plan.problems else "planned"


def _invoice_state(
    facts: OrderFacts, credit: Credit, ledger: OrderLedger, context, places: dict[str, str]
) -> InvoiceState:
    """What the invoice still has open for this credit: nothing unless credit_places puts the
    credit on the invoice and no statement's payment of the invoice is planned yet."""
    key = invoice_key(facts.order_id)
    own = ledger.allocated(credit.key)
    number = invoice_number(context.settings, facts.order_id)
    if own is not None:
        return InvoiceState(key, number, own)
    if ledger.payments.get(key) or places.get(credit.key) != "invoice":
        return InvoiceState(key, number, ZERO)
    total = expected_invoice_total(facts, context.shop_settings, context.settings)
    others = [
        ledger.allocated(k[: -len(":allocation")])
        for k in ledger.postings
        if k.endswith(":allocation") and k != f"{credit.key}:allocation"
    ]
    due = total - sum((a for a in others if a is not None), ZERO)
    return InvoiceState(key, number, max(due, ZERO))


MAX_ASSIGNED = 6  # credits of one order whose place is searched; more are left to finance (held)


def credit_places(facts: OrderFacts, credits: list[Credit], ledger: OrderLedger, context) -> dict[str, str]:
    """Where each credit of the order is settled, by credit key: "invoice" (allocated: no
    statement we have read settles the sale yet, or the one that does nets it), a statement id (a
    statement that settles only refunds carries it: refunded from clearing there), or "later"
    (the sale settled without it; a statement not read yet will refund it).

    Decided by what the statements we have read settle of the order (StatementOrder): the sale's
    statement must come to the invoice less the credits it nets, each refund statement to the
    credits it carries. What is already planned stays (an allocation, a refund by a statement).
    Among the placings that fit the most statements, earlier requests go to the invoice first."""
    rows = ledger.settled.get(facts.order_id, [])
    sale_rows = [r for r in rows if r.sales != ZERO]
    refund_rows = [r for r in rows if r.sales == ZERO and r.refunds != ZERO]
    shop, settings = context.shop_settings, context.settings
    moved = {
        c.key: doc.moved
        for c in credits
        if c.refund is not None
        and (doc := credit_document(facts, c.refund, shop, settings, allocated=ZERO)) is not None
    }
    fixed = {}
    for key in moved:
        if ledger.allocated(key) is not None:
            fixed[key] = "invoice"
        elif paid := ledger.payments.get(key):
            fixed[key] = paid[0].rsplit(":payment ", 1)[-1]
    free = [key for key in moved if key not in fixed]
    if not sale_rows:
        return {**fixed, **dict.fromkeys(free, "invoice")}  # open: credits go to the invoice
    invoice_moved = expected_invoice_total(facts, shop, settings) - tax_kept_by_tiktok(facts, shop, settings)
    statements = [r.statement.statement_id for r in refund_rows]
    if len(free) > MAX_ASSIGNED:
        return {**fixed, **dict.fromkeys(free, "later")}

    def score(places: dict[str, str]) -> int:
        netted = sum((moved[k] for k, where in places.items() if where == "invoice"), ZERO)
        fits = 1000 * (
            len(sale_rows) == 1 and invoice_moved + netted == sale_rows[0].sales + sale_rows[0].refunds
        )
        for row in refund_rows:
            carried = [k for k, where in places.items() if where == row.statement.statement_id]
            if carried and sum((moved[k] for k in carried), ZERO) == row.refunds:
                fits += 100
            else:
                fits -= 10 * len(carried)  # placed where it does not fit
        return fits

    best: dict[str, str] = {**fixed, **dict.fromkeys(free, "later")}
    best_score = score(best)
    for choice in product(["invoice", *statements, "later"], repeat=len(free)):
        places = {**fixed, **dict(zip(free, choice, strict=True))}
        if (value := score(places)) > best_score:
            best, best_score = places, value
    return best


def journaled_orders(shop: Shop):
    """Order ids whose sale a statement journal posted (the shop was in statement-journal mode
    then): they get no invoice, and a statement settling them journals them (as samples are)."""
    journals = XeroPosting.objects.filter(purpose="statement_journal").exclude(state__in=GONE)
    return (
        StatementOrder.objects.filter(
            statement__shop=shop,
            statement__in=Statement.objects.filter(
                pk__in=journals.filter(source_type__model="statement").values("source_id")
            ),
        )
        .exclude(sales=ZERO)
        .values("order_id")
    )


def statement_orders_index(*, statement: Statement, facts: StatementFacts) -> None:
    """Record what the statement settles of each order (StatementOrder), replacing what was
    recorded from an earlier version of it."""
    order_ids = dict.fromkeys(t.order_id for t in facts.transactions if t.type == "ORDER" and t.order_id)
    rows = [
        StatementOrder(
            statement=statement,
            order_id=oid,
            sales=order_covered(facts, oid, SALE_COVERED),
            refunds=order_covered(facts, oid, REFUND_COVERED),
        )
        for oid in order_ids
    ]
    with transaction.atomic():
        StatementOrder.objects.filter(statement=statement).delete()
        StatementOrder.objects.bulk_create(rows)


def settled_documents(
    facts: OrderFacts, credits: list[Credit], ledger: OrderLedger, context, statement: StatementFacts
) -> list[OrderDocument]:
    """The documents of one order a statement pays: of its invoice (for what credits left open on
    it, unless another statement paid it) and its credit notes' unallocated credit (unless another
    statement refunded it), the combination that adds up to what the statement settles for the
    order (planning/order_settlement.documents_settled). A refund finance dismissed to credit by
    hand counts as the statement's refund components, with no payment. When nothing adds up, every
    candidate is returned and the planner holds the statement naming both figures."""
    shop, settings = context.shop_settings, context.settings
    key = invoice_key(facts.order_id)
    candidates = []
    credited = [c for c in credits if c.refund is not None and ledger.postings.get(c.key) is not None]
    if ledger.postings.get(key) is not None and not ledger.paid_elsewhere(key, statement.statement_id):
        allocations = [(c, ledger.allocated(c.key) or ZERO) for c in credited]
        open_amount = expected_invoice_total(facts, shop, settings) - sum((a for _, a in allocations), ZERO)
        tax = tax_kept_by_tiktok(facts, shop, settings) - sum(
            (allocated_tax(facts, c.refund, shop, settings, allocated=a) for c, a in allocations if a), ZERO
        )
        number = invoice_number(settings, facts.order_id)
        candidates.append(OrderDocument(facts.order_id, key, number, "invoice", max(open_amount, ZERO), tax))
    for credit in credited:
        if ledger.paid_elsewhere(credit.key, statement.statement_id):
            continue
        allocated = ledger.allocated(credit.key) or ZERO
        document = credit_document(facts, credit.refund, shop, settings, allocated=allocated)
        if document is not None:
            candidates.append(document)
    covered = order_covered(statement, facts.order_id)
    chosen = documents_settled(covered, candidates)
    if chosen is None and _dismissed(credits):
        chosen = _with_refund_by_hand(facts.order_id, covered, statement, candidates)
    return candidates if chosen is None else chosen


def _with_refund_by_hand(
    order_id: str, covered: Decimal, statement: StatementFacts, candidates: list[OrderDocument]
) -> list[OrderDocument] | None:
    """A refund finance dismissed to credit by hand is what the statement's refund components
    leave over once the most documents that fit are paid: a negative remainder no larger than
    those components. None when no combination leaves such a remainder."""
    refunds = order_covered(statement, order_id, REFUND_COVERED)
    for size in range(len(candidates), -1, -1):
        for chosen in combinations(candidates, size):
            rest = covered - sum((d.moved for d in chosen), ZERO)
            if refunds <= rest < ZERO:
                by_hand = f"order {order_id}:refund credited by hand"
                return [*chosen, OrderDocument(order_id, by_hand, "", "credit_note", -rest, by_hand=True)]
    return None


def _dismissed(credits: list[Credit]) -> bool:
    """Did finance dismiss a refund of the order it could not be credited automatically?"""
    held = [c.row for c in credits if c.refund is None]
    return any(
        QuarantineItem.objects.filter(**link_to(row), status=QuarantineItem.Status.DISMISSED).exists()
        for row in held
    )
