from django.db import models

from reconciliation.models.credentials import EncryptedTextField


class XeroConnection(models.Model):
    """One Xero organisation (tenant), its tokens and the organisation settings cached on each run."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused (auth problem)"
        DISCONNECTED = "disconnected", "Disconnected"

    name = models.CharField(max_length=200)
    tenant_id = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=100, blank=True)
    client_secret = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    # Organisation settings, refreshed from Xero at the start of each run (Xero is the source of truth).
    organisation_name = models.CharField(max_length=255, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    period_lock_date = models.DateField(null=True, blank=True)
    end_of_year_lock_date = models.DateField(null=True, blank=True)
    accounts = models.JSONField(default=list, blank=True)
    tax_rates = models.JSONField(default=list, blank=True)
    # The organisation's Items (GET /Items: Code, Name, ...), or None until a refresh has read them:
    # the SKU map's item codes are only checked against a list that was actually read.
    items = models.JSONField(null=True, blank=True, default=None)
    settings_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Xero connection"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"

    def can_post(self) -> bool:
        return self.status == self.Status.ACTIVE
