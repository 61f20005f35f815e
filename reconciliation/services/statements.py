"""TikTok statements and payouts: store what was pulled, then plan it (pure core) into the outbox."""

from datetime import UTC, datetime

from django.db.models import Sum

from reconciliation import selectors
from reconciliation.domain.money import ZERO, parse_amount
from reconciliation.domain.tiktok import PayoutFacts
from reconciliation.domain.tiktok_normalise import Unreadable, statement_facts
from reconciliation.domain.tiktok_time import local_date, shop_timezone
from reconciliation.models import Payout, Shop, SourceRecord, Statement, XeroPosting
from reconciliation.models.sources import SourceKind, content_hash
from reconciliation.planning.checks import SKIPPED_WITHOUT_ORG
from reconciliation.planning.payout_receive import plan_payout_receive
from reconciliation.planning.registry import plan_statement
from reconciliation.planning.statement_journal import statement_ref
from reconciliation.planning.types import Plan, Problem
from reconciliation.services.outbox import plan_apply
from reconciliation.services.payout_gate import receive_gate


def shop_zone(shop: Shop) -> str:
    """The shop's time zone for dates (docs/ARCHITECTURE.md, "Dates"); Unreadable when it has none."""
    zone = shop_timezone(shop.region, shop.timezone)
    if zone is None:
        raise Unreadable(
            f"shop {shop.code} has no time zone and region {shop.region!r} has no default: set the shop's time zone"
        )
    return zone


def _unix(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise Unreadable(f"{where} is {value!r}, not a unix time in seconds")
    return int(value)


def _keep(shop: Shop, kind: str, external_id: str, sequence: int, payload) -> str:
    digest = content_hash(payload)
    SourceRecord.objects.get_or_create(
        shop=shop,
        kind=kind,
        external_id=external_id,
        sequence=sequence,
        content_hash=digest,
        defaults={"payload": payload},
    )
    return digest


def statement_ingest(*, shop: Shop, statement: dict, pages: list[dict]) -> Statement:
    """Keep the raw statement and its pages (immutable, hashed) and upsert the Statement row.

    `statement` is one entry of GET /finance/202309/statements (`id`, `statement_time`,
    `settlement_amount`, `currency`, `payment_id`, `payment_status`, ...); `pages` the 202501
    statement-transactions pages. Raises Unreadable / AmountError for a statement we cannot store
    (the raw pages are kept all the same).
    """
    statement_id = str(statement.get("id") or "")
    if not statement_id:
        raise Unreadable("a statement in the list has no id")
    _keep(shop, SourceKind.STATEMENT, statement_id, 0, statement)
    page_hashes = [
        _keep(shop, SourceKind.STATEMENT_TRANSACTIONS, statement_id, i, p) for i, p in enumerate(pages)
    ]
    # The raw pages above are kept even when what follows cannot read them.
    row, _ = Statement.objects.update_or_create(
        shop=shop,
        statement_id=statement_id,
        defaults={
            "statement_date": local_date(
                _unix(statement.get("statement_time"), f"statement {statement_id} statement_time"),
                shop_zone(shop),
            ),
            "currency": str(statement.get("currency") or shop.currency)[:3],
            "settlement_amount": parse_amount(
                statement.get("settlement_amount"), where=f"statement {statement_id} settlement_amount"
            ),
            "payment_id": str(statement.get("payment_id") or ""),
            "payment_status": str(statement.get("payment_status") or ""),
            "content_hash": content_hash(page_hashes),
            "page_hashes": page_hashes,
        },
    )
    return row


def statement_preview(*, pages: list[dict], shop: Shop) -> Plan:
    """The plan for a statement's pages under the shop's current maps; writes nothing."""
    return _preview(pages=pages, shop=shop)[0]


def _preview(*, pages: list[dict], shop: Shop, statement_id: str = ""):
    """(plan, facts or None) for a statement's pages; `statement_id` names it when the pages cannot."""
    org = selectors.org_settings(shop.xero_connection)
    skipped = SKIPPED_WITHOUT_ORG if org is None else ()
    zone = shop_timezone(shop.region, shop.timezone)
    if zone is None:
        ref = statement_ref(shop.code, statement_id or "?")
        message = f"shop {shop.code}: no time zone, and region {shop.region!r} has none by default: set the shop's time zone"
        return Plan((), (Problem("INVALID_MAPPING", message, ref),), skipped), None
    facts, problems = statement_facts(
        pages, timezone=zone, ref=lambda sid: statement_ref(shop.code, statement_id or sid)
    )
    if facts is None or problems:
        return Plan((), tuple(problems), skipped), facts
    return plan_statement(
        facts,
        channel=shop.channel,
        shop=selectors.shop_settings(shop),
        rules=selectors.component_rules(shop),
        org=org,
        inputs=planner_inputs(shop, facts),
    ), facts


def planner_inputs(shop: Shop, facts) -> dict:
    """What the shop's statement planner needs beside the statement (planning/registry.py), by
    (channel, posting mode): nothing for statement journals; for order invoices, the invoices its
    orders have in the outbox (services/order_plan.statement_order_inputs)."""
    from reconciliation.services.order_plan import statement_order_inputs

    loaders = {
        ("tiktok", "order_invoices"): lambda: {"orders": statement_order_inputs(shop=shop, facts=facts)}
    }
    load = loaders.get((shop.channel, shop.posting_mode))
    return load() if load else {}


def _already_posted(source) -> bool:
    """Posted from exactly this content: nothing to re-plan (a later map change must not touch it)."""
    return source.postings.filter(state=XeroPosting.State.POSTED, source_hash=source.content_hash).exists()


def _stored_preview(statement: Statement):
    """(plan, facts) from what the statement was last read from: API pages, or the rows of a
    Seller Center file (services/seller_center.py)."""
    from reconciliation.services import seller_center

    rows = seller_center.stored_rows(statement)
    if rows is not None:
        return seller_center.rows_preview(
            payload=rows, shop=statement.shop, statement_id=statement.statement_id
        )
    return _preview(pages=statement.pages(), shop=statement.shop, statement_id=statement.statement_id)


def read_facts(statement: Statement):
    """The facts of an API statement's stored pages, or None when they cannot be read (its plan
    holds it and says why)."""
    zone = shop_timezone(statement.shop.region, statement.shop.timezone)
    if zone is None:
        return None
    facts, problems = statement_facts(
        statement.pages(), timezone=zone, ref=lambda sid: statement_ref(statement.shop.code, sid)
    )
    return None if problems else facts


def statement_plan(*, statement: Statement) -> Plan:
    """Plan a stored statement and write the result (postings or quarantine)."""
    shop = statement.shop
    if _already_posted(statement):
        return Plan((), ())
    plan, facts = _stored_preview(statement)
    source_ref = statement_ref(shop.code, statement.statement_id)
    plan_apply(shop=shop, plan=plan, source_ref=source_ref, source=statement)
    statement.state = Statement.State.HELD if plan.problems else Statement.State.PLANNED
    reserve_before = statement.reserve_amount
    if facts is not None:
        statement.reserve_amount = facts.reserve_amount
        # In every mode: a shop switched to order invoices must know which sales a journal posted.
        from reconciliation.services.order_credits import statement_orders_index

        statement_orders_index(statement=statement, facts=facts)
    statement.save(update_fields=["state", "reserve_amount", "updated_at"])
    if statement.reserve_amount != reserve_before:
        # The payout's RECEIVE counts a reserve once: what its statements now carry changed.
        for payout in Payout.objects.filter(shop=shop, payment_id=statement.payment_id).exclude(
            payment_id=""
        ):
            payout_plan(payout=payout)
    return plan


def payout_ingest(*, shop: Shop, payment: dict) -> Payout:
    """Keep a GET /finance/202309/payments entry and upsert its Payout row (amounts are
    `{value, currency}` objects). Raises Unreadable / AmountError for one we cannot store."""
    payment_id = str(payment.get("id") or "")
    if not payment_id:
        raise Unreadable("a payment in the list has no id")
    digest = _keep(shop, SourceKind.PAYMENT, payment_id, 0, payment)
    amount = payment.get("amount") or {}
    if not isinstance(amount, dict):
        raise Unreadable(f"payment {payment_id} amount is not an object")
    paid = payment.get("paid_time")
    row, _ = Payout.objects.update_or_create(
        shop=shop,
        payment_id=payment_id,
        defaults={
            "status": str(payment.get("status") or ""),
            "amount": parse_amount(amount.get("value"), where=f"payment {payment_id} amount"),
            "currency": amount.get("currency") or shop.currency,
            "settlement_amount": _optional_amount(payment.get("settlement_amount")),
            "reserve_amount": _optional_amount(payment.get("reserve_amount")),
            "paid_date": local_date(_unix(paid, f"payment {payment_id} paid_time"), shop_zone(shop))
            if paid
            else None,
            "created_time": datetime.fromtimestamp(_unix(payment["create_time"], "create_time"), tz=UTC)
            if payment.get("create_time")
            else None,
            "content_hash": digest,
        },
    )
    return row


def _optional_amount(money):
    if money is not None and not isinstance(money, dict):
        raise Unreadable(f"{money!r} is not an amount object")
    return parse_amount(money["value"]) if money and money.get("value") not in (None, "") else None


def payout_plan(*, payout: Payout) -> Plan:
    """Plan the payout's RECEIVE. Always applied, so a payout that stops being PAID before its
    RECEIVE was sent retires it (or, once sent, raises SOURCE_CHANGED)."""
    shop = payout.shop
    if _already_posted(payout):
        return Plan((), ())
    statements = Statement.objects.filter(shop=shop, payment_id=payout.payment_id).exclude(payment_id="")
    facts = PayoutFacts(
        payout.payment_id,
        payout.status,
        payout.amount,
        payout.currency,
        payout.paid_date,
        reserve_amount=payout.reserve_amount or ZERO,
        statements_reserve=statements.aggregate(total=Sum("reserve_amount"))["total"] or ZERO,
    )
    plan = plan_payout_receive(
        facts, shop=selectors.shop_settings(shop), org=selectors.org_settings(shop.xero_connection)
    )
    plan_apply(
        shop=shop, plan=plan, source_ref=f"TikTok {shop.code} payout {payout.payment_id}", source=payout
    )
    receive_gate(payout=payout)
    return plan
