"""Reading a sheet as its cells were typed: CSV and XLSX formats whose row numbers match the
spreadsheet, cells as text marked when the spreadsheet did not keep a code as typed (a number, a
date, TRUE/FALSE, a formula), and the widgets that turn a cell into a model value."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import openpyxl
import tablib
from django.core.exceptions import ValidationError
from django.db import models
from import_export import widgets
from import_export.formats import base_formats
from import_export.results import Result

from reconciliation.models import (
    Shop,
)
from reconciliation.sheets.report import ImportReport, report_fill

# --- file formats ----------------------------------------------------------------------------------


class SpreadsheetCSV(base_formats.CSV):
    """CSV that keeps blank lines as blank rows, so row numbers match what a spreadsheet shows
    (tablib drops blank lines, which shifts every later row number)."""

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            in_stream = in_stream.decode(self.encoding or "utf-8-sig")
        rows = list(csv.reader(io.StringIO(in_stream.removeprefix("\ufeff"), newline="")))
        dataset = tablib.Dataset()
        if not rows:
            return dataset
        width = max(len(row) for row in rows)
        dataset.headers = rows[0] + [""] * (width - len(rows[0]))
        for row in rows[1:]:
            dataset.append(row + [""] * (width - len(row)))
        return dataset


class Formula:
    """An XLSX formula cell: the value Excel last calculated for it (None if a program wrote the file
    and nothing calculated it), marked so that a code column can refuse it."""

    __slots__ = ("formula", "value")

    def __init__(self, value, formula: str):
        self.value, self.formula = value, formula


class SpreadsheetXLSX(base_formats.XLSX):
    """XLSX as django-import-export reads it (the first sheet, calculated values), with formula cells
    marked as Formula: a code typed as `=A2` or `="00123"` is not a code an operator can read."""

    def create_dataset(self, in_stream):
        def sheet(data_only: bool):
            return openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=data_only).active

        typed = [[(cell.value, cell.data_type) for cell in row] for row in sheet(False).iter_rows()]
        if any(kind == "f" for row in typed for _value, kind in row):
            # What Excel last calculated, for the formula cells: a second read (most sheets have none).
            calculated = [list(row) for row in sheet(True).iter_rows(values_only=True)]
            rows = [
                [
                    Formula(_at(values, i), str(value)) if kind == "f" else value
                    for i, (value, kind) in enumerate(row)
                ]
                for row, values in zip(typed, calculated, strict=False)
            ]
        else:
            rows = [[value for value, _kind in row] for row in typed]
        dataset = tablib.Dataset()
        if not rows:
            return dataset  # refused by SpreadsheetResource.before_import: no header row
        width = max(len(row) for row in rows)
        dataset.headers = rows[0] + [None] * (width - len(rows[0]))
        for row in rows[1:]:
            dataset.append(row + [None] * (width - len(row)))
        return dataset


def _at(values: list, index: int):
    return values[index] if index < len(values) else None


SPREADSHEET_FORMATS = {".csv": SpreadsheetCSV, ".xlsx": SpreadsheetXLSX}


# --- widgets ---------------------------------------------------------------------------------------


class ChoiceWidget(widgets.CharWidget):
    """One of a model field's choices, matched case-insensitively and stored as the canonical value."""

    def __init__(self, choices, **kwargs):
        self.values = [value for value, _label in choices]
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        if not value:
            return value
        for choice in self.values:
            if choice.lower() == value.lower():
                return choice
        raise ValueError(f"'{value}' is not one of {', '.join(self.values)}")


class ValidatedWidget(widgets.CharWidget):
    """Text checked by a Django validator; `transform` normalises it first (e.g. upper-case)."""

    def __init__(self, validator=None, transform=None, blank_value=None, **kwargs):
        self.validator, self.transform, self.blank_value = validator, transform, blank_value
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        if not value:
            return self.blank_value if self.blank_value is not None else value
        if self.transform:
            value = self.transform(value)
        try:
            if self.validator:
                self.validator(value)
        except ValidationError as exc:
            raise ValueError("; ".join(exc.messages)) from exc
        return value


class CodeText(str):
    """A code cell as text, with why it cannot be trusted as typed (see _code_cell)."""

    problem = ""
    from_number = False  # an account code the spreadsheet stored as a whole number


class CodeWidget(ValidatedWidget):
    """A code that must reach Xero exactly as typed (item codes, SKUs, tax types): a cell the
    spreadsheet stored as a number, date, TRUE/FALSE or formula is refused, not converted."""

    def clean(self, value, row=None, **kwargs):
        problem = getattr(value, "problem", "")
        if problem:
            raise ValueError(problem)
        return super().clean(value, row, **kwargs)


class WholeNumberWidget(widgets.Widget):
    """A positive whole number (a count of units), stored as the model's Decimal."""

    def clean(self, value, row=None, **kwargs):
        number = _decimal(value)
        if number is None or number < 1 or number != number.to_integral_value():
            raise ValueError(f"'{value}' is not a positive whole number")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(int(value))


class WeightWidget(widgets.Widget):
    """A number >= 0 (a price weight), stored as the model's Decimal."""

    def clean(self, value, row=None, **kwargs):
        number = _decimal(value)
        if number is None:
            raise ValueError(f"'{value}' is not a number")
        if number < 0:
            raise ValueError(f"'{value}' is negative; a price weight is 0 or more")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else format(value.normalize(), "f")


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class ShopCodeWidget(widgets.ForeignKeyWidget):
    """A shop by its code; blank means none (a channel-wide row)."""

    def __init__(self, **kwargs):
        super().__init__(Shop, field="code", **kwargs)
        self.shops: dict[str, Shop] = {}  # by code, for one import (reset in before_import)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        if value not in self.shops:
            try:
                self.shops[value] = Shop.objects.select_related("xero_connection").get(code=value)
            except Shop.DoesNotExist:
                raise ValueError(f"no shop with code '{value}'") from None
        return self.shops[value]


# --- results numbered like the spreadsheet --------------------------------------------------------


class SpreadsheetResult(Result):
    """Row numbers as the sheet shows them: the header is row 1, the first data row is row 2."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)

    def row_errors(self):
        return [(number + 1, errors) for number, errors in super().row_errors()]

    @property
    def sheet_report(self) -> ImportReport:
        """The admin preview's report: the same lines `import_mappings` prints."""
        return report_fill(ImportReport(kind="", dry_run=True), self, getattr(self, "sheet_warnings", []))


def _cell(value) -> str:
    """Every cell as trimmed text: spreadsheets hand back numbers (4000, 4000.0), dates and None."""
    if isinstance(value, Formula):
        return _cell(value.value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _code_cell(value, account: bool = False) -> str:
    """A code column's cell as text, marked (CodeText.problem) when the spreadsheet did not keep it
    as typed text: a number has lost its leading zeros and any digit past the 15th (TikTok sku_ids
    have 19), a date or TRUE/FALSE was a code the spreadsheet reinterpreted, a formula is not a code.

    Account codes are the exception for whole numbers: a chart of accounts is mostly numbers, which
    a spreadsheet stores as numbers. Such a cell is marked `from_number` and accepted unless the
    organisation has the code with leading zeros (`090` typed as a number reads 90; see
    account_problem)."""
    text = _cell(value)
    if isinstance(value, Formula):
        text, problem = value.formula, "is a formula; type the code itself"
    elif isinstance(value, bool):
        problem = "is a TRUE/FALSE cell, not a code"
    elif isinstance(value, (date, datetime)):
        problem = "is a date cell (the spreadsheet read the code as a date)"
    elif isinstance(value, (int, float, Decimal)):
        if account and float(value).is_integer() and value >= 0:
            marked = CodeText(text)
            marked.from_number = True
            return marked
        problem = "is a number cell, which drops leading zeros and digits past the 15th"
    else:
        return text
    marked = CodeText(text)
    marked.problem = f"'{text}' {problem}: format the column as Text and type the code again"
    return marked


def _text_cell(value) -> str:
    """A text column's cell as text, marked when it is a formula: the value a program-written sheet
    hands back for one is empty (nothing calculated it), and a pasted value is what was meant."""
    if not isinstance(value, Formula):
        return _cell(value)
    marked = CodeText(value.formula)
    marked.problem = f"'{value.formula}' is a formula: paste the value itself (Paste Special, Values)"
    return marked


def _header(value) -> str:
    return re.sub(r"[\s-]+", "_", _cell(value).lower())


def _values(instance: models.Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _is_blank(values) -> bool:
    return all(value in (None, "") for value in values)


class FactorWidget(widgets.Widget):
    """A number > 0 (how many stock units one channel unit is), stored as the model's Decimal."""

    def clean(self, value, row=None, **kwargs):
        number = _decimal(value)
        if number is None or number <= 0:
            raise ValueError(f"'{value}' is not a number above 0")
        if -number.as_tuple().exponent > 6:
            raise ValueError(f"'{value}' has more than 6 decimal places")
        return number

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else format(value.normalize(), "f")
