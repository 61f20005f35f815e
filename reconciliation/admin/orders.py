"""TikTok orders, returns, cancellations and notifications as pulled: read-only for everyone; the
shop's order gate is Finance's choice (DESIGN.md 4.4)."""

from django.contrib import admin
from django.utils.html import format_html_join

from reconciliation.admin.audit import admin_link
from reconciliation.admin.base import ReadOnlyAdmin, pretty, pretty_json
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


class PulledAdmin(ReadOnlyAdmin):
    list_select_related = ("shop",)
    readonly_fields = ("documents", "held", "source_link", "raw")

    @admin.display(description="Xero documents planned from it")
    def documents(self, obj):
        """An order's invoice, a return's or cancellation's credit note and allocation."""
        postings = XeroPosting.objects.filter(**link_to(obj)).order_by("id")
        rows = [(p, p.get_state_display()) for p in postings]
        return format_html_join("", "<div>{} ({})</div>", ((admin_link(p), s) for p, s in rows)) or "-"

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
    list_filter = ("status", "return_type", "shop")
    search_fields = ("return_id", "order_id")
    exclude = ("source",)


@admin.register(TikTokCancellation)
class TikTokCancellationAdmin(PulledAdmin):
    list_display = ("cancel_id", "order_id", "shop", "status", "cancel_type", "update_time")
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
