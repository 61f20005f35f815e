import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.planning.statement_journal import assert_balanced, plan_statement_journal
from reconciliation.planning.types import ComponentRule
from tests.reconciliation.planning_fixtures import UK_RULES, UK_SHOP, US_RULES, US_SHOP, load_pages, org
from tests.support.tiktok import restate

D = Decimal


def plan(pages, shop=US_SHOP, rules=US_RULES, organisation=None):
    facts, problems = statement_facts(pages, timezone="UTC")
    assert problems == [], problems
    return plan_statement_journal(facts, shop=shop, rules=rules, org=organisation)


def lines_by_account(journal):
    return [(line["AccountCode"], line["LineAmount"]) for line in journal["JournalLines"]]


def test_worked_us_order_plans_exactly_the_design_journal():
    result = plan(load_pages("us_worked_order_statement.json"), organisation=org("USD"))

    assert result.problems == ()
    (journal,) = result.documents
    assert journal.kind == "ManualJournals"
    assert lines_by_account(journal.payload) == [
        ("4000", D("-235.95")),
        ("4010", D("35.39")),
        ("5100", D("7.93")),
        ("4020", D("-6.50")),
        ("6100", D("32.09")),
        ("1210", D("167.04")),
    ]
    assert journal.payload["LineAmountTypes"] == "NoTax"
    assert journal.payload["Date"] == "2025-11-15"
    assert "7301000000000000001" in journal.payload["Narration"]
    assert sum(amount for _, amount in lines_by_account(journal.payload)) == 0


def test_supplementary_amounts_are_information_not_postings():
    facts, _ = statement_facts(load_pages("us_worked_order_statement.json"))
    names = {c.name for c in facts.components()}
    assert not any("customer_payment" in n or "platform_discount" in n or "sales_tax" in n for n in names)
    assert facts.transactions[0].information["supplementary_component"]["sales_tax_amount"] == "14.04"


def test_uk_vat_inclusive_statement_with_refund_and_adjustments_plans_per_tax_type_lines():
    result = plan(load_pages("uk_vat_refund_adjustments_statement.json"), UK_SHOP, UK_RULES, org("GBP"))

    assert result.problems == ()
    (journal,) = result.documents
    lines = [
        (line["AccountCode"], line["TaxType"], line["LineAmount"], line["TaxAmount"])
        for line in journal.payload["JournalLines"]
    ]
    assert lines == [
        ("4000", "OUTPUT2", D("-78.98"), D("-13.16")),
        ("4010", "OUTPUT2", D("5.00"), D("0.83")),
        ("5100", "INPUT2", D("8.95"), D("1.49")),
        ("6100", "INPUT2", D("5.90"), D("0.98")),
        ("4020", "NONE", D("-2.50"), D("0.00")),
        ("4030", "OUTPUT2", D("24.99"), D("4.17")),  # 24.99/6 = 4.165: Xero rounds half up per line
        ("4040", "NONE", D("-5.00"), D("0.00")),
        ("1210", "NONE", D("41.64"), D("0.00")),
    ]
    assert journal.payload["LineAmountTypes"] == "Inclusive"


def test_transactions_that_do_not_add_up_to_the_statement_hold_it():
    pages = load_pages("us_worked_order_statement.json")
    pages[0]["data"]["total_settlement_amount"] = pages[0]["data"]["payable_amount"] = "167.05"
    _, problems = statement_facts(pages)
    assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
    assert "167.04" in problems[0].message and "167.05" in problems[0].message


def test_groups_that_do_not_add_up_to_the_transaction_hold_it():
    pages = load_pages("us_worked_order_statement.json")
    txn = pages[0]["data"]["transactions"][0]
    txn["settlement_amount"] = "170.00"
    restate(pages[0]["data"])
    _, problems = statement_facts(pages)
    assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
    assert "7301000000000000101" in problems[0].message


def test_missing_page_holds_the_statement():
    pages = load_pages("us_worked_order_statement.json")
    pages[0]["data"]["total_count"] = 2
    _, problems = statement_facts(pages)
    assert any("2 transactions" in p.message for p in problems)


def test_unmapped_component_holds_the_statement_naming_it():
    rules = {k: v for k, v in US_RULES.items() if k != "fee.transaction_fee_amount"}
    result = plan(load_pages("us_worked_order_statement.json"), rules=rules)
    assert result.documents == ()
    assert [p.code for p in result.problems] == ["UNMAPPED_COMPONENT"]
    assert "fee.transaction_fee_amount" in result.problems[0].message


def test_unknown_field_that_changes_the_sum_surfaces_as_unclassified_naming_it():
    pages = load_pages("us_worked_order_statement.json")
    txn = pages[0]["data"]["transactions"][0]
    txn["fee_tax_breakdown"]["fee"]["brand_new_service_fee_amount"] = "-1.00"
    txn["fee_tax_amount"] = "-33.09"
    txn["settlement_amount"] = "166.04"
    restate(pages[0]["data"])

    result = plan(pages)

    assert [p.code for p in result.problems] == ["UNMAPPED_COMPONENT"]
    message = result.problems[0].message
    assert "fee.unclassified" in message and "fee.brand_new_service_fee_amount=-1.00" in message


def test_unknown_explanatory_field_that_does_not_change_the_sum_is_kept_as_information():
    pages = load_pages("us_worked_order_statement.json")
    pages[0]["data"]["transactions"][0]["fee_tax_breakdown"]["fee"]["referral_fee_amount_before_pit"] = (
        "-23.59"
    )
    facts, problems = statement_facts(pages)
    assert problems == []
    assert facts.transactions[0].information["fee.referral_fee_amount_before_pit"] == "-23.59"
    assert plan(pages).problems == ()


def test_float_amounts_are_rejected_not_guessed():
    pages = load_pages("us_worked_order_statement.json")
    pages[0]["data"]["transactions"][0]["revenue_breakdown"]["seller_discount_amount"] = -35.39
    facts, problems = statement_facts(pages)
    assert facts is None
    assert problems[0].code == "SOURCE_INCONSISTENT" and "-35.39" in problems[0].message


def test_shop_currency_differing_from_xero_base_currency_is_held():
    result = plan(load_pages("us_worked_order_statement.json"), organisation=org("GBP"))
    assert result.documents == ()
    assert [p.code for p in result.problems] == ["CURRENCY_MISMATCH"]


@pytest.mark.parametrize(
    ("period", "year_end", "proposed"),
    [
        (date(2025, 11, 15), None, date(2025, 11, 16)),  # on the lock date is locked
        (date(2025, 11, 30), date(2025, 12, 31), date(2026, 1, 1)),  # the later of the two
    ],
)
def test_statement_on_or_before_lock_date_is_held_with_proposed_date(period, year_end, proposed):
    result = plan(
        load_pages("us_worked_order_statement.json"),
        organisation=org(period_lock=period, year_end_lock=year_end),
    )
    assert len(result.documents) == 1  # planned, so finance can approve it re-dated
    (problem,) = result.problems
    assert problem.code == "LOCK_DATE" and problem.proposed_date == proposed


def test_statement_after_lock_date_is_not_held():
    result = plan(
        load_pages("us_worked_order_statement.json"), organisation=org(period_lock=date(2025, 11, 14))
    )
    assert result.problems == ()


def test_without_an_organisation_it_plans_and_says_what_it_could_not_check():
    result = plan(load_pages("us_worked_order_statement.json"))
    assert len(result.documents) == 1
    assert "lock dates" in result.skipped_checks


def test_map_pointing_at_a_bank_account_or_wrong_tax_type_is_held_before_sending():
    rules = dict(US_RULES)
    rules["fee.transaction_fee_amount"] = ComponentRule("090")
    rules["fee.referral_fee_amount"] = ComponentRule("6100", "OUTPUT2")
    shop = dataclasses.replace(US_SHOP, line_amount_types="Inclusive")
    result = plan(load_pages("us_worked_order_statement.json"), shop=shop, rules=rules, organisation=org())
    messages = " | ".join(p.message for p in result.problems)
    assert {p.code for p in result.problems} == {"INVALID_MAPPING"}
    assert "bank account 090" in messages and "OUTPUT2 cannot be used on expense account 6100" in messages


def test_unbalanced_journal_is_refused():
    with pytest.raises(ValueError, match="does not balance"):
        assert_balanced(
            {"Narration": "x", "JournalLines": [{"LineAmount": D("1.00")}, {"LineAmount": D("-0.99")}]}
        )


def test_negative_statement_credits_clearing_and_its_payout_posts_no_bank_receipt():
    from reconciliation.domain.tiktok import PayoutFacts
    from reconciliation.planning.payout_receive import plan_payout_receive

    pages = load_pages("uk_vat_refund_adjustments_statement.json")
    data = pages[0]["data"]
    data["transactions"] = [t for t in data["transactions"] if t["id"].endswith(("103", "105"))]
    restate(data)
    assert data["total_settlement_amount"] == "-26.44"

    result = plan(pages, UK_SHOP, UK_RULES, org("GBP"))

    clearing = result.documents[0].payload["JournalLines"][-1]
    assert clearing["AccountCode"] == "1210" and clearing["LineAmount"] == D("-26.44")
    payout = PayoutFacts("p-neg", "PAID", D("-26.44"), "GBP", date(2025, 11, 16))
    assert plan_payout_receive(payout, shop=UK_SHOP, org=org("GBP")).documents == ()


def test_paid_payout_is_one_receive_into_the_bank_coded_to_clearing():
    from reconciliation.domain.tiktok import PayoutFacts
    from reconciliation.planning.payout_receive import plan_payout_receive

    payout = PayoutFacts("p-1", "PAID", D("167.04"), "USD", date(2025, 11, 17))
    (receive,) = plan_payout_receive(payout, shop=US_SHOP, org=org("USD")).documents
    assert receive.payload["Type"] == "RECEIVE" and receive.payload["BankAccount"] == {"Code": "090"}
    (line,) = receive.payload["LineItems"]
    assert line["AccountCode"] == "1210" and line["UnitAmount"] == D("167.04")
    unpaid = PayoutFacts("p-2", "PROCESSING", D("10.00"), "USD", None)
    assert plan_payout_receive(unpaid, shop=US_SHOP, org=org("USD")).documents == ()


def test_amounts_finer_than_the_currency_allows_are_held_not_rounded():
    pages = load_pages("us_worked_order_statement.json")
    txn = pages[0]["data"]["transactions"][0]
    txn["fee_tax_breakdown"]["fee"]["transaction_fee_amount"] = "-8.495"
    txn["fee_tax_breakdown"]["fee"]["referral_fee_amount"] = "-23.595"
    _, problems = statement_facts(pages)
    assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
    assert "-8.495" in problems[0].message


def test_an_envelope_without_data_is_held_not_a_crash():
    facts, problems = statement_facts([{"code": 0, "message": "Success", "data": None}])
    assert facts is None and problems[0].code == "SOURCE_INCONSISTENT"


def test_a_shop_in_a_mode_not_built_yet_is_held_not_posted_as_a_journal(monkeypatch):
    from reconciliation.planning import checks

    monkeypatch.setattr(checks, "BUILT_MODES", {"statement_journal"})  # as before order_invoices was built
    shop = dataclasses.replace(US_SHOP, posting_mode="order_invoices")
    result = plan(load_pages("us_worked_order_statement.json"), shop=shop)
    assert result.documents == ()
    assert [p.code for p in result.problems] == ["INVALID_MAPPING"] and "order_invoices" in result.problems[
        0
    ].message


def test_planners_are_chosen_by_channel_and_mode_and_an_unbuilt_pair_is_held():
    from reconciliation.planning.order_settlement import plan_order_invoices_statement
    from reconciliation.planning.registry import plan_statement, statement_planner

    assert statement_planner("tiktok", "statement_journal") is plan_statement_journal
    assert statement_planner("tiktok", "order_invoices") is plan_order_invoices_statement
    facts, _ = statement_facts(load_pages("us_worked_order_statement.json"))
    held = plan_statement(facts, channel="amazon_vendor", shop=US_SHOP, rules=US_RULES, org=org("USD"))
    assert held.documents == () and "no planner for amazon_vendor statements" in held.problems[0].message
    planned = plan_statement(facts, channel="tiktok", shop=US_SHOP, rules=US_RULES, org=org("USD"))
    assert planned == plan_statement_journal(facts, shop=US_SHOP, rules=US_RULES, org=org("USD"))
