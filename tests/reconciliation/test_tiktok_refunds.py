"""Reading TikTok returns and cancellations as credits (domain/tiktok_refunds.py), from records in
TikTok's described shape (sandbox_order_data; the sandbox validates them against return_refund.json
whenever it serves them, and the end-to-end tests fetch them through it)."""

from datetime import date

import pytest

from connectors.tiktok.sandbox_order_data import cancellation_of, return_of, us_worked_order
from reconciliation.domain.tiktok_orders import order_facts
from reconciliation.domain.tiktok_refunds import is_credited, refund_facts

ORDER = us_worked_order()
FACTS = order_facts(ORDER, timezone="America/Los_Angeles")[0]
LINE = ORDER["line_items"][0]


def test_a_granted_return_credits_its_line_on_the_day_it_was_requested_in_the_shops_zone():
    raw = return_of(ORDER, LINE)
    assert is_credited(raw, "return")
    refund, problems = refund_facts(raw, kind="return", order=FACTS, timezone="America/Los_Angeles")
    assert problems == []
    assert refund.line_ids == (LINE["id"],) and refund.shipping is False
    assert refund.refund_id == raw["return_id"] and refund.order_id == ORDER["id"]
    # create_time 1763251200 is 2025-11-16 00:00 UTC: still the 15th in Los Angeles
    assert refund.refund_date == date(2025, 11, 15)


def test_a_whole_order_cancellation_credits_shipping_and_a_return_only_when_tiktok_refunds_it():
    cancellation, _ = refund_facts(cancellation_of(ORDER), kind="cancellation", order=FACTS, timezone="UTC")
    assert cancellation.shipping is True
    raw = return_of(ORDER, LINE)
    raw["refund_amount"]["refund_shipping_fee"] = "6.50"
    with_shipping, _ = refund_facts(raw, kind="return", order=FACTS, timezone="UTC")
    assert with_shipping.shipping is True


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("return", {"return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}),
        ("return", {"return_status": "REFUND_OR_RETURN_REQUEST_REJECT"}),
        ("return", {"return_status": "RETURN_OR_REFUND_REQUEST_CANCEL"}),
        ("return", {"return_type": "REPLACEMENT"}),
        ("cancellation", {"cancel_status": "CANCELLATION_REQUEST_PENDING"}),
        ("cancellation", {"cancel_status": "CANCELLATION_REQUEST_CANCEL"}),
    ],
)
def test_requests_tiktok_has_not_granted_as_a_refund_are_not_credited(kind, change):
    raw = (return_of(ORDER, LINE) if kind == "return" else cancellation_of(ORDER)) | change
    assert not is_credited(raw, kind)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r["return_line_items"][0].update(order_line_item_id="999"), "line(s) 999"),
        (lambda r: r["return_line_items"].append(dict(r["return_line_items"][0])), "lists a line item twice"),
        (lambda r: r["refund_amount"].update(refund_subtotal="100.00"), "refunds a subtotal of 100.00"),
        (lambda r: r["refund_amount"].update(refund_subtotal="1e3"), "unreadable return data"),
        (lambda r: r.pop("return_line_items"), "return_line_items is missing"),
        (lambda r: r.update(create_time="yesterday"), "create_time"),
    ],
)
def test_a_refund_that_cannot_be_credited_as_whole_lines_is_a_problem_naming_why(change, words):
    raw = return_of(ORDER, LINE)
    change(raw)
    refund, problems = refund_facts(raw, kind="return", order=FACTS, timezone="UTC")
    assert refund is None
    (problem,) = problems
    assert problem.code == "SOURCE_INCONSISTENT" and words in problem.message
