"""Tax the source states is the tax posted (issue 5 item 3; planning/source_tax.py).

Built from StatementFacts directly, so the raw page shape does not matter here.
"""

import dataclasses
from datetime import date
from decimal import Decimal

from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction
from reconciliation.planning.source_tax import XERO_TAX_TOLERANCE, inclusive_tax, split_for_stated_tax
from reconciliation.planning.statement_journal import plan_statement_journal
from reconciliation.planning.types import ComponentRule
from tests.reconciliation.planning_fixtures import UK_SHOP, US_SHOP, org

D = Decimal

RULES = {
    "revenue.subtotal_before_discount_amount": ComponentRule("4000", "OUTPUT2", description="Sales"),
    "fee.platform_commission_amount": ComponentRule("6100", "INPUT2", description="Commission"),
    "tax.vat_amount": ComponentRule("6100", "INPUT2", description="VAT on commission"),
}


def order(n: int, sale: str = "3.99", commission: str = "-0.33", vat: str = "-0.07") -> StatementTransaction:
    parts = [
        ("revenue.subtotal_before_discount_amount", D(sale)),
        ("fee.platform_commission_amount", D(commission)),
        ("tax.vat_amount", D(vat)),
    ]
    txn_id = f"t{n}"
    components = tuple(Component(name, amount, txn_id) for name, amount in parts if amount)
    return StatementTransaction(
        txn_id, "ORDER", f"o{n}", sum((c.amount for c in components), D(0)), components
    )


def statement(*transactions: StatementTransaction) -> StatementFacts:
    total = sum((t.settlement_amount for t in transactions), D(0))
    return StatementFacts("S-1", date(2025, 11, 15), "GBP", total, transactions)


def journal_lines(result):
    (document,) = result.documents
    return [
        (line["AccountCode"], line.get("TaxType"), line["LineAmount"], line.get("TaxAmount"))
        for line in document.payload["JournalLines"]
    ]


def test_uk_fee_line_carries_the_vat_tiktok_charged_not_the_rate_of_the_gross():
    result = plan_statement_journal(
        statement(*(order(n) for n in range(12))), shop=UK_SHOP, rules=RULES, org=org("GBP")
    )

    assert result.problems == ()
    assert journal_lines(result) == [
        ("4000", "OUTPUT2", D("-47.88"), D("-7.98")),  # no stated tax: rate, half up per line
        ("6100", "INPUT2", D("4.80"), D("0.84")),  # 12 x 0.07 stated; the rate would give 0.80
        ("1210", "NONE", D("43.08"), D("0.00")),
    ]
    (note,) = result.information
    assert note.code == "SOURCE_TAX"
    assert note.details == {
        "account": "6100",
        "tax_type": "INPUT2",
        "gross": "4.80",
        "computed": "0.80",
        "stated": "0.84",
        "lines": 1,
        "components": ["tax.vat_amount"],
    }
    assert "0.84" in note.message and "0.80" in note.message and "6100" in note.message


def test_the_journal_still_balances_exactly_and_clearing_moves_by_the_settlement():
    facts = statement(*(order(n) for n in range(12)))
    result = plan_statement_journal(facts, shop=UK_SHOP, rules=RULES, org=org("GBP"))
    amounts = [amount for _, _, amount, _ in journal_lines(result)]
    assert sum(amounts) == D("0.00") and all(isinstance(a, Decimal) for a in amounts)
    assert amounts[-1] == facts.settlement_amount == D("43.08")


def test_stated_tax_beyond_xeros_tolerance_is_split_over_lines_of_the_same_account():
    """30 orders: gross 12.00, the rate gives 2.00, TikTok states 2.10; 0.10 > 0.05 needs two lines."""
    result = plan_statement_journal(
        statement(*(order(n) for n in range(30))), shop=UK_SHOP, rules=RULES, org=org("GBP")
    )

    assert result.problems == ()
    lines = journal_lines(result)
    assert lines[1:3] == [
        ("6100", "INPUT2", D("6.00"), D("1.05")),
        ("6100", "INPUT2", D("6.00"), D("1.05")),
    ]
    for _, _, gross, tax in lines[1:3]:
        assert abs(tax - inclusive_tax(gross, D(20))) <= XERO_TAX_TOLERANCE
    assert sum(gross for _, _, gross, _ in lines[1:3]) == D("12.00")
    assert sum(tax for _, _, _, tax in lines[1:3]) == D("2.10")
    assert lines[-1] == ("1210", "NONE", D("107.70"), D("0.00"))
    assert sum(gross for _, _, gross, _ in lines) == 0
    descriptions = [line["Description"] for line in result.documents[0].payload["JournalLines"][1:3]]
    assert descriptions == [
        "Commission, VAT on commission (part 1 of 2)",
        "Commission, VAT on commission (part 2 of 2)",
    ]
    assert result.information[0].details["lines"] == 2


def test_without_stated_tax_each_line_is_computed_from_its_rate_half_up_as_before():
    facts = statement(*(order(n, vat="0") for n in range(12)))  # 12 x (3.99 - 0.33) = 43.92
    result = plan_statement_journal(facts, shop=UK_SHOP, rules=RULES, org=org("GBP"))

    assert journal_lines(result) == [
        ("4000", "OUTPUT2", D("-47.88"), D("-7.98")),
        ("6100", "INPUT2", D("3.96"), D("0.66")),
        ("1210", "NONE", D("43.92"), D("0.00")),
    ]
    assert result.information == ()


def test_stated_tax_equal_to_the_rate_needs_no_note():
    facts = statement(*(order(n, commission="-4.00", vat="-0.80") for n in range(2)))
    result = plan_statement_journal(facts, shop=UK_SHOP, rules=RULES, org=org("GBP"))
    assert ("6100", "INPUT2", D("9.60"), D("1.60")) in journal_lines(result)
    assert result.information == ()


def test_a_tax_component_mapped_to_its_own_account_is_an_amount_not_a_lines_tax():
    rules = {**RULES, "tax.vat_amount": ComponentRule("2210", "NONE", description="VAT paid by TikTok")}
    organisation = org("GBP")
    organisation.accounts["2210"] = dataclasses.replace(organisation.accounts["1210"], code="2210")
    result = plan_statement_journal(
        statement(*(order(n) for n in range(12))), shop=UK_SHOP, rules=rules, org=organisation
    )
    assert journal_lines(result) == [
        ("4000", "OUTPUT2", D("-47.88"), D("-7.98")),
        ("6100", "INPUT2", D("3.96"), D("0.66")),
        ("2210", "NONE", D("0.84"), D("0.00")),
        ("1210", "NONE", D("43.08"), D("0.00")),
    ]
    assert result.information == ()


def test_stated_tax_on_a_zero_rated_line_stays_in_the_amount_and_is_shown():
    rules = {
        **RULES,
        "fee.platform_commission_amount": ComponentRule("6100", "NONE"),
        "tax.vat_amount": ComponentRule("6100", "NONE"),
    }
    result = plan_statement_journal(
        statement(*(order(n) for n in range(12))), shop=UK_SHOP, rules=rules, org=org("GBP")
    )
    assert ("6100", "NONE", D("4.80"), D("0.00")) in journal_lines(result)
    (note,) = result.information
    assert "NONE carries no tax" in note.message


def test_stated_tax_that_no_split_can_carry_holds_the_statement():
    """One order stating 1.00 of VAT on 4.80 (the rate gives 0.80) is not a rounding gap."""
    facts = statement(order(1, commission="-3.80", vat="-1.00"))
    result = plan_statement_journal(facts, shop=UK_SHOP, rules=RULES, org=org("GBP"))
    assert result.documents == ()
    (problem,) = result.problems
    assert problem.code == "INVALID_MAPPING"
    assert "1.00" in problem.message and "0.80" in problem.message and "tax.vat_amount" in problem.message


def test_without_an_organisation_the_stated_tax_is_sent_unchecked_and_said_so():
    result = plan_statement_journal(
        statement(*(order(n) for n in range(30))), shop=UK_SHOP, rules=RULES, org=None
    )
    assert ("6100", "INPUT2", D("12.00"), D("2.10")) in journal_lines(result)
    assert "stated tax within Xero's per-line tolerance of the tax rate" in result.skipped_checks


def test_a_notax_shop_ignores_stated_tax_the_amounts_post_gross():
    shop = dataclasses.replace(US_SHOP, currency="GBP")
    result = plan_statement_journal(
        statement(*(order(n) for n in range(12))), shop=shop, rules=RULES, org=org("GBP")
    )
    assert journal_lines(result) == [
        ("4000", "OUTPUT2", D("-47.88"), None),
        ("6100", "INPUT2", D("4.80"), None),
        ("1210", None, D("43.08"), None),
    ]
    assert result.information == ()


def test_split_spreads_the_gap_a_cent_at_a_time_and_sums_exactly():
    parts = split_for_stated_tax(D("100.01"), D("16.90"), D(20), max_lines=10)
    assert parts is not None and len(parts) == 5  # rate gives 16.67: a gap of 0.23 needs 5 lines
    assert sum(g for g, _ in parts) == D("100.01") and sum(t for _, t in parts) == D("16.90")
    assert all(abs(t - inclusive_tax(g, D(20))) <= XERO_TAX_TOLERANCE for g, t in parts)
    assert split_for_stated_tax(D("100.01"), D("16.90"), D(20), max_lines=4) is None
    negative = split_for_stated_tax(D("-12.00"), D("-2.10"), D(20), max_lines=30)
    assert negative == [(D("-6.00"), D("-1.05")), (D("-6.00"), D("-1.05"))]


def test_the_preview_output_shows_the_stated_and_computed_tax():
    from reconciliation.management.commands.preview import _as_output

    result = plan_statement_journal(
        statement(*(order(n) for n in range(12))), shop=UK_SHOP, rules=RULES, org=org("GBP")
    )
    (shown,) = _as_output(result)["information"]
    assert shown["code"] == "SOURCE_TAX"
    assert (shown["details"]["computed"], shown["details"]["stated"]) == ("0.80", "0.84")


def test_which_components_are_a_lines_stated_tax():
    from reconciliation.planning.source_tax import is_line_tax

    stated = ["tax.vat_amount", "tax.local_vat_amount", "tax.gst_amount", "tax.sst_amount"]
    stated += ["tax.import_vat_amount", "fee.platform_commission_tax", "fee.sfp_service_fee_tax_amount"]
    amounts = ["tax.customs_clearance_amount", "tax.customs_duty_amount", "tax.anti_dumping_duty_amount"]
    amounts += ["tax.pit_amount", "tax.isr_amount", "tax.iva_amount", "fee.transaction_fee_amount"]
    amounts += ["revenue.subtotal_before_discount_amount", "fee.unclassified"]
    assert [name for name in stated + amounts if is_line_tax(name)] == stated


def test_a_duty_on_a_taxed_line_joins_its_gross_and_the_rate_computes_the_tax():
    duty = Component("tax.customs_duty_amount", D("-0.84"), "t1")
    fee = Component("fee.platform_commission_amount", D("-3.96"), "t1")
    sale = Component("revenue.subtotal_before_discount_amount", D("47.88"), "t1")
    txn = StatementTransaction("t1", "ORDER", "o1", D("43.08"), (sale, fee, duty))
    rules = {**RULES, "tax.customs_duty_amount": ComponentRule("6100", "INPUT2")}
    result = plan_statement_journal(statement(txn), shop=UK_SHOP, rules=rules, org=org("GBP"))
    assert ("6100", "INPUT2", D("4.80"), D("0.80")) in journal_lines(result)
    assert result.information == ()


def test_without_stated_tax_a_half_cent_rounds_up_on_its_line():
    """99.99 incl. 20% holds 16.665 of VAT: half up gives 16.67 (banker's rounding would give 16.66)."""
    facts = statement(order(1, sale="99.99", commission="-24.99", vat="0"))
    result = plan_statement_journal(facts, shop=UK_SHOP, rules=RULES, org=org("GBP"))
    assert journal_lines(result)[:2] == [
        ("4000", "OUTPUT2", D("-99.99"), D("-16.67")),
        ("6100", "INPUT2", D("24.99"), D("4.17")),
    ]
