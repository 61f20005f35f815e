"""Plan a TikTok statement file, or one order and its statement transactions, and print what would
be sent to Xero. Posts nothing."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connectors.xero.client import dumps
from reconciliation.domain.tiktok_orders import orders_in
from reconciliation.models import Shop
from reconciliation.planning.types import Plan
from reconciliation.services.order_preview import order_preview
from reconciliation.services.statements import statement_preview

EXIT_HELD = 2


class Command(BaseCommand):
    help = (
        "Preview the Xero documents for a TikTok statement: FILE is the JSON of "
        "GET /finance/202501/statements/{id}/statement_transactions (the envelope or its data, or a list of pages). "
        "tiktok-order: FILE is the JSON of GET /order/202309/orders (the envelope, its data, or one order), "
        "--statement the JSON of GET /finance/202501/orders/{order_id}/statement_transactions; it prints the "
        "order's invoice and what that statement settles (posting mode order invoices, not yet built). "
        "Exit 0 when it would post, 2 when it would be held, 1 when a file cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["tiktok-statement", "tiktok-order"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--shop", required=True, help="shop code")
        parser.add_argument(
            "--statement", type=Path, help="tiktok-order: the order's statement transactions (JSON)"
        )

    def handle(self, *args, what: str, file: Path, shop: str, statement: Path | None = None, **options):
        shop_row = Shop.objects.select_related("xero_connection").filter(code=shop).first()
        if shop_row is None:
            raise CommandError(f"no shop with code {shop!r}")
        if what == "tiktok-order":
            if statement is None:
                raise CommandError("tiktok-order needs --statement TRANSACTIONS_FILE")
            settlement = _read_settlement(statement)
            order = _read_order(file, str(settlement.get("order_id") or ""))
            plan = order_preview(order=order, settlement=settlement, shop=shop_row)
        else:
            if statement is not None:
                raise CommandError("--statement is for tiktok-order only")
            plan = statement_preview(pages=_read_pages(file), shop=shop_row)
        self.stdout.write(dumps(_as_output(plan)))
        if plan.skipped_checks:
            self.stderr.write(
                "Not everything Xero knows is cached for this shop (organisation settings, Items), "
                "so these checks were not run: " + ", ".join(plan.skipped_checks)
            )
        if plan.held:
            raise SystemExit(EXIT_HELD)


def _read_pages(
    file: Path, what: str = "a statement_transactions response, its data, or a list of them"
) -> list[dict]:
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
        raise CommandError(f"{file}: expected {what}")
    for page in pages:
        if "code" in page and page["code"] != 0:
            raise CommandError(f"{file}: TikTok answered code {page['code']}: {page.get('message', '')}")
    return pages


def _read_order(file: Path, order_id: str) -> dict:
    """One order of a GET /order/202309/orders file: the only one, or the one the statement
    transactions are for."""
    what = "an orders response, its data, or one order"
    pages = _read_pages(file, what=what)
    if len(pages) != 1:
        raise CommandError(f"{file}: expected {what}, not a list")
    orders = orders_in(pages[0]) or ([pages[0]] if "line_items" in pages[0] else [])
    if not orders:
        raise CommandError(f"{file}: no order in it (expected data.orders[] or an order with line_items)")
    if not all(isinstance(o, dict) for o in orders):
        raise CommandError(f"{file}: its orders are not all JSON objects")
    if len(orders) == 1:
        return orders[0]
    chosen = [o for o in orders if order_id and str(o.get("id")) == order_id]
    if len(chosen) != 1:
        raise CommandError(
            f"{file}: holds {len(orders)} orders and none is order {order_id or '?'} of the statement transactions"
        )
    return chosen[0]


def _read_settlement(file: Path) -> dict:
    """The order's statement transactions; several pages are joined (their sku_transactions)."""
    pages = _read_pages(file, what="an order statement_transactions response, its data, or a list of pages")
    datas = [p.get("data", p) for p in pages]
    if not datas or not all(
        isinstance(d, dict) and isinstance(d.get("sku_transactions", []), list) for d in datas
    ):
        raise CommandError(
            f"{file}: expected data.sku_transactions[] (GET /finance/202501/orders/{{id}}/statement_transactions)"
        )
    return datas[0] | {"sku_transactions": [row for d in datas for row in d.get("sku_transactions") or []]}


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


SINGULAR = {
    "ManualJournals": "ManualJournal",
    "BankTransactions": "BankTransaction",
    "Invoices": "Invoice",
    "CreditNotes": "CreditNote",
    "Payments": "Payment",
    "Allocations": "Allocation",
}


def _singular(collection: str) -> str:
    return SINGULAR.get(collection, collection)
