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
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import available_timezones

import tablib
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from reconciliation.domain import tiktok_normalise
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import ComponentMapping, Shop, ShopConnection
from reconciliation.models.shops import Channel, shop_id_conflict

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


SPREADSHEET_FORMATS = {".csv": SpreadsheetCSV, ".xlsx": base_formats.XLSX}


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


class ShopCodeWidget(widgets.ForeignKeyWidget):
    """A shop by its code; blank means none (a channel-wide row)."""

    def __init__(self, **kwargs):
        super().__init__(Shop, field="code", **kwargs)

    def clean(self, value, row=None, **kwargs):
        if not value:
            return None
        try:
            return super().clean(value, row, **kwargs)
        except Shop.DoesNotExist:
            raise ValueError(f"no shop with code '{value}'") from None


# --- results numbered like the spreadsheet --------------------------------------------------------


class SpreadsheetResult(Result):
    """Row numbers as the sheet shows them: the header is row 1, the first data row is row 2."""

    def append_invalid_row(self, number, row, validation_error):
        super().append_invalid_row(number + 1, row, validation_error)

    def append_error_row(self, number, row, errors):
        super().append_error_row(number + 1, row, errors)

    def row_errors(self):
        return [(number + 1, errors) for number, errors in super().row_errors()]


class ColumnsError(ValueError):
    """The header row does not fit the sheet: nothing in the file is imported."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _cell(value) -> str:
    """Every cell as trimmed text: spreadsheets hand back numbers (4000, 4000.0), dates and None."""
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


def _header(value) -> str:
    return re.sub(r"[\s-]+", "_", _cell(value).lower())


def _is_blank(values) -> bool:
    return all(value in (None, "") for value in values)


class SpreadsheetResource(resources.ModelResource):
    """Base for every mapping sheet. Subclasses list their columns; the first ones are required."""

    required_columns: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.warnings: list[str] = []
        self._first_row_of_key: dict[tuple, int] = {}

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
        headers = [_header(h) for h in (dataset.headers or [])]
        rows = [[_cell(v) for v in row] for row in dataset]
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
        return super().import_row(row, instance_loader, **kwargs)

    def before_import_row(self, row, **kwargs):
        # Two rows for one key would silently overwrite each other inside the same import.
        sheet_row = kwargs["row_number"] + 1
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
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None

    def row_errors(self, instance) -> dict[str, str]:
        """Checks across columns that the model itself does not make; subclasses add theirs."""
        return {}

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        for field, message in self.row_errors(instance).items():
            errors.setdefault(field, ValidationError(message))
        super().validate_instance(instance, errors, validate_unique)


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
        if wanted and original.pk is not None and wanted != self.dehydrate_tiktok_shop_id(original):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def row_errors(self, instance) -> dict[str, str]:
        errors = self._tiktok_shop_id_errors(instance)
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
        use_transactions = True


COMPONENT_COLUMNS = ("channel", "shop", "component", "account_code", "tax_type", "description")
# Not in the published sheet layout, but exported, so an exported sheet imports back unchanged.
COMPONENT_OPTIONAL_COLUMNS = ("tracking_category", "tracking_option")


class ComponentMappingResource(SpreadsheetResource):
    required_columns = COMPONENT_COLUMNS
    optional_columns = COMPONENT_OPTIONAL_COLUMNS

    channel = fields.Field("channel", "channel", ChoiceWidget(Channel.choices))
    shop = fields.Field("shop", "shop", ShopCodeWidget())
    component = fields.Field("component", "component", ValidatedWidget(component_name))

    class Meta:
        model = ComponentMapping
        fields = COMPONENT_COLUMNS + COMPONENT_OPTIONAL_COLUMNS
        import_id_fields = ("channel", "shop", "component")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def row_errors(self, instance) -> dict[str, str]:
        message = shop_channel_error(instance.channel, instance.shop)
        return {"shop": message} if message else {}

    def after_import_row(self, row, row_result, **kwargs):
        warning = component_warning(row.get("channel", "").lower(), row.get("component", ""))
        if warning:
            self.warnings.append(f"row {kwargs['row_number'] + 1}: component: {warning}")


# kind -> resource; later: skus, bundles, tax_rates, uoms.
RESOURCES: dict[str, type[SpreadsheetResource]] = {
    "shops": ShopResource,
    "components": ComponentMappingResource,
}
