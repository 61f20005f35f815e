"""Import operator maps from a spreadsheet, all or nothing (what `manage.py import_mappings` runs)."""

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from import_export.results import Result, RowResult
from openpyxl.utils.exceptions import InvalidFileException

from reconciliation.resources import RESOURCES, SPREADSHEET_FORMATS, ColumnsError, SpreadsheetResource


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return not self.errors and not self.dry_run

    def summary(self) -> str:
        line = f"{self.kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return f"{line} (dry run, nothing saved)" if self.dry_run else line


class UnreadableFile(Exception):
    pass


def mappings_import(*, kind: str, path: Path, dry_run: bool) -> ImportReport:
    """Validate every row of `path` as a `kind` sheet; save all of it, or (on any error) nothing.

    With `dry_run` the rows are validated and counted the same way, then rolled back.
    """
    resource_class = RESOURCES.get(kind)
    if resource_class is None:
        raise ValueError(f"unknown kind {kind!r}; known kinds: {', '.join(RESOURCES)}")
    report = ImportReport(kind=kind, dry_run=dry_run)
    try:
        dataset = dataset_read(Path(path))
    except UnreadableFile as exc:
        report.errors.append(str(exc))
        return report
    resource = resource_class()
    with transaction.atomic():
        result = resource.import_data(
            dataset, dry_run=dry_run, use_transactions=True, rollback_on_validation_errors=True
        )
        _fill(report, result, resource)
        if not report.saved:
            transaction.set_rollback(True)
    return report


def dataset_read(path: Path) -> tablib.Dataset:
    file_format = SPREADSHEET_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise UnreadableFile(f"{path.name}: use a .csv or .xlsx file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from exc
    try:
        return file_format(encoding="utf-8-sig").create_dataset(data)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path.name} is not UTF-8 text (save it as 'CSV UTF-8')") from exc
    except (zipfile.BadZipFile, InvalidFileException, StopIteration, KeyError) as exc:
        raise UnreadableFile(f"{path.name} is not a readable .xlsx workbook") from exc


def _fill(report: ImportReport, result: Result, resource: SpreadsheetResource) -> None:
    columns = [e.error for e in result.base_errors if isinstance(e.error, ColumnsError)]
    if columns:
        # The rest (e.g. django-import-export's own "key column missing") only repeats the problem.
        report.errors += [problem for error in columns for problem in error.problems]
        return
    report.errors += [str(error.error) for error in result.base_errors]
    by_row = [
        (invalid.number, _row_messages(invalid.number, invalid.error)) for invalid in result.invalid_rows
    ]
    by_row += [
        (row.number, [f"row {row.number}: {e.error}" for e in row.errors]) for row in result.error_rows
    ]
    for _number, messages in sorted(by_row, key=lambda pair: pair[0]):
        report.errors += messages
    report.created = result.totals[RowResult.IMPORT_TYPE_NEW]
    report.updated = result.totals[RowResult.IMPORT_TYPE_UPDATE]
    report.unchanged = sum(
        1 for row in result.rows if row.import_type == RowResult.IMPORT_TYPE_SKIP and not _blank(row)
    )
    report.warnings += resource.warnings


def _blank(row: RowResult) -> bool:
    return getattr(row, "blank", False)


def _row_messages(number: int, error: ValidationError) -> list[str]:
    """`row 3: account_code: Xero account codes are 1-10 characters`, one line per column."""
    if not hasattr(error, "error_dict"):
        return [f"row {number}: {'; '.join(error.messages)}"]
    lines = []
    for column, messages in error.message_dict.items():
        where = "" if column == NON_FIELD_ERRORS else f"{column}: "
        lines.append(f"row {number}: {where}{'; '.join(messages)}")
    return lines
