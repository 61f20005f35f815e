"""Operator maps: editable by Operations (and the fee map by Finance), importable as spreadsheets."""

from django import forms
from django.contrib import admin

from reconciliation.admin.base import SpreadsheetAdmin
from reconciliation.admin.choices import organisation_widgets
from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
)
from reconciliation.resources import (
    BundleComponentResource,
    ComponentMappingResource,
    SkuMappingResource,
    TaxRateMappingResource,
    UnitOfMeasureResource,
    component_name,
    shop_channel_error,
)


class ShopOnChannelForm(forms.ModelForm):
    """A map row's shop must be on the row's channel, as in a spreadsheet import."""

    def clean(self):
        cleaned = super().clean()
        message = shop_channel_error(cleaned.get("channel", ""), cleaned.get("shop"))
        if message:
            self.add_error("shop", message)
        return cleaned


class ComponentMappingForm(ShopOnChannelForm):
    """The same rules as a spreadsheet import (reconciliation/resources.py)."""

    class Meta:
        model = ComponentMapping
        fields = [
            "channel",
            "shop",
            "component",
            "account_code",
            "tax_type",
            "tracking_category",
            "tracking_option",
            "description",
        ]
        widgets = organisation_widgets(account_code="accounts", tax_type="tax_rates")

    def clean_component(self):
        value = self.cleaned_data["component"].strip()
        component_name(value)
        return value


class ScopeFilter(admin.SimpleListFilter):
    title = "applies to"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("channel", "every shop of the channel"), ("shop", "one shop")]

    def queryset(self, request, queryset):
        if self.value() in ("channel", "shop"):
            return queryset.filter(shop__isnull=self.value() == "channel")
        return queryset


@admin.register(ComponentMapping)
class ComponentMappingAdmin(SpreadsheetAdmin):
    form = ComponentMappingForm
    resource_classes = [ComponentMappingResource]
    list_display = (
        "component",
        "channel",
        "shop_or_all",
        "account_code",
        "tax_type",
        "tracking",
        "description",
    )
    list_filter = ("channel", ScopeFilter, ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("component", "account_code", "tax_type", "description", "shop__code")
    list_select_related = ("shop",)

    @admin.display(description="shop", ordering="shop__code")
    def shop_or_all(self, obj):
        return obj.shop.code if obj.shop else f"every {obj.get_channel_display()} shop"

    @admin.display(description="tracking")
    def tracking(self, obj):
        return f"{obj.tracking_category}: {obj.tracking_option}" if obj.tracking_category else ""


class ShopOrAll:
    @admin.display(description="shop", ordering="shop__code")
    def shop_or_all(self, obj):
        return obj.shop.code if obj.shop else f"every {obj.get_channel_display()} shop"


@admin.register(SkuMapping)
class SkuMappingAdmin(ShopOrAll, SpreadsheetAdmin):
    form = forms.modelform_factory(
        SkuMapping, form=ShopOnChannelForm, fields="__all__", widgets=organisation_widgets(item_code="items")
    )
    resource_classes = [SkuMappingResource]
    list_display = ("channel_sku", "channel", "shop_or_all", "item_code", "description")
    list_filter = ("channel", ScopeFilter, ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("channel_sku", "item_code", "description", "shop__code")
    list_select_related = ("shop",)


@admin.register(BundleComponent)
class BundleComponentAdmin(ShopOrAll, SpreadsheetAdmin):
    form = forms.modelform_factory(
        BundleComponent,
        form=ShopOnChannelForm,
        fields="__all__",
        widgets=organisation_widgets(item_code="items"),
    )
    resource_classes = [BundleComponentResource]
    list_display = ("bundle_sku", "channel", "shop_or_all", "item_code", "quantity", "price_weight")
    list_filter = ("channel", ScopeFilter, ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("bundle_sku", "item_code", "shop__code")
    list_select_related = ("shop",)


@admin.register(TaxRateMapping)
class TaxRateMappingAdmin(ShopOrAll, SpreadsheetAdmin):
    form = forms.modelform_factory(
        TaxRateMapping,
        form=ShopOnChannelForm,
        fields="__all__",
        widgets=organisation_widgets(tax_type="tax_rates"),
    )
    resource_classes = [TaxRateMappingResource]
    list_display = ("source_tax", "channel", "shop_or_all", "region", "usage", "tax_type")
    list_filter = ("channel", ScopeFilter, "region", "usage", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("source_tax", "tax_type", "shop__code")
    list_select_related = ("shop",)


@admin.register(UnitOfMeasureConversion)
class UnitOfMeasureConversionAdmin(SpreadsheetAdmin):
    resource_classes = [UnitOfMeasureResource]
    form = forms.modelform_factory(
        UnitOfMeasureConversion, fields="__all__", widgets=organisation_widgets(item_code="items")
    )
    list_display = ("item_code", "from_unit", "factor", "to_unit")
    search_fields = ("item_code", "from_unit", "to_unit")
