from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from reconciliation.models.credentials import EncryptedTextField

account_code = RegexValidator(r"^[A-Za-z0-9._-]{1,10}$", "Xero account codes are 1-10 characters")


class Channel(models.TextChoices):
    TIKTOK = "tiktok", "TikTok Shop"
    AMAZON_VENDOR = "amazon_vendor", "Amazon Vendor Central"


class PostingMode(models.TextChoices):
    STATEMENT_JOURNAL = "statement_journal", "Statement journal"
    ORDER_INVOICES = "order_invoices", "Order invoices"


class LineAmountTypes(models.TextChoices):
    EXCLUSIVE = "Exclusive", "Exclusive"
    INCLUSIVE = "Inclusive", "Inclusive"
    NO_TAX = "NoTax", "No tax"


class TaxPresentation(models.TextChoices):
    """How an order invoice shows US marketplace-facilitator sales tax (DESIGN.md 4.4)."""

    GROSS = "gross", "Gross: a sales-tax line, expensed back when the statement settles"
    NET = "net", "Net: the invoice and payment leave the tax out"


def _order_account(purpose: str) -> models.CharField:
    return models.CharField(
        max_length=10,
        blank=True,
        validators=[account_code],
        help_text=f"Order invoices: the Xero account for {purpose}",
    )


class Shop(models.Model):
    """A selling account on a channel and how its money posts into one Xero organisation."""

    channel = models.CharField(max_length=20, choices=Channel.choices)
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=8, help_text="Marketplace region, e.g. US, GB")
    currency = models.CharField(max_length=3)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA zone statement dates are read in; blank: the region's (see README, Dates)",
    )
    posting_mode = models.CharField(
        max_length=30, choices=PostingMode.choices, default=PostingMode.STATEMENT_JOURNAL
    )
    line_amount_types = models.CharField(
        max_length=10, choices=LineAmountTypes.choices, default=LineAmountTypes.NO_TAX
    )
    xero_connection = models.ForeignKey(
        "reconciliation.XeroConnection", null=True, blank=True, on_delete=models.PROTECT
    )
    clearing_account = models.CharField(max_length=10, validators=[account_code])
    bank_account = models.CharField(max_length=10, blank=True, validators=[account_code])
    reserve_account = models.CharField(max_length=10, blank=True, validators=[account_code])
    contact_name = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    sync_from = models.DateField(null=True, blank=True, help_text="First statement date to sync")
    # Posting mode "order invoices" (planning/order_lines.py OrderInvoiceSettings; DESIGN.md 4.4).
    order_sales_account = _order_account("item lines (sales)")
    order_seller_discount_account = _order_account("seller-funded discounts")
    order_platform_discount_account = _order_account("TikTok-funded discounts the buyer got")
    order_platform_reimbursement_account = _order_account("TikTok paying its discounts back")
    order_shipping_account = _order_account("shipping charged")
    order_sales_tax_account = _order_account(
        "marketplace-facilitator sales tax (gross presentation; expensed back on settlement)"
    )
    order_tax_presentation = models.CharField(
        max_length=5, choices=TaxPresentation.choices, default=TaxPresentation.NET
    )
    order_invoice_prefix = models.CharField(
        max_length=10, default="TT-", help_text="Order invoices are numbered <prefix><TikTok order id>"
    )

    ORDER_INVOICE_SETTINGS = (
        "order_sales_account",
        "order_seller_discount_account",
        "order_platform_discount_account",
        "order_platform_reimbursement_account",
        "order_shipping_account",
        "order_sales_tax_account",
        "order_tax_presentation",
        "order_invoice_prefix",
    )
    # Finance chooses these (DESIGN.md 1); Operations keep the rest of the shop.
    POSTING_SETTINGS = (
        "posting_mode",
        "line_amount_types",
        "xero_connection",
        "clearing_account",
        "bank_account",
        "reserve_account",
        *ORDER_INVOICE_SETTINGS,
    )

    class Meta:
        ordering = ["code"]
        permissions = [("change_posting_settings", "Can choose a shop's posting mode and accounts")]

    def __str__(self) -> str:
        return f"{self.name} [{self.code}]"

    def is_taxed(self) -> bool:
        """Does it post VAT or GST (line amounts tax inclusive or exclusive)? A US shop posts NoTax:
        re-dating its documents moves no tax return, so no VAT warning applies."""
        return self.line_amount_types in (LineAmountTypes.INCLUSIVE, LineAmountTypes.EXCLUSIVE)


class ShopConnection(models.Model):
    """The channel API credentials of a shop (TikTok app + tokens; later Amazon LWA)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="connection")
    app_key = models.CharField(max_length=100)
    app_secret = EncryptedTextField()
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    external_shop_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The shop's id at TikTok (found on the first sync when blank); one LedgerSync shop per id",
    )
    shop_cipher = models.CharField(max_length=200, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One TikTok shop, one ledger: a second shop for the same id would post its money twice.
            models.UniqueConstraint(
                fields=["external_shop_id"],
                condition=~Q(external_shop_id=""),
                name="one_shop_per_external_shop_id",
                violation_error_message="this TikTok shop id is already set up as another shop",
            )
        ]

    def __str__(self) -> str:
        return f"connection of {self.shop.code}"

    def clean(self) -> None:
        message = shop_id_conflict(self.external_shop_id, shop_id=self.shop_id)
        if message:
            raise ValidationError({"external_shop_id": message})


def shop_id_conflict(external_shop_id: str, *, shop_id: int | None) -> str | None:
    """Why `external_shop_id` (a TikTok shop id) cannot be given to the shop `shop_id`, if it cannot.

    Statements and payouts are identified by the TikTok shop, not by our shop code: a second shop
    with the same id would pull the same statements again and post every journal and RECEIVE twice.
    """
    if not external_shop_id:
        return None
    other = (
        ShopConnection.objects.filter(external_shop_id=external_shop_id)
        .exclude(shop_id=shop_id)
        .select_related("shop")
        .first()
    )
    if other is None:
        return None
    return (
        f"TikTok shop {external_shop_id} is already set up as shop {other.shop.code} ({other.shop.name}); "
        "one TikTok shop posts to one ledger, and a second shop for it would post every statement and "
        f"payout twice. Change shop {other.shop.code} instead."
    )
