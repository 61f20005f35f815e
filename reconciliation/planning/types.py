"""Plans as plain data: what would be sent to Xero, and why anything would be held."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Problem:
    """Why something cannot be posted as planned. `code` is a quarantine reason."""

    code: str
    message: str
    source_ref: str
    proposed_date: date | None = None
    details: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Information:
    """Something finance should see that does not hold anything, e.g. the VAT a source states on a
    line differing from what Xero would compute from the line's rate (`details` carries the figures
    as strings: account, tax_type, gross, computed, stated, lines)."""

    code: str  # SOURCE_TAX, ...
    message: str
    source_ref: str
    details: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PlannedDocument:
    """One Xero element exactly as the API receives it (amounts as Decimal)."""

    kind: str  # Xero collection: ManualJournals, BankTransactions, ...
    purpose: str  # statement_journal, payout_receive, ...
    payload: dict
    document_date: date
    lookup: tuple[str, str]  # (field, value) that finds it in Xero: ("Narration", "...")
    # Order invoices (planning/order_*.py) plan documents that refer to each other before Xero has
    # given any of them an id: `key` names this one within its plan ("order 5765...:invoice"),
    # `depends_on` the keys that must be in Xero first (a payment's invoice, an allocation's credit
    # note and invoice). `unitdp4`: send with ?unitdp=4 (a unit price with 4 decimals).
    key: str = ""
    depends_on: tuple[str, ...] = ()
    unitdp4: bool = False


@dataclass(frozen=True)
class Plan:
    documents: tuple[PlannedDocument, ...]
    problems: tuple[Problem, ...]
    skipped_checks: tuple[str, ...] = ()
    information: tuple[Information, ...] = ()  # shown by the preview and kept with the plan; never holds it

    @property
    def held(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True)
class ComponentRule:
    account_code: str
    tax_type: str = ""
    tracking_category: str = ""
    tracking_option: str = ""
    description: str = ""


@dataclass(frozen=True)
class ShopSettings:
    code: str
    name: str
    region: str
    currency: str
    line_amount_types: str  # Exclusive | Inclusive | NoTax
    clearing_account: str
    bank_account: str = ""
    reserve_account: str = ""
    contact_name: str = ""
    timezone: str = "UTC"
    posting_mode: str = "statement_journal"
    external_id: str = ""  # the shop's id at its channel (TikTok shop id): names what we send to Xero


@dataclass(frozen=True)
class Account:
    code: str
    type: str  # Xero AccountType: BANK, CURRENT, REVENUE, EXPENSE, ...
    account_class: str  # ASSET, LIABILITY, EQUITY, REVENUE, EXPENSE
    status: str = "ACTIVE"
    system_account: str = ""
    enable_payments: bool = False


@dataclass(frozen=True)
class TaxRate:
    tax_type: str
    rate: Decimal
    status: str = "ACTIVE"
    can_apply_to: frozenset[str] = frozenset()  # {"REVENUE", "EXPENSE", "ASSET", "LIABILITY", "EQUITY"}


@dataclass(frozen=True)
class OrgSettings:
    """The Xero organisation as last read from Xero (cached on the connection)."""

    base_currency: str
    period_lock_date: date | None
    end_of_year_lock_date: date | None
    accounts: dict[str, Account]
    tax_rates: dict[str, TaxRate]
    # Item codes of the organisation's Items (GET /Items); None when not read, and the item check
    # is then skipped (order invoices say so in skipped_checks).
    items: frozenset[str] | None = None

    @property
    def lock_date(self) -> date | None:
        dates = [d for d in (self.period_lock_date, self.end_of_year_lock_date) if d]
        return max(dates) if dates else None
