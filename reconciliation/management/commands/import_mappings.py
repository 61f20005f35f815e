"""`manage.py import_mappings --kind KIND FILE [--dry-run]`: a contract other scripts rely on.

- FILE is .csv or .xlsx; the header is row 1; all rows are saved, or none.
- Every error goes to stderr as `row N: column: message`; exit status 1 on any error, else 0.
- stdout gets one summary line: `shops: 2 created, 0 updated, 1 unchanged`
  (with `--dry-run`: the same counts, followed by `(dry run, nothing saved)`).
- With `--rows`, stdout first lists every row as the admin's preview does,
  `row N: new|changed|unchanged: <entry> (<what changes>)`, then the summary line (without it, one line only).
- Warnings (rows that are valid but can never match anything) go to stderr as `warning: ...` and
  do not change the exit status.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reconciliation.imports import mappings_import
from reconciliation.resources import RESOURCES


class Command(BaseCommand):
    help = "Import operator maps (shops, components, ...) from a CSV or XLSX file, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=list(RESOURCES), help="which map the file holds")
        parser.add_argument("file", type=Path, help="a .csv or .xlsx file; the header is row 1")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count what would change; save nothing"
        )
        parser.add_argument(
            "--rows", action="store_true", help="list each row as new, changed or unchanged (the preview)"
        )

    def handle(self, *args, kind: str, file: Path, dry_run: bool, rows: bool = False, **options):
        report = mappings_import(kind=kind, path=file, dry_run=dry_run)
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}", style_func=self.style.WARNING)
        for error in report.errors:
            self.stderr.write(error)
        if report.errors:
            count = len(report.errors)
            raise CommandError(
                f"{kind}: nothing saved ({count} error{'s' if count != 1 else ''})", returncode=1
            )
        if rows:
            for row in report.rows:
                changes = f" ({row.changes})" if row.changes else ""
                self.stdout.write(f"row {row.number}: {row.status}: {row.name}{changes}")
        self.stdout.write(report.summary())
