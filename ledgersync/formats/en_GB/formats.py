"""en-gb as LedgerSync writes it: ISO dates, times to the second with the zone (see ../__init__.py)."""

DATE_FORMAT = "Y-m-d"  # '2026-11-29'
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"  # '23:15:41'
DATETIME_FORMAT = "Y-m-d H:i:s T"  # '2026-11-29 23:15:41 UTC'
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
YEAR_MONTH_FORMAT = "F Y"  # 'November 2026' (the admin's date drill-down)
MONTH_DAY_FORMAT = "j F"
FIRST_DAY_OF_WEEK = 1  # Monday

# The first of each list is how a form shows a value (the admin's date fields): ISO first, the
# British day-first forms still accepted when typed.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
TIME_INPUT_FORMATS = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
