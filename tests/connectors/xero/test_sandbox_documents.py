"""Bank transactions, invoices, credit notes, payments and allocations in the sandbox (DESIGN.md 6)."""

from decimal import Decimal

from tests.connectors.xero.test_sandbox_support import demo, invoice, item, messages, only, send

D = Decimal


def receive(bank: str = "090", amount: str = "250.55", **fields) -> dict:
    transaction = {
        "Type": "RECEIVE",
        "Contact": {"Name": "TikTok Shop"},
        "BankAccount": {"Code": bank},
        "Date": "2024-03-01",
        "Reference": "TikTok payout P-1",
        "LineAmountTypes": "NoTax",
        "LineItems": [item("1210", "1", amount, Description="payout P-1")],
        **fields,
    }
    return {"BankTransactions": [transaction]}


def authorised_invoice(client, *items, number="TT-1", **fields) -> dict:
    items = items or (item("4000", "1", "100.00"),)
    created = only(send(client, "PUT", "/Invoices", invoice(*items, number=number, **fields)), "Invoices")
    assert created["StatusAttributeString"] == "OK", created
    return created


def test_a_receive_into_the_bank_coded_to_clearing_is_created_with_its_reference_and_totals():
    sandbox, client, _ = demo()
    created = only(send(client, "PUT", "/BankTransactions", receive()), "BankTransactions")

    assert created["StatusAttributeString"] == "OK"
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (D("250.55"), D("0"), D("250.55"))
    assert created["BankAccount"]["Code"] == "090" and created["LineItems"][0]["AccountCode"] == "1210"
    assert created["Status"] == "AUTHORISED" and created["CurrencyCode"] == "USD"
    found = client.get("/BankTransactions", params={"where": 'Reference=="TikTok payout P-1"'})
    assert [t["BankTransactionID"] for t in found.json()["BankTransactions"]] == [
        created["BankTransactionID"]
    ]
    assert [c["Name"] for c in sandbox.contacts] == ["TikTok Shop"]  # an unknown contact name is created


def test_a_bank_transaction_must_use_a_bank_account_and_lines_must_not():
    sandbox, client, _ = demo()
    into_clearing = only(send(client, "PUT", "/BankTransactions", receive(bank="1210")), "BankTransactions")
    coded_to_bank = receive()
    coded_to_bank["BankTransactions"][0]["LineItems"][0]["AccountCode"] = "090"
    line_to_bank = only(send(client, "PUT", "/BankTransactions", coded_to_bank), "BankTransactions")

    assert messages(into_clearing) == ["Account code '1210' is not a valid code for this document"]
    assert messages(line_to_bank) == ["Account code '090' is not a valid code for this document"]
    assert sandbox.bank_transactions == [] and sandbox.contacts == []  # nothing half-created


def test_a_bank_transaction_in_another_currency_is_rejected():
    sandbox, client, _ = demo()
    failed = only(send(client, "PUT", "/BankTransactions", receive(CurrencyCode="EUR")), "BankTransactions")
    assert messages(failed) == ["Organisation is not subscribed to currency EUR"]
    assert sandbox.bank_transactions == []


def test_an_invoice_number_is_unique_until_the_first_invoice_is_voided():
    sandbox, client, _ = demo()
    first = authorised_invoice(client, number="TT-1")
    repeat = only(
        send(client, "PUT", "/Invoices", invoice(item("4000", "1", "5.00"), number="TT-1")), "Invoices"
    )
    void = {"Invoices": [{"InvoiceNumber": "TT-1", "Status": "VOIDED"}]}
    voided = only(send(client, "POST", f"/Invoices/{first['InvoiceID']}", void), "Invoices")
    again = only(
        send(client, "PUT", "/Invoices", invoice(item("4000", "1", "5.00"), number="TT-1")), "Invoices"
    )

    assert messages(repeat) == ["Invoice # must be unique."]
    assert voided["Status"] == "VOIDED"
    assert again["StatusAttributeString"] == "OK"
    assert [i["Status"] for i in sandbox.invoices] == ["VOIDED", "AUTHORISED"]
    live = client.get("/Invoices", params={"where": 'InvoiceNumber=="TT-1" AND Status=="AUTHORISED"'})
    assert [i["InvoiceID"] for i in live.json()["Invoices"]] == [again["InvoiceID"]]


def test_invoice_tax_is_rounded_per_line_before_it_is_summed():
    """3 x 10.05 at 8.875%: 0.8919 rounds to 0.89 on each line = 2.67; on the total it would be 2.68."""
    _, client, _ = demo()
    lines = [item("4000", "1", "10.05", TaxType="TAX001") for _ in range(3)]
    created = authorised_invoice(client, *lines, LineAmountTypes="Exclusive")

    assert [li["TaxAmount"] for li in created["LineItems"]] == [D("0.89")] * 3
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (D("30.15"), D("2.67"), D("32.82"))
    assert created["AmountDue"] == D("32.82") and created["AmountPaid"] == 0


def test_unit_amounts_keep_four_decimals_only_with_unitdp_4():
    _, client, _ = demo()
    body = invoice(item("4000", "3", "1.2345"), number="TT-4")
    four = only(send(client, "PUT", "/Invoices", body, unitdp=4), "Invoices")["LineItems"][0]
    body = invoice(item("4000", "3", "1.2345"), number="TT-2")
    two = only(send(client, "PUT", "/Invoices", body), "Invoices")["LineItems"][0]

    assert (four["UnitAmount"], four["LineAmount"]) == (D("1.2345"), D("3.70"))
    assert (two["UnitAmount"], two["LineAmount"]) == (D("1.23"), D("3.69"))


def test_item_codes_must_exist():
    sandbox, client, _ = demo()
    sandbox.add_item("SKU-1", "Blue mug")
    known = authorised_invoice(client, item("4000", "1", "9.00", ItemCode="SKU-1"), number="TT-5")
    unknown = only(
        send(client, "PUT", "/Invoices", invoice(item("4000", "1", "9.00", ItemCode="SKU-X"), number="TT-6")),
        "Invoices",
    )
    assert known["LineItems"][0]["Item"]["Code"] == "SKU-1"
    assert messages(unknown) == ["Item code 'SKU-X' is not valid."]


def test_a_payment_larger_than_what_is_outstanding_is_rejected_and_an_exact_one_pays_the_invoice():
    sandbox, client, _ = demo()
    created = authorised_invoice(client)  # 100.00
    too_much = {
        "Invoice": {"InvoiceID": created["InvoiceID"]},
        "Account": {"Code": "1210"},
        "Amount": D("100.01"),
    }
    exact = {**too_much, "Amount": D("100.00"), "Date": "2024-03-02"}

    refused = only(send(client, "PUT", "/Payments", {"Payments": [too_much]}), "Payments")
    paid = only(send(client, "PUT", "/Payments", {"Payments": [exact]}), "Payments")

    assert messages(refused) == ["Payment amount exceeds the amount outstanding on this document"]
    assert paid["StatusAttributeString"] == "OK" and paid["PaymentType"] == "ACCRECPAYMENT"
    stored = sandbox.invoices[0]
    assert (stored["Status"], stored["AmountDue"], stored["AmountPaid"]) == ("PAID", 0, 100.0)
    assert [p["Amount"] for p in sandbox.payments] == [100.0]


def test_payments_need_a_bank_account_or_one_with_payments_enabled_and_an_authorised_document():
    _, client, _ = demo()
    created = authorised_invoice(client)
    draft = only(send(client, "PUT", "/Invoices", invoice(number="TT-9", Status="DRAFT")), "Invoices")
    to_reserve = {
        "Invoice": {"InvoiceID": created["InvoiceID"]},
        "Account": {"Code": "1220"},
        "Amount": D("1"),
    }
    to_draft = {"Invoice": {"InvoiceID": draft["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": D("1")}

    reserve = only(send(client, "PUT", "/Payments", {"Payments": [to_reserve]}), "Payments")
    drafted = only(send(client, "PUT", "/Payments", {"Payments": [to_draft]}), "Payments")

    assert messages(reserve) == [
        "Account code '1220' is not a bank account and does not have payments enabled."
    ]
    assert messages(drafted) == ["Payments can only be made against Authorised documents."]


def test_a_paid_invoice_cannot_be_voided_until_its_payment_is_deleted():
    sandbox, client, _ = demo()
    created = authorised_invoice(client)
    payment = {"Invoice": {"InvoiceID": created["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": D("40")}
    payment_id = only(send(client, "PUT", "/Payments", {"Payments": [payment]}), "Payments")["PaymentID"]
    void = {"Invoices": [{"Status": "VOIDED"}]}

    refused = only(send(client, "POST", f"/Invoices/{created['InvoiceID']}", void), "Invoices")
    deleted = only(send(client, "POST", f"/Payments/{payment_id}", {"Status": "DELETED"}), "Payments")
    voided = only(send(client, "POST", f"/Invoices/{created['InvoiceID']}", void), "Invoices")

    assert messages(refused) == [
        "This document cannot be voided because payments or credit notes are applied to it."
    ]
    assert deleted["Status"] == "DELETED"
    assert voided["Status"] == "VOIDED" and sandbox.invoices[0]["AmountDue"] == 100.0


def test_drafts_can_be_deleted_but_an_authorised_invoice_only_voided():
    sandbox, client, _ = demo()
    draft = only(send(client, "PUT", "/Invoices", invoice(number="TT-7", Status="DRAFT")), "Invoices")
    approved = authorised_invoice(client, number="TT-8")
    delete = {"Invoices": [{"Status": "DELETED"}]}

    gone = only(send(client, "POST", f"/Invoices/{draft['InvoiceID']}", delete), "Invoices")
    kept = only(send(client, "POST", f"/Invoices/{approved['InvoiceID']}", delete), "Invoices")

    assert gone["Status"] == "DELETED"
    assert messages(kept) == ["Invoice not of valid status for modification"]
    assert [i["Status"] for i in sandbox.invoices] == ["DELETED", "AUTHORISED"]


def test_a_credit_note_allocation_updates_both_documents():
    sandbox, client, _ = demo()
    target = authorised_invoice(client)  # 100.00 to TikTok Shop
    note = {"Type": "ACCRECCREDIT", "Contact": {"Name": "TikTok Shop"}, "Date": "2024-03-01", "Status": "AUTHORISED",
            "LineItems": [item("4030", "1", "30.00")]}  # fmt: skip
    credit = only(send(client, "PUT", "/CreditNotes", {"CreditNotes": [note]}), "CreditNotes")
    allocation = {"Amount": D("30.00"), "Date": "2024-03-02", "Invoice": {"InvoiceID": target["InvoiceID"]}}

    response = send(
        client, "PUT", f"/CreditNotes/{credit['CreditNoteID']}/Allocations", {"Allocations": [allocation]}
    )

    assert only(response, "Allocations")["StatusAttributeString"] == "OK"
    stored_note, stored_invoice = sandbox.credit_notes[0], sandbox.invoices[0]
    assert (stored_note["RemainingCredit"], stored_note["Status"]) == (0, "PAID")
    assert (stored_invoice["AmountCredited"], stored_invoice["AmountDue"]) == (30.0, 70.0)
    assert stored_invoice["CreditNotes"][0]["CreditNoteID"] == credit["CreditNoteID"]


def test_an_allocation_must_fit_both_documents_and_the_same_contact():
    _, client, _ = demo()
    small = authorised_invoice(client, item("4000", "1", "10.00"), number="TT-1")
    other = authorised_invoice(client, number="TT-2", contact="Someone else")
    note = {"Type": "ACCRECCREDIT", "Contact": {"Name": "TikTok Shop"}, "Status": "AUTHORISED",
            "LineItems": [item("4030", "1", "30.00")]}  # fmt: skip
    credit = only(send(client, "PUT", "/CreditNotes", {"CreditNotes": [note]}), "CreditNotes")
    path = f"/CreditNotes/{credit['CreditNoteID']}/Allocations"

    def allocate(invoice_id: str, amount: str) -> list[str]:
        body = {
            "Allocations": [{"Amount": D(amount), "Date": "2024-03-02", "Invoice": {"InvoiceID": invoice_id}}]
        }
        return messages(only(send(client, "PUT", path, body), "Allocations"))

    assert allocate(small["InvoiceID"], "10.01") == [
        "The amount to allocate exceeds the amount due on the invoice."
    ]
    assert allocate(other["InvoiceID"], "5.00") == [
        "The credit note and the invoice must belong to the same contact."
    ]
    assert allocate(small["InvoiceID"], "10.00") == []
    assert allocate(small["InvoiceID"], "1.00") == [
        "Credit notes can only be allocated from and to Authorised documents."
    ]


def test_credit_note_remaining_credit_limits_allocations():
    _, client, _ = demo()
    big = authorised_invoice(client, item("4000", "1", "500.00"))
    note = {"Type": "ACCRECCREDIT", "Contact": {"Name": "TikTok Shop"}, "Status": "AUTHORISED",
            "LineItems": [item("4030", "1", "30.00")]}  # fmt: skip
    credit = only(send(client, "PUT", "/CreditNotes", {"CreditNotes": [note]}), "CreditNotes")
    body = {
        "Allocations": [
            {"Amount": D("30.01"), "Date": "2024-03-02", "Invoice": {"InvoiceID": big["InvoiceID"]}}
        ]
    }
    refused = only(
        send(client, "PUT", f"/CreditNotes/{credit['CreditNoteID']}/Allocations", body), "Allocations"
    )
    assert messages(refused) == ["The amount to allocate exceeds the remaining credit on this credit note."]
