"""What Xero stored is checked against the plan (DESIGN.md 3): amounts and, on taxed journals, VAT."""

from reconciliation.services.posting_outcomes import totals_mismatch

PLANNED = {
    "JournalLines": [
        {"LineAmount": "4.80", "AccountCode": "6100", "TaxType": "INPUT2", "TaxAmount": "0.84"},
        {"LineAmount": "-4.80", "AccountCode": "1210", "TaxType": "NONE", "TaxAmount": "0.00"},
    ]
}


def stored(tax: str) -> dict:
    return {
        "JournalLines": [
            {"LineAmount": 4.8, "AccountCode": "6100", "TaxAmount": float(tax)},
            {"LineAmount": -4.8, "AccountCode": "1210", "TaxAmount": 0.0},
        ]
    }


def test_the_same_amounts_and_tax_are_no_mismatch():
    assert totals_mismatch(PLANNED, stored("0.84")) == ""


def test_xero_recomputing_the_tax_is_reported():
    assert totals_mismatch(PLANNED, stored("0.80")) == "Xero holds 0.80 of tax on the journal, the plan 0.84"


def test_a_notax_journal_is_not_checked_for_tax():
    planned = {
        "JournalLines": [
            {k: v for k, v in line.items() if k != "TaxAmount"} for line in PLANNED["JournalLines"]
        ]
    }
    assert totals_mismatch(planned, stored("0.80")) == ""
