"""TikTok orders, returns, cancellations and notifications as pulled: read-only for everyone; the
shop's order gate is Finance's choice (DESIGN.md 4.4)."""

from django.contrib import admin
from django.utils.html import format_html_join

from reconciliation.admin.audit import admin_link
from reconciliation.admin.base import ReadOnlyAdmin, pretty, pretty_json
from reconciliation.admin.documents import PURPOSES
from reconciliation.api.money import document_amount
from reconciliation.models import (
    OrderSync,
    QuarantineItem,
    StatementOrder,
    TikTokCancellation,
    TikTokOrder,
    TikTokReturn,
    WebhookEvent,
    XeroPosting,
)
from reconciliation.models.postings import link_to


def _amount(posting: XeroPosting, currency: str) -> str:
    """What the document moves, read from its payload (reconciliation/api/money.py)."""
    amount = document_amount(posting)
    return "" if amount is None else f"{amount:,.2f} {currency}"


class PulledAdmin(ReadOnlyAdmin):
    list_select_related = ("shop",)
    readonly_fields = ("documents", "held", "source_link", "raw")

    @admin.display(description="Xero documents")
    def documents(self, obj):
        """Everything planned for the order: its invoice, the statements' payments of it, its
        returns' and cancellations' credit notes, allocations and refunds (their planning keys all
        start "order <id>:"); for a return or cancellation, what was planned from it."""
        if isinstance(obj, TikTokOrder) and obj.shop.xero_connection_id:
            postings = XeroPosting.objects.filter(
                connection_id=obj.shop.xero_connection_id, plan_key__startswith=f"order {obj.order_id}:"
            )
        else:
            postings = XeroPosting.objects.filter(**link_to(obj))
        rows = [
            (
                PURPOSES.get(p.purpose, p.purpose),
                _amount(p, obj.shop.currency),
                admin_link(p),
                p.state_label(),
            )
            for p in postings.order_by("id")
        ]
        return format_html_join("", "<div>{} {}: {} ({})</div>", rows) or "-"

    @admin.display(description="order")
    def order_link(self, obj):
        order = TikTokOrder.objects.filter(shop=obj.shop, order_id=obj.order_id).first()
        return admin_link(order) if order else f"{obj.order_id} (not pulled)"

    @admin.display(description="open quarantine items")
    def held(self, obj):
        items = QuarantineItem.objects.filter(**link_to(obj), status=QuarantineItem.Status.OPEN)
        return format_html_join("", "<div>{}</div>", ((admin_link(i),) for i in items)) or "-"

    @admin.display(description="source record")
    def source_link(self, obj):
        return admin_link(obj.source)

    @admin.display(description="as TikTok sent it")
    def raw(self, obj):
        return pretty_json(obj.source.payload)


@admin.register(TikTokOrder)
class TikTokOrderAdmin(PulledAdmin):
    list_display = ("order_id", "shop", "status", "update_time", "is_sample", "is_replacement", "is_exchange")
    list_filter = ("status", "shop", "is_sample", "is_replacement", "is_exchange")
    search_fields = ("order_id",)
    exclude = ("source",)


@admin.register(TikTokReturn)
class TikTokReturnAdmin(PulledAdmin):
    list_display = ("return_id", "order_id", "shop", "status", "return_type", "update_time")
    readonly_fields = ("order_link", *PulledAdmin.readonly_fields)
    list_filter = ("status", "return_type", "shop")
    search_fields = ("return_id", "order_id")
    exclude = ("source",)


@admin.register(TikTokCancellation)
class TikTokCancellationAdmin(PulledAdmin):
    list_display = ("cancel_id", "order_id", "shop", "status", "cancel_type", "update_time")
    readonly_fields = ("order_link", *PulledAdmin.readonly_fields)
    list_filter = ("status", "cancel_type", "shop")
    search_fields = ("cancel_id", "order_id")
    exclude = ("source",)


@admin.register(StatementOrder)
class StatementOrderAdmin(ReadOnlyAdmin):
    """What each statement settles of each order (read when the statement is read)."""

    list_display = ("order_id", "statement", "sales", "refunds")
    search_fields = ("order_id", "statement__statement_id")
    list_select_related = ("statement",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("notification_id", "type", "shop", "state", "received_at", "processed_at")
    list_filter = ("state", "type", "shop")
    search_fields = ("notification_id", "external_shop_id")
    list_select_related = ("shop",)
    exclude = ("payload",)
    readonly_fields = ("payload_pretty",)
    payload_pretty = pretty("payload", "payload")


@admin.register(OrderSync)
class OrderSyncAdmin(admin.ModelAdmin):
    list_display = ("shop", "order_finalised_status", "orders_synced_until")
    list_select_related = ("shop",)
    readonly_fields = ("shop", "orders_synced_until")

    def has_add_permission(self, request):
        return False  # one per shop, made by the first pull

    def has_delete_permission(self, request, obj=None):
        return False
