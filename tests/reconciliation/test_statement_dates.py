"""Dates are the shop's, stated (issue 5, case 8): a statement's create_time (00:00 UTC, TikTok) is
read in the shop's time zone, or its region's; never silently in UTC."""

from datetime import UTC, datetime

import pytest

from reconciliation.domain.tiktok_time import local_date, shop_timezone
from reconciliation.models import ComponentMapping, Shop
from reconciliation.services.statements import statement_preview
from tests.reconciliation.planning_fixtures import UK_RULES, load_pages

# 1 June 2025, 00:00 UTC: when TikTok generated the statement for 31 May.
JUNE_1_UTC = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("region", "timezone", "zone", "day"),
    [
        ("GB", "", "Europe/London", "2025-06-01"),  # 01:00 BST
        ("US", "", "America/Los_Angeles", "2025-05-31"),  # 17:00 PDT the day before
        ("US", "America/New_York", "America/New_York", "2025-05-31"),  # the shop's own zone wins
        ("DE", "Europe/Berlin", "Europe/Berlin", "2025-06-01"),
    ],
)
def test_the_shop_zone_else_the_region_zone_decides_the_date(region, timezone, zone, day):
    assert shop_timezone(region, timezone) == zone
    assert local_date(JUNE_1_UTC, zone).isoformat() == day


def test_a_region_without_a_rule_and_no_shop_zone_has_no_date():
    assert shop_timezone("DE", "") is None


@pytest.mark.django_db
def test_a_shop_without_a_zone_is_held_with_the_fix_named_not_read_in_utc():
    shop = Shop.objects.create(
        channel="tiktok", code="tt-de", name="DE", region="DE", currency="EUR", clearing_account="1210"
    )
    plan = statement_preview(pages=load_pages("us_worked_order_statement.json"), shop=shop)
    (problem,) = plan.problems
    assert problem.code == "INVALID_MAPPING" and "set the shop's time zone" in problem.message
    assert plan.documents == ()


@pytest.mark.django_db
def test_a_uk_shop_dates_its_journal_in_uk_time():
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-uk",
        name="UK",
        region="GB",
        currency="GBP",
        clearing_account="1210",
        line_amount_types="Inclusive",
    )
    for component, rule in UK_RULES.items():
        ComponentMapping.objects.create(
            channel="tiktok", component=component, account_code=rule.account_code, tax_type=rule.tax_type
        )
    pages = load_pages("uk_vat_refund_adjustments_statement.json")
    pages[0]["data"]["create_time"] = JUNE_1_UTC

    plan = statement_preview(pages=pages, shop=shop)

    assert plan.problems == ()
    assert plan.documents[0].payload["Date"] == "2025-06-01"
