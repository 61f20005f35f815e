"""TikTok returns and cancellations as credits against an order's invoice (DESIGN.md 4.4): frozen,
Decimal, no ORM, no HTTP.

Read as TikTok's published description names them (specs/tiktok/return_refund.json): one entry of
`POST /return_refund/202309/returns/search` (`return_id`, `return_status`, `return_type`,
`return_line_items[].order_line_item_id`) or of `.../cancellations/search` (`cancel_id`,
`cancel_status`, `cancel_line_items[]`), each with `refund_amount` (`refund_subtotal`,
`refund_shipping_fee`, `refund_tax`: what the buyer gets back).

A record is credited once TikTok has granted the refund (`*_REQUEST_SUCCESS`: "buyer will be
refunded", or `*_REQUEST_COMPLETE`); pending, rejected and cancelled requests are not, and nor is a
replacement. An order line item is one unit, so a refunded line is refunded whole: a refund whose
subtotal is not the sale price of its lines (a partial refund of an amount agreed with the buyer)
is held for finance rather than credited as lines it is not.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reconciliation.domain.money import ZERO, AmountError, parse_amount
from reconciliation.domain.tiktok_orders import OrderFacts, order_ref
from reconciliation.domain.tiktok_time import local_date
from reconciliation.planning.types import Problem

INCONSISTENT = "SOURCE_INCONSISTENT"
CREDITED_STATUSES = {
    "return": ("RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE"),
    "cancellation": ("CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE"),
}
REFUND_RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND")
_FIELDS = {
    "return": ("return_id", "return_status", "return_line_items"),
    "cancellation": ("cancel_id", "cancel_status", "cancel_line_items"),
}


@dataclass(frozen=True)
class OrderRefund:
    """A cancellation or refund TikTok reports after the order was invoiced.

    `refund_id`: TikTok's cancel_id or return_id; `line_ids`: the refunded line items (each one
    unit); `shipping`: the shipping charge is refunded too; `refund_date`: the credit note's date
    (the request's `create_time` in the shop's zone: a guess, chosen because it never changes
    while TikTok updates the request, so a planned credit note keeps its date).
    """

    refund_id: str
    order_id: str
    refund_date: date
    line_ids: tuple[str, ...]
    shipping: bool = False
    kind: str = "return"  # or "cancellation": how finance reads it (a cancelled order was never refunded)


def refund_ref(order_id: str, refund_id: str, kind: str = "return") -> str:
    """How finance reads it: "TikTok order 5765... return 4037..." (or "cancellation 4035...")."""
    return f"{order_ref(order_id)} {kind} {refund_id}"


def is_credited(raw, kind: str) -> bool:
    """Has TikTok granted this return / cancellation as a refund (see module docstring)?"""
    if not isinstance(raw, dict):
        return False
    _, status_field, _ = _FIELDS[kind]
    if raw.get(status_field) not in CREDITED_STATUSES[kind]:
        return False
    return kind != "return" or raw.get("return_type") in REFUND_RETURN_TYPES


def refund_facts(
    raw, *, kind: str, order: OrderFacts, timezone: str
) -> tuple[OrderRefund | None, list[Problem]]:
    """One credited return or cancellation (`kind`: "return" or "cancellation") of `order` ->
    (refund, problems). Problems (SOURCE_INCONSISTENT): unreadable data, a line the order does not
    have or listed twice, a refund subtotal that is not the sale price of its lines. The shipping
    charge is credited when TikTok refunds shipping (`refund_shipping_fee` > 0) or when a
    cancellation takes every line of the order (a whole-order cancellation: a guess, since TikTok
    refunds no shipping the buyer did not pay, yet the invoice carries TikTok's shipping subsidy)."""
    id_field, _, lines_field = _FIELDS[kind]
    refund_id = str(raw.get(id_field) or "?") if isinstance(raw, dict) else "?"
    ref = refund_ref(order.order_id, refund_id, kind)
    try:
        line_ids, subtotal, shipping_fee = _read(raw, lines_field)
        when = raw.get("create_time")
        if isinstance(when, bool) or not isinstance(when, int):
            raise ValueError(f"create_time is {when!r}, not a unix time")
    except (ValueError, AmountError) as exc:
        return None, [Problem(INCONSISTENT, f"{ref}: unreadable {kind} data: {exc}", ref)]
    by_id = {line.id: line for line in order.lines}
    problems = []
    unknown = [line_id for line_id in line_ids if line_id not in by_id]
    if unknown:
        problems.append(
            Problem(INCONSISTENT, f"{ref}: refunds line(s) {', '.join(unknown)} the order does not have", ref)
        )
    if len(set(line_ids)) != len(line_ids):
        problems.append(Problem(INCONSISTENT, f"{ref}: lists a line item twice", ref))
    if problems:
        return None, problems
    sold = sum((by_id[line_id].sale_price for line_id in line_ids), ZERO)
    if subtotal != sold:
        message = (
            f"{ref}: TikTok refunds a subtotal of {subtotal}, but the refunded line(s) sold for {sold}; "
            "a refund of part of a line's price is not credited automatically: credit it in Xero, refund it from the clearing account when TikTok settles it, and dismiss"
        )
        return None, [
            Problem(INCONSISTENT, message, ref, details={"refund": str(subtotal), "lines": str(sold)})
        ]
    whole_order = kind == "cancellation" and set(line_ids) == set(by_id)
    return (
        OrderRefund(
            refund_id=refund_id,
            order_id=order.order_id,
            refund_date=local_date(when, timezone),
            line_ids=tuple(line_ids),
            shipping=shipping_fee > ZERO or whole_order,
            kind=kind,
        ),
        [],
    )


def _read(raw, lines_field: str) -> tuple[list[str], Decimal, Decimal]:
    if not isinstance(raw, dict):
        raise ValueError("the record is not a JSON object")
    items = raw.get(lines_field)
    if not isinstance(items, list) or not items:
        raise ValueError(f"{lines_field} is missing or empty")
    line_ids = []
    for n, item in enumerate(items, start=1):
        line_id = item.get("order_line_item_id") if isinstance(item, dict) else None
        if not isinstance(line_id, str) or not line_id:
            raise ValueError(f"{lines_field}[{n}].order_line_item_id is missing")
        line_ids.append(line_id)
    amount = raw.get("refund_amount")
    if not isinstance(amount, dict):
        raise ValueError("refund_amount is missing")
    subtotal = parse_amount(amount.get("refund_subtotal", ""), where="refund_amount.refund_subtotal")
    shipping = amount.get("refund_shipping_fee")
    shipping_fee = (
        ZERO if shipping in (None, "") else parse_amount(shipping, where="refund_amount.refund_shipping_fee")
    )
    return line_ids, subtotal, shipping_fee
