"""What finance reads first (the admin's home, the payout pages): per shop the last sync, the
posting backlog, open exceptions with the money they hold, and each recent payout in words.

Read-only queries like selectors.py; the payout figures are selectors.payouts_reconciled's, so the
dashboard, the payout pages and `manage.py demo` print the same residue. A fixed number of queries
however many payouts (one more per shop for its last sync).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.utils import timezone

from reconciliation.models import Payout, QuarantineItem, Shop, Statement, SyncRun, XeroPosting
from reconciliation.selectors import payouts_reconciled

# Width in pixels of the longest bar of a shop's payout chart.
BAR_WIDTH = 180


def money(amount: Decimal | None, currency: str) -> str:
    """An amount as finance reads it: thousands separated, two decimals, the currency after."""
    if amount is None:
        return "-"
    return f"{amount:,.2f} {currency}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def payout_words(payout: Payout, row: dict) -> str:
    """Where a payout stands, in the words of the issue: reconciled, waiting for N held statements,
    or residue X.XX (and, before those, a payout TikTok has not paid or a receipt not yet in Xero)."""
    if row["held_statements"]:
        return f"waiting for {plural(row['held_statements'], 'held statement')}"
    if payout.status == "FAILED":
        return "payment failed at TikTok"
    if payout.status != "PAID":
        return f"not paid yet (TikTok: {payout.status})"
    if row["residue"] != 0:
        return f"residue {row['residue']:,.2f}"
    if row.get("draft_statements"):
        # Xero keeps a draft out of the ledger: clearing holds the receipt without the journal
        return f"waiting for {plural(row['draft_statements'], 'draft journal')} to be approved in Xero"
    receive = row["receive_posting"]
    if receive is None:
        return "residue 0.00, bank receipt not planned yet"
    if receive.state != XeroPosting.State.POSTED:
        return f"residue 0.00, bank receipt {receive.get_state_display().lower()}"
    return "reconciled"


def payout_statements(payout: Payout):
    return Statement.objects.filter(shop_id=payout.shop_id, payment_id=payout.payment_id).order_by(
        "statement_date", "statement_id"
    )


def open_items_about(statements, payouts=()):
    """Open quarantine items whose source is one of these statements or payouts."""
    by_statement = Q(source_type=ContentType.objects.get_for_model(Statement), source_id__in=statements)
    by_payout = Q(source_type=ContentType.objects.get_for_model(Payout), source_id__in=payouts)
    items = QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN)
    return items.filter(by_statement | by_payout).order_by("created_at")


def payout_blockers(payout: Payout):
    """What keeps a payout from reconciling: the open items of its statements and of itself."""
    return open_items_about([s.pk for s in payout_statements(payout)], [payout.pk])


@dataclass
class PayoutLine:
    payout: Payout
    row: dict
    words: str
    reconciled: bool
    posted_bar: int  # pixels
    residue_bar: int  # pixels

    @property
    def deposit(self) -> str:
        return money(self.row["deposit"], self.payout.currency)

    @property
    def posted(self) -> str:
        return money(self.row["posted_to_clearing"], self.payout.currency)

    @property
    def residue(self) -> str:
        return money(self.row["residue"], self.payout.currency)


@dataclass
class ExceptionLine:
    reason: str  # in words
    code: str
    count: int
    held: str  # money the items' statements and payouts carry, per currency; "" when not known


@dataclass
class ShopPanel:
    shop: Shop
    last_run: SyncRun | None
    backlog: list[tuple[str, int]] = field(default_factory=list)
    exceptions: list[ExceptionLine] = field(default_factory=list)
    payouts: list[PayoutLine] = field(default_factory=list)

    @property
    def open_exceptions(self) -> int:
        return sum(line.count for line in self.exceptions)

    @property
    def connection_problem(self) -> str:
        """Why the shop cannot post to Xero or read TikTok now, in words ("" when it can)."""
        xero = self.shop.xero_connection
        if xero is None:
            return "no Xero organisation is set for this shop"
        if xero.status != xero.Status.ACTIVE:
            return f"Xero connection {xero.name} is {xero.get_status_display().lower()}: nothing posts until it is reconnected"
        channel = getattr(self.shop, "connection", None)
        if channel is None or not (channel.access_token or channel.refresh_token):
            return (
                f"not authorised at {self.shop.get_channel_display()}: nothing is read until it is authorised"
            )
        return ""


def dashboard(*, today: date | None = None, days: int = 30) -> list[ShopPanel]:
    today = today or timezone.localdate()
    shops = Shop.objects.select_related("xero_connection", "connection").order_by("code")
    panels = {shop.pk: ShopPanel(shop, _last_run(shop)) for shop in shops}
    for shop_id, backlog in _backlog().items():
        panels[shop_id].backlog = backlog
    for shop_id, lines in _exceptions().items():
        panels[shop_id].exceptions = lines
    for shop_id, lines in _payout_lines(today - timedelta(days=days)).items():
        panels[shop_id].payouts = lines
    return list(panels.values())


def _last_run(shop: Shop) -> SyncRun | None:
    return SyncRun.objects.filter(shop=shop).order_by("-started_at", "-id").first()


# Backlog first (what still has to happen), what is done last.
STATE_ORDER = ["held", "unknown", "retry", "sending", "ready", "waiting", "posted", "dismissed", "superseded"]


def _backlog() -> dict[int, list[tuple[str, int]]]:
    # COUNT(*), not COUNT(id): read from the (shop, state) index alone (XeroPosting.Meta.indexes)
    counts = XeroPosting.objects.values_list("shop_id", "state").annotate(n=Count("*")).order_by()
    found: dict[int, dict[str, int]] = {}
    for shop_id, state, n in counts:
        found.setdefault(shop_id, {})[state] = n
    labels = dict(XeroPosting.State.choices)
    return {
        shop_id: [(labels.get(s, s), by_state[s]) for s in sorted(by_state, key=_state_rank)]
        for shop_id, by_state in found.items()
    }


def _state_rank(state: str) -> int:
    return STATE_ORDER.index(state) if state in STATE_ORDER else len(STATE_ORDER)


def _exceptions() -> dict[int, list[ExceptionLine]]:
    items = list(
        QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN).values_list(
            "shop_id", "reason", "source_type_id", "source_id"
        )
    )
    amounts = source_amounts(items)
    grouped: dict[tuple[int, str], list[tuple]] = {}
    for shop_id, reason, source_type_id, source_id in items:
        grouped.setdefault((shop_id, reason), []).append((source_type_id, source_id))
    labels = dict(QuarantineItem._meta.get_field("reason").choices or [])
    found: dict[int, list[ExceptionLine]] = {}
    for (shop_id, reason), sources in sorted(grouped.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        held: dict[str, Decimal] = {}
        for source in set(sources):  # an amount once per source, however many of its documents are held
            if source in amounts:
                amount, currency = amounts[source]
                held[currency] = held.get(currency, Decimal("0")) + amount
        line = ExceptionLine(
            labels.get(reason, reason), reason, len(sources), ", ".join(money(a, c) for c, a in held.items())
        )
        found.setdefault(shop_id, []).append(line)
    return found


def source_amounts(items) -> dict[tuple[int, int], tuple[Decimal, str]]:
    """(content type id, id) -> (amount, currency) for the statements and payouts items are about."""
    statement_type = ContentType.objects.get_for_model(Statement)
    payout_type = ContentType.objects.get_for_model(Payout)
    amounts = {}
    ids = {t: [i for _, _, kind, i in items if kind == t.pk] for t in (statement_type, payout_type)}
    statements = Statement.objects.filter(pk__in=ids[statement_type], settlement_amount__isnull=False)
    for pk, amount, currency in statements.values_list("pk", "settlement_amount", "currency"):
        amounts[(statement_type.pk, pk)] = (amount, currency)
    for pk, amount, currency in Payout.objects.filter(pk__in=ids[payout_type]).values_list(
        "pk", "amount", "currency"
    ):
        amounts[(payout_type.pk, pk)] = (amount, currency)
    return amounts


def _payout_lines(since: date) -> dict[int, list[PayoutLine]]:
    """Payouts paid since `since` (and those not paid yet), newest first."""
    payouts = list(
        Payout.objects.filter(Q(paid_date__gte=since) | Q(paid_date__isnull=True))
        .select_related("shop")
        .order_by("shop__code", "-paid_date", "-payment_id")
    )
    rows = payouts_reconciled(payouts)
    by_shop: dict[int, list[tuple[Payout, dict]]] = {}
    for payout in payouts:
        by_shop.setdefault(payout.shop_id, []).append((payout, rows[payout.pk]))
    return {shop_id: _lines(pairs) for shop_id, pairs in by_shop.items()}


def _lines(pairs: list[tuple[Payout, dict]]) -> list[PayoutLine]:
    scale = max((max(abs(r["deposit"]), abs(r["posted_to_clearing"])) for _, r in pairs), default=0) or 1
    lines = []
    for payout, row in pairs:
        words = payout_words(payout, row)
        posted = max(Decimal("0"), min(row["posted_to_clearing"], row["deposit"]))
        lines.append(
            PayoutLine(
                payout,
                row,
                words,
                words == "reconciled",
                round(BAR_WIDTH * posted / scale),
                round(BAR_WIDTH * abs(row["residue"]) / scale),
            )
        )
    return lines
