"""Preview posting mode "order invoices" for one TikTok order (DESIGN.md 4.4); writes nothing.

The order's invoice (planning/order_invoice.py), then what its statement transactions settle: the
payment into clearing and the fees journal (planning/order_settlement.py), under the shop's maps
and settings as stored now (selectors.order_maps, selectors.order_invoice_settings). The posting
mode itself is not built: nothing here is registered with the planner registry or the outbox.
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from reconciliation import selectors
from reconciliation.domain.money import ZERO
from reconciliation.domain.tiktok import StatementFacts, StatementTransaction
from reconciliation.domain.tiktok_orders import OrderFacts, order_facts, order_ref, order_settlement
from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import Shop, Statement
from reconciliation.planning.bundles import bundle_components, bundle_map_problems
from reconciliation.planning.checks import SKIPPED_WITHOUT_ORG
from reconciliation.planning.order_invoice import (
    expected_invoice_total,
    plan_order_invoice,
    tax_kept_by_tiktok,
)
from reconciliation.planning.order_lines import OrderInvoiceSettings
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.order_settlement import OrderDocument, plan_order_settlement
from reconciliation.planning.types import Information, Plan, Problem, ShopSettings

# OrderInvoiceSettings field -> what finance calls it on the shop (Shop.ORDER_INVOICE_SETTINGS).
REQUIRED_ACCOUNTS = {
    "sales": "sales account",
    "seller_discount": "seller discount account",
    "platform_discount": "platform discount account",
    "platform_reimbursement": "platform reimbursement account",
    "shipping": "shipping account",
}


def order_preview(*, order: dict, settlement: dict, shop: Shop) -> Plan:
    """The plan for one order (an order object of GET /order/202309/orders) and its statement
    transactions (GET /finance/202501/orders/{order_id}/statement_transactions, envelope or data)."""
    org = selectors.org_settings(shop.xero_connection)
    skipped = SKIPPED_WITHOUT_ORG if org is None else ()
    zone = shop_timezone(shop.region, shop.timezone)
    ref = order_ref(str(order.get("id") or "?"))
    if zone is None:
        message = f"shop {shop.code}: no time zone, and region {shop.region!r} has none by default: set the shop's time zone"
        return Plan((), (Problem("INVALID_MAPPING", message, ref),), skipped)
    facts, problems = order_facts(order, timezone=zone)
    if facts is None or problems:
        return Plan((), tuple(problems), skipped)
    settings = selectors.order_invoice_settings(shop)
    maps = selectors.order_maps(shop)
    problems = _settings_problems(facts, shop, settings, maps)
    if problems:
        return Plan((), tuple(problems), skipped)
    shop_settings = replace(selectors.shop_settings(shop), timezone=zone)
    invoice = plan_order_invoice(facts, shop=shop_settings, settings=settings, maps=maps, org=org)
    if invoice.problems:
        return invoice
    settled = _settlement_plan(facts, settlement, shop, shop_settings, settings, invoice)
    return Plan(
        (*invoice.documents, *settled.documents),
        settled.problems,
        tuple(dict.fromkeys((*invoice.skipped_checks, *settled.skipped_checks))),
        (*invoice.information, *settled.information),
    )


def _settings_problems(
    facts: OrderFacts, shop: Shop, settings: OrderInvoiceSettings, maps: OrderMaps
) -> list[Problem]:
    """Blank order-invoice accounts, and bundles of this order the bundle map cannot split."""
    ref = order_ref(facts.order_id)
    problems = [
        Problem(
            "INVALID_MAPPING",
            f"{ref}: shop {shop.code} has no order-invoice {label}; Finance sets it on the shop (Order invoices)",
            ref,
        )
        for name, label in REQUIRED_ACCOUNTS.items()
        if not getattr(settings, name)
    ]
    used = {
        line.seller_sku or line.sku_id: found
        for line in facts.lines
        if (found := bundle_components(maps.bundles, line.seller_sku, line.sku_id)) is not None
    }
    return problems + [
        Problem("INVALID_MAPPING", f"{ref}: bundle map: {message}", ref)
        for message in bundle_map_problems(used)
    ]


def _settlement_plan(
    facts: OrderFacts,
    raw: dict,
    shop: Shop,
    shop_settings: ShopSettings,
    settings: OrderInvoiceSettings,
    invoice: Plan,
) -> Plan:
    ref = order_ref(facts.order_id)
    rows, problems = order_settlement(raw, order_id=facts.order_id)
    if rows is None or problems:
        return Plan((), tuple(problems))
    by_statement: dict[str, list[StatementTransaction]] = {}
    for row in rows:
        by_statement.setdefault(row.information.get("statement_id", ""), []).append(row)
    if not by_statement:
        note = f"{ref}: no statement has settled it yet; its payment and fees journal come with the statement that does"
        return Plan((), (), information=(Information("ORDER_NOT_SETTLED", note, ref),))
    if len(by_statement) > 1:
        return Plan((), (_not_one_statement(ref, sorted(by_statement)),))
    ((statement_id, transactions),) = by_statement.items()
    statement_date, information = _statement_date(shop, statement_id, facts.order_date, ref)
    statement = StatementFacts(
        statement_id=statement_id,
        statement_date=statement_date,
        currency=_currency(raw, facts.currency),
        settlement_amount=sum((t.settlement_amount for t in transactions), ZERO),
        transactions=tuple(transactions),
    )
    plan = plan_order_settlement(
        statement,
        shop=shop_settings,
        documents=_documents(facts, shop_settings, settings, invoice),
        rules=selectors.component_rules(shop),
        sales_tax_account=settings.sales_tax,
        org=selectors.org_settings(shop.xero_connection),
        excluded_orders=frozenset({facts.order_id}) if facts.excluded_reason else frozenset(),
    )
    return replace(plan, information=(*information, *plan.information))


def _documents(
    facts: OrderFacts, shop: ShopSettings, settings: OrderInvoiceSettings, invoice: Plan
) -> Mapping[str, Sequence[OrderDocument]]:
    if not invoice.documents:  # not invoiced (yet): the settlement says what that means
        return {}
    (document,) = invoice.documents
    return {
        facts.order_id: [
            OrderDocument(
                facts.order_id,
                document.key,
                document.payload["InvoiceNumber"],
                "invoice",
                expected_invoice_total(facts, shop, settings),
                tax_kept_by_tiktok(facts, shop, settings),
            )
        ]
    }


def _statement_date(
    shop: Shop, statement_id: str, order_date: date, ref: str
) -> tuple[date, tuple[Information, ...]]:
    """The settling statement's date, as stored from its last pull. The order's statement
    transactions do not carry it; a statement not pulled yet is dated with the order, and said so."""
    stored = Statement.objects.filter(shop=shop, statement_id=statement_id).first()
    if stored is not None:
        return stored.statement_date, ()
    note = Information(
        "STATEMENT_DATE_ASSUMED",
        f"{ref}: statement {statement_id} has not been pulled, so its date is not known; the payment "
        f"and journal are dated {order_date} (the order's date) here, and with the statement's date when it is posted",
        ref,
        details={"statement_id": statement_id, "date": order_date.isoformat()},
    )
    return order_date, (note,)


def _currency(raw: dict, fallback: str) -> str:
    data = raw.get("data", raw)
    return str(data.get("currency") or fallback).upper() if isinstance(data, dict) else fallback


def _not_one_statement(ref: str, statement_ids: list[str]) -> Problem:
    return Problem(
        "UNSUPPORTED_ORDER",
        f"{ref}: settles over {len(statement_ids)} statements ({', '.join(statement_ids)}); this preview "
        "plans an order settled by one statement (refunds and credit notes are not read here)",
        ref,
    )
