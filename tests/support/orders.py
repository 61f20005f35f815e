"""A TikTok shop with orders in the sandbox, wired to real database rows (orders in, webhooks)."""

from dataclasses import dataclass

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.sandbox_order_data import DemoOrders, demo_orders, us_worked_order
from reconciliation.demo.scenario import sandbox_shop_connection
from reconciliation.models import Shop

CIPHER = "orders-cipher"
TIKTOK_SHOP_ID = "7494000000000000077"


@dataclass
class OrderShop:
    shop: Shop
    tiktok: TikTokSandbox
    demo: DemoOrders


def order_shop(*, spec, start: int, code: str = "tt-orders") -> OrderShop:
    """A US shop whose sandbox holds the demo orders (created from `start`) and the worked order.
    `spec`: TikTok's description; every response the sandbox serves is checked against it."""
    tiktok = TikTokSandbox(spec=spec)
    tiktok.add_shop(CIPHER, TIKTOK_SHOP_ID, "Orders US", "US", "USD")
    demo = demo_orders(region="US", currency="USD", start=start)
    for order in [*demo.orders, us_worked_order()]:
        tiktok.orders.add_order(CIPHER, order)
    for return_order in demo.returns:
        tiktok.orders.add_return(CIPHER, return_order)
    for cancellation in demo.cancellations:
        tiktok.orders.add_cancellation(CIPHER, cancellation)
    shop = Shop.objects.create(
        channel="tiktok",
        code=code,
        name="Orders US",
        region="US",
        currency="USD",
        timezone="UTC",
        clearing_account="1210",
        posting_mode="order_invoices",
    )
    sandbox_shop_connection(shop, tiktok)
    return OrderShop(shop, tiktok, demo)


def orders_world(shop: Shop) -> None:
    """One row of each order-side model (for admin pages), stored as the services store them."""
    from connectors.tiktok.sandbox_order_data import cancellation_of, return_of
    from reconciliation.models import WebhookEvent
    from reconciliation.services.orders import cancellation_store, order_store, order_sync_for, return_store

    order = us_worked_order()
    order_store(shop=shop, raw=order)
    return_store(shop=shop, raw=return_of(order, order["line_items"][0]))
    cancellation_store(shop=shop, raw=cancellation_of(order))
    order_sync_for(shop)
    body = {
        "type": 1,
        "tts_notification_id": "N1",
        "shop_id": "1",
        "timestamp": 1,
        "data": {"order_id": order["id"]},
    }
    WebhookEvent.objects.create(
        notification_id="N1", type=1, external_shop_id="1", shop=shop, timestamp=1, payload=body
    )
