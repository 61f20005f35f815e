"""Posting mode "order invoices" after the invoice: a credit note for each return or cancellation
TikTok grants on an invoiced order, allocated to the invoice while it is open, otherwise refunded
from clearing when the refund settles (docs/ARCHITECTURE.md, "Orders").

Each credited TikTokReturn / TikTokCancellation row is the source of its own credit note and
allocation (`plan_apply(source=row)`), so a refund held for finance never touches its order's
invoice, and Retry re-plans that refund alone (services/sources.py).

What a credit allocates is decided once: while the invoice has no payment planned, the credit
goes to it (up to what earlier credits left open); once an allocation is planned its amount is
kept on every re-plan, and once a statement's payment of the invoice is planned, later credits are
refunded from clearing by the statement that settles the refund.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok_orders import OrderFacts, order_facts
from reconciliation.domain.tiktok_refunds import (
    CREDITED_STATUSES,
    REFUND_RETURN_TYPES,
    OrderRefund,
    is_credited,
    refund_facts,
    refund_ref,
)
from reconciliation.models import Shop, TikTokCancellation, TikTokOrder, TikTokReturn, XeroPosting
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
from reconciliation.planning.order_settlement import OrderDocument
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
        return refund_ref(self.row.order_id, self.refund_id)

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
    and allocations (live postings by planning key) and the statements paying them."""

    def __init__(self, shop: Shop, keys: Iterable[str]):
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
        ledger = OrderLedger(shop, ledger_keys(order_id, credits))
        for credit in credits:
            outcome = _credit_plan(credit, facts, ledger, context)
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
    credits = [c for c in order_credits(facts, rows, context.zone) if c.row.pk == row.pk and c.kind == kind]
    if not credits:
        return Plan((), ())
    ledger = OrderLedger(row.shop, ledger_keys(row.order_id, credits))
    _credit_plan(credits[0], facts, ledger, context)
    return Plan((), ())


def _credit_plan(credit: Credit, facts: OrderFacts, ledger: OrderLedger, context) -> str:
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
            invoice=_invoice_state(facts, credit, ledger, context),
            shop=context.shop_settings,
            settings=context.settings,
            maps=context.maps,
            org=context.org,
        )
    plan_apply(shop=shop, plan=plan, source_ref=credit.ref, source=row)
    return "held" if plan.problems else "planned"


def _invoice_state(facts: OrderFacts, credit: Credit, ledger: OrderLedger, context) -> InvoiceState:
    """What the invoice still has open for this credit (module docstring: decided once)."""
    key = invoice_key(facts.order_id)
    own = ledger.allocated(credit.key)
    if own is not None:
        due = own
    elif ledger.payments.get(key):
        due = ZERO
    else:
        total = expected_invoice_total(facts, context.shop_settings, context.settings)
        others = [
            ledger.allocated(k[: -len(":allocation")])
            for k in ledger.postings
            if k.endswith(":allocation") and k != f"{credit.key}:allocation"
        ]
        due = total - sum((a for a in others if a is not None), ZERO)
    return InvoiceState(key, invoice_number(context.settings, facts.order_id), max(due, ZERO))


def settled_documents(
    facts: OrderFacts, credits: list[Credit], ledger: OrderLedger, context, statement_id: str
) -> list[OrderDocument]:
    """The documents of one order a statement pays: its invoice for what credits left open on it,
    unless another statement paid it; each credit note's credit the invoice did not take, unless
    another statement refunded it."""
    shop, settings = context.shop_settings, context.settings
    key = invoice_key(facts.order_id)
    documents = []
    credited = [c for c in credits if c.refund is not None and ledger.postings.get(c.key) is not None]
    if ledger.postings.get(key) is not None and not ledger.paid_elsewhere(key, statement_id):
        allocations = [(c, ledger.allocated(c.key) or ZERO) for c in credited]
        open_amount = expected_invoice_total(facts, shop, settings) - sum((a for _, a in allocations), ZERO)
        tax = tax_kept_by_tiktok(facts, shop, settings) - sum(
            (allocated_tax(facts, c.refund, shop, settings, allocated=a) for c, a in allocations if a), ZERO
        )
        number = invoice_number(settings, facts.order_id)
        documents.append(OrderDocument(facts.order_id, key, number, "invoice", max(open_amount, ZERO), tax))
    for credit in credited:
        if ledger.paid_elsewhere(credit.key, statement_id):
            continue
        allocated = ledger.allocated(credit.key) or ZERO
        document = credit_document(facts, credit.refund, shop, settings, allocated=allocated)
        if document is not None:
            documents.append(document)
    return documents
