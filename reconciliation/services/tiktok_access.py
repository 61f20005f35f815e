"""A ready TikTokClient for a shop; token refreshes serialised per shop like Xero's."""

from django.conf import settings
from django.db import transaction

from connectors.errors import ErrorKind
from connectors.tiktok import auth
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.errors import TikTokError
from reconciliation import transports
from reconciliation.models import Shop, ShopConnection
from reconciliation.models.shops import shop_id_conflict


def tiktok_client(shop: Shop) -> TikTokClient:
    """Raises TikTokError (AUTH) without a call when the shop holds no tokens (never authorised,
    or disconnected on the Connections page)."""
    connection = shop.connection
    if not (connection.access_token or connection.refresh_token):
        raise TikTokError(
            f"shop {shop.code} is not authorised at TikTok: authorise it on the Connections page",
            kind=ErrorKind.AUTH,
        )
    client = TikTokClient(
        app_key=connection.app_key,
        app_secret=connection.app_secret,
        access_token=connection.access_token,
        shop_cipher=connection.shop_cipher or None,
        transport=transports.transport_for("tiktok", shop.code),
        base_url=settings.TIKTOK_API_URL,
        token_refresher=lambda: _refresh(connection.pk),
        sleep=lambda s: transports.sleep(s),
    )
    if not connection.shop_cipher:
        client.shop_cipher = _shop_cipher(client, connection)
    return client


def _shop_cipher(client: TikTokClient, connection: ShopConnection) -> str:
    """shop_cipher comes from GET /authorization/202309/shops (DESIGN.md 4.1); cache it."""
    shops = client.authorized_shops()
    wanted = [s for s in shops if not connection.external_shop_id or s["id"] == connection.external_shop_id]
    if len(wanted) != 1:
        raise ValueError(
            f"{connection.shop.code}: cannot tell which authorised TikTok shop to use "
            f"({len(shops)} authorised; set the external shop id on the connection)"
        )
    if conflict := shop_id_conflict(wanted[0]["id"], shop_id=connection.shop_id):
        raise ValueError(f"{connection.shop.code}: {conflict}")
    connection.shop_cipher, connection.external_shop_id = wanted[0]["cipher"], wanted[0]["id"]
    connection.save(update_fields=["shop_cipher", "external_shop_id"])
    return connection.shop_cipher


def _refresh(connection_id: int) -> str:
    with transaction.atomic():
        connection = ShopConnection.objects.select_for_update().select_related("shop").get(pk=connection_id)
        tokens = auth.refresh(
            app_key=connection.app_key,
            app_secret=connection.app_secret,
            refresh_token=connection.refresh_token,
            transport=transports.transport_for("tiktok", connection.shop.code),
            base_url=settings.TIKTOK_AUTH_URL,
        )
        connection.access_token = tokens.access_token
        connection.access_token_expires_at = tokens.access_token_expires_at
        connection.refresh_token = tokens.refresh_token
        connection.refresh_token_expires_at = tokens.refresh_token_expires_at
        connection.save()
    return tokens.access_token
