"""Manual journals in the Xero sandbox: Xero's rules that a statement journal must pass (DESIGN.md 3, 6).

- Lines must sum to 0.00 exactly (debits positive, credits negative), with at least two lines.
- An unknown account code is only a *warning*: Xero drops the line ("Account code '476' has been
  removed as it does not match a recognised account.", the example in Xero's OpenAPI file) and the
  journal then usually no longer balances, which is an error.
- No BANK accounts (Xero help: "You can't post a manual journal to a bank account") and no
  receivables/payables control accounts (SystemAccount DEBTORS / CREDITORS).
- `LineAmountTypes` defaults to NoTax; on Inclusive/Exclusive journals the tax of each line is
  computed and rounded to 2 dp on that line.
- A line may send its own `TaxAmount` (a tax adjustment), but only within TAX_AMOUNT_TOLERANCE of
  that computation; beyond it the journal is refused with the message Xero gave for a bank
  transaction 0.05 off ("Tax amount 52.23 is incorrect for INPUT2 tax type, should be 52.28",
  XeroAPI/xero-node#768). Xero publishes no limit: 0.05 is an ASSUMPTION (a 0.04 adjustment, as
  TikTok's per-order VAT rounding gives, must pass), kept equal to the planner's in
  reconciliation/planning/source_tax.py, which documents the evidence.
- Status POSTED unless DRAFT is asked for; lock dates apply to everything but drafts. The example
  in Xero's file is a DRAFT carrying the balance error, so drafts must balance too.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from connectors.xero.sandbox_state import LINE_AMOUNT_TYPES, Account, Ctx, OrgState, Outcome, line_tax
from connectors.xero.sandbox_wire import ZERO, ZERO_ID, BadRequest, amount, parse_date, round_money

_CONTROL_ACCOUNTS = {"DEBTORS", "CREDITORS"}
TAX_AMOUNT_TOLERANCE = Decimal("0.05")  # per line; an assumption, see above


def create_manual_journal(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    status = data.get("Status") or "POSTED"
    line_amount_types = data.get("LineAmountTypes") or "NoTax"
    when = parse_date(data["Date"]) if data.get("Date") else ctx.today
    journal = {
        "ManualJournalID": ZERO_ID,
        "Date": when,
        "Status": status,
        "LineAmountTypes": line_amount_types,
        "Narration": str(data.get("Narration") or ""),
        "JournalLines": [],
        "ShowOnCashBasisReports": bool(data.get("ShowOnCashBasisReports", True)),
        "HasAttachments": False,
        "UpdatedDateUTC": ctx.now,
    }
    if data.get("Url"):
        journal["Url"] = str(data["Url"])
    out = Outcome(journal)
    if status not in ("DRAFT", "POSTED"):
        out.errors.append(f"A manual journal can be created as DRAFT or POSTED, not {status}.")
    if line_amount_types not in LINE_AMOUNT_TYPES:
        out.errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
        line_amount_types = "NoTax"
    if not journal["Narration"].strip():
        out.errors.append("Narration cannot be empty.")
    raw_lines = data.get("JournalLines") or []
    if not isinstance(raw_lines, list):
        raise BadRequest("JSON for post data was invalid: JournalLines must be an array")
    for raw in raw_lines:
        line = _journal_line(state, raw, line_amount_types, out)
        if line is not None:
            journal["JournalLines"].append(line)
    _check_balance(journal["JournalLines"], line_amount_types, out)
    if status != "DRAFT":
        out.errors.extend(filter(None, [state.lock_problem(when)]))
    if not out.errors:
        journal["ManualJournalID"] = str(uuid.uuid4())
        state.manual_journals.append(journal)
    return out


def _journal_line(state: OrgState, raw: dict, line_amount_types: str, out: Outcome) -> dict | None:
    if not isinstance(raw, dict):
        raise BadRequest("JSON for post data was invalid: each journal line must be an object")
    code = str(raw.get("AccountCode") or "")
    account = state.account({"Code": code, "AccountID": raw.get("AccountID")})
    if account is None:
        out.warnings.append(
            f"Account code '{code}' has been removed as it does not match a recognised account."
        )
        return None
    problem = _account_problem(account)
    if problem:
        out.errors.append(problem)
    line_amount = round_money(amount(raw.get("LineAmount", 0), "LineAmount"))
    errors_before = len(out.errors)
    tax_type, tax_amount = state.tax_for_line(raw, account, line_amount_types, line_amount, out)
    if len(out.errors) == errors_before and raw.get("TaxAmount") is not None:
        adjustment = _tax_adjustment_problem(state, tax_type, tax_amount, line_amount, line_amount_types)
        out.errors.extend([adjustment] if adjustment else [])
    line = {
        "LineAmount": line_amount,
        "AccountCode": account.code,
        "AccountID": account.account_id,
        "TaxType": tax_type,
        "TaxAmount": tax_amount,
        "Tracking": raw.get("Tracking") or [],
        "IsBlank": False,
    }
    if raw.get("Description"):
        line["Description"] = str(raw["Description"])
    return line


def _tax_adjustment_problem(
    state: OrgState, tax_type: str, tax_amount: Decimal, line_amount: Decimal, line_amount_types: str
) -> str | None:
    if line_amount_types == "NoTax":
        return None  # Xero ignores tax on NoTax journals
    expected = line_tax(line_amount, state.tax_rates[tax_type].rate, line_amount_types)
    if abs(tax_amount - expected) <= TAX_AMOUNT_TOLERANCE:
        return None
    return f"Tax amount {tax_amount:.2f} is incorrect for {tax_type} tax type, should be {expected:.2f}"


def _account_problem(account: Account) -> str | None:
    if account.status != "ACTIVE":
        return (
            f"Account code '{account.code}' has been archived, or has been deleted. "
            "Each line item must reference a valid account."
        )
    if account.type == "BANK":
        return f"Account code '{account.code}' is a bank account. You can't post a manual journal to a bank account."
    if account.system_account in _CONTROL_ACCOUNTS:
        return (
            f"Account code '{account.code}' is the {account.system_account} control account. "
            "Manual journals cannot be posted to accounts receivable or accounts payable."
        )
    return None


def _check_balance(lines: list[dict], line_amount_types: str, out: Outcome) -> None:
    # On an Exclusive journal the tax is posted on top of each line, so the gross must balance.
    gross = [
        line["LineAmount"] + (line["TaxAmount"] if line_amount_types == "Exclusive" else ZERO)
        for line in lines
    ]
    debits = sum((g for g in gross if g > 0), ZERO)
    credits = sum((g for g in gross if g < 0), ZERO)
    if sum(1 for g in gross if g != 0) < 2:
        out.errors.append("Journal must contain at least two individual lines with a non-zero amount.")
    if debits + credits != 0:
        out.errors.append(f"The total debits ({debits:.2f}) must equal total credits ({credits:.2f})")
