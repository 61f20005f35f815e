"""Checks against the Xero organisation as last read (DESIGN.md 3, 6): run before anything is sent."""

from datetime import date, timedelta

from reconciliation.planning.types import OrgSettings, Problem

# Xero account classes a tax rate must be usable for (TaxRate.CanApplyTo*).
CLASS_FLAG = {
    "REVENUE": "REVENUE",
    "EXPENSE": "EXPENSE",
    "ASSET": "ASSET",
    "LIABILITY": "LIABILITY",
    "EQUITY": "EQUITY",
}

SKIPPED_WITHOUT_ORG = (
    "currency against the Xero base currency",
    "lock dates",
    "account codes and types",
    "tax types",
)
# Only where a line's tax is stated by the source (planning/source_tax.py): without the rates the
# stated tax is sent as it is, unsplit.
STATED_TAX_CHECK = "stated tax within Xero's per-line tolerance of the tax rate"


def currency_problems(currency: str, org: OrgSettings | None, ref: str) -> list[Problem]:
    if org is None or currency.upper() == org.base_currency.upper():
        return []
    # Manual journals and payment-enabled non-bank accounts are base currency only (DESIGN.md 3).
    return [
        Problem(
            "CURRENCY_MISMATCH",
            f"{ref} is in {currency} but the Xero organisation's base currency is {org.base_currency}; "
            "it is held until multi-currency posting exists",
            ref,
        )
    ]


def lock_date_problems(
    document_date: date, org: OrgSettings | None, ref: str, *, taxed: bool = True
) -> list[Problem]:
    """LOCK_DATE when the document falls on or before Xero's lock date, proposing the day after.
    `taxed`: the shop's lines carry tax (not NoTax), so approving moves the VAT period too."""
    lock = org.lock_date if org else None
    if lock is None or document_date > lock:
        return []
    proposed = lock + timedelta(days=1)
    return [
        Problem(
            "LOCK_DATE",
            f"{ref} is dated {document_date.isoformat()}, on or before Xero's lock date {lock.isoformat()}; "
            f"proposed date {proposed.isoformat()}"
            + (" (the VAT period changes if approved)" if taxed else ""),
            ref,
            proposed_date=proposed,
        )
    ]


def journal_account_problems(lines: list[dict], org: OrgSettings | None, ref: str) -> list[Problem]:
    if org is None:
        return []
    problems = []
    for line in lines:
        code = line["AccountCode"]
        account = org.accounts.get(code)
        if account is None or account.status != "ACTIVE":
            problems.append(
                Problem("INVALID_MAPPING", f"{ref}: account {code} is not an active Xero account", ref)
            )
            continue
        if account.type == "BANK":
            problems.append(
                Problem(
                    "INVALID_MAPPING",
                    f"{ref}: Xero does not allow manual journals on bank account {code}",
                    ref,
                )
            )
        if account.system_account in {"DEBTORS", "CREDITORS"}:
            problems.append(
                Problem(
                    "INVALID_MAPPING", f"{ref}: account {code} is a receivables/payables control account", ref
                )
            )
        problems += tax_type_problems(line.get("TaxType", ""), account.account_class, org, ref, code)
    return problems


def tax_type_problems(
    tax_type: str, account_class: str, org: OrgSettings, ref: str, code: str
) -> list[Problem]:
    if not tax_type:
        return []
    rate = org.tax_rates.get(tax_type)
    if rate is None or rate.status != "ACTIVE":
        return [Problem("INVALID_MAPPING", f"{ref}: tax type {tax_type} is not an active Xero tax rate", ref)]
    if rate.can_apply_to and CLASS_FLAG.get(account_class) not in rate.can_apply_to:
        return [
            Problem(
                "INVALID_MAPPING",
                f"{ref}: tax type {tax_type} cannot be used on {account_class.lower()} account {code}",
                ref,
            )
        ]
    return []


def bank_account_problems(code: str, org: OrgSettings | None, ref: str) -> list[Problem]:
    if not code:
        return [
            Problem("INVALID_MAPPING", f"{ref}: the shop has no bank account to receive the payout into", ref)
        ]
    if org is None:
        return []
    account = org.accounts.get(code)
    if account is None or account.type != "BANK" or account.status != "ACTIVE":
        return [Problem("INVALID_MAPPING", f"{ref}: {code} is not an active BANK account in Xero", ref)]
    return []


# Modes whose whole path is built and tested end to end (tests/reconciliation/test_order_end_to_end.py
# for order_invoices); a shop in any other mode is held.
BUILT_MODES = {"statement_journal", "order_invoices"}


def posting_mode_problems(mode: str, ref: str) -> list[Problem]:
    """A shop set to a mode that is not built yet is held, never posted in another mode's shape."""
    if mode in BUILT_MODES:
        return []
    return [
        Problem(
            "INVALID_MAPPING",
            f"{ref}: the shop's posting mode {mode!r} is not available yet (only {', '.join(sorted(BUILT_MODES))}); "
            "nothing is posted until the shop's mode is changed",
            ref,
        )
    ]
