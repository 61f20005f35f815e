"""The base of every map sheet (SpreadsheetResource: columns, keys, cell problems, stored rows)
and of the maps checked against a Xero organisation's cached settings (OrderMapResource)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from import_export import fields, resources
from import_export.results import RowResult

from reconciliation.models import (
    Shop,
)
from reconciliation.models.shops import Channel
from reconciliation.models.xero import XeroConnection
from reconciliation.planning.types import OrgSettings
from reconciliation.selectors import org_settings
from reconciliation.sheets.cells import (
    ChoiceWidget,
    ShopCodeWidget,
    SpreadsheetResult,
    _code_cell,
    _header,
    _is_blank,
    _text_cell,
    _values,
)
from reconciliation.sheets.report import ColumnsError
from reconciliation.sheets.rules import (
    shop_channel_error,
)


class SpreadsheetResource(resources.ModelResource):
    """Base for every mapping sheet. Subclasses list their columns; the first ones are required."""

    class Meta:
        # Every sheet's (django-import-export reads a resource's Meta options from its parents):
        # unchanged rows are counted, not rewritten; each row passes the model's validation; the
        # preview lists rows (sheets/report.py), not django-import-export's diff; a sheet imports
        # whole or not at all; with use_bulk (maps needing no per-row hook after saving) rows are
        # written 1,000 at a time.
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        skip_diff = True
        use_transactions = True
        batch_size = 1000

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
        self.number_cells: set[str] = set()  # the row's columns whose cells were typed as numbers

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

    def start_checks(self) -> None:
        """Read what the row checks need once per import (or per form): subclasses add theirs."""
        self.warnings = []

    def before_import(self, dataset, **kwargs):
        """Normalise headers and cells in place; refuse the file if its columns are wrong."""
        self.start_checks()
        self._first_row_of_key = {}
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

    def form_errors(self, instance) -> dict[str, str]:
        """The same checks for one row typed into the admin's add or change form (admin/maps.py),
        with the same messages, by model field. What could not be checked (the warnings) is the
        sheet's to report, not the form's."""
        self.start_checks()
        self.sheet_row, self.number_cells = 0, set()
        return self.row_errors(instance)

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

    def start_checks(self) -> None:
        super().start_checks()
        self._organisations: dict[tuple, Organisations] = {}

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
