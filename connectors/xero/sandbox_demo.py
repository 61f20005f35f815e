"""The demo organisation: a small marketplace seller's chart of accounts, US or UK tax (DESIGN.md 4, 7).

Account codes are the same for both so that maps and fixtures work against either; only the tax
rates and the default tax types differ.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.xero.sandbox import XeroSandbox

# code, name, type, default tax by kind ("sales" / "costs" / None), extra keyword arguments
_CHART = (
    ("090", "Checking Account", "BANK", None, {}),
    ("1210", "TikTok Shop clearing", "CURRENT", None, {"enable_payments": True}),
    ("1220", "TikTok reserved balances", "CURRENT", None, {}),
    ("610", "Accounts Receivable", "CURRENT", None, {"system_account": "DEBTORS"}),
    ("800", "Accounts Payable", "CURRLIAB", None, {"system_account": "CREDITORS"}),
    ("260", "Rounding", "CURRLIAB", None, {"system_account": "ROUNDING"}),
    ("2210", "Sales tax collected by marketplace", "CURRLIAB", None, {}),
    ("4000", "Sales", "REVENUE", "sales", {}),
    ("4010", "Seller discounts", "REVENUE", "sales", {}),
    ("4020", "Platform shipping subsidy", "REVENUE", "sales", {}),
    ("4030", "Refunds", "REVENUE", "sales", {}),
    ("4040", "TikTok reimbursements", "OTHERINCOME", None, {}),
    ("5100", "Shipping cost", "DIRECTCOSTS", "costs", {}),
    ("6100", "Marketplace fees", "EXPENSE", "costs", {}),
    ("6110", "Affiliate commission", "EXPENSE", "costs", {}),
    ("8000", "Other marketplace adjustments", "EXPENSE", None, {}),
)
_REVENUE, _COSTS = ("Revenue",), ("Expenses", "Assets")
# US: the marketplace collects sales tax as facilitator, so sales default to no tax; TAX001 exists
# for sellers who collect it themselves. UK: standard-rated VAT on sales and costs.
_RATES = {
    "USD": (
        ("TAX001", "Tax on Sales", Decimal("8.875"), _REVENUE),
        ("INPUT", "Tax on Purchases", Decimal("0"), _COSTS),
    ),
    "GBP": (
        ("OUTPUT2", "20% (VAT on Income)", Decimal("20"), _REVENUE),
        ("INPUT2", "20% (VAT on Expenses)", Decimal("20"), _COSTS),
        ("ZERORATEDOUTPUT", "Zero Rated Income", Decimal("0"), _REVENUE),
    ),
}
_DEFAULT_TAX = {"USD": {"sales": "NONE", "costs": "NONE"}, "GBP": {"sales": "OUTPUT2", "costs": "INPUT2"}}


def seed_demo(sandbox: XeroSandbox) -> None:
    currency = sandbox.org.BaseCurrency
    if currency not in _RATES:
        raise ValueError(f"the demo organisation is USD or GBP, not {currency}")
    sandbox.org.Name = f"LedgerSync Demo ({'UK' if currency == 'GBP' else 'US'})"
    sandbox.add_tax_rate("NONE", "No VAT" if currency == "GBP" else "No Tax", Decimal("0"))
    for tax_type, name, rate, applies in _RATES[currency]:
        sandbox.add_tax_rate(tax_type, name, rate, can_apply_to=applies)
    for code, name, account_type, tax_kind, extra in _CHART:
        tax_type = _DEFAULT_TAX[currency][tax_kind] if tax_kind else "NONE"
        sandbox.add_account(code, name, account_type, tax_type=tax_type, **extra)
