"""Posting mode "order invoices", when a statement settles (DESIGN.md 4.4).

For a TikTok statement whose orders were invoiced (planning/order_invoice.py):

1. one Payment per invoice into the shop's clearing account (payments enabled on it), for what is
   still open on the invoice; one refund Payment out of clearing per credit note that was not
   allocated (planning/order_credit.py); sent in batches of <= 50 (`payment_batches`);
2. one ManualJournal against clearing for everything the invoices do not carry: fees, actual
   shipping cost, adjustments, reserves, and the marketplace-facilitator tax the invoices do carry
   but TikTok keeps (gross presentation) -- statement mode's journal (planning/statement_journal.py)
   over those components only, so its mapping, tax and balance rules are the same;
3. the RECEIVE when the payout is paid: planning/payout_receive.py, unchanged.

Clearing then moves by payments + journal = the statement's payable amount. Worked order, gross:
+221.10 payment, journal -54.06 (fees 32.09 + shipping 7.93 + sales tax 14.04) = 167.04; net:
+207.06, -40.02 = 167.04.

Which statement components an invoice carries (COVERED): the gross sale and the seller's discount
(revenue.subtotal_before_discount_amount + revenue.seller_discount_amount = original price - seller
discount, the platform discount being part of what TikTok pays), the shipping the buyer paid and
TikTok's shipping subsidy, and their refund counterparts for credit notes. Per order, these must
equal what its documents move through clearing less the tax TikTok keeps; otherwise the order
detail and the settlement disagree, and the statement is held (SOURCE_INCONSISTENT).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import combinations

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction
from reconciliation.planning import checks
from reconciliation.planning.statement_journal import narration, plan_statement_journal, statement_ref
from reconciliation.planning.types import (
    ComponentRule,
    OrgSettings,
    Plan,
    PlannedDocument,
    Problem,
    ShopSettings,
)

MAX_BATCH = 50  # Xero: at most 50 elements per request (DESIGN.md 6)
# What the invoices carry, and what the credit notes give back.
SALE_COVERED = frozenset(
    {
        "revenue.subtotal_before_discount_amount",
        "revenue.seller_discount_amount",
        "shipping.customer_paid_shipping_fee_amount",
        "shipping.shipping_fee_discount_amount",
    }
)
REFUND_COVERED = frozenset(
    {"revenue.refund_subtotal_before_discount_amount", "revenue.seller_discount_refund_amount"}
)
COVERED = SALE_COVERED | REFUND_COVERED
MAX_SUBSET = 12  # documents of one order searched for the combination a statement settles
# The journal component for the facilitator tax an invoice carries and TikTok keeps.
TAX_KEPT = "order.sales_tax_remitted_by_tiktok"


@dataclass(frozen=True)
class OrderDocument:
    """An order's invoice or credit note as a settlement pays it.

    `key`: its planning key (PlannedDocument.key); `number`: its InvoiceNumber / CreditNoteNumber;
    `kind`: "invoice" or "credit_note"; `amount` (> 0): what is still open on it in Xero (an invoice's
    total less credit allocated to it; a credit note's credit not allocated); `tax_kept` (>= 0): the
    facilitator tax it carries that TikTok keeps (order_invoice.tax_kept_by_tiktok; for a credit
    note, the refunded part). `by_hand`: a refund finance dismissed to credit in Xero themselves: it
    counts in the statement's coverage but gets no payment.
    """

    order_id: str
    key: str
    number: str
    kind: str
    amount: Decimal
    tax_kept: Decimal = ZERO
    by_hand: bool = False

    @property
    def moved(self) -> Decimal:
        """What it accounts for of the statement's sales and refund components (less TikTok's tax)."""
        return self.signed - self.signed_tax

    @property
    def signed(self) -> Decimal:
        """What its payment moves into clearing (a credit note's refund moves money out)."""
        return self.amount if self.kind == "invoice" else -self.amount

    @property
    def signed_tax(self) -> Decimal:
        return self.tax_kept if self.kind == "invoice" else -self.tax_kept


def plan_order_settlement(
    statement: StatementFacts,
    *,
    shop: ShopSettings,
    documents: Mapping[str, Sequence[OrderDocument]],
    rules: Mapping[str, ComponentRule],
    sales_tax_account: str,
    org: OrgSettings | None,
    excluded_orders: frozenset[str] = frozenset(),
) -> Plan:
    """Payments and the fees journal for one statement. `documents` maps each order id of the
    statement's ORDER transactions to the documents this statement settles; `excluded_orders`
    (samples, replacements, exchanges) have none, and all their components go to the journal.
    Problems: ORDER_NOT_INVOICED for an order with no document, SOURCE_INCONSISTENT, and whatever
    the journal's own checks find (UNMAPPED_COMPONENT, INVALID_MAPPING, LOCK_DATE, ...)."""
    ref = statement_ref(shop.code, statement.statement_id)
    problems = _coverage_problems(statement, documents, excluded_orders, ref)
    if problems:
        return Plan((), tuple(problems))
    settled = [doc for oid in _order_ids(statement, excluded_orders) for doc in documents.get(oid, ())]
    # A document with nothing open (an invoice its credit note was wholly allocated to) needs no payment.
    payments = [_payment(doc, statement, shop) for doc in settled if doc.amount > ZERO and not doc.by_hand]
    journal_plan = _journal(statement, settled, shop, rules, sales_tax_account, org, excluded_orders)
    problems = list(journal_plan.problems) + checks.currency_problems(shop.currency, org, ref)
    problems += (
        checks.lock_date_problems(statement.statement_date, org, ref, taxed=shop.line_amount_types != "NoTax")
        if payments
        else []
    )
    problems += _clearing_problems(shop, org, ref) if payments else []
    return Plan(
        (*payments, *journal_plan.documents),
        tuple(dict.fromkeys(problems)),
        journal_plan.skipped_checks,
        journal_plan.information,
    )


@dataclass(frozen=True)
class OrderSettlementInputs:
    """What a statement of an order_invoices shop is planned with beside its facts, read from the
    outbox by the service (services/order_plan.statement_order_inputs): `documents` as
    plan_order_settlement takes them, the shop's sales-tax account, the orders that are not sales."""

    documents: Mapping[str, Sequence[OrderDocument]]
    sales_tax_account: str
    excluded_orders: frozenset[str] = frozenset()


def plan_order_invoices_statement(
    statement: StatementFacts,
    *,
    shop: ShopSettings,
    rules: Mapping[str, ComponentRule],
    org: OrgSettings | None,
    orders: OrderSettlementInputs | None = None,
) -> Plan:
    """The registry's planner for ("tiktok", "order_invoices") (planning/registry.py): the payments
    and fees journal of plan_order_settlement, held while the mode is not built (checks.BUILT_MODES)
    or when the service gave no order inputs."""
    ref = statement_ref(shop.code, statement.statement_id)
    skipped = checks.SKIPPED_WITHOUT_ORG if org is None else ()
    problems = checks.posting_mode_problems(shop.posting_mode, ref)
    if orders is None:
        problems.append(
            Problem("INVALID_MAPPING", f"{ref}: no order invoices were given to settle this statement", ref)
        )
    if problems or orders is None:
        return Plan((), tuple(problems), skipped)
    return plan_order_settlement(
        statement,
        shop=shop,
        documents=orders.documents,
        rules=rules,
        sales_tax_account=orders.sales_tax_account,
        org=org,
        excluded_orders=orders.excluded_orders,
    )


def payment_batches(documents: Sequence[PlannedDocument]) -> list[list[PlannedDocument]]:
    """The plan's Payments in requests of at most 50 elements (Xero's batch limit), in plan order;
    other documents are not batched here."""
    payments = [d for d in documents if d.kind == "Payments"]
    return [payments[i : i + MAX_BATCH] for i in range(0, len(payments), MAX_BATCH)]


def _order_ids(statement: StatementFacts, excluded: frozenset[str]) -> list[str]:
    ids = [t.order_id for t in statement.transactions if t.type == "ORDER" and t.order_id]
    return [oid for oid in dict.fromkeys(ids) if oid not in excluded]


def _coverage_problems(statement, documents, excluded, ref: str) -> list[Problem]:
    problems = []
    for oid in _order_ids(statement, excluded):
        docs = documents.get(oid) or ()
        if not docs and order_covered(statement, oid) == ZERO:
            continue  # nothing of its sale or refunds settles here (cancelled before invoicing, net zero)
        if not docs:
            problems.append(
                Problem(
                    "ORDER_NOT_INVOICED",
                    f"{ref}: order {oid} settles in this statement but has no invoice or credit note to pay",
                    ref,
                    details={"order_id": oid},
                )
            )
            continue
        covered = order_covered(statement, oid)
        moved = sum((d.moved for d in docs), ZERO)
        if covered != moved:
            problems.append(
                Problem(
                    "SOURCE_INCONSISTENT",
                    f"{ref}: order {oid}: the statement settles its sales and shipping at {covered}, its invoices "
                    f"and credit notes (less tax TikTok keeps) come to {moved}",
                    ref,
                    details={"order_id": oid, "statement": str(covered), "documents": str(moved)},
                )
            )
    return problems


def order_covered(statement: StatementFacts, order_id: str, names: frozenset[str] = COVERED) -> Decimal:
    """The order's sales and refund components in the statement (`names`: which), as TikTok signs them."""
    return sum(
        (c.amount for t in _order_transactions(statement, order_id) for c in t.components if c.name in names),
        ZERO,
    )


def documents_settled(covered: Decimal, candidates: Sequence[OrderDocument]) -> list[OrderDocument] | None:
    """The documents of one order a statement settles: the combination of `candidates` (its invoice
    still unpaid, its credit notes not yet refunded) whose `moved` adds up to what the statement
    settles for the order (`covered`), preferring more documents, then the earlier ones; None when
    no combination does (or there are too many to search)."""
    if len(candidates) > MAX_SUBSET:
        return None
    for size in range(len(candidates), 0, -1):
        for chosen in combinations(candidates, size):
            if sum((d.moved for d in chosen), ZERO) == covered:
                return list(chosen)
    return [] if covered == ZERO else None


def _order_transactions(statement: StatementFacts, order_id: str) -> list[StatementTransaction]:
    return [t for t in statement.transactions if t.type == "ORDER" and t.order_id == order_id]


def _payment(doc: OrderDocument, statement: StatementFacts, shop: ShopSettings) -> PlannedDocument:
    what = "Invoice" if doc.kind == "invoice" else "CreditNote"
    number_field = "InvoiceNumber" if doc.kind == "invoice" else "CreditNoteNumber"
    reference = f"TikTok statement {statement.statement_id}: {doc.number}"
    payload = {
        what: {number_field: doc.number},
        "Account": {"Code": shop.clearing_account},
        "Date": statement.statement_date.isoformat(),
        "Amount": doc.amount,
        "Reference": reference,
    }
    return PlannedDocument(
        kind="Payments",
        purpose="order_payment" if doc.kind == "invoice" else "credit_note_refund",
        payload=payload,
        document_date=statement.statement_date,
        lookup=("Reference", reference),
        key=f"{doc.key}:payment {statement.statement_id}",
        depends_on=(doc.key,),
    )


def _journal(statement, settled, shop, rules, sales_tax_account, org, excluded) -> Plan:
    """Statement mode's journal over what the invoices do not carry: clearing then moves by the
    statement's payable amount less what the payments moved."""
    kept = [t for t in statement.transactions if not _is_invoiced(t, excluded)]
    reduced = [
        replace(t, components=tuple(c for c in t.components if c.name not in COVERED))
        for t in statement.transactions
        if _is_invoiced(t, excluded)
    ]
    tax = sum((d.signed_tax for d in settled), ZERO)
    extra = (
        [StatementTransaction("tax kept by TikTok", "ORDER_TAX", "", -tax, (Component(TAX_KEPT, -tax, ""),))]
        if tax
        else []
    )
    paid = sum((d.signed for d in settled), ZERO)
    journal_facts = replace(
        statement,
        transactions=(*kept, *reduced, *extra),
        settlement_amount=statement.settlement_amount - paid,
    )
    journal_rules = {**rules}
    if tax:
        journal_rules[TAX_KEPT] = ComponentRule(
            sales_tax_account, description="Sales tax remitted by TikTok (marketplace facilitator)"
        )
    # The journal is statement mode's; an Exclusive (tax-exclusive invoices) shop's fees journal is
    # posted NoTax (a guess: US fees carry no sales tax; statement journals take NoTax or Inclusive).
    amount_types = "NoTax" if shop.line_amount_types == "Exclusive" else shop.line_amount_types
    journal_shop = replace(shop, posting_mode="statement_journal", line_amount_types=amount_types)
    plan = plan_statement_journal(journal_facts, shop=journal_shop, rules=journal_rules, org=org)
    if not plan.documents:
        return plan
    (document,) = plan.documents
    text = f"{narration(shop, statement)}: fees and costs beside its order invoices"
    payload = {**document.payload, "Narration": text}
    journal = replace(
        document,
        payload=payload,
        purpose="order_settlement_journal",
        lookup=("Narration", text),
        key=f"statement {statement.statement_id}:journal",
    )
    return replace(plan, documents=(journal,))


def _is_invoiced(transaction: StatementTransaction, excluded: frozenset[str]) -> bool:
    return transaction.type == "ORDER" and bool(transaction.order_id) and transaction.order_id not in excluded


def _clearing_problems(shop: ShopSettings, org: OrgSettings | None, ref: str) -> list[Problem]:
    """Payments need a BANK account or one with EnablePaymentsToAccount (DESIGN.md 6)."""
    account = org.accounts.get(shop.clearing_account) if org else None
    if org is None or (account is not None and account.status == "ACTIVE" and account.enable_payments):
        return []
    return [
        Problem(
            "INVALID_MAPPING",
            f"{ref}: clearing account {shop.clearing_account} must be active with payments enabled "
            "(Xero: Enable payments to this account) to receive order payments",
            ref,
        )
    ]
