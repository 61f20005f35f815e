"""The demo: a TikTok shop and a Xero organisation in the sandboxes (DESIGN.md 7), and a second
shop in posting mode "order invoices" with its own organisation (reconciliation/demo/orders.py).

Several days of statements flow through the real clients, the real django-q2 tasks and the real
services: in this process with the in-process sandboxes (`demo_run`, tests), or through a cluster
and the sandbox servers (`make demo`, reconciliation/demo/live.py). One statement falls on Xero's lock
date and one does not add up, so the summary shows both posted and quarantined work. Faults are
injected on the way (a Xero timeout after the write, a 500, a 429, a TikTok rate limit) to show that
nothing is posted twice.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django_q.conf import Conf
from django_q.tasks import async_task

from connectors.tiktok.openapi import TikTokSpec
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_data import demo_statements, make_inconsistent
from connectors.xero.sandbox import XeroSandbox
from reconciliation import transports
from reconciliation.demo.orders import TIKTOK_SHOP_ID, OrderDemo, order_demo_build, orders_later
from reconciliation.imports import mappings_import
from reconciliation.models import Shop, ShopConnection, XeroConnection

HERE = Path(__file__).resolve().parent
DEMO_PASSWORD = "ledgersync-demo"
DEMO_USERS = {"finance": "Finance", "operations": "Operations", "auditor": "Auditor"}
CIPHER = "demo-cipher-us"


@dataclass
class Demo:
    shop: Shop
    xero: XeroSandbox
    tiktok: TikTokSandbox
    held_statement: str
    locked_statement: str
    orders: OrderDemo | None = None  # the order-invoices shop, when built


def demo_build(*, days: int = 7, seed: int = 7, today: date | None = None, orders: bool = True) -> Demo:
    today = today or datetime.now(UTC).date()
    start = today - timedelta(days=days)
    xero = XeroSandbox.demo(base_currency="USD")
    # Finance has closed the period that holds the first statement (dated the day before `start`
    # in the shop's Los Angeles time zone), so exactly that one is quarantined LOCK_DATE.
    xero.set_lock_dates(period=start - timedelta(days=1))
    tiktok = TikTokSandbox(spec=TikTokSpec.load_if_present(settings.TIKTOK_OPENAPI_DIR))
    tiktok.add_shop(CIPHER, "7490000000000000001", "Demo TikTok US", "US", "USD")
    statements = demo_statements(region="US", currency="USD", start=start, days=days, seed=seed)
    held = statements[days // 2]
    held_statement, held_txns = make_inconsistent(held[0], held[1])
    statements[days // 2] = (held_statement, held_txns, held[2])
    for statement, transactions, payment in statements:
        tiktok.add_statement(CIPHER, statement, transactions, payment)

    shop = _shop(sandbox_xero_connection(xero, name="Demo Xero organisation"), start)
    sandbox_shop_connection(shop, tiktok, external_shop_id="7490000000000000001")
    demo = Demo(
        shop, xero, tiktok, held_statement=held_statement["id"], locked_statement=statements[0][0]["id"]
    )
    if orders:
        demo.orders = order_demo_build(xero, tiktok, now=datetime.now(UTC), connect=sandbox_xero_connection)
        sandbox_shop_connection(demo.orders.shop, tiktok, external_shop_id=TIKTOK_SHOP_ID)
    return demo


def sandbox_xero_connection(xero: XeroSandbox, *, name: str) -> XeroConnection:
    """A XeroConnection row whose HTTP goes to `xero` (tests use it too)."""
    tokens = xero.issue_tokens()
    transports.install("xero", xero.tenant_id, xero.transport)
    return XeroConnection.objects.create(
        name=name,
        tenant_id=xero.tenant_id,
        client_id="demo-client",
        client_secret="demo-secret",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_token_expires_at=datetime.now(UTC) + timedelta(minutes=29),
    )


def _shop(connection: XeroConnection, start: date) -> Shop:
    for kind, name in (("shops", "tiktok_us_shop.csv"), ("components", "tiktok_us_components.csv")):
        report = mappings_import(kind=kind, path=HERE / name, dry_run=False)
        if report.errors:
            raise RuntimeError(f"demo {kind} map did not import: {report.errors}")
    shop = Shop.objects.get(code="demo-us")
    shop.xero_connection, shop.sync_from = connection, start
    shop.save()
    return shop


def sandbox_shop_connection(
    shop: Shop, tiktok: TikTokSandbox, *, external_shop_id: str = ""
) -> ShopConnection:
    """The shop's TikTok credentials, with its HTTP going to `tiktok` (tests use it too). With
    several shops in one sandbox (the demo), `external_shop_id` says which one is this shop's."""
    transports.install("tiktok", shop.code, tiktok.transport)
    return ShopConnection.objects.create(
        shop=shop,
        external_shop_id=external_shop_id,
        app_key=tiktok.app_key,
        app_secret=tiktok.app_secret,
        access_token=tiktok.access_token,
        refresh_token=tiktok.refresh_token,
        # the lifetimes the sandbox's token endpoint grants (a week; a year)
        access_token_expires_at=datetime.now(UTC) + timedelta(days=7),
        refresh_token_expires_at=datetime.now(UTC) + timedelta(days=364),
    )


def demo_users() -> list[str]:
    names = []
    admin, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
    admin.set_password(DEMO_PASSWORD)
    admin.save()
    names.append("admin")
    for username, group in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=group))
        names.append(username)
    return names


def demo_faults(demo: Demo) -> None:
    """What the run survives: a TikTok rate limit, a Xero write whose answer is lost, a Xero 500."""
    demo.tiktok.faults.next("rate_limit")
    demo.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    demo.xero.faults.next("server_error", method="PUT", path_prefix="/BankTransactions")


def demo_run(demo: Demo, *, faults: bool = True) -> None:
    """Run the real tasks in this process (sync mode), for the in-process sandboxes. `make demo`
    runs them in a django-q2 cluster instead (reconciliation/demo/live.py)."""
    Conf.SYNC = True
    if faults:
        demo_faults(demo)
    _sync_and_send(demo.shop)
    if demo.orders is not None:
        _sync_and_send(demo.orders.shop)
        demo_orders_later(demo.tiktok, demo.orders)
        _sync_and_send(demo.orders.shop)


def demo_orders_later(tiktok: TikTokSandbox, orders: OrderDemo) -> None:
    """TikTok moves on after the order shop's first sync (orders.orders_later)."""
    orders_later(tiktok, orders.orders, midnight=orders.midnight, now=int(datetime.now(UTC).timestamp()))


def _sync_and_send(shop: Shop) -> None:
    async_task("reconciliation.tasks.sync_shop", shop.pk)
    # Retries wait for their back-off; the demo does not, it sends what is due again at once.
    for _ in range(3):
        async_task("reconciliation.tasks.send_due_postings")
