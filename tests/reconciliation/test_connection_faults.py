"""The Connections pages under attack: forged, replayed and late callbacks, picks of what was not
granted, everyone who may not act, secrets where they must not be, providers failing at each leg,
and what a disconnected connection does to the syncs and postings behind it.

Fakes only at the HTTP boundary: the sandboxes (with their fault injection) or an
httpx.MockTransport installed where the sandbox would be.
"""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from connectors.xero.errors import XeroError
from connectors.xero.sandbox import XeroSandbox
from reconciliation import transports
from reconciliation.admin import connections as views
from reconciliation.demo.scenario import sandbox_shop_connection, sandbox_xero_connection
from reconciliation.models import (
    Payout,
    QuarantineItem,
    Shop,
    ShopConnection,
    SyncRun,
    XeroAttempt,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.quarantine import Reason
from reconciliation.services import sync, xero_access
from reconciliation.services.organisation import organisation_refresh
from reconciliation.services.posting import connection_resume
from reconciliation.services.quarantine import quarantine_retry
from reconciliation.services.xero_access import connection_pause
from reconciliation.services.xero_connect import CONNECT_KEY, xero_disconnect
from reconciliation.tasks import send_due_postings
from tests.reconciliation.test_connections import (
    CALLBACK,
    TIKTOK_CALLBACK,
    browse,
    local,
    said,
    staff,
    tiktok_authorise,
    xero_connect,
)
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db

SECRET = "app-secret-1"
FORM = {"kind": "standard", "client_id": "app-1", "client_secret": SECRET}


def start(client) -> str:
    """Post the connect form; the consent page's URL."""
    started = client.post(reverse("admin:connections_xero_connect"), FORM)
    assert started.status_code == 302
    return started["Location"]


def raw_sessions() -> str:
    return " ".join(s.session_data + repr(s.get_decoded()) for s in Session.objects.all())


def with_two_organisations(xero) -> XeroSandbox:
    other = XeroSandbox.demo(base_currency="USD")
    other.org.Name = "Demo US Inc"
    xero.add_organisation(other)
    transports.install("xero", other.tenant_id, xero.transport)
    return other


# -- state, replay, expiry, picks -----------------------------------------------------------------
def test_a_callback_replayed_with_the_same_code_and_state_changes_nothing_more(operator, xero):
    callback = local(browse(xero, start(operator)))
    first = operator.get(callback, follow=True)
    assert any(": connected" in m for m in said(first))
    connection = XeroConnection.objects.get()
    tokens = (connection.access_token, connection.refresh_token)

    again = operator.get(callback, follow=True)

    assert any("Nothing is waiting" in m for m in said(again))
    connection.refresh_from_db()
    assert (connection.access_token, connection.refresh_token) == tokens
    assert XeroConnection.objects.count() == 1


def test_a_state_from_another_users_session_is_refused_and_its_code_never_used(client, operator, xero):
    victim_callback = local(browse(xero, start(operator)))  # olive's code and state
    client.logout()
    client.force_login(staff("mallory", "Operations"))
    start(client)  # mallory has a connection of her own waiting

    forged = client.get(victim_callback, follow=True)

    assert any("state mismatch" in m for m in said(forged))
    assert not XeroConnection.objects.exists()
    code = parse_qs(urlsplit(victim_callback).query)["code"][0]
    assert xero.tokens.exchange_code(code, "http://testserver" + CALLBACK, "app-1")  # never spent


def test_a_callback_after_fifteen_minutes_is_refused(operator, xero, monkeypatch):
    callback = local(browse(xero, start(operator)))
    later = views.time.time() + views.MAX_AGE + 1
    monkeypatch.setattr(views.time, "time", lambda: later)

    late = operator.get(callback, follow=True)

    assert any("more than 15 minutes" in m for m in said(late))
    assert not XeroConnection.objects.exists()
    assert operator.session.get(views._slot(views.PENDING, "xero")) is None


def test_a_pick_without_a_grant_or_of_an_organisation_not_granted_saves_nothing(operator, xero):
    nothing = operator.post(reverse("admin:connections_xero_pick"), {"choice": xero.tenant_id}, follow=True)
    assert any("Nothing is waiting" in m for m in said(nothing))

    with_two_organisations(xero)
    picking = operator.get(local(browse(xero, start(operator))), follow=True)
    assert picking.request["PATH_INFO"] == reverse("admin:connections_xero_pick")
    forged = operator.post(reverse("admin:connections_xero_pick"), {"choice": "not-granted"}, follow=True)

    assert any("not among those you authorised" in m for m in said(forged))
    assert not XeroConnection.objects.exists()


def test_a_pick_after_fifteen_minutes_is_refused(operator, xero, monkeypatch):
    other = with_two_organisations(xero)
    operator.get(local(browse(xero, start(operator))))
    later = views.time.time() + views.MAX_AGE + 1
    monkeypatch.setattr(views.time, "time", lambda: later)

    late = operator.post(reverse("admin:connections_xero_pick"), {"choice": other.tenant_id}, follow=True)

    assert any("more than 15 minutes" in m for m in said(late))
    assert not XeroConnection.objects.exists()


def test_a_tiktok_pick_of_a_shop_the_seller_did_not_authorise_is_refused(operator, tiktok, gb_shop):
    tiktok.add_shop("cipher-gb-2", "7490000000000000002", "Pens GB outlet", "GB", "GBP")
    tiktok_authorise(operator, tiktok, gb_shop)

    forged = operator.post(
        reverse("admin:connections_tiktok_pick"), {"choice": "7490000000000000666"}, follow=True
    )

    assert any("not among those the seller authorised" in m for m in said(forged))
    assert not ShopConnection.objects.exists()


def test_starting_a_tiktok_authorisation_does_not_cancel_a_xero_connection_under_way(
    operator, xero, tiktok, gb_shop
):
    """Two tabs: an operator setting up a shop connects its Xero organisation and authorises its
    TikTok shop at the same time; each callback finds its own flow."""
    xero_callback = local(browse(xero, start(operator)))
    tiktok_started = operator.post(
        reverse("admin:connections_tiktok_authorise", args=[gb_shop.pk]),
        {"app_key": tiktok.app_key, "app_secret": tiktok.app_secret, "service_id": tiktok.service_id},
    )
    tiktok_callback = local(browse(tiktok, tiktok_started["Location"]))

    xero_done = operator.get(xero_callback, follow=True)
    tiktok_done = operator.get(tiktok_callback, follow=True)

    assert any(": connected" in m for m in said(xero_done)), said(xero_done)
    assert any("authorised for TikTok shop" in m for m in said(tiktok_done)), said(tiktok_done)
    assert XeroConnection.objects.count() == 1 and ShopConnection.objects.count() == 1


def test_a_forged_callback_with_a_wrong_state_does_not_cancel_the_real_one(operator, xero):
    """A link to the callback with any state (an attacker's page) must not kill the flow under way."""
    callback = local(browse(xero, start(operator)))
    operator.get(CALLBACK + "?code=attacker&state=attacker")

    done = operator.get(callback, follow=True)

    assert any(": connected" in m for m in said(done)), said(done)


def test_a_code_older_than_xeros_five_minutes_is_refused_and_nothing_changes(operator):
    now = [datetime.now(UTC)]
    xero = XeroSandbox.demo(clock=lambda: now[0])
    transports.install("xero", CONNECT_KEY, xero.transport)
    callback = local(browse(xero, start(operator)))
    now[0] += timedelta(minutes=6)  # inside LedgerSync's 15 minutes, past Xero's 5

    response = operator.get(callback, follow=True)

    assert any("Xero did not connect" in m and "invalid_grant" in m for m in said(response)), said(response)
    assert not XeroConnection.objects.exists()


def test_a_code_is_only_swapped_by_the_app_it_was_issued_to(xero):
    code = xero.tokens.issue_code(redirect_uri="https://x/cb", scope="offline_access", client_id="app-1")
    assert xero.tokens.exchange_code(code, "https://x/cb", "app-2") is None
    code = xero.tokens.issue_code(redirect_uri="https://x/cb", scope="offline_access", client_id="app-1")
    assert xero.tokens.exchange_code(code, "https://x/cb", "app-1")


def test_posts_without_the_csrf_token_are_refused(xero, tiktok, gb_shop):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff("olive", "Operations"))
    connection = sandbox_xero_connection(xero, name="Books")
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000001")

    for url in (
        reverse("admin:connections_xero_connect"),
        reverse("admin:connections_xero_pick"),
        reverse("admin:connections_xero_disconnect", args=[connection.pk]),
        reverse("admin:connections_tiktok_authorise", args=[gb_shop.pk]),
        reverse("admin:connections_tiktok_pick"),
        reverse("admin:connections_tiktok_disconnect", args=[gb_shop.pk]),
    ):
        assert browser.post(url, {**FORM, "choice": xero.tenant_id}).status_code == 403, url

    assert XeroConnection.objects.get().status == XeroConnection.Status.ACTIVE
    assert ShopConnection.objects.get().access_token and xero.tenant_id not in xero.disconnected


def test_names_from_the_providers_are_escaped(operator, xero):
    other = with_two_organisations(xero)
    other.org.Name = "<script>alert(1)</script>"

    picking = operator.get(local(browse(xero, start(operator))), follow=True)
    done = operator.post(reverse("admin:connections_xero_pick"), {"choice": other.tenant_id}, follow=True)

    for page in (picking, done):
        assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in picking.content


# -- permissions ----------------------------------------------------------------------------------
def every_url(connection: XeroConnection, shop: Shop) -> list[str]:
    return [
        reverse("admin:connections"),
        reverse("admin:connections_xero_connect"),
        reverse("admin:connections_xero_connect") + f"?reconnect={connection.pk}",
        CALLBACK + "?code=x&state=y",
        reverse("admin:connections_xero_pick"),
        reverse("admin:connections_xero_disconnect", args=[connection.pk]),
        reverse("admin:connections_tiktok_authorise", args=[shop.pk]),
        TIKTOK_CALLBACK + "?code=x&state=y",
        reverse("admin:connections_tiktok_pick"),
        reverse("admin:connections_tiktok_disconnect", args=[shop.pk]),
    ]


@pytest.mark.parametrize("who", ["Finance", "Auditor", "no group", "not staff", "anonymous"])
def test_no_one_without_the_permissions_changes_anything_on_any_url(client, xero, tiktok, gb_shop, who):
    connection = sandbox_xero_connection(xero, name="Books")
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000001")
    if who == "not staff":
        client.force_login(User.objects.create_user("nobody", password="x"))
    elif who != "anonymous":
        client.force_login(staff("someone", None if who == "no group" else who))
    before = (
        list(XeroConnection.objects.values()),
        list(ShopConnection.objects.values()),
    )

    for url in every_url(connection, gb_shop):
        for method in (client.get, client.post):
            answer = method(url, {**FORM, "choice": xero.tenant_id, "app_key": "k", "app_secret": "s",
                                  "service_id": tiktok.service_id} if method == client.post else None)  # fmt: skip
            if who in ("anonymous", "not staff"):
                assert answer.status_code == 302 and "/login/" in answer["Location"], url
            elif url == reverse("admin:connections") and who in ("Finance", "Auditor"):
                assert answer.status_code == 200, url
            elif "callback" in url:
                assert answer.status_code in (302, 403), url
                if answer.status_code == 302:
                    assert answer["Location"] == reverse("admin:connections"), url
            else:
                assert answer.status_code == 403, (url, method, answer.status_code)

    assert (list(XeroConnection.objects.values()), list(ShopConnection.objects.values())) == before
    assert xero.tenant_id not in xero.disconnected


def test_an_operator_without_add_permission_cannot_start_a_new_connection(client, xero):
    user = staff("limited")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        Permission.objects.get(codename="view_xeroconnection"),
        Permission.objects.get(codename="change_xeroconnection"),
    )
    client.force_login(user)
    connection = sandbox_xero_connection(xero, name="Books")

    assert client.get(reverse("admin:connections_xero_connect")).status_code == 403
    assert client.post(reverse("admin:connections_xero_connect"), FORM).status_code == 403
    page = client.get(reverse("admin:connections")).content
    assert b"Connect a Xero organisation" not in page
    # ...but may reconnect what exists.
    reconnect = reverse("admin:connections_xero_connect") + f"?reconnect={connection.pk}"
    assert client.get(reconnect).status_code == 200


def test_a_superuser_may_connect(client, xero):
    client.force_login(User.objects.create_superuser("root", password="x"))
    xero_connect(client, xero)
    assert XeroConnection.objects.get().tenant_id == xero.tenant_id


def test_disconnect_and_pick_never_change_anything_on_get(operator, xero, tiktok, gb_shop):
    connection = sandbox_xero_connection(xero, name="Books")
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000001")
    operator.get(reverse("admin:connections_xero_disconnect", args=[connection.pk]))
    operator.get(reverse("admin:connections_tiktok_disconnect", args=[gb_shop.pk]))
    operator.get(reverse("admin:connections_xero_pick"))
    operator.get(reverse("admin:connections_tiktok_pick"))

    assert XeroConnection.objects.get().status == XeroConnection.Status.ACTIVE
    assert ShopConnection.objects.get().access_token and xero.tenant_id not in xero.disconnected


# -- tenants and shops ----------------------------------------------------------------------------
def test_connecting_an_organisation_already_connected_renews_it_instead_of_adding_one(operator, xero):
    existing = sandbox_xero_connection(xero, name="Books")
    old = existing.refresh_token

    response = xero_connect(operator, xero)

    (connection,) = XeroConnection.objects.all()
    assert connection.pk == existing.pk and connection.name == "Books" and connection.refresh_token != old
    assert any("reconnected" in m for m in said(response))


def test_an_amazon_shop_cannot_be_authorised_at_tiktok(operator, tiktok):
    amazon = Shop.objects.create(
        channel="amazon_vendor", code="amz", name="A", region="GB", currency="GBP", clearing_account="1210"
    )
    url = reverse("admin:connections_tiktok_authorise", args=[amazon.pk])
    assert operator.get(url).status_code == 404
    assert operator.post(url, {"app_key": "k", "app_secret": "s", "service_id": "x"}).status_code == 404
    assert operator.post(reverse("admin:connections_tiktok_disconnect", args=[amazon.pk])).status_code == 404


def test_a_shop_holding_payouts_is_not_re_authorised_for_another_tiktok_shop(operator, tiktok, gb_shop):
    """Payouts (and orders) are the TikTok shop's money as much as statements are."""
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000099")
    Payout.objects.create(
        shop=gb_shop, payment_id="p-1", amount="10.00", currency="GBP", status="PAID", content_hash="h"
    )

    response = tiktok_authorise(operator, tiktok, gb_shop)

    assert any("already holds" in m and "7490000000000000099" in m for m in said(response)), said(response)
    assert ShopConnection.objects.get().external_shop_id == "7490000000000000099"


# -- secrets --------------------------------------------------------------------------------------
def test_no_secret_or_token_is_in_the_session_pages_messages_or_logs(operator, xero, caplog):
    caplog.set_level(logging.DEBUG)
    other = with_two_organisations(xero)
    consent = start(operator)
    assert SECRET not in raw_sessions()
    picking = operator.get(local(browse(xero, consent)), follow=True)
    grant = views._peek(type("R", (), {"session": operator.session})(), views.GRANT, "xero")
    assert grant and grant["access_token"]
    parked = raw_sessions()
    for secret in (SECRET, grant["access_token"], grant["refresh_token"]):
        assert secret not in parked and secret not in picking.content.decode()

    done = operator.post(reverse("admin:connections_xero_pick"), {"choice": other.tenant_id}, follow=True)

    connection = XeroConnection.objects.get()
    shown = done.content.decode() + " ".join(said(done)) + caplog.text + raw_sessions()
    shown += " ".join(str(row) for row in XeroAttempt.objects.values())
    for secret in (SECRET, connection.access_token, connection.refresh_token):
        assert secret not in shown


def test_no_tiktok_secret_or_token_is_in_the_session_pages_or_logs(operator, tiktok, gb_shop, caplog):
    """TikTok's token call carries the app secret in its query string: httpx logs URLs at INFO."""
    caplog.set_level(logging.DEBUG)
    tiktok.add_shop("cipher-gb-2", "7490000000000000002", "Pens GB outlet", "GB", "GBP")
    picking = tiktok_authorise(operator, tiktok, gb_shop)
    parked = raw_sessions()

    done = operator.post(
        reverse("admin:connections_tiktok_pick"), {"choice": "7490000000000000002"}, follow=True
    )

    shown = picking.content.decode() + done.content.decode() + parked + raw_sessions() + caplog.text
    for secret in (tiktok.app_secret, tiktok.access_token, tiktok.refresh_token, "cipher-gb-2"):
        assert secret not in shown, secret
    assert ShopConnection.objects.get().shop_cipher == "cipher-gb-2"


def test_a_refused_token_exchange_does_not_echo_the_secret_or_the_code(operator, xero):
    """Some gateways echo the request in their error page; LedgerSync must not pass it on."""

    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/connect/token":
            return httpx.Response(
                400, text=f"bad request: {request.headers['Authorization']} {request.content.decode()}"
            )
        return xero.transport.handle_request(request)

    callback = local(browse(xero, start(operator)))
    transports.install("xero", CONNECT_KEY, httpx.MockTransport(echo))
    import base64

    basic = base64.b64encode(f"app-1:{SECRET}".encode()).decode()
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = operator.get(callback, follow=True)

    text = " ".join(said(response)) + response.content.decode()
    assert "Xero did not connect" in text
    for secret in (SECRET, basic, code):
        assert secret not in text and secret not in raw_sessions()


def test_a_refused_tiktok_token_call_does_not_echo_the_app_secret(operator, tiktok, gb_shop):
    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v2/token/get":
            params = dict(request.url.params)
            body = {"code": 36004004, "message": f"invalid app_secret {params['app_secret']}", "data": None}
            return httpx.Response(400, json=body)
        return tiktok.transport.handle_request(request)

    started = operator.post(
        reverse("admin:connections_tiktok_authorise", args=[gb_shop.pk]),
        {"app_key": tiktok.app_key, "app_secret": "typed-secret-xyz", "service_id": tiktok.service_id},
    )
    callback = local(browse(tiktok, started["Location"]))
    transports.install("tiktok", gb_shop.code, httpx.MockTransport(echo))

    response = operator.get(callback, follow=True)

    text = " ".join(said(response))
    assert "TikTok did not authorise" in text and "typed-secret-xyz" not in text


def test_a_form_sent_back_with_an_error_does_not_carry_the_typed_secret(operator, tiktok, gb_shop):
    xero_form = operator.post(reverse("admin:connections_xero_connect"), {**FORM, "client_id": ""})
    tiktok_form = operator.post(
        reverse("admin:connections_tiktok_authorise", args=[gb_shop.pk]),
        {"app_key": "", "app_secret": "typed-secret-xyz", "service_id": tiktok.service_id},
    )
    assert xero_form.status_code == tiktok_form.status_code == 200
    assert SECRET not in xero_form.content.decode()
    assert "typed-secret-xyz" not in tiktok_form.content.decode()


# -- providers failing -----------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["server_error", "timeout_before_write"])
def test_the_token_endpoint_failing_during_the_callback_changes_nothing(operator, xero, fault):
    callback = local(browse(xero, start(operator)))
    xero.faults.next(fault, path_prefix="/connect/token")

    response = operator.get(callback, follow=True)

    assert any("Xero did not connect" in m and "Nothing was changed" in m for m in said(response))
    assert (
        not XeroConnection.objects.exists()
        and operator.session.get(views._slot(views.PENDING, "xero")) is None
    )


def test_a_grant_without_a_refresh_token_is_refused_not_saved_to_break_in_30_minutes(
    operator, xero, settings
):
    """Scopes without offline_access give a 30-minute access token and no refresh token: saved, it
    would pass for a custom connection and fail (paused, alert) at its first refresh."""
    settings.XERO_SCOPES = "accounting.transactions accounting.settings"

    response = operator.get(local(browse(xero, start(operator))), follow=True)

    assert any("offline_access" in m and "Nothing was changed" in m for m in said(response)), said(response)
    assert not XeroConnection.objects.exists()


def test_a_code_xero_refuses_changes_nothing(operator, xero):
    callback = local(browse(xero, start(operator)))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    xero.tokens.exchange_code(code, "http://testserver" + CALLBACK, "app-1")  # spent elsewhere

    response = operator.get(callback, follow=True)

    assert any("Xero did not connect" in m and "invalid_grant" in m for m in said(response))
    assert not XeroConnection.objects.exists()


def test_connections_failing_after_the_tokens_were_granted_changes_nothing(operator, xero):
    callback = local(browse(xero, start(operator)))
    xero.faults.next("server_error", path_prefix="/connections")

    response = operator.get(callback, follow=True)

    assert any("Xero did not connect" in m for m in said(response))
    assert not XeroConnection.objects.exists()


def test_the_settings_failing_after_connect_keep_the_connection_and_say_so(operator, xero):
    callback = local(browse(xero, start(operator)))
    xero.faults.next("server_error", count=5, path_prefix="/Organisation")

    response = operator.get(callback, follow=True)

    connection = XeroConnection.objects.get()
    assert connection.status == XeroConnection.Status.ACTIVE and connection.refresh_token
    assert connection.settings_refreshed_at is None
    assert any(": connected" in m for m in said(response))
    assert any("settings could not be read yet" in m for m in said(response))


def test_a_disconnect_xero_cannot_hear_changes_nothing(operator, xero):
    connection = sandbox_xero_connection(xero, name="Books")
    xero.faults.next("timeout_before_write", count=5, method="DELETE")

    response = operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]), follow=True)

    connection.refresh_from_db()
    assert any("Not disconnected" in m for m in said(response))
    assert connection.status == XeroConnection.Status.ACTIVE and connection.refresh_token
    assert xero.tenant_id not in xero.disconnected


def test_a_disconnect_whose_token_xero_no_longer_accepts_disconnects_here_and_says_so(operator, xero):
    connection = sandbox_xero_connection(xero, name="Books")
    xero.tokens.expire_all()  # Xero refuses the access token LedgerSync still thinks fresh

    response = operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]), follow=True)

    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.DISCONNECTED and not connection.refresh_token
    assert any("no longer accepted its tokens" in m for m in said(response))


def test_disconnecting_a_connection_xero_already_revoked_sends_no_paused_alert(
    operator, xero, django_capture_on_commit_callbacks
):
    """A deliberate disconnect is never turned into a 'needs to be reconnected' alert, even when
    the refresh it needs first is refused."""
    User.objects.create_superuser("root", email="root@example.com", password="x")
    connection = sandbox_xero_connection(xero, name="Books")
    XeroConnection.objects.filter(pk=connection.pk).update(
        refresh_token="revoked", access_token_expires_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            reverse("admin:connections_xero_disconnect", args=[connection.pk]), follow=True
        )

    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.DISCONNECTED
    assert any("disconnected" in m for m in said(response))
    assert not [m.subject for m in mail.outbox if "reconnected" in m.subject]


def test_a_refresh_racing_a_disconnect_does_not_call_xero(xero, monkeypatch):
    """A worker finds the token stale just as an operator disconnects: under the row lock it must
    see the disconnect, not ask Xero for tokens with the credentials just forgotten."""
    connection = sandbox_xero_connection(xero, name="Books")
    XeroConnection.objects.filter(pk=connection.pk).update(access_token_expires_at=timezone.now())
    stale = xero_access._fresh

    def disconnect_lands(row):
        XeroConnection.objects.filter(pk=row.pk).update(
            status=XeroConnection.Status.DISCONNECTED, access_token="", refresh_token="", client_secret=""
        )
        return stale(row)

    monkeypatch.setattr(xero_access, "_fresh", disconnect_lands)

    with pytest.raises(XeroError, match="is disconnected"):
        xero_access.access_token(connection.pk)
    assert not XeroAttempt.objects.exists()
    assert XeroConnection.objects.get().access_token == ""


def test_a_tiktok_token_refusal_or_no_authorised_shop_changes_nothing(operator, tiktok, gb_shop):
    wrong = tiktok_authorise(
        operator,
        tiktok,
        gb_shop,
        data={"app_key": tiktok.app_key, "app_secret": "wrong", "service_id": tiktok.service_id},
    )
    assert any("TikTok did not authorise" in m for m in said(wrong))

    tiktok._shops.clear()
    empty = tiktok_authorise(operator, tiktok, gb_shop)
    assert any("no shop" in m for m in said(empty))
    assert not ShopConnection.objects.exists()


# -- disconnected connections and the syncs behind them --------------------------------------------
pytest_world = pytest.mark.django_db(transaction=True)


@pytest_world
def test_a_shop_whose_xero_connection_is_disconnected_syncs_and_its_postings_wait():
    User.objects.create_superuser("root", email="root@example.com", password="x")
    world = build_world(days=1)
    organisation_refresh(connection=world.shop.xero_connection)  # read while it was connected
    root = User.objects.get(username="root")
    xero_disconnect(user=root, connection=world.shop.xero_connection)
    world.shop.refresh_from_db()
    calls = XeroAttempt.objects.count()
    mail.outbox.clear()

    run = sync.shop_sync(shop=world.shop, until=datetime.now(UTC))

    connection = XeroConnection.objects.get()
    assert connection.status == XeroConnection.Status.DISCONNECTED
    assert XeroAttempt.objects.count() == calls  # Xero not called
    postings = XeroPosting.objects.all()
    assert run.status == SyncRun.Status.DONE, run.error
    assert postings.exists()
    assert not postings.filter(state__in=["held", "posted", "sending"]).exists()
    assert not QuarantineItem.objects.filter(reason=Reason.AUTH).exists()
    assert not mail.outbox
    send_due_postings()  # the sweep leaves them waiting: nothing sent, nothing failed
    assert XeroAttempt.objects.count() == calls
    assert set(XeroPosting.objects.values_list("state", flat=True)) <= {"ready", "waiting"}
    assert XeroConnection.objects.get().status == XeroConnection.Status.DISCONNECTED


@pytest_world
def test_a_shop_whose_xero_connection_was_disconnected_before_any_read_is_no_authorisation_alert():
    """Without the organisation's settings the sync cannot plan and fails, saying why; the
    disconnect was someone's choice, so no 'shop needs to be authorised again' email goes out."""
    User.objects.create_superuser("root", email="root@example.com", password="x")
    world = build_world(days=1)
    xero_disconnect(user=User.objects.get(username="root"), connection=world.shop.xero_connection)

    run = sync.shop_sync(shop=world.shop, until=datetime.now(UTC))

    assert run.status == SyncRun.Status.FAILED and "is disconnected" in run.error
    assert not mail.outbox
    assert XeroConnection.objects.get().status == XeroConnection.Status.DISCONNECTED


@pytest_world
def test_a_disconnected_tiktok_shop_fails_its_sync_clearly_and_the_administrators_hear_once():
    User.objects.create_superuser("root", email="root@example.com", password="x")
    world = build_world(days=1)
    ShopConnection.objects.filter(shop=world.shop).update(access_token="", refresh_token="")
    world.shop.refresh_from_db()

    first = sync.shop_sync(shop=world.shop, until=datetime.now(UTC))
    second = sync.shop_sync(shop=world.shop, until=datetime.now(UTC) + timedelta(hours=1))

    assert first.status == second.status == SyncRun.Status.FAILED
    assert "authorise it on the Connections page" in first.error
    assert len([m for m in mail.outbox if "authorised again" in m.subject]) == 1


def test_retrying_a_connection_item_after_a_disconnect_does_not_bring_the_connection_back(xero, gb_shop):
    """Paused, then disconnected on purpose: Finance retrying its open 'connection needs
    attention' item must not mark it active again (it holds no credentials; the next send would
    call Xero with empty ones, be refused, pause it and alert everyone)."""
    connection = sandbox_xero_connection(xero, name="Books")
    gb_shop.xero_connection = connection
    gb_shop.save(update_fields=["xero_connection"])
    connection_pause(connection.pk, reason="refused")
    item = QuarantineItem.objects.create(shop=gb_shop, reason=Reason.AUTH, details={"messages": ["x"]})
    xero_disconnect(user=staff("olive", "Operations"), connection=connection)

    with pytest.raises(ValidationError, match="Connections page"):
        quarantine_retry(item=item, user=staff("fin", "Finance"))

    assert XeroConnection.objects.get().status == XeroConnection.Status.DISCONNECTED
    item.refresh_from_db()
    assert item.status == QuarantineItem.Status.OPEN
    connection_resume(connection=connection)  # whoever else calls it
    assert XeroConnection.objects.get().status == XeroConnection.Status.DISCONNECTED


def test_the_item_page_does_not_offer_a_retry_the_disconnect_makes_impossible(client, xero, gb_shop):
    connection = sandbox_xero_connection(xero, name="Books")
    gb_shop.xero_connection = connection
    gb_shop.save(update_fields=["xero_connection"])
    item = QuarantineItem.objects.create(shop=gb_shop, reason=Reason.AUTH, details={"messages": ["x"]})
    xero_disconnect(user=staff("olive", "Operations"), connection=connection)
    client.force_login(staff("fin", "Finance"))

    page = client.get(reverse("admin:reconciliation_quarantineitem_decide", args=[item.pk, "retry"]))

    assert (
        "Xero connection Books was disconnected: reconnect it on the Connections page"
        in page.content.decode()
    )
    assert b'type="submit"' not in page.content.split(b'id="content"', 1)[1]


# -- redirects --------------------------------------------------------------------------------------
@pytest.mark.parametrize("param", ["next", "redirect", "return_to", "redirect_uri"])
def test_no_parameter_sends_the_browser_anywhere_but_here_or_the_provider(operator, xero, param):
    evil = "https://evil.example/x"
    for url in (
        reverse("admin:connections_xero_connect"),
        reverse("admin:connections_xero_pick"),
        CALLBACK,
    ):
        answer = operator.post(f"{url}?{param}={evil}", {**FORM, param: evil, "choice": "x"})
        location = answer.get("Location", "")
        assert "evil.example" not in location
        if location.startswith("https://login.xero.com"):
            query = parse_qs(urlsplit(location).query)
            assert query["redirect_uri"] == ["http://testserver" + CALLBACK]
    host = operator.post(reverse("admin:connections_xero_connect"), FORM, HTTP_HOST="evil.example")
    assert host.status_code == 400
