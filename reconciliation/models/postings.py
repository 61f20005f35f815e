"""The outbox: every Xero document we plan, send or fail to send, and every HTTP attempt."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class XeroPosting(models.Model):
    """One Xero document to create, written before the call and updated after it."""

    class Kind(models.TextChoices):
        MANUAL_JOURNAL = "ManualJournals", "Manual journal"
        BANK_TRANSACTION = "BankTransactions", "Bank transaction"
        INVOICE = "Invoices", "Invoice"
        CREDIT_NOTE = "CreditNotes", "Credit note"
        PAYMENT = "Payments", "Payment"

    class State(models.TextChoices):
        READY = "ready", "Ready to send"
        SENDING = "sending", "Sending"
        UNKNOWN = "unknown", "Outcome unknown (look up before retry)"
        RETRY = "retry", "Waiting to retry"
        POSTED = "posted", "Posted"
        HELD = "held", "Held (quarantined)"
        WAITING = "waiting", "Waiting for another document"
        SUPERSEDED = "superseded", "Superseded (replaced before it reached Xero)"
        DISMISSED = "dismissed", "Dismissed by finance"

    connection = models.ForeignKey("reconciliation.XeroConnection", on_delete=models.PROTECT)
    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="postings")
    statement = models.ForeignKey(
        "reconciliation.Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    payout = models.ForeignKey(
        "reconciliation.Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="postings"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    source_ref = models.CharField(max_length=255, help_text="What this posts, in words finance can search")
    purpose = models.CharField(max_length=40, help_text="e.g. statement_journal, payout_receive")
    lookup_reference = models.CharField(
        max_length=255, help_text="How to find this document in Xero after an unknown outcome"
    )
    idempotency_key = models.CharField(max_length=128)
    source_hash = models.CharField(
        max_length=64, blank=True, help_text="content hash of the source it was planned from"
    )
    payload = models.JSONField(encoder=DjangoJSONEncoder, help_text="the element as sent (amounts as text)")
    document_date = models.DateField()
    original_date = models.DateField(null=True, blank=True, help_text="Set when finance re-dated it")
    depends_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="dependents"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.READY)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="when a worker last claimed it")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=30, blank=True)
    xero_id = models.CharField(max_length=64, blank=True)
    xero_number = models.CharField(max_length=64, blank=True)
    xero_response = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "idempotency_key"], name="posting_unique_idempotency_key"
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.lookup_reference} [{self.state}]"

    SENDABLE = ("ready", "retry", "unknown")

    def can_send(self) -> bool:
        return self.state in self.SENDABLE


class XeroAttempt(models.Model):
    """One HTTP request to Xero, secrets removed. Append-only audit."""

    connection = models.ForeignKey("reconciliation.XeroConnection", on_delete=models.PROTECT)
    posting = models.ForeignKey(
        XeroPosting, null=True, blank=True, on_delete=models.PROTECT, related_name="http_attempts"
    )
    method = models.CharField(max_length=10)
    url = models.TextField()
    status = models.IntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status or self.error[:40]}"
