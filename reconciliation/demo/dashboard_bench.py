"""`manage.py bench --only-dashboard`: how long the dashboard (the admin's home) and the postings
list take to render over a large outbox. The demo scenario runs first (real shops, statements,
payouts, quarantine items), then its postings are copied until the outbox holds `count` rows, in
every state, so the per-state counts and the lists have real work to do. Timed here, never asserted
in a test (STYLE: speed is shown by benchmarks)."""

import time
from collections.abc import Callable

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reconciliation.dashboard import dashboard
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import XeroPosting

BATCH = 5000
STATES = [state for state, _ in XeroPosting.State.choices]


def outbox_fill(count: int) -> int:
    """Copy the demo's postings (new keys, states round-robin) until there are `count`; returns how
    many rows were added."""
    templates = list(XeroPosting.objects.all())
    have = len(templates)
    added = 0
    while have + added < count:
        size = min(BATCH, count - have - added)
        rows = []
        for n in range(size):
            template = templates[(added + n) % len(templates)]
            copy = XeroPosting(
                **{
                    field.attname: getattr(template, field.attname)
                    for field in XeroPosting._meta.concrete_fields
                    if field.attname not in ("id", "depends_on_id", "created_at", "updated_at")
                }
            )
            number = have + added + n
            copy.idempotency_key = f"bench:{number}"
            copy.plan_key = f"bench {number}" if template.plan_key else ""
            copy.lookup_reference = f"{template.lookup_reference} #{number}"
            copy.state = STATES[number % len(STATES)]
            rows.append(copy)
        with transaction.atomic():
            XeroPosting.objects.bulk_create(rows, batch_size=1000)
        added += size
    return added


def dashboard_bench(count: int, write: Callable[[str], None]) -> None:
    """Demo, then `count` postings; prints the time and queries of dashboard(), the admin home and
    the postings list as a superuser sees them."""
    demo = demo_build()
    demo_run(demo)
    started = time.perf_counter()
    added = outbox_fill(count)
    write(
        f"outbox filled to {XeroPosting.objects.count():,} postings (+{added:,}) in {time.perf_counter() - started:.1f} s"
    )

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        panels = dashboard()
    write(f"dashboard(): {time.perf_counter() - started:.2f} s, {len(queries)} queries, {len(panels)} shops")
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    write(f"  slowest query {float(slowest['time']) * 1000:.0f} ms: {slowest['sql'][:90]}...")
    user = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-admin", password="x"
    )
    client = Client()
    client.force_login(user)
    for label, url in [
        ("admin home (dashboard)", "/admin/"),
        ("postings list", "/admin/reconciliation/xeroposting/"),
    ]:
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, HTTP_HOST="127.0.0.1")
        write(
            f"{label}: HTTP {response.status_code}, {time.perf_counter() - started:.2f} s, {len(queries)} queries"
        )
