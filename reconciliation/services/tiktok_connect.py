"""Authorising a LedgerSync shop to read its TikTok shop: authorise, pick the shop, disconnect.

The flow (docs/ARCHITECTURE.md, "Connections"): the Connections page sends the seller to TikTok
Shop's authorisation page for the app's service (`auth.authorize_url`); TikTok sends them back to
the app's registered redirect URL with an auth code; `tiktok_grant_from_code` swaps it for tokens
(`GET /api/v2/token/get`) and lists the shops the seller authorised with their `cipher`
(`GET /authorization/202309/shops`: id, name, region, seller_type, code, cipher; the field list is
TikTok's SDK model Authorization202309GetAuthorizedShopsResponseDataShops); the user picks which of
them this LedgerSync shop is and `tiktok_shop_attach` stores it.

Rules (DESIGN.md 4.1, 8): only users who may change shop connections act; one TikTok shop posts
to one ledger (`shop_id_conflict`); the TikTok shop's region must be the shop's (it decides the
statement dates' time zone); a shop that has statements keeps its TikTok shop id (re-authorising
it for another TikTok shop would mix two shops' money in one ledger).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from connectors.tiktok import auth
from connectors.tiktok.client import TikTokClient
from reconciliation import transports
from reconciliation.models import (
    Payout,
    Shop,
    ShopConnection,
    Statement,
    TikTokCancellation,
    TikTokOrder,
    TikTokReturn,
)
from reconciliation.models.shops import Channel, shop_id_conflict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TikTokGrant:
    """Tokens the seller just granted and the shops they reach, before the user picks one."""

    tokens: auth.TokenSet
    shops: tuple[dict, ...]  # id, name, region, seller_type, code, cipher
    app_key: str
    app_secret: str

    def shop(self, tiktok_shop_id: str) -> dict:
        for shop in self.shops:
            if shop.get("id") == tiktok_shop_id:
                return shop
        raise ValidationError("that TikTok shop was not among those the seller authorised; authorise again")


def require(user) -> None:
    if not (
        user
        and user.is_active
        and user.has_perm("reconciliation.change_shopconnection")
        and user.has_perm("reconciliation.add_shopconnection")
    ):
        raise PermissionDenied(
            "Authorising a TikTok shop needs permission to manage shop connections (Operations or an administrator)."
        )


def tiktok_authorise_url(*, service_id: str, state: str) -> str:
    return auth.authorize_url(service_id=service_id, state=state, services_url=settings.TIKTOK_SERVICES_URL)


def tiktok_grant_from_code(*, shop: Shop, app_key: str, app_secret: str, code: str) -> TikTokGrant:
    """Swap the auth code for tokens and read the authorised shops with their ciphers.
    Raises TikTokError (AUTH/VALIDATION: code or app refused), ValidationError (no shop granted)."""
    transport = transports.transport_for("tiktok", shop.code)
    tokens = auth.exchange_code(
        app_key=app_key,
        app_secret=app_secret,
        auth_code=code,
        transport=transport,
        base_url=settings.TIKTOK_AUTH_URL,
    )
    with TikTokClient(
        app_key=app_key,
        app_secret=app_secret,
        access_token=tokens.access_token,
        transport=transport,
        base_url=settings.TIKTOK_API_URL,
    ) as client:
        shops = tuple(client.authorized_shops())
    if not shops:
        raise ValidationError("TikTok granted access to no shop: authorise again and choose the shop")
    return TikTokGrant(tokens, shops, app_key, app_secret)


def tiktok_shop_attach(*, user, shop: Shop, grant: TikTokGrant, tiktok_shop_id: str) -> str:
    """Store the grant's tokens on `shop` for the picked TikTok shop; the message says what changed.
    Raises PermissionDenied, ValidationError (not granted, another shop's, wrong region, or a
    different TikTok shop than the one this shop's statements came from)."""
    require(user)
    if shop.channel != Channel.TIKTOK:
        raise ValidationError(
            f"shop {shop.code} is a {shop.get_channel_display()} shop, not a TikTok Shop one"
        )
    chosen = grant.shop(tiktok_shop_id)
    if conflict := shop_id_conflict(tiktok_shop_id, shop_id=shop.pk):
        raise ValidationError(conflict)
    region = (chosen.get("region") or "").upper()
    if shop.region and region and region != shop.region.upper():
        raise ValidationError(
            f"TikTok shop {chosen.get('name')} ({tiktok_shop_id}) is in region {region}, but shop "
            f"{shop.code} is set up for {shop.region}: its statement dates and currency depend on it. "
            "Pick the right TikTok shop, or set the shop up for that region first."
        )
    with transaction.atomic():
        connection = ShopConnection.objects.select_for_update().filter(shop=shop).first()
        before = connection.external_shop_id if connection else ""
        if before and before != tiktok_shop_id and (held := _money_held(shop)):
            raise ValidationError(
                f"Shop {shop.code} already holds {held} of TikTok shop {before}; authorising it for "
                f"{tiktok_shop_id} would post a second shop's money into the same ledger. Set up a new "
                "shop for it instead."
            )
        connection = connection or ShopConnection(shop=shop)
        connection.app_key, connection.app_secret = grant.app_key, grant.app_secret
        connection.access_token = grant.tokens.access_token
        connection.access_token_expires_at = grant.tokens.access_token_expires_at
        connection.refresh_token = grant.tokens.refresh_token
        connection.refresh_token_expires_at = grant.tokens.refresh_token_expires_at
        connection.external_shop_id, connection.shop_cipher = tiktok_shop_id, chosen.get("cipher", "")
        connection.save()
    log.info("shop %s authorised for TikTok shop %s by %s", shop.code, tiktok_shop_id, user.get_username())
    verb = "re-authorised" if before else "authorised"
    return (
        f"Shop {shop.code}: {verb} for TikTok shop {chosen.get('name')} ({tiktok_shop_id}, {region}); "
        f"the refresh token is valid until {grant.tokens.refresh_token_expires_at:%Y-%m-%d}."
    )


def _money_held(shop: Shop) -> str:
    """What the shop already read from its TikTok shop ("" when nothing): statements, payouts,
    orders, returns or cancellations all name that TikTok shop's money."""
    held = {
        "statements": Statement.objects.filter(shop=shop),
        "payouts": Payout.objects.filter(shop=shop),
        "orders": TikTokOrder.objects.filter(shop=shop),
        "returns": TikTokReturn.objects.filter(shop=shop),
        "cancellations": TikTokCancellation.objects.filter(shop=shop),
    }
    return ", ".join(name for name, rows in held.items() if rows.exists())


def tiktok_disconnect(*, user, shop: Shop) -> str:
    """Forget the shop's TikTok tokens (TikTok has no revoke call for an app; the seller removes
    the app in Seller Center). The TikTok shop id and cipher stay, so statements already read keep
    their shop and a re-authorisation must be for the same TikTok shop. Raises PermissionDenied."""
    require(user)
    updated = ShopConnection.objects.filter(shop=shop).update(
        access_token="", refresh_token="", access_token_expires_at=None, refresh_token_expires_at=None
    )
    if not updated:
        return f"Shop {shop.code}: it was not authorised."
    log.info("shop %s TikTok tokens forgotten by %s", shop.code, user.get_username())
    return (
        f"Shop {shop.code}: disconnected from TikTok; its syncs stop until it is authorised again. "
        "To revoke the app at TikTok too, remove it under Seller Center's app settings."
    )
