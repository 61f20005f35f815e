"""The month-end close pack (README, "Month-end close pack"): per shop and month, what an accountant
attaches to the month's close. Read-only, like selectors.py and dashboard.py.

- Payouts by paid date (already the shop's calendar date, services/statements.py), with the figures
  and words of selectors.payouts_reconciled and dashboard.payout_words, so the pack, the dashboard
  and the payout pages say the same residue.
- Statements by statement date: posted, posted as a draft (Xero keeps a draft out of the ledger
  until someone approves it there), held (with the open items' reasons in words), dismissed (with
  who dismissed and why), or not in Xero yet.
- Open exceptions about the month's statements and payouts, or raised during the month.
- Totals per account over the month's posted documents (by document date), read from the payloads
  as sent, and the tax Xero adds or splits out, per tax type: see `_entries` for the debit and
  credit each kind of document makes. Drafts are left out (not in Xero's ledger), and counted.
"""

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from reconciliation.api.money import document_amount, line_amount
from reconciliation.dashboard import payout_words
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.finance_queue import item_amounts
from reconciliation.models import Payout, QuarantineItem, Shop, Statement, XeroPosting
from reconciliation.planning.invoice_arithmetic import line_tax
from reconciliation.planning.types import OrgSettings
from reconciliation.selectors import drafts_pending, org_settings, payouts_reconciled

ZERO = Decimal("0")
GONE = (XeroPosting.State.SUPERSEDED, XeroPosting.State.DISMISSED)
# The row of a tax type in the account totals: Xero posts a taxed line's tax to the tax rate's own
# account (VAT or GST control, sales tax payable), which the cached TaxRate does not name (Xero's
# TaxRate has ReportTaxType, a tax-return category, but no account), so the tax is shown per tax type.
TAX = "tax: "

# A statement's status in the pack, in words (StatementRow.status).
POSTED = "posted"
UNAPPROVED = "not in the ledger until approved in Xero"  # a draft, in Xero's words: no effect on accounts
DRAFT = f"posted as a draft: {UNAPPROVED}"
HELD = "held"
DISMISSED = "dismissed"
NOT_IN_XERO = "not in Xero yet"


@dataclass(frozen=True)
class PayoutRow:
    payment_id: str
    paid_date: date | None
    currency: str
    deposit: Decimal
    statements_total: Decimal  # what the payout's statements settle
    posted_to_clearing: Decimal  # journals (and payments) posted through clearing
    reserve_on_receive: Decimal  # reserve only the payment reports, moved by the RECEIVE
    residue: Decimal  # deposit - reserve on receive - posted through clearing; 0.00 when reconciled
    state: str  # in words: reconciled, waiting for N held statements, residue X
    pk: int


@dataclass(frozen=True)
class StatementRow:
    statement_id: str
    statement_date: date | None
    currency: str
    settlement_amount: Decimal | None
    payment_id: str
    status: str  # POSTED, DRAFT, HELD, DISMISSED or NOT_IN_XERO (words)
    reasons: str  # held: the open items' reasons in words; dismissed: what was dismissed
    decided_by: str  # dismissed: who
    decided_at: datetime | None
    note: str  # dismissed: why (the decision note, required)
    pk: int


@dataclass(frozen=True)
class ExceptionRow:
    item_id: int
    created_at: datetime
    reason: str  # in words (Reason's label)
    code: str
    source_ref: str
    amount: Decimal | None  # what its statement, payout or document carries; None when not known
    currency: str
    message: str


@dataclass(frozen=True)
class AccountTotal:
    code: str
    name: str
    debit: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        """Debit positive, credit negative."""
        return self.debit - self.credit

    @property
    def is_tax(self) -> bool:
        """The tax of one tax type ("tax: OUTPUT2"), not an account of the chart: see `TAX`."""
        return self.code.startswith(TAX)


@dataclass(frozen=True)
class ClosePack:
    shop: Shop
    year: int
    month: int
    currency: str
    payouts: list[PayoutRow]
    statements: list[StatementRow]
    exceptions: list[ExceptionRow]
    accounts: list[AccountTotal]  # the accounts by code (`code_order`), then the tax per tax type
    documents: int  # posted documents the account totals are read from (drafts are not)
    unknown_tax: list[str]  # tax types whose tax could not be known (counted as 0 in `accounts`)
    drafts: int = 0  # documents dated in the month still drafts in Xero: left out of `accounts`
    drafts_amount: Decimal = ZERO  # what those drafts move (api.money.document_amount), in `currency`

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def label(self) -> str:
        return self.first_day.strftime("%B %Y")

    def statements_in(self, status: str) -> list[StatementRow]:
        return [s for s in self.statements if s.status == status]

    @property
    def statement_counts(self) -> dict[str, int]:
        """How many statements have each status (each key present: POSTED, DRAFT, HELD, ...)."""
        counts = dict.fromkeys([POSTED, DRAFT, HELD, DISMISSED, NOT_IN_XERO], 0)
        for statement in self.statements:
            counts[statement.status] += 1
        return counts

    @property
    def drafted(self) -> list[StatementRow]:
        return self.statements_in(DRAFT)

    @property
    def not_in_xero(self) -> list[StatementRow]:
        return self.statements_in(NOT_IN_XERO)

    @property
    def not_in_xero_amount(self) -> Decimal:
        return sum((s.settlement_amount or ZERO for s in self.not_in_xero), ZERO)

    @property
    def drafts_words(self) -> str:
        """'1 draft (265.27 USD) left out: ...', or '' when there is none."""
        if not self.drafts:
            return ""
        count = f"{self.drafts} draft{'s' if self.drafts != 1 else ''}"
        return f"{count} ({self.drafts_amount:,.2f} {self.currency}) left out: {UNAPPROVED}"

    @property
    def residue_clear(self) -> bool:
        """A residue of 0.00 that means the month is reconciled: there are payouts, and no statement
        is still outside the ledger (not in Xero yet, or a draft), which a 0.00 would hide."""
        return bool(self.payouts) and not self.residues and not self.not_in_xero and not self.drafted

    @property
    def deposits(self) -> Decimal:
        return sum((p.deposit for p in self.payouts), ZERO)

    @property
    def residues(self) -> Decimal:
        return sum((p.residue for p in self.payouts), ZERO)

    @property
    def debits(self) -> Decimal:
        return sum((a.debit for a in self.accounts), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((a.credit for a in self.accounts), ZERO)


def close_pack(shop: Shop, year: int, month: int) -> ClosePack:
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    payouts = list(
        Payout.objects.filter(shop=shop, paid_date__range=(first, last))
        .select_related("shop")
        .order_by("paid_date", "payment_id")
    )
    statements = list(
        Statement.objects.filter(shop=shop, statement_date__range=(first, last)).order_by(
            "statement_date", "statement_id"
        )
    )
    in_month = XeroPosting.objects.filter(
        shop=shop, state=XeroPosting.State.POSTED, document_date__range=(first, last)
    )
    drafts = list(in_month.filter(drafts_pending()))
    # not .exclude(drafts_pending()): a posting with no Status in its response would go too (SQL NULL)
    documents = list(in_month.exclude(pk__in=[d.pk for d in drafts]))
    accounts, unknown_tax = account_totals_and_unknown_tax(shop, documents)
    return ClosePack(
        shop=shop,
        year=year,
        month=month,
        currency=shop.currency,
        payouts=_payout_rows(payouts),
        statements=statement_rows(statements),
        exceptions=_exception_rows(shop, first, last, statements, payouts),
        accounts=accounts,
        documents=len(documents),
        unknown_tax=unknown_tax,
        drafts=len(drafts),
        drafts_amount=sum((document_amount(d) or ZERO for d in drafts), ZERO),
    )


def _payout_rows(payouts: list[Payout]) -> list[PayoutRow]:
    rows = payouts_reconciled(payouts)
    return [
        PayoutRow(
            payment_id=p.payment_id,
            paid_date=p.paid_date,
            currency=p.currency,
            deposit=rows[p.pk]["deposit"],
            statements_total=rows[p.pk]["statements_total"],
            posted_to_clearing=rows[p.pk]["posted_to_clearing"],
            reserve_on_receive=rows[p.pk]["reserve_on_receive"],
            residue=rows[p.pk]["residue"],
            state=payout_words(p, rows[p.pk]),
            pk=p.pk,
        )
        for p in payouts
    ]


def _items_about(statements: list[Statement]) -> dict[int, list[QuarantineItem]]:
    """Open and dismissed items per statement: about it, or about one of its documents."""
    statement_type = ContentType.objects.get_for_model(Statement)
    ids = [s.pk for s in statements]
    about = Q(source_type=statement_type, source_id__in=ids) | Q(
        posting__source_type=statement_type, posting__source_id__in=ids
    )
    items = (
        QuarantineItem.objects.filter(about)
        .filter(status__in=[QuarantineItem.Status.OPEN, QuarantineItem.Status.DISMISSED])
        .select_related("decided_by", "posting")
        .order_by("created_at", "id")
    )
    found: dict[int, list[QuarantineItem]] = {}
    for item in items:
        statement_id = item.source_id if item.source_type_id == statement_type.pk else item.posting.source_id
        found.setdefault(statement_id, []).append(item)
    return found


def statement_rows(statements: list[Statement]) -> list[StatementRow]:
    """Each statement's status in words (and for a dismissed one who, when and why), in the order
    given: four queries however many statements (the statement list uses it too)."""
    items = _items_about(statements)
    states: dict[int, set[str]] = {}
    postings = XeroPosting.objects.filter(
        source_type=ContentType.objects.get_for_model(Statement), source_id__in=[s.pk for s in statements]
    ).exclude(state__in=GONE)
    for source_id, state in postings.values_list("source_id", "state"):
        states.setdefault(source_id, set()).add(state)
    drafted = set(postings.filter(drafts_pending()).values_list("source_id", flat=True))
    return [
        _statement_row(s, items.get(s.pk, []), states.get(s.pk, set()), s.pk in drafted) for s in statements
    ]


def _statement_row(
    statement: Statement, items: list[QuarantineItem], states: set[str], drafted: bool
) -> StatementRow:
    open_items = [i for i in items if i.status == QuarantineItem.Status.OPEN]
    dismissed = [i for i in items if i.status == QuarantineItem.Status.DISMISSED]
    status, reasons, who, when, note = NOT_IN_XERO, "", "", None, ""
    if statement.state == Statement.State.HELD or open_items:
        status, reasons = HELD, _reasons(open_items) or "held (no open item: sync again)"
    elif dismissed:
        last = dismissed[-1]
        status, reasons, when = DISMISSED, _reasons(dismissed), last.decided_at
        who = ", ".join(dict.fromkeys(_who(i) for i in dismissed))
        note = "; ".join(dict.fromkeys(i.decision_note for i in dismissed))
    elif states == {XeroPosting.State.POSTED}:
        status = DRAFT if drafted else POSTED
    return StatementRow(
        statement_id=statement.statement_id,
        statement_date=statement.statement_date,
        currency=statement.currency,
        settlement_amount=statement.settlement_amount,
        payment_id=statement.payment_id,
        status=status,
        reasons=reasons,
        decided_by=who,
        decided_at=when,
        note=note,
        pk=statement.pk,
    )


def _reasons(items: list[QuarantineItem]) -> str:
    return "; ".join(dict.fromkeys(i.get_reason_display() for i in items))


def _who(item: QuarantineItem) -> str:
    user = item.decided_by
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _exception_rows(
    shop: Shop, first: date, last: date, statements: list[Statement], payouts: list[Payout]
) -> list[ExceptionRow]:
    """Open items about the month's statements and payouts, and any other item raised during the
    month (in the shop's zone): a connection, an order, a document of an earlier statement."""
    statement_type = ContentType.objects.get_for_model(Statement)
    payout_type = ContentType.objects.get_for_model(Payout)
    zone = ZoneInfo(shop_timezone(shop.region, shop.timezone) or "UTC")
    raised = (datetime.combine(first, time.min, zone), datetime.combine(last, time.max, zone))
    about = (
        Q(source_type=statement_type, source_id__in=[s.pk for s in statements])
        | Q(source_type=payout_type, source_id__in=[p.pk for p in payouts])
        | Q(created_at__range=raised)
    )
    items = (
        QuarantineItem.objects.filter(shop=shop, status=QuarantineItem.Status.OPEN)
        .filter(about)
        .select_related("posting", "shop")
        .order_by("created_at", "id")
    )
    # the finance queue's figure: the statement's settlement, the payout's deposit, else the document's
    amounts = {pk: amount for pk, (amount, _) in item_amounts(list(items)).items()}
    return [
        ExceptionRow(
            item_id=i.pk,
            created_at=i.created_at,
            reason=i.get_reason_display(),
            code=i.reason,
            source_ref=i.source_ref,
            amount=amounts.get(i.pk),
            currency=shop.currency,
            message=i.message,
        )
        for i in items
    ]


def account_totals(shop: Shop, documents: list[XeroPosting]) -> list[AccountTotal]:
    """Debit and credit per account over these posted documents, ordered by code, each account named
    as the organisation's cached chart of accounts names it; then the tax of taxed lines, one row
    per tax type ("tax: OUTPUT2"), after the accounts. See `_entries`."""
    return account_totals_and_unknown_tax(shop, documents)[0]


def account_totals_and_unknown_tax(
    shop: Shop, documents: list[XeroPosting]
) -> tuple[list[AccountTotal], list[str]]:
    """The account totals, and the tax types of taxed lines whose tax could not be known (no
    TaxAmount sent and the rate not in the cached tax rates: counted as 0, and said so)."""
    connection = shop.xero_connection
    accounts = connection.accounts if connection else []
    rates = {t["TaxType"]: t for t in (connection.tax_rates if connection else []) if t.get("TaxType")}
    names = {a["Code"]: a.get("Name", "") for a in accounts if a.get("Code")}
    debtors = next((a["Code"] for a in accounts if a.get("SystemAccount") == "DEBTORS" and a.get("Code")), "")
    totals: dict[str, list[Decimal]] = {}
    unknown: set[str] = set()
    org = org_settings(connection)
    for posting in documents:
        for code, amount in _entries(posting, debtors, org, unknown):
            pair = totals.setdefault(code, [ZERO, ZERO])
            pair[0 if amount > 0 else 1] += abs(amount)
    rows = [
        AccountTotal(code, _account_name(code, names, debtors, rates), d, c)
        for code, (d, c) in sorted(totals.items(), key=lambda kv: code_order(kv[0]))
    ]
    return rows, sorted(unknown)


def code_order(code: str) -> tuple[bool, bool, int, str]:
    """Accounts as a chart lists them: numeric codes by number ("610" before "5100", which text
    order puts the other way round), then other codes as text, then the tax rows."""
    numeric = code.isdigit()
    return code.startswith(TAX), not numeric, int(code) if numeric else 0, code


def _account_name(code: str, names: dict[str, str], debtors: str, rates: dict[str, dict]) -> str:
    if code.startswith(TAX):
        rate = rates.get(code.removeprefix(TAX), {})
        return f"{rate.get('Name', 'tax rate not in the organisation')}: the tax rate's tax account"
    return names.get(code, "Accounts receivable" if code == debtors else "")


def _entries(
    posting: XeroPosting, debtors: str, org: OrgSettings | None = None, unknown: set[str] | None = None
) -> Iterator[tuple[str, Decimal]]:
    """(account code, amount) with debits positive, credits negative, from the payload as sent.

    A manual journal: its lines as signed (Xero's convention). A bank transaction: RECEIVE credits
    its lines and debits the bank account, SPEND the other way round. An invoice credits its lines
    and debits receivables; a credit note the other way round; a payment into (or a refund out of)
    an account debits (credits) it against receivables. An allocation moves nothing between
    accounts.

    Tax, as Xero posts it (its LineAmountTypes): an Exclusive line moves its amount to its account
    and its tax on top, to the tax ("tax: <TaxType>"), so the document's counter side (receivables,
    the bank) moves both; an Inclusive line's amount already holds its tax, so its account gets the
    amount less the tax and the tax row the tax, and the counter side the amount. A line's tax is
    its TaxAmount as sent, else Xero's own per-line calculation from the cached rate
    (planning/invoice_arithmetic.line_tax); a rate not cached counts as 0 and its tax type is
    added to `unknown`. NoTax lines carry no tax.
    """
    payload, kind = posting.payload or {}, posting.kind
    unknown = set() if unknown is None else unknown
    if kind == XeroPosting.Kind.MANUAL_JOURNAL:
        mode = payload.get("LineAmountTypes", "NoTax")  # Xero's default for manual journals
        for line in payload.get("JournalLines", []):
            amount = Decimal(str(line["LineAmount"]))
            tax = _tax(line, amount, mode, org, unknown)
            yield from _taxed(line, amount, tax, mode)
    elif kind == XeroPosting.Kind.BANK_TRANSACTION:
        sign = Decimal(1) if payload.get("Type", "RECEIVE").startswith("RECEIVE") else Decimal(-1)
        yield from _lines_against(payload, -sign, payload["BankAccount"]["Code"], org, unknown)
    elif kind in (XeroPosting.Kind.INVOICE, XeroPosting.Kind.CREDIT_NOTE):
        sales = payload.get("Type", "ACCREC") in ("ACCREC", "ACCPAYCREDIT")
        sign = Decimal(-1) if sales else Decimal(1)
        yield from _lines_against(payload, sign, debtors, org, unknown)
    elif kind == XeroPosting.Kind.PAYMENT:
        amount = Decimal(str(payload["Amount"])) * (Decimal(-1) if "CreditNote" in payload else Decimal(1))
        yield payload["Account"]["Code"], amount
        yield debtors, -amount


def _lines_against(
    payload: dict, sign: Decimal, counter: str, org: OrgSettings | None, unknown: set[str]
) -> Iterator[tuple[str, Decimal]]:
    """Each line (and its tax) at `sign` (credit -1, debit +1), and what they move together the
    other way on `counter`."""
    mode = payload.get("LineAmountTypes", "Exclusive")  # Xero's default for these documents
    total = ZERO
    for line in payload.get("LineItems", []):
        amount = line_amount(line)
        tax = _tax(line, amount, mode, org, unknown)
        total += amount + (tax if mode == "Exclusive" else ZERO)
        yield from _taxed(line, sign * amount, sign * tax, mode)
    yield counter, -sign * total


def _taxed(line: dict, amount: Decimal, tax: Decimal, mode: str) -> Iterator[tuple[str, Decimal]]:
    """A line's amount to its account and its tax to its tax type's row (both signed as the line)."""
    if tax == ZERO:
        yield line["AccountCode"], amount
        return
    yield line["AccountCode"], amount - tax if mode == "Inclusive" else amount
    yield TAX + line["TaxType"], tax


def _tax(line: dict, amount: Decimal, mode: str, org: OrgSettings | None, unknown: set[str]) -> Decimal:
    if mode not in ("Exclusive", "Inclusive") or not line.get("TaxType"):
        return ZERO
    if line.get("TaxAmount") not in (None, ""):
        return Decimal(str(line["TaxAmount"]))
    if org is None or line["TaxType"] not in org.tax_rates:
        unknown.add(line["TaxType"])
        return ZERO
    return line_tax(amount, line["TaxType"], mode, org)
