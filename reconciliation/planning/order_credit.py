"""Cancellations and refunds after an order's invoice exists (DESIGN.md 4.4).

Xero will not delete an authorised invoice, so a refund is an ACCRECCREDIT credit note for exactly
the refunded lines, mirroring their invoice lines (item, seller discount, TikTok's discount and its
reimbursement, shipping when it is refunded, the facilitator tax in the gross presentation). Then:

- while the invoice is open (not yet paid from a settlement), the credit is allocated to it
  (`PUT /CreditNotes/{CreditNoteID}/Allocations`, a document that depends on both);
- credit the invoice cannot take (it was paid: returns usually arrive in a later statement) is
  refunded from clearing when the refund settles: `credit_document` is what the settlement planner
  (planning/order_settlement.py) pays out of clearing.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reconciliation.domain.money import ZERO, round_2dp
from reconciliation.domain.tiktok_orders import OrderFacts
from reconciliation.domain.tiktok_refunds import OrderRefund, refund_ref
from reconciliation.planning import checks
from reconciliation.planning.invoice_arithmetic import with_rounding, xero_totals
from reconciliation.planning.order_invoice import DEFAULT_CONTACT, skipped_checks, tax_kept_by_tiktok
from reconciliation.planning.order_lines import OrderInvoiceSettings, invoice_lines, needs_unitdp4
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.order_settlement import OrderDocument
from reconciliation.planning.types import OrgSettings, Plan, PlannedDocument, Problem, ShopSettings


@dataclass(frozen=True)
class InvoiceState:
    """The order's invoice as planned and as Xero last reported it: `amount_due` 0 once paid."""

    key: str
    number: str
    amount_due: Decimal


def credit_note_key(order_id: str, refund_id: str) -> str:
    return f"order {order_id}:credit note {refund_id}"


def expected_credit_total(
    facts: OrderFacts, refund: OrderRefund, shop: ShopSettings, settings: OrderInvoiceSettings
) -> Decimal:
    """What the buyer gets back plus TikTok's discounts on those lines taken back, as the invoice
    counted them: the refunded lines at original price less seller discount, the shipping the
    buyer and TikTok paid when refunded, and the tax when the invoice carries it."""
    lines = [line for line in facts.lines if line.id in refund.line_ids]
    total = sum((line.original_price - line.seller_discount for line in lines), ZERO)
    if refund.shipping:
        total += facts.original_shipping_fee - facts.shipping_fee_seller_discount
    return total + (refunded_tax(facts, refund) if tax_kept_by_tiktok(facts, shop, settings) else ZERO)


def refunded_tax(facts: OrderFacts, refund: OrderRefund) -> Decimal:
    """The sales tax TikTok states on the refunded lines (and on shipping, when refunded)."""
    tax = sum((line.tax for line in facts.lines if line.id in refund.line_ids), ZERO)
    return tax + (facts.shipping_fee_tax if refund.shipping else ZERO)


def plan_order_credit(
    facts: OrderFacts,
    refund: OrderRefund,
    *,
    invoice: InvoiceState,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    maps: OrderMaps,
    org: OrgSettings | None,
) -> tuple[Plan, OrderDocument | None]:
    """(the credit note and, while the invoice is open, its allocation; the credit the settlement
    must refund from clearing, or None when the invoice took all of it)."""
    ref = refund_ref(facts.order_id, refund.refund_id, refund.kind)
    refunded = tuple(line for line in facts.lines if line.id in refund.line_ids)
    unknown = sorted(set(refund.line_ids) - {line.id for line in facts.lines})
    if unknown or not (refunded or refund.shipping):
        message = f"{ref}: refunds line(s) {', '.join(unknown) or '(none)'} the order does not have"
        return Plan((), (Problem("SOURCE_INCONSISTENT", message, ref),), skipped_checks(org)), None
    lines, problems = invoice_lines(
        facts, refunded, shipping=refund.shipping, shop=shop, settings=settings, maps=maps, org=org
    )
    if problems:
        return Plan((), tuple(problems), skipped_checks(org)), None
    expected = expected_credit_total(facts, refund, shop, settings)
    lines, problems = with_rounding(lines, expected, shop, org, ref)
    payload = _credit_payload(facts, refund, shop, settings, lines)
    total = xero_totals(lines, shop.line_amount_types, org)[0]
    if total != expected and not problems and (org is not None or shop.line_amount_types == "NoTax"):
        problems.append(
            Problem(
                "SOURCE_INCONSISTENT", f"{ref}: credit note lines come to {total}, expected {expected}", ref
            )
        )
    problems += checks.lock_date_problems(
        refund.refund_date, org, ref, taxed=shop.line_amount_types != "NoTax"
    )
    key = credit_note_key(facts.order_id, refund.refund_id)
    documents = [
        PlannedDocument(
            kind="CreditNotes",
            purpose="order_credit_note",
            payload=payload,
            document_date=refund.refund_date,
            lookup=("CreditNoteNumber", payload["CreditNoteNumber"]),
            key=key,
            unitdp4=needs_unitdp4(lines),
            # never in Xero before the invoice it credits (the payload does not name the invoice:
            # the dependency only orders the sends)
            depends_on=(invoice.key,),
        )
    ]
    allocated = min(expected, invoice.amount_due)
    if allocated > ZERO:
        documents.append(
            _allocation(invoice, key, allocated, refund.refund_date, payload["CreditNoteNumber"])
        )
    document = credit_document(facts, refund, shop, settings, allocated=max(allocated, ZERO))
    return Plan(tuple(documents), tuple(problems), skipped_checks(org)), document


def credit_document(
    facts: OrderFacts,
    refund: OrderRefund,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    *,
    allocated: Decimal,
) -> OrderDocument | None:
    """The credit a settlement must refund from clearing once `allocated` (>= 0) of it went to the
    invoice, with the facilitator tax in it; None when the invoice took all of it."""
    expected = expected_credit_total(facts, refund, shop, settings)
    left = expected - allocated
    if left <= ZERO:
        return None
    # Guess: when the open invoice took part of the credit, the tax left to refund is in the
    # same proportion (TikTok does not say which part of a refund its tax is).
    tax = refunded_tax(facts, refund) if tax_kept_by_tiktok(facts, shop, settings) else ZERO
    tax_left = round_2dp(tax * left / expected) if tax else ZERO
    number = credit_note_number(settings, facts.order_id, refund.refund_id)
    key = credit_note_key(facts.order_id, refund.refund_id)
    return OrderDocument(facts.order_id, key, number, "credit_note", left, tax_left)


def allocated_tax(
    facts: OrderFacts,
    refund: OrderRefund,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    *,
    allocated: Decimal,
) -> Decimal:
    """The facilitator tax inside the part of a credit allocated to the invoice (the rest of the
    refunded tax is in credit_document's `tax_kept`)."""
    if not tax_kept_by_tiktok(facts, shop, settings):
        return ZERO
    left = credit_document(facts, refund, shop, settings, allocated=allocated)
    return refunded_tax(facts, refund) - (left.tax_kept if left else ZERO)


def credit_note_number(settings: OrderInvoiceSettings, order_id: str, refund_id: str) -> str:
    return f"{settings.number_prefix}{order_id}-R{refund_id}"


def _credit_payload(
    facts: OrderFacts,
    refund: OrderRefund,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    lines: list[dict],
) -> dict:
    return {
        "Type": "ACCRECCREDIT",
        "Contact": {"Name": shop.contact_name or DEFAULT_CONTACT},
        "Date": refund.refund_date.isoformat(),
        "CreditNoteNumber": credit_note_number(settings, facts.order_id, refund.refund_id),
        "Reference": f"TikTok order {facts.order_id} {refund.kind} {refund.refund_id}",
        "CurrencyCode": facts.currency,
        "LineAmountTypes": shop.line_amount_types,
        "Status": "AUTHORISED",
        "LineItems": lines,
    }


def _allocation(
    invoice: InvoiceState, credit_key: str, amount: Decimal, when: date, number: str
) -> PlannedDocument:
    """Sent as PUT /CreditNotes/{CreditNoteID}/Allocations once the credit note has its id (the
    outbox fills the path from `depends_on[0]`); the invoice is named by number, which Xero's schema
    accepts (the outbox may substitute the InvoiceID it holds for `depends_on[1]`)."""
    payload = {"Invoice": {"InvoiceNumber": invoice.number}, "Amount": amount, "Date": when.isoformat()}
    return PlannedDocument(
        kind="Allocations",
        purpose="order_credit_allocation",
        payload=payload,
        document_date=when,
        lookup=("CreditNoteNumber", number),
        key=f"{credit_key}:allocation",
        depends_on=(credit_key, invoice.key),
    )
