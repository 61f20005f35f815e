"""The month-end close pack on the demo world: the same payouts, residues and words as the
dashboard, held and dismissed statements with their reasons, account totals that balance, a
workbook an accountant can sum, and who may open the page."""

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from openpyxl import load_workbook

from reconciliation.close_pack import account_totals, close_pack
from reconciliation.close_pack_xlsx import close_pack_xlsx
from reconciliation.dashboard import dashboard
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import QuarantineItem, Shop, Statement, XeroConnection, XeroPosting
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


# --- tax: what Xero adds on top of Exclusive lines, and takes out of Inclusive ones -------------

GB_ACCOUNTS = [
    {"Code": "1200", "Name": "Accounts Receivable", "SystemAccount": "DEBTORS"},
    {"Code": "1210", "Name": "TikTok Shop clearing"},
    {"Code": "4000", "Name": "Sales"},
    {"Code": "6100", "Name": "TikTok fees"},
]
GB_RATES = [
    {"TaxType": "OUTPUT2", "Name": "20% (VAT on Income)", "EffectiveRate": "20.0000", "Status": "ACTIVE"},
    {"TaxType": "INPUT2", "Name": "20% (VAT on Expenses)", "EffectiveRate": "20.0000", "Status": "ACTIVE"},
    {"TaxType": "NONE", "Name": "No VAT", "EffectiveRate": "0.0000", "Status": "ACTIVE"},
]


def gb_shop(code: str, line_amount_types: str) -> Shop:
    connection = XeroConnection.objects.create(
        name=f"UK org {code}",
        tenant_id=f"tenant-{code}",
        base_currency="GBP",
        accounts=GB_ACCOUNTS,
        tax_rates=GB_RATES,
        settings_refreshed_at=datetime(2026, 3, 1, tzinfo=UTC),
    )
    return Shop.objects.create(
        channel="tiktok",
        code=code,
        name=f"UK {line_amount_types}",
        region="GB",
        currency="GBP",
        timezone="Europe/London",
        line_amount_types=line_amount_types,
        clearing_account="1210",
        xero_connection=connection,
    )


def posted(shop: Shop, kind: str, payload: dict) -> None:
    number = XeroPosting.objects.count()
    XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        source_type=ContentType.objects.get_for_model(Statement),
        source_id=10_000 + number,
        kind=kind,
        source_ref=f"doc {number}",
        purpose="test",
        lookup_reference=f"doc {number}",
        idempotency_key=f"doc {number}",
        payload=payload,
        document_date=date(2026, 3, 10),
        state=XeroPosting.State.POSTED,
    )


def totals(pack) -> dict[str, tuple[Decimal, Decimal]]:
    return {a.code: (a.debit, a.credit) for a in pack.accounts}


@pytest.mark.django_db(transaction=False)
def test_an_exclusive_invoices_tax_is_on_top_in_receivables_and_shown_per_tax_type():
    shop = gb_shop("uk-ex", "Exclusive")
    line = {"Quantity": "1", "UnitAmount": "100.00", "AccountCode": "4000", "TaxType": "OUTPUT2"}
    posted(shop, "Invoices", {"Type": "ACCREC", "LineAmountTypes": "Exclusive", "LineItems": [line]})
    payment = {"Amount": "120.00", "Account": {"Code": "1210"}, "Invoice": {"InvoiceNumber": "TT-1"}}
    posted(shop, "Payments", payment)

    pack = close_pack(shop, 2026, 3)

    # Xero: receivables 120.00 (100.00 and the 20.00 VAT on top), sales 100.00, VAT 20.00; the
    # payment of 120.00 clears receivables. Before tax was counted receivables showed 20.00 owed.
    assert totals(pack) == {
        "1200": (D("120.00"), D("120.00")),
        "1210": (D("120.00"), D("0")),
        "4000": (D("0"), D("100.00")),
        "tax: OUTPUT2": (D("0"), D("20.00")),
    }
    assert pack.debits == pack.credits == D("240.00")
    assert [a.is_tax for a in pack.accounts] == [False, False, False, True]  # tax after the accounts
    assert pack.accounts[-1].name == "20% (VAT on Income): the tax rate's tax account"
    assert pack.unknown_tax == []
    sheet = load_workbook(BytesIO(close_pack_xlsx(pack)))["Account totals"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[-1][:2] == ("tax: OUTPUT2", "20% (VAT on Income): the tax rate's tax account")
    assert sum(D(str(r[3])) for r in rows) == sum(D(str(r[4])) for r in rows) == D("240.00")


@pytest.mark.django_db(transaction=False)
def test_an_inclusive_shops_tax_is_taken_out_of_its_lines_and_shown_per_tax_type():
    shop = gb_shop("uk-in", "Inclusive")
    # A statement journal as planned (planning/statement_journal.py): gross lines, TaxAmount sent
    # where the planner computed it; the fee line's tax is left for Xero (20% of 12.00 gross = 2.00).
    journal = {
        "LineAmountTypes": "Inclusive",
        "JournalLines": [
            {"LineAmount": "-120.00", "AccountCode": "4000", "TaxType": "OUTPUT2", "TaxAmount": "-20.00"},
            {"LineAmount": "12.00", "AccountCode": "6100", "TaxType": "INPUT2"},
            {"LineAmount": "108.00", "AccountCode": "1210", "TaxType": "NONE"},
        ],
    }
    posted(shop, "ManualJournals", journal)
    line = {"Quantity": "2", "UnitAmount": "30.00", "AccountCode": "4000", "TaxType": "OUTPUT2"}
    posted(shop, "Invoices", {"Type": "ACCREC", "LineAmountTypes": "Inclusive", "LineItems": [line]})

    pack = close_pack(shop, 2026, 3)

    # Sales net of VAT (100.00 + 50.00), fees net of VAT (10.00); receivables the gross 60.00.
    assert totals(pack) == {
        "1200": (D("60.00"), D("0")),
        "1210": (D("108.00"), D("0")),
        "4000": (D("0"), D("150.00")),
        "6100": (D("10.00"), D("0")),
        "tax: INPUT2": (D("2.00"), D("0")),
        "tax: OUTPUT2": (D("0"), D("30.00")),
    }
    assert pack.debits == pack.credits == D("180.00")


@pytest.mark.django_db(transaction=False)
def test_a_tax_type_without_a_cached_rate_is_counted_as_nothing_and_named(client):
    shop = gb_shop("uk-new", "Exclusive")
    line = {"Quantity": "1", "UnitAmount": "50.00", "AccountCode": "4000", "TaxType": "NEWRATE"}
    posted(shop, "Invoices", {"Type": "ACCREC", "LineAmountTypes": "Exclusive", "LineItems": [line]})

    pack = close_pack(shop, 2026, 3)

    assert pack.unknown_tax == ["NEWRATE"]
    assert totals(pack) == {"1200": (D("50.00"), D("0")), "4000": (D("0"), D("50.00"))}
    sheet = load_workbook(BytesIO(close_pack_xlsx(pack)))["Account totals"]
    assert list(sheet.iter_rows(min_row=2, values_only=True))[-1][:4] == (
        "tax not known: NEWRATE",
        "the rate is not in the organisation's cached tax rates: counted as 0 above",
        "GBP",
        None,
    )
    client.force_login(staff("fiona", "Finance"))
    page = text(client.get(PAGE, {"shop": shop.pk, "month": "2026-03"}))
    assert "Tax not known for tax type NEWRATE" in page
