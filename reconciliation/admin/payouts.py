"""Statements and payouts: read-only for everyone (DESIGN.md 8), linked both ways.

A payout page answers "does it reconcile, and if not what blocks it": its deposit, each statement
with its state and postings, the RECEIVE, the residue (selectors.payouts_reconciled) in words.
"""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from reconciliation.admin.base import ReadOnlyAdmin
from reconciliation.admin.money import MONEY_ATTRS, money_column
from reconciliation.close_pack import DISMISSED, StatementRow, statement_rows
from reconciliation.dashboard import money, open_items_about, payout_blockers, payout_statements, payout_words
from reconciliation.models import Payout, Statement, XeroPosting
from reconciliation.selectors import payouts_reconciled


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def link(obj, text) -> str:
    return format_html('<a href="{}">{}</a>', change_url(obj), text)


def table(headers: list[str], rows: list[list], empty: str, money: tuple[int, ...] = ()) -> str:
    """A table, its columns numbered in `money` aligned as money (admin/money.py)."""
    if not rows:
        return empty

    def cells(tag: str, row: list) -> str:
        template = f"<{tag}{{}}>{{}}</{tag}>"
        return format_html_join(
            "", template, ((MONEY_ATTRS if i in money else "", c) for i, c in enumerate(row))
        )

    body = format_html_join("", "<tr>{}</tr>", ((cells("td", row),) for row in rows))
    return format_html(
        "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", cells("th", headers), body
    )


def postings_of(statements) -> dict[int, list[XeroPosting]]:
    """Every posting of these statements (one query), by statement id, oldest first."""
    found: dict[int, list[XeroPosting]] = {}
    postings = XeroPosting.objects.filter(
        source_type=ContentType.objects.get_for_model(Statement), source_id__in=[s.pk for s in statements]
    ).order_by("created_at", "id")
    for posting in postings:
        found.setdefault(posting.source_id, []).append(posting)
    return found


def posting_line(posting: XeroPosting) -> str:
    number = f" {posting.xero_number}" if posting.xero_number else ""
    return format_html(
        "{}: {}", link(posting, f"{posting.get_kind_display()}{number}"), posting.state_label()
    )


def state_short(statement: Statement) -> str:
    """The state's label without its explanation ("Planned", "Held"), for tables."""
    return statement.get_state_display().split(" (")[0]


def dismissal_words(row: StatementRow) -> str:
    """'dismissed by fiona on 2026-11-30: <the reason given>' (the close pack's dismissed statement:
    its items dismissed by finance, none open), or '' when the statement was not dismissed."""
    if row.status != DISMISSED:
        return ""
    day = f" on {date_format(timezone.localdate(row.decided_at))}" if row.decided_at else ""
    return f"dismissed by {row.decided_by or 'finance'}{day}: {row.note}"


def lines(items) -> str:
    return format_html_join(mark_safe("<br>"), "{}", ((item,) for item in items)) or "-"


def items_list(items) -> str:
    return lines(link(item, f"#{item.pk} {item.get_reason_display()}: {item.source_ref}") for item in items)


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "statement_id",
        "date",
        "amount_only",
        "currency",
        "state_short",
        "payout_link",
        "shop_code",
    )
    list_filter = ("state", "shop", "payment_status")
    search_fields = ("statement_id", "payment_id")
    list_select_related = ("shop",)
    date_hierarchy = "statement_date"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "shop",
                    "statement_id",
                    "statement_date",
                    "amount",
                    "reserve",
                    "state_words",
                    "payout_link",
                    "payment_status",
                ]
            },
        ),
        ("Linked", {"fields": ["postings_list", "open_items", "orders_table"]}),
        ("Source", {"fields": ["content_hash", "fetched_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="amount", ordering="settlement_amount")
    def amount(self, obj):
        return money(obj.settlement_amount, obj.currency)

    @admin.display(description="reserve")
    def reserve(self, obj):
        return money(obj.reserve_amount, obj.currency)

    @admin.display(description="date", ordering="statement_date")
    def date(self, obj):
        return date_format(obj.statement_date) if obj.statement_date else "-"

    @money_column("amount", ordering="settlement_amount")
    def amount_only(self, obj):
        return "-" if obj.settlement_amount is None else f"{obj.settlement_amount:,.2f}"

    @admin.display(description="state", ordering="state")
    def state_words(self, obj):
        dismissed = self._dismissal(obj)
        if dismissed:
            return format_html("{}<br><small>{}</small>", dismissed, obj.get_state_display())
        return obj.get_state_display()

    @admin.display(description="state", ordering="state")
    def state_short(self, obj):
        return self._dismissal(obj) or state_short(obj)

    def _dismissal(self, obj) -> str:
        """The finance decision that set the statement aside; in the list, read for the whole page."""
        if not hasattr(obj, "dismissal"):
            obj.dismissal = dismissal_words(statement_rows([obj])[0])
        return obj.dismissal

    @admin.display(description="shop", ordering="shop__code")
    def shop_code(self, obj):
        return obj.shop.code

    def get_changelist_instance(self, request):
        # The page's payouts in one query, not one per row.
        changelist = super().get_changelist_instance(request)
        statements = changelist.result_list
        payouts = Payout.objects.filter(
            shop_id__in={s.shop_id for s in statements}, payment_id__in={s.payment_id for s in statements}
        )
        by_key = {(p.shop_id, p.payment_id): p for p in payouts}
        rows = statement_rows(list(statements))  # who dismissed which, for the state column
        for statement, row in zip(statements, rows, strict=True):
            statement.payout = by_key.get((statement.shop_id, statement.payment_id))
            statement.dismissal = dismissal_words(row)
        return changelist

    @admin.display(description="payout")
    def payout_link(self, obj):
        if hasattr(obj, "payout"):
            payout = obj.payout
        else:
            payout = Payout.objects.filter(shop_id=obj.shop_id, payment_id=obj.payment_id).first()
        if payout is None:
            return obj.payment_id or "-"
        if hasattr(obj, "payout"):  # in the list: the amount is the statement's column
            return link(payout, payout.payment_id)
        return link(payout, f"{payout.payment_id} ({money(payout.amount, payout.currency)})")

    @admin.display(description="postings")
    def postings_list(self, obj):
        return lines(posting_line(p) for p in postings_of([obj]).get(obj.pk, []))

    @admin.display(description="open items")
    def open_items(self, obj):
        return items_list(open_items_about([obj.pk]))

    @admin.display(description="orders it settles")
    def orders_table(self, obj):
        rows = [
            [row.order_id, money(row.sales, obj.currency), money(row.refunds, obj.currency)]
            for row in obj.orders.all()
        ]
        return table(["order", "sales", "refunds"], rows, "-", money=(1, 2))


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = (
        "deposit_amount",
        "currency",
        "paid_date",
        "state_words",
        "residue_amount",
        "payment_id",
        "shop_code",
    )
    list_display_links = ("deposit_amount", "payment_id")
    list_filter = ("status", "shop")
    search_fields = ("payment_id",)
    list_select_related = ("shop",)
    fieldsets = [
        (None, {"fields": ["shop", "payment_id", "status", "deposit", "paid_date", "state_words"]}),
        (
            "Through the clearing account",
            {"fields": ["posted", "reserve_on_receive", "residue", "receive_link"]},
        ),
        ("Statements", {"fields": ["statements_table"]}),
        ("What blocks it", {"fields": ["blockers"]}),
        ("Source", {"fields": ["created_time", "content_hash", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_changelist_instance(self, request):
        # The page's payouts reconciled together: a fixed number of queries per page.
        changelist = super().get_changelist_instance(request)
        rows = payouts_reconciled(changelist.result_list)
        for payout in changelist.result_list:
            payout.reconciliation = rows[payout.pk]
        return changelist

    def row(self, obj) -> dict:
        if not hasattr(obj, "reconciliation"):
            obj.reconciliation = payouts_reconciled([obj])[obj.pk]
        return obj.reconciliation

    @admin.display(description="deposit", ordering="amount")
    def deposit(self, obj):
        return money(obj.amount, obj.currency)

    @admin.display(description="shop", ordering="shop__code")
    def shop_code(self, obj):
        return obj.shop.code

    @money_column("deposit", ordering="amount")
    def deposit_amount(self, obj):
        return f"{obj.amount:,.2f}"

    @money_column("residue")
    def residue_amount(self, obj):
        return f"{self.row(obj)['residue']:,.2f}"

    @admin.display(description="state")
    def state_words(self, obj):
        return payout_words(obj, self.row(obj))

    @admin.display(description="residue")
    def residue(self, obj):
        return money(self.row(obj)["residue"], obj.currency)

    @admin.display(description="posted through clearing")
    def posted(self, obj):
        return money(self.row(obj)["posted_to_clearing"], obj.currency)

    @admin.display(description="reserve on the bank receipt")
    def reserve_on_receive(self, obj):
        return money(self.row(obj)["reserve_on_receive"], obj.currency)

    @admin.display(description="bank receipt (RECEIVE)")
    def receive_link(self, obj):
        receive = self.row(obj)["receive_posting"]
        return posting_line(receive) if receive else "not planned"

    @admin.display(description="statements")
    def statements_table(self, obj):
        statements = list(payout_statements(obj))
        postings = postings_of(statements)
        rows = [
            [
                link(s, s.statement_id),
                date_format(s.statement_date) if s.statement_date else "-",
                state_short(s),
                money(s.settlement_amount, s.currency),
                lines(posting_line(p) for p in postings.get(s.pk, [])),
            ]
            for s in statements
        ]
        return table(
            ["statement", "date", "state", "amount", "postings"], rows, "no statement read yet", money=(3,)
        )

    @admin.display(description="open items")
    def blockers(self, obj):
        return items_list(payout_blockers(obj))
