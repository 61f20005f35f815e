"""The close pack as one workbook (openpyxl, installed with django-import-export's tablib): sheets
Payouts, Statements, Exceptions and Account totals, each with a header row and frozen panes; money
as numbers with two decimals beside a currency column, dates as dates, so the accountant can sum
and filter them. A sheet whose table on the page has a Total row has the same one, in bold, after
its rows; notes (tax not known, drafts left out) come after that."""

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reconciliation.close_pack import ClosePack, ExceptionRow, PayoutRow, StatementRow

MONEY = "#,##0.00"
DAY = "yyyy-mm-dd"
MOMENT = "yyyy-mm-dd hh:mm:ss"


PAYOUTS = ["Payout", "Paid", "Currency", "Deposit", "Statements", "Posted through clearing"]
PAYOUTS += ["Reserve on receipt", "Residue", "State"]
STATEMENTS = ["Statement", "Date", "Currency", "Settlement", "Payout", "Status", "Reason"]
STATEMENTS += ["Dismissed by", "Dismissed at", "Why"]
EXCEPTIONS = ["Item", "Raised", "Reason", "Code", "What is held", "Currency", "Amount", "Message"]
ACCOUNTS = ["Account code", "Account name", "Currency", "Debit", "Credit", "Net (debit - credit)"]
UNKNOWN_TAX = "the rate is not in the organisation's cached tax rates: counted as 0 above"


def close_pack_xlsx(pack: ClosePack) -> bytes:
    book = Workbook()
    book.remove(book.active)
    payouts_total = ["Total", None, pack.currency, pack.deposits, None, None, None, pack.residues, None]
    _sheet(
        book, "Payouts", PAYOUTS, [_payout(p) for p in pack.payouts], payouts_total if pack.payouts else None
    )
    _sheet(book, "Statements", STATEMENTS, [_statement(s) for s in pack.statements])
    _sheet(book, "Exceptions", EXCEPTIONS, [_exception(e) for e in pack.exceptions])
    accounts_total = ["Total", None, pack.currency, pack.debits, pack.credits, None]
    _sheet(
        book,
        "Account totals",
        ACCOUNTS,
        [[a.code, a.name, pack.currency, a.debit, a.credit, a.net] for a in pack.accounts],
        accounts_total if pack.accounts else None,
        _account_notes(pack),
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _account_notes(pack: ClosePack) -> list[list]:
    notes = [[f"tax not known: {t}", UNKNOWN_TAX, pack.currency, None, None, None] for t in pack.unknown_tax]
    if pack.drafts:
        notes.append(["drafts left out", pack.drafts_words, pack.currency, None, None, None])
    return notes


def _payout(p: PayoutRow) -> list:
    return [
        p.payment_id,
        p.paid_date,
        p.currency,
        p.deposit,
        p.statements_total,
        p.posted_to_clearing,
        p.reserve_on_receive,
        p.residue,
        p.state,
    ]


def _statement(s: StatementRow) -> list:
    return [
        s.statement_id,
        s.statement_date,
        s.currency,
        s.settlement_amount,
        s.payment_id,
        s.status,
        s.reasons,
        s.decided_by,
        _naive(s.decided_at),
        s.note,
    ]


def _exception(e: ExceptionRow) -> list:
    return [e.item_id, _naive(e.created_at), e.reason, e.code, e.source_ref, e.currency, e.amount, e.message]


def _sheet(
    book: Workbook,
    title: str,
    header: list[str],
    rows: list[list],
    total: list | None = None,
    notes: list[list] | None = None,
) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    everything = rows + ([total] if total else []) + (notes or [])
    for row in everything:
        sheet.append(row)  # Decimal cells are numbers, written exactly
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            cell.number_format = _format(value, cell.number_format)
            cell.font = Font(bold=row is total)
    sheet.freeze_panes = "B2"  # the header and each row's first column stay in view
    for i, name in enumerate(header, start=1):
        widest = max([len(name)] + [len(_shown(r[i - 1])) for r in everything])
        sheet.column_dimensions[get_column_letter(i)].width = min(60, widest + 2)


def _format(value, default: str) -> str:
    if isinstance(value, Decimal):
        return MONEY
    if isinstance(value, datetime):
        return MOMENT
    if isinstance(value, date):
        return DAY
    return default


def _shown(value) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _naive(moment: datetime | None) -> datetime | None:
    """Excel has no time zones: the moment in the site's zone, to the second, as the admin shows it."""
    if moment is None or timezone.is_naive(moment):
        return moment
    return timezone.make_naive(moment).replace(microsecond=0)
