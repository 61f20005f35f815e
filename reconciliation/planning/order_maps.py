"""The maps order invoices need (DESIGN.md 4.5), as plain data, and their checks.

- SKU map: TikTok `seller_sku` or `sku_id` -> Xero item code (<= 30 characters, DESIGN.md 6; it must
  be one of the organisation's Items when those are known).
- Tax-rate map: (channel, region, source tax, side) -> Xero TaxType. `source` is TikTok's tax rate
  as written ("0.0823"), else its tax name ("SALES_TAX"), else "*" for the region's default;
  `side` is "sales" or "fees". The TaxType must be ACTIVE in the organisation and usable on the
  line's account class (CanApplyToRevenue, CanApplyToExpenses, ...): Xero's /TaxRates is the truth.

Missing entries are Problems that say exactly what row to add: UNMAPPED_SKU, UNMAPPED_TAX.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from reconciliation.planning import checks
from reconciliation.planning.bundles import BundleMap
from reconciliation.planning.types import OrgSettings, Problem

MAX_ITEM_CODE = 30
SkuMap = Mapping[str, str]
TaxKey = tuple[str, str, str, str]  # (channel, region, source tax rate or name or "*", "sales"|"fees")
TaxMap = Mapping[TaxKey, str]
CHANNEL = "tiktok"


@dataclass(frozen=True)
class OrderMaps:
    """The three maps an order invoice reads, as plain data."""

    sku: SkuMap
    bundles: BundleMap
    tax: TaxMap


def item_code(
    sku_map: SkuMap, seller_sku: str, sku_id: str, org: OrgSettings | None, ref: str, what: str
) -> tuple[str, list[Problem]]:
    """The Xero item code for a TikTok SKU (seller_sku first: it is the seller's own name and
    survives relisting; sku_id when the seller left it blank)."""
    code = next((sku_map[k] for k in (seller_sku, sku_id) if k and k in sku_map), "")
    if not code:
        return "", [
            Problem(
                "UNMAPPED_SKU",
                f"{ref}: {what} (seller_sku {seller_sku or '-'}, sku_id {sku_id or '-'}) has no Xero item; "
                f"add a SKU-map row {seller_sku or sku_id} -> <Xero item code>",
                ref,
                details={"seller_sku": seller_sku, "sku_id": sku_id},
            )
        ]
    return code, item_code_problems(code, org, ref)


def item_code_problems(code: str, org: OrgSettings | None, ref: str) -> list[Problem]:
    if len(code) > MAX_ITEM_CODE:
        return [
            Problem("INVALID_MAPPING", f"{ref}: Xero item codes are at most 30 characters: {code!r}", ref)
        ]
    items = getattr(org, "items", None)
    if items is not None and code not in items:
        return [
            Problem(
                "INVALID_MAPPING",
                f"{ref}: item {code} is not one of the Xero organisation's Items; create it in Xero or fix the SKU map",
                ref,
            )
        ]
    return []


def tax_type(
    tax_map: TaxMap,
    *,
    region: str,
    rate: str,
    name: str,
    side: str,
    account_class: str,
    org: OrgSettings | None,
    ref: str,
) -> tuple[str, list[Problem]]:
    """The Xero TaxType for a source tax: by TikTok's rate, then its name, then the region's "*".
    Checked against the organisation's tax rates (ACTIVE, usable on `account_class`)."""
    region = region.upper()
    for source in (rate, name, "*"):
        found = tax_map.get((CHANNEL, region, source, side)) if source else None
        if found:
            break
    else:
        wanted = rate or name or "*"
        return "", [
            Problem(
                "UNMAPPED_TAX",
                f"{ref}: no Xero tax rate for {side} tax {wanted!r} in {region}; add a tax-rate map row "
                f"({CHANNEL}, {region}, {wanted}, {side}) -> <Xero TaxType>",
                ref,
                details={"channel": CHANNEL, "region": region, "source": wanted, "side": side},
            )
        ]
    if org is None:
        return found, []
    return found, checks.tax_type_problems(found, account_class, org, ref, f"({side})")


SIDE_CLASS = {"sales": "REVENUE", "fees": "EXPENSE"}


def sku_map_problems(sku_map: SkuMap, org: OrgSettings | None) -> list[str]:
    """Each SKU-map row's item code: at most 30 characters and, when known, one of Xero's Items."""
    ref = "SKU map"
    return [p.message for code in sorted(set(sku_map.values())) for p in item_code_problems(code, org, ref)]


def tax_map_problems(tax_map: TaxMap, org: OrgSettings) -> list[str]:
    """Each tax-rate map row against the organisation's tax rates: the side is sales or fees, the
    TaxType ACTIVE and usable on that side's account class (revenue for sales, expense for fees)."""
    messages = []
    for (channel, region, source, side), found in sorted(tax_map.items()):
        where = f"tax-rate map ({channel}, {region}, {source}, {side})"
        if side not in SIDE_CLASS:
            messages.append(f"{where}: the side must be sales or fees")
            continue
        problems = checks.tax_type_problems(found, SIDE_CLASS[side], org, where, f"for {side}")
        messages += [p.message for p in problems]
    return messages
