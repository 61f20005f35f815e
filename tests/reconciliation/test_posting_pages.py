"""Postings and HTTP attempts as finance reads them (issue 7, items 2 and 3): amounts with their
currency in the list, documents as tables with account names and debit / credit columns, links both
ways, and a statement journal's lines traced to the TikTok transactions behind them."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.tasks import async_task

from reconciliation.admin.documents import PURPOSES
from reconciliation.models import Payout, XeroAttempt, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from tests.reconciliation.small_statement import serve
from tests.reconciliation.test_end_to_end import drain
from tests.reconciliation.test_lock_dates import NOV, locked_after_reading, open_lock_item
from tests.reconciliation.test_order_end_to_end import order_world, sync_and_send
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LIST = "admin:reconciliation_xeroposting_changelist"


def member(client, group: str) -> User:
    user = User.objects.create_user(group.lower(), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def posting_page(client, posting: XeroPosting) -> str:
    response = client.get(reverse("admin:reconciliation_xeroposting_change", args=[posting.pk]))
    assert response.status_code == 200
    return response.content.decode()


def synced_world(days: int = 1):
    world = build_world(days=days)
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    drain()
    return world


def statement_journal() -> XeroPosting:
    return XeroPosting.objects.filter(purpose="statement_journal", state="posted").order_by("id").first()


def rows_of(html: str) -> list[str]:
    """The postings list's rows as text, tags removed."""
    body = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    rows = body.split("<tr")[2:]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip(" >") for row in rows]


def test_the_list_shows_a_journals_amount_and_currency_and_its_purpose_in_words(client):
    synced_world()
    journal = statement_journal()
    member(client, "Finance")

    html = client.get(reverse(LIST)).content.decode()

    debits = sum(
        D(line["LineAmount"]) for line in journal.payload["JournalLines"] if D(line["LineAmount"]) > 0
    )
    (row,) = [r for r in rows_of(html) if r.startswith("Manual journal")]
    assert f"{debits:,.2f} USD" in row and "statement journal" in row and "Posted" in row
    # a journal's total is its debits, not the statement's settlement: the cell says which
    assert "its debits" in row and "Document total" in html
    table = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    assert "statement_journal" not in table  # the code only in the filter's URL
    assert PURPOSES["statement_journal"] in html.split('id="changelist-filter"', 1)[1]  # filter in words


def test_the_list_shows_a_payments_amount_and_currency_and_links_its_source(client):
    shop, _ = order_world(1)
    sync_and_send(shop)
    payment = XeroPosting.objects.get(purpose="order_payment")
    member(client, "Finance")

    html = client.get(reverse(LIST)).content.decode()

    (row,) = [r for r in rows_of(html) if r.startswith("Payment")]
    assert "221.10 USD" in row and "invoice paid into clearing" in row
    assert reverse("admin:reconciliation_statement_change", args=[payment.source_id]) in html
    assert reverse("admin:reconciliation_xeroposting_change", args=[payment.pk]) in html


def test_a_journal_page_shows_account_names_and_debits_and_credits_that_balance(client):
    world = synced_world()
    journal = statement_journal()
    names = {a["Code"]: a["Name"] for a in XeroConnection.objects.get().accounts}
    member(client, "Finance")

    html = posting_page(client, journal)

    for line in journal.payload["JournalLines"]:
        assert f"<td>{line['AccountCode']}</td><td>{names[line['AccountCode']]}</td>" in html
    planned = html.split("The document as planned", 1)[1].split("</table>", 1)[0]
    totals = re.findall(r"<tfoot>.*?</tfoot>", planned, re.S)[0]
    figures = re.findall(r">([\d,]+\.\d\d)<", totals)
    debit, credit = figures[-2:]
    assert "Total (balanced)" in totals and debit == credit != "0.00"
    assert D(debit.replace(",", "")) == sum(
        D(line["LineAmount"]) for line in journal.payload["JournalLines"] if D(line["LineAmount"]) > 0
    )
    # As Xero holds it: the same table from the stored answer, balanced too.
    posted = html.split("As Xero holds it", 1)[1].split("</table>", 1)[0]
    assert "Total (balanced)" in posted
    assert world.xero.manual_journals[0]["ManualJournalID"] in html


def test_a_journal_page_links_its_attempts_source_and_payout_both_ways(client):
    synced_world()
    journal = statement_journal()
    statement = journal.source
    payout = Payout.objects.get(payment_id=statement.payment_id)
    member(client, "Auditor")

    html = posting_page(client, journal)

    assert reverse("admin:reconciliation_statement_change", args=[statement.pk]) in html
    assert reverse("admin:reconciliation_payout_change", args=[payout.pk]) in html
    attempts = XeroAttempt.objects.filter(posting=journal)
    assert attempts.exists()
    for attempt in attempts:
        assert reverse("admin:reconciliation_xeroattempt_change", args=[attempt.pk]) in html
    assert "200 OK" in html and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", html)
    raw = html.split("Raw (as sent and as answered)", 1)[1]
    assert "collapse" in html and "Payload (as sent)" in raw and "Xero&#x27;s response" in raw
    # ... and back: the attempt's page links its posting and that posting's source.
    attempt = attempts.first()
    page = client.get(reverse("admin:reconciliation_xeroattempt_change", args=[attempt.pk])).content.decode()
    assert reverse("admin:reconciliation_xeroposting_change", args=[journal.pk]) in page
    assert reverse("admin:reconciliation_statement_change", args=[statement.pk]) in page
    assert "200 OK" in page


def test_a_payment_page_names_the_invoice_it_pays_and_links_it_both_ways(client):
    shop, _ = order_world(1)
    sync_and_send(shop)
    payment = XeroPosting.objects.get(purpose="order_payment")
    invoice = payment.depends_on
    member(client, "Finance")

    html = posting_page(client, payment)
    invoice_html = posting_page(client, invoice)

    assert "221.10" in html and "1210 TikTok Shop clearing" in html
    assert reverse("admin:reconciliation_xeroposting_change", args=[invoice.pk]) in html
    assert reverse("admin:reconciliation_xeroposting_change", args=[payment.pk]) in invoice_html
    assert "TT-576500000000000001" in invoice_html and "Walnut desk organiser" in invoice_html
    assert "221.10" in invoice_html.split("As Xero holds it", 1)[1]  # Xero's Total, from its answer


def test_each_journal_line_lists_the_tiktok_transactions_behind_it(client):
    world = synced_world()
    journal = statement_journal()
    statement = journal.source
    _, transactions, _ = next(s for s in world.statements if s[0]["id"] == statement.statement_id)
    member(client, "Finance")

    html = posting_page(client, journal)
    traced = html.split("TikTok transactions behind each journal line", 1)[1]

    for transaction in transactions:
        assert transaction["id"] in traced
    fees = next(
        n for n, line in enumerate(journal.payload["JournalLines"], start=1) if line["AccountCode"] == "6100"
    )
    fee_line = journal.payload["JournalLines"][fees - 1]
    total = re.search(rf"line {fees} total</td>.*?>([\d,]+\.\d\d)<", traced, re.S)
    assert total and D(total[1].replace(",", "")) == abs(D(fee_line["LineAmount"]))
    assert "fee.transaction_fee_amount" in traced
    assert "what TikTok pays for the statement" in traced  # the clearing line


def queries_for_list(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(LIST))
    assert response.status_code == 200
    return len(queries)


def test_the_lists_query_count_does_not_grow_with_its_rows(client):
    synced_world()
    member(client, "Finance")
    assert XeroPosting.objects.count() == 2  # the statement's journal and the payout's RECEIVE
    two = queries_for_list(client)
    for n, posting in enumerate(list(XeroPosting.objects.all()) * 4):
        posting.pk = None
        posting.idempotency_key = f"{posting.idempotency_key}-copy-{n}"
        posting.save()
    assert XeroPosting.objects.count() == 10

    assert queries_for_list(client) == two


def test_a_journal_xero_refused_links_the_quarantine_item_that_holds_it(client, monkeypatch):
    world = build_world(days=0, start=NOV[20])
    serve(world)  # statement dated 20 Nov
    locked_after_reading(world, monkeypatch, period=NOV[22], end_of_year=NOV[20])
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    item = open_lock_item()
    member(client, "Finance")

    html = posting_page(client, item.posting)

    assert reverse("admin:reconciliation_quarantineitem_change", args=[item.pk]) in html
    assert Reason.LOCK_DATE.label in html.split("Last error class", 1)[1]  # in words, not LOCK_DATE


def test_the_attempts_list_reads_in_words_and_its_queries_do_not_grow_with_its_rows(client):
    synced_world()
    member(client, "Auditor")
    url = reverse("admin:reconciliation_xeroattempt_changelist")
    with CaptureQueriesContext(connection) as first:
        html = client.get(url).content.decode()
    assert "200 OK" in html and "PUT /ManualJournals" in html and "https://api.xero.com" not in html
    journal = statement_journal()
    assert reverse("admin:reconciliation_xeroposting_change", args=[journal.pk]) in html
    for attempt in list(XeroAttempt.objects.filter(posting__isnull=False)) * 3:
        attempt.pk = None
        attempt.save()
    with CaptureQueriesContext(connection) as more:
        client.get(url)
    assert len(more) == len(first)
