"""What a sheet import found, row by row: the one report the admin's preview page and
`manage.py import_mappings` both show (so both say the same thing about the same file)."""

from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from import_export.results import Result, RowResult

# How a row that would be saved is described: "changed", not "update"; "unchanged", not "Skipped".
STATUS = {
    RowResult.IMPORT_TYPE_NEW: "new",
    RowResult.IMPORT_TYPE_UPDATE: "changed",
    RowResult.IMPORT_TYPE_SKIP: "unchanged",
}


class ColumnsError(ValueError):
    """The header row does not fit the sheet: nothing in the file is imported."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet shows it: the header is row 1
    status: str  # new / changed / unchanged
    name: str  # the row's map entry, e.g. "tiktok: 1234567890 -> WIDGET-01"
    changes: str = ""  # for a changed row: "account_code: '4000' -> '4001'"


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows: list[SheetRow] = field(default_factory=list)

    @property
    def saved(self) -> bool:
        return not self.errors and not self.dry_run

    def summary(self) -> str:
        line = f"{self.kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return f"{line} (dry run, nothing saved)" if self.dry_run else line


def report_fill(report: ImportReport, result: Result, warnings: list[str]) -> ImportReport:
    """`report` with the result's errors (one line per row and column, in row order), counts and rows."""
    columns = [e.error for e in result.base_errors if isinstance(e.error, ColumnsError)]
    if columns:
        # The rest (e.g. django-import-export's own "key column missing") only repeats the problem.
        report.errors += [problem for error in columns for problem in error.problems]
        return report
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
    report.rows = [
        SheetRow(row.sheet_row, STATUS[row.import_type], row.object_repr or "", getattr(row, "changes", ""))
        for row in result.rows
        if row.import_type in STATUS and not getattr(row, "blank", False) and hasattr(row, "sheet_row")
    ]
    report.unchanged = sum(1 for row in report.rows if row.status == "unchanged")
    report.warnings += warnings
    return report


def _row_messages(number: int, error: ValidationError) -> list[str]:
    """`row 3: account_code: Xero account codes are 1-10 characters`, one line per column."""
    if not hasattr(error, "error_dict"):
        return [f"row {number}: {'; '.join(error.messages)}"]
    lines = []
    for column, messages in error.message_dict.items():
        where = "" if column == NON_FIELD_ERRORS else f"{column}: "
        lines.append(f"row {number}: {where}{'; '.join(messages)}")
    return lines
