"""The bundle map (DESIGN.md 4.5): a virtual bundle's price split over its component items.

A bundle SKU (TikTok `seller_sku`, else `sku_id`) maps to component Xero items, each with a quantity
per bundle and a price weight. The bundle's amount is split by weight x quantity with
largest-remainder rounding (DESIGN.md 3), so the component lines add up to the bundle's amount to
the cent, whatever the price and weights.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from reconciliation.domain.money import ZERO, minor_unit, split_largest_remainder


@dataclass(frozen=True)
class BundleComponent:
    """One part of a bundle: `quantity` units of Xero item `item_code` per bundle sold; `weight` is
    its share of the bundle's price per unit (for example its list price), any positive Decimal."""

    item_code: str
    quantity: int
    weight: Decimal


BundleMap = Mapping[str, tuple[BundleComponent, ...]]


def bundle_components(
    bundle_map: BundleMap, seller_sku: str, sku_id: str
) -> tuple[BundleComponent, ...] | None:
    """The map's entry for a bundle, by seller_sku first, then sku_id; None when it has none."""
    for key in (seller_sku, sku_id):
        if key and key in bundle_map:
            return bundle_map[key]
    return None


def split_bundle(amount: Decimal, components: tuple[BundleComponent, ...], currency: str) -> list[Decimal]:
    """`amount` (a bundle's price or discount, in `currency`) split over `components` by
    weight x quantity, in the currency's minor unit; the parts sum to `amount` exactly.

    Raises ValueError for an empty or all-zero-weight bundle (the map's validation refuses those
    before planning) or an amount finer than the currency's minor unit.
    """
    weights = [c.weight * c.quantity for c in components]
    if amount == ZERO:
        return [ZERO for _ in components]
    return split_largest_remainder(amount, weights, unit=minor_unit(currency))


def bundle_map_problems(bundle_map: BundleMap) -> list[str]:
    """What is wrong with a bundle map as data (each message names the bundle and what to fix)."""
    messages = []
    for sku, components in bundle_map.items():
        if not components:
            messages.append(f"bundle {sku} has no components")
        for c in components:
            if c.quantity < 1 or c.weight < ZERO:
                messages.append(f"bundle {sku}: {c.item_code} needs a quantity >= 1 and a weight >= 0")
        if components and sum((c.weight * c.quantity for c in components), ZERO) <= ZERO:
            messages.append(f"bundle {sku}: its weights are all zero, so its price cannot be split")
    return messages
