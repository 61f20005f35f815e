"""One resource per kind of map: shops, components, SKUs, bundles, tax rates, units of measure
(RESOURCES), each a SpreadsheetResource with its columns, checks and example rows."""

from django.core.exceptions import ValidationError
from import_export import fields

from reconciliation.domain.tiktok_time import shop_timezone
from reconciliation.models import (
    BundleComponent,
    ComponentMapping,
    Shop,
    ShopConnection,
    SkuMapping,
    TaxRateMapping,
    UnitOfMeasureConversion,
)
from reconciliation.models.shops import Channel, shop_id_conflict
from reconciliation.models.xero import XeroConnection
from reconciliation.planning.checks import CLASS_FLAG
from reconciliation.planning.order_maps import SIDE_CLASS
from reconciliation.planning.types import OrgSettings
from reconciliation.selectors import org_settings
from reconciliation.sheets.base import (
    MAX_ACCOUNT_CODE,
    MAX_ITEM_CODE,
    MAX_TAX_TYPE,
    OrderMapResource,
    SpreadsheetResource,
    account_problem,
    has_read,
    tax_type_problem,
    validate_item_code,
)
from reconciliation.sheets.cells import (
    ChoiceWidget,
    CodeWidget,
    FactorWidget,
    ValidatedWidget,
    WeightWidget,
    WholeNumberWidget,
)
from reconciliation.sheets.rules import (
    component_name,
    component_warning,
    missing_timezone_message,
    validate_currency,
    validate_timezone,
)

POSTING_SETTINGS_PERMISSION = "reconciliation.change_posting_settings"
SHOP_COLUMNS = (
    "channel",
    "code",
    "name",
    "region",
    "currency",
    "clearing_account",
    "posting_mode",
    "line_amount_types",
)
SHOP_OPTIONAL_COLUMNS = ("bank_account", "reserve_account", "contact_name", "timezone", "tiktok_shop_id")


class ShopResource(SpreadsheetResource):
    required_columns = SHOP_COLUMNS
    optional_columns = SHOP_OPTIONAL_COLUMNS
    example_rows = (
        (
            *("tiktok", "example-us", "Example TikTok US", "US", "USD", "1210", "statement_journal"),
            *("NoTax", "090", "1220", "TikTok Shop", "America/Los_Angeles", ""),
        ),
    )
    code_columns = account_columns = ("clearing_account", "bank_account", "reserve_account")

    channel = fields.Field("channel", "channel", ChoiceWidget(Channel.choices))
    posting_mode = fields.Field(
        "posting_mode", "posting_mode", ChoiceWidget(Shop._meta.get_field("posting_mode").choices)
    )
    line_amount_types = fields.Field(
        "line_amount_types",
        "line_amount_types",
        ChoiceWidget(Shop._meta.get_field("line_amount_types").choices),
    )
    region = fields.Field("region", "region", ValidatedWidget(transform=str.upper))
    currency = fields.Field("currency", "currency", ValidatedWidget(validate_currency, transform=str.upper))
    # A blank time zone means the region's (domain/tiktok_time.py); a region without one needs it set.
    timezone = fields.Field("timezone", "timezone", ValidatedWidget(validate_timezone, blank_value=""))
    # The shop's id at TikTok, kept on its API connection (not a Shop field): optional, and once
    # given, one shop per id (DESIGN.md 4.1 ids; a second shop would post everything twice).
    tiktok_shop_id = fields.Field(column_name="tiktok_shop_id", attribute=None)

    def before_import(self, dataset, **kwargs):
        # The admin passes who is importing; the command line (a trusted operator shell) does not.
        self._user = kwargs.get("user")
        self._tiktok_ids: dict[str, int] = {}  # id -> first sheet row, to refuse two rows per id
        super().before_import(dataset, **kwargs)

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        shop_id = row.get("tiktok_shop_id", "")
        if shop_id:
            sheet_row = kwargs["row_number"] + 1
            first = self._tiktok_ids.setdefault(shop_id, sheet_row)
            if first != sheet_row:
                raise ValidationError(
                    f"tiktok_shop_id {shop_id} is also on row {first}: one TikTok shop posts to one "
                    "ledger, and two shops for it would post every statement and payout twice"
                )

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        instance._tiktok_shop_id = row.get("tiktok_shop_id", None)  # None: column not in the sheet

    def dehydrate_tiktok_shop_id(self, shop: Shop) -> str:
        connection = ShopConnection.objects.filter(shop=shop).first()
        return connection.external_shop_id if connection else ""

    def skip_row(self, instance, original, row, import_validation_errors=None):
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if wanted and instance.pk is not None and wanted != self.dehydrate_tiktok_shop_id(instance):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def row_errors(self, instance) -> dict[str, str]:
        errors = self._tiktok_shop_id_errors(instance) | self._account_errors(instance)
        if shop_timezone(instance.region, instance.timezone) is None:
            errors["timezone"] = missing_timezone_message(instance.region)
        user = getattr(self, "_user", None)
        if user is None or instance.pk is None or user.has_perm(POSTING_SETTINGS_PERMISSION):
            return errors
        stored = Shop.objects.get(pk=instance.pk)
        return errors | {
            name: "only Finance may change a shop's posting mode and accounts"
            for name in Shop.POSTING_SETTINGS
            if getattr(stored, name) != getattr(instance, name)
        }

    def _account_errors(self, instance) -> dict[str, str]:
        """A shop already connected to Xero is checked against its organisation's accounts (a new
        shop has no organisation until it is connected; its accounts are checked before posting)."""
        org = org_settings(instance.xero_connection) if instance.xero_connection_id else None
        if org is None or not has_read(org, "accounts"):
            return {}
        label = (
            f"Xero organisation {instance.xero_connection.organisation_name or instance.xero_connection.name}"
        )
        errors = {}
        for column in self.code_columns:
            code = getattr(instance, column)
            if not code or len(code) > MAX_ACCOUNT_CODE:
                continue
            if message := account_problem(org, code, label, column in self.number_cells):
                errors[column] = message
        return errors

    def _tiktok_shop_id_errors(self, instance) -> dict[str, str]:
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if not wanted:
            return {}
        if instance.channel != Channel.TIKTOK:
            return {"tiktok_shop_id": f"only TikTok shops have a TikTok shop id, not {instance.channel}"}
        current = self.dehydrate_tiktok_shop_id(instance) if instance.pk else ""
        if current and current != wanted:
            return {
                "tiktok_shop_id": f"shop {instance.code} is TikTok shop {current}; a shop's TikTok id "
                "cannot be changed by import (its statements are posted under it)"
            }
        message = shop_id_conflict(wanted, shop_id=instance.pk)
        return {"tiktok_shop_id": message} if message else {}

    def after_save_instance(self, instance, row, **kwargs):
        wanted = getattr(instance, "_tiktok_shop_id", None)
        if wanted:
            # Credentials are entered in the admin later; until then the shop cannot sync.
            ShopConnection.objects.update_or_create(shop=instance, defaults={"external_shop_id": wanted})

    class Meta:
        model = Shop
        fields = SHOP_COLUMNS + SHOP_OPTIONAL_COLUMNS
        import_id_fields = ("code",)


COMPONENT_COLUMNS = ("channel", "shop", "component", "account_code", "tax_type", "description")
# Not in the published sheet layout, but exported, so an exported sheet imports back unchanged.
COMPONENT_OPTIONAL_COLUMNS = ("tracking_category", "tracking_option")


class ComponentMappingResource(OrderMapResource):
    """A statement component's account (DESIGN.md 4.2), checked against the organisation of every
    shop the row applies to, as the order maps are."""

    required_columns = COMPONENT_COLUMNS
    optional_columns = COMPONENT_OPTIONAL_COLUMNS
    code_columns = ("account_code", "tax_type")
    account_columns = ("account_code",)
    example_rows = (
        ("tiktok", "demo-us", "fee.transaction_fee_amount", "6100", "", "Marketplace fees", "", ""),
        ("tiktok", "demo-us", "fee.affiliate_commission_amount", "6110", "", "Affiliate commission", "", ""),
    )
    # Statement journals check every account again before posting (planning/checks.py), and a
    # components sheet is typically loaded before any shop is connected: no warning per row.
    warn_unchecked = False

    component = fields.Field("component", "component", ValidatedWidget(component_name))

    class Meta:
        model = ComponentMapping
        fields = COMPONENT_COLUMNS + COMPONENT_OPTIONAL_COLUMNS
        import_id_fields = ("channel", "shop", "component")
        use_bulk = True  # no per-row hooks after saving: rows are written in batches of 1,000

    account_code = fields.Field("account_code", "account_code", CodeWidget())
    tax_type = fields.Field("tax_type", "tax_type", CodeWidget())

    def order_map_errors(self, instance) -> dict[str, str]:
        errors = {}
        code, tax_type = instance.account_code, instance.tax_type
        number = "account_code" in self.number_cells
        if code and len(code) <= MAX_ACCOUNT_CODE:
            errors |= self.xero_errors(
                instance,
                "account_code",
                "accounts",
                lambda org, label: account_problem(org, code, label, number),
            )
        if tax_type and len(tax_type) <= MAX_TAX_TYPE:
            errors |= self.xero_errors(
                instance, "tax_type", "tax_rates", lambda org, label: tax_type_problem(org, tax_type, label)
            )
        return errors

    def after_import_row(self, row, row_result, **kwargs):
        warning = component_warning(row.get("channel", "").lower(), row.get("component", ""))
        if warning:
            self.warnings.append(f"row {kwargs['row_number'] + 1}: component: {warning}")


class SkuMappingResource(OrderMapResource):
    required_columns = ("channel", "shop", "external_sku", "item_code", "description")
    code_columns = ("external_sku", "item_code")
    example_rows = (
        ("tiktok", "demo-us-orders", "EXAMPLE-MUG", "MUG-CER", "Ceramic mug (example row)"),
        ("tiktok", "demo-us-orders", "1729382256910270001", "COAST-OAK", "Oak coasters by TikTok sku_id"),
    )

    external_sku = fields.Field("channel_sku", "external_sku", CodeWidget())
    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))

    class Meta:
        model = SkuMapping
        fields = ("channel", "shop", "external_sku", "item_code", "description")
        export_order = fields
        import_id_fields = ("channel", "shop", "external_sku")
        use_bulk = True  # no per-row hooks after saving: rows are written in batches of 1,000

    def order_map_errors(self, instance) -> dict[str, str]:
        return self.item_errors(instance)


class BundleComponentResource(OrderMapResource):
    """One row per component; the rows of one (channel, shop, bundle_sku) are the bundle. A shop's
    rows replace the channel-wide bundle of that SKU whole (models/mappings.py BundleComponent)."""

    required_columns = ("channel", "shop", "bundle_sku", "item_code", "quantity", "price_weight")
    code_columns = ("bundle_sku", "item_code")
    example_rows = (
        ("tiktok", "demo-us-orders", "EXAMPLE-GIFT", "MUG-CER", "2", "9.99"),
        ("tiktok", "demo-us-orders", "EXAMPLE-GIFT", "COAST-OAK", "1", "12.5"),
    )

    bundle_sku = fields.Field("bundle_sku", "bundle_sku", CodeWidget())
    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))
    quantity = fields.Field("quantity", "quantity", WholeNumberWidget())
    price_weight = fields.Field("price_weight", "price_weight", WeightWidget())

    class Meta:
        model = BundleComponent
        fields = ("channel", "shop", "bundle_sku", "item_code", "quantity", "price_weight")
        export_order = fields
        import_id_fields = ("channel", "shop", "bundle_sku", "item_code")

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # The last sheet row of each bundle, where a bundle whose weights are all 0 is reported.
        self._last_row: dict[tuple[str, str, str], int] = {}
        for number, row in enumerate(dataset.dict, start=2):
            self._last_row[self._bundle(row)] = number

    @staticmethod
    def _bundle(row) -> tuple[str, str, str]:
        return (row.get("channel", "").lower(), row.get("shop", ""), row.get("bundle_sku", ""))

    @staticmethod
    def _bundle_of(instance) -> tuple[str, str, str]:
        return (instance.channel, instance.shop.code if instance.shop else "", instance.bundle_sku)

    def form_errors(self, instance) -> dict[str, str]:
        # A row saved from the form is the last of its bundle: the bundle is checked as it will stand.
        self._last_row = {self._bundle_of(instance): 0}
        return super().form_errors(instance)

    def order_map_errors(self, instance) -> dict[str, str]:
        errors = self.item_errors(instance)
        last = self._last_row.get(self._bundle_of(instance)) == self.sheet_row
        if last and not self._weighs_something(instance):
            errors["price_weight"] = (
                f"bundle {instance.bundle_sku}: its weights are all 0, so its price cannot be split; "
                "give at least one component a weight above 0"
            )
        return errors

    def _weighs_something(self, instance) -> bool:
        """Whether the bundle as it stands after this file (its rows here and earlier in the file,
        already saved in this transaction, and stored rows the file leaves alone) has a weight."""
        stored = (
            BundleComponent.objects.filter(
                channel=instance.channel, shop=instance.shop, bundle_sku=instance.bundle_sku
            )
            .exclude(item_code=instance.item_code)
            .exclude(pk=instance.pk)  # a form may change this row's item code: not its old self too
        )
        weights = [row.price_weight * row.quantity for row in stored]
        weights.append((instance.price_weight or 0) * (instance.quantity or 0))
        return sum(weights) > 0


class TaxRateMappingResource(OrderMapResource):
    required_columns = ("channel", "shop", "region", "source_tax", "direction", "tax_type")
    code_columns = ("tax_type",)
    example_rows = (
        ("tiktok", "demo-us-orders", "US", "*", "sales", "TAX001"),
        ("tiktok", "demo-us-orders", "US", "*", "fees", "INPUT"),
    )

    region = fields.Field("region", "region", ValidatedWidget(transform=str.upper))
    direction = fields.Field("usage", "direction", ChoiceWidget(TaxRateMapping.Usage.choices))
    tax_type = fields.Field("tax_type", "tax_type", CodeWidget())

    class Meta:
        model = TaxRateMapping
        fields = ("channel", "shop", "region", "source_tax", "direction", "tax_type")
        export_order = fields
        import_id_fields = ("channel", "shop", "region", "source_tax", "direction")
        use_bulk = True  # no per-row hooks after saving: rows are written in batches of 1,000

    def shops_of(self, instance):
        # The planner looks a tax rate up under the shop's region: a channel-wide GB row is only
        # ever used by GB shops, so only their organisations need to have its tax type.
        if instance.shop is not None:
            return [instance.shop]
        return super().shops_of(instance).filter(region=instance.region)

    def order_map_errors(self, instance) -> dict[str, str]:
        if instance.shop is not None and instance.region and instance.shop.region != instance.region:
            self.warnings.append(
                f"row {self.sheet_row}: region: shop {instance.shop.code} is in {instance.shop.region}, "
                f"so this {instance.region} row never matches its orders"
            )
        tax_type, usage = instance.tax_type, instance.usage
        if not tax_type or usage not in SIDE_CLASS:
            return {}
        account_class = SIDE_CLASS[usage]

        def unusable(org: OrgSettings, label: str) -> str | None:
            rate = org.tax_rates.get(tax_type)
            if rate is None:
                return f"{label} has no tax rate {tax_type}"
            if rate.status != "ACTIVE":
                return f"tax rate {tax_type} of {label} is {rate.status}, not ACTIVE"
            if rate.can_apply_to and CLASS_FLAG.get(account_class) not in rate.can_apply_to:
                return f"tax rate {tax_type} of {label} cannot be used on {account_class.lower()} lines ({usage})"
            return None

        return self.xero_errors(instance, "tax_type", "tax_rates", unusable)


class UnitOfMeasureResource(SpreadsheetResource):
    """How many of a Xero item's stock unit one channel unit is. Not scoped to a shop: the item code
    is checked against every organisation that has read its Items, and must be in at least one."""

    required_columns = ("item_code", "from_unit", "to_unit", "factor")
    code_columns = ("item_code",)
    example_rows = (("MUG-CER", "case", "each", "12"), ("COAST-OAK", "pack", "set", "4"))

    item_code = fields.Field("item_code", "item_code", CodeWidget(validate_item_code))
    from_unit = fields.Field("from_unit", "from_unit", ValidatedWidget())
    to_unit = fields.Field("to_unit", "to_unit", ValidatedWidget())
    factor = fields.Field("factor", "factor", FactorWidget())

    class Meta:
        model = UnitOfMeasureConversion
        fields = ("item_code", "from_unit", "to_unit", "factor")
        export_order = fields
        import_id_fields = ("item_code", "from_unit", "to_unit")
        use_bulk = True

    def start_checks(self) -> None:
        super().start_checks()
        self._items: list[tuple[str, frozenset[str]]] = [
            (conn.organisation_name or conn.name, org.items)
            for conn in XeroConnection.objects.all()
            if (org := org_settings(conn)) is not None and org.items is not None
        ]

    def row_errors(self, instance) -> dict[str, str]:
        code = instance.item_code
        if not code or len(code) > MAX_ITEM_CODE:
            return {}
        if not self._items:
            self.warnings.append(
                f"row {self.sheet_row}: item_code: not checked against Xero: "
                "no Xero organisation has read its items yet"
            )
            return {}
        if any(code in items for _name, items in self._items):
            return {}
        names = ", ".join(name for name, _items in self._items)
        return {
            "item_code": f"no Xero organisation ({names}) has item {code}; create it in Xero or fix this row"
        }


# kind -> resource
RESOURCES: dict[str, type[SpreadsheetResource]] = {
    "shops": ShopResource,
    "components": ComponentMappingResource,
    "skus": SkuMappingResource,
    "bundles": BundleComponentResource,
    "tax_rates": TaxRateMappingResource,
    "uoms": UnitOfMeasureResource,
}
