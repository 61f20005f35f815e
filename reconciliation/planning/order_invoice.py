"""Posting mode "order invoices" (DESIGN.md 4.4): one ACCREC invoice per TikTok order.

The invoice is what the order is worth to the seller before TikTok's fees: every unit at its
original price (bundles split over their component items), less the seller's discounts, plus what
TikTok pays back for the discounts it funded, plus shipping. Following the worked example
(shared/reference/tiktok-discounts-reimbursements-worked-example.txt), a TikTok-funded discount
shows twice: as the discount the buyer got (a negative line) and as TikTok's reimbursement (a
positive line), so the invoice reads like the order and the payment reads like the money.

US marketplace-facilitator sales tax (TikTok collects and remits it; it is not the seller's
revenue, DESIGN.md 4.5) has two presentations, a per-shop choice:

- gross (the worked example): the invoice carries the tax as a line on the sales-tax account, the
  payment includes it, and the settlement journal expenses it back to the same account;
- net: neither the invoice nor the payment carries it.

Worked order: 235.95 items - 35.39 seller discount - 30.00 platform discount + 30.00 reimbursement
+ 6.50 shipping - 6.50 shipping discount + 6.50 shipping reimbursement = 207.06 (net), + 14.04
sales tax = 221.10 (gross) = total_amount 184.60 + platform_discount 30.00 +
shipping_fee_platform_discount 6.50.

Tax on shops whose invoices carry tax rates (Exclusive or Inclusive) comes from the tax-rate map;
Xero rounds each line's tax to 2 dp and sums (DESIGN.md 3). On an Exclusive invoice the residual
against the tax TikTok states goes on a rounding line on the organisation's ROUNDING system account
(looked up), so Xero's total is what the buyer paid.

Lines: planning/order_lines.py; Xero's arithmetic and the rounding line:
planning/invoice_arithmetic.py; maps: planning/order_maps.py and planning/bundles.py.
"""

from decimal import Decimal

from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok_orders import OrderFacts, order_ref
from reconciliation.planning import checks
from reconciliation.planning.invoice_arithmetic import with_rounding, xero_totals
from reconciliation.planning.order_lines import OrderInvoiceSettings, invoice_lines, needs_unitdp4
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.types import (
    Information,
    OrgSettings,
    Plan,
    PlannedDocument,
    Problem,
    ShopSettings,
)

DEFAULT_CONTACT = "TikTok Shop"
# DESIGN.md 4.4: invoice once the order reaches the shop's finalised status (default
# AWAITING_COLLECTION or later), so cancellations rarely strand an invoice.
STATUS_ORDER = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
)
ITEMS_CHECK = "item codes against the organisation's Items"
ROUNDING_CHECK = "Xero's per-line tax against the order's tax (no rounding line without the tax rates)"


def invoice_number(settings: OrderInvoiceSettings, order_id: str) -> str:
    return f"{settings.number_prefix}{order_id}"


def invoice_key(order_id: str) -> str:
    """The planning key of an order's invoice: payments and allocations name it (PlannedDocument.key)."""
    return f"order {order_id}:invoice"


def expected_invoice_total(facts: OrderFacts, shop: ShopSettings, settings: OrderInvoiceSettings) -> Decimal:
    """What Xero's Total must be: what the buyer paid (total_amount) plus what TikTok pays back for
    the discounts it funded (platform_discount + shipping_fee_platform_discount), less the
    facilitator tax when the invoice leaves it out (NoTax shop, net presentation)."""
    total = facts.total_amount + facts.platform_discount + facts.shipping_fee_platform_discount
    if shop.line_amount_types == "NoTax" and settings.tax_presentation != "gross":
        total -= facts.tax
    return total


def tax_kept_by_tiktok(facts: OrderFacts, shop: ShopSettings, settings: OrderInvoiceSettings) -> Decimal:
    """The tax TikTok collects and remits (marketplace facilitator) that the invoice carries, so
    the settlement journal must expense it back: the gross presentation of a NoTax (US) shop, and
    (a guess, for US sellers who want the tax on their own rates in Xero's sales-tax report) an
    Exclusive shop's stated tax. TikTok's settlement never contains it."""
    if shop.line_amount_types == "Exclusive" or (
        shop.line_amount_types == "NoTax" and settings.tax_presentation == "gross"
    ):
        return facts.tax
    return ZERO


def plan_order_invoice(
    facts: OrderFacts,
    *,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    maps: OrderMaps,
    org: OrgSettings | None,
) -> Plan:
    """One AUTHORISED ACCREC invoice for an order, or nothing (with a note) for an order that is not
    a sale yet or at all. Problems: UNMAPPED_SKU, UNMAPPED_TAX, INVALID_MAPPING, CURRENCY_MISMATCH,
    LOCK_DATE, and SOURCE_INCONSISTENT when the planned lines do not come to the order's total."""
    ref = order_ref(facts.order_id)
    skipped = skipped_checks(org)
    if skipped_note := _not_invoiced(facts, settings):
        return Plan((), (), skipped, (Information("ORDER_NOT_INVOICED", f"{ref}: {skipped_note}", ref),))
    problems = _shop_problems(facts, shop, settings, org, ref)
    lines, line_problems = invoice_lines(
        facts, facts.lines, shipping=True, shop=shop, settings=settings, maps=maps, org=org
    )
    problems += list(dict.fromkeys(line_problems))  # one row to add per missing map entry
    if problems:
        return Plan((), tuple(problems), skipped)
    expected = expected_invoice_total(facts, shop, settings)
    lines, rounding_problems = with_rounding(lines, expected, shop, org, ref)
    problems += rounding_problems
    payload = invoice_payload(facts, shop, settings, lines)
    if not problems:
        problems += _total_problems(payload, expected, org, ref)
    problems += _account_problems(lines, org, ref) + checks.lock_date_problems(
        facts.order_date, org, ref, taxed=shop.line_amount_types != "NoTax"
    )
    document = PlannedDocument(
        kind="Invoices",
        purpose="order_invoice",
        payload=payload,
        document_date=facts.order_date,
        lookup=("InvoiceNumber", payload["InvoiceNumber"]),
        key=invoice_key(facts.order_id),
        unitdp4=needs_unitdp4(lines),
    )
    return Plan((document,), tuple(problems), skipped)


def skipped_checks(org: OrgSettings | None) -> tuple[str, ...]:
    if org is None:
        return (*checks.SKIPPED_WITHOUT_ORG, ITEMS_CHECK, ROUNDING_CHECK)
    return (ITEMS_CHECK,) if org.items is None else ()


def invoice_payload(
    facts: OrderFacts, shop: ShopSettings, settings: OrderInvoiceSettings, lines: list[dict]
) -> dict:
    return {
        "Type": "ACCREC",
        "Contact": {"Name": shop.contact_name or DEFAULT_CONTACT},
        "Date": facts.order_date.isoformat(),
        "DueDate": facts.order_date.isoformat(),  # TikTok has already been paid by the buyer
        "InvoiceNumber": invoice_number(settings, facts.order_id),
        "Reference": f"TikTok order {facts.order_id}",
        "CurrencyCode": facts.currency,
        "LineAmountTypes": shop.line_amount_types,
        "Status": "AUTHORISED",
        "LineItems": lines,
    }


def _not_invoiced(facts: OrderFacts, settings: OrderInvoiceSettings) -> str:
    if facts.excluded_reason:
        return (
            f"not invoiced: TikTok flags it as a {facts.excluded_reason}, which is not a sale (DESIGN.md 4.1)"
        )
    if facts.status == "CANCELLED":
        return "not invoiced: cancelled before it reached the shop's finalised status"
    if facts.status not in STATUS_ORDER or settings.finalised_status not in STATUS_ORDER:
        return f"not invoiced: status {facts.status!r} is not one the shop's finalised status can be compared with"
    if STATUS_ORDER.index(facts.status) < STATUS_ORDER.index(settings.finalised_status):
        return f"not invoiced yet: {facts.status} is before the shop's finalised status {settings.finalised_status}"
    return ""


def _shop_problems(
    facts: OrderFacts, shop: ShopSettings, settings: OrderInvoiceSettings, org: OrgSettings | None, ref: str
) -> list[Problem]:
    problems = checks.currency_problems(facts.currency, org, ref)
    if facts.currency != shop.currency.upper():
        problems.append(
            Problem(
                "CURRENCY_MISMATCH",
                f"{ref} is in {facts.currency}, the shop is set up in {shop.currency}",
                ref,
            )
        )
    if shop.line_amount_types == "NoTax" and settings.tax_presentation not in ("gross", "net"):
        problems.append(
            Problem(
                "INVALID_MAPPING",
                f"{ref}: tax presentation must be gross or net, not {settings.tax_presentation!r}",
                ref,
            )
        )
    if (
        shop.line_amount_types == "NoTax"
        and settings.tax_presentation == "gross"
        and facts.tax
        and not settings.sales_tax
    ):
        problems.append(
            Problem(
                "INVALID_MAPPING", f"{ref}: the gross presentation needs the shop's sales-tax account", ref
            )
        )
    return problems


def _total_problems(payload: dict, expected: Decimal, org, ref: str) -> list[Problem]:
    if payload["LineAmountTypes"] != "NoTax" and org is None:
        return []  # tax unknown without the organisation's rates (skipped_checks says so)
    total, _ = xero_totals(payload["LineItems"], payload["LineAmountTypes"], org)
    if total == expected:
        return []
    return [
        Problem(
            "SOURCE_INCONSISTENT",
            f"{ref}: its invoice lines come to {total} in Xero's arithmetic, but the order is worth {expected} "
            "(total_amount + platform_discount + shipping_fee_platform_discount)",
            ref,
        )
    ]


def _account_problems(lines: list[dict], org: OrgSettings | None, ref: str) -> list[Problem]:
    if org is None:
        return []
    problems = []
    for code in dict.fromkeys(line["AccountCode"] for line in lines):
        account = org.accounts.get(code)
        if account is None or account.status != "ACTIVE" or account.type == "BANK":
            problems.append(
                Problem("INVALID_MAPPING", f"{ref}: {code} is not an active non-bank Xero account", ref)
            )
    for line in lines:
        account = org.accounts.get(line["AccountCode"])
        if account is not None and line.get("TaxType"):
            problems += checks.tax_type_problems(
                line["TaxType"], account.account_class, org, ref, account.code
            )
    return list(dict.fromkeys(problems))
