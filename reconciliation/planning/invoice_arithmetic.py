"""Xero's invoice arithmetic (DESIGN.md 3), and the rounding line that makes Xero's total the source's.

Xero rounds `Quantity x UnitAmount` to 2 dp per line, computes each line's tax from its rate and
rounds it to 2 dp, then sums. On a tax-exclusive invoice the per-line tax can differ from a tax the
source states once per order; the residual goes on an explicit line on the organisation's ROUNDING
system account (looked up, never assumed).
"""

from decimal import Decimal

from reconciliation.domain.money import ZERO, round_2dp
from reconciliation.planning.types import OrgSettings, Problem, ShopSettings


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
    rounding = {
        "Description": "Rounding (Xero rounds tax per line, TikTok per order)",
        "Quantity": 1,
        "UnitAmount": residual,
        "AccountCode": code,
        "TaxType": tax,
    }
    return [*lines, rounding], []
