"""Quarantine: anything that cannot be posted safely waits here, with a reason, for finance."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class Reason(models.TextChoices):
    """Why an item is held. The code is what the API and the logs carry; the label is what finance
    reads in the admin (titles, filters, the queue), so it is in finance's words, not ours."""

    SOURCE_INCONSISTENT = "SOURCE_INCONSISTENT", "The marketplace's figures do not add up"
    UNMAPPED_COMPONENT = "UNMAPPED_COMPONENT", "Statement line with no account in the map"
    LOCK_DATE = "LOCK_DATE", "Dated in a locked period"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH", "Not in the Xero organisation's base currency"
    INVALID_MAPPING = "INVALID_MAPPING", "Map names an account or tax type Xero does not accept"
    XERO_VALIDATION = "XERO_VALIDATION", "Xero rejected the document"
    SOURCE_CHANGED = "SOURCE_CHANGED", "The marketplace changed it after it was posted"
    AUTH = "AUTH", "Xero connection needs attention"
    RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED", "Xero kept failing; sending stopped"
    XERO_MISMATCH = "XERO_MISMATCH", "Xero's totals differ from what was sent"
    UNMAPPED_SKU = "UNMAPPED_SKU", "Product (SKU) with no Xero item in the map"
    UNMAPPED_TAX = "UNMAPPED_TAX", "Tax rate with no Xero tax type in the map"
    UNSUPPORTED_ORDER = "UNSUPPORTED_ORDER", "Order has something invoicing does not handle yet"
    ORDER_NOT_INVOICED = "ORDER_NOT_INVOICED", "Statement pays an order that has no invoice"


class QuarantineItem(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    reason = models.CharField(max_length=30, choices=Reason.choices)
    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="quarantine")
    # What is held: one link to its source when it has one (a statement, a payout, ...); items about
    # a connection or an unreadable record have none.
    source_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    posting = models.ForeignKey(
        "reconciliation.XeroPosting",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quarantine",
    )
    source_ref = models.CharField(max_length=255, help_text="What is held, in words finance can search")
    message = models.TextField()
    details = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="planned document, Xero's messages"
    )
    proposed_action = models.CharField(max_length=255, blank=True)
    proposed_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("decide_quarantineitem", "Can approve, retry or dismiss quarantined items")]
        constraints = [
            # Re-planning the same held statement must not pile up duplicate open items: one open
            # item per (what, reason), and per (document, reason) for items about a planned document,
            # so each document of a source (an invoice, its payment) keeps its own item.
            models.UniqueConstraint(
                fields=["source_ref", "reason"],
                condition=Q(status="open", posting__isnull=True),
                name="one_open_item_per_reason",
            ),
            models.UniqueConstraint(
                fields=["posting", "reason"],
                condition=Q(status="open", posting__isnull=False),
                name="one_open_item_per_document_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.source_ref}"

    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    def can_approve(self) -> bool:
        return self.status == self.Status.OPEN
