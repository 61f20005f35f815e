"""`make bench`: planning speed and memory, Xero calls per statement in a whole sync, and the
time and SQL queries of syncing and posting one statement of N orders (order-invoice mode).

Numbers, not assertions: tests never time things (README, "How we work").
"""

import time
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection
from django_q.conf import Conf

from connectors.tiktok.sandbox_data import demo_statements, statement_page_data
from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.planning.statement_journal import plan_statement_journal
from reconciliation.planning.types import ComponentRule, ShopSettings
from reconciliation.sheets.bench import sheets_bench

SHOP = ShopSettings("bench", "Bench", "US", "USD", "NoTax", "1210", "090")


class Command(BaseCommand):
    help = "Benchmarks: pure planning (time, memory) and a sandbox sync (Xero calls per statement)."

    def add_arguments(self, parser):
        parser.add_argument("--big", type=int, default=20000, help="transactions in the one big statement")
        parser.add_argument("--sync-days", type=int, default=20)
        parser.add_argument("--orders", type=int, default=1000, help="orders in the one order-mode statement")
        parser.add_argument("--only-orders", action="store_true", help="run the orders benchmark alone")
        parser.add_argument("--sheet-rows", type=int, default=50000, help="rows in the SKU sheet imported")
        parser.add_argument("--only-sheets", action="store_true", help="run the sheet import benchmark alone")
        parser.add_argument(
            "--postings", type=int, default=100000, help="postings in the outbox for the dashboard"
        )
        parser.add_argument(
            "--only-dashboard", action="store_true", help="run the dashboard benchmark alone (empty database)"
        )

    def handle(self, *args, big: int, sync_days: int, orders: int, only_orders: bool, **options):
        if options["only_sheets"]:
            sheets_bench(options["sheet_rows"], self.stdout.write)
            return
        if options["only_dashboard"]:
            from reconciliation.demo.dashboard_bench import dashboard_bench

            dashboard_bench(options["postings"], self.stdout.write)
            return
        if not only_orders:
            self._planning(days=365)
            self._big_statement(big)
            self._sync(sync_days)
        if orders:
            self._orders(orders)

    def _planning(self, days: int) -> None:
        pages = [
            _page(s, t)
            for s, t, _ in demo_statements(
                region="US", currency="USD", start=date(2026, 1, 1), days=days, seed=3
            )
        ]
        rules = _rules(pages)
        started = time.perf_counter()
        for page in pages:
            facts, _ = statement_facts([page])
            plan_statement_journal(facts, shop=SHOP, rules=rules, org=None)
        elapsed = time.perf_counter() - started
        txns = sum(len(p["transactions"]) for p in pages)
        self.stdout.write(
            f"plan {days} daily statements ({txns} transactions): {elapsed * 1000:.0f} ms, "
            f"{elapsed / days * 1000:.2f} ms per statement"
        )

    def _big_statement(self, size: int) -> None:
        statements = demo_statements(region="US", currency="USD", start=date(2026, 1, 1), days=60, seed=5)
        template = [t for _, txns, _ in statements for t in txns]
        transactions = [dict(template[i % len(template)], id=str(10**12 + i)) for i in range(size)]
        total = sum((Decimal(t["settlement_amount"]) for t in transactions), Decimal("0"))
        page = {
            "id": "big",
            "create_time": 1767225600,
            "currency": "USD",
            "total_settlement_amount": str(total),
            "total_count": size,
            "transactions": transactions,
        }
        rules = _rules([page])
        started = time.perf_counter()
        facts, problems = statement_facts([page])
        plan = plan_statement_journal(facts, shop=SHOP, rules=rules, org=None)
        elapsed = time.perf_counter() - started
        # Memory in a second run: tracemalloc slows allocation several times over.
        tracemalloc.start()
        facts, _ = statement_facts([page])
        plan_statement_journal(facts, shop=SHOP, rules=rules, org=None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        lines = len(plan.documents[0].payload["JournalLines"]) if plan.documents else 0
        self.stdout.write(
            f"plan one statement of {size} transactions: {elapsed * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB "
            f"traced, {lines} journal lines, problems: {len(problems) + len(plan.problems)}"
        )

    def _sync(self, days: int) -> None:
        from reconciliation.demo.scenario import demo_build, demo_run

        Conf.SYNC = True
        today = datetime.now(UTC).date()
        demo = demo_build(days=days, today=today, orders=False)  # statements only: per-statement figures
        started = time.perf_counter()
        demo_run(demo, faults=False)
        elapsed = time.perf_counter() - started
        xero_calls = sum(1 for r in demo.xero.requests if "/api.xro/" in str(r[1]))
        self.stdout.write(
            f"sync {days} statements + payouts through both sandboxes: {elapsed:.1f} s, "
            f"{xero_calls} Xero API calls ({xero_calls / days:.2f} per statement, "
            f"{len(demo.tiktok.requests)} TikTok calls)"
        )

    def _orders(self, count: int) -> None:
        """The world of tests/reconciliation/test_order_end_to_end.py (`count` copies of the worked
        order, one statement settling them, its PAID payment), synced and sent as the test does."""
        from tests.reconciliation.test_order_end_to_end import order_world, sync_and_send

        Conf.SYNC = True
        shop, xero = order_world(count)
        queries = 0

        def counted(execute, sql, params, many, context):
            # counted here, not with CaptureQueriesContext: its log keeps the last 9,000 only
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(counted):
            sync_and_send(shop)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"sync and post one statement of {count} orders ({len(xero.invoices)} invoices, "
            f"{len(xero.payments)} payments in Xero): {elapsed:.1f} s, {queries} SQL queries "
            f"({queries / count:.1f} per order), {len(xero.requests)} Xero calls"
        )


def _page(statement: dict, transactions: list[dict]) -> dict:
    """A 202501 statement-transactions page `data`, as the TikTok sandbox serves it."""
    return {
        **statement_page_data(statement, transactions),
        "next_page_token": "",
        "transactions": transactions,
    }


def _rules(pages: list[dict]) -> dict[str, ComponentRule]:
    names = set()
    for page in pages:
        facts, _ = statement_facts([page])
        names |= {c.name for c in facts.components()}
    return {name: ComponentRule(str(4000 + i)) for i, name in enumerate(sorted(names))}
