"""Shops, maps and an organisation for the order-invoice tests (the worked US order and friends)."""

import json
from dataclasses import replace
from decimal import Decimal

from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.domain.tiktok_orders import OrderFacts, order_facts, order_settlement, orders_in
from reconciliation.planning.bundles import BundleComponent
from reconciliation.planning.order_lines import OrderInvoiceSettings
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.types import Account, ComponentRule, OrgSettings, TaxRate
from tests.reconciliation.planning_fixtures import FIXTURES, US_RULES, US_SHOP, org

D = Decimal
ORDERS = FIXTURES / "tiktok" / "orders"
WORKED_ORDER_ID = "576500000000000001"
WORKED_STATEMENT_ID = "7301000000000000001"

US_ORDER_SHOP = replace(US_SHOP, posting_mode="order_invoices", timezone="America/Los_Angeles")
GROSS = OrderInvoiceSettings(
    sales="4000",
    seller_discount="4010",
    platform_discount="4050",
    platform_reimbursement="4060",
    shipping="4070",
    sales_tax="2300",
    tax_presentation="gross",
)
NET = replace(GROSS, tax_presentation="net")
MAPS = OrderMaps(
    sku={"HOODIE-BLK-M": "HOODIE-BLK-M", "MUG-WHT": "MUG-WHT", "CANDLE-SOY": "CANDLE-SOY"},
    bundles={
        "GIFTSET-3": (
            BundleComponent("MUG-WHT", 2, D("12.00")),
            BundleComponent("CANDLE-SOY", 1, D("18.00")),
        )
    },
    tax={},
)
# The statement-mode rules plus the gross presentation's sales tax expensed back (planning/order_settlement).
ORDER_RULES = {**US_RULES}
ITEMS = frozenset({"HOODIE-BLK-M", "MUG-WHT", "CANDLE-SOY", "TEE-1"})
ALL = frozenset({"REVENUE", "EXPENSE", "ASSET", "LIABILITY", "EQUITY"})


def order_org(base_currency: str = "USD", **kwargs) -> OrgSettings:
    base = org(base_currency, **kwargs)
    accounts = {
        **base.accounts,
        "2300": Account("2300", "CURRLIAB", "LIABILITY"),
        "4050": Account("4050", "REVENUE", "REVENUE"),
        "4060": Account("4060", "REVENUE", "REVENUE"),
        "4070": Account("4070", "REVENUE", "REVENUE"),
        "860": Account("860", "CURRLIAB", "LIABILITY", system_account="ROUNDING"),
    }
    rates = {
        **base.tax_rates,
        "TAX10": TaxRate("TAX10", D("10"), can_apply_to=frozenset({"REVENUE"})),
        "EXEMPTIN": TaxRate("EXEMPTIN", D("0"), can_apply_to=frozenset({"EXPENSE"})),
    }
    return replace(base, accounts=accounts, tax_rates=rates, items=ITEMS)


def raw_order(name: str = "us_worked_order_detail.json") -> dict:
    return orders_in(json.loads((ORDERS / name).read_text()))[0]


def worked_order() -> OrderFacts:
    facts, problems = order_facts(raw_order(), timezone="America/Los_Angeles")
    assert facts is not None and problems == []
    return facts


def worked_settlement_envelope() -> dict:
    return json.loads((ORDERS / "us_worked_order_statement_transactions.json").read_text())


def worked_statement():
    pages = [json.loads((FIXTURES / "tiktok" / "us_worked_order_statement.json").read_text())]
    facts, problems = statement_facts(pages, timezone="America/Los_Angeles")
    assert facts is not None and problems == []
    return facts


def worked_order_rows():
    rows, problems = order_settlement(worked_settlement_envelope())
    assert rows is not None and problems == []
    return rows


_ = ComponentRule
