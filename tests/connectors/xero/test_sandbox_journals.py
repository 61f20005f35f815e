"""Xero's manual journal rules as the sandbox keeps them (DESIGN.md 3 and 6)."""

import uuid
from datetime import date
from decimal import Decimal

from connectors.xero.sandbox import XeroSandbox
from tests.connectors.xero.test_sandbox_support import demo, journal, line, messages, only, send

D = Decimal
ZERO_ID = "00000000-0000-0000-0000-000000000000"


def test_a_balanced_journal_is_created_with_an_id_and_every_body_matches_xeros_spec(xero_spec_path):
    sandbox, client, _ = demo(spec_path=xero_spec_path)
    response = send(
        client, "PUT", "/ManualJournals", journal(line("1210", "100.00"), line("4000", "-100.00"))
    )

    assert response.status_code == 200
    created = only(response, "ManualJournals")
    assert uuid.UUID(created["ManualJournalID"]).version == 4
    assert created["StatusAttributeString"] == "OK"
    assert created["Status"] == "POSTED"  # Xero's default
    assert created["LineAmountTypes"] == "NoTax"  # Xero's default for journals
    assert created["Date"] == "/Date(1709251200000+0000)/"  # 2024-03-01, Xero's /Date()/ form
    assert [(j["AccountCode"], j["LineAmount"]) for j in created["JournalLines"]] == [
        ("1210", D("100.0")),
        ("4000", D("-100.0")),
    ]
    assert sandbox.manual_journals[0]["ManualJournalID"] == created["ManualJournalID"]
    assert sandbox.spec_checked and sandbox.spec_violations == []


def test_an_unbalanced_journal_fails_on_its_element_with_http_200_under_summarize_errors_false():
    sandbox, client, _ = demo()
    response = send(client, "PUT", "/ManualJournals", journal(line("1210", "100.00"), line("4000", "-10.00")))

    assert response.status_code == 200
    failed = only(response, "ManualJournals")
    assert messages(failed) == ["The total debits (100.00) must equal total credits (-10.00)"]
    assert failed["HasErrors"] is True and failed["StatusAttributeString"] == "ERROR"
    assert failed["ManualJournalID"] == ZERO_ID
    assert sandbox.manual_journals == []


def test_without_summarize_errors_a_failed_element_makes_http_400_but_the_valid_one_is_still_created():
    sandbox, client, _ = demo()
    good = journal(line("1210", "5.00"), line("4000", "-5.00"), narration="good")["ManualJournals"]
    bad = journal(line("1210", "5.00"), line("4000", "-4.00"), narration="bad")["ManualJournals"]
    response = send(client, "PUT", "/ManualJournals", {"ManualJournals": good + bad}, summarize=True)

    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"]) == (10, "ValidationException")
    assert [e["Narration"] for e in body["Elements"]] == ["bad"]  # only the failures are listed
    assert [j["Narration"] for j in sandbox.manual_journals] == ["good"]  # batches are not transactional


def test_the_period_lock_date_rejects_documents_dated_on_or_before_it():
    sandbox, client, _ = demo()
    sandbox.set_lock_dates(period=date(2018, 11, 30))
    lines = (line("1210", "1.00"), line("4000", "-1.00"))

    on_lock = only(
        send(client, "PUT", "/ManualJournals", journal(*lines, date="2018-11-30")), "ManualJournals"
    )
    after = only(send(client, "PUT", "/ManualJournals", journal(*lines, date="2018-12-01")), "ManualJournals")

    assert messages(on_lock) == [
        "The document date cannot be before the period lock date, currently set at 30-Nov-2018"
    ]
    assert after["StatusAttributeString"] == "OK"
    assert len(sandbox.manual_journals) == 1
    organisation = only(client.get("/Organisation"), "Organisations")
    assert organisation["PeriodLockDate"] == "/Date(1543536000000+0000)/"  # how Xero shows 2018-11-30


def test_the_end_of_year_lock_date_has_its_own_message_and_drafts_are_allowed():
    sandbox, client, _ = demo()
    sandbox.set_lock_dates(period=date(2024, 1, 31), end_of_year=date(2023, 12, 31))
    lines = (line("1210", "1.00"), line("4000", "-1.00"))

    posted = only(
        send(client, "PUT", "/ManualJournals", journal(*lines, date="2023-06-05")), "ManualJournals"
    )
    draft = journal(*lines, date="2023-06-05", Status="DRAFT")
    saved = only(send(client, "PUT", "/ManualJournals", draft), "ManualJournals")

    assert messages(posted) == [
        "The document date cannot be before the end of year lock date, currently set at 31-Dec-2023"
    ]
    assert saved["Status"] == "DRAFT" and saved["StatusAttributeString"] == "OK"
    assert [j["Status"] for j in sandbox.manual_journals] == ["DRAFT"]


def test_a_bank_account_cannot_be_on_a_manual_journal():
    sandbox, client, _ = demo()
    failed = only(
        send(client, "PUT", "/ManualJournals", journal(line("090", "100.00"), line("1210", "-100.00"))),
        "ManualJournals",
    )
    assert messages(failed) == [
        "Account code '090' is a bank account. You can't post a manual journal to a bank account."
    ]
    assert sandbox.manual_journals == []


def test_the_receivables_and_payables_control_accounts_cannot_be_on_a_manual_journal():
    _, client, _ = demo()
    failed = only(
        send(client, "PUT", "/ManualJournals", journal(line("610", "1.00"), line("800", "-1.00"))),
        "ManualJournals",
    )
    assert [m.split(" is the ")[1].split(" ")[0] for m in messages(failed)] == ["DEBTORS", "CREDITORS"]


def test_an_unknown_account_is_only_a_warning_that_drops_the_line_so_the_journal_then_fails_to_balance():
    sandbox, client, _ = demo()
    body = journal(line("1210", "100.00"), line("4000", "-60.00"), line("476", "-40.00"))
    failed = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")

    assert messages(failed, "Warnings") == [
        "Account code '476' has been removed as it does not match a recognised account."
    ]
    assert messages(failed) == ["The total debits (100.00) must equal total credits (-60.00)"]
    assert [j["AccountCode"] for j in failed["JournalLines"]] == ["1210", "4000"]
    assert sandbox.manual_journals == []


def test_an_unknown_account_on_a_zero_line_is_created_with_a_warning_only():
    """The case our client must treat as a failure: HTTP 200, status WARNING, line silently gone."""
    sandbox, client, _ = demo()
    body = journal(line("1210", "10.00"), line("4000", "-10.00"), line("476", "0.00"))
    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")

    assert created["StatusAttributeString"] == "WARNING"
    assert len(sandbox.manual_journals) == 1 and len(sandbox.manual_journals[0]["JournalLines"]) == 2


def test_a_tax_type_that_cannot_be_used_on_a_revenue_account_is_rejected():
    _, client, _ = demo()
    body = journal(
        line("1210", "100.00"), line("4000", "-100.00", TaxType="INPUT"), LineAmountTypes="Exclusive"
    )
    failed = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    assert (
        "The TaxType code INPUT does not exist or cannot be used for this type of transaction."
        in messages(failed)
    )


def test_an_unknown_or_archived_tax_type_is_rejected():
    sandbox, client, _ = demo()
    sandbox.add_tax_rate("OLDTAX", "Retired", D("5"), status="ARCHIVED")
    for tax_type in ("NOSUCH", "OLDTAX"):
        body = journal(
            line("1210", "1.00"), line("4000", "-1.00", TaxType=tax_type), LineAmountTypes="Inclusive"
        )
        failed = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
        assert messages(failed) == [
            f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
        ]


def test_exclusive_tax_is_computed_per_line_and_the_gross_must_balance():
    sandbox, client, _ = demo()  # TAX001 is 8.875%: 100.00 -> 8.875 -> 8.88 (half away from zero)
    net_only = journal(
        line("1210", "100.00"), line("4000", "-100.00", TaxType="TAX001"), LineAmountTypes="Exclusive"
    )
    gross = journal(
        line("1210", "108.88"), line("4000", "-100.00", TaxType="TAX001"), LineAmountTypes="Exclusive"
    )

    failed = only(send(client, "PUT", "/ManualJournals", net_only), "ManualJournals")
    created = only(send(client, "PUT", "/ManualJournals", gross), "ManualJournals")

    assert messages(failed) == ["The total debits (100.00) must equal total credits (-108.88)"]
    assert created["JournalLines"][1]["TaxAmount"] == D("-8.88")
    assert sandbox.manual_journals[0]["JournalLines"][1]["TaxAmount"] == -8.88


def test_inclusive_tax_rounds_half_up_on_each_line():
    """99.99 incl. 20% VAT holds 16.665 of VAT: ROUND_HALF_UP gives 16.67 where banker's gives 16.66."""
    _, client, _ = demo("GBP")
    body = journal(
        line("1210", "199.98", TaxType="NONE"),
        line("4000", "-99.99"),  # account default OUTPUT2
        line("4010", "-99.99", TaxType="OUTPUT2"),
        LineAmountTypes="Inclusive",
    )
    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    assert [j["TaxAmount"] for j in created["JournalLines"]] == [D("0"), D("-16.67"), D("-16.67")]
    assert [j["TaxType"] for j in created["JournalLines"]] == ["NONE", "OUTPUT2", "OUTPUT2"]


def test_a_sent_tax_amount_pins_the_vat_split_on_an_inclusive_line():
    _, client, _ = demo("GBP")
    body = journal(
        line("1210", "99.99", TaxType="NONE"),
        line("4000", "-99.99", TaxType="OUTPUT2", TaxAmount=D("-16.66")),
        LineAmountTypes="Inclusive",
    )
    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    assert created["JournalLines"][1]["TaxAmount"] == D("-16.66")


def test_a_journal_needs_two_non_zero_lines():
    _, client, _ = demo()
    failed = only(send(client, "PUT", "/ManualJournals", journal(line("1210", "0.00"))), "ManualJournals")
    assert messages(failed) == ["Journal must contain at least two individual lines with a non-zero amount."]


def test_journals_can_be_read_back_by_id_and_found_by_narration():
    _, client, _ = demo()
    created = only(
        send(
            client,
            "PUT",
            "/ManualJournals",
            journal(line("1210", "3.00"), line("4000", "-3.00"), narration="S-9"),
        ),
        "ManualJournals",
    )
    send(
        client,
        "PUT",
        "/ManualJournals",
        journal(line("1210", "4.00"), line("4000", "-4.00"), narration="S-10"),
    )

    by_id = only(client.get(f"/ManualJournals/{created['ManualJournalID']}"), "ManualJournals")
    found = client.get("/ManualJournals", params={"where": 'Narration=="S-9"'}).json()["ManualJournals"]
    page = client.get("/ManualJournals", params={"page": 1, "pageSize": 1}).json()

    assert by_id["Narration"] == "S-9"
    assert [j["ManualJournalID"] for j in found] == [created["ManualJournalID"]]
    assert page["pagination"] == {"page": 1, "pageSize": 1, "pageCount": 2, "itemCount": 2}
    assert client.get(f"/ManualJournals/{uuid.uuid4()}").status_code == 404


def test_a_posted_journal_can_be_voided_through_post_but_not_inside_a_locked_period():
    sandbox, client, _ = demo()
    created = only(
        send(client, "PUT", "/ManualJournals", journal(line("1210", "1.00"), line("4000", "-1.00"))),
        "ManualJournals",
    )
    journal_id = created["ManualJournalID"]
    void = {"ManualJournals": [{"Narration": "Statement 1", "Status": "VOIDED"}]}
    sandbox.set_lock_dates(period=date(2024, 3, 31))
    locked = only(
        send(client, "POST", f"/ManualJournals/{journal_id}", void),
        "ManualJournals",
    )
    sandbox.set_lock_dates()
    voided = only(
        send(client, "POST", f"/ManualJournals/{journal_id}", void),
        "ManualJournals",
    )

    assert messages(locked) == [
        "The document date cannot be before the period lock date, currently set at 31-Mar-2024"
    ]
    assert voided["Status"] == "VOIDED" and sandbox.manual_journals[0]["Status"] == "VOIDED"


def test_the_sandbox_works_without_the_spec_file(tmp_path):
    sandbox = XeroSandbox.demo(spec_path=tmp_path / "missing.yaml")
    assert sandbox.spec_checked is False
