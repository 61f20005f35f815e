"""The Connections page: Xero connect / reconnect / custom / disconnect and TikTok shop
authorisation, walked through the sandboxes' consent pages and callbacks as a browser would."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from connectors.errors import ErrorKind
from connectors.tiktok.errors import TikTokError
from connectors.xero.errors import XeroError
from connectors.xero.sandbox import XeroSandbox
from reconciliation import transports
from reconciliation.demo.scenario import sandbox_shop_connection, sandbox_xero_connection
from reconciliation.models import (
    QuarantineItem,
    Shop,
    ShopConnection,
    Statement,
    SyncRun,
    XeroAttempt,
    XeroConnection,
)
from reconciliation.models.quarantine import Reason
from reconciliation.services.tiktok_access import tiktok_client
from reconciliation.services.xero_access import access_token, connection_pause

pytestmark = pytest.mark.django_db

CALLBACK = "/admin/connections/xero/callback/"
TIKTOK_CALLBACK = "/admin/connections/tiktok/callback/"


def staff(name: str, group: str | None = None, **extra) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True, **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def browse(sandbox, url: str, decision: str = "allow") -> str:
    """Open the sandbox's consent page at `url`, click `decision`, return where it redirects."""
    with httpx.Client(transport=sandbox.transport) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        link = re.search(rf'href="([^"]*decision={decision}[^"]*)"', page.text).group(1).replace("&amp;", "&")
        answer = browser.get(urljoin(url, link))
    assert answer.status_code == 302
    return answer.headers["Location"]


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def xero_connect(client, sandbox, *, data=None, reconnect=None, decision="allow"):
    url = reverse("admin:connections_xero_connect") + (f"?reconnect={reconnect.pk}" if reconnect else "")
    started = client.post(
        url, data or {"kind": "standard", "client_id": "app-1", "client_secret": "app-secret-1"}
    )
    assert started.status_code == 302, started.content
    assert started["Location"].startswith("https://login.xero.com/identity/connect/authorize?")
    return client.get(local(browse(sandbox, started["Location"], decision)), follow=True)


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- Xero ------------------------------------------------------------------------------------------
def test_an_operator_connects_a_xero_organisation_through_the_consent_page(operator, xero):
    response = xero_connect(operator, xero)

    connection = XeroConnection.objects.get()
    assert connection.tenant_id == xero.tenant_id and connection.status == XeroConnection.Status.ACTIVE
    assert connection.client_id == "app-1" and connection.client_secret == "app-secret-1"
    assert (
        connection.refresh_token.startswith("sbx-rt-") and connection.access_token_expires_at > timezone.now()
    )
    # The organisation's settings are read at once, so the maps can be checked against them.
    assert connection.base_currency == "GBP" and connection.accounts and connection.settings_refreshed_at
    assert any("connected" in m for m in said(response))
    # Nothing secret is rendered back.
    page = operator.get(reverse("admin:connections")).content.decode()
    change = operator.get(
        reverse("admin:reconciliation_xeroconnection_change", args=[connection.pk])
    ).content.decode()
    for secret in (connection.refresh_token, connection.access_token, "app-secret-1"):
        assert secret not in page and secret not in change
    assert not [key for key, _ in operator.session.items() if key.startswith("ls_connect")]


def test_the_redirect_asks_for_the_configured_scopes_and_sends_the_callback_uri(operator, xero, settings):
    settings.XERO_SCOPES = "offline_access accounting.transactions"
    started = operator.post(
        reverse("admin:connections_xero_connect"),
        {"kind": "standard", "client_id": "app-1", "client_secret": "s"},
    )
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["scope"] == ["offline_access accounting.transactions"]
    assert query["redirect_uri"] == ["http://testserver" + CALLBACK]
    assert query["response_type"] == ["code"] and len(query["state"][0]) >= 32


def test_several_organisations_are_picked_from_a_list(operator, xero):
    other = XeroSandbox.demo(base_currency="USD")
    other.org.Name = "Demo US Inc"
    xero.add_organisation(other)

    picking = xero_connect(operator, xero)
    assert picking.request["PATH_INFO"] == reverse("admin:connections_xero_pick")
    assert b"Demo US Inc" in picking.content and not XeroConnection.objects.exists()

    done = operator.post(reverse("admin:connections_xero_pick"), {"choice": other.tenant_id}, follow=True)
    transports.install("xero", other.tenant_id, xero.transport)
    assert XeroConnection.objects.get().tenant_id == other.tenant_id
    assert any("Demo US Inc: connected" in m for m in said(done))


def test_a_callback_without_its_state_or_a_cancel_changes_nothing(operator, xero):
    forged = operator.get(CALLBACK + "?code=stolen&state=guess", follow=True)
    assert any("Nothing is waiting" in m for m in said(forged))

    operator.post(
        reverse("admin:connections_xero_connect"),
        {"kind": "standard", "client_id": "a", "client_secret": "s"},
    )
    mismatch = operator.get(CALLBACK + "?code=x&state=not-the-one", follow=True)
    assert any("state mismatch" in m for m in said(mismatch))

    cancelled = xero_connect(operator, xero, decision="deny")
    assert any("you cancelled" in m for m in said(cancelled))
    assert not XeroConnection.objects.exists()


def test_the_code_is_refused_with_another_redirect_uri(operator, xero, settings):
    started = operator.post(
        reverse("admin:connections_xero_connect"),
        {"kind": "standard", "client_id": "a", "client_secret": "s"},
    )
    callback = browse(xero, started["Location"])
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert (
        xero.tokens.exchange_code(code, "https://elsewhere.example/cb") is None
    )  # bound to its redirect_uri


def test_reconnecting_a_paused_connection_resumes_it_and_resolves_its_auth_items(operator, xero):
    connection = sandbox_xero_connection(xero, name="Books")
    shop = Shop.objects.create(
        channel="tiktok", code="tt-gb", name="GB", region="GB", currency="GBP", clearing_account="1210",
        xero_connection=connection,
    )  # fmt: skip
    connection_pause(connection.pk, reason="token refresh refused: invalid_grant")
    item = QuarantineItem.objects.create(
        shop=shop, reason=Reason.AUTH, details={"messages": ["invalid_grant"]}
    )
    old_refresh = XeroConnection.objects.get().refresh_token

    response = xero_connect(
        operator,
        xero,
        reconnect=connection,
        data={"kind": "standard", "client_id": "demo-client", "client_secret": ""},
    )

    connection.refresh_from_db()
    item.refresh_from_db()
    assert connection.status == XeroConnection.Status.ACTIVE and connection.status_reason == ""
    assert connection.name == "Books" and connection.refresh_token != old_refresh
    assert connection.client_secret == "demo-secret"  # blank kept the secret already held
    assert item.status == QuarantineItem.Status.RESOLVED and "reconnect by olive" in item.decision_note
    assert any("reconnected" in m and "1 item" in m for m in said(response))


def test_a_reconnect_that_authorises_another_organisation_is_refused(operator, xero):
    elsewhere = XeroSandbox.demo()
    connection = sandbox_xero_connection(elsewhere, name="Other books")
    before = connection.refresh_token

    response = xero_connect(operator, xero, reconnect=connection)

    connection.refresh_from_db()
    assert connection.refresh_token == before and XeroConnection.objects.count() == 1
    assert any("but this connection is Other books" in m for m in said(response))


def test_a_custom_connection_needs_no_browser_and_holds_no_refresh_token(operator, xero):
    response = operator.post(
        reverse("admin:connections_xero_connect"),
        {"kind": "custom", "client_id": "custom-app", "client_secret": "custom-secret"},
        follow=True,
    )
    connection = XeroConnection.objects.get()
    assert connection.refresh_token == "" and connection.client_secret == "custom-secret"
    assert any("connected" in m for m in said(response))
    assert b"custom connection" in operator.get(reverse("admin:connections")).content


def test_disconnect_removes_the_access_at_xero_and_forgets_the_tokens(operator, xero):
    connection = sandbox_xero_connection(xero, name="Books")

    confirm = operator.get(reverse("admin:connections_xero_disconnect", args=[connection.pk]))
    assert b"Disconnect Books?" in confirm.content and XeroConnection.objects.get().access_token
    done = operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]), follow=True)

    connection.refresh_from_db()
    assert xero.tenant_id in xero.disconnected  # DELETE /connections/{id} reached Xero
    assert (connection.access_token, connection.refresh_token, connection.client_secret) == ("", "", "")
    assert connection.status == XeroConnection.Status.DISCONNECTED and "olive" in connection.status_reason
    assert any("disconnected" in m for m in said(done))
    # Nothing calls Xero for it any more, and a refused call does not turn it into "paused".
    with pytest.raises(XeroError) as refused:
        access_token(connection.pk)
    assert refused.value.kind is ErrorKind.AUTH
    connection_pause(connection.pk, reason="x")
    assert XeroConnection.objects.get().status == XeroConnection.Status.DISCONNECTED


def test_connecting_again_after_a_disconnect_restores_the_organisation(operator, xero):
    connection = sandbox_xero_connection(xero, name="Books")
    operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]))

    xero_connect(
        operator,
        xero,
        reconnect=connection,
        data={"kind": "standard", "client_id": "demo-client", "client_secret": "new"},
    )

    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.ACTIVE and xero.tenant_id not in xero.disconnected
    assert access_token(connection.pk) == connection.access_token


@pytest.mark.parametrize("group", ["Finance", "Auditor"])
def test_finance_and_auditors_see_connections_but_cannot_change_them(client, xero, group):
    connection = sandbox_xero_connection(xero, name="Books")
    client.force_login(staff("someone", group))

    page = client.get(reverse("admin:connections"))
    assert page.status_code == 200 and b"Books" in page.content
    assert (
        b"Reconnect" not in page.content
        and b"Disconnect" not in page.content
        and b"Connect a Xero" not in page.content
    )
    assert client.get(reverse("admin:connections_xero_connect")).status_code == 403
    assert client.post(reverse("admin:connections_xero_disconnect", args=[connection.pk])).status_code == 403
    assert XeroConnection.objects.get().status == XeroConnection.Status.ACTIVE


# -- TikTok ----------------------------------------------------------------------------------------
def tiktok_authorise(client, sandbox, shop, *, data=None, decision="allow"):
    form = {"app_key": sandbox.app_key, "app_secret": sandbox.app_secret, "service_id": sandbox.service_id}
    started = client.post(reverse("admin:connections_tiktok_authorise", args=[shop.pk]), data or form)
    assert started.status_code == 302, started.content
    assert started["Location"].startswith("https://services.tiktokshop.com/open/authorize?service_id=")
    return client.get(local(browse(sandbox, started["Location"], decision)), follow=True)


def test_an_operator_authorises_a_tiktok_shop_and_its_cipher_is_stored(operator, tiktok, gb_shop):
    response = tiktok_authorise(operator, tiktok, gb_shop)

    connection = ShopConnection.objects.get(shop=gb_shop)
    assert (connection.external_shop_id, connection.shop_cipher) == ("7490000000000000001", "cipher-gb")
    assert connection.access_token == tiktok.access_token and connection.refresh_token == tiktok.refresh_token
    assert connection.refresh_token_expires_at > timezone.now() + timedelta(days=300)
    assert any("authorised for TikTok shop Pens GB" in m for m in said(response))
    page = operator.get(reverse("admin:connections")).content.decode()
    assert tiktok.access_token not in page and tiktok.app_secret not in page and "cipher-gb" not in page
    with tiktok_client(gb_shop) as client:  # the stored grant works for the shop's API calls
        assert client.shop_cipher == "cipher-gb"


def test_with_several_authorised_shops_the_operator_picks_one(operator, tiktok, gb_shop):
    tiktok.add_shop("cipher-gb-2", "7490000000000000002", "Pens GB outlet", "GB", "GBP")

    picking = tiktok_authorise(operator, tiktok, gb_shop)
    assert picking.request["PATH_INFO"] == reverse("admin:connections_tiktok_pick")
    assert b"Pens GB outlet" in picking.content and not ShopConnection.objects.exists()

    operator.post(reverse("admin:connections_tiktok_pick"), {"choice": "7490000000000000002"})
    assert ShopConnection.objects.get().shop_cipher == "cipher-gb-2"


def test_a_tiktok_shop_of_another_region_or_already_another_shops_is_refused(operator, tiktok, gb_shop):
    us = Shop.objects.create(
        channel="tiktok", code="tt-us", name="US", region="US", currency="USD", clearing_account="1210"
    )
    transports.install("tiktok", us.code, tiktok.transport)
    wrong_region = tiktok_authorise(operator, tiktok, us)
    assert any("is in region GB, but shop tt-us is set up for US" in m for m in said(wrong_region))

    tiktok_authorise(operator, tiktok, gb_shop)
    twin = Shop.objects.create(
        channel="tiktok", code="tt-gb2", name="Twin", region="GB", currency="GBP", clearing_account="1210"
    )
    transports.install("tiktok", twin.code, tiktok.transport)
    taken = tiktok_authorise(operator, tiktok, twin)
    assert any("already set up as shop tt-gb" in m for m in said(taken))
    assert not ShopConnection.objects.filter(shop__in=[us, twin]).exists()


def test_a_shop_with_statements_is_not_re_authorised_for_another_tiktok_shop(operator, tiktok, gb_shop):
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000099")
    Statement.objects.create(shop=gb_shop, statement_id="s-1", currency="GBP", content_hash="h")

    response = tiktok_authorise(operator, tiktok, gb_shop)

    assert any("already holds statements of TikTok shop 7490000000000000099" in m for m in said(response))
    assert ShopConnection.objects.get().external_shop_id == "7490000000000000099"


def test_disconnecting_a_tiktok_shop_forgets_its_tokens_and_stops_its_syncs(operator, tiktok, gb_shop):
    tiktok_authorise(operator, tiktok, gb_shop)

    operator.post(reverse("admin:connections_tiktok_disconnect", args=[gb_shop.pk]))

    connection = ShopConnection.objects.get()
    assert (connection.access_token, connection.refresh_token) == ("", "")
    assert connection.external_shop_id == "7490000000000000001"  # kept: statements keep their shop
    with pytest.raises(TikTokError) as refused:
        tiktok_client(Shop.objects.get(pk=gb_shop.pk))
    assert refused.value.kind is ErrorKind.AUTH and "Connections page" in str(refused.value)


def test_a_cancelled_tiktok_authorisation_changes_nothing(operator, tiktok, gb_shop):
    response = tiktok_authorise(operator, tiktok, gb_shop, decision="deny")
    assert any("you cancelled" in m for m in said(response)) and not ShopConnection.objects.exists()


def test_finance_cannot_authorise_a_tiktok_shop(client, tiktok, gb_shop):
    client.force_login(staff("fin", "Finance"))
    assert client.get(reverse("admin:connections_tiktok_authorise", args=[gb_shop.pk])).status_code == 403
    assert b"Authorise" not in client.get(reverse("admin:connections")).content


def test_behind_a_tls_proxy_the_callback_is_built_on_the_configured_address(operator, xero, settings):
    settings.CONNECT_CALLBACK_BASE = "https://books.example.com"
    started = operator.post(
        reverse("admin:connections_xero_connect"),
        {"kind": "standard", "client_id": "a", "client_secret": "s"},
    )
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["redirect_uri"] == ["https://books.example.com" + CALLBACK]
    assert (
        "https://books.example.com" + CALLBACK in operator.get(reverse("admin:connections")).content.decode()
    )


def test_the_dashboard_and_connections_say_what_a_disconnect_stops(operator, xero, tiktok, gb_shop):
    connection = sandbox_xero_connection(xero, name="Books")
    Shop.objects.filter(pk=gb_shop.pk).update(xero_connection=connection)
    sandbox_shop_connection(gb_shop, tiktok, external_shop_id="7490000000000000001")
    assert "nothing posts until" not in operator.get(reverse("admin:index")).content.decode()

    operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]))
    operator.post(reverse("admin:connections_tiktok_disconnect", args=[gb_shop.pk]))

    home = operator.get(reverse("admin:index")).content.decode()
    assert "Xero connection Books is disconnected: nothing posts until it is reconnected" in home
    Shop.objects.filter(pk=gb_shop.pk).update(xero_connection=None)
    home = operator.get(reverse("admin:index")).content.decode()
    assert "no Xero organisation is set for this shop" in home
    XeroConnection.objects.update(status=XeroConnection.Status.ACTIVE)
    Shop.objects.filter(pk=gb_shop.pk).update(xero_connection=connection)
    assert (
        "not authorised at TikTok Shop: nothing is read"
        in operator.get(reverse("admin:index")).content.decode()
    )


def test_connections_show_the_last_sync_failed_ones_too(operator, tiktok, gb_shop):
    sandbox_shop_connection(gb_shop, tiktok)
    SyncRun.objects.create(shop=gb_shop, status=SyncRun.Status.FAILED, error="boom")

    page = operator.get(reverse("admin:connections")).content.decode()

    assert ">failed<" in page and "never" not in page.split("TikTok shops")[1]


def test_connecting_and_disconnecting_leave_their_xero_calls_as_audit_rows_without_secrets(operator, xero):
    other = XeroSandbox.demo(base_currency="USD")
    xero.add_organisation(other)
    xero_connect(operator, xero)  # two organisations: the grant waits in the session for the pick
    operator.post(reverse("admin:connections_xero_pick"), {"choice": xero.tenant_id})
    connection = XeroConnection.objects.get()

    rows = list(XeroAttempt.objects.filter(connection=connection).order_by("id"))
    calls = [(r.method, r.url, r.status) for r in rows[:2]]
    assert calls == [
        ("POST", "https://identity.xero.com/connect/token", 200),  # the code exchange
        ("GET", "https://api.xero.com/connections", 200),  # what the tokens reach
    ]
    assert "code=%5Bredacted%5D" in rows[0].request_body and "Bearer" not in str(rows[1].request_headers)
    audited = " ".join(f"{r.request_headers} {r.request_body} {r.response_body}" for r in rows)
    for secret in (connection.refresh_token, connection.access_token, "app-secret-1"):
        assert secret not in audited

    before = XeroAttempt.objects.order_by("-id").values_list("id", flat=True).first()
    operator.post(reverse("admin:connections_xero_disconnect", args=[connection.pk]))
    after = XeroAttempt.objects.filter(id__gt=before, connection=connection).order_by("id")
    assert [(r.method, r.status) for r in after][-2:] == [("GET", 200), ("DELETE", 204)]
