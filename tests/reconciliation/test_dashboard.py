"""The dashboard (the admin's home) and the payout pages: figures from real worlds, words finance
reads, every role, and a number of queries that does not grow with the payouts."""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.tasks import async_task

from reconciliation.dashboard import dashboard, payout_words
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import Payout, Statement, XeroPosting
from reconciliation.models.quarantine import Reason
from tests.reconciliation.test_admin import staff
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
PAYOUTS = "/admin/reconciliation/payout/"
HELD_PAYOUTS = {"265.27", "129.45"}  # the demo's lock-dated and inconsistent statements' payouts


@pytest.fixture
def demo():
    demo = demo_build(days=7)
    demo_run(demo)
    return demo


def text(response) -> str:
    """The page as words: tags dropped, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_dashboard_shows_each_demo_payout_its_residue_and_its_state_in_words(demo):
    panels = {panel.shop.code: panel for panel in dashboard()}

    shop = panels["demo-us"]
    assert shop.last_run.status == "done"
    lines = {str(line.row["deposit"]): line for line in shop.payouts}
    assert len(lines) == 6
    for deposit in HELD_PAYOUTS:
        assert lines[deposit].row["residue"] == D(deposit)
        assert lines[deposit].row["posted_to_clearing"] == D("0")
        assert lines[deposit].words == "waiting for 1 held statement"
        assert lines[deposit].residue == f"{deposit} USD"
    for deposit, line in lines.items():
        if deposit not in HELD_PAYOUTS:
            assert (line.row["residue"], line.words) == (D("0.00"), "reconciled")
            assert line.posted_bar > 0 and line.residue_bar == 0
    exceptions = {line.code: (line.reason, line.count, line.held) for line in shop.exceptions}
    assert exceptions == {
        "LOCK_DATE": ("Dated in a locked period", 1, "265.27 USD"),
        "SOURCE_INCONSISTENT": (Reason.SOURCE_INCONSISTENT.label, 1, "129.45 USD"),
    }
    backlog = dict(shop.backlog)
    assert backlog["Held (quarantined)"] == 1
    assert backlog["Waiting for another document"] == 2  # the two RECEIVEs of the held payouts
    assert backlog["Posted"] == 9

    orders = panels["demo-us-orders"]
    assert [line.words for line in orders.payouts] == ["reconciled", "reconciled"]
    assert orders.exceptions == []


@pytest.mark.parametrize(
    "group, extra", [("Auditor", {}), ("Operations", {}), ("Finance", {}), (None, {"is_superuser": True})]
)
def test_every_role_sees_the_dashboard_with_its_numbers_above_the_app_list(client, demo, group, extra):
    client.force_login(staff("someone", group, **extra))

    page = text(client.get(reverse("admin:index")))

    assert "Demo TikTok US (demo-us, USD)" in page
    assert "Open exceptions: 2" in page
    assert "Dated in a locked period : 1 , holding 265.27 USD" in page
    assert f"{Reason.SOURCE_INCONSISTENT.label} : 1 , holding 129.45 USD" in page
    assert page.count("waiting for 1 held statement") == 2
    assert page.count("reconciled") == 6
    assert "265.27 USD 0.00 USD 265.27 USD" in page  # deposit, posted through clearing, residue
    assert page.index("Payouts of the last 30 days") < page.index("Quarantine items")  # the app list


def test_a_payout_page_shows_its_statements_the_residue_and_what_blocks_it(client, demo):
    client.force_login(staff("audrey", "Auditor"))
    payout = Payout.objects.get(shop=demo.shop, amount=D("265.27"))
    (statement,) = Statement.objects.filter(payment_id=payout.payment_id)

    response = client.get(reverse("admin:reconciliation_payout_change", args=[payout.pk]))
    page, html = text(response), response.content.decode()

    assert "Deposit: 265.27 USD" in page
    assert "State: waiting for 1 held statement" in page
    assert "Residue: 265.27 USD" in page
    assert "Bank receipt (RECEIVE): Bank transaction : Waiting for another document" in page
    assert (
        f"{statement.statement_id} " in page and "Held 265.27 USD Manual journal : Held (quarantined)" in page
    )
    assert reverse("admin:reconciliation_statement_change", args=[statement.pk]) in html
    assert "Dated in a locked period: TikTok demo-us statement" in page
    assert 'name="_save"' not in html

    statement_page = client.get(reverse("admin:reconciliation_statement_change", args=[statement.pk]))
    assert reverse("admin:reconciliation_payout_change", args=[payout.pk]) in statement_page.content.decode()
    assert "Manual journal : Held (quarantined)" in text(statement_page)
    assert "Open items: #" in text(statement_page) and "Dated in a locked period" in text(statement_page)


def test_a_statement_page_lists_the_orders_it_settles_and_the_statement_list_links_payouts(client, demo):
    client.force_login(staff("fiona", "Finance"))
    statement = Statement.objects.get(shop=demo.shop, settlement_amount=D("129.45"))
    payout = Payout.objects.get(shop=demo.shop, payment_id=statement.payment_id)
    orders = list(statement.orders.all())
    assert orders

    page = text(client.get(reverse("admin:reconciliation_statement_change", args=[statement.pk])))
    assert "Orders it settles: order sales refunds" in page
    for order in orders:
        assert f"{order.order_id} {order.sales} USD {order.refunds} USD" in page
    assert Reason.SOURCE_INCONSISTENT.label in page and "State: Held (quarantined)" in page

    listing = client.get(reverse("admin:reconciliation_statement_changelist")).content.decode()
    assert reverse("admin:reconciliation_payout_change", args=[payout.pk]) in listing


def test_the_payout_list_shows_deposit_currency_paid_date_state_and_residue_first(client, demo):
    client.force_login(staff("fiona", "Finance"))

    page = text(client.get(reverse("admin:reconciliation_payout_changelist")))

    columns = re.sub(r" \d+ ", " ", page)  # the column headers' sort priorities
    assert "Deposit Currency Paid date State Residue Payment id Shop" in columns
    # deposit, currency, paid date, state, residue
    assert re.search(r"265\.27 USD \d{4}-\d{2}-\d{2} waiting for 1 held statement 265\.27 \d+ demo-us ", page)
    assert page.count("waiting for 1 held statement") == 2


def queries(client, page: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page).status_code == 200
    return len(captured)


def test_the_dashboard_and_the_payout_list_take_as_many_queries_for_ten_payouts_as_for_two(
    client, monkeypatch
):
    world = build_world(days=10)
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    client.force_login(staff("fiona", "Finance"))
    payouts = list(Payout.objects.order_by("paid_date"))
    assert len(payouts) == 10

    # Two of them: eight paid before the dashboard's 30 days, a list page of two rows.
    old = [p.pk for p in payouts[:8]]
    dates = {p.pk: p.paid_date for p in payouts}
    Payout.objects.filter(pk__in=old).update(paid_date=dates[old[0]] - timedelta(days=60))
    assert [len(panel.payouts) for panel in dashboard()] == [2]
    monkeypatch.setattr(admin.site._registry[Payout], "list_per_page", 2)
    two = queries(client, reverse("admin:index")), queries(client, PAYOUTS)

    for pk in old:
        Payout.objects.filter(pk=pk).update(paid_date=dates[pk])
    (panel,) = dashboard()
    assert len(panel.payouts) == 10 and {line.words for line in panel.payouts} == {"reconciled"}
    monkeypatch.setattr(admin.site._registry[Payout], "list_per_page", 100)
    ten = queries(client, reverse("admin:index")), queries(client, PAYOUTS)

    assert ten == two


@pytest.mark.parametrize(
    "status, held, residue, receive, words",
    [
        ("PAID", 0, "0.00", "posted", "reconciled"),
        ("PAID", 2, "300.00", "waiting", "waiting for 2 held statements"),
        ("PAID", 0, "-1.25", "waiting", "residue -1.25"),
        ("PAID", 0, "0.00", "ready", "residue 0.00, bank receipt ready to send"),
        ("PAID", 0, "0.00", None, "residue 0.00, bank receipt not planned yet"),
        ("PROCESSING", 0, "12.00", None, "not paid yet (TikTok: PROCESSING)"),
        ("FAILED", 0, "12.00", None, "payment failed at TikTok"),
    ],
)
def test_a_payout_state_in_words(status, held, residue, receive, words):
    row = {
        "held_statements": held,
        "residue": D(residue),
        "receive_posting": XeroPosting(state=receive) if receive else None,
    }
    assert payout_words(Payout(status=status), row) == words


def test_a_payouts_bank_receipt_is_its_newest_one_not_superseded(demo):
    payout = Payout.objects.get(shop=demo.shop, amount=D("265.27"))
    receive = XeroPosting.objects.get(source_id=payout.pk, purpose="payout_receive")
    assert payout_line(payout).words == "waiting for 1 held statement"
    statement = Statement.objects.get(payment_id=payout.payment_id)
    Statement.objects.filter(pk=statement.pk).update(state=Statement.State.PLANNED)
    XeroPosting.objects.filter(source_id=statement.pk, state="held").update(state="posted")

    def copy(number: int, state: str) -> None:
        XeroPosting.objects.create(
            **{
                f.attname: getattr(receive, f.attname)
                for f in XeroPosting._meta.concrete_fields
                if f.attname not in ("id", "created_at", "idempotency_key", "state")
            },
            idempotency_key=f"copy {number}",
            state=state,
        )

    copy(1, "superseded")  # newer, but replaced before it reached Xero: not the receipt
    assert payout_line(payout).words == "residue 0.00, bank receipt waiting for another document"
    copy(2, "ready")
    copy(3, "superseded")
    assert payout_line(payout).words == "residue 0.00, bank receipt ready to send"


def payout_line(payout: Payout):
    panels = [line for panel in dashboard() for line in panel.payouts]
    return next(line for line in panels if line.payout.pk == payout.pk)


def test_the_admin_home_lists_your_own_recent_actions_below_the_dashboard(client, demo):
    fiona, other = staff("fiona", "Finance"), staff("otto", "Operations")
    shop_type = ContentType.objects.get_for_model(demo.shop)
    for user, message in ((fiona, "fiona's change"), (other, "otto's change")):
        LogEntry.objects.create(
            user=user,
            content_type=shop_type,
            object_id=str(demo.shop.pk),
            object_repr=message,
            action_flag=CHANGE,
        )
    client.force_login(fiona)

    response = client.get(reverse("admin:index"))
    page, body = text(response), response.content.decode()

    assert "Your recent actions" in page and "changed fiona's change Shop" in page
    assert "otto's change" not in page
    assert reverse("admin:reconciliation_shop_change", args=[demo.shop.pk]) in body
    assert page.index("Payouts of the last 30 days") < page.index("Your recent actions")
    assert 'id="recent-actions-module"' not in body  # Django's sidebar box is not drawn as well
    client.force_login(other)
    assert "fiona's change" not in text(client.get(reverse("admin:index")))


def test_money_is_right_aligned_in_tabular_figures_on_the_dashboard_and_the_payout_pages(client, demo):
    client.force_login(staff("fiona", "Finance"))

    home = client.get(reverse("admin:index")).content.decode()
    payouts = client.get(PAYOUTS).content.decode()
    payout = Payout.objects.get(shop=demo.shop, amount=D("265.27"))
    page = client.get(reverse("admin:reconciliation_payout_change", args=[payout.pk])).content.decode()

    assert "reconciliation/ledgersync.css" in home  # where .ls-money is defined
    assert '<td class="ls-money">265.27 USD</td>' in home
    # the change list's money columns, which Django renders without a class of ours
    # (the deposit is the row's link, which Django draws as a <th>)
    assert "#result_list .column-deposit_amount, #result_list .field-deposit_amount," in payouts
    assert ".field-residue_amount" in payouts and ".field-payment_id" not in payouts
    assert '<td class="ls-money">265.27 USD</td>' in page  # the payout's statements table
