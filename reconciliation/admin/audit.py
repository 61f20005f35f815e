"""What was pulled, planned, sent and answered: read-only for everyone (DESIGN.md 8)."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from reconciliation.admin.base import ReadOnlyAdmin, ReadOnlyInline, pretty
from reconciliation.models import SourceRecord, SyncRun, XeroAttempt, XeroPosting


def admin_link(obj) -> str:
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


@admin.register(SourceRecord)
class SourceRecordAdmin(ReadOnlyAdmin):
    list_display = ("external_id", "kind", "shop", "sequence", "fetched_at", "short_hash")
    list_filter = ("kind", "shop")
    search_fields = ("external_id", "content_hash")
    list_select_related = ("shop",)
    fields = ("shop", "kind", "external_id", "sequence", "content_hash", "fetched_at", "payload_pretty")

    @admin.display(description="hash")
    def short_hash(self, obj):
        return obj.content_hash[:12]

    payload_pretty = pretty("payload", "payload")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("shop", "status", "started_at", "finished_at", "progress")
    list_filter = ("status", "shop")
    search_fields = ("shop__code", "error")
    list_select_related = ("shop",)
    fields = ("shop", "status", "started_at", "finished_at", "progress", "counts_pretty", "error")

    counts_pretty = pretty("counts", "counts")


class HasErrorFilter(admin.SimpleListFilter):
    title = "last error"
    parameter_name = "has_error"

    def lookups(self, request, model_admin):
        return [("yes", "has an error"), ("no", "no error")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


class XeroAttemptInline(ReadOnlyInline):
    model = XeroAttempt
    fk_name = "posting"
    fields = (
        "created_at",
        "method",
        "url",
        "number",
        "status",
        "error_kind",
        "completed_at",
        "batch_ref",
        "error",
    )
    readonly_fields = fields
    ordering = ("created_at", "id")


@admin.register(XeroPosting)
class XeroPostingAdmin(ReadOnlyAdmin):
    @admin.display(description="source")
    def source_link(self, obj):
        return admin_link(obj.source)

    list_display = (
        "kind",
        "source_ref",
        "shop",
        "state",
        "http_attempts",
        "xero_id",
        "xero_number",
        "document_date",
        "created_at",
    )
    list_filter = ("state", "kind", "purpose", HasErrorFilter, "shop", "connection")
    search_fields = ("source_ref", "lookup_reference", "idempotency_key", "xero_id", "xero_number")
    list_select_related = ("shop", "connection")
    inlines = [XeroAttemptInline]
    fieldsets = [
        (None, {"fields": ["kind", "purpose", "source_ref", "shop", "connection", "source_link"]}),
        (
            "State",
            {
                "fields": [
                    "state",
                    "http_attempts",
                    "next_attempt_at",
                    "last_error_kind",
                    "last_error",
                    "xero_id",
                    "xero_number",
                    "posted_at",
                    "created_at",
                ]
            },
        ),
        (
            "Document",
            {
                "fields": [
                    "document_date",
                    "original_date",
                    "lookup_reference",
                    "idempotency_key",
                    "depends_on",
                    "payload_pretty",
                    "xero_response_pretty",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        # counted in the same query as the rows, not one query per row
        return super().get_queryset(request).annotate(http_attempt_count=Count("http_attempts"))

    @admin.display(description="HTTP attempts", ordering="http_attempt_count")
    def http_attempts(self, obj):
        """The XeroAttempt rows below, counted: `XeroPosting.attempts` counts claims (one claim may
        make several HTTP calls: retried 429s, a lookup before a send), which is what backoff and
        the retry limit read, not what the audit shows."""
        return obj.http_attempt_count

    payload_pretty = pretty("payload", "payload (as sent)")

    xero_response_pretty = pretty("xero_response", "Xero's response")


@admin.register(XeroAttempt)
class XeroAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "method", "url", "status", "duration_ms", "posting_link", "error_start")
    list_filter = ("method", "status", "error_kind", "connection")
    # batch_ref: every member's row of one batch request (services/batch_send.py).
    search_fields = ("url", "idempotency_key", "error", "posting__source_ref", "batch_ref")
    list_select_related = ("posting", "connection")
    fields = (
        "connection",
        "posting",
        "created_at",
        "method",
        "url",
        "number",
        "status",
        "error_kind",
        "completed_at",
        "duration_ms",
        "idempotency_key",
        "batch_ref",
        "error",
        "request_headers_pretty",
        "request_body_pretty",
        "response_headers_pretty",
        "response_body_pretty",
    )

    @admin.display(description="posting")
    def posting_link(self, obj):
        return admin_link(obj.posting)

    @admin.display(description="error")
    def error_start(self, obj):
        return obj.error[:80]

    request_headers_pretty = pretty("request_headers", "request headers")

    request_body_pretty = pretty("request_body", "request body")

    response_headers_pretty = pretty("response_headers", "response headers")

    response_body_pretty = pretty("response_body", "response body")
