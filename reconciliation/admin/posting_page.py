"""One Xero posting's page: the document as planned and as Xero holds it, in tables, linked both
ways to its source, payout, dependencies, quarantine items and HTTP attempts; the raw JSON one
click away (a collapsed section) for the auditor."""

from django.contrib import admin
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from reconciliation.admin.base import pretty
from reconciliation.admin.documents import (
    account_names,
    admin_link,
    document_number,
    document_reference,
    document_table,
    error_kind_words,
    journal_sources_table,
    purpose_words,
    source_link,
    source_words,
)
from reconciliation.api.money import document_amount
from reconciliation.models import Payout, QuarantineItem, Statement, XeroPosting
from reconciliation.models.postings import link_to


def _lines(items) -> str:
    return format_html_join(mark_safe("<br>"), "{}", ((item,) for item in items)) or "-"


def posting_words(posting: XeroPosting) -> str:
    """A posting as a link's text: kind, number, amount, state ("Invoice TT-5765...: 221.10 USD,
    Posted")."""
    number = posting.xero_number or document_number(posting.payload)
    value = document_amount(posting)
    money = "" if value is None else f" {value:,.2f} {posting.shop.currency},"
    return f"{posting.get_kind_display()}{' ' + number if number else ''}:{money} {posting.state_label()}"


def posting_total_words(posting: XeroPosting) -> str:
    """What the document moves, in words: a journal's total is its debits, which is more than the
    statement's settlement (a journal also moves fees and refunds), so it says so."""
    value = document_amount(posting)
    if value is None:
        return "-"
    if posting.kind == XeroPosting.Kind.MANUAL_JOURNAL:
        return format_html(
            '{} {}<br><span class="quiet">its debits</span>', f"{value:,.2f}", posting.shop.currency
        )
    return f"{value:,.2f} {posting.shop.currency}"


class PostingPageMixin:
    """The change page of XeroPostingAdmin (its list is in admin/audit.py)."""

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "document_words",
                    "reference_words",
                    "amount_words",
                    "state_words",
                    "document_date",
                    "original_date",
                    "shop",
                    "connection",
                ]
            },
        ),
        (
            "Linked records",
            {
                "fields": [
                    "source_link",
                    "payout_link",
                    "depends_on_link",
                    "dependents_list",
                    "quarantine_list",
                ]
            },
        ),
        ("The document as planned (what we send)", {"fields": ["planned_table"]}),
        ("TikTok transactions behind each journal line", {"fields": ["sources_table"]}),
        ("As Xero holds it", {"fields": ["xero_number", "xero_id", "posted_at", "posted_table"]}),
        (
            "Sending",
            {
                "fields": [
                    "http_attempts",
                    "next_attempt_at",
                    "last_error_kind_words",
                    "last_error",
                    "created_at",
                ]
            },
        ),
        (
            "Raw (as sent and as answered)",
            {
                "classes": ["collapse"],
                "fields": [
                    "source_ref",
                    "lookup_reference",
                    "idempotency_key",
                    "plan_key",
                    "payload_pretty",
                    "xero_response_pretty",
                ],
            },
        ),
    ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The document tables need the page's width (as the list, admin/audit.py); the heading
        # names the document in words rather than by its lookup reference.
        obj = self.get_object(request, object_id)
        context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        if obj is not None:
            context.setdefault("subtitle", f"{self.document_words(obj)}: {obj.state_label()}")
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="document")
    def document_words(self, obj):
        """Kind and purpose, and its number, else what it is about (a journal's narration is long)."""
        number = obj.xero_number or document_number(obj.payload)
        if not number and obj.source is not None:
            number = source_words(obj.source)
        return f"{obj.get_kind_display()} ({purpose_words(obj.purpose)}), {number}"

    @admin.display(description="reference in Xero")
    def reference_words(self, obj):
        return document_reference(obj.payload) or "-"

    @admin.display(description="document total")
    def amount_words(self, obj):
        return posting_total_words(obj)

    @admin.display(description="state")
    def state_words(self, obj):
        return obj.state_label()

    @admin.display(description="source")
    def source_link(self, obj):
        return source_link(obj)

    @admin.display(description="payout")
    def payout_link(self, obj):
        """A statement's documents go out with the payout of the same payment id (its RECEIVE)."""
        source = obj.source
        if isinstance(source, Payout):
            return admin_link(source, f"{source_words(source)} (this posting's source)")
        if not isinstance(source, Statement) or not source.payment_id:
            return "-"
        payout = Payout.objects.filter(shop_id=source.shop_id, payment_id=source.payment_id).first()
        if payout is None:
            return f"payout {source.payment_id} (not read from TikTok yet)"
        return admin_link(payout, f"payout {payout.payment_id}: {payout.amount:,.2f} {payout.currency}")

    @admin.display(description="depends on")
    def depends_on_link(self, obj):
        return admin_link(obj.depends_on, posting_words(obj.depends_on)) if obj.depends_on else "-"

    @admin.display(description="documents depending on it")
    def dependents_list(self, obj):
        return _lines(admin_link(p, posting_words(p)) for p in obj.dependents.order_by("id"))

    @admin.display(description="quarantine items")
    def quarantine_list(self, obj):
        """Items about this posting, and items about its source that hold no posting (a held
        statement's problems)."""
        about = Q(posting=obj)
        if obj.source is not None:
            about |= Q(posting__isnull=True, **link_to(obj.source))
        items = QuarantineItem.objects.filter(about).order_by("-created_at")
        return _lines(
            admin_link(
                i, f"#{i.pk} {i.get_reason_display()} ({i.get_status_display()}), {date_format(i.created_at)}"
            )
            for i in items
        )

    def _names(self, obj) -> dict[str, str]:
        if not hasattr(obj, "_account_names"):
            obj._account_names = account_names(obj.connection)
        return obj._account_names

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and self._traceable(obj):
            return fieldsets
        return [f for f in fieldsets if "sources_table" not in f[1]["fields"]]

    @staticmethod
    def _traceable(obj) -> bool:
        """Only a statement's journal is made of statement transactions."""
        return obj.kind == XeroPosting.Kind.MANUAL_JOURNAL and isinstance(obj.source, Statement)

    def _needed(self, obj) -> dict[str, str]:
        """The document a payment pays or an allocation allocates, named by its number: the planned
        payload holds its Xero id, or a placeholder until it posts."""
        if obj.depends_on is None:
            return {}
        number = obj.depends_on.xero_number or document_number(obj.depends_on.payload)
        if obj.kind == XeroPosting.Kind.ALLOCATION:  # its invoice is named in the payload
            return {"credit_note": number}
        return {"paid": f"{obj.depends_on.get_kind_display().lower()} {number}".strip()}

    @admin.display(description="document")
    def planned_table(self, obj):
        return document_table(obj.kind, obj.payload, self._names(obj), **self._needed(obj))

    @admin.display(description="lines and transactions")
    def sources_table(self, obj):
        if not self._traceable(obj):
            return "-"
        return format_html(
            "<p>Recomputed from the statement's stored pages under the current component map.</p>{}",
            journal_sources_table(obj),
        )

    @admin.display(description="document in Xero")
    def posted_table(self, obj):
        if not obj.xero_response:
            return "not in Xero yet"
        return document_table(obj.kind, obj.xero_response, self._names(obj))

    @admin.display(description="last error class")
    def last_error_kind_words(self, obj):
        return error_kind_words(obj.last_error_kind)

    payload_pretty = pretty("payload", "payload (as sent)")

    xero_response_pretty = pretty("xero_response", "Xero's response")
