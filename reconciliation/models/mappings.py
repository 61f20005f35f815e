"""Operator maps: how channel data becomes Xero accounts, items and tax types."""

from django.db import models
from django.db.models import Q

from reconciliation.models.shops import Channel, account_code


class ComponentMapping(models.Model):
    """Fee-to-account map: a statement component (DESIGN.md 4.2) -> Xero account, tax type, tracking.

    A row with no shop applies to every shop of the channel; a shop row overrides it.
    """

    channel = models.CharField(max_length=20, choices=Channel.choices)
    shop = models.ForeignKey("reconciliation.Shop", null=True, blank=True, on_delete=models.CASCADE)
    component = models.CharField(max_length=120, help_text="e.g. fee.transaction_fee_amount")
    account_code = models.CharField(max_length=10, validators=[account_code])
    tax_type = models.CharField(max_length=50, blank=True, help_text="Blank means no tax type")
    tracking_category = models.CharField(max_length=100, blank=True)
    tracking_option = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["channel", "component"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "shop", "component"],
                condition=Q(shop__isnull=False),
                name="component_map_unique_per_shop",
            ),
            models.UniqueConstraint(
                fields=["channel", "component"],
                condition=Q(shop__isnull=True),
                name="component_map_unique_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} -> {self.account_code}"


def _per_shop_and_channel(name: str, *key: str) -> list[models.UniqueConstraint]:
    """A key once per shop and once channel-wide (NULLs are distinct in a plain unique constraint)."""
    return [
        models.UniqueConstraint(
            fields=["channel", "shop", *key], condition=Q(shop__isnull=False), name=f"{name}_unique_per_shop"
        ),
        models.UniqueConstraint(
            fields=["channel", *key], condition=Q(shop__isnull=True), name=f"{name}_unique_per_channel"
        ),
    ]


class SkuMapping(models.Model):
    """Channel SKU (TikTok seller_sku / sku_id, Amazon ASIN or vendor code) -> Xero item code.

    A row with no shop applies to every shop of the channel; a shop row overrides it.
    """

    channel = models.CharField(max_length=20, choices=Channel.choices)
    shop = models.ForeignKey("reconciliation.Shop", null=True, blank=True, on_delete=models.CASCADE)
    channel_sku = models.CharField(max_length=100)
    item_code = models.CharField(max_length=30, help_text="Xero item code (max 30 characters)")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "SKU mapping"
        ordering = ["channel", "channel_sku"]
        constraints = _per_shop_and_channel("sku_map", "channel_sku")

    def __str__(self) -> str:
        return f"{self.channel_sku} -> {self.item_code}"


class BundleComponent(models.Model):
    """One component of a bundle SKU; the bundle price splits by price_weight (largest remainder).

    Rows with no shop apply to every shop of the channel. A shop's rows for a bundle SKU replace the
    channel-wide rows for that SKU as a whole set (they are not merged component by component): a
    shop that sells the bundle with other contents must not inherit a channel-wide component.
    """

    channel = models.CharField(max_length=20, choices=Channel.choices)
    shop = models.ForeignKey("reconciliation.Shop", null=True, blank=True, on_delete=models.CASCADE)
    bundle_sku = models.CharField(max_length=100)
    item_code = models.CharField(max_length=30)
    quantity = models.DecimalField(max_digits=12, decimal_places=4)
    price_weight = models.DecimalField(max_digits=12, decimal_places=4)

    class Meta:
        ordering = ["channel", "bundle_sku", "item_code"]
        constraints = [
            *_per_shop_and_channel("bundle", "bundle_sku", "item_code"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bundle_quantity_positive"),
            models.CheckConstraint(condition=Q(price_weight__gte=0), name="bundle_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_sku}: {self.quantity} x {self.item_code}"


class TaxRateMapping(models.Model):
    """(channel, region, source tax name or rate, usage) -> Xero TaxType, checked against GET /TaxRates.

    A row with no shop applies to every shop of the channel; a shop row overrides it.
    """

    class Usage(models.TextChoices):
        SALES = "sales", "Sales"
        FEES = "fees", "Fees"

    channel = models.CharField(max_length=20, choices=Channel.choices)
    shop = models.ForeignKey("reconciliation.Shop", null=True, blank=True, on_delete=models.CASCADE)
    region = models.CharField(max_length=8)
    source_tax = models.CharField(max_length=100, help_text="Tax name or rate as the channel reports it")
    usage = models.CharField(max_length=10, choices=Usage.choices)
    tax_type = models.CharField(max_length=50)

    class Meta:
        ordering = ["channel", "region", "source_tax"]
        constraints = _per_shop_and_channel("tax_map", "region", "source_tax", "usage")

    def __str__(self) -> str:
        return f"{self.channel}/{self.region} {self.source_tax} ({self.usage}) -> {self.tax_type}"


class UnitOfMeasureConversion(models.Model):
    """How many of the Xero item's stock unit one channel unit is (e.g. 1 case = 12 eaches)."""

    item_code = models.CharField(max_length=30)
    from_unit = models.CharField(max_length=30)
    to_unit = models.CharField(max_length=30)
    factor = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["item_code", "from_unit"]
        constraints = [
            models.UniqueConstraint(fields=["item_code", "from_unit", "to_unit"], name="uom_unique"),
            models.CheckConstraint(condition=Q(factor__gt=0), name="uom_factor_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item_code}: 1 {self.from_unit} = {self.factor} {self.to_unit}"
