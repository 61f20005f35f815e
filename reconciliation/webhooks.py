"""TikTok Shop notifications: check the signature, keep the notification once, answer at once.

DESIGN.md 8: TikTok signs a notification with a lowercase-hex HMAC-SHA256 keyed with the app secret
over `app_key + raw body`, sent in the `Authorization` header (no scheme) - not the request-signing
algorithm of DESIGN.md 4.1. TikTok's partner documentation is behind a login; the same algorithm is
described by hookdeck's tiktok-shop-webhooks guide (skills.sh/hookdeck/webhook-skills) and
implemented by easycb/easycb-go (tiktok/sign.go). Which key signs: the app's, found through the
shop the notification names (`shop_id` is TikTok's shop id, ShopConnection.external_shop_id), a
guess consistent with one app serving many shops. The work happens in a task (services/order_notifications.py).

Replays. The signature covers the whole raw body, so `tts_notification_id` and `timestamp` cannot
be changed without breaking it: a captured request can only be replayed as it is, and the same
notification id is then kept once (WebhookEvent's unique constraint). The timestamp window is the
second net, for when the first is gone (event rows pruned, a database restored): a signed body
older than TIKTOK_WEBHOOK_MAX_AGE or further ahead than TIKTOK_WEBHOOK_MAX_AHEAD is refused with
400 and nothing stored. The age is wide on purpose: TikTok retries a failed delivery with the same
body, hence the same timestamp, and a retry must still be taken (README, Configuration). A refused
notification loses nothing: its order is read by the next pull (by update_time).
"""

import hashlib
import hmac
import json
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reconciliation.models import ShopConnection
from reconciliation.services.order_notifications import Unreadable, notification_receive


def tiktok_signature(*, app_key: str, app_secret: str, body: bytes) -> str:
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def _signed_by(connection: ShopConnection, body: bytes, header: str) -> bool:
    expected = tiktok_signature(app_key=connection.app_key, app_secret=connection.app_secret, body=body)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


@csrf_exempt
@require_POST
def tiktok_webhook(request: HttpRequest) -> JsonResponse:
    body = request.body  # the raw bytes: what TikTok signed
    try:
        notification = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "body is not JSON"}, status=400)
    shop_id = str(notification.get("shop_id") or "") if isinstance(notification, dict) else ""
    connection = (
        ShopConnection.objects.filter(external_shop_id=shop_id).select_related("shop").first()
        if shop_id
        else None
    )
    # An unknown shop cannot be checked, so it is refused like a bad signature (and says no more).
    if connection is None or not _signed_by(connection, body, request.headers.get("Authorization", "")):
        return JsonResponse({"error": "signature does not match"}, status=401)
    stale = _outside_window(notification.get("timestamp"))
    if stale:
        return JsonResponse({"error": stale}, status=400)
    try:
        notification_receive(shop=connection.shop, notification=notification)
    except Unreadable as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"code": 0, "message": "success"})


def _outside_window(timestamp) -> str:
    """Why a signed notification's `timestamp` (unix seconds) is refused, "" when it is accepted."""
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        return "timestamp must be unix seconds"
    now = int(time.time())
    if now - timestamp > settings.TIKTOK_WEBHOOK_MAX_AGE:
        return f"timestamp {timestamp} is more than {settings.TIKTOK_WEBHOOK_MAX_AGE} s old"
    if timestamp - now > settings.TIKTOK_WEBHOOK_MAX_AHEAD:
        return f"timestamp {timestamp} is more than {settings.TIKTOK_WEBHOOK_MAX_AHEAD} s ahead of our clock"
    return ""
