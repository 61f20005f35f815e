"""The close pack as one workbook (openpyxl, installed with django-import-export's tablib): sheets
Payouts, Statements, Exceptions and Account totals, each with a header row and frozen panes; money
as numbers with two decimals beside a currency column, dates as dates, so the accountant can sum
and filter them."""

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
    _sheet(book, "Payouts", PAYOUTS, [_payout(p) for p in pack.payouts])
    _sheet(book, "Statements", STATEMENTS, [_statement(s) for s in pack.statements])
    _sheet(book, "Exceptions", EXCEPTIONS, [_exception(e) for e in pack.exceptions])
    _sheet(
        book,
        "Account totals",
        ACCOUNTS,
        [[a.code, a.name, pack.currency, a.debit, a.credit, a.net] for a in pack.accounts]
        + [[f"tax not known: {t}", UNKNOWN_TAX, pack.currency, None, None, None] for t in pack.unknown_tax],
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


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


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list]) -> None:
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)  # Decimal cells are numbers, written exactly
        for cell, value in zip(sheet[sheet.max_row], row, strict=True):
            cell.number_format = _format(value, cell.number_format)
    sheet.freeze_panes = "B2"  # the header and each row's first column stay in view
    for i, name in enumerate(header, start=1):
        widest = max([len(name)] + [len(_shown(r[i - 1])) for r in rows])
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
