"""Spreadsheet import and export of operator maps (django-import-export).

The admin's Import button and `manage.py import_mappings` use these same resources, so a sheet is
accepted or refused for the same reasons on both paths. Rules shared by every sheet:
- header names are case-insensitive and trimmed; required columns must be present and unknown
  columns are refused (a typo in a header must not silently drop a column);
- blank rows are ignored; row numbers are those a spreadsheet shows (the header is row 1);
- a key may appear once per file (two rows for the same shop would otherwise silently overwrite);
- an unchanged row is reported as unchanged, not saved again.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import available_timezones

import openpyxl
import tablib
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from reconciliation.domain import tiktok_normalise
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    Shop,
    ShopConnection,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
)
from reconciliation.models.shops import Channel, shop_id_conflict
from reconciliation.models.xero import XeroConnection
from reconciliation.planning.checks import CLASS_FLAG
from reconciliation.planning.order_maps import SIDE_CLASS
from reconciliation.planning.types import OrgSettings
from reconciliation.selectors import org_settings
from reconciliation.sheets.report import ColumnsError as ColumnsError  # re-exported
from reconciliation.sheets.report import ImportReport, report_fill

# --- rules the admin forms enforce too -----------------------------------------------------------

currency_code = RegexValidator(r"^[A-Z]{3}$", "currency codes are 3 letters (ISO 4217), e.g. GBP")

# DESIGN.md 4.2: `<group>.<leaf>` for the statement groups, or exactly `reserve`.
COMPONENT_GROUPS = ("revenue", "shipping", "fee", "tax", "adjustment")
component_name = RegexValidator(
    rf"^(?:(?:{'|'.join(COMPONENT_GROUPS)})\.[A-Za-z0-9_]+|reserve)$",
    "components are named <group>.<field> with group one of "
    f"{', '.join(COMPONENT_GROUPS)} (e.g. fee.transaction_fee_amount, adjustment.CHARGE_BACK), "
    "or exactly 'reserve'",
)

# The leaves the TikTok normaliser turns into components; a map row for any other leaf never matches.
TIKTOK_LEAVES = {
    "revenue": tiktok_normalise.REVENUE_LEAVES,
    "shipping": tiktok_normalise.SHIPPING_LEAVES,
    "fee": tiktok_normalise.FEE_LEAVES,
    "tax": tiktok_normalise.TAX_LEAVES,
}


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def missing_timezone_message(region: str) -> str:
    return (
        f"region {region!r} has no default time zone for statement dates: set the shop's time zone "
        "(an IANA name such as Europe/Berlin)"
    )


def validate_timezone(value: str) -> None:
    if value not in _timezones():
        raise ValidationError(f"'{value}' is not an IANA time zone (e.g. Europe/London, America/Los_Angeles)")


def validate_currency(value: str) -> None:
    currency_code(value)


def component_warning(channel: str, component: str) -> str | None:
    """Why a well-formed TikTok component name would still never match a statement, if it would not."""
    if channel != Channel.TIKTOK or component == "reserve" or "." not in component:
        return None
    group, leaf = component.split(".", 1)
    if group == "adjustment":
        if leaf != leaf.upper():
            return (
                f"TikTok adjustment types are upper case (adjustment.{leaf.upper()}); this row never matches"
            )
        return None
    if leaf == "unclassified" or leaf in TIKTOK_LEAVES.get(group, ()):
        return None
    return f"{component} is not a field LedgerSync reads from TikTok statements; this row never matches"


def shop_channel_error(channel: str, shop: Shop | None) -> str | None:
    if shop is not None and channel and shop.channel != channel:
        return f"shop {shop.code} is on channel {shop.channel}, not {channel}"
    return None


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


class SpreadsheetResource(resources.ModelResource):
    """Base for every mapping sheet. Subclasses list their columns; the first ones are required."""

    required_columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()
    # Columns holding codes Xero or the channel match exactly (see _code_cell).
    code_columns: tuple[str, ...] = ()
    # Code columns holding Xero account codes (whole-number cells allowed, see _code_cell).
    account_columns: tuple[str, ...] = ()
    # Rows for the downloadable template (admin "Download template"): they import cleanly into the
    # demo organisation (`make demo`: connectors/xero/sandbox_demo.py, reconciliation/demo/orders.py).
    example_rows: tuple[tuple[str, ...], ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.warnings: list[str] = []
        self._first_row_of_key: dict[tuple, int] = {}
        self.sheet_row = 0  # the row being imported, as the spreadsheet numbers it
        self._stored_values: dict | None = None  # the row's stored values, before the sheet's
        self._changes: list[str] = []  # what the row changes in them

    @classmethod
    def get_result_class(cls):
        return SpreadsheetResult

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return cls.required_columns + cls.optional_columns

    @classmethod
    def column_problems(cls, headers: list[str]) -> list[str]:
        problems = []
        duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
        if duplicates:
            problems.append(f"column(s) appear more than once: {', '.join(duplicates)}")
        missing = [c for c in cls.required_columns if c not in headers]
        if missing:
            problems.append(f"missing required column(s): {', '.join(missing)}")
        unknown = [h for h in headers if h and h not in cls.columns()]
        if unknown:
            problems.append(
                f"unknown column(s): {', '.join(unknown)} (this sheet takes: {', '.join(cls.columns())})"
            )
        return problems

    def before_import(self, dataset, **kwargs):
        """Normalise headers and cells in place; refuse the file if its columns are wrong."""
        self.warnings, self._first_row_of_key = [], {}
        self._stored: dict[tuple, models.Model] | None = None
        for field in self.fields.values():
            if isinstance(field.widget, ShopCodeWidget):
                field.widget.shops = {}
        headers = [_header(h) for h in (dataset.headers or [])]
        codes = {i for i, h in enumerate(headers) if h in self.code_columns}
        accounts = {i for i, h in enumerate(headers) if h in self.account_columns}
        rows = [
            [_code_cell(v, i in accounts) if i in codes else _text_cell(v) for i, v in enumerate(row)]
            for row in dataset
        ]
        while rows and _is_blank(rows[-1]):
            rows.pop()
        problems = [] if headers else ["the file has no header row"]
        keep = []
        for index, header in enumerate(headers):
            if header:
                keep.append(index)
            elif any(row[index] for row in rows):
                problems.append(f"column {index + 1} has values but no header")
        problems += self.column_problems([h for h in headers if h])
        dataset.wipe()
        dataset.headers = [headers[i] for i in keep]
        if problems:
            raise ColumnsError(problems)
        for row in rows:
            dataset.append([row[i] for i in keep])

    def import_row(self, row, instance_loader, **kwargs):
        if _is_blank(row.values()):
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            row_result.blank = True
            return row_result
        self._changes = []
        row_result = super().import_row(row, instance_loader, **kwargs)
        row_result.sheet_row = kwargs["row_number"] + 1  # for the preview's list of rows
        row_result.changes = "; ".join(self._changes)  # what a changed row changes (skip_row)
        return row_result

    def import_data(self, *args, **kwargs):
        # The admin's preview page shows the same report as the command (sheets/report.py).
        result = super().import_data(*args, **kwargs)
        result.sheet_warnings = list(self.warnings)
        return result

    def before_import_row(self, row, **kwargs):
        # Two rows for one key would silently overwrite each other inside the same import.
        sheet_row = self.sheet_row = kwargs["row_number"] + 1
        # A cell the spreadsheet did not keep as typed (see _code_cell, _text_cell), by field.
        attributes = {f.column_name: f.attribute or name for name, f in self.fields.items()}
        self._cell_problems = {
            attributes.get(column, column): value.problem
            for column, value in row.items()
            if getattr(value, "problem", "")
        }
        self.number_cells = {column for column, value in row.items() if getattr(value, "from_number", False)}
        first = self._first_row_of_key.setdefault(self._key(row), sheet_row)
        if first != sheet_row:
            columns = [self.fields[name].column_name for name in self.get_import_id_fields()]
            described = ", ".join(f"{column} '{row.get(column, '')}'" for column in columns)
            raise ValidationError(f"repeats row {first} ({described}); each appears once per file")

    def _key(self, row) -> tuple:
        """The row's key as stored (so `TikTok` and `tiktok` are the same channel)."""
        key = []
        for name in self.get_import_id_fields():
            field = self.fields[name]
            try:
                value = field.clean(row)
            except ValueError:
                value = row.get(field.column_name, "")
            key.append(value.pk if isinstance(value, models.Model) else value)
        return tuple(key)

    def get_instance(self, instance_loader, row):
        # A key column that does not clean (unknown shop, bad channel) makes the row new here, so the
        # same error is then reported against its column by import_instance.
        instance = self.stored_rows().get(self._key(row))
        self._stored_values = None if instance is None else _values(instance)
        return instance

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """Unchanged: a stored row whose values the sheet leaves as they were. Compared with the
        values read before the row was applied (Meta.skip_diff: no copy of every instance)."""
        self._changes = []
        if import_validation_errors or instance.pk is None or self._stored_values is None:
            return False
        now = _values(instance)
        columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        self._changes = [
            f"{columns.get(name, name)}: '{self._stored_values[name]}' -> '{value}'"
            for name, value in now.items()
            if value != self._stored_values[name]
        ]
        return not self._changes

    def row_errors(self, instance) -> dict[str, str]:
        """Checks across columns that the model itself does not make; subclasses add theirs."""
        return {}

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        for field, message in getattr(self, "_cell_problems", {}).items():
            errors.setdefault(field, ValidationError(message))
        for field, message in self.row_errors(instance).items():
            errors.setdefault(field, ValidationError(message))
        try:
            # Uniqueness is not asked of the database row by row (two queries a row, most of a
            # large import's time): every unique constraint of a map is over its import key, the
            # row with that key is the one being updated (stored_rows), and a key repeated in the
            # file is refused by before_import_row. Field validators and choices still run here.
            # Related rows (the shop) were read from the database by their widget: not again here.
            relations = {f.name for f in instance._meta.fields if f.is_relation}
            instance.full_clean(
                exclude=set(errors) | relations, validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            # Errors are keyed by model field; the operator reads the sheet's column names.
            columns = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
            raise ValidationError({columns.get(k, k): v for k, v in errors.items()})

    def stored_rows(self) -> dict[tuple, models.Model]:
        """Every stored row by its import key, read once per import (a query per sheet row would
        be most of a 50,000-row import's time)."""
        if self._stored is None:
            attributes = []
            for name in self.get_import_id_fields():
                attribute = self.fields[name].attribute
                field = self._meta.model._meta.get_field(attribute)
                attributes.append(field.attname)
            related = [f.name for f in self._meta.model._meta.fields if f.is_relation]
            self._stored = {
                tuple(getattr(obj, a) for a in attributes): obj
                for obj in self._meta.model.objects.select_related(*related)
            }
        return self._stored


POSTING_SETTINGS_PERMISSION = "reconciliation.change_posting_settings"
SHOP_COLUMNS = (
    "channel",
    "code",
    "name",
    "region",
    "currency",
    "clearing_account",
    "posting_mode",
    "line_amount_types",
)
SHOP_OPTIONAL_COLUMNS = ("bank_account", "reserve_account", "contact_name", "timezone", "tiktok_shop_id")


class ShopResource(SpreadsheetResource):
    required_columns = SHOP_COLUMNS
    optional_columns = SHOP_OPTIONAL_COLUMNS
    example_rows = (
        (
            *("tiktok", "example-us", "Example TikTok US", "US", "USD", "1210", "statement_journal"),
            *("NoTax", "090", "1220", "TikTok Shop", "America/Los_Angeles", ""),
        ),
    )
    code_columns = account_columns = ("clearing_account", "bank_account", "reserve_account")

    channel = fields.Field("channel", "channel", ChoiceWidget(Channel.choices))
    posting_mode = fields.Field(
        "posting_mode", "posting_mode", ChoiceWidget(Shop._meta.get_field("posting_mode").choices)
    )
    line_amount_types = fields.Field(
        "line_amount_types",
        "line_amount_types",
        ChoiceWidget(Shop._meta.get_field("line_amount_types").choices),
    )
    region = fields.Field("region", "region", ValidatedWidget(transform=str.upper))
    currency = fields.Field("currency", "currency", ValidatedWidget(validate_currency, transform=str.upper))
    # A blank time zone means the region's (domain/tiktok_time.py); a region without one needs it set.
    timezone = fields.Field("timezone", "timezone", ValidatedWidget(validate_timezone, blank_value=""))
    # The shop's id at TikTok, kept on its API connection (not a Shop field): optional, and once
    # given, one shop per id (DESIGN.md 4.1 ids; a second shop would post everything twice).
    tiktok_shop_id = fields.Field(column_name="tiktok_shop_id", attribute=None)

    def before_import(self, dataset, **kwargs):
        # The admin passes who is importing; the command line (a trusted operator shell) does not.
        self._user = kwargs.get("user")
        self._tiktok_ids: dict[str, int] = {}  # id -> first sheet row, to refuse two rows per id
        super().before_import(dataset, **kwargs)

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        shop_id = row.get("tiktok_shop_id", "")
        if shop_id:
            sheet_row = kwargs["row_number"] + 1
            first = self._tiktok_ids.setdefault(shop_id, sheet_row)
            if first != sheet_row:
                raise ValidationError(
                    f"tiktok_shop_id {shop_id} is also on row {first}: one TikTok shop posts to one "
                    "ledger, and two shops for it would post every statement and payout twice"
                )

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        instance._tiktok_shop_id = row.get("tiktok_shop_id", None)  # None: column not in the sheet

    def dehydrate_tiktok_shop_id(self, shop: Shop) -> str:
        connection = ShopConnection.objects.filter(shop=shop).first()
        return connection.external_shop_id if connection else ""

    def skip_row(self, instance, original, row, import_validation_errors=None):
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if wanted and instance.pk is not None and wanted != self.dehydrate_tiktok_shop_id(instance):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def row_errors(self, instance) -> dict[str, str]:
        errors = self._tiktok_shop_id_errors(instance) | self._account_errors(instance)
        if shop_timezone(instance.region, instance.timezone) is None:
            errors["timezone"] = missing_timezone_message(instance.region)
        user = getattr(self, "_user", None)
        if user is None or instance.pk is None or user.has_perm(POSTING_SETTINGS_PERMISSION):
            return errors
        stored = Shop.objects.get(pk=instance.pk)
        return errors | {
            name: "only Finance may change a shop's posting mode and accounts"
            for name in Shop.POSTING_SETTINGS
            if getattr(stored, name) != getattr(instance, name)
        }

    def _account_errors(self, instance) -> dict[str, str]:
        """A shop already connected to Xero is checked against its organisation's accounts (a new
        shop has no organisation until it is connected; its accounts are checked before posting)."""
        org = org_settings(instance.xero_connection) if instance.xero_connection_id else None
        if org is None or not has_read(org, "accounts"):
            return {}
        label = (
            f"Xero organisation {instance.xero_connection.organisation_name or instance.xero_connection.name}"
        )
        errors = {}
        for column in self.code_columns:
            code = getattr(instance, column)
            if not code or len(code) > MAX_ACCOUNT_CODE:
                continue
            if message := account_problem(org, code, label, column in self.number_cells):
                errors[column] = message
        return errors

    def _tiktok_shop_id_errors(self, instance) -> dict[str, str]:
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if not wanted:
            return {}
        if instance.channel != Channel.TIKTOK:
            return {"tiktok_shop_id": f"only TikTok shops have a TikTok shop id, not {instance.channel}"}
        current = self.dehydrate_tiktok_shop_id(instance) if instance.pk else ""
        if current and current != wanted:
            return {
                "tiktok_shop_id": f"shop {instance.code} is TikTok shop {current}; a shop's TikTok id "
                "cannot be changed by import (its statements are posted under it)"
            }
        message = shop_id_conflict(wanted, shop_id=instance.pk)
        return {"tiktok_shop_id": message} if message else {}

    def after_save_instance(self, instance, row, **kwargs):
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if wanted:
            # Credentials are entered in the admin later; until then the shop cannot sync.
            ShopConnection.objects.update_or_create(shop=instance, defaults={"external_shop_id": wanted})

    class Meta:
        model = Shop
        fields = SHOP_COLUMNS + SHOP_OPTIONAL_COLUMNS
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True


# --- order maps (DESIGN.md 4.5): codes checked against the organisation's cached Items / TaxRates --


MAX_ITEM_CODE = 30  # Xero's limit on an item code (planning/order_maps.py checks it again)
MAX_ACCOUNT_CODE = 10  # Xero's limit on an account code (models/shops.py account_code)
MAX_TAX_TYPE = 50  # the longest TaxType Xero accepts (ComponentMapping.tax_type's max_length)


def validate_item_code(value: str) -> None:
    if len(value) > MAX_ITEM_CODE:
        raise ValidationError(
            f"Xero item codes are at most {MAX_ITEM_CODE} characters; '{value}' has {len(value)}"
        )


def has_read(org: OrgSettings, cached: str) -> bool:
    """Whether the organisation's `cached` settings have been read from Xero. Items are None until
    read; an organisation always has accounts, so none cached means they were never read."""
    value = getattr(org, cached)
    return value is not None and (cached != "accounts" or bool(value))


def account_problem(org: OrgSettings, code: str, label: str, from_number: bool = False) -> str | None:
    account = org.accounts.get(code)
    padded = sorted(c for c in org.accounts if c != code and c.lstrip("0") == code) if from_number else []
    if account is None and padded:
        return (
            f"'{code}' is a number cell, which dropped the leading zeros of account {padded[0]} of "
            f"{label}: format the column as Text and type the code again"
        )
    if account is None:
        return f"{label} has no account {code}; add it to the chart of accounts in Xero or fix this row"
    if account.status != "ACTIVE":
        return f"account {code} of {label} is {account.status}, not ACTIVE"
    return None


def tax_type_problem(org: OrgSettings, tax_type: str, label: str) -> str | None:
    rate = org.tax_rates.get(tax_type)
    if rate is None:
        return f"{label} has no tax rate {tax_type}"
    if rate.status != "ACTIVE":
        return f"tax rate {tax_type} of {label} is {rate.status}, not ACTIVE"
    return None


@dataclass(frozen=True)
class Organisations:
    """Where a map row's Xero codes are checked."""

    named: list[tuple[str, OrgSettings | None]]  # (e.g. "Xero organisation Demo (shop tt-uk)", cached)
    unconnected: list[str]  # codes of shops the row applies to that have no Xero organisation


class OrderMapResource(SpreadsheetResource):
    """A map orders are invoiced with. A row with a shop is checked against that shop's Xero
    organisation; a channel-wide row against the organisation of every shop of its channel, since
    it applies to all of them. What a shop's organisation has not cached yet is accepted with a
    warning that says it was not checked (the planner checks it again before anything is sent)."""

    channel = fields.Field("channel", "channel", ChoiceWidget(Channel.choices))
    shop = fields.Field("shop", "shop", ShopCodeWidget())

    def before_import(self, dataset, **kwargs):
        self._organisations: dict[tuple, Organisations] = {}
        super().before_import(dataset, **kwargs)

    def shops_of(self, instance):
        """The shops a row applies to: its own, or every shop of its channel."""
        if instance.shop is not None:
            return [instance.shop]
        return Shop.objects.filter(channel=instance.channel).select_related("xero_connection")

    def organisations(self, instance) -> Organisations:
        """The organisations the row posts into, each named with its shops, and its shops that have
        no organisation yet (once per scope: a sheet repeats the same few scopes)."""
        key = (instance.channel, instance.shop_id, getattr(instance, "region", ""))
        if key not in self._organisations:
            found: dict[int, tuple[XeroConnection, list[str]]] = {}
            unconnected = []
            for shop in self.shops_of(instance):
                if shop.xero_connection is None:
                    unconnected.append(shop.code)
                else:
                    found.setdefault(shop.xero_connection.pk, (shop.xero_connection, []))[1].append(shop.code)
            named = [
                (
                    f"Xero organisation {conn.organisation_name or conn.name} "
                    f"(shop{'s' if len(codes) > 1 else ''} {', '.join(sorted(codes))})",
                    org_settings(conn),
                )
                for conn, codes in found.values()
            ]
            self._organisations[key] = Organisations(named, sorted(unconnected))
        return self._organisations[key]

    # Whether a row that could not be checked (no organisation, nothing cached) says so in a warning.
    warn_unchecked = True

    def xero_errors(self, instance, column: str, cached: str, problem) -> dict[str, str]:
        """`problem(org, label)` -> a message or None, for each organisation that has read `cached`
        ("items" or "tax_rates") from Xero; the others are named in a warning."""
        messages, unchecked = [], []
        organisations = self.organisations(instance)
        for label, org in organisations.named:
            if org is None or not has_read(org, cached):
                unchecked.append(f"{label} has not read its {cached.replace('_', ' ')} from Xero yet")
            elif message := problem(org, label):
                messages.append(message)
        if organisations.unconnected:
            codes = organisations.unconnected
            unchecked.append(
                f"shop{'s' if len(codes) > 1 else ''} {', '.join(codes)} "
                f"{'have' if len(codes) > 1 else 'has'} no Xero organisation"
            )
        elif not organisations.named:
            region = f" in {instance.region}" if getattr(instance, "region", "") else ""
            unchecked.append(f"no {instance.channel} shop{region} yet")
        if unchecked and self.warn_unchecked:
            self.warnings.append(
                f"row {self.sheet_row}: {column}: not checked against Xero: {'; '.join(unchecked)}"
            )
        return {column: "; ".join(messages)} if messages else {}

    def item_errors(self, instance) -> dict[str, str]:
        code = instance.item_code
        if not code or len(code) > MAX_ITEM_CODE:
            return {}

        def missing(org: OrgSettings, label: str) -> str | None:
            return (
                None
                if code in org.items
                else f"{label} has no item {code}; create it in Xero or fix this row"
            )

        return self.xero_errors(instance, "item_code", "items", missing)

    def row_errors(self, instance) -> dict[str, str]:
        message = shop_channel_error(instance.channel, instance.shop)
        if message:
            return {"shop": message}  # the shop's organisation is not this row's to check against
        return self.order_map_errors(instance)

    def order_map_errors(self, instance) -> dict[str, str]:
        return {}


COMPONENT_COLUMNS = ("channel", "shop", "component", "account_code", "tax_type", "description")
# Not in the published sheet layout, but exported, so an exported sheet imports back unchanged.
COMPONENT_OPTIONAL_COLUMNS = ("tracking_category", "tracking_option")


class ComponentMappingResource(OrderMapResource):
    """A statement component's account (DESIGN.md 4.2), checked against the organisation of every
    shop the row applies to, as the order maps are."""

    required_columns = COMPONENT_COLUMNS
    optional_columns = COMPONENT_OPTIONAL_COLUMNS
    code_columns = ("account_code", "tax_type")
    account_columns = ("account_code",)
    example_rows = (
        ("tiktok", "demo-us", "fee.transaction_fee_amount", "6100", "", "Marketplace fees", "", ""),
        ("tiktok", "demo-us", "fee.affiliate_commission_amount", "6110", "", "Affiliate commission", "", ""),
    )
    # Statement journals check every account again before posting (planning/checks.py), and a
    # components sheet is typically loaded before any shop is connected: no warning per row.
    warn_unchecked = False

    component = fields.Field("component", "component", ValidatedWidget(component_name))

    class Meta:
        model = ComponentMapping
        fields = COMPONENT_COLUMNS + COMPONENT_OPTIONAL_COLUMNS
        import_id_fields = ("channel", "shop", "component")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True
        use_bulk = True  # no per-row hooks after saving: rows are written in batches
        batch_size = 1000

    account_code = fields.Field("account_code", "account_code", CodeWidget())
    tax_type = fields.Field("tax_type", "tax_type", CodeWidget())

    def order_map_errors(self, instance) -> dict[str, str]:
        errors = {}
        code, tax_type = instance.account_code, instance.tax_type
        number = "account_code" in self.number_cells
        if code and len(code) <= MAX_ACCOUNT_CODE:
            errors |= self.xero_errors(
                instance,
                "account_code",
                "accounts",
                lambda org, label: account_problem(org, code, label, number),
            )
        if tax_type and len(tax_type) <= MAX_TAX_TYPE:
            errors |= self.xero_errors(
                instance, "tax_type", "tax_rates", lambda org, label: tax_type_problem(org, tax_type, label)
            )
        return errors

    def after_import_row(self, row, row_result, **kwargs):
        warning = component_warning(row.get("channel", "").lower(), row.get("component", ""))
        if warning:
            self.warnings.append(f"row {kwargs['row_number'] + 1}: component: {warning}")


class SkuMappingResource(OrderMapResource):
    required_columns = ("channel", "shop", "external_sku", "item_code", "description")
    code_columns = ("external_sku", "item_code")
    example_rows = (
        ("tiktok", "demo-us-orders", "EXAMPLE-MUG", "MUG-CER", "Ceramic mug (example row)"),
        ("tiktok", "demo-us-orders", "1729382256910270001", "COAST-OAK", "Oak coasters by TikTok sku_id"),
    )

    external_sku = fields.Field("channel_sku", "external_sku", CodeWidget())
    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))

    class Meta:
        model = SkuMapping
        fields = ("channel", "shop", "external_sku", "item_code", "description")
        export_order = fields
        import_id_fields = ("channel", "shop", "external_sku")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True
        use_bulk = True  # no per-row hooks after saving: rows are written in batches
        batch_size = 1000

    def order_map_errors(self, instance) -> dict[str, str]:
        return self.item_errors(instance)


class BundleComponentResource(OrderMapResource):
    """One row per component; the rows of one (channel, shop, bundle_sku) are the bundle. A shop's
    rows replace the channel-wide bundle of that SKU whole (models/mappings.py BundleComponent)."""

    required_columns = ("channel", "shop", "bundle_sku", "item_code", "quantity", "price_weight")
    code_columns = ("bundle_sku", "item_code")
    example_rows = (
        ("tiktok", "demo-us-orders", "EXAMPLE-GIFT", "MUG-CER", "2", "9.99"),
        ("tiktok", "demo-us-orders", "EXAMPLE-GIFT", "COAST-OAK", "1", "12.5"),
    )

    bundle_sku = fields.Field("bundle_sku", "bundle_sku", CodeWidget())
    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))
    quantity = fields.Field("quantity", "quantity", WholeNumberWidget())
    price_weight = fields.Field("price_weight", "price_weight", WeightWidget())

    class Meta:
        model = BundleComponent
        fields = ("channel", "shop", "bundle_sku", "item_code", "quantity", "price_weight")
        export_order = fields
        import_id_fields = ("channel", "shop", "bundle_sku", "item_code")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # The last sheet row of each bundle, where a bundle whose weights are all 0 is reported.
        self._last_row: dict[tuple[str, str, str], int] = {}
        for number, row in enumerate(dataset.dict, start=2):
            self._last_row[self._bundle(row)] = number

    @staticmethod
    def _bundle(row) -> tuple[str, str, str]:
        return (row.get("channel", "").lower(), row.get("shop", ""), row.get("bundle_sku", ""))

    def order_map_errors(self, instance) -> dict[str, str]:
        errors = self.item_errors(instance)
        key = (instance.channel, instance.shop.code if instance.shop else "", instance.bundle_sku)
        if self._last_row.get(key) == self.sheet_row and not self._weighs_something(instance):
            errors["price_weight"] = (
                f"bundle {instance.bundle_sku}: its weights are all 0, so its price cannot be split; "
                "give at least one component a weight above 0"
            )
        return errors

    def _weighs_something(self, instance) -> bool:
        """Whether the bundle as it stands after this file (its rows here and earlier in the file,
        already saved in this transaction, and stored rows the file leaves alone) has a weight."""
        stored = BundleComponent.objects.filter(
            channel=instance.channel, shop=instance.shop, bundle_sku=instance.bundle_sku
        ).exclude(item_code=instance.item_code)
        weights = [row.price_weight * row.quantity for row in stored]
        weights.append((instance.price_weight or 0) * (instance.quantity or 0))
        return sum(weights) > 0


class TaxRateMappingResource(OrderMapResource):
    required_columns = ("channel", "shop", "region", "source_tax", "direction", "tax_type")
    code_columns = ("tax_type",)
    example_rows = (
        ("tiktok", "demo-us-orders", "US", "*", "sales", "TAX001"),
        ("tiktok", "demo-us-orders", "US", "*", "fees", "INPUT"),
    )

    region = fields.Field("region", "region", ValidatedWidget(transform=str.upper))
    direction = fields.Field("usage", "direction", ChoiceWidget(TaxRateMapping.Usage.choices))
    tax_type = fields.Field("tax_type", "tax_type", CodeWidget())

    class Meta:
        model = TaxRateMapping
        fields = ("channel", "shop", "region", "source_tax", "direction", "tax_type")
        export_order = fields
        import_id_fields = ("channel", "shop", "region", "source_tax", "direction")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True
        use_bulk = True  # no per-row hooks after saving: rows are written in batches
        batch_size = 1000

    def shops_of(self, instance):
        # The planner looks a tax rate up under the shop's region: a channel-wide GB row is only
        # ever used by GB shops, so only their organisations need to have its tax type.
        if instance.shop is not None:
            return [instance.shop]
        return super().shops_of(instance).filter(region=instance.region)

    def order_map_errors(self, instance) -> dict[str, str]:
        if instance.shop is not None and instance.region and instance.shop.region != instance.region:
            self.warnings.append(
                f"row {self.sheet_row}: region: shop {instance.shop.code} is in {instance.shop.region}, "
                f"so this {instance.region} row never matches its orders"
            )
        tax_type, usage = instance.tax_type, instance.usage
        if not tax_type or usage not in SIDE_CLASS:
            return {}
        account_class = SIDE_CLASS[usage]

        def unusable(org: OrgSettings, label: str) -> str | None:
            rate = org.tax_rates.get(tax_type)
            if rate is None:
                return f"{label} has no tax rate {tax_type}"
            if rate.status != "ACTIVE":
                return f"tax rate {tax_type} of {label} is {rate.status}, not ACTIVE"
            if rate.can_apply_to and CLASS_FLAG.get(account_class) not in rate.can_apply_to:
                return f"tax rate {tax_type} of {label} cannot be used on {account_class.lower()} lines ({usage})"
            return None

        return self.xero_errors(instance, "tax_type", "tax_rates", unusable)


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


class UnitOfMeasureResource(SpreadsheetResource):
    """How many of a Xero item's stock unit one channel unit is. Not scoped to a shop: the item code
    is checked against every organisation that has read its Items, and must be in at least one."""

    required_columns = ("item_code", "from_unit", "to_unit", "factor")
    code_columns = ("item_code",)
    example_rows = (("MUG-CER", "case", "each", "12"), ("COAST-OAK", "pack", "set", "4"))

    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))
    from_unit = fields.Field("from_unit", "from_unit", ValidatedWidget())
    to_unit = fields.Field("to_unit", "to_unit", ValidatedWidget())
    factor = fields.Field("factor", "factor", FactorWidget())

    class Meta:
        model = UnitOfMeasureConversion
        fields = ("item_code", "from_unit", "to_unit", "factor")
        export_order = fields
        import_id_fields = ("item_code", "from_unit", "to_unit")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True  # the preview lists rows (sheets/report.py), not django-import-export's diff
        use_transactions = True
        use_bulk = True
        batch_size = 1000

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self._items: list[tuple[str, frozenset[str]]] = [
            (conn.organisation_name or conn.name, org.items)
            for conn in XeroConnection.objects.all()
            if (org := org_settings(conn)) is not None and org.items is not None
        ]

    def row_errors(self, instance) -> dict[str, str]:
        code = instance.item_code
        if not code or len(code) > MAX_ITEM_CODE:
            return {}
        if not self._items:
            self.warnings.append(
                f"row {self.sheet_row}: item_code: not checked against Xero: "
                "no Xero organisation has read its items yet"
            )
            return {}
        if any(code in items for _name, items in self._items):
            return {}
        names = ", ".join(name for name, _items in self._items)
        return {
            "item_code": f"no Xero organisation ({names}) has item {code}; create it in Xero or fix this row"
        }


# kind -> resource
RESOURCES: dict[str, type[SpreadsheetResource]] = {
    "shops": ShopResource,
    "components": ComponentMappingResource,
    "skus": SkuMappingResource,
    "bundles": BundleComponentResource,
    "tax_rates": TaxRateMappingResource,
    "uoms": UnitOfMeasureResource,
}
