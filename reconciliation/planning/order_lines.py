"""The lines of an order's invoice or credit note (planning/order_invoice.py explains the shape).

Per unit sold: the item at its original price (a bundle split over its component items by the
bundle map), the seller's discount on it; per tax type: TikTok's platform discount given and paid
back; the shipping charged, TikTok's shipping discount given and paid back, the seller's shipping
discount; in the gross presentation, the marketplace-facilitator tax.
"""

from dataclasses import dataclass
from decimal import Decimal

from reconciliation.domain.money import ZERO, round_2dp
from reconciliation.domain.tiktok_orders import OrderFacts, OrderLine, order_ref
from reconciliation.planning.bundles import bundle_components, split_bundle
from reconciliation.planning.order_maps import OrderMaps, item_code, item_code_problems, tax_type
from reconciliation.planning.types import OrgSettings, Problem, ShopSettings

FOUR_DP = Decimal("0.0001")


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
    components = bundle_components(maps.bundles, line.seller_sku, line.sku_id)
    sold_as_one = any(k and k in maps.sku for k in (line.seller_sku, line.sku_id))
    if components is None and (not line.bundle or sold_as_one):
        # A plain SKU, or a bundle the seller keeps as one Xero item (its SKU is in the SKU map).
        code, problems = item_code(maps.sku, line.seller_sku, line.sku_id, org, ref, f"line {line.id}")
        return [_line(line.name, line.original_price, settings.sales, tax, item=code)], problems
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
