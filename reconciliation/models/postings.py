"""The outbox: every Xero document we plan, send or fail to send, and every HTTP attempt."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


def link_to(source) -> dict:
    """The fields that point a posting or quarantine item at `source` (any model row), for
    `.filter(**link_to(x))` and `.create(**link_to(x))`; {} for no source."""
    if source is None:
        return {"source_type": None, "source_id": None}
    return {"source_type": ContentType.objects.get_for_model(source), "source_id": source.pk}


class XeroPosting(models.Model):
    """One Xero document to create, written before the call and updated after it."""

    class Kind(models.TextChoices):
        MANUAL_JOURNAL = "ManualJournals", "Manual journal"
        BANK_TRANSACTION = "BankTransactions", "Bank transaction"
        INVOICE = "Invoices", "Invoice"
        CREDIT_NOTE = "CreditNotes", "Credit note"
        PAYMENT = "Payments", "Payment"
        # PUT /CreditNotes/{CreditNoteID}/Allocations: the credit note is `depends_on`.
        ALLOCATION = "Allocations", "Credit note allocation"

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
    # What this posts: one link to any source (a statement, a payout; later an order, a refund, a
    # purchase order, a remittance), not one nullable key per kind (docs/ARCHITECTURE.md, Layers).
    source_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    source_id = models.PositiveBigIntegerField()
    source = GenericForeignKey("source_type", "source_id")
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
    # The document whose Xero id this one needs (a payment's invoice, an allocation's credit note):
    # it stays WAITING until that one is POSTED (services/dependencies.py, docs/ARCHITECTURE.md).
    plan_key = models.CharField(
        max_length=255, blank=True, help_text="PlannedDocument.key: how other plans name this document"
    )
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
        verbose_name = "Xero posting"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "idempotency_key"], name="posting_unique_idempotency_key"
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["source_type", "source_id"]),
            # How a plan finds a dependency (and its orphaned dependents) by key, and how a send
            # finds another row of the same document: without them each look-up read every row of
            # the outbox, so planning and sending N documents took time in N squared.
            models.Index(fields=["connection", "plan_key"], name="posting_connection_plan_key"),
            models.Index(fields=["connection", "lookup_reference"], name="posting_connection_lookup"),
            # The dashboard's postings by state per shop (reconciliation/dashboard.py): counted from
            # this index alone, not by reading every row of the outbox.
            models.Index(fields=["shop", "state"], name="posting_shop_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.lookup_reference}: {self.state_label()}"

    SENDABLE = ("ready", "retry", "unknown")

    def is_draft_in_xero(self) -> bool:
        """Xero holds it as a DRAFT (finance sent it "as draft"; services/drafts.py re-reads it each
        sync): outside the ledger until someone approves it in Xero."""
        return self.state == self.State.POSTED and (self.xero_response or {}).get("Status") == "DRAFT"

    def state_label(self) -> str:
        """The state in words; a draft is not called "Posted" (selectors.drafts_pending)."""
        if self.is_draft_in_xero():
            return "Draft in Xero (not in the ledger until approved there)"
        return self.get_state_display()

    def can_send(self) -> bool:
        return self.state in self.SENDABLE


WRITE_METHODS = ("PUT", "POST", "DELETE")


class XeroAttempt(models.Model):
    """One HTTP request to Xero, secrets removed. Append-only audit.

    Written just before the request leaves (`completed_at` empty) and completed with the answer, so
    a worker killed while Xero applies a write still leaves a row that says "outcome unknown".
    Token calls are rows too, with `posting` empty. A batch request (services/batch_send.py) is
    one row per member posting, sharing `batch_ref`, so every posting's own attempts still say
    whether Xero may have its document (`may_have_written`, outbox.replaceable).
    """

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
    error_kind = models.CharField(
        max_length=30, blank=True, help_text="connectors.errors.ErrorKind of a failed call, else empty"
    )
    number = models.PositiveSmallIntegerField(
        default=1, help_text="1 for a request's first try, 2, 3, ... for the client's retries of it"
    )
    batch_ref = models.CharField(
        max_length=32,
        blank=True,
        db_index=True,
        help_text="one HTTP request sent for several postings has one row per member, all with this value",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text="empty: sent, but no answer was recorded (the worker stopped)"
    )

    class Meta:
        verbose_name = "Xero HTTP attempt"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        if self.completed_at is None:
            return f"{self.method} {self.url} -> no answer recorded"
        return f"{self.method} {self.url} -> {self.status or self.error[:40]}"

    def may_have_written(self) -> bool:
        """Could Xero have applied this request? False only when that is known (DESIGN.md 6).

        Known not applied: reads; a 4xx answer other than 409 (429 rate limit, 401/403 auth,
        400/413 refusals of the whole request are all decided before Xero writes anything); and a
        network failure classified TRANSIENT on a write, which `classify_exception` only does when
        the request never reached Xero (connection refused, connect timeout). Everything else may
        have been applied: no answer recorded, a read timeout or dropped connection after sending,
        409 (a keyed write still in progress), 5xx, and any 2xx (whether the element itself was
        created is judged from the posting's element result, not here).
        """
        if self.method.upper() not in WRITE_METHODS:
            return False
        if self.completed_at is None:
            return True
        if self.status is None:
            return self.error_kind != "transient"
        return not (400 <= self.status < 500 and self.status != 409)
