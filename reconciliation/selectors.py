"""Read-side queries shared by services, the admin, commands and the dashboard."""

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    OrderSync,
    Payout,
    QuarantineItem,
    Shop,
    ShopConnection,
    SkuMapping,
    Statement,
    TaxRateMapping,
    TikTokOrder,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.orders import OrderStatus, statuses_at_or_past
from reconciliation.planning import bundles
from reconciliation.planning.order_lines import OrderInvoiceSettings
from reconciliation.planning.order_maps import OrderMaps
from reconciliation.planning.types import Account, ComponentRule, OrgSettings, ShopSettings, TaxRate


def shop_settings(shop: Shop) -> ShopSettings:
    return ShopSettings(
        code=shop.code,
        name=shop.name,
        region=shop.region,
        currency=shop.currency,
        line_amount_types=shop.line_amount_types,
        clearing_account=shop.clearing_account,
        bank_account=shop.bank_account,
        reserve_account=shop.reserve_account,
        contact_name=shop.contact_name,
        timezone=shop.timezone,
        posting_mode=shop.posting_mode,
        external_id=getattr(ShopConnection.objects.filter(shop=shop).first(), "external_shop_id", ""),
    )


def component_rules(shop: Shop) -> dict[str, ComponentRule]:
    """The effective fee-to-account map of a shop: channel-wide rows, overridden by the shop's own."""
    rules: dict[str, ComponentRule] = {}
    for row in _shop_rows_last(ComponentMapping, shop):  # shop rows last, so they win
        rules[row.component] = ComponentRule(
            account_code=row.account_code,
            tax_type=row.tax_type,
            tracking_category=row.tracking_category,
            tracking_option=row.tracking_option,
            description=row.description,
        )
    return rules


def order_maps(shop: Shop) -> OrderMaps:
    """The SKU, bundle and tax-rate maps an order of the shop is invoiced with (DESIGN.md 4.5), as
    the plain data planning/order_maps.py reads. Each map: channel-wide rows, overridden by the
    shop's own (as component_rules)."""
    return OrderMaps(sku=sku_map(shop), bundles=bundle_map(shop), tax=tax_map(shop))


def _shop_rows_last(model, shop: Shop) -> list:
    """The channel-wide rows of a map and the shop's own, the shop's last so they win."""
    rows = model.objects.filter(Q(shop__isnull=True) | Q(shop=shop), channel=shop.channel)
    return sorted(rows.order_by("id"), key=lambda r: r.shop_id is not None)


def sku_map(shop: Shop) -> dict[str, str]:
    return {row.channel_sku: row.item_code for row in _shop_rows_last(SkuMapping, shop)}


def bundle_map(shop: Shop) -> dict[str, tuple[bundles.BundleComponent, ...]]:
    found: dict[str, list[bundles.BundleComponent]] = {}
    from_shop: set[str] = set()
    for row in _shop_rows_last(BundleComponent, shop):
        if row.shop_id is not None and row.bundle_sku not in from_shop:
            # A shop's rows replace the channel-wide set for that bundle whole (models/mappings.py).
            found[row.bundle_sku] = []
            from_shop.add(row.bundle_sku)
        # The planner counts whole units; a fractional quantity becomes 0, which the bundle
        # check (bundles.bundle_map_problems) refuses by name instead of rounding it.
        quantity = int(row.quantity) if row.quantity == row.quantity.to_integral_value() else 0
        found.setdefault(row.bundle_sku, []).append(
            bundles.BundleComponent(row.item_code, quantity, row.price_weight)
        )
    return {sku: tuple(parts) for sku, parts in found.items()}


def tax_map(shop: Shop) -> dict[tuple[str, str, str, str], str]:
    return {
        (r.channel, r.region.upper(), r.source_tax, r.usage): r.tax_type
        for r in _shop_rows_last(TaxRateMapping, shop)
    }


def order_invoice_settings(shop: Shop) -> OrderInvoiceSettings:
    """The shop's order-invoice accounts and choices (Shop.ORDER_INVOICE_SETTINGS, Finance's) and
    its invoicing gate (OrderSync.order_finalised_status)."""
    return OrderInvoiceSettings(
        sales=shop.order_sales_account,
        seller_discount=shop.order_seller_discount_account,
        platform_discount=shop.order_platform_discount_account,
        platform_reimbursement=shop.order_platform_reimbursement_account,
        shipping=shop.order_shipping_account,
        sales_tax=shop.order_sales_tax_account,
        tax_presentation=shop.order_tax_presentation,
        finalised_status=order_finalised_status(shop),
        number_prefix=shop.order_invoice_prefix,
    )


def org_settings(connection: XeroConnection | None) -> OrgSettings | None:
    """The organisation as last read from Xero, or None when it has never been read."""
    if connection is None or connection.settings_refreshed_at is None:
        return None
    return OrgSettings(
        base_currency=connection.base_currency,
        period_lock_date=connection.period_lock_date,
        end_of_year_lock_date=connection.end_of_year_lock_date,
        accounts={a["Code"]: _account(a) for a in connection.accounts if a.get("Code")},
        tax_rates={t["TaxType"]: _tax_rate(t) for t in connection.tax_rates if t.get("TaxType")},
        # None (item check skipped, and said so) until a refresh has read GET /Items.
        items=None
        if connection.items is None
        else frozenset(i["Code"] for i in connection.items if i.get("Code")),
    )


def _account(raw: dict) -> Account:
    return Account(
        code=raw["Code"],
        type=raw.get("Type", ""),
        account_class=raw.get("Class", ""),
        status=raw.get("Status", "ACTIVE"),
        system_account=raw.get("SystemAccount", "") or "",
        enable_payments=bool(raw.get("EnablePaymentsToAccount")),
    )


_CAN_APPLY = {
    "CanApplyToAssets": "ASSET",
    "CanApplyToEquity": "EQUITY",
    "CanApplyToExpenses": "EXPENSE",
    "CanApplyToLiabilities": "LIABILITY",
    "CanApplyToRevenue": "REVENUE",
}


def _tax_rate(raw: dict) -> TaxRate:
    return TaxRate(
        tax_type=raw["TaxType"],
        rate=Decimal(str(raw.get("EffectiveRate", raw.get("DisplayTaxRate", "0")))),
        status=raw.get("Status", "ACTIVE"),
        can_apply_to=frozenset(flag for key, flag in _CAN_APPLY.items() if raw.get(key)),
    )


def postings_due(now) -> list[int]:
    """Postings a sender should pick up: ready, retry when due, unknown outcomes to reconcile."""
    due = XeroPosting.objects.filter(
        Q(state=XeroPosting.State.READY)
        | Q(state__in=[XeroPosting.State.RETRY, XeroPosting.State.UNKNOWN], next_attempt_at__lte=now)
        # parked by an auth failure: due again as soon as the connection is active again
        | Q(state=XeroPosting.State.RETRY, next_attempt_at__isnull=True)
    ).filter(connection__status=XeroConnection.Status.ACTIVE)
    return list(due.order_by("document_date", "id").values_list("id", flat=True))


def sync_summary(shops=None) -> dict:
    """Counts finance reads after a run: postings per state, open quarantine per reason."""
    postings = XeroPosting.objects.all()
    items = QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN)
    if shops is not None:
        postings, items = postings.filter(shop__in=shops), items.filter(shop__in=shops)
    return {
        "postings": dict(postings.values_list("state").annotate(n=Count("id")).order_by()),
        "quarantine": dict(items.values_list("reason").annotate(n=Count("id")).order_by()),
        "quarantine_items": list(items.values_list("reason", "source_ref", "message").order_by("created_at")),
    }


# Payments through clearing in posting mode "order invoices" (planning/order_settlement.py): an
# invoice's payment moves money into clearing, a credit note's refund moves it out.
PAYMENT_SIGNS = {"order_payment": Decimal("1"), "credit_note_refund": Decimal("-1")}


def clearing_movement(shop: Shop, statement_ids: list[int]) -> Decimal:
    """What the statements' posted journals and payments moved the clearing account by."""
    return sum(
        (
            _clearing_amount(kind, purpose, payload, shop.clearing_account)
            for _, kind, purpose, payload in _clearing_postings(statement_ids)
        ),
        Decimal("0"),
    )


def _clearing_postings(statement_ids):
    """(statement id, kind, purpose, payload) of the statements' posted journals and payments through
    clearing, in one query for them all. Tuples, not rows: a statement of an order-mode shop has a
    payment per order, and the dashboard reads a month of them (reconciliation/demo/dashboard_bench.py)."""
    return (
        XeroPosting.objects.filter(
            source_type=ContentType.objects.get_for_model(Statement),
            source_id__in=statement_ids,
            state=XeroPosting.State.POSTED,
        )
        .filter(
            Q(kind=XeroPosting.Kind.MANUAL_JOURNAL)
            | Q(kind=XeroPosting.Kind.PAYMENT, purpose__in=PAYMENT_SIGNS)
        )
        .order_by()
        .values_list("source_id", "kind", "purpose", "payload")
    )


def _clearing_amount(kind: str, purpose: str, payload: dict, clearing_account: str) -> Decimal:
    if kind == XeroPosting.Kind.PAYMENT:
        if payload["Account"]["Code"] != clearing_account:
            return Decimal("0")
        return PAYMENT_SIGNS[purpose] * Decimal(str(payload["Amount"]))
    lines = payload["JournalLines"]
    return sum(
        (Decimal(str(line["LineAmount"])) for line in lines if line["AccountCode"] == clearing_account),
        Decimal("0"),
    )


def posted_by_purpose(shop: Shop) -> dict[str, int]:
    """How many of the shop's documents Xero has, by purpose (order_invoice, order_payment, ...)."""
    posted = XeroPosting.objects.filter(shop=shop, state=XeroPosting.State.POSTED)
    return dict(posted.values_list("purpose").annotate(n=Count("id")).order_by())


def payout_reconciliation(shop: Shop) -> list[dict]:
    """Per payout of the shop, oldest first: see payouts_reconciled."""
    payouts = Payout.objects.filter(shop=shop).select_related("shop").order_by("paid_date", "payment_id")
    return list(payouts_reconciled(payouts).values())


def drafts_pending() -> Q:
    """Postings Xero holds as a draft: finance sent them "as draft" and the latest element read
    from Xero (services/drafts.py re-reads them on each sync) still says DRAFT."""
    return Q(state=XeroPosting.State.POSTED, xero_response__Status="DRAFT")


def payouts_reconciled(payouts) -> dict[int, dict]:
    """Per payout (by id, in the order given): the deposit (in `currency`), what its statements say,
    what we posted through clearing (journals; in posting mode "order invoices" also the payments),
    what is left. Six queries however many payouts (and postings), so the dashboard and the payout list can use it.

    A residue other than 0.00 means a statement of that payout is held, not yet sent, not fetched,
    or TikTok's statements and deposit disagree. The deposit is compared with what the statements put
    into clearing less any reserve only the payment reports (the RECEIVE moves that one between
    clearing and the reserve account; docs/ARCHITECTURE.md, Reserves).
    """
    payouts = list(payouts)
    statements: dict[tuple[int, str], list[Statement]] = {}
    found = Statement.objects.filter(
        shop_id__in={p.shop_id for p in payouts}, payment_id__in={p.payment_id for p in payouts}
    )
    for statement in found.order_by("statement_date", "statement_id"):
        statements.setdefault((statement.shop_id, statement.payment_id), []).append(statement)
    clearing = {p.shop_id: p.shop.clearing_account for p in payouts}
    through_clearing: dict[int, Decimal] = {}  # statement id -> what its documents moved clearing by
    shop_of = {s.pk: s.shop_id for group in statements.values() for s in group}
    for source_id, kind, purpose, payload in _clearing_postings(list(shop_of)):
        amount = _clearing_amount(kind, purpose, payload, clearing[shop_of[source_id]])
        through_clearing[source_id] = through_clearing.get(source_id, Decimal("0")) + amount
    # a statement whose document Xero refused (held after sending) waits for finance like one held
    # when planned
    refused = set(
        XeroPosting.objects.filter(
            source_type=ContentType.objects.get_for_model(Statement),
            source_id__in=list(shop_of),
            state=XeroPosting.State.HELD,
        )
        .order_by()
        .values_list("source_id", flat=True)
        .distinct()
    )
    receives = {posting.source_id: posting for posting in _receives([p.pk for p in payouts])}
    # a statement whose journal finance sent as a draft is not in Xero's ledger until approved there
    drafts = set(
        XeroPosting.objects.filter(
            drafts_pending(),
            source_type=ContentType.objects.get_for_model(Statement),
            source_id__in=list(shop_of),
        )
        .order_by()
        .values_list("source_id", flat=True)
        .distinct()
    )
    return {
        payout.pk: {
            **_reconciled(
                payout,
                statements.get((payout.shop_id, payout.payment_id), []),
                through_clearing,
                receives,
                refused,
            ),
            "draft_statements": sum(
                1 for s in statements.get((payout.shop_id, payout.payment_id), []) if s.pk in drafts
            ),
        }
        for payout in payouts
    }


def _receives(payout_ids: list[int]):
    """Each payout's newest RECEIVE that is not superseded: the newest is picked in the database
    (ids only), so a payout whose receipt was planned many times still loads one row."""
    newest = Window(
        RowNumber(), partition_by=[F("source_id")], order_by=[F("created_at").desc(), F("id").desc()]
    )
    ids = (
        XeroPosting.objects.filter(
            source_type=ContentType.objects.get_for_model(Payout),
            source_id__in=payout_ids,
            purpose="payout_receive",
        )
        .exclude(state=XeroPosting.State.SUPERSEDED)
        .annotate(newest=newest)
        .filter(newest=1)
        .values_list("pk", flat=True)
    )
    return XeroPosting.objects.filter(pk__in=list(ids))


def _reconciled(
    payout: Payout,
    statements: list[Statement],
    through_clearing: dict[int, Decimal],
    receives: dict,
    refused: set = frozenset(),
) -> dict:
    posted = sum((through_clearing.get(s.pk, Decimal("0")) for s in statements), Decimal("0"))
    receive = receives.get(payout.pk)
    statements_reserve = sum((s.reserve_amount for s in statements), Decimal("0"))
    payment_only_reserve = (payout.reserve_amount or Decimal("0")) - statements_reserve
    return {
        "payout": payout.payment_id,
        "paid_date": payout.paid_date,
        "currency": payout.currency,
        "deposit": payout.amount,
        "statements": len(statements),
        "statements_total": sum((s.settlement_amount or Decimal("0") for s in statements), Decimal("0")),
        "posted_to_clearing": posted,
        "receive": receive.state if receive else "none",
        "reserve_on_receive": payment_only_reserve,
        "residue": payout.amount - payment_only_reserve - posted,
        # for the words finance reads (reconciliation/dashboard.py)
        "held_statements": sum(1 for s in statements if s.state == Statement.State.HELD or s.pk in refused),
        "receive_posting": receive,
    }


def order_finalised_status(shop: Shop) -> str:
    """The shop's invoicing gate (DESIGN.md 4.4): AWAITING_COLLECTION unless finance chose another."""
    sync = OrderSync.objects.filter(shop=shop).first()
    return sync.order_finalised_status if sync else OrderStatus.AWAITING_COLLECTION


def orders_ready_to_invoice(shop: Shop):
    """The shop's orders at or past its finalised status that are sales: not sample, replacement
    or exchange orders (DESIGN.md 4.1). Cancelled orders never pass the gate. Oldest change first."""
    return (
        TikTokOrder.objects.filter(shop=shop, status__in=statuses_at_or_past(order_finalised_status(shop)))
        .filter(is_sample=False, is_replacement=False, is_exchange=False)
        .select_related("source")
        .order_by("update_time", "order_id")
    )
