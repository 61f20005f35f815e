"""The organisation the Xero sandbox pretends to be (DESIGN.md 6 and 7).

Chart of accounts, tax rates, items, contacts, lock dates and every document posted so far, plus the
checks that several document types share (account usable, tax type usable, lock dates). Documents
are kept as Xero-shaped dicts holding `Decimal` and `date` values; `sandbox_wire.wire` turns them
into Xero's JSON.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from connectors.xero.sandbox_wire import ZERO, amount, lock_date_text, round_money

# Xero's account Type -> Class (Accounts API, "Account Types"); Class picks the TaxRate flag below.
ACCOUNT_CLASS = {
    **dict.fromkeys(("BANK", "CURRENT", "FIXED", "INVENTORY", "NONCURRENT", "PREPAYMENT"), "ASSET"),
    **dict.fromkeys(("CURRLIAB", "LIABILITY", "TERMLIAB", "PAYG"), "LIABILITY"),
    **dict.fromkeys(("DEPRECIATN", "DIRECTCOSTS", "EXPENSE", "OVERHEADS"), "EXPENSE"),
    **dict.fromkeys(("OTHERINCOME", "REVENUE", "SALES"), "REVENUE"),
    "EQUITY": "EQUITY",
}
_APPLIES_TO = {"ASSET": "Assets", "EQUITY": "Equity", "EXPENSE": "Expenses", "LIABILITY": "Liabilities"}
ALL_CLASSES = ("Revenue", "Expenses", "Assets", "Liabilities", "Equity")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


def line_tax(line_amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    """Xero computes tax per line and rounds it to 2 dp before summing (DESIGN.md 3)."""
    if line_amount_types == "NoTax" or rate == 0:
        return ZERO
    if line_amount_types == "Exclusive":
        return round_money(line_amount * rate / 100)
    return round_money(line_amount * rate / (100 + rate))


@dataclass
class Organisation:
    """Field names as Xero spells them, so set-up code reads like the API."""

    Name: str
    BaseCurrency: str
    CountryCode: str
    OrganisationID: str = field(default_factory=lambda: str(uuid.uuid4()))
    PeriodLockDate: date | None = None
    EndOfYearLockDate: date | None = None

    def as_xero(self) -> dict:
        record = {
            "OrganisationID": self.OrganisationID,
            "Name": self.Name,
            "LegalName": self.Name,
            "PaysTax": True,
            "Version": "UK" if self.CountryCode == "GB" else "US" if self.CountryCode == "US" else "GLOBAL",
            "OrganisationType": "COMPANY",
            "BaseCurrency": self.BaseCurrency,
            "CountryCode": self.CountryCode,
            "IsDemoCompany": False,
            "OrganisationStatus": "ACTIVE",
            "FinancialYearEndDay": 31,
            "FinancialYearEndMonth": 12,
            "ShortCode": "!sbx01",
            "Edition": "BUSINESS",
        }
        for key in ("PeriodLockDate", "EndOfYearLockDate"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        return record


@dataclass
class Account:
    code: str
    name: str
    type: str
    tax_type: str = "NONE"
    enable_payments: bool = False
    currency: str | None = None
    system_account: str | None = None
    status: str = "ACTIVE"
    account_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def account_class(self) -> str:
        return ACCOUNT_CLASS[self.type]

    def summary(self) -> dict:
        """How documents refer to an account."""
        return {"AccountID": self.account_id, "Code": self.code, "Name": self.name}

    def as_xero(self) -> dict:
        record = {
            "AccountID": self.account_id,
            "Code": self.code,
            "Name": self.name,
            "Type": self.type,
            "Status": self.status,
            "TaxType": self.tax_type,
            "Class": self.account_class,
            "EnablePaymentsToAccount": self.enable_payments,
            "ShowInExpenseClaims": False,
            "BankAccountType": "BANK" if self.type == "BANK" else "",
            "HasAttachments": False,
            "AddToWatchlist": False,
        }
        if self.type == "BANK":
            record["BankAccountNumber"] = "0" * 8 + self.code
        if self.currency:
            record["CurrencyCode"] = self.currency
        if self.system_account:
            record["SystemAccount"] = self.system_account
        return record


@dataclass
class TaxRate:
    tax_type: str
    name: str
    rate: Decimal
    can_apply_to: frozenset[str]
    status: str = "ACTIVE"

    def usable_for(self, account: Account) -> bool:
        flag = _APPLIES_TO.get(account.account_class, "Revenue")
        return self.status == "ACTIVE" and flag in self.can_apply_to

    def as_xero(self) -> dict:
        if set(self.can_apply_to) == set(ALL_CLASSES):
            report = "NONE"
        else:
            report = "OUTPUT" if "Revenue" in self.can_apply_to else "INPUT"
        return {
            "Name": self.name,
            "TaxType": self.tax_type,
            "ReportTaxType": report,
            "Status": self.status,
            "TaxComponents": [
                {"Name": self.name, "Rate": self.rate, "IsCompound": False, "IsNonRecoverable": False}
            ],
            **{f"CanApplyTo{flag}": flag in self.can_apply_to for flag in ALL_CLASSES},
            "DisplayTaxRate": self.rate,
            "EffectiveRate": self.rate,
        }


@dataclass
class Outcome:
    """One element of a batch: the document as echoed back, and what Xero would say about it."""

    document: dict
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ctx:
    now: datetime
    unitdp: int = 2

    @property
    def today(self) -> date:
        return self.now.date()


class OrgState:
    def __init__(self, *, base_currency: str):
        country = {"GBP": "GB", "USD": "US"}.get(base_currency, "US")
        self.org = Organisation(
            Name="LedgerSync Sandbox Ltd", BaseCurrency=base_currency, CountryCode=country
        )
        self.accounts: dict[str, Account] = {}
        self.tax_rates: dict[str, TaxRate] = {}
        self.items: dict[str, dict] = {}
        self.contacts: list[dict] = []
        self.manual_journals: list[dict] = []
        self.bank_transactions: list[dict] = []
        self.invoices: list[dict] = []
        self.credit_notes: list[dict] = []
        self.payments: list[dict] = []
        self._sequences: Counter[str] = Counter()
        # Every Xero organisation has a zero rate for untaxed lines.
        self.add_tax_rate(TaxRate("NONE", "No Tax", Decimal(0), frozenset(ALL_CLASSES)))

    # -- set-up -------------------------------------------------------------------------------
    def add_account(self, account: Account) -> Account:
        if account.type not in ACCOUNT_CLASS:
            raise ValueError(f"unknown Xero account type {account.type!r}")
        if account.type == "BANK" and account.currency is None:
            account.currency = self.org.BaseCurrency
        self.accounts[account.code] = account
        return account

    def add_tax_rate(self, rate: TaxRate) -> TaxRate:
        unknown = set(rate.can_apply_to) - set(ALL_CLASSES)
        if unknown:
            raise ValueError(f"can_apply_to takes {ALL_CLASSES}, not {sorted(unknown)}")
        self.tax_rates[rate.tax_type] = rate
        return rate

    def add_item(self, code: str, name: str, now: datetime) -> dict:
        item = {"ItemID": str(uuid.uuid4()), "Code": code, "Name": name, "UpdatedDateUTC": now}
        self.items[code] = item
        return item

    def add_contact(self, name: str, now: datetime) -> dict:
        contact = {
            "ContactID": str(uuid.uuid4()),
            "Name": name,
            "ContactStatus": "ACTIVE",
            "IsSupplier": False,
            "IsCustomer": False,
            "UpdatedDateUTC": now,
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
        self.contacts.append(contact)
        return contact

    # -- look-ups and shared rules --------------------------------------------------------------
    def account(self, ref: dict | None) -> Account | None:
        """An account by `Code` or `AccountID`, as Xero accepts either on lines and payments."""
        if not isinstance(ref, dict):
            return None
        if ref.get("Code"):
            return self.accounts.get(str(ref["Code"]))
        return next((a for a in self.accounts.values() if a.account_id == ref.get("AccountID")), None)

    def tax_problem(self, tax_type: str, account: Account) -> str | None:
        rate = self.tax_rates.get(tax_type)
        if rate is None or not rate.usable_for(account):
            return (
                f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
            )
        return None

    def tax_for_line(
        self, raw: dict, account: Account, line_amount_types: str, line_amount: Decimal, out: Outcome
    ) -> tuple[str, Decimal]:
        """(TaxType, TaxAmount) for one line. Without a TaxType a line takes its account's default,
        except on NoTax documents. A `TaxAmount` sent by the client overrides the computed one, which
        is how a tax-inclusive plan pins the VAT split it already knows (DESIGN.md 3)."""
        if line_amount_types == "NoTax" and not raw.get("TaxType"):
            return "NONE", ZERO
        tax_type = str(raw.get("TaxType") or account.tax_type)
        problem = self.tax_problem(tax_type, account)
        if problem:
            out.errors.append(problem)
            return tax_type, ZERO
        if line_amount_types != "NoTax" and raw.get("TaxAmount") is not None:
            return tax_type, round_money(amount(raw["TaxAmount"], "TaxAmount"))
        return tax_type, line_tax(line_amount, self.tax_rates[tax_type].rate, line_amount_types)

    def lock_problem(self, when: date) -> str | None:
        """Xero rejects a non-draft document dated on or before a lock date. The end-of-year lock
        binds everyone (advisers too), so when both apply it is the one Xero names."""
        eoy, period = self.org.EndOfYearLockDate, self.org.PeriodLockDate
        if eoy is not None and when <= eoy:
            return f"The document date cannot be before the end of year lock date, currently set at {lock_date_text(eoy)}"
        if period is not None and when <= period:
            return f"The document date cannot be before the period lock date, currently set at {lock_date_text(period)}"
        return None

    def contact(self, ref: dict | None) -> tuple[dict | None, str | None, bool]:
        """(contact, error, is_new). An unknown Name creates the contact, as Xero does on documents;
        the caller stores it only if the document itself is created."""
        if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
            return None, "A Contact must be specified for this type of transaction", False
        if ref.get("ContactID"):
            found = next((c for c in self.contacts if c["ContactID"] == ref["ContactID"]), None)
            return found, None if found else f"Contact ID '{ref['ContactID']}' could not be found.", False
        name = str(ref["Name"]).strip()
        found = next((c for c in self.contacts if c["Name"].casefold() == name.casefold()), None)
        if found is not None:
            return found, None, False
        return {"ContactID": str(uuid.uuid4()), "Name": name}, None, True

    def keep_contact(self, contact: dict, now: datetime) -> None:
        stored = self.add_contact(contact["Name"], now)
        stored["ContactID"] = contact["ContactID"]

    def next_number(self, prefix: str) -> str:
        self._sequences[prefix] += 1
        return f"{prefix}-{self._sequences[prefix]:04d}"

    def find(self, documents: list[dict], id_field: str, value: str | None) -> dict | None:
        return next((d for d in documents if value and d[id_field] == value), None)
