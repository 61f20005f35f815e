"""A bundle's price split over its components (planning/bundles.py) sums to the price exactly."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.domain.money import round_2dp
from reconciliation.planning.bundles import BundleComponent, bundle_map_problems, split_bundle

D = Decimal

prices = st.integers(min_value=1, max_value=10_000_000).map(lambda cents: D(cents).scaleb(-2))
components = st.lists(
    st.builds(
        BundleComponent,
        item_code=st.sampled_from(["MUG-WHT", "CANDLE-SOY", "TEE-1", "CAP"]),
        quantity=st.integers(min_value=1, max_value=12),
        weight=st.integers(min_value=1, max_value=100_000).map(lambda w: D(w).scaleb(-2)),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(price=prices, parts=components)
def test_component_lines_sum_to_the_bundle_price_to_the_cent(price, parts):
    split = split_bundle(price, tuple(parts), "USD")
    assert sum(split) == price
    assert all(part == round_2dp(part) and part >= 0 for part in split)
    # As Xero prices the lines: Quantity x UnitAmount (4 dp), rounded to 2 dp, gives each part back.
    for component, part in zip(parts, split, strict=True):
        unit = (part / component.quantity).quantize(D("0.0001"))
        assert round_2dp(component.quantity * unit) == part


def test_an_uneven_price_goes_to_the_largest_remainders():
    three = (BundleComponent("A", 1, D(1)), BundleComponent("B", 1, D(1)), BundleComponent("C", 1, D(1)))
    assert split_bundle(D("10.00"), three, "USD") == [D("3.34"), D("3.33"), D("3.33")]
    assert split_bundle(D("1000"), three, "JPY") == [D("334"), D("333"), D("333")]


def test_a_bundle_map_that_cannot_split_a_price_is_refused_as_data():
    assert bundle_map_problems({"SET": ()}) == ["bundle SET has no components"]
    assert bundle_map_problems({"SET": (BundleComponent("A", 1, D(0)),)}) == [
        "bundle SET: its weights are all zero, so its price cannot be split"
    ]
