"""The month-end close pack on the demo world: the same payouts, residues and words as the
dashboard, held and dismissed statements with their reasons, account totals that balance, a
workbook an accountant can sum, and who may open the page."""

import html
import re
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reconciliation.close_pack import account_totals, close_pack
from reconciliation.close_pack_xlsx import close_pack_xlsx
from reconciliation.dashboard import dashboard
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import QuarantineItem, Shop, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.quarantine import quarantine_dismiss
from tests.reconciliation.test_admin import staff

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
TODAY = date(2026, 3, 31)  # the demo's week (statements and payouts) falls inside March 2026
HELD = {"265.27": Reason.LOCK_DATE, "129.45": Reason.SOURCE_INCONSISTENT}  # the demo's held statements
PAGE = "/admin/close-pack/"


@pytest.fixture
def demo():
    demo = demo_build(days=7, today=TODAY)
    demo_run(demo)
    return demo


def shop(code: str = "demo-us") -> Shop:
    return Shop.objects.get(code=code)


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_packs_payouts_residues_and_states_are_the_dashboards(demo):
    pack = close_pack(shop(), 2026, 3)

    panel = next(p for p in dashboard(today=TODAY, days=31) if p.shop.code == "demo-us")
    expected = {
        line.payout.payment_id: (
            line.row["deposit"],
            line.row["posted_to_clearing"],
            line.row["residue"],
            line.words,
        )
        for line in panel.payouts
        if line.payout.paid_date and line.payout.paid_date.month == 3
    }
    assert len(pack.payouts) == len(expected) >= 6
    assert {
        p.payment_id: (p.deposit, p.posted_to_clearing, p.residue, p.state) for p in pack.payouts
    } == expected
    assert [p.paid_date for p in pack.payouts] == sorted(p.paid_date for p in pack.payouts)
    waiting = {str(p.deposit): (p.residue, p.state) for p in pack.payouts if p.state != "reconciled"}
    assert waiting == {d: (D(d), "waiting for 1 held statement") for d in HELD}
    assert close_pack(shop(), 2026, 2).payouts == []


def test_held_statements_are_listed_with_their_reasons_and_open_exceptions_with_their_money(demo):
    pack = close_pack(shop(), 2026, 3)

    held = {str(s.settlement_amount): s.reasons for s in pack.statements if s.status == "held"}
    assert held == {amount: reason.label for amount, reason in HELD.items()}
    assert pack.statement_counts["held"] == 2 and pack.statement_counts["posted"] >= 4
    exceptions = {e.code: (e.reason, e.amount, e.currency) for e in pack.exceptions}
    assert exceptions == {reason.value: (reason.label, D(amount), "USD") for amount, reason in HELD.items()}


def test_a_dismissed_statement_says_who_dismissed_it_and_why(demo):
    finance = staff("fiona", "Finance", first_name="Fiona", last_name="Finch")
    item = QuarantineItem.objects.get(reason=Reason.SOURCE_INCONSISTENT)
    quarantine_dismiss(item=item, user=finance, reason="TikTok corrected it in April's statement")

    pack = close_pack(shop(), 2026, 3)

    dismissed = [s for s in pack.statements if s.status == "dismissed"]
    assert [(str(s.settlement_amount), s.reasons, s.decided_by, s.note) for s in dismissed] == [
        (
            "129.45",
            Reason.SOURCE_INCONSISTENT.label,
            "Fiona Finch",
            "TikTok corrected it in April's statement",
        )
    ]
    assert dismissed[0].decided_at is not None
    assert [e.code for e in pack.exceptions] == [Reason.LOCK_DATE.value]


def test_account_totals_balance_and_the_bank_receives_what_the_reconciled_payouts_deposit(demo):
    for code in ("demo-us", "demo-us-orders"):  # the order shop's demo has dates of its own
        posted = XeroPosting.objects.filter(shop__code=code, state="posted")
        month = posted.order_by("-document_date").first().document_date
        in_month = posted.filter(document_date__year=month.year, document_date__month=month.month)

        pack = close_pack(shop(code), month.year, month.month)

        assert pack.documents == in_month.count() > 0
        assert pack.debits == pack.credits > 0
        journals = account_totals(shop(code), list(in_month.filter(kind="ManualJournals")))
        assert sum(a.debit for a in journals) == sum(a.credit for a in journals) > 0
        accounts = {a.code: a for a in pack.accounts}
        assert accounts["090"].name == "Checking Account" and accounts["090"].credit == 0
        reconciled = sum((p.deposit for p in pack.payouts if p.state == "reconciled"), D("0"))
        assert accounts["090"].debit == reconciled > 0
        assert accounts["1210"].name == "TikTok Shop clearing"


def test_the_workbook_opens_and_its_payouts_sheet_sums_to_the_deposits(demo):
    pack = close_pack(shop(), 2026, 3)

    book = load_workbook(BytesIO(close_pack_xlsx(pack)))

    assert book.sheetnames == ["Payouts", "Statements", "Exceptions", "Account totals"]
    payouts = book["Payouts"]
    header = [c.value for c in payouts[1]]
    assert header[:4] == ["Payout", "Paid", "Currency", "Deposit"]
    rows = list(payouts.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(pack.payouts) >= 6
    assert sum(D(str(r[3])) for r in rows) == pack.deposits
    assert {r[2] for r in rows} == {"USD"}
    assert all(isinstance(r[1], datetime) for r in rows)  # a date cell, read back as a datetime
    assert payouts["D2"].number_format == "#,##0.00" and payouts["B2"].number_format == "yyyy-mm-dd"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "B2"
        assert sheet["A1"].font.bold
    totals = list(book["Account totals"].iter_rows(min_row=2, values_only=True))
    assert sum(D(str(r[3])) for r in totals) == sum(D(str(r[4])) for r in totals) == pack.debits
    held = [r for r in book["Statements"].iter_rows(min_row=2, values_only=True) if r[5] == "held"]
    assert sorted(r[6] for r in held) == sorted(reason.label for reason in HELD.values())


@pytest.mark.parametrize(
    "group, extra", [("Finance", {}), ("Auditor", {}), ("Operations", {}), (None, {"is_superuser": True})]
)
def test_everyone_who_reads_payouts_sees_the_page_and_downloads_the_workbook(client, demo, group, extra):
    client.force_login(staff("someone", group, **extra))

    page = client.get(PAGE, {"shop": shop().pk, "month": "2026-03"})

    assert page.status_code == 200
    words = text(page)
    assert "Month-end close pack" in words and "Demo TikTok US (demo-us, USD): March 2026" in words
    assert "waiting for 1 held statement" in words and "265.27 USD" in words
    assert Reason.LOCK_DATE.label in words and "Download XLSX" in words
    download = client.get(PAGE, {"shop": shop().pk, "month": "2026-03", "format": "xlsx"})
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="close-pack-demo-us-2026-03.xlsx"'
    assert load_workbook(BytesIO(download.content)).sheetnames[0] == "Payouts"


def test_the_page_opens_on_the_first_shops_latest_month_and_refuses_a_bad_month(client, demo):
    client.force_login(staff("fiona", "Finance"))

    assert reverse("admin:close_pack") == PAGE
    assert f'href="{PAGE}"' in client.get(reverse("admin:index")).content.decode()  # linked from home
    assert "demo-us, USD): March 2026" in text(client.get(PAGE))
    assert "Pick a month" in text(client.get(PAGE, {"shop": shop().pk, "month": "March"}))


def test_staff_who_cannot_read_payouts_are_refused_in_words_and_strangers_sent_to_log_in(client, demo):
    assert client.get(PAGE).status_code == 302
    client.force_login(staff("nobody"))

    refused = client.get(PAGE)

    assert refused.status_code == 403
    assert "permission to read payouts" in text(refused)
