"""Tax the source states is the tax posted (DESIGN.md 3 and 4.2; issue 5 item 3).

On a tax-inclusive journal the gross of each line is fixed and Xero splits it into net and tax from
the line's rate, rounded per line. Where TikTok states the tax itself (a tax component mapped onto
the same (account, tax type, tracking) line as the amounts it taxes), that stated amount is what the
line must carry as `TaxAmount`; the rate only computes tax where the source states none.

Which components are "stated tax" (descriptions from TikTok's 202501 statement_transactions,
specs/tiktok/finance.json). The map decides which line a component joins; this list only says which
components may be a line's tax when they share a line with other amounts:
- `tax.vat_amount` ("VAT paid by the platform on the seller's behalf", cross-border orders) and
  `tax.local_vat_amount` (the same for local orders), UK/EU. GUESS: TikTok gives no separate leaf
  for the VAT it charges on its own fees, so a shop that maps one of these onto its fee line (e.g.
  6100 / INPUT2, beside fee.platform_commission_amount) is taken to mean "this is the VAT on those
  fees". If it is really output VAT the platform pays as deemed supplier, it must be mapped to its
  own account with no tax rate instead, and then it is a plain amount (a line holding only tax
  components states no tax: there is nothing on it for the tax to be the tax of).
- `tax.gst_amount` (Singapore) and `tax.sst_amount` (Malaysia), collected and remitted by the
  platform on low-value imports, and `tax.import_vat_amount` (cross-border import VAT; Japan JCT):
  taxes of the same kind, treated the same way.
- Fee leaves whose name ends `_tax` / `_tax_amount` (none in 202501 yet): tax charged on a fee.
- Not stated tax, even when mapped onto a taxed line (they simply join its gross):
  `tax.customs_clearance_amount` (a logistics fee, despite its group), `tax.customs_duty_amount`
  and `tax.anti_dumping_duty_amount` (duties are cost, not VAT), `tax.pit_amount` and
  `tax.isr_amount` (income tax withheld), `tax.iva_amount` (Mexican VAT *withheld*, not the VAT of
  the line). US shops post NoTax journals, where no line carries tax at all.

How far Xero lets a line's TaxAmount differ from its own calculation: Xero publishes no limit.
What is documented: TaxAmount "can be overriden if the calculated <TaxAmount> is not correct"
(LineItem in specs/xero_accounting.yaml; ManualJournalLine only says "The calculated tax amount"),
and manual journals are among the transactions whose tax can be adjusted (Xero help, "Adjust the tax
amount on unpaid transactions"). Seen in the field: a SPEND bank transaction 0.05 off was refused
with "Tax amount 52.23 is incorrect for INPUT2 tax type, should be 52.28" (XeroAPI/xero-node#768,
so bank transactions may allow less, or nothing); an integrator reports invoices flagged for a tax
adjustment once the rounding reaches 0.06 (Stack Overflow, "Xero Sales Invoices Flagged for Tax
Adjustment Due to Rounding"). ASSUMPTION, to be confirmed against a real organisation: a manual
journal line is accepted when its TaxAmount is within 0.05 of rate x gross rounded half up to 2 dp,
and refused beyond with the message above (the Xero sandbox keeps the same rule,
connectors/xero/sandbox_journals.py). If Xero proves stricter, lowering XERO_TAX_TOLERANCE only
makes the planner split into more lines. Where one line cannot carry the stated tax, the line is
split into several lines of the same account, tax type and tracking, so each is within the
tolerance and the gross and tax totals stay exactly the source's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from reconciliation.domain.money import ZERO, round_2dp, split_largest_remainder
from reconciliation.planning.types import Information, OrgSettings, Problem

if TYPE_CHECKING:
    from reconciliation.planning.statement_journal import LineTotal

XERO_TAX_TOLERANCE = Decimal("0.05")  # per line; an assumption, see above
CENT = Decimal("0.01")

LINE_TAX_LEAVES = frozenset(
    {"tax.vat_amount", "tax.local_vat_amount", "tax.gst_amount", "tax.sst_amount", "tax.import_vat_amount"}
)


def is_line_tax(component: str) -> bool:
    """A component that, on a line with other amounts, is the tax of that line."""
    if component in LINE_TAX_LEAVES:
        return True
    return component.startswith("fee.") and component.endswith(("_tax", "_tax_amount"))


def inclusive_tax(gross: Decimal, rate: Decimal) -> Decimal:
    """Xero's tax of a tax-inclusive line: rate x gross / (100 + rate), half up to 2 dp per line."""
    return round_2dp(gross * rate / (Decimal(100) + rate))


def split_for_stated_tax(
    gross: Decimal, stated: Decimal, rate: Decimal, *, max_lines: int
) -> list[tuple[Decimal, Decimal]] | None:
    """Fewest (gross, tax) parts, each within Xero's tolerance, summing exactly to (gross, stated).

    The gross is split into near-equal parts (largest remainder), each part takes Xero's own tax
    for it, and the gap to the stated tax is spread over the parts a cent at a time, so no part is
    off by more than ceil(gap / parts). None when even `max_lines` parts cannot carry it.
    """
    cents = int(abs(gross) / CENT)
    for count in range(1, min(cents, max_lines) + 1):
        grosses = split_largest_remainder(gross, [Decimal(1)] * count, unit=CENT)
        computed = [inclusive_tax(g, rate) for g in grosses]
        gap = stated - sum(computed, ZERO)
        if abs(gap) > XERO_TAX_TOLERANCE * count:
            continue
        shifts = split_largest_remainder(gap, [Decimal(1)] * count, unit=CENT) if gap else [ZERO] * count
        return [(g, c + s) for g, c, s in zip(grosses, computed, shifts, strict=True)]
    return None


def stated_tax_lines(
    line: dict, total: LineTotal, org: OrgSettings | None, ref: str
) -> tuple[list[dict], Problem | None, Information | None]:
    """The journal line(s) for a line whose tax the source states, with TaxAmount = the stated tax.

    Journal lines are credits where TikTok's amounts are money to the seller, so the stated tax
    takes the line's sign: -(sum of the tax components).
    """
    stated = -total.stated_tax
    rate = org.tax_rates.get(line["TaxType"]) if org else None
    if rate is None:
        # No organisation read yet (or a tax type the account checks will refuse): send what the
        # source states; the tolerance check is listed among the checks not run.
        return [{**line, "TaxAmount": stated}], None, None
    computed = inclusive_tax(line["LineAmount"], rate.rate)
    if rate.rate == 0:
        untaxed = f"; {line['TaxType']} carries no tax, so it stays part of the line's amount"
        return [line], None, _note(line, total, ref, computed, stated, parts=1, extra=untaxed)
    # One line per transaction always could, if TikTok taxed each at the rate: more is not a rounding gap.
    parts = split_for_stated_tax(line["LineAmount"], stated, rate.rate, max_lines=len(total.transactions))
    if parts is None:
        return [], _uncarried(line, total, ref, computed, stated), None
    note = _note(line, total, ref, computed, stated, parts=len(parts)) if computed != stated else None
    if len(parts) == 1:
        return [{**line, "TaxAmount": stated}], None, note
    described = [
        {
            **line,
            "Description": f"{line['Description']} (part {i} of {len(parts)})"[:4000],
            "LineAmount": g,
            "TaxAmount": t,
        }
        for i, (g, t) in enumerate(parts, start=1)
    ]
    return described, None, note


def _where(line: dict) -> str:
    tracking = "".join(f", {t['Name']}: {t['Option']}" for t in line.get("Tracking", []))
    return f"account {line['AccountCode']} ({line['TaxType']}{tracking})"


def _note(
    line: dict, total: LineTotal, ref: str, computed: Decimal, stated: Decimal, *, parts: int, extra: str = ""
) -> Information:
    message = (
        f"{ref}: {_where(line)}: TikTok states {stated} of tax ({', '.join(total.tax_components)}) on "
        f"{line['LineAmount']}; Xero's rate would give {computed}"
    )
    if extra:
        message += extra
    else:
        message += f"; the stated {stated} is posted"
    if parts > 1:
        message += (
            f", over {parts} lines because Xero takes at most {XERO_TAX_TOLERANCE} of difference per line"
        )
    details = {
        "account": line["AccountCode"],
        "tax_type": line["TaxType"],
        "gross": str(line["LineAmount"]),
        "computed": str(computed),
        "stated": str(stated),
        "lines": parts,
        "components": list(total.tax_components),
    }
    return Information("SOURCE_TAX", message, ref, details)


def _uncarried(line: dict, total: LineTotal, ref: str, computed: Decimal, stated: Decimal) -> Problem:
    return Problem(
        "INVALID_MAPPING",
        f"{ref}: {_where(line)}: TikTok states {stated} of tax ({', '.join(total.tax_components)}) on "
        f"{line['LineAmount']}, where the tax rate gives {computed}; not even one line per transaction "
        f"({len(total.transactions)}) brings each within Xero's {XERO_TAX_TOLERANCE}: the tax component "
        "is probably mapped onto a line it does not tax (map it to its own account with no tax rate)",
        ref,
        details={"account": line["AccountCode"], "computed": str(computed), "stated": str(stated)},
    )
