"""Raw TikTok 202501 statement-transaction pages -> StatementFacts (DESIGN.md 4.2).

Every additive numeric leaf becomes a component. Leaves not on the allow-list are kept as
information; if the known leaves of a group do not add up to the group total, the difference
becomes `<group>.unclassified` naming the unknown leaves, so a field TikTok adds tomorrow is
never lost.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from reconciliation.domain.money import ZERO, AmountError, parse_amount, quantize
from reconciliation.domain.tiktok import Component, StatementFacts, StatementTransaction
from reconciliation.planning.types import Problem

# Additive leaves per group for the 202501 statement_transactions API. Anything else is information
# (e.g. affiliate_commission_amount_before_pit explains affiliate_commission_amount, it does not add).
REVENUE_LEAVES = frozenset(
    {
        "subtotal_before_discount_amount",
        "seller_discount_amount",
        "refund_subtotal_before_discount_amount",
        "seller_discount_refund_amount",
        "cod_service_fee_amount",
        "refund_cod_service_fee_amount",
    }
)
SHIPPING_LEAVES = frozenset(
    {
        "actual_shipping_fee_amount",
        "shipping_fee_discount_amount",
        "customer_paid_shipping_fee_amount",
        "return_shipping_fee_amount",
        "replacement_shipping_fee_amount",
        "exchange_shipping_fee_amount",
        "signature_confirmation_fee_amount",
        "shipping_insurance_fee_amount",
        "fbt_shipping_cost_amount",
        "return_shipping_label_fee_amount",
        "refunded_customer_shipping_fee_amount",
        "shipping_fee_subsidy_amount",
        "customer_shipping_fee_offset_amount",
    }
)
FEE_LEAVES = frozenset(
    {
        "platform_commission_amount",
        "referral_fee_amount",
        "transaction_fee_amount",
        "affiliate_commission_amount",
        "affiliate_partner_commission_amount",
        "affiliate_ads_commission_amount",
        "sfp_service_fee_amount",
        "refund_administration_fee_amount",
        "live_specials_fee_amount",
        "voucher_xtra_service_fee_amount",
        "flash_sales_service_fee_amount",
        "bonus_cashback_service_fee_amount",
        "cofunded_promotion_service_fee_amount",
        "mall_service_fee_amount",
        "fbt_fulfillment_fee_amount",
        "campaign_resource_fee_amount",
        "dynamic_commission_amount",
        "small_order_fee_amount",
        "external_affiliate_marketing_fee_amount",
    }
)
TAX_LEAVES = frozenset(
    {
        "vat_amount",
        "local_vat_amount",
        "gst_amount",
        "sst_amount",
        "iva_amount",
        "isr_amount",
        "import_vat_amount",
        "customs_duty_amount",
        "customs_clearance_amount",
        "anti_dumping_duty_amount",
    }
)

# group name -> (total field, breakdown field, {sub-object or None: allowed leaves})
GROUPS = {
    "revenue": ("revenue_amount", "revenue_breakdown", {None: REVENUE_LEAVES}),
    "shipping": ("shipping_cost_amount", "shipping_cost_breakdown", {None: SHIPPING_LEAVES}),
    "fee_tax": ("fee_tax_amount", "fee_tax_breakdown", {"fee": FEE_LEAVES, "tax": TAX_LEAVES}),
}


def statement_facts(
    pages: list[dict], *, timezone: str = "UTC", ref: Callable[[str], str] = lambda sid: f"statement {sid}"
) -> tuple[StatementFacts | None, list[Problem]]:
    """Normalise the pages of one statement. Returns (None, problems) when the data cannot be read."""
    pages = [(page.get("data") if "code" in page else page) or {} for page in pages]
    if not pages:
        return None, [Problem("SOURCE_INCONSISTENT", "the statement has no transaction pages", ref("?"))]
    head = pages[0]
    statement_id = str(head.get("statement_id") or head.get("id") or "?")
    try:
        facts, problems = _build(pages, head, statement_id, timezone, ref(statement_id))
    except (AmountError, KeyError, TypeError, ValueError) as exc:
        return None, [Problem("SOURCE_INCONSISTENT", f"unreadable statement data: {exc}", ref(statement_id))]
    return facts, problems


def _build(pages, head, statement_id, timezone, ref):
    raw_transactions = [
        t for page in pages for t in (page.get("transactions") or page.get("statement_transactions") or [])
    ]
    transactions = tuple(_transaction(t, statement_id) for t in raw_transactions)
    currency = str(head.get("currency") or (raw_transactions[0].get("currency") if raw_transactions else ""))
    settlement = parse_amount(head["settlement_amount"], where=f"{ref} settlement_amount")
    when = datetime.fromtimestamp(int(head["statement_time"]), tz=UTC).astimezone(ZoneInfo(timezone))
    facts = StatementFacts(
        statement_id=statement_id,
        statement_date=when.date(),
        currency=currency,
        settlement_amount=settlement,
        transactions=transactions,
    )
    return facts, _consistency_problems(facts, head, raw_transactions, ref)


def _consistency_problems(facts: StatementFacts, head: dict, raw: list[dict], ref: str) -> list[Problem]:
    problems = []
    amounts = [facts.settlement_amount] + [c.amount for c in facts.components()]
    too_fine = sorted({str(a) for a in amounts if facts.currency and a != quantize(a, facts.currency)})
    if too_fine:
        # Xero takes 2 dp (0 for JPY); rounding TikTok's figures here would be a guess.
        problems.append(
            Problem(
                "SOURCE_INCONSISTENT",
                f"amounts finer than {facts.currency} allows: {', '.join(too_fine[:5])}",
                ref,
            )
        )
    ids = [t.id for t in facts.transactions]
    if len(set(ids)) != len(ids):
        problems.append(Problem("SOURCE_INCONSISTENT", "a transaction id appears twice across pages", ref))
    expected_count = head.get("total_count")
    if expected_count is not None and int(expected_count) != len(raw):
        problems.append(
            Problem(
                "SOURCE_INCONSISTENT",
                f"TikTok reports {expected_count} transactions but the pages hold {len(raw)}",
                ref,
            )
        )
    for txn in facts.transactions:
        total = sum((c.amount for c in txn.components), ZERO)
        if total != txn.settlement_amount:
            problems.append(
                Problem(
                    "SOURCE_INCONSISTENT",
                    f"transaction {txn.id}: its groups add up to {total}, "
                    f"its settlement_amount is {txn.settlement_amount}",
                    ref,
                )
            )
    txn_sum = sum((t.settlement_amount for t in facts.transactions), ZERO)
    if txn_sum != facts.settlement_amount:
        problems.append(
            Problem(
                "SOURCE_INCONSISTENT",
                f"transactions add up to {txn_sum}, the statement settlement_amount is {facts.settlement_amount}",
                ref,
            )
        )
    return problems


def _transaction(raw: dict, statement_id: str) -> StatementTransaction:
    txn_id = str(raw.get("id") or "?")
    where = f"statement {statement_id} transaction {txn_id}"
    components: list[Component] = []
    information: dict = {}
    for group, (total_field, breakdown_field, subgroups) in GROUPS.items():
        total = parse_amount(raw.get(total_field, "0"), where=f"{where} {total_field}")
        components += _group_components(
            group, total, raw.get(breakdown_field) or {}, subgroups, txn_id, where, information
        )
    txn_type = str(raw.get("type") or "UNKNOWN").upper()
    adjustment = parse_amount(raw.get("adjustment_amount", "0"), where=f"{where} adjustment_amount")
    if adjustment:
        components.append(Component(f"adjustment.{txn_type}", adjustment, txn_id))
    reserve = parse_amount(raw.get("reserve_amount", "0"), where=f"{where} reserve_amount")
    if reserve:
        components.append(Component("reserve", reserve, txn_id))
    if "supplementary_component" in raw:
        information["supplementary_component"] = raw["supplementary_component"]
    return StatementTransaction(
        id=txn_id,
        type=txn_type,
        order_id=str(raw.get("order_id") or ""),
        settlement_amount=parse_amount(raw.get("settlement_amount"), where=f"{where} settlement_amount"),
        components=tuple(components),
        information=information,
    )


def _group_components(group, total, breakdown, subgroups, txn_id, where, information) -> list[Component]:
    components, unknown = [], []
    for sub, allowed in subgroups.items():
        leaves = breakdown.get(sub) or {} if sub else breakdown
        prefix = sub or group
        for key, value in leaves.items():
            if isinstance(value, dict):
                # nested supplementary_component objects explain, they do not add (DESIGN.md 4.1)
                information[f"{prefix}.{key}"] = value
                continue
            amount = parse_amount(value, where=f"{where} {prefix}.{key}")
            if key in allowed:
                if amount:
                    components.append(Component(f"{prefix}.{key}", amount, txn_id))
            else:
                information[f"{prefix}.{key}"] = value
                if amount:
                    unknown.append(f"{prefix}.{key}={value}")
    residual = total - sum((c.amount for c in components), ZERO)
    if residual:
        name = "fee.unclassified" if group == "fee_tax" else f"{group}.unclassified"
        note = ("unknown fields present: " + ", ".join(unknown)) if unknown else "no unknown field present"
        components.append(Component(name, residual, txn_id, note=note))
    return components
