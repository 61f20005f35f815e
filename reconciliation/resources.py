"""Spreadsheet import and export of operator maps (django-import-export); the code is in
reconciliation/sheets/ (see its __init__), and this module keeps the one import path for it.

The admin's Import button and `manage.py import_mappings` use these same resources, so a sheet is
accepted or refused for the same reasons on both paths. Rules shared by every sheet:
- header names are case-insensitive and trimmed; required columns must be present and unknown
  columns are refused (a typo in a header must not silently drop a column);
- blank rows are ignored; row numbers are those a spreadsheet shows (the header is row 1);
- a key may appear once per file (two rows for the same shop would otherwise silently overwrite);
- an unchanged row is reported as unchanged, not saved again.
"""

from reconciliation.sheets.base import (
    MAX_ACCOUNT_CODE,
    MAX_ITEM_CODE,
    MAX_TAX_TYPE,
    OrderMapResource,
    Organisations,
    SpreadsheetResource,
    account_problem,
    has_read,
    tax_type_problem,
    validate_item_code,
)
from reconciliation.sheets.cells import (
    SPREADSHEET_FORMATS,
    ChoiceWidget,
    CodeText,
    CodeWidget,
    FactorWidget,
    Formula,
    ShopCodeWidget,
    SpreadsheetCSV,
    SpreadsheetResult,
    SpreadsheetXLSX,
    ValidatedWidget,
    WeightWidget,
    WholeNumberWidget,
)
from reconciliation.sheets.maps import (
    COMPONENT_COLUMNS,
    COMPONENT_OPTIONAL_COLUMNS,
    POSTING_SETTINGS_PERMISSION,
    RESOURCES,
    SHOP_COLUMNS,
    SHOP_OPTIONAL_COLUMNS,
    BundleComponentResource,
    ComponentMappingResource,
    ShopResource,
    SkuMappingResource,
    TaxRateMappingResource,
    UnitOfMeasureResource,
)
from reconciliation.sheets.report import ColumnsError
from reconciliation.sheets.rules import (
    COMPONENT_GROUPS,
    TIKTOK_LEAVES,
    component_name,
    component_warning,
    currency_code,
    missing_timezone_message,
    shop_channel_error,
    validate_currency,
    validate_timezone,
)

__all__ = [
    "COMPONENT_COLUMNS",
    "COMPONENT_GROUPS",
    "COMPONENT_OPTIONAL_COLUMNS",
    "MAX_ACCOUNT_CODE",
    "MAX_ITEM_CODE",
    "MAX_TAX_TYPE",
    "POSTING_SETTINGS_PERMISSION",
    "RESOURCES",
    "SHOP_COLUMNS",
    "SHOP_OPTIONAL_COLUMNS",
    "SPREADSHEET_FORMATS",
    "TIKTOK_LEAVES",
    "BundleComponentResource",
    "ChoiceWidget",
    "CodeText",
    "CodeWidget",
    "ColumnsError",
    "ComponentMappingResource",
    "FactorWidget",
    "Formula",
    "OrderMapResource",
    "Organisations",
    "ShopCodeWidget",
    "ShopResource",
    "SkuMappingResource",
    "SpreadsheetCSV",
    "SpreadsheetResource",
    "SpreadsheetResult",
    "SpreadsheetXLSX",
    "TaxRateMappingResource",
    "UnitOfMeasureResource",
    "ValidatedWidget",
    "WeightWidget",
    "WholeNumberWidget",
    "account_problem",
    "component_name",
    "component_warning",
    "currency_code",
    "has_read",
    "missing_timezone_message",
    "shop_channel_error",
    "tax_type_problem",
    "validate_currency",
    "validate_item_code",
    "validate_timezone",
]
