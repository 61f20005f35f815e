"""TikTok orders, returns and cancellations as pulled, the per-shop order cursor and invoicing gate,
and received webhook notifications.

The raw JSON of each is an immutable, content-hashed SourceRecord (kinds `tiktok.order`,
`tiktok.return`, `tiktok.cancellation`); the rows here index it by TikTok's id and keep the few
fields the pipeline selects on. Interpreting the JSON (lines, bundles, money) is the pure domain's
job (reconciliation/domain/), which reads `row.source.payload`.
"""

from django.db import models

from reconciliation.planning.order_invoice import STATUS_ORDER


class OrderStatus(models.TextChoices):
    """TikTok's order statuses (specs/tiktok/order.json; DESIGN.md 4.1)."""

    UNPAID = "UNPAID", "Unpaid"
    ON_HOLD = "ON_HOLD", "On hold (buyer may still cancel)"
    AWAITING_SHIPMENT = "AWAITING_SHIPMENT", "Awaiting shipment"
    AWAITING_COLLECTION = "AWAITING_COLLECTION", "Awaiting collection"
    PARTIALLY_SHIPPING = "PARTIALLY_SHIPPING", "Partially shipping"
    IN_TRANSIT = "IN_TRANSIT", "In transit"
    DELIVERED = "DELIVERED", "Delivered"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"


# The order an order moves through is TikTok's (order.json's status list, which puts
# PARTIALLY_SHIPPING before AWAITING_COLLECTION: a partly shipped order has not reached the default
# gate); one list, shared with the invoice planner. CANCELLED ends the line without passing any
# gate: a cancelled order is never ready to invoice.
ORDER_PROGRESSION = [OrderStatus(status) for status in STATUS_ORDER]


def statuses_at_or_past(status: str) -> list[str]:
    """The statuses at or after `status` in ORDER_PROGRESSION (ValueError for CANCELLED or unknown)."""
    return [str(s) for s in ORDER_PROGRESSION[ORDER_PROGRESSION.index(OrderStatus(status)) :]]


class OrderSync(models.Model):
    """How one shop's orders come in: the pull cursor and the status at which an order is final."""

    GATE_CHOICES = [(str(s), s.label) for s in ORDER_PROGRESSION]

    shop = models.OneToOneField("reconciliation.Shop", on_delete=models.CASCADE, related_name="order_sync")
    orders_synced_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="orders, returns and cancellations updated before this instant have been pulled",
    )
    order_finalised_status = models.CharField(
        max_length=32,
        choices=GATE_CHOICES,
        default=OrderStatus.AWAITING_COLLECTION,
        help_text="an order at or past this status is invoiced (DESIGN.md 4.4); later ones strand fewer invoices",
    )

    def __str__(self) -> str:
        return f"orders of {self.shop.code} (until {self.orders_synced_until})"


class TikTokRecord(models.Model):
    """What every pulled order-side record has: its shop, TikTok's update time and its raw JSON."""

    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="+")
    update_time = models.DateTimeField(help_text="TikTok's update_time (unix seconds, stored as UTC)")
    content_hash = models.CharField(max_length=64, help_text="hash of the raw JSON last stored")
    source = models.ForeignKey(
        "reconciliation.SourceRecord",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the raw JSON as TikTok returned it (immutable)",
    )
    fetched_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TikTokOrder(TikTokRecord):
    """One TikTok order (GET /order/202309/orders detail)."""

    order_id = models.CharField(max_length=64)
    status = models.CharField(max_length=32, help_text="TikTok's order status (OrderStatus)")
    create_time = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="payment.currency")
    is_sample = models.BooleanField(default=False, help_text="is_sample_order: never a sale")
    is_replacement = models.BooleanField(default=False, help_text="is_replacement_order: never a sale")
    is_exchange = models.BooleanField(default=False, help_text="is_exchange_order: never a sale")

    class Meta:
        verbose_name = "TikTok order"
        ordering = ["shop", "-update_time", "order_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "order_id"], name="tiktok_order_unique_per_shop")
        ]
        indexes = [models.Index(fields=["shop", "status"], name="tiktok_order_shop_status")]

    def __str__(self) -> str:
        return f"TikTok order {self.order_id} ({self.status})"


class TikTokReturn(TikTokRecord):
    """One TikTok return or refund (POST /return_refund/202309/returns/search entry)."""

    return_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=48, help_text="return_status")
    return_type = models.CharField(
        max_length=32, blank=True, help_text="REFUND, RETURN_AND_REFUND, REPLACEMENT"
    )

    class Meta:
        verbose_name = "TikTok return"
        ordering = ["shop", "-update_time", "return_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "return_id"], name="tiktok_return_unique_per_shop")
        ]

    def __str__(self) -> str:
        return f"TikTok return {self.return_id} of order {self.order_id} ({self.status})"


class TikTokCancellation(TikTokRecord):
    """One TikTok order cancellation (POST /return_refund/202309/cancellations/search entry)."""

    cancel_id = models.CharField(max_length=64)
    order_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=48, help_text="cancel_status")
    cancel_type = models.CharField(max_length=32, blank=True, help_text="CANCEL or BUYER_CANCEL")

    class Meta:
        verbose_name = "TikTok cancellation"
        ordering = ["shop", "-update_time", "cancel_id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "cancel_id"], name="tiktok_cancellation_unique_per_shop")
        ]

    def __str__(self) -> str:
        return f"TikTok cancellation {self.cancel_id} of order {self.order_id} ({self.status})"


class WebhookEvent(models.Model):
    """A TikTok notification as received (after its signature was checked); one row per
    `tts_notification_id`, so a notification TikTok delivers again is processed once."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received (task queued)"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (a type or shape we do not act on)"
        FAILED = "failed", "Failed (the next order pull catches up)"

    notification_id = models.CharField(max_length=100, help_text="TikTok's tts_notification_id")
    type = models.PositiveIntegerField(help_text="1 order status, 11 cancellation, 12 return (DESIGN.md 4.1)")
    external_shop_id = models.CharField(max_length=64, help_text="TikTok's shop_id")
    shop = models.ForeignKey("reconciliation.Shop", on_delete=models.PROTECT, related_name="+")
    timestamp = models.BigIntegerField(null=True, blank=True, help_text="TikTok's timestamp (unix seconds)")
    payload = models.JSONField(help_text="the body as received")
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["notification_id"], name="webhook_event_unique_notification")
        ]

    def __str__(self) -> str:
        return f"TikTok notification {self.notification_id} (type {self.type}, {self.state})"


class StatementOrder(models.Model):
    """Which orders a statement of an order-invoices shop settles, and how: the sales and refund
    components of the order's ORDER transactions in it (planning/order_settlement.SALE_COVERED,
    REFUND_COVERED), as TikTok signs them. Written when the statement is read, held or not, so a
    refund's credit note can tell whether TikTok settled the sale without it (services/order_credits)."""

    statement = models.ForeignKey("reconciliation.Statement", on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=64, db_index=True)
    sales = models.DecimalField(max_digits=14, decimal_places=2)
    refunds = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["statement", "order_id"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "order_id"], name="statement_order_unique")
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} in statement {self.statement_id}: sales {self.sales}, refunds {self.refunds}"
