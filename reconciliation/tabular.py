"""Read a channel's spreadsheet export (CSV or XLSX) whose header row is not always row 1.

Used for TikTok Seller Center statement files (`manage.py import_statement`). Cells come back as
text exactly as written (an XLSX number as its shortest decimal text, a date as ISO text), so the
pure readers parse money with money.parse_amount's rules and never see a float's binary error.
Rows are named "row N" (the file's own 1-based row number; "sheet 'S' row N" in a workbook with
several sheets) so every message points at the cell a user can open.
"""

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

SCAN_ROWS = 30  # the header is searched for in this many rows from the top (banners sit above it)
ENCODINGS = ("utf-8-sig", "cp1252")  # UTF-16 is recognised by its byte order mark


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message says why, with row numbers where it can."""


@dataclass(frozen=True)
class Table:
    """`headers` as written in the header row; `rows`: (where, {header: text}) for every non-empty
    row under it; `notes`: what was not read (sheets without a header row)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, dict[str, str]], ...]
    header_where: str
    notes: tuple[str, ...] = ()


def table_read(path: Path, *, is_header: Callable[[Sequence[str]], bool]) -> Table:
    """Read `path` (.csv or .xlsx); `is_header` says which row is the header (the first that
    passes, within SCAN_ROWS rows). Raises UnreadableFile."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UnreadableFile(f"{path.name}: use the .csv or .xlsx file Seller Center exports")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise UnreadableFile(f"{path.name} is empty")
    sheets = _xlsx_sheets(data, path.name) if suffix == ".xlsx" else [("", _csv_rows(data, path.name))]
    return _table(sheets, path.name, is_header)


def _csv_rows(data: bytes, name: str) -> list[list[str]]:
    text = _decode(data, name)
    sample = text[:20000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    for number, row in enumerate(rows, start=1):
        for cell in row:
            if cell.strip().startswith("="):
                raise UnreadableFile(
                    f"row {number}: {cell.strip()[:40]!r} is a formula; export the file from Seller "
                    "Center again (or paste values only)"
                )
    return rows


def _decode(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(f"{name} is not text in UTF-8, UTF-16 or Windows-1252")


def _xlsx_sheets(data: bytes, name: str) -> list[tuple[str, list[list[str]]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{name} is not a readable .xlsx workbook") from exc
    sheets = []
    for sheet in book.worksheets:
        rows = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append([_cell_text(value, sheet.title, number) for value in row])
        sheets.append((sheet.title, rows))
    book.close()
    return sheets


def _cell_text(value, sheet: str, number: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("="):
        raise UnreadableFile(
            f"sheet {sheet!r} row {number}: {value[:40]!r} is a formula; export the file from Seller "
            "Center again (or paste values only)"
        )
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 2**53:
            # An id (order, SKU) saved as a number has lost its last digits: refuse, never guess.
            raise UnreadableFile(
                f"sheet {sheet!r} row {number}: {value!r} is a number too long to be exact (an id saved as a "
                "number after opening the file in a spreadsheet?); export the file from Seller Center again"
            )
        # Shortest text that reads back as the same float: 7.93, not 7.9299999999999997.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _table(sheets, name: str, is_header) -> Table:
    found, notes = [], []
    for title, rows in sheets:
        index = next((i for i, row in enumerate(rows[:SCAN_ROWS]) if is_header(row)), None)
        if index is None:
            if any(any(c.strip() for c in row) for row in rows):
                notes.append(f"sheet {title!r}: no header row found in its first {SCAN_ROWS} rows; not read")
            continue
        found.append((title, index, rows))
    if not found:
        raise UnreadableFile(
            f"{name}: no header row found (looked for 'Order/adjustment ID' and the settlement columns in "
            f"the first {SCAN_ROWS} rows)"
        )
    # Sheets may differ (orders on one, adjustments on another): the table has every sheet's
    # columns, and a row has blank cells in the columns its own sheet does not have.
    headers: list[str] = []
    for _, index, rows in found:
        headers += [h for h in (str(c).strip() for c in rows[index]) if h and h not in headers]
    several = len(found) > 1
    table_rows = []
    for title, index, rows in found:
        prefix = f"sheet {title!r} row" if several else "row"
        table_rows += _rows_under(rows, index, prefix)
    where = f"row {found[0][1] + 1}" if not several else f"sheet {found[0][0]!r} row {found[0][1] + 1}"
    return Table(tuple(headers), tuple(table_rows), where, tuple(notes))


def _rows_under(rows, index: int, prefix: str):
    own = [str(c).strip() for c in rows[index]]
    twice = sorted({h for h in own if h and own.count(h) > 1})
    if twice:
        raise UnreadableFile(f"{prefix} {index + 1}: column {twice[0]!r} appears twice in the header")
    out = []
    for number, row in enumerate(rows[index + 1 :], start=index + 2):
        if not any(str(c).strip() for c in row):
            continue
        extra = [c for i, c in enumerate(row) if str(c).strip() and (i >= len(own) or not own[i])]
        if extra:
            raise UnreadableFile(f"{prefix} {number}: a value ({extra[0]!r}) in a column without a header")
        out.append(
            (f"{prefix} {number}", {h: row[i] if i < len(row) else "" for i, h in enumerate(own) if h})
        )
    return out
