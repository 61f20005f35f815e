"""The maps order invoices read (planning/order_maps.py), checked as data against the organisation,
and the order settlement's leaves against TikTok's description."""

from dataclasses import replace

from reconciliation.domain import tiktok_leaves as leaves
from reconciliation.planning.order_maps import sku_map_problems, tax_map_problems
from tests.reconciliation.order_fixtures import order_org


def test_sku_map_rows_name_items_xero_has_in_at_most_30_characters():
    org = order_org()
    assert sku_map_problems({"A": "MUG-WHT", "B": "TEE-1"}, org) == []
    assert sku_map_problems({"A": "X" * 31, "B": "GONE"}, org) == [
        "SKU map: item GONE is not one of the Xero organisation's Items; create it in Xero or fix the SKU map",
        f"SKU map: Xero item codes are at most 30 characters: {'X' * 31!r}",
    ]
    assert sku_map_problems({"B": "GONE"}, replace(org, items=None)) == []


def test_tax_map_rows_are_active_rates_usable_on_their_side():
    org = order_org("GBP")
    ok = {("tiktok", "GB", "*", "sales"): "OUTPUT2", ("tiktok", "GB", "*", "fees"): "INPUT2"}
    assert tax_map_problems(ok, org) == []
    bad = {
        ("tiktok", "GB", "0.2", "sales"): "INPUT2",  # an expense rate on sales
        ("tiktok", "GB", "*", "fees"): "TAX999",
        ("tiktok", "GB", "*", "shipping"): "OUTPUT2",
    }
    assert tax_map_problems(bad, org) == [
        "tax-rate map (tiktok, GB, *, fees): tax type TAX999 is not an active Xero tax rate",
        "tax-rate map (tiktok, GB, *, shipping): the side must be sales or fees",
        "tax-rate map (tiktok, GB, 0.2, sales): tax type INPUT2 cannot be used on revenue account for sales",
    ]


def test_every_leaf_of_the_order_settlement_is_read_or_known_as_information(tiktok_spec):
    schema = tiktok_spec.response_schema("GET", "/finance/202501/orders/{order_id}/statement_transactions")
    row = schema["properties"]["data"]["properties"]["sku_transactions"]["items"]["properties"]
    declared = {
        "revenue": set(row["revenue_breakdown"]["properties"]),
        "shipping": set(row["shipping_cost_breakdown"]["properties"]) - {"supplementary_component"},
        "fee": set(row["fee_tax_breakdown"]["properties"]["fee"]["properties"]),
        "tax": set(row["fee_tax_breakdown"]["properties"]["tax"]["properties"]),
    }
    known = {
        "revenue": leaves.REVENUE,
        "shipping": leaves.SHIPPING,
        "fee": leaves.FEE | leaves.FEE_INFORMATION,
        "tax": leaves.TAX,
    }
    assert {group: sorted(declared[group] - known[group]) for group in declared} == {
        group: [] for group in declared
    }
