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
from django.utils import timezone
from openpyxl import load_workbook

from reconciliation.close_pack import DRAFT, NOT_IN_XERO, account_totals, close_pack
from reconciliation.close_pack_xlsx import close_pack_xlsx
from reconciliation.dashboard import dashboard
from reconciliation.demo.scenario import demo_build, demo_run
from reconciliation.models import QuarantineItem, Shop, Statement, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.quarantine import quarantine_dismiss
from tests.reconciliation.test_admin import staff
from tests.reconciliation.test_drafts import drafted

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

        drafts = in_month.filter(xero_response__Status="DRAFT")  # not in the ledger: left out
        assert pack.documents == in_month.count() - drafts.count() > 0
        assert pack.drafts == drafts.count()
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
    *rows, total = list(payouts.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(pack.payouts) >= 6
    assert (total[0], total[2], D(str(total[3])), D(str(total[7]))) == (
        "Total",
        "USD",
        pack.deposits,
        pack.residues,
    )
    assert sum(D(str(r[3])) for r in rows) == pack.deposits
    assert {r[2] for r in rows} == {"USD"}
    assert all(isinstance(r[1], datetime) for r in rows)  # a date cell, read back as a datetime
    assert payouts["D2"].number_format == "#,##0.00" and payouts["B2"].number_format == "yyyy-mm-dd"
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "B2"
        assert sheet["A1"].font.bold
    *totals, total = list(book["Account totals"].iter_rows(min_row=2, values_only=True))
    assert sum(D(str(r[3])) for r in totals) == sum(D(str(r[4])) for r in totals) == pack.debits
    assert total[:3] == ("Total", None, "USD")  # the page's Total row
    assert (D(str(total[3])), D(str(total[4]))) == (pack.debits, pack.credits)
    assert book["Account totals"].cell(len(totals) + 2, 1).font.bold
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


def posted(shop: Shop, kind: str, payload: dict, **fields) -> None:
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
        **fields,
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
    *rows, total = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows[-1][:2] == ("tax: OUTPUT2", "20% (VAT on Income): the tax rate's tax account")
    assert sum(D(str(r[3])) for r in rows) == sum(D(str(r[4])) for r in rows) == D("240.00")
    assert total[:5] == ("Total", None, "GBP", D("240.00"), D("240.00"))


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


# --- what is not in the ledger: drafts, and statements not in Xero yet ------------------------


def test_a_statement_whose_journal_is_a_draft_says_it_is_not_in_the_ledger_on_the_page_and_workbook(
    client, monkeypatch
):
    world, journal = drafted(client, monkeypatch)
    day = journal.document_date

    pack = close_pack(world.shop, day.year, day.month)

    assert [s.status for s in pack.statements] == [DRAFT]
    assert DRAFT == "posted as a draft: not in the ledger until approved in Xero"
    assert (pack.documents, pack.drafts, pack.drafts_amount, pack.accounts) == (0, 1, D("50.00"), [])
    assert pack.payouts[0].residue == 0 and not pack.residue_clear  # 0.00, but not reconciled
    client.force_login(staff("fiona", "Finance"))
    page = client.get(PAGE, {"shop": world.shop.pk, "month": f"{day:%Y-%m}"})
    words = text(page)
    assert DRAFT in words and "0 posted, 1 draft ," in words
    assert "From 0 documents posted to Xero this month" in words
    assert "1 draft (50.00 USD) left out: not in the ledger until approved in Xero" in words
    assert 'class="ls-ok">0.00' not in page.content.decode()  # the residue is not green
    book = load_workbook(BytesIO(close_pack_xlsx(pack)))
    assert [r[5] for r in book["Statements"].iter_rows(min_row=2, values_only=True)] == [DRAFT]
    assert list(book["Account totals"].iter_rows(min_row=2, values_only=True)) == [
        ("drafts left out", "1 draft (50.00 USD) left out: not in the ledger until approved in Xero", "USD")
        + (None,) * 3
    ]


JOURNAL = {
    "JournalLines": [
        {"LineAmount": "-30.00", "AccountCode": "4000"},
        {"LineAmount": "30.00", "AccountCode": "1210"},
    ]
}


@pytest.mark.django_db(transaction=False)
def test_account_totals_leave_drafts_out_and_count_them():
    shop = gb_shop("uk-drafts", "NoTax")
    posted(shop, "ManualJournals", JOURNAL, xero_response={"Status": "POSTED"})
    draft = {
        "JournalLines": [
            {**line, "LineAmount": line["LineAmount"].replace("30", "70")} for line in JOURNAL["JournalLines"]
        ]
    }
    posted(shop, "ManualJournals", {**draft, "Status": "DRAFT"}, xero_response={"Status": "DRAFT"})

    pack = close_pack(shop, 2026, 3)

    assert totals(pack) == {"1210": (D("30.00"), D("0")), "4000": (D("0"), D("30.00"))}
    assert (pack.documents, pack.drafts, pack.drafts_amount) == (1, 1, D("70.00"))
    assert pack.drafts_words == "1 draft (70.00 GBP) left out: not in the ledger until approved in Xero"


def residue_fact(page) -> str:
    return re.search(r"<h3>Residue</h3>(.*?)</div>", page.content.decode(), re.S).group(1)


def test_statements_not_in_xero_yet_are_a_warning_and_no_payouts_is_not_a_green_residue(client):
    shop = gb_shop("uk-stuck", "Inclusive")
    for number, amount in (("S1", "10.00"), ("S2", "5.50")):
        Statement.objects.create(
            shop=shop,
            statement_id=number,
            statement_date=date(2026, 3, 5),
            currency="GBP",
            settlement_amount=amount,
            content_hash=f"hash-{number}",
            state=Statement.State.PLANNED,
        )

    pack = close_pack(shop, 2026, 3)

    assert [s.status for s in pack.not_in_xero] == [NOT_IN_XERO] * 2 and pack.not_in_xero_amount == D("15.50")
    assert not pack.residue_clear
    client.force_login(staff("fiona", "Finance"))
    page = client.get(PAGE, {"shop": shop.pk, "month": "2026-03"})
    fact = re.search(r"<h3>Not in Xero yet</h3>(.*?)</div>", page.content.decode(), re.S).group(1)
    assert '<strong class="ls-warn">2 statements</strong>, 15.50 GBP' in fact
    assert residue_fact(page) == '<strong class="ls-warn">no payouts this month</strong>'


def test_a_reconciled_month_still_shows_a_green_residue(client, demo):
    client.force_login(staff("fiona", "Finance"))
    pack = close_pack(shop(), 2026, 3)
    assert pack.not_in_xero == [] and pack.payouts  # the demo's March: every statement in Xero or held
    page = client.get(PAGE, {"shop": shop().pk, "month": "2026-03"})
    expected = "ls-ok" if pack.residue_clear else "ls-warn"
    assert residue_fact(page).startswith(f'<strong class="{expected}">')
    assert "Not in Xero yet" in text(page)


# --- account codes in the chart's order ---------------------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_account_codes_are_in_number_order_then_other_codes_on_the_page_and_in_the_workbook(client):
    shop = gb_shop("uk-codes", "NoTax")
    lines = [("5100", "1.00"), ("610", "2.00"), ("6100", "3.00"), ("CLR", "-4.00"), ("090", "-2.00")]
    journal = {"JournalLines": [{"LineAmount": amount, "AccountCode": code} for code, amount in lines]}
    posted(shop, "ManualJournals", journal)

    pack = close_pack(shop, 2026, 3)

    order = ["090", "610", "5100", "6100", "CLR"]
    assert [a.code for a in pack.accounts] == order
    client.force_login(staff("fiona", "Finance"))
    page = client.get(PAGE, {"shop": shop.pk, "month": "2026-03"}).content.decode()
    shown = re.findall(r"<tr><td>([^<]+)</td><td>", page.split("<h2>Account totals</h2>")[1])
    assert shown == order
    sheet = load_workbook(BytesIO(close_pack_xlsx(pack)))["Account totals"]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [*order, "Total"]


def test_a_dismissed_statements_page_and_list_say_who_dismissed_it_when_and_why(client, demo):
    finance = staff("fiona", "Finance")
    item = QuarantineItem.objects.get(reason=Reason.SOURCE_INCONSISTENT)
    quarantine_dismiss(item=item, user=finance, reason="TikTok corrected it in April's statement")
    statement = item.source
    day = timezone.localdate(QuarantineItem.objects.get(pk=item.pk).decided_at)
    words = f"dismissed by fiona on {day:%Y-%m-%d}: TikTok corrected it in April's statement"
    client.force_login(staff("audrey", "Auditor"))

    page = text(client.get(reverse("admin:reconciliation_statement_change", args=[statement.pk])))
    listed = text(client.get(reverse("admin:reconciliation_statement_changelist")))

    assert words in page and words in listed
    assert listed.count("dismissed by") == 1  # only the dismissed statement
