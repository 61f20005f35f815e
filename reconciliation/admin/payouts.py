"""Statements and payouts: read-only for everyone (DESIGN.md 8)."""

from django.contrib import admin

from reconciliation.admin.base import ReadOnlyAdmin
from reconciliation.models import Payout, Statement


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "statement_id",
        "shop",
        "statement_date",
        "currency",
        "settlement_amount",
        "state",
        "payment_id",
        "payment_status",
    )
    list_filter = ("state", "shop", "payment_status")
    search_fields = ("statement_id", "payment_id")
    list_select_related = ("shop",)
    date_hierarchy = "statement_date"
    exclude = ("page_hashes",)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("payment_id", "shop", "status", "amount", "currency", "reserve_amount", "paid_date")
    list_filter = ("status", "shop")
    search_fields = ("payment_id",)
    list_select_related = ("shop",)
