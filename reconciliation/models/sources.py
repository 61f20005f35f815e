"""What we pulled from the channels, kept immutable and content-hashed, plus the facts we track."""

import hashlib
import json

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models


def _postings(query_name: str) -> GenericRelation:
    """`source.postings`: the outbox rows planned from this source (XeroPosting.source)."""
    return GenericRelation(
        "reconciliation.XeroPosting",
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name=query_name,
    )


def _held(query_name: str) -> GenericRelation:
    """`source.quarantine`: the quarantine items about this source (QuarantineItem.source)."""
    return GenericRelation(
        "reconciliation.QuarantineItem",
        content_type_field="source_type",
        object_id_field="source_id",
        related_query_name=query_name,
    )


def content_hash(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SourceKind:
    STATEMENT = "tiktok.statement"
    STATEMENT_TRANSACTIONS = "tiktok.statement_transactions"
    PAYMENT = "tiktok.payment"
    ORDER = "tiktok.order"  # one GET /order/202309/orders detail entry
    RETURN = "tiktok.return"  # one returns/search entry
    CANCELLATION = "tiktok.cancellation"  # one cancellations/search entry
    # the rows of one statement of a Seller Center export file, as read (services/seller_center.py)
    SELLER_CENTER = "tiktok.seller_center"


class SourceRecord(models.Model):
    """A raw page as the channel returned it. Never updated: a changed page is a new row."""

    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="sources")
    kind = models.CharField(max_length=40, help_text="e.g. tiktok.statement_transactions")
    external_id = models.CharField(max_length=100)
    sequence = models.PositiveIntegerField(default=0, help_text="page number within the source")
    content_hash = models.CharField(max_length=64)
    payload = models.JSONField()
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shop", "kind", "external_id", "sequence", "fetched_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "kind", "external_id", "sequence", "content_hash"],
                name="source_record_unique_content",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id} #{self.sequence}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("source records are immutable")
        self.content_hash = content_hash(self.payload)
        super().save(*args, **kwargs)


class Statement(models.Model):
    """A TikTok daily statement and where it is in the pipeline."""

    class State(models.TextChoices):
        FETCHED = "fetched", "Fetched"
        HELD = "held", "Held (quarantined)"
        PLANNED = "planned", "Planned (see its postings for what reached Xero)"

    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="statements")
    statement_id = models.CharField(max_length=64)
    # Empty only on a statement TikTok listed in a shape we could not read: the row exists so that
    # its hold blocks the payout's RECEIVE and Retry has something to re-plan.
    statement_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    settlement_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reserve_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text="reserve withheld (negative) or released (positive), as last planned",
    )
    payment_id = models.CharField(max_length=64, blank=True)
    payment_status = models.CharField(max_length=20, blank=True)
    content_hash = models.CharField(max_length=64, help_text="hash of all transaction pages together")
    page_hashes = models.JSONField(default=list, help_text="content hash of each page, in order")
    state = models.CharField(max_length=20, choices=State.choices, default=State.FETCHED)
    fetched_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    postings = _postings("statement")
    quarantine = _held("statement")

    class Meta:
        ordering = ["-statement_date", "statement_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "statement_id"], name="statement_unique_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.shop.code} statement {self.statement_id} ({self.statement_date})"

    def pages(self) -> list[dict]:
        """The raw transaction pages this statement was last planned from, in page order."""
        records = SourceRecord.objects.filter(
            shop=self.shop,
            kind=SourceKind.STATEMENT_TRANSACTIONS,
            external_id=self.statement_id,
            content_hash__in=self.page_hashes,
        )
        by_key = {(r.sequence, r.content_hash): r.payload for r in records}
        return [by_key[(i, h)] for i, h in enumerate(self.page_hashes)]


class Payout(models.Model):
    """A bank payout from the channel (TikTok payment) that carries one or more statements."""

    FINAL_STATUSES = ("PAID", "FAILED")

    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="payouts")
    payment_id = models.CharField(max_length=64)
    status = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    settlement_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reserve_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    paid_date = models.DateField(null=True, blank=True)
    created_time = models.DateTimeField(null=True, blank=True, help_text="when TikTok created the payment")
    content_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)
    postings = _postings("payout")
    quarantine = _held("payout")

    class Meta:
        ordering = ["-paid_date", "payment_id"]
        constraints = [models.UniqueConstraint(fields=["shop", "payment_id"], name="payout_unique_per_shop")]

    def __str__(self) -> str:
        return f"{self.shop.code} payout {self.payment_id} {self.amount} {self.currency}"


class SyncRun(models.Model):
    """One sync of one shop: progress while it runs, a summary when it ends."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.CharField(max_length=200, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"sync {self.shop.code} {self.started_at:%Y-%m-%d %H:%M:%S} UTC: {self.get_status_display()}"
