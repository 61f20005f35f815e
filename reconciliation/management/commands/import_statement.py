"""`manage.py import_statement FILE --shop CODE [--dry-run]`: a TikTok Seller Center statement file.

- FILE is the statement / order settlement export (.csv or .xlsx) of a shop without API access;
  the header row is found (it need not be row 1). See the README, "Seller Center files".
- Without --dry-run: the rows of each statement are kept (immutable source records), the Statement
  rows upserted and planned exactly as API statements (postings or quarantine); stdout gets one
  line a statement and a summary line.
- With --dry-run: nothing is written; stdout gets the planned documents as JSON, as `preview` prints.
- Notes (columns or sheets not read) go to stderr as `note: ...`.
- Exit status: 0 when every statement would post, 2 when any is held, 1 when the file cannot be read
  (every error on stderr, naming its row).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reconciliation.management.commands.preview import EXIT_HELD, _as_output
from reconciliation.models import Shop
from reconciliation.services.seller_center import FileImport, PlannedStatement, seller_center_import
from reconciliation.tabular import UnreadableFile


class Command(BaseCommand):
    help = (
        "Import a TikTok Seller Center statement export (CSV or XLSX) for a shop and plan its statements "
        "like API statements. Exit 0 when all would post, 2 when any is held, 1 when the file is unreadable."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the .csv or .xlsx file Seller Center exported")
        parser.add_argument("--shop", required=True, help="shop code")
        parser.add_argument(
            "--dry-run", action="store_true", help="write nothing; print the planned journals as JSON"
        )

    def handle(self, *args, file: Path, shop: str, dry_run: bool, **options):
        shop_row = Shop.objects.select_related("xero_connection").filter(code=shop).first()
        if shop_row is None:
            raise CommandError(f"no shop with code {shop!r}", returncode=1)
        if shop_row.channel != "tiktok":
            raise CommandError(f"shop {shop!r} is not a TikTok shop", returncode=1)
        if not dry_run and shop_row.xero_connection_id is None:
            raise CommandError(
                f"shop {shop!r} has no Xero connection to plan for; connect it first (or use --dry-run)",
                returncode=1,
            )
        try:
            result = seller_center_import(shop=shop_row, path=file, dry_run=dry_run)
        except UnreadableFile as exc:
            raise CommandError(f"nothing imported: {exc}", returncode=1) from exc
        for note in result.notes:
            self.stderr.write(f"note: {note}")
        if dry_run:
            self.stdout.write(_dry_run_output(result))
        else:
            for statement in result.statements:
                self.stdout.write(_line(statement))
            self.stdout.write(_summary(result))
        if result.held:
            raise SystemExit(EXIT_HELD)


def _dry_run_output(result: FileImport) -> str:
    from connectors.xero.client import dumps

    return dumps(
        {
            "statements": [
                {
                    "statement_id": s.statement_id,
                    "statement_date": s.statement_date.isoformat() if s.statement_date else None,
                    "rows": s.rows,
                }
                | _as_output(s.plan)
                for s in result.statements
            ],
            "dry_run": True,
        }
    )


def _line(statement: PlannedStatement) -> str:
    head = (
        f"statement {statement.statement_id} of {statement.statement_date}: {statement.transactions} "
        f"transaction(s) from {statement.rows} row(s), settlement {statement.settlement_amount} {statement.currency}"
    )
    plan = statement.plan
    if plan.held:
        return f"{head}: HELD\n" + "\n".join(f"  {p.code}: {p.message}" for p in plan.problems)
    if not plan.documents:
        return f"{head}: already posted from this content, nothing to do"
    return f"{head}: planned ({len(plan.documents)} document(s) queued for Xero)"


def _summary(result: FileImport) -> str:
    held = sum(1 for s in result.statements if s.plan.held)
    return f"{len(result.statements)} statement(s): {len(result.statements) - held} planned, {held} held"
