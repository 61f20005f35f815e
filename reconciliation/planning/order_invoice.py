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
"""

from dataclasses import dataclass
from decimal import Decimal

from reconciliation.domain.money import ZERO, round_2dp
from reconciliation.domain.tiktok_orders import OrderFacts, OrderLine, order_ref
from reconciliation.planning import checks
from reconciliation.planning.bundles import BundleMap, bundle_components, split_bundle
from reconciliation.planning.order_maps import SkuMap, TaxMap, item_code, item_code_problems, tax_type
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
FOUR_DP = Decimal("0.0001")
ITEMS_CHECK = "item codes against the organisation's Items"


@dataclass(frozen=True)
class OrderInvoiceSettings:
    """A shop's order-invoice accounts (Xero account codes) and choices.

    `sales` item lines; `seller_discount` seller-funded discounts; `platform_discount` the
    TikTok-funded discounts the buyer got and `platform_reimbursement` TikTok paying them back (the
    same pair for shipping discounts); `shipping` the shipping charged; `sales_tax` the
    marketplace-facilitator tax in the gross presentation (a liability or clearing-type account:
    the invoice credits it, the settlement journal debits it back). `tax_presentation` "gross" or
    "net" (NoTax shops only). `finalised_status` the first status that gets an invoice.
    """

    sales: str
    seller_discount: str
    platform_discount: str
    platform_reimbursement: str
    shipping: str
    sales_tax: str = ""
    tax_presentation: str = "net"
    finalised_status: str = "AWAITING_COLLECTION"
    number_prefix: str = "TT-"


@dataclass(frozen=True)
class OrderMaps:
    sku: SkuMap
    bundles: BundleMap
    tax: TaxMap


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
    problems += line_problems
    if problems:
        return Plan((), tuple(problems), skipped)
    expected = expected_invoice_total(facts, shop, settings)
    lines, rounding_problems = with_rounding(lines, expected, shop, org, ref)
    problems += rounding_problems
    payload = invoice_payload(facts, shop, settings, lines)
    if not problems:
        problems += _total_problems(payload, expected, org, ref)
    problems += _account_problems(lines, org, ref) + checks.lock_date_problems(facts.order_date, org, ref)
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
        return (*checks.SKIPPED_WITHOUT_ORG, ITEMS_CHECK)
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


# Lines ---------------------------------------------------------------------------------------------


def invoice_lines(
    facts: OrderFacts,
    order_lines: tuple[OrderLine, ...],
    *,
    shipping: bool,
    shop: ShopSettings,
    settings: OrderInvoiceSettings,
    maps: OrderMaps,
    org: OrgSettings | None,
) -> tuple[list[dict], list[Problem]]:
    """The invoice lines for `order_lines` (all of the order's, or the refunded ones for a credit
    note), with the order's shipping when `shipping`. Amounts positive as on an invoice."""
    ref = order_ref(facts.order_id)
    lines: list[dict] = []
    problems: list[Problem] = []
    platform: dict[str, Decimal] = {}
    for line in order_lines:
        tax, found = _tax_type(line.tax_rate, line.tax_name, settings.sales, shop, maps, org, ref)
        problems += found
        item_lines, found = _item_lines(line, facts.currency, tax, settings, maps, org, ref)
        lines += item_lines
        problems += found
        if line.seller_discount:
            lines.append(
                _line(f"Seller discount: {line.name}", -line.seller_discount, settings.seller_discount, tax)
            )
        if line.platform_discount:
            platform[tax] = platform.get(tax, ZERO) + line.platform_discount
    for tax, amount in platform.items():
        lines.append(
            _line(
                "TikTok reimbursement of its platform discount", amount, settings.platform_reimbursement, tax
            )
        )
        lines.append(_line("TikTok platform discount", -amount, settings.platform_discount, tax))
    if shipping:
        shipping_lines, found = _shipping_lines(facts, shop, settings, maps, org, ref)
        lines += shipping_lines
        problems += found
    tax_kept = sum((line.tax for line in order_lines), ZERO) + (facts.shipping_fee_tax if shipping else ZERO)
    if tax_kept and shop.line_amount_types == "NoTax" and settings.tax_presentation == "gross":
        lines.append(
            _line(
                "Sales tax collected and remitted by TikTok (marketplace facilitator)",
                tax_kept,
                settings.sales_tax,
                "",
            )
        )
    return lines, problems


def _item_lines(
    line: OrderLine, currency: str, tax: str, settings: OrderInvoiceSettings, maps: OrderMaps, org, ref: str
) -> tuple[list[dict], list[Problem]]:
    if not line.bundle and bundle_components(maps.bundles, line.seller_sku, line.sku_id) is None:
        code, problems = item_code(maps.sku, line.seller_sku, line.sku_id, org, ref, f"line {line.id}")
        return [_line(line.name, line.original_price, settings.sales, tax, item=code)], problems
    components = bundle_components(maps.bundles, line.seller_sku, line.sku_id)
    if not components:
        return [], [
            Problem(
                "UNMAPPED_SKU",
                f"{ref}: bundle {line.seller_sku or line.sku_id} (line {line.id}) has no entry in the bundle map; "
                f"add its components with quantities and price weights (TikTok lists: "
                f"{', '.join(f'{p.count} x {p.seller_sku or p.sku_id}' for p in line.bundle)})",
                ref,
                details={"seller_sku": line.seller_sku, "sku_id": line.sku_id},
            )
        ]
    parts = split_bundle(line.original_price, components, currency)
    lines, problems = [], []
    for component, part in zip(components, parts, strict=True):
        problems += item_code_problems(component.item_code, org, ref)
        unit = part if component.quantity == 1 else (part / component.quantity).quantize(FOUR_DP)
        lines.append(
            _line(
                f"{line.name}: {component.item_code} (bundle {line.seller_sku or line.sku_id})",
                unit,
                settings.sales,
                tax,
                item=component.item_code,
                quantity=component.quantity,
            )
        )
    return lines, problems


def _shipping_lines(facts: OrderFacts, shop, settings, maps, org, ref) -> tuple[list[dict], list[Problem]]:
    if not facts.original_shipping_fee:
        return [], []
    # Guess: shipping is taxed like the order's first line (TikTok states no rate for shipping).
    first = facts.lines[0]
    tax, problems = _tax_type(first.tax_rate, first.tax_name, settings.shipping, shop, maps, org, ref)
    lines = [_line("Shipping", facts.original_shipping_fee, settings.shipping, tax)]
    if facts.shipping_fee_platform_discount:
        amount = facts.shipping_fee_platform_discount
        lines.append(_line("TikTok shipping reimbursement", amount, settings.platform_reimbursement, tax))
        lines.append(_line("TikTok shipping discount", -amount, settings.platform_discount, tax))
    if facts.shipping_fee_seller_discount:
        lines.append(
            _line(
                "Seller shipping discount", -facts.shipping_fee_seller_discount, settings.seller_discount, tax
            )
        )
    return lines, problems


def _tax_type(
    rate, name, account, shop: ShopSettings, maps: OrderMaps, org, ref
) -> tuple[str, list[Problem]]:
    if shop.line_amount_types == "NoTax":
        return "", []  # facilitator tax: TikTok's, never on a seller's tax rate
    account_class = org.accounts[account].account_class if org and account in org.accounts else "REVENUE"
    return tax_type(
        maps.tax,
        region=shop.region,
        rate=rate,
        name=name,
        side="sales",
        account_class=account_class,
        org=org,
        ref=ref,
    )


def _line(
    description: str, amount: Decimal, account: str, tax: str, *, item: str = "", quantity: int = 1
) -> dict:
    line: dict = {
        "Description": description[:4000],
        "Quantity": quantity,
        "UnitAmount": amount,
        "AccountCode": account,
    }
    if item:
        line["ItemCode"] = item
    if tax:
        line["TaxType"] = tax
    return line


def needs_unitdp4(lines: list[dict]) -> bool:
    return any(line["UnitAmount"] != round_2dp(line["UnitAmount"]) for line in lines)


# Xero's arithmetic --------------------------------------------------------------------------------


def xero_totals(
    lines: list[dict], line_amount_types: str, org: OrgSettings | None
) -> tuple[Decimal, Decimal]:
    """(Total, TotalTax) as Xero computes them: LineAmount = Quantity x UnitAmount rounded to 2 dp,
    tax per line rounded to 2 dp, then summed (DESIGN.md 3). A line's TaxAmount, when given, is
    taken as is. Without the organisation's rates, tax counts as 0."""
    total = tax_total = ZERO
    for line in lines:
        amount = round_2dp(Decimal(line["Quantity"]) * line["UnitAmount"])
        tax = line.get("TaxAmount")
        if tax is None:
            tax = line_tax(amount, line.get("TaxType", ""), line_amount_types, org)
        tax_total += tax
        total += amount + (tax if line_amount_types == "Exclusive" else ZERO)
    return total, tax_total


def line_tax(amount: Decimal, tax: str, line_amount_types: str, org: OrgSettings | None) -> Decimal:
    rate = org.tax_rates.get(tax) if org and tax else None
    if rate is None or line_amount_types == "NoTax":
        return ZERO
    if line_amount_types == "Inclusive":
        return round_2dp(amount * rate.rate / (100 + rate.rate))
    return round_2dp(amount * rate.rate / 100)


def rounding_account(org: OrgSettings | None) -> str:
    """The organisation's ROUNDING system account (Xero: Accounts, SystemAccount=ROUNDING)."""
    if org is None:
        return ""
    return next(
        (a.code for a in org.accounts.values() if a.system_account == "ROUNDING" and a.status == "ACTIVE"), ""
    )


def _zero_rate(org: OrgSettings, account_class: str) -> str:
    """A 0% ACTIVE tax rate usable on the rounding account ("NONE" first). Guess: the rounding line
    must carry no tax; Xero names its no-tax rate differently per region, so it is looked up."""
    usable = [
        r.tax_type
        for r in org.tax_rates.values()
        if r.rate == ZERO and r.status == "ACTIVE" and (not r.can_apply_to or account_class in r.can_apply_to)
    ]
    return "NONE" if "NONE" in usable else (usable[0] if usable else "")


def with_rounding(
    lines: list[dict], expected: Decimal, shop: ShopSettings, org, ref
) -> tuple[list[dict], list[Problem]]:
    """On an Exclusive invoice, Xero's per-line tax may differ from the tax TikTok states on the
    order by a cent or so; a rounding line on the ROUNDING account makes Xero's total the order's."""
    if shop.line_amount_types != "Exclusive" or org is None:
        return lines, []
    total, _ = xero_totals(lines, shop.line_amount_types, org)
    residual = expected - total
    if residual == ZERO:
        return lines, []
    code = rounding_account(org)
    if not code:
        return lines, [
            Problem(
                "INVALID_MAPPING",
                f"{ref}: Xero has no active ROUNDING system account for a {residual} rounding line",
                ref,
            )
        ]
    tax = _zero_rate(org, org.accounts[code].account_class)
    if not tax:
        return lines, [
            Problem(
                "INVALID_MAPPING", f"{ref}: Xero has no 0% tax rate usable on rounding account {code}", ref
            )
        ]
    return [*lines, _line("Rounding (Xero rounds tax per line, TikTok per order)", residual, code, tax)], []


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
