"""Import operator maps from a spreadsheet, all or nothing (what `manage.py import_mappings` runs)."""

import zipfile
from pathlib import Path

import tablib
from django.db import transaction
from openpyxl.utils.exceptions import InvalidFileException

from reconciliation.resources import RESOURCES, SPREADSHEET_FORMATS
from reconciliation.sheets.report import ImportReport as ImportReport  # re-exported
from reconciliation.sheets.report import report_fill


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
        report_fill(report, result, resource.warnings)
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
