"""A manual journal line's own TaxAmount, as the sandbox judges it (sandbox_journals.py).

The tolerance is an assumption (Xero publishes none); the planner and the sandbox must agree on it.
"""

import json
from decimal import Decimal

import pytest

from connectors.xero.client import dumps
from connectors.xero.sandbox_journals import TAX_AMOUNT_TOLERANCE
from reconciliation.planning.source_tax import XERO_TAX_TOLERANCE
from reconciliation.planning.statement_journal import plan_statement_journal
from tests.connectors.xero.test_sandbox_support import demo, journal, line, messages, only, send
from tests.reconciliation.planning_fixtures import UK_SHOP, org
from tests.reconciliation.test_source_tax import RULES, order, statement

D = Decimal


def test_planner_and_sandbox_assume_the_same_tolerance():
    assert TAX_AMOUNT_TOLERANCE == XERO_TAX_TOLERANCE == D("0.05")


def test_the_uk_statement_with_tiktoks_vat_on_fees_is_accepted_and_every_body_matches_xeros_spec(
    xero_spec_path,
):
    sandbox, client, _ = demo("GBP", spec_path=xero_spec_path)
    body = journal(
        line("4000", "-47.88", TaxType="OUTPUT2", TaxAmount=D("-7.98")),
        line("6100", "4.80", TaxType="INPUT2", TaxAmount=D("0.84")),  # the rate gives 0.80
        line("1210", "43.08", TaxType="NONE", TaxAmount=D("0.00")),
        LineAmountTypes="Inclusive",
    )

    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")

    assert created["StatusAttributeString"] == "OK", messages(created)
    assert [(j["AccountCode"], j["LineAmount"], j["TaxAmount"]) for j in created["JournalLines"]] == [
        ("4000", D("-47.88"), D("-7.98")),
        ("6100", D("4.80"), D("0.84")),
        ("1210", D("43.08"), D("0")),
    ]
    assert sandbox.spec_checked and sandbox.spec_violations == []


@pytest.mark.parametrize(
    ("gross", "sent", "accepted"),
    [
        ("12.00", "2.05", True),  # 2.00 computed: 0.05 off is the most Xero is assumed to take
        ("12.00", "1.95", True),
        ("12.00", "2.06", False),
        ("-12.00", "-2.06", False),
        ("-12.00", "-1.95", True),
    ],
)
def test_a_tax_amount_is_taken_within_the_tolerance_and_refused_beyond_it(gross, sent, accepted):
    sandbox, client, _ = demo("GBP")
    body = journal(
        line("6100", gross, TaxType="INPUT2", TaxAmount=D(sent)),
        line("1210", str(-D(gross)), TaxType="NONE"),
        LineAmountTypes="Inclusive",
    )
    element = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    if accepted:
        assert element["StatusAttributeString"] == "OK"
        assert element["JournalLines"][0]["TaxAmount"] == D(sent)
    else:
        expected = "-2.00" if gross.startswith("-") else "2.00"
        assert messages(element) == [
            f"Tax amount {sent} is incorrect for INPUT2 tax type, should be {expected}"
        ]
        assert sandbox.manual_journals == []


def test_the_stated_tax_on_one_line_beyond_tolerance_is_refused():
    """Why the planner splits: 30 orders state 2.10 of VAT on 12.00 of fees, the rate gives 2.00."""
    _, client, _ = demo("GBP")
    body = journal(
        line("6100", "12.00", TaxType="INPUT2", TaxAmount=D("2.10")),
        line("1210", "-12.00", TaxType="NONE"),
        LineAmountTypes="Inclusive",
    )
    failed = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    assert messages(failed) == ["Tax amount 2.10 is incorrect for INPUT2 tax type, should be 2.00"]


def test_the_planners_split_journal_is_accepted_with_the_stated_totals(xero_spec_path):
    sandbox, client, _ = demo("GBP", spec_path=xero_spec_path)
    plan = plan_statement_journal(
        statement(*(order(n) for n in range(30))), shop=UK_SHOP, rules=RULES, org=org("GBP")
    )
    (document,) = plan.documents

    body = json.loads(dumps({"ManualJournals": [document.payload]}), parse_float=Decimal)
    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")

    assert created["StatusAttributeString"] == "OK", messages(created)
    fees = [j for j in created["JournalLines"] if j["AccountCode"] == "6100"]
    assert len(fees) == 2
    assert sum(j["LineAmount"] for j in fees) == D("12.00")
    assert sum(j["TaxAmount"] for j in fees) == D("2.10")
    assert sandbox.spec_violations == []


def test_tax_amounts_on_a_notax_journal_are_ignored_not_judged():
    _, client, _ = demo("GBP")
    body = journal(
        line("6100", "12.00", TaxType="INPUT2", TaxAmount=D("5.00")),
        line("1210", "-12.00"),
    )
    created = only(send(client, "PUT", "/ManualJournals", body), "ManualJournals")
    assert created["StatusAttributeString"] == "OK"
