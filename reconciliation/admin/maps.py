"""Operator maps: editable by Operations (and the fee map by Finance), importable as spreadsheets;
a row typed into a form is checked as its spreadsheet row would be (SheetRulesForm)."""

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
    SpreadsheetResource,
    TaxRateMappingResource,
    UnitOfMeasureResource,
    component_name,
)


class SheetRulesForm(forms.ModelForm):
    """A map row typed into the admin is refused for what the row would be refused for in its
    spreadsheet (the resource's row_errors: the shop on the row's channel; accounts, tax types and
    items the row's Xero organisations have in their cached settings), with the sheet's messages.
    What the organisations have not read from Xero yet is not checked, as in a sheet."""

    resource_class: type[SpreadsheetResource]
    # What decides which organisations (and which lines) a row is checked against: when the form
    # refused one of these, the instance still holds the old value, and checking would mislead.
    SCOPE = ("channel", "shop", "region", "usage")

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the values the form accepted
        if any(name in self.errors for name in self.SCOPE):
            return
        for field, message in self.resource_class().form_errors(self.instance).items():
            if field not in self.errors:  # one error a field: the form's own comes first
                self.add_error(field if field in self.fields else None, message)


def sheet_form(resource: type[SpreadsheetResource], **cached: str) -> type[forms.ModelForm]:
    """The form of `resource`'s model, refusing what its sheet refuses; `cached`: field -> the
    organisations' values it offers (admin/choices.py)."""
    form = type(f"{resource.__name__}Form", (SheetRulesForm,), {"resource_class": resource})
    model = resource._meta.model
    return forms.modelform_factory(model, form=form, fields="__all__", widgets=organisation_widgets(**cached))


class ComponentMappingForm(SheetRulesForm):
    """The same rules as a spreadsheet import (reconciliation/sheets/maps.py)."""

    resource_class = ComponentMappingResource

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
    form = sheet_form(SkuMappingResource, item_code="items")
    resource_classes = [SkuMappingResource]
    list_display = ("channel_sku", "channel", "shop_or_all", "item_code", "description")
    list_filter = ("channel", ScopeFilter, ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("channel_sku", "item_code", "description", "shop__code")
    list_select_related = ("shop",)


@admin.register(BundleComponent)
class BundleComponentAdmin(ShopOrAll, SpreadsheetAdmin):
    form = sheet_form(BundleComponentResource, item_code="items")
    resource_classes = [BundleComponentResource]
    list_display = ("bundle_sku", "channel", "shop_or_all", "item_code", "quantity", "price_weight")
    list_filter = ("channel", ScopeFilter, ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("bundle_sku", "item_code", "shop__code")
    list_select_related = ("shop",)


@admin.register(TaxRateMapping)
class TaxRateMappingAdmin(ShopOrAll, SpreadsheetAdmin):
    form = sheet_form(TaxRateMappingResource, tax_type="tax_rates")
    resource_classes = [TaxRateMappingResource]
    list_display = ("source_tax", "channel", "shop_or_all", "region", "usage", "tax_type")
    list_filter = ("channel", ScopeFilter, "region", "usage", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("source_tax", "tax_type", "shop__code")
    list_select_related = ("shop",)


@admin.register(UnitOfMeasureConversion)
class UnitOfMeasureConversionAdmin(SpreadsheetAdmin):
    resource_classes = [UnitOfMeasureResource]
    form = sheet_form(UnitOfMeasureResource, item_code="items")
    list_display = ("item_code", "from_unit", "factor", "to_unit")
    search_fields = ("item_code", "from_unit", "to_unit")
