"""Plan a TikTok statement file and print what would be sent to Xero. Posts nothing."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connectors.xero.client import dumps
from reconciliation.models import Shop
from reconciliation.planning.types import Plan
from reconciliation.services.statements import statement_preview

EXIT_HELD = 2


class Command(BaseCommand):
    help = (
        "Preview the Xero documents for a TikTok statement: FILE is the JSON of "
        "GET /finance/202501/statements/{id}/statement_transactions (the envelope or its data, or a list of pages). "
        "Exit 0 when it would post, 2 when it would be held."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["tiktok-statement"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--shop", required=True, help="shop code")

    def handle(self, *args, what: str, file: Path, shop: str, **options):
        shop_row = Shop.objects.select_related("xero_connection").filter(code=shop).first()
        if shop_row is None:
            raise CommandError(f"no shop with code {shop!r}")
        plan = statement_preview(pages=_read_pages(file), shop=shop_row)
        self.stdout.write(dumps(_as_output(plan)))
        if plan.skipped_checks:
            self.stderr.write(
                "No Xero organisation settings are cached for this shop, so these checks were not run: "
                + ", ".join(plan.skipped_checks)
            )
        if plan.held:
            raise SystemExit(EXIT_HELD)


def _read_pages(file: Path) -> list[dict]:
    try:
        content = json.loads(file.read_bytes().decode("utf-8"))
    except FileNotFoundError as exc:
        raise CommandError(f"{file}: no such file") from exc
    except IsADirectoryError as exc:
        raise CommandError(f"{file}: is a folder, not a file") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); TikTok sends UTF-8 JSON"
        ) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CommandError(f"{file}: not JSON ({exc})") from exc
    pages = content if isinstance(content, list) else [content]
    if not all(isinstance(p, dict) for p in pages):
        raise CommandError(f"{file}: expected a statement_transactions response, its data, or a list of them")
    for page in pages:
        if "code" in page and page["code"] != 0:
            raise CommandError(f"{file}: TikTok answered code {page['code']}: {page.get('message', '')}")
    return pages


def _as_output(plan: Plan) -> dict:
    return {
        "documents": [{"type": _singular(d.kind), "payload": d.payload} for d in plan.documents],
        "problems": [
            {"code": p.code, "message": p.message}
            | ({"proposed_date": p.proposed_date.isoformat()} if p.proposed_date else {})
            for p in plan.problems
        ],
        "checks_not_run": list(plan.skipped_checks),
        # e.g. SOURCE_TAX: the VAT TikTok states on a line and what Xero's rate would give instead
        "information": [
            {"code": i.code, "message": i.message, "details": i.details} for i in plan.information
        ],
    }


def _singular(collection: str) -> str:
    return {"ManualJournals": "ManualJournal", "BankTransactions": "BankTransaction"}.get(
        collection, collection
    )
