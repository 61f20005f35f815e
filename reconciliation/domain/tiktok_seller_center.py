"""Seller Center settlement rows -> the StatementFacts the API normaliser gives (DESIGN.md 4.1, 4.2).

Input: the rows of a Seller Center statement / order settlement export (CSV or XLSX, read by
`reconciliation.tabular`) as (where, {header: cell text}) pairs, `where` naming the row ("row 7").
Column meanings and the evidence for each header name: `tiktok_seller_center_columns`.

Statements. A file is split into statements by, in this order: its "Statement ID" column; else its
"Statement date" column (one statement a date, id `SC-<date>`); else the date of each row's "Order
settled time" (GUESS: TikTok generates one statement a day, DESIGN.md 4.1, so the rows settled on
one date form that day's statement; id `SC-<date>`). The statement's date is its "Statement date",
else the latest settled date among its rows. Dates are read as written (year first, or day first
outside the US and month first in the US: a GUESS from the exports seen), except a time under a
header marked "(UTC)", which is moved into the shop's time zone as the API's create_time is.

Transactions. Rows with the same Order/adjustment ID and Type are one transaction (exports with SKU
columns have one row per SKU line); its id is the Order/adjustment ID, its order the "Related order
ID", else (for orders) the ID itself. Type "Order" is ORDER; other types are upper-cased with
underscores as the API spells adjustment types, and their "Adjustment amount" is
`adjustment.<TYPE>`. GUESS: an adjustment row whose amount columns are all empty or zero (no
Adjustment amount column, or a blank cell) is adjusted by its whole "Total settlement amount".

Checks, each naming the figures and rows it compared (SOURCE_INCONSISTENT): a group's leaf columns
against its total column ("Total revenue", "Seller shipping fee", "Total fees"; a difference with an
unknown non-zero column in the row becomes `<group>.unclassified`, as the API's undeclared leaves
do), the groups and the adjustment against "Total settlement amount", "Subtotal after seller
discounts" against its parts, one currency per statement, amounts finer than the currency, and a
row repeated cell for cell. An unknown column with a non-zero amount holds its statement as
UNMAPPED_COMPONENT naming the column; unknown text columns are listed as notes. Cells that cannot
be read (an amount that is not a number, a date that is not a date, a row without an ID) are errors
of the file, each naming its row: nothing of such a file is used.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reconciliation.domain import tiktok_seller_center_columns as cols
from reconciliation.domain.money import ZERO, AmountError, parse_amount, quantize
from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction
from reconciliation.planning.types import Problem

INCONSISTENT, UNMAPPED = "SOURCE_INCONSISTENT", "UNMAPPED_COMPONENT"
Row = tuple[str, dict[str, str]]
_GROUP = {"revenue": "revenue", "shipping": "shipping", "fee": "fee_tax", "tax": "fee_tax"}
_UNCLASSIFIED = {"revenue": "revenue.unclassified", "shipping": "shipping.unclassified"}
_UNCLASSIFIED["fee_tax"] = "fee.unclassified"
_GROUP_WORDS = {"revenue": "revenue", "shipping": "shipping", "fee_tax": "fee and tax"}
_LEAF_ORDER = {c.target: i for i, c in enumerate(cols.LEAVES.values())}


class Unreadable(ValueError):
    """A cell or header that cannot be read; the message names the row or column."""


def header_key(name: str) -> str:
    """How headers are compared: no case, no "(UTC...)" suffix, letters and digits only."""
    text = re.sub(r"\((utc|gmt)[^)]*\)", "", str(name).lower())
    return re.sub(r"[^a-z0-9]", "", text)


_BY_KEY = {header_key(alias): (alias, column) for alias, column in cols.ALL.items()}
_KEY_ROLES = {cols.ID, cols.TYPE, cols.ORDER, cols.CREATED, cols.SETTLED, cols.CURRENCY}
_KEY_ROLES |= {cols.STATEMENT_ID, cols.STATEMENT_DATE}


@dataclass(frozen=True)
class Header:
    """The file's headers read: `columns` (file header -> Column), `unknown` headers, `errors`."""

    columns: dict[str, cols.Column]
    unknown: tuple[str, ...]
    errors: tuple[str, ...]

    def find(self, role: str) -> str | None:
        return next((h for h, c in self.columns.items() if c.role == role), None)


def header_read(headers: Iterable[str]) -> Header:
    columns: dict[str, cols.Column] = {}
    unknown: list[str] = []
    errors: list[str] = []
    seen: dict[str, str] = {}
    for header in headers:
        if not str(header).strip():
            continue
        found = _BY_KEY.get(header_key(header))
        if found is None:
            unknown.append(header)
            continue
        alias, column = found
        same = column.role if column.role in _KEY_ROLES else alias
        if same in seen:
            errors.append(f"columns {seen[same]!r} and {header!r} are the same column ({alias})")
        seen[same] = header
        columns[header] = column
    read = Header(columns, tuple(unknown), tuple(errors))
    if read.find(cols.ID) is None:
        errors.append("no 'Order/adjustment ID' column")
    if "settlement" not in {c.target for c in columns.values() if c.role == cols.TOTAL}:
        errors.append("no 'Total settlement amount' column")
    if not {cols.STATEMENT_ID, cols.STATEMENT_DATE, cols.SETTLED} & {c.role for c in columns.values()}:
        errors.append("no 'Statement ID', 'Statement date' or 'Order settled time' column to group rows by")
    return Header(columns, tuple(unknown), tuple(errors))


def is_header_row(cells: Sequence[str]) -> bool:
    """The header row: it names the Order/adjustment ID column and at least three known columns."""
    known = [_BY_KEY[k][1] for k in map(header_key, cells) if k in _BY_KEY]
    return len(known) >= 3 and any(c.role == cols.ID for c in known)


_SYMBOL = r"(?:[A-Z]{3}|R\$|RM|Rp|[$£€¥₫₱₩฿])"


def file_amount(text: str, *, where: str) -> Decimal:
    """A Seller Center amount: "", "/" and "-" are 0; currency symbols or codes, spaces and thousands
    separators are dropped; "(7.93)" is -7.93. A single comma before 1-2 final digits is a decimal
    comma (GUESS: "12,50"); before 3 digits a thousands separator. Then money.parse_amount's rules."""
    value = str(text).strip().replace("\u00a0", "").replace(" ", "").replace("\u2212", "-")
    if value in ("", "/", "-", "--"):
        return ZERO
    negative = value.startswith("(") and value.endswith(")")
    value = value[1:-1] if negative else value
    sign, value = (value[0], value[1:]) if value[:1] in "+-" else ("", value)
    value = re.sub(rf"^{_SYMBOL}|{_SYMBOL}$", "", value)
    if value[:1] in "+-" and not sign:
        sign, value = value[0], value[1:]
    value = _separators(value, text, where)
    if negative and sign:
        raise AmountError(f"{where}: {text!r} has both parentheses and a sign")
    return parse_amount(("-" if negative else sign) + value, where=where)


def _separators(value: str, text: str, where: str) -> str:
    if "," in value and "." in value:
        if value.rfind(",") > value.rfind("."):
            return value.replace(".", "").replace(",", ".")
        return value.replace(",", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d*)?", value):
        return value.replace(",", "")
    if re.fullmatch(r"\d+,\d{1,2}", value):
        return value.replace(",", ".")
    if "," in value:
        raise AmountError(f"{where}: {text!r} is not an amount")
    return value


_YMD = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_XYZ = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def file_date(text: str, *, region: str, utc_to: str | None, where: str) -> date:
    """A date as Seller Center writes it: 2024/04/12 or 2024-04-12 (a time may follow), else
    day first (month first for US shops). A time read in UTC (`utc_to` is then the shop's zone)
    is moved into that zone first."""
    value = str(text).strip()
    if match := _YMD.match(value):
        year, month, day, *clock = match.groups()
    elif match := _XYZ.match(value):
        first, second, year, *clock = match.groups()
        month, day = (first, second) if (region or "").upper() == "US" else (second, first)
    else:
        raise Unreadable(f"{where}: {text!r} is not a date")
    try:
        hour, minute, second = (int(c or 0) for c in clock)
        moment = datetime(int(year), int(month), int(day), hour, minute, second)
    except ValueError as exc:
        raise Unreadable(f"{where}: {text!r} is not a date ({exc})") from exc
    if utc_to and clock[0] is not None:
        return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(utc_to)).date()
    return moment.date()


def type_name(text: str) -> str:
    slug = re.sub(r"[^A-Z0-9]+", "_", str(text).strip().upper()).strip("_") or "UNKNOWN"
    return cols.TYPES.get(slug, slug)


@dataclass
class _Row:
    """One file row read: amounts by component (leaves) and group (totals), unknown amounts."""

    where: str
    id: str
    type: str
    order_id: str
    currency: str
    day: date | None
    statement_date: date | None
    statement_id: str
    settlement: Decimal
    leaves: dict[str, Decimal]
    totals: dict[str, Decimal]
    subtotals: list[tuple[str, Decimal, tuple[str, ...]]]
    unknown: dict[str, Decimal]
    cells: dict[str, str]


@dataclass(frozen=True)
class SellerCenterStatement:
    """One statement of a file: `facts` None when `problems` say it cannot be built at all;
    `rows` names the rows it came from; `cells` are those rows as read, (where, {header: text})."""

    statement_id: str
    facts: StatementFacts | None
    problems: tuple[Problem, ...]
    rows: tuple[str, ...]
    cells: tuple[Row, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class SellerCenterFile:
    """`errors`: why nothing of the file can be used (each names a row or column); `notes`: what
    was read but not used (unknown text columns), shown to the user, never holding anything."""

    statements: tuple[SellerCenterStatement, ...]
    errors: tuple[str, ...]
    notes: tuple[str, ...]


def statements_from_rows(
    headers: Sequence[str],
    rows: Sequence[Row],
    *,
    region: str,
    currency: str,
    timezone: str | None,
    ref: Callable[[str], str] = lambda sid: f"statement {sid}",
) -> SellerCenterFile:
    """Read a file's rows into statements (see the module's description). Never raises on any text."""
    header = header_read(headers)
    if header.errors:
        return SellerCenterFile((), header.errors, ())
    read, errors = [], []
    for where, cells in rows:
        try:
            read.append(_read_row(where, cells, header, region=region, currency=currency, zone=timezone))
        except (Unreadable, AmountError) as exc:
            errors.append(str(exc))
    if errors:
        return SellerCenterFile((), tuple(errors), ())
    if not read:
        return SellerCenterFile((), ("the file has a header row but no rows under it",), ())
    notes = _notes(header, read)
    groups: dict[str, list[_Row]] = {}
    for row in read:
        groups.setdefault(_statement_key(row), []).append(row)
    statements = tuple(_statement(sid, group, ref(sid)) for sid, group in groups.items())
    return SellerCenterFile(statements, (), notes)


def _read_row(where, cells, header: Header, *, region, currency, zone) -> _Row:
    def text(role):
        name = header.find(role)
        return str(cells.get(name, "") or "").strip() if name else ""

    def day(role):
        name = header.find(role)
        value = text(role)
        utc = zone if name and "utc" in name.lower() else None
        return file_date(value, region=region, utc_to=utc, where=f"{where}, {name}") if value else None

    row_id = text(cols.ID)
    if not row_id:
        raise Unreadable(f"{where}: no Order/adjustment ID")
    row = _Row(
        where=where,
        id=row_id,
        type=type_name(text(cols.TYPE) or "Order"),
        order_id=text(cols.ORDER),
        currency=(text(cols.CURRENCY) or currency).upper(),
        day=day(cols.SETTLED),
        statement_date=day(cols.STATEMENT_DATE),
        statement_id=text(cols.STATEMENT_ID),
        settlement=ZERO,
        leaves={},
        totals={},
        subtotals=[],
        unknown={},
        cells=dict(cells),
    )
    if header.find(cols.STATEMENT_ID) and not row.statement_id:
        raise Unreadable(f"{where}: no Statement ID")
    if not (row.statement_id or row.statement_date or row.day):
        raise Unreadable(f"{where}: no statement date and no Order settled time")
    _read_amounts(row, cells, header)
    return row


def _read_amounts(row: _Row, cells: dict[str, str], header: Header) -> None:
    for name, column in header.columns.items():
        if column.role not in (cols.LEAF, cols.TOTAL, cols.SUBTOTAL):
            continue
        cell = str(cells.get(name, "") or "")
        amount = file_amount(cell, where=f"{row.where}, {name}")
        if column.role == cols.LEAF:
            row.leaves[str(column.target)] = row.leaves.get(str(column.target), ZERO) + amount
        elif column.target == "settlement":
            row.settlement = amount
        elif column.role == cols.TOTAL and cell.strip():
            row.totals[str(column.target)] = amount
        elif column.role == cols.SUBTOTAL and cell.strip():
            row.subtotals.append((name, amount, tuple(column.target)))
    for name in header.unknown:
        cell = str(cells.get(name, "") or "").strip()
        try:
            amount = file_amount(cell, where=name)
        except AmountError:
            continue  # text (or an id too long to be money): a note, not an amount
        if amount:
            row.unknown[name] = amount


def _notes(header: Header, rows: list[_Row]) -> tuple[str, ...]:
    amounts = {name for row in rows for name in row.unknown}
    text = [h for h in header.unknown if h not in amounts]
    return (f"columns not used (not amounts LedgerSync knows): {', '.join(map(repr, text))}",) if text else ()


def _statement_key(row: _Row) -> str:
    if row.statement_id:
        return row.statement_id
    day = row.statement_date or row.day
    assert day is not None  # _read_row refuses a row without one
    return f"SC-{day.isoformat()}"


def _statement(statement_id: str, rows: list[_Row], ref: str) -> SellerCenterStatement:
    messages: list[str] = []
    unknown: dict[str, list[str]] = {}
    transactions: dict[tuple[str, str], list[tuple[_Row, list[Component]]]] = {}
    for row in rows:
        components = _row_components(row, messages)
        transactions.setdefault((row.id, row.type), []).append((row, components))
        for name, amount in row.unknown.items():
            unknown.setdefault(name, []).append(f"{row.where}: {amount}")
    currencies = sorted({row.currency for row in rows})
    if len(currencies) > 1:
        messages.append(f"its rows are in several currencies: {', '.join(currencies)}")
    messages += _repeated_rows(rows)
    built = tuple(_transaction(parts) for parts in transactions.values())
    days = [d for d in (r.statement_date or r.day for r in rows) if d is not None]
    facts = StatementFacts(
        statement_id=statement_id,
        statement_date=max(days),
        currency=currencies[0],
        settlement_amount=sum((r.settlement for r in rows), ZERO),
        transactions=built,
        status="SELLER_CENTER",
    )
    messages += _too_fine(facts)
    problems = [Problem(INCONSISTENT, f"{ref}: {m}", ref) for m in messages]
    problems += [
        Problem(
            UNMAPPED,
            f"{ref}: column {name!r} is not one LedgerSync knows and holds money ({'; '.join(found)}); "
            "tell us what it is so it can be mapped",
            ref,
            details={"column": name},
        )
        for name, found in unknown.items()
    ]
    cells = tuple((r.where, r.cells) for r in rows)
    return SellerCenterStatement(statement_id, facts, tuple(problems), tuple(r.where for r in rows), cells)


def _row_components(row: _Row, messages: list[str]) -> list[Component]:
    """The row's components, and its checks appended to `messages`."""
    components = [
        Component(name, amount, row.id)
        for name, amount in row.leaves.items()
        if amount and name != "adjustment"
    ]
    group_totals = {group: ZERO for group in ("revenue", "shipping", "fee_tax")}
    for component in components:
        group_totals[_GROUP[component.name.split(".")[0]]] += component.amount
    for group, stated in row.totals.items():
        if group == "settlement" or stated == group_totals[group]:
            continue
        residue = stated - group_totals[group]
        if row.unknown:
            note = "unknown columns present: " + ", ".join(f"{k}={v}" for k, v in row.unknown.items())
            components.append(Component(_UNCLASSIFIED[group], residue, row.id, note=note))
        else:
            messages.append(
                f"{row.where}: its {_GROUP_WORDS[group]} columns add up to {group_totals[group]}, "
                f"its {_total_header(group)} is {stated}"
            )
        group_totals[group] = stated
    adjustment = row.leaves.get("adjustment", ZERO)
    if row.type != "ORDER" and not adjustment and not any(group_totals.values()):
        adjustment = row.settlement  # GUESS (module description): the row is all adjustment
    if adjustment:
        components.append(Component(f"adjustment.{row.type}", adjustment, row.id))
    expected = sum(group_totals.values(), ZERO) + adjustment
    if expected != row.settlement and not row.unknown:
        messages.append(
            f"{row.where}: its columns add up to {expected}, its Total settlement amount is {row.settlement}"
        )
    for name, stated, parts in row.subtotals:
        total = sum((row.leaves.get(p, ZERO) for p in parts), ZERO)
        if total != stated:
            messages.append(f"{row.where}: {name} is {stated}, its parts add up to {total}")
    return components


def _total_header(group: str) -> str:
    return next(alias for alias, c in cols.TOTALS.items() if c.target == group)


def _transaction(parts: list[tuple[_Row, list[Component]]]) -> StatementTransaction:
    first = parts[0][0]
    amounts: dict[str, Decimal] = {}
    notes: dict[str, str] = {}
    for _, components in parts:
        for c in components:
            amounts[c.name] = amounts.get(c.name, ZERO) + c.amount
            notes[c.name] = "; ".join(filter(None, [notes.get(c.name, ""), c.note]))
    names = sorted(amounts, key=lambda n: (_LEAF_ORDER.get(n, len(_LEAF_ORDER)), n.startswith("adj"), n))
    order_id = first.order_id or (first.id if first.type == "ORDER" else "")
    return StatementTransaction(
        id=first.id,
        type=first.type,
        order_id=order_id,
        settlement_amount=sum((row.settlement for row, _ in parts), ZERO),
        components=tuple(Component(n, amounts[n], first.id, notes[n]) for n in names if amounts[n]),
        information={"rows": [row.where for row, _ in parts]},
    )


def _repeated_rows(rows: list[_Row]) -> list[str]:
    """GUESS: a row repeated cell for cell is the same line exported twice, not two sales."""
    seen: dict[tuple, str] = {}
    messages = []
    for row in rows:
        key = tuple(sorted(row.cells.items()))
        if key in seen:
            messages.append(f"{row.where} repeats {seen[key]} cell for cell (exported twice?)")
        seen.setdefault(key, row.where)
    return messages


def _too_fine(facts: StatementFacts) -> list[str]:
    amounts = [facts.settlement_amount] + [c.amount for c in facts.components()]
    too_fine = sorted({str(a) for a in amounts if a != quantize(a, facts.currency)})
    return [f"amounts finer than {facts.currency} allows: {', '.join(too_fine[:5])}"] if too_fine else []
