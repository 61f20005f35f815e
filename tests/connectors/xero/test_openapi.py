"""The OpenAPI check itself, against Xero's published file (skipped without it, failed under CI)."""

import json
from datetime import date, datetime

import pytest

from connectors.xero.openapi import SpecViolation, XeroSpec

JOURNAL = {
    "Narration": "n",
    "Date": "2024-03-01",
    "JournalLines": [{"LineAmount": 1.0, "AccountCode": "4000"}],
}
SERVED = [
    ("get", "/Organisation"),
    ("get", "/Accounts"),
    ("get", "/TaxRates"),
    ("get", "/Items"),
    ("get", "/Contacts"),
    ("get", "/ManualJournals"),
    ("put", "/ManualJournals"),
    ("get", "/ManualJournals/{ManualJournalID}"),
    ("get", "/BankTransactions"),
    ("put", "/BankTransactions"),
    ("get", "/Invoices"),
    ("put", "/Invoices"),
    ("get", "/CreditNotes"),
    ("put", "/CreditNotes"),
    ("put", "/CreditNotes/{CreditNoteID}/Allocations"),
    ("put", "/Payments"),
]


@pytest.fixture
def spec(xero_spec_path) -> XeroSpec:
    return XeroSpec.load(xero_spec_path)


def test_the_file_is_parsed_once_per_path(xero_spec_path):
    assert XeroSpec.load(xero_spec_path) is XeroSpec.load(str(xero_spec_path))


def test_operations_are_found_by_template_under_the_servers_prefix(spec):
    template, operation = spec.operation(
        "PUT", "https://api.xero.com/api.xro/2.0/CreditNotes/abc/Allocations"
    )
    assert template == "/CreditNotes/{CreditNoteID}/Allocations"
    assert operation["operationId"] == "createCreditNoteAllocation"
    assert (
        spec.operation("GET", "/api.xro/2.0/ManualJournals/x?page=1")[0]
        == "/ManualJournals/{ManualJournalID}"
    )


def test_an_operation_xero_does_not_have_is_a_violation(spec):
    with pytest.raises(SpecViolation, match="DELETE /Invoices is not an operation"):
        spec.validate_request("DELETE", "/Invoices", None)


def test_a_malformed_request_body_names_the_json_path(spec):
    body = {"ManualJournals": [{**JOURNAL, "JournalLines": "100 to sales"}]}
    with pytest.raises(SpecViolation) as caught:
        spec.validate_request("PUT", "/ManualJournals", body)
    assert caught.value.where == "$.ManualJournals[0].JournalLines"
    assert "is not of type 'array'" in str(caught.value)


def test_a_missing_required_field_and_a_string_amount_are_violations(spec):
    body = {"ManualJournals": [{"JournalLines": [{"LineAmount": "100.00", "AccountCode": "4000"}]}]}
    with pytest.raises(SpecViolation) as caught:
        spec.validate_request("PUT", "/ManualJournals", body)
    assert "'Narration' is a required property" in str(caught.value)
    assert "$.ManualJournals[0].JournalLines[0].LineAmount: '100.00' is not of type 'number'" in str(
        caught.value
    )


def test_read_only_fields_are_refused_in_requests_and_accepted_in_responses(spec):
    invoice = {"Type": "ACCREC", "Total": 10.0, "AmountDue": 10.0}
    with pytest.raises(
        SpecViolation, match=r"\$\.Invoices\[0\]\.AmountDue: Tried to write read-only property"
    ):
        spec.validate_request("PUT", "/Invoices", {"Invoices": [invoice]})
    spec.validate_response("PUT", "/Invoices", 200, {"Invoices": [invoice]})


def test_dates_are_xero_msdates_in_responses_and_may_be_iso_in_requests(spec):
    spec.validate_request("PUT", "/ManualJournals", {"ManualJournals": [JOURNAL]})
    with pytest.raises(
        SpecViolation, match=r"\$\.ManualJournals\[0\]\.Date: '2024-03-01' is not a date in Xero"
    ):
        spec.validate_response("GET", "/ManualJournals", 200, {"ManualJournals": [JOURNAL]})
    dated = {**JOURNAL, "Date": "/Date(1709251200000+0000)/"}
    spec.validate_response("GET", "/ManualJournals", 200, {"ManualJournals": [dated]})
    with pytest.raises(SpecViolation, match="is not a date"):
        spec.validate_request(
            "PUT", "/ManualJournals", {"ManualJournals": [{**JOURNAL, "Date": "01/03/2024"}]}
        )


def test_null_is_never_allowed_because_the_file_declares_nothing_nullable(spec):
    with pytest.raises(SpecViolation, match="None for not nullable"):
        spec.validate_request("PUT", "/ManualJournals", {"ManualJournals": [{**JOURNAL, "Narration": None}]})


def test_error_bodies_are_checked_against_xeros_error_schema(spec):
    spec.validate_response("PUT", "/ManualJournals", 400, {"ErrorNumber": 10, "Type": "ValidationException"})
    with pytest.raises(SpecViolation, match="ErrorNumber: '10' is not of type 'integer'"):
        spec.validate_response("PUT", "/ManualJournals", 400, {"ErrorNumber": "10"})
    spec.validate_response(
        "PUT", "/ManualJournals", 429, {"anything": "undocumented statuses are not checked"}
    )


@pytest.mark.parametrize(("method", "template"), SERVED)
def test_xeros_own_examples_pass_for_every_operation_the_sandbox_serves(spec, method, template):
    """Proves the checker is not stricter than Xero's own file (readOnly, msdate, formats)."""
    operation = spec.document["paths"][template][method]
    path = template.replace("{ManualJournalID}", "x").replace("{CreditNoteID}", "x")
    request_example = (
        operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
    )
    if request_example is not None:
        spec.validate_request(method, path, _as_json(request_example))
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    spec.validate_response(method, path, 200, _as_json(example))


def test_xeros_own_get_payments_example_contradicts_its_schema(spec):
    """A surprise worth pinning: the example sends BatchPayment amounts and flags as strings."""
    example = spec.document["paths"]["/Payments"]["get"]["responses"]["200"]["content"]["application/json"]
    with pytest.raises(SpecViolation, match=r"BatchPayment\.TotalAmount: '50\.00' is not of type 'number'"):
        spec.validate_response("GET", "/Payments", 200, _as_json(example["example"]))


def _as_json(example):
    """Examples as JSON would carry them (the YAML loader turns bare timestamps into datetimes)."""
    return json.loads(
        json.dumps(example, default=lambda v: v.isoformat() if isinstance(v, date | datetime) else v)
    )
