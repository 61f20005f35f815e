"""Raw TikTok 202501 statement-transaction pages -> StatementFacts (docs/ARCHITECTURE.md).

Input: the pages of `GET /finance/202501/statements/{statement_id}/statement_transactions`, each the
whole envelope `{code, message, request_id, data}` or its `data`, in page order. The page `data`
carries the statement (`id`, `create_time` in unix seconds, `status`, `currency`,
`total_settlement_amount`, `total_reserve_amount`, `payable_amount`, `total_settlement_breakdown`,
`total_count`) and a page of `transactions`. Field names are TikTok's published description.

Every additive leaf (tiktok_leaves) becomes a component. A group total that its known leaves do not
explain becomes `<group>.unclassified` when an undeclared leaf is present (a field TikTok added), and
SOURCE_INCONSISTENT when none is (TikTok's figures disagree with themselves): never a silent
catch-all posting. Whatever cannot be read (wrong types, bad amounts, a missing id) holds the
statement with a readable reason; this module never raises on any JSON input.

Signs: TikTok's formulas are printed as `revenue - shipping - fee_tax - adjustment`, but its amounts
are signed (fees and costs negative, as in its own examples `fee_tax_amount: "-30"`), so the
settlement is their sum. The statement's breakdown totals are accepted in either sign (see
`_statement_total_problems`).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from reconciliation.domain import tiktok_leaves as leaves
from reconciliation.domain.money import ZERO, AmountError, parse_amount, quantize
from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction
from reconciliation.domain.tiktok_time import local_date
from reconciliation.planning.types import Problem

# Kept for the spreadsheet validation, which lists what a component-map row may name.
REVENUE_LEAVES, SHIPPING_LEAVES, FEE_LEAVES, TAX_LEAVES = (
    leaves.REVENUE,
    leaves.SHIPPING,
    leaves.FEE,
    leaves.TAX,
)
INCONSISTENT = "SOURCE_INCONSISTENT"


class Unreadable(ValueError):
    """Source data that is not in the shape TikTok describes; the message says where and why."""


def statement_facts(
    pages: list, *, timezone: str = "UTC", ref: Callable[[str], str] = lambda sid: f"statement {sid}"
) -> tuple[StatementFacts | None, list[Problem]]:
    """Normalise the pages of one statement.

    Returns (facts, problems); facts is None when the data cannot be read at all, and then problems
    says why (SOURCE_INCONSISTENT). `timezone` is the IANA zone the statement date is read in.
    """
    statement_id = _statement_id(pages)
    where = ref(statement_id or "?")
    try:
        if not pages:
            raise Unreadable("no transaction pages are stored for it (TikTok's answer could not be read)")
        if statement_id is None:
            raise Unreadable("the statement has no id (data.id)")
        datas = [_page_data(page, number) for number, page in enumerate(pages, start=1)]
        facts = _build(datas, statement_id, timezone)
    except (Unreadable, AmountError) as exc:
        return None, [Problem(INCONSISTENT, f"{where}: unreadable statement data: {exc}", where)]
    return facts, _consistency_problems(facts, datas, where)


def _statement_id(pages) -> str | None:
    try:
        head = _page_data(pages[0], 1)
    except (Unreadable, IndexError, TypeError, KeyError):
        return None
    value = head.get("id")
    return (
        str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None
    )


def _page_data(page, number: int) -> dict:
    if not isinstance(page, dict):
        raise Unreadable(f"page {number} is not a JSON object")
    data = page.get("data") if "code" in page or "data" in page else page
    if not isinstance(data, dict):
        raise Unreadable(f"page {number} has no data object")
    return data


def _obj(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unreadable(f"{where} is {type(value).__name__}, not an object")
    return value


def _amount(container: dict, key: str, where: str, *, default: str | None = "0") -> Decimal:
    value = container.get(key, default)
    if value is None:
        raise Unreadable(f"{where}.{key} is missing")
    return parse_amount(value, where=f"{where}.{key}")


def _unix_date(value, timezone: str, where: str) -> date:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise Unreadable(f"{where} is {value!r}, not a unix time in seconds")
    try:
        return local_date(int(value), timezone)
    except (OverflowError, OSError, ValueError) as exc:
        raise Unreadable(f"{where} {value!r} is not a usable time: {exc}") from exc


def _build(datas: list[dict], statement_id: str, timezone: str) -> StatementFacts:
    head = datas[0]
    raw = []
    for number, data in enumerate(datas, start=1):
        page_transactions = data.get("transactions") or []
        if not isinstance(page_transactions, list):
            raise Unreadable(f"page {number} transactions is not a list")
        raw += page_transactions
    transactions = tuple(_transaction(t, i) for i, t in enumerate(raw, start=1))
    where = "data"
    settlement = _amount(head, "total_settlement_amount", where, default=None)
    reserve = _statement_reserve(head, transactions)
    currency = head.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise Unreadable(f"data.currency is {currency!r}, not an ISO 4217 code")
    breakdown = _obj(head.get("total_settlement_breakdown"), "data.total_settlement_breakdown")
    totals = {
        group: _amount(breakdown, total_field, "data.total_settlement_breakdown", default=None)
        for group, total_field in _STATEMENT_TOTALS.items()
        if breakdown.get(total_field) not in (None, "")
    }
    payable = head.get("payable_amount")
    count = head.get("total_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise Unreadable(f"data.total_count is {count!r}, not a whole number")
    return StatementFacts(
        statement_id=statement_id,
        statement_date=_unix_date(head.get("create_time"), timezone, "data.create_time"),
        currency=currency.upper(),
        settlement_amount=settlement,
        reserve_amount=reserve,
        transactions=transactions,
        status=str(head.get("status") or ""),
        stated_payable=None if payable in (None, "") else _amount(head, "payable_amount", where),
        stated_reserve=None
        if head.get("total_reserve_amount") in (None, "")
        else _amount(head, "total_reserve_amount", where),
        stated_totals=totals,
        stated_count=count,
    )


_STATEMENT_TOTALS = {
    "revenue": "total_revenue_amount",
    "shipping": "total_shipping_cost_amount",
    "fee_tax": "total_fee_tax_amount",
    "adjustment": "total_adjustment_amount",
}


def _statement_reserve(head: dict, transactions: tuple[StatementTransaction, ...]) -> Decimal:
    """The reserve of the statement, counted once: its transactions' reserve_amount when any carry
    one, else the statement's total_reserve_amount (checked against each other elsewhere)."""
    if any(t.reserve_amount for t in transactions):
        return sum((t.reserve_amount for t in transactions), ZERO)
    return _amount(head, "total_reserve_amount", "data")


def _transaction(raw, number: int) -> StatementTransaction:
    if not isinstance(raw, dict):
        raise Unreadable(f"transaction {number} is {type(raw).__name__}, not an object")
    txn_id = raw.get("id")
    if not isinstance(txn_id, (str, int)) or isinstance(txn_id, bool) or str(txn_id) == "":
        raise Unreadable(f"transaction {number} has no id")
    txn_id = str(txn_id)
    where = f"transaction {txn_id}"
    components: list[Component] = []
    information: dict = {}
    residues: list[str] = []
    totals: dict[str, Decimal] = {}
    for group, (total_field, breakdown_field, subgroups, _) in leaves.GROUPS.items():
        total = totals[group] = _amount(raw, total_field, where)
        breakdown = _obj(raw.get(breakdown_field), f"{where}.{breakdown_field}")
        found, residue = _group_components(group, total, breakdown, subgroups, txn_id, where, information)
        components += found
        residues += residue
    txn_type = str(raw.get("type") or "UNKNOWN").upper()
    adjustment = totals["adjustment"] = _amount(raw, "adjustment_amount", where)
    if adjustment:
        components.append(Component(f"adjustment.{txn_type}", adjustment, txn_id))
    supplementary = raw.get("supplementary_component")
    if supplementary is not None:
        information["supplementary_component"] = _obj(supplementary, f"{where}.supplementary_component")
    for key, value in raw.items():
        if key not in leaves.TRANSACTION_AMOUNTS and not key.endswith("_breakdown"):
            information.setdefault(key, value)
    return StatementTransaction(
        id=txn_id,
        type=txn_type,
        order_id=str(
            raw.get("order_id") or raw.get("adjustment_order_id") or raw.get("associated_order_id") or ""
        ),
        settlement_amount=_amount(raw, "settlement_amount", where, default=None),
        components=tuple(components),
        reserve_amount=_amount(raw, "reserve_amount", where),
        information=information,
        residues=tuple(residues),
        totals=totals,
    )


def _group_components(group, total, breakdown, subgroups, txn_id, where, information):
    """(components, residue problems) of one group. Its residue is `<group>.unclassified` when an
    undeclared leaf may explain it, else a problem naming both figures."""
    components, unknown = [], []
    if None not in subgroups:
        # a leaf TikTok adds beside `fee` and `tax` (not inside them) is still named, never ignored
        for key, value in breakdown.items():
            if key in subgroups:
                continue
            if isinstance(value, dict):
                information[f"{group}.{key}"] = value
                continue
            information[f"{group}.{key}"] = value
            if parse_amount(value, where=f"{where}.{group}.{key}"):
                unknown.append(f"{group}.{key}={value}")
    for sub, allowed in subgroups.items():
        prefix = leaves.PREFIX[(group, sub)]
        container = _obj(breakdown.get(sub), f"{where}.{group}.{sub}") if sub else breakdown
        for key, value in container.items():
            if key == "supplementary_component" or isinstance(value, dict):
                # supplementary_component explains, it does not add (TikTok's description)
                information[f"{prefix}.{key}"] = _obj(value, f"{where}.{prefix}.{key}")
                continue
            amount = parse_amount(value, where=f"{where}.{prefix}.{key}")
            if key in allowed:
                if amount:
                    components.append(Component(f"{prefix}.{key}", amount, txn_id))
            else:
                information[f"{prefix}.{key}"] = value
                if amount and key not in leaves.FEE_INFORMATION:
                    unknown.append(f"{prefix}.{key}={value}")
    residual = total - sum((c.amount for c in components), ZERO)
    if not residual:
        return components, []
    if unknown:
        name = "fee.unclassified" if group == "fee_tax" else f"{group}.unclassified"
        note = "unknown fields present: " + ", ".join(unknown)
        return [*components, Component(name, residual, txn_id, note=note)], []
    return components, [
        f"{where}: its {group} leaves add up to {total - residual}, its {leaves.GROUPS[group][0]} is {total}"
    ]


def _consistency_problems(facts: StatementFacts, datas: list[dict], ref: str) -> list[Problem]:
    messages = [m for t in facts.transactions for m in t.residues]
    amounts = [facts.settlement_amount, facts.reserve_amount] + [c.amount for c in facts.components()]
    too_fine = sorted({str(a) for a in amounts if a != quantize(a, facts.currency)})
    if too_fine:
        # Xero takes 2 dp (0 for JPY); rounding TikTok's figures here would be a guess.
        messages.append(f"amounts finer than {facts.currency} allows: {', '.join(too_fine[:5])}")
    ids = [t.id for t in facts.transactions]
    if len(set(ids)) != len(ids):
        messages.append("a transaction id appears twice across pages")
    if facts.stated_count is not None and facts.stated_count != len(ids):
        messages.append(f"TikTok reports {facts.stated_count} transactions but the pages hold {len(ids)}")
    for txn in facts.transactions:
        # TikTok's formula over its own group totals; leaves against totals are the residues above
        total = sum(txn.totals.values(), ZERO)
        if total != txn.settlement_amount:
            messages.append(
                f"transaction {txn.id}: its groups add up to {total}, its settlement_amount is {txn.settlement_amount}"
            )
    txn_sum = sum((t.settlement_amount for t in facts.transactions), ZERO)
    if txn_sum != facts.settlement_amount:
        messages.append(
            f"transactions add up to {txn_sum}, the statement's total_settlement_amount is {facts.settlement_amount}"
        )
    messages += _statement_total_problems(facts)
    messages += _reserve_problems(facts)
    return [Problem(INCONSISTENT, f"{ref}: {m}", ref) for m in messages]


def _statement_total_problems(facts: StatementFacts) -> list[str]:
    """The totals of total_settlement_breakdown against the transactions' group totals. TikTok's
    formula prints shipping, fees and adjustments as subtracted while its amounts are signed, so the
    breakdown is accepted in either convention, but in one convention for all its totals; any other
    figure is TikTok's data disagreeing with itself."""
    sums = {group: sum((t.totals[group] for t in facts.transactions), ZERO) for group in _STATEMENT_TOTALS}
    subtracted = {group: total if group == "revenue" else -total for group, total in sums.items()}
    stated = facts.stated_totals
    # report against the convention the breakdown follows best (the fewest disagreeing totals)
    expected = min(sums, subtracted, key=lambda want: sum(stated[g] != want[g] for g in stated))
    return [
        f"its transactions' {group} amounts add up to {sums[group]}, "
        f"total_settlement_breakdown.{_STATEMENT_TOTALS[group]} is {value}"
        for group, value in stated.items()
        if value != expected[group]
    ]


def _reserve_problems(facts: StatementFacts) -> list[str]:
    problems = []
    if facts.stated_reserve is not None and facts.stated_reserve != facts.reserve_amount:
        problems.append(
            f"its transactions reserve {facts.reserve_amount}, total_reserve_amount is {facts.stated_reserve}"
        )
    if facts.stated_payable is not None and facts.stated_payable != facts.payable_amount:
        problems.append(
            f"payable_amount is {facts.stated_payable}, total_settlement_amount + total_reserve_amount "
            f"is {facts.payable_amount}"
        )
    return problems
