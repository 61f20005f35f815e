"""A TikTok shop and a Xero organisation in their sandboxes, wired to real database rows."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_data import demo_statements
from connectors.xero.sandbox import XeroSandbox
from reconciliation.demo.scenario import sandbox_shop_connection, sandbox_xero_connection
from reconciliation.models import ComponentMapping, Shop
from tests.support.specs import tiktok_spec_if_present

CIPHER = "test-cipher"
US_MAP = {
    "revenue.subtotal_before_discount_amount": "4000",
    "revenue.seller_discount_amount": "4010",
    "revenue.refund_subtotal_before_discount_amount": "4030",
    "revenue.seller_discount_refund_amount": "4010",
    "shipping.customer_paid_shipping_fee_amount": "4000",
    "shipping.actual_shipping_fee_amount": "5100",
    "shipping.return_shipping_fee_amount": "5100",
    "shipping.shipping_fee_discount_amount": "4020",
    "fee.referral_fee_amount": "6100",
    "fee.transaction_fee_amount": "6100",
    "fee.refund_administration_fee_amount": "6100",
    "fee.affiliate_commission_amount": "6110",
    "adjustment.PLATFORM_REIMBURSEMENT": "4040",
    "adjustment.SHIPPING_FEE_ADJUSTMENT": "5100",
}


@dataclass
class World:
    shop: Shop
    xero: XeroSandbox
    tiktok: TikTokSandbox
    statements: list  # (statement, transactions, payment) as TikTok serves them
    start: date


def build_world(
    *, days: int = 3, base_currency: str = "USD", start: date | None = None, seed: int = 11
) -> World:
    # Two days of slack: a test's last statement (00:00 UTC the day after `start` + days) and its
    # payment an hour or a day later must lie in the past even when the suite runs just after
    # midnight UTC (a sync never reads what TikTok has not generated yet).
    start = start or (datetime.now(UTC).date() - timedelta(days=days + 2))
    xero = XeroSandbox.demo(base_currency=base_currency)
    tiktok = TikTokSandbox(spec=tiktok_spec_if_present())
    tiktok.add_shop(CIPHER, "7490000000000000009", "Test US", "US", "USD")
    statements = demo_statements(region="US", currency="USD", start=start, days=days, seed=seed)
    for statement, transactions, payment in statements:
        tiktok.add_statement(CIPHER, statement, transactions, payment)
    connection = sandbox_xero_connection(xero, name="Test org")
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-test",
        name="Test US",
        region="US",
        currency="USD",
        timezone="UTC",
        line_amount_types="NoTax",
        clearing_account="1210",
        bank_account="090",
        reserve_account="1220",
        xero_connection=connection,
        sync_from=start,
    )
    sandbox_shop_connection(shop, tiktok)
    for component, account in US_MAP.items():
        ComponentMapping.objects.create(channel="tiktok", component=component, account_code=account)
    return World(shop, xero, tiktok, statements, start)
