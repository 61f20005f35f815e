"""Readable rule sets and organisations for the planning tests."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from reconciliation.planning.types import Account, ComponentRule, OrgSettings, ShopSettings, TaxRate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_pages(name: str) -> list[dict]:
    return [json.loads((FIXTURES / "tiktok" / name).read_text())]


US_SHOP = ShopSettings(
    code="tt-us",
    name="Demo US",
    region="US",
    currency="USD",
    line_amount_types="NoTax",
    clearing_account="1210",
    bank_account="090",
    contact_name="TikTok Shop",
)
UK_SHOP = ShopSettings(
    code="tt-uk",
    name="Demo UK",
    region="GB",
    currency="GBP",
    line_amount_types="Inclusive",
    clearing_account="1210",
    bank_account="090",
)

# The worked example's accounts (DESIGN.md 4.3).
US_RULES = {
    "revenue.subtotal_before_discount_amount": ComponentRule("4000", description="Sales"),
    "revenue.seller_discount_amount": ComponentRule("4010", description="Seller discounts"),
    "shipping.actual_shipping_fee_amount": ComponentRule("5100", description="Shipping cost"),
    "shipping.shipping_fee_discount_amount": ComponentRule("4020", description="Platform shipping subsidy"),
    "fee.referral_fee_amount": ComponentRule("6100", description="Marketplace fees"),
    "fee.transaction_fee_amount": ComponentRule("6100", description="Marketplace fees"),
}

UK_RULES = {
    "revenue.subtotal_before_discount_amount": ComponentRule("4000", "OUTPUT2"),
    "shipping.customer_paid_shipping_fee_amount": ComponentRule("4000", "OUTPUT2"),
    "revenue.seller_discount_amount": ComponentRule("4010", "OUTPUT2"),
    "revenue.refund_subtotal_before_discount_amount": ComponentRule("4030", "OUTPUT2"),
    "shipping.actual_shipping_fee_amount": ComponentRule("5100", "INPUT2"),
    "shipping.return_shipping_fee_amount": ComponentRule("5100", "INPUT2"),
    "adjustment.SHIPPING_FEE_ADJUSTMENT": ComponentRule("5100", "INPUT2"),
    "shipping.shipping_fee_discount_amount": ComponentRule("4020", "NONE"),
    "fee.platform_commission_amount": ComponentRule("6100", "INPUT2"),
    "fee.transaction_fee_amount": ComponentRule("6100", "INPUT2"),
    "fee.refund_administration_fee_amount": ComponentRule("6100", "INPUT2"),
    "adjustment.PLATFORM_REIMBURSEMENT": ComponentRule("4040", "NONE"),
}

ALL = frozenset({"REVENUE", "EXPENSE", "ASSET", "LIABILITY", "EQUITY"})


def org(base_currency: str = "USD", *, period_lock: date | None = None, year_end_lock: date | None = None):
    accounts = {
        "090": Account("090", "BANK", "ASSET"),
        "1210": Account("1210", "CURRENT", "ASSET", enable_payments=True),
        "4000": Account("4000", "REVENUE", "REVENUE"),
        "4010": Account("4010", "REVENUE", "REVENUE"),
        "4020": Account("4020", "REVENUE", "REVENUE"),
        "4030": Account("4030", "REVENUE", "REVENUE"),
        "4040": Account("4040", "REVENUE", "REVENUE"),
        "5100": Account("5100", "DIRECTCOSTS", "EXPENSE"),
        "6100": Account("6100", "EXPENSE", "EXPENSE"),
        "610": Account("610", "CURRENT", "ASSET", system_account="DEBTORS"),
    }
    rates = {
        "NONE": TaxRate("NONE", Decimal("0"), can_apply_to=ALL),
        "OUTPUT2": TaxRate("OUTPUT2", Decimal("20"), can_apply_to=frozenset({"REVENUE"})),
        "INPUT2": TaxRate("INPUT2", Decimal("20"), can_apply_to=frozenset({"EXPENSE", "ASSET"})),
    }
    return OrgSettings(base_currency, period_lock, year_end_lock, accounts, rates)
