"""The normaliser reads TikTok's 202501 statement pages as TikTok describes them (specs/tiktok)."""

import copy
import json
from decimal import Decimal

import pytest

from connectors.tiktok.openapi import example_copy
from reconciliation.domain import tiktok_leaves as leaves
from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.planning.statement_journal import plan_statement_journal
from reconciliation.planning.types import ComponentRule
from tests.reconciliation.planning_fixtures import US_RULES, US_SHOP, load_pages, org
from tests.support.tiktok import restate

D = Decimal
SUBGROUPS = {
    "revenue_breakdown": [(None, leaves.REVENUE, set())],
    "shipping_cost_breakdown": [(None, leaves.SHIPPING, {"supplementary_component"})],
    "fee_tax_breakdown": [("fee", leaves.FEE | leaves.FEE_INFORMATION, set()), ("tax", leaves.TAX, set())],
}


def declared(schema: dict) -> set[str]:
    return set(schema.get("properties", {}))


def test_every_leaf_tiktok_declares_is_added_or_kept_as_information(tiktok_spec):
    txn = tiktok_spec.transaction_schema()["properties"]
    missing = []
    for breakdown, parts in SUBGROUPS.items():
        for sub, known, containers in parts:
            schema = txn[breakdown]["properties"][sub] if sub else txn[breakdown]
            missing += [f"{breakdown}.{sub or ''}.{leaf}" for leaf in declared(schema) - known - containers]
            extra = known - declared(schema) - containers
            assert not extra, f"{breakdown}.{sub}: listed but not in TikTok's description: {sorted(extra)}"
    shipping_info = txn["shipping_cost_breakdown"]["properties"]["supplementary_component"]
    missing += sorted(declared(shipping_info) - leaves.SHIPPING_SUPPLEMENTARY)
    missing += sorted(declared(txn["supplementary_component"]) - leaves.TRANSACTION_SUPPLEMENTARY)
    top = declared(tiktok_spec.transaction_schema())
    known_top = leaves.TRANSACTION_FIELDS | leaves.TRANSACTION_AMOUNTS | {"supplementary_component"}
    missing += sorted(top - known_top - set(SUBGROUPS))
    assert missing == [], f"TikTok declares leaves the normaliser neither adds nor keeps: {missing}"


def test_tiktoks_own_documentation_example_is_read_and_held_for_a_stated_reason(tiktok_spec):
    page = example_copy(
        tiktok_spec.response_schema("GET", "/finance/202501/statements/{statement_id}/statement_transactions")
    )
    facts, problems = statement_facts([page], timezone="UTC")

    assert facts is not None and facts.statement_id == "7238804564097517339"
    assert problems and all(p.code == "SOURCE_INCONSISTENT" for p in problems)
    assert not any("unreadable" in p.message for p in problems)
    # TikTok's own sample does not add up; each disagreement is named with both figures
    assert any("its settlement_amount is 130" in p.message for p in problems)


def statement_from_the_field_list(tiktok_spec) -> dict:
    """One ORDER transaction carrying every additive leaf TikTok declares, 0.01 each, and a matching
    page: what a statement built only from the description looks like."""
    schema = tiktok_spec.transaction_schema()["properties"]
    revenue = dict.fromkeys(declared(schema["revenue_breakdown"]), "0.01")
    shipping = dict.fromkeys(
        declared(schema["shipping_cost_breakdown"]) - {"supplementary_component"}, "-0.01"
    )
    shipping["supplementary_component"] = dict.fromkeys(leaves.SHIPPING_SUPPLEMENTARY, "9.99")
    fee_schema = schema["fee_tax_breakdown"]["properties"]
    fees = dict.fromkeys(declared(fee_schema["fee"]) - leaves.FEE_INFORMATION, "-0.01")
    fees |= dict.fromkeys(leaves.FEE_INFORMATION, "-7.77")
    taxes = dict.fromkeys(declared(fee_schema["tax"]), "-0.01")
    fee_tax = D("-0.01") * (len(fees) - len(leaves.FEE_INFORMATION) + len(taxes))
    txn = {
        "id": "1",
        "type": "ORDER",
        "order_id": "576463220456522968",
        "order_create_time": 1685548800,
        "revenue_amount": str(D("0.01") * len(revenue)),
        "revenue_breakdown": revenue,
        "shipping_cost_amount": str(D("-0.01") * (len(shipping) - 1)),
        "shipping_cost_breakdown": shipping,
        "fee_tax_amount": str(fee_tax),
        "fee_tax_breakdown": {"fee": fees, "tax": taxes},
        "adjustment_amount": "0",
        "supplementary_component": dict.fromkeys(leaves.TRANSACTION_SUPPLEMENTARY, "5.55"),
    }
    txn["settlement_amount"] = str(
        sum(D(txn[k]) for k in ("revenue_amount", "shipping_cost_amount", "fee_tax_amount"))
    )
    data = {"id": "7238804564097517339", "create_time": 1685548800, "status": "SETTLED", "currency": "GBP"}
    data |= {"next_page_token": "", "transactions": [txn]}
    return {"code": 0, "message": "Success", "request_id": "r", "data": restate(data)}


def test_a_statement_built_from_the_field_list_plans_every_additive_leaf_once(tiktok_spec):
    page = statement_from_the_field_list(tiktok_spec)
    tiktok_spec.validate_statement_page(page)
    facts, problems = statement_facts([page], timezone="Europe/London")
    assert problems == []
    names = {c.name for c in facts.components()}
    expected = {f"{p}.{leaf}" for p, group in leaves.component_names().items() for leaf in group}
    expected -= {"shipping.fbt_fulfillment_fee_reimbursement_amount"} - names  # declared in both places
    assert names == expected
    rules = {name: ComponentRule("6100") for name in names}
    shop = US_SHOP.__class__(**{**US_SHOP.__dict__, "currency": "GBP", "region": "GB"})
    result = plan_statement_journal(facts, shop=shop, rules=rules, org=org("GBP"))
    assert result.problems == ()
    (journal,) = result.documents
    assert sum(line["LineAmount"] for line in journal.payload["JournalLines"]) == 0


def test_a_group_total_its_leaves_do_not_explain_is_tiktoks_data_disagreeing_not_an_unmapped_component():
    pages = load_pages("us_worked_order_statement.json")
    txn = pages[0]["data"]["transactions"][0]
    txn["fee_tax_amount"], txn["settlement_amount"] = "-33.09", "166.04"
    restate(pages[0]["data"])

    facts, problems = statement_facts(pages)

    assert [p.code for p in problems] == ["SOURCE_INCONSISTENT"]
    assert "fee_tax leaves add up to -32.09, its fee_tax_amount is -33.09" in problems[0].message
    assert not any(c.name.endswith("unclassified") for c in facts.components())


def test_statement_breakdown_totals_are_checked_against_the_transactions_in_either_sign():
    pages = load_pages("us_worked_order_statement.json")
    breakdown = pages[0]["data"]["total_settlement_breakdown"]
    # TikTok's formula prints costs as subtracted: every cost total positive is one convention
    breakdown["total_fee_tax_amount"], breakdown["total_shipping_cost_amount"] = "32.09", "1.43"
    assert statement_facts(pages)[1] == []
    breakdown["total_shipping_cost_amount"] = "1.44"
    (problem,) = statement_facts(pages)[1]
    assert "shipping amounts add up to -1.43" in problem.message and "1.44" in problem.message
    # signed shipping beside subtracted fees fits neither convention
    breakdown["total_shipping_cost_amount"] = "-1.43"
    assert [p.code for p in statement_facts(pages)[1]] == ["SOURCE_INCONSISTENT"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda d: d["transactions"][0].__setitem__("revenue_breakdown", ["235.95"]),
            "revenue_breakdown is list",
        ),
        (lambda d: d["transactions"][0].__setitem__("settlement_amount", "1E+400"), "not a plain decimal"),
        (lambda d: d["transactions"].append("oops"), "transaction 2 is str, not an object"),
        (lambda d: d.__setitem__("total_settlement_amount", "1" + "0" * 21), "out of range"),
        (lambda d: d.__setitem__("create_time", "yesterday"), "not a unix time"),
        (lambda d: d.__setitem__("currency", ["USD"]), "not an ISO 4217 code"),
        (
            lambda d: d["transactions"][0]["fee_tax_breakdown"].__setitem__("fee", "none"),
            "is str, not an object",
        ),
    ],
)
def test_malformed_data_holds_the_statement_with_a_readable_reason(edit, reason):
    pages = load_pages("us_worked_order_statement.json")
    edit(pages[0]["data"])
    facts, problems = statement_facts(pages)
    assert facts is None
    (problem,) = problems
    assert problem.code == "SOURCE_INCONSISTENT" and reason in problem.message, problem.message


@pytest.mark.parametrize(
    "pages", [[], ["text"], [{"code": 0, "data": {"id": ""}}], [{"data": {"create_time": 1}}]]
)
def test_a_statement_without_an_id_is_held_never_planned_as_statement_question_mark(pages):
    facts, problems = statement_facts(copy.deepcopy(pages))
    assert facts is None and problems[0].code == "SOURCE_INCONSISTENT"
    reasons = ("no id", "not a JSON object", "no data", "no transaction pages")
    assert any(reason in problems[0].message for reason in reasons), problems[0].message


def test_the_worked_us_order_in_the_real_shape_still_plans_the_design_journal():
    facts, problems = statement_facts(
        load_pages("us_worked_order_statement.json"), timezone="America/Los_Angeles"
    )
    assert problems == []
    assert facts.settlement_amount == facts.payable_amount == D("167.04")
    assert facts.statement_date.isoformat() == "2025-11-14"  # 00:00 UTC on the 15th is the 14th in LA
    result = plan_statement_journal(facts, shop=US_SHOP, rules=US_RULES, org=org("USD"))
    amounts = [line["LineAmount"] for line in result.documents[0].payload["JournalLines"]]
    assert amounts == [D("-235.95"), D("35.39"), D("7.93"), D("-6.50"), D("32.09"), D("167.04")]
    assert json.dumps(facts.transactions[0].information["supplementary_component"])


@pytest.mark.django_db
def test_both_description_statements_run_through_the_preview_command(tiktok_spec, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from reconciliation.models import ComponentMapping, Shop

    Shop.objects.create(
        channel="tiktok", code="tt-uk", name="UK", region="GB", currency="GBP", clearing_account="1210"
    )
    example = example_copy(
        tiktok_spec.response_schema("GET", "/finance/202501/statements/{statement_id}/statement_transactions")
    )
    example |= {"code": 0, "message": "Success"}  # the description gives no example for these two
    built = statement_from_the_field_list(tiktok_spec)
    for name in {c.name for c in statement_facts([built])[0].components()}:
        ComponentMapping.objects.create(channel="tiktok", component=name, account_code="6100")
    results = {}
    for label, page in (("example", example), ("built", built)):
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(page))
        out, err = StringIO(), StringIO()
        try:
            call_command("preview", "tiktok-statement", str(path), "--shop", "tt-uk", stdout=out, stderr=err)
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        results[label] = (code, json.loads(out.getvalue()))

    code, output = results["example"]
    assert code == 2 and output["problems"]
    assert all(
        p["code"] == "SOURCE_INCONSISTENT" and "unreadable" not in p["message"] for p in output["problems"]
    )
    code, output = results["built"]
    assert code == 0 and output["problems"] == []
    assert [d["type"] for d in output["documents"]] == ["ManualJournal"]
