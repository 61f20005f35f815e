"""What was pulled, planned, sent and answered: read-only for everyone (DESIGN.md 8).

Postings and HTTP attempts read as finance reads money: documents in words with their amount and
currency, states and error classes in words, times to the second, each linked to its source.
"""

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.formats import date_format
from django.utils.html import format_html

from reconciliation.admin.base import ReadOnlyAdmin, ReadOnlyInline, pretty
from reconciliation.admin.documents import (
    admin_link,
    document_number,
    error_kind_words,
    purpose_words,
    request_words,
    source_link,
    status_words,
)
from reconciliation.admin.money import money_column
from reconciliation.admin.posting_page import PostingPageMixin, posting_total_words, posting_words
from reconciliation.models import SourceRecord, SyncRun, XeroAttempt, XeroPosting

__all__ = ["admin_link"]  # orders.py links with it


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


class PurposeFilter(admin.SimpleListFilter):
    title = "purpose"
    parameter_name = "purpose"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("purpose", flat=True).distinct()
        return sorted(((code, purpose_words(code)) for code in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(purpose=self.value()) if self.value() else queryset


class XeroAttemptInline(ReadOnlyInline):
    model = XeroAttempt
    fk_name = "posting"
    verbose_name_plural = "HTTP attempts"
    fields = ("created_at", "request", "number", "status_words", "error_kind_words", "completed_at", "error")
    readonly_fields = fields
    ordering = ("created_at", "id")

    @admin.display(description="request")
    def request(self, obj):
        return request_words(obj.method, obj.url)

    @admin.display(description="status")
    def status_words(self, obj):
        return attempt_status(obj)

    @admin.display(description="error class")
    def error_kind_words(self, obj):
        return error_kind_words(obj.error_kind)


def attempt_status(attempt: XeroAttempt) -> str:
    if attempt.completed_at is None:
        return "sent, no answer recorded"
    return status_words(attempt.status)


def short_state(posting: XeroPosting) -> str:
    """The state's label without its explanation ("Held", "Outcome unknown"), for lists."""
    return posting.state_label().split(" (")[0]


@admin.register(XeroPosting)
class XeroPostingAdmin(PostingPageMixin, ReadOnlyAdmin):
    list_display = (
        "document",
        "amount",
        "state_short",
        "date",
        "shop_code",
        "http_attempts",
        "source_column",
    )
    list_display_links = ("document",)
    list_filter = ("shop", "state", "kind", PurposeFilter, HasErrorFilter, "connection")
    search_fields = ("source_ref", "lookup_reference", "idempotency_key", "xero_id", "xero_number")
    list_select_related = ("shop", "connection")
    inlines = [XeroAttemptInline]

    def changelist_view(self, request, extra_context=None):
        # Seven columns of money and links and the filters do not fit 1400 px beside the model
        # menu: the list gives it up (Home and the breadcrumbs still lead everywhere).
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def get_queryset(self, request):
        # Counted in the same query as the rows, not one query per row; sources one query per kind.
        # A correlated subquery, not Count() with GROUP BY: the database then counts attempts for
        # the page's rows only, instead of grouping the whole table before the LIMIT (4.3 s of the
        # 5.4 s the list took over 100,000 postings on SQLite).
        attempts = (
            XeroAttempt.objects.filter(posting=OuterRef("pk"))
            .order_by()
            .values("posting")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(http_attempt_count=Coalesce(Subquery(attempts), 0))
            .prefetch_related("source")
        )

    @admin.display(description="document", ordering="kind")
    def document(self, obj):
        number = obj.xero_number or document_number(obj.payload)
        return format_html(
            '{}{}<br><span class="quiet">{}</span>',
            obj.get_kind_display(),
            f" {number}" if number else "",
            purpose_words(obj.purpose),
        )

    @money_column("document total")
    def amount(self, obj):
        return posting_total_words(obj)

    @admin.display(description="state", ordering="state")
    def state_short(self, obj):
        return short_state(obj)

    @admin.display(description="date", ordering="document_date")
    def date(self, obj):
        return format_html('<span style="white-space:nowrap">{}</span>', date_format(obj.document_date))

    @admin.display(description="shop", ordering="shop__code")
    def shop_code(self, obj):
        return obj.shop.code

    @admin.display(description="source")
    def source_column(self, obj):
        return source_link(obj, wrap=True)

    @admin.display(description="HTTP attempts", ordering="http_attempt_count")
    def http_attempts(self, obj):
        """The XeroAttempt rows below, counted: `XeroPosting.attempts` counts claims (one claim may
        make several HTTP calls: retried 429s, a lookup before a send), which is what backoff and
        the retry limit read, not what the audit shows."""
        if not hasattr(obj, "http_attempt_count"):
            obj.http_attempt_count = obj.http_attempts.count()
        return obj.http_attempt_count


class ErrorClassFilter(admin.SimpleListFilter):
    title = "error class"
    parameter_name = "error_kind"

    def lookups(self, request, model_admin):
        kinds = XeroAttempt.objects.exclude(error_kind="").order_by().values_list("error_kind", flat=True)
        return [(kind, error_kind_words(kind)) for kind in sorted(set(kinds))]

    def queryset(self, request, queryset):
        return queryset.filter(error_kind=self.value()) if self.value() else queryset


@admin.register(XeroAttempt)
class XeroAttemptAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "posting_link",
        "request_short",
        "status_words",
        "error_kind_words",
        "duration_ms",
    )
    list_display_links = ("created_at",)
    list_filter = ("method", "status", ErrorClassFilter, "connection")
    # batch_ref: every member's row of one batch request (services/batch_send.py).
    search_fields = ("url", "idempotency_key", "error", "posting__source_ref", "batch_ref")
    list_select_related = ("posting", "posting__shop", "connection")
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "posting_link",
                    "source_of_posting",
                    "connection",
                    "request",
                    "number",
                    "status_words",
                    "error_kind_words",
                    "error",
                    "created_at",
                    "completed_at",
                    "duration_ms",
                ]
            },
        ),
        (
            "Raw request and answer",
            {
                "classes": ["collapse"],
                "fields": [
                    "idempotency_key",
                    "batch_ref",
                    "request_headers_pretty",
                    "request_body_pretty",
                    "response_headers_pretty",
                    "response_body_pretty",
                ],
            },
        ),
    ]

    def changelist_view(self, request, extra_context=None):
        # As the postings list: the columns need the page's width at 1400 px.
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:  # the heading without Xero's API root and a long query string
            context.setdefault("subtitle", f"{request_words(obj.method, obj.url, 90)}: {attempt_status(obj)}")
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="request")
    def request(self, obj):
        return f"{obj.method} {obj.url}"

    @admin.display(description="request")
    def request_short(self, obj):
        return request_words(obj.method, obj.url, 70)

    @admin.display(description="status", ordering="status")
    def status_words(self, obj):
        return attempt_status(obj)

    @admin.display(description="error class", ordering="error_kind")
    def error_kind_words(self, obj):
        return error_kind_words(obj.error_kind)

    @admin.display(description="posting")
    def posting_link(self, obj):
        if obj.posting is None:
            return "- (a token or organisation call)"
        return admin_link(obj.posting, posting_words(obj.posting))

    @admin.display(description="source of the posting")
    def source_of_posting(self, obj):
        return source_link(obj.posting) if obj.posting else "-"

    request_headers_pretty = pretty("request_headers", "request headers")

    request_body_pretty = pretty("request_body", "request body")

    response_headers_pretty = pretty("response_headers", "response headers")

    response_body_pretty = pretty("response_body", "response body")
