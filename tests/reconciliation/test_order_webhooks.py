"""TikTok notifications: signature checked in constant time, each kept once, confirmed by fetching."""

import hashlib
import hmac
import json
import time

import pytest

from connectors.tiktok.sandbox_order_data import us_worked_order
from reconciliation.models import TikTokCancellation, TikTokOrder, TikTokReturn, WebhookEvent
from reconciliation.services.order_notifications import notification_process
from tests.support.orders import TIKTOK_SHOP_ID, order_shop

pytestmark = pytest.mark.django_db
URL = "/webhooks/tiktok/"
WORKED_ID = "576500000000000001"


@pytest.fixture
def world(tiktok_spec):
    made = order_shop(spec=tiktok_spec, start=1763000000)
    made.shop.connection.external_shop_id = TIKTOK_SHOP_ID
    made.shop.connection.save()
    return made


def notification(
    kind: int = 1,
    order_id: str = WORKED_ID,
    notification_id: str = "7400000000000000001",
    age: int = 0,
    timestamp: object = None,
) -> bytes:
    """A notification as TikTok sends it, stamped `age` seconds ago (negative: ahead of us)."""
    body = {
        "type": kind,
        "tts_notification_id": notification_id,
        "shop_id": TIKTOK_SHOP_ID,
        "timestamp": int(time.time()) - age if timestamp is None else timestamp,
        "data": {"order_id": order_id, "order_status": "DELIVERED", "update_time": 1763164800},
    }
    return json.dumps(body).encode()


def signature(world, body: bytes, secret: str | None = None) -> str:
    """Computed here from DESIGN.md 8, independently of the code under test."""
    key = (secret or world.tiktok.app_secret).encode()
    return hmac.new(key, world.tiktok.app_key.encode() + body, hashlib.sha256).hexdigest()


def post(client, body: bytes, auth: str, capture):
    with capture(execute=True):
        return client.post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=auth)


def detail_calls(world) -> list[str]:
    return [p["ids"] for _, path, p in world.tiktok.requests if path == "/order/202309/orders"]


def test_a_bad_signature_is_refused_and_nothing_is_kept(client, world, django_capture_on_commit_callbacks):
    body = notification()
    forged = signature(world, body, secret="not-the-app-secret")
    assert post(client, body, forged, django_capture_on_commit_callbacks).status_code == 401
    assert post(client, body, "", django_capture_on_commit_callbacks).status_code == 401
    tampered = body.replace(b"DELIVERED", b"CANCELLED")
    assert (
        post(client, tampered, signature(world, body), django_capture_on_commit_callbacks).status_code == 401
    )
    assert WebhookEvent.objects.count() == 0 and world.tiktok.requests == []


def test_an_unknown_shop_is_refused(client, world, django_capture_on_commit_callbacks):
    body = notification().replace(TIKTOK_SHOP_ID.encode(), b"7494999999999999999")
    assert post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 401


def test_a_signed_notification_is_answered_and_its_order_fetched_and_stored(
    client, world, django_capture_on_commit_callbacks
):
    body = notification()
    response = post(client, body, signature(world, body), django_capture_on_commit_callbacks)
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.state, event.type, event.shop) == (WebhookEvent.State.PROCESSED, 1, world.shop)
    assert detail_calls(world) == [WORKED_ID]
    order = TikTokOrder.objects.get(shop=world.shop, order_id=WORKED_ID)
    assert order.source.payload == us_worked_order()


def test_a_repeated_notification_is_processed_once(client, world, django_capture_on_commit_callbacks):
    body = notification()
    for _ in range(3):
        assert (
            post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 200
        )
    assert WebhookEvent.objects.count() == 1
    assert detail_calls(world) == [WORKED_ID]
    # a redelivered task is a no-op too
    assert notification_process(event_id=WebhookEvent.objects.get().pk) == WebhookEvent.State.PROCESSED
    assert detail_calls(world) == [WORKED_ID]


def test_cancellation_and_return_notifications_store_them_too(
    client, world, django_capture_on_commit_callbacks
):
    cancelled = world.demo.cancellations[0]["order_id"]
    returned = world.demo.returns[0]["order_id"]
    for kind, order_id, number in ((11, cancelled, "1"), (12, returned, "2")):
        body = notification(kind, order_id, f"74000000000000000{number}9")
        assert (
            post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 200
        )
    assert TikTokCancellation.objects.get().order_id == cancelled
    assert TikTokReturn.objects.get().order_id == returned
    assert set(TikTokOrder.objects.values_list("order_id", flat=True)) == {cancelled, returned}


def test_a_notification_tiktok_cannot_confirm_is_marked_failed(
    client, world, django_capture_on_commit_callbacks
):
    body = notification(order_id="576999999999999999")  # TikTok has no such order
    assert post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.FAILED and "no order" in event.error
    assert TikTokOrder.objects.count() == 0


def test_a_type_we_do_not_act_on_is_kept_and_ignored(client, world, django_capture_on_commit_callbacks):
    body = notification(kind=5)
    assert post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.IGNORED
    assert world.tiktok.requests == []


HOUR = 3600


@pytest.mark.parametrize(
    ("age", "stamp", "why"),
    [
        (72 * HOUR + 60, None, "s old"),  # older than TikTok's retries run: a replay
        (-10 * 60, None, "ahead of our clock"),  # from the future: a forged clock or a bad one
        (0, "1763164800", "unix seconds"),
        (0, 1763164800.0, "unix seconds"),
    ],
)
def test_a_signed_notification_outside_the_time_window_is_refused_and_not_kept(
    client, world, django_capture_on_commit_callbacks, age, stamp, why
):
    body = notification(age=age, timestamp=stamp)
    response = post(client, body, signature(world, body), django_capture_on_commit_callbacks)
    assert response.status_code == 400 and why in response.json()["error"]
    assert WebhookEvent.objects.count() == 0 and world.tiktok.requests == []


def test_a_retry_hours_later_with_its_original_timestamp_is_still_taken(
    client, world, django_capture_on_commit_callbacks
):
    """TikTok resends a failed delivery with the same signed body: the window lets it in."""
    body = notification(age=71 * HOUR)
    assert post(client, body, signature(world, body), django_capture_on_commit_callbacks).status_code == 200
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_the_window_is_a_setting(client, world, django_capture_on_commit_callbacks, settings):
    settings.TIKTOK_WEBHOOK_MAX_AGE = 5 * 60
    settings.TIKTOK_WEBHOOK_MAX_AHEAD = 0
    fresh, old = notification(age=60), notification(age=10 * 60, notification_id="7400000000000000002")
    assert post(client, fresh, signature(world, fresh), django_capture_on_commit_callbacks).status_code == 200
    assert post(client, old, signature(world, old), django_capture_on_commit_callbacks).status_code == 400
    ahead = notification(age=-60, notification_id="7400000000000000003")
    assert post(client, ahead, signature(world, ahead), django_capture_on_commit_callbacks).status_code == 400
    assert WebhookEvent.objects.count() == 1
