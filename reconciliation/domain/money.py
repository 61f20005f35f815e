"""Money rules (DESIGN.md 3): Decimal only, quantised at the edges, splits that sum exactly."""

import re
from decimal import ROUND_HALF_UP, Decimal

# Minor units per ISO 4217; anything not listed has 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "IDR": 0, "CLP": 0, "HUF": 2, "KWD": 3, "BHD": 3}

ZERO = Decimal("0")
# Every amount column holds 14 digits with 2 decimals; a larger figure is not money we can store,
# and is far beyond any real statement, so it is refused where it enters.
MAX_AMOUNT = Decimal("1000000000000")
_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


class AmountError(ValueError):
    """An amount in source data is not a decimal string."""


def parse_amount(value, *, where: str = "") -> Decimal:
    """A channel amount (a plain decimal string such as "-12.30"; "" means 0) as Decimal.

    Raises AmountError for floats (they have already lost cents), exponents ("1E+400"), NaN or
    infinity, text that is not a number, and magnitudes of 10^12 or more.
    """
    label = where or "amount"
    if isinstance(value, (bool, float)) or not isinstance(value, (int, str)):
        raise AmountError(f"{label}: {value!r} is not a decimal string")
    text = str(value).strip()
    if text == "":
        return ZERO
    if not _PLAIN_DECIMAL.match(text):
        raise AmountError(f"{label}: {value!r} is not a plain decimal amount")
    amount = Decimal(text)
    if abs(amount) >= MAX_AMOUNT:
        raise AmountError(f"{label}: {value!r} is out of range (at most 999,999,999,999.99)")
    return amount


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency.upper(), 2))


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def round_2dp(amount: Decimal) -> Decimal:
    """Xero rounds every line's tax to 2 dp (half up) before summing."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def split_largest_remainder(total: Decimal, weights: list[Decimal], *, unit: Decimal) -> list[Decimal]:
    """Split `total` by `weights` into multiples of `unit` that sum to `total` exactly.

    Each part is floored to the unit; the units left over go to the largest remainders
    (earliest first on ties), so the result is deterministic.
    """
    if not weights:
        raise ValueError("nothing to split across")
    weight_sum = sum(weights, ZERO)
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative and not all zero")
    sign = -1 if total < 0 else 1
    units_total = int((abs(total) / unit).to_integral_value())
    if Decimal(units_total) * unit != abs(total):
        raise ValueError(f"{total} is not a whole number of {unit}")
    exact = [Decimal(units_total) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    leftover = units_total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * Decimal(f) * unit for f in floors]
