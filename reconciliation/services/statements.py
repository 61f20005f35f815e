"""TikTok statements and payouts: store what was pulled, then plan it (pure core) into the outbox."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from reconciliation import selectors
from reconciliation.domain.money import parse_amount
from reconciliation.domain.tiktok import PayoutFacts
from reconciliation.domain.tiktok_normalise import statement_facts
from reconciliation.models import Payout, Shop, SourceRecord, Statement, XeroPosting
from reconciliation.models.sources import SourceKind, content_hash
from reconciliation.planning.checks import SKIPPED_WITHOUT_ORG
from reconciliation.planning.payout_receive import plan_payout_receive
from reconciliation.planning.statement_journal import plan_statement_journal, statement_ref
from reconciliation.planning.types import Plan
from reconciliation.services.outbox import plan_apply
from reconciliation.services.payout_gate import receive_gate


def _local_date(unix_time, tz: str):
    return datetime.fromtimestamp(int(unix_time), tz=UTC).astimezone(ZoneInfo(tz)).date()


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
    """Keep the raw statement and its pages (immutable, hashed) and upsert the Statement row."""
    statement_id = str(statement["id"])
    _keep(shop, SourceKind.STATEMENT, statement_id, 0, statement)
    page_hashes = [
        _keep(shop, SourceKind.STATEMENT_TRANSACTIONS, statement_id, i, p) for i, p in enumerate(pages)
    ]
    # The raw pages above are kept even when what follows cannot read them.
    row, _ = Statement.objects.update_or_create(
        shop=shop,
        statement_id=statement_id,
        defaults={
            "statement_date": _local_date(statement["statement_time"], shop.timezone),
            "currency": statement.get("currency", shop.currency),
            "settlement_amount": parse_amount(
                statement["settlement_amount"], where=f"statement {statement_id}"
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
    facts, problems = statement_facts(
        pages, timezone=shop.timezone, ref=lambda sid: statement_ref(shop.code, sid)
    )
    org = selectors.org_settings(shop.xero_connection)
    if facts is None or problems:
        return Plan((), tuple(problems), SKIPPED_WITHOUT_ORG if org is None else ())
    return plan_statement_journal(
        facts, shop=selectors.shop_settings(shop), rules=selectors.component_rules(shop), org=org
    )


def _already_posted(source) -> bool:
    """Posted from exactly this content: nothing to re-plan (a later map change must not touch it)."""
    return source.postings.filter(state=XeroPosting.State.POSTED, source_hash=source.content_hash).exists()


def statement_plan(*, statement: Statement) -> Plan:
    """Plan a stored statement and write the result (postings or quarantine)."""
    shop = statement.shop
    if _already_posted(statement):
        return Plan((), ())
    plan = statement_preview(pages=statement.pages(), shop=shop)
    source_ref = statement_ref(shop.code, statement.statement_id)
    plan_apply(shop=shop, plan=plan, source_ref=source_ref, statement=statement)
    statement.state = Statement.State.HELD if plan.problems else Statement.State.PLANNED
    statement.save(update_fields=["state", "updated_at"])
    return plan


def payout_ingest(*, shop: Shop, payment: dict) -> Payout:
    payment_id = str(payment["id"])
    digest = _keep(shop, SourceKind.PAYMENT, payment_id, 0, payment)
    amount = payment.get("amount") or {}
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
            "paid_date": _local_date(paid, shop.timezone) if paid else None,
            "created_time": datetime.fromtimestamp(int(payment["create_time"]), tz=UTC)
            if payment.get("create_time")
            else None,
            "content_hash": digest,
        },
    )
    return row


def _optional_amount(money: dict | None):
    return parse_amount(money["value"]) if money and money.get("value") not in (None, "") else None


def payout_plan(*, payout: Payout) -> Plan:
    """Plan the payout's RECEIVE. Always applied, so a payout that stops being PAID before its
    RECEIVE was sent retires it (or, once sent, raises SOURCE_CHANGED)."""
    shop = payout.shop
    if _already_posted(payout):
        return Plan((), ())
    facts = PayoutFacts(payout.payment_id, payout.status, payout.amount, payout.currency, payout.paid_date)
    plan = plan_payout_receive(
        facts, shop=selectors.shop_settings(shop), org=selectors.org_settings(shop.xero_connection)
    )
    plan_apply(
        shop=shop, plan=plan, source_ref=f"TikTok {shop.code} payout {payout.payment_id}", payout=payout
    )
    receive_gate(payout=payout)
    return plan
