"""Posting mode "order invoices" (DESIGN.md 4.4): plan each ready order's invoice into the outbox,
and give a statement's planner the invoices of its orders.

An order is planned from its stored JSON (`TikTokOrder.source.payload`) under the shop's maps and
settings as stored now, like `services/order_preview.py`, and written with `plan_apply` with the
`TikTokOrder` row as its source (its `content_hash` says what the invoice was planned from), so a
map fix followed by Retry re-plans it (services/sources.py) exactly as a statement is re-planned.
"""

from dataclasses import dataclass, replace

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from reconciliation import selectors
from reconciliation.domain.tiktok import StatementFacts
from reconciliation.domain.tiktok_orders import OrderFacts, order_facts, order_ref
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import QuarantineItem, Shop, Statement, TikTokOrder, XeroPosting
from reconciliation.models.postings import link_to
from reconciliation.models.quarantine import Reason
from reconciliation.planning import checks
from reconciliation.planning.checks import SKIPPED_WITHOUT_ORG
from reconciliation.planning.order_invoice import (
    plan_order_invoice,
)
from reconciliation.planning.order_lines import OrderInvoiceSettings
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.order_settlement import OrderDocument, OrderSettlementInputs
from reconciliation.planning.types import Information, OrgSettings, Plan, Problem, ShopSettings
from reconciliation.services.order_credits import (
    OrderLedger,
    credit_plan_one,
    credited_rows,
    credits_plan,
    journaled_orders,
    ledger_keys,
    order_credits,
    settled_documents,
    statement_orders_index,
)
from reconciliation.services.order_preview import _settings_problems
from reconciliation.services.outbox import plan_apply, replaceable
from reconciliation.services.statements import read_facts

GONE = (XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED)
# Orders that are no sale (any more): cancelled, or sample / replacement / exchange (DESIGN.md 4.1).
_NO_SALE = Q(status="CANCELLED") | Q(is_sample=True) | Q(is_replacement=True) | Q(is_exchange=True)


@dataclass(frozen=True)
class _Context:
    """What every order of one shop is planned with, read once per run."""

    shop: Shop
    zone: str | None
    shop_settings: ShopSettings
    settings: OrderInvoiceSettings
    maps: OrderMaps
    org: OrgSettings | None


def _context(shop: Shop) -> _Context:
    zone = shop_timezone(shop.region, shop.timezone)
    return _Context(
        shop,
        zone,
        replace(selectors.shop_settings(shop), timezone=zone or ""),
        selectors.order_invoice_settings(shop),
        selectors.order_maps(shop),
        selectors.org_settings(shop.xero_connection),
    )


def order_plan(*, order: TikTokOrder) -> Plan:
    """Plan one order's invoice and write it (posting or quarantine). An order that has not passed
    the shop's gate (selectors.orders_ready_to_invoice) is not planned; if it was cancelled (or is
    flagged not a sale) after its invoice was planned, that invoice is retired (SOURCE_CHANGED if
    Xero may have it). Then its returns' and cancellations' credit notes (services/order_credits)."""
    context = _context(order.shop)
    plan = _order_plan(order, context)
    credits_plan(shop=order.shop, context=context, order_ids=[order.order_id])
    return plan


def refund_plan(*, row) -> Plan:
    """Plan one TikTokReturn's or TikTokCancellation's credit note again (Retry after a map fix)."""
    return credit_plan_one(row, context=_context(row.shop))


def orders_plan(*, shop: Shop) -> dict[str, int]:
    """Plan every order of the shop that is ready to invoice (sync: before its statements).
    Returns counts: invoices planned, held, and already posted from the same content."""
    context = _context(shop)
    # an order whose sale a statement journal posted (before the shop switched mode) is not invoiced
    ready = selectors.orders_ready_to_invoice(shop).exclude(order_id__in=journaled_orders(shop))
    posted = XeroPosting.objects.filter(
        source_type=ContentType.objects.get_for_model(TikTokOrder),
        source_id=OuterRef("pk"),
        state=XeroPosting.State.POSTED,
        source_hash=OuterRef("content_hash"),
    )
    counts = {
        "invoices_planned": 0,
        "invoices_held": 0,
        "invoices_posted": ready.filter(Exists(posted)).count(),
    }
    # one query for what is posted from its current content, not one per order
    for order in ready.exclude(Exists(posted)):
        plan = _order_plan(order, context, ready=True)
        counts["invoices_held" if plan.problems else "invoices_planned"] += 1
    # an order that left the gate (cancelled) after its invoice was planned: the unsent invoice is
    # retired; one Xero may have is credited by its cancellation's credit note (services/order_credits),
    # or, until TikTok reports that cancellation granted, SOURCE_CHANGED
    live = XeroPosting.objects.filter(
        source_type=ContentType.objects.get_for_model(TikTokOrder), source_id=OuterRef("pk")
    ).exclude(state__in=GONE)
    left = TikTokOrder.objects.filter(shop=shop).filter(Exists(live)).filter(_NO_SALE)
    for order in left.select_related("source"):
        if _order_left(order, context):
            counts["invoices_retired"] = counts.get("invoices_retired", 0) + 1  # or SOURCE_CHANGED
    return counts


def credit_notes_plan(*, shop: Shop) -> dict[str, int]:
    """Plan the credit notes of the shop's granted returns and cancellations (services/order_credits;
    sync: once the window's statements are read, before they are planned)."""
    return credits_plan(shop=shop, context=_context(shop))


def statements_index(statements: list[Statement]) -> None:
    """Record what each statement settles of each order (order_credits.statement_orders_index)."""
    for statement in statements:
        facts = read_facts(statement)
        if facts is not None:
            statement_orders_index(statement=statement, facts=facts)


def _already_posted(order: TikTokOrder) -> bool:
    return XeroPosting.objects.filter(
        **link_to(order), state=XeroPosting.State.POSTED, source_hash=order.content_hash
    ).exists()


def _order_plan(order: TikTokOrder, context: _Context, *, ready: bool = False) -> Plan:
    ref = order_ref(order.order_id)
    ready_now = selectors.orders_ready_to_invoice(order.shop).exclude(
        order_id__in=journaled_orders(order.shop)
    )
    if not ready and not ready_now.filter(pk=order.pk).exists():
        note = f"{ref}: not ready to invoice (status {order.status}, or not a sale); nothing planned"
        plan = Plan((), (), information=(Information("ORDER_NOT_INVOICED", note, ref),))
        no_sale = TikTokOrder.objects.filter(pk=order.pk).filter(_NO_SALE).exists()
        if no_sale and XeroPosting.objects.filter(**link_to(order)).exclude(state__in=GONE).exists():
            # cancelled (or flagged not a sale) after its invoice was planned. An order merely
            # before a gate finance moved later keeps what it has.
            _order_left(order, context)
        return plan
    if _already_posted(order):
        return Plan((), ())
    plan = _invoice_plan(order, context)
    plan_apply(shop=context.shop, plan=plan, source_ref=ref, source=order)
    return plan


def _order_left(order: TikTokOrder, context: _Context) -> bool:
    """An order cancelled (or flagged not a sale) after its invoice was planned: retire the unsent
    invoice, or raise SOURCE_CHANGED if Xero may have it. A cancelled order whose invoice Xero may
    have and whose cancellation TikTok granted keeps its invoice: the cancellation's credit note
    credits it (services/order_credits.py). True when the invoice was retired or held."""
    if order.status == "CANCELLED" and _credited_by_cancellation(order):
        invoices = XeroPosting.objects.filter(**link_to(order)).exclude(state__in=GONE)
        if not all(replaceable(p) for p in invoices.prefetch_related("http_attempts")):
            # a SOURCE_CHANGED raised while the cancellation was not yet granted is answered now:
            # nothing is to be corrected in Xero by hand, the cancellation's credit note does it
            QuarantineItem.objects.filter(
                posting__in=invoices, reason=Reason.SOURCE_CHANGED, status=QuarantineItem.Status.OPEN
            ).update(
                status=QuarantineItem.Status.RESOLVED,
                resolved_at=timezone.now(),
                decision_note="TikTok granted the cancellation: its credit note credits this invoice",
            )
            return False
    ref = order_ref(order.order_id)
    note = f"{ref}: {order.status.lower()} after its invoice was planned, or not a sale"
    plan = Plan((), (), information=(Information("ORDER_NOT_INVOICED", note, ref),))
    plan_apply(shop=context.shop, plan=plan, source_ref=ref, source=order)
    return True


def _credited_by_cancellation(order: TikTokOrder) -> bool:
    rows = credited_rows(order.shop, [order.order_id]).get(order.order_id, [])
    return any(kind == "cancellation" for kind, _ in rows)


def _invoice_plan(order: TikTokOrder, context: _Context) -> Plan:
    shop, org = context.shop, context.org
    skipped = SKIPPED_WITHOUT_ORG if org is None else ()
    ref = order_ref(order.order_id)
    if mode := checks.posting_mode_problems(shop.posting_mode, ref):
        return Plan((), tuple(mode), skipped)  # the mode is off until it is built end to end
    if context.zone is None:
        message = f"shop {shop.code}: no time zone, and region {shop.region!r} has none by default: set the shop's time zone"
        return Plan((), (Problem("INVALID_MAPPING", message, ref),), skipped)
    facts, problems = order_facts(order.source.payload, timezone=context.zone)
    if facts is None or problems:
        return Plan((), tuple(problems), skipped)
    problems = _settings_problems(facts, shop, context.settings, context.maps)
    if problems:
        return Plan((), tuple(problems), skipped)
    return plan_order_invoice(
        facts, shop=context.shop_settings, settings=context.settings, maps=context.maps, org=org
    )


def statement_order_inputs(*, shop: Shop, facts: StatementFacts) -> OrderSettlementInputs:
    """For an order_invoices shop's statement: the documents of each of its orders it pays
    (services/order_credits.settled_documents: the invoice for what is open on it, credit notes'
    credit to refund from clearing), and the orders that are not sales. An order with no document
    planned (not pulled, not ready, held; a refund whose credit note is not planned yet) is left
    out, and the planner holds the statement for it (ORDER_NOT_INVOICED) until it is planned and
    the statement re-planned."""
    context = _context(shop)
    order_ids = list(
        dict.fromkeys(t.order_id for t in facts.transactions if t.type == "ORDER" and t.order_id)
    )
    rows = {
        o.order_id: o
        for o in TikTokOrder.objects.filter(shop=shop, order_id__in=order_ids).select_related("source")
    }
    excluded = {oid for oid, row in rows.items() if row.is_sample or row.is_replacement or row.is_exchange}
    excluded |= set(journaled_orders(shop).filter(order_id__in=order_ids).values_list("order_id", flat=True))
    readable: dict[str, OrderFacts] = {}
    for oid, row in rows.items():
        if oid in excluded or context.zone is None:
            continue
        order, problems = order_facts(row.source.payload, timezone=context.zone)
        if order is not None and not problems:
            readable[oid] = order
    refunds = credited_rows(shop, list(readable)) if readable else {}
    credits = {
        oid: order_credits(order, refunds.get(oid, []), context.zone or "") for oid, order in readable.items()
    }
    keys = [key for oid in readable for key in ledger_keys(oid, credits[oid])]
    ledger = OrderLedger(shop, keys, list(readable))
    documents: dict[str, list[OrderDocument]] = {}
    for oid, order in readable.items():
        settled = settled_documents(order, credits[oid], ledger, context, facts)
        if settled:
            documents[oid] = settled
    return OrderSettlementInputs(documents, context.settings.sales_tax, frozenset(excluded))
