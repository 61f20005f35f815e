"""Connecting through the sandbox servers as `make demo` runs them: the browser is sent to the
sandbox's consent pages over HTTP (XERO_LOGIN_URL, TIKTOK_SERVICES_URL) and back to the callbacks."""

import re
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from connectors.sandbox_server import SandboxServer
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.xero.sandbox import XeroSandbox
from reconciliation import transports
from reconciliation.models import Shop, ShopConnection, XeroConnection

pytestmark = pytest.mark.django_db


def consent(url: str) -> str:
    """GET the consent page over HTTP, click "Allow access", return the callback it redirects to."""
    page = httpx.get(url)
    assert page.status_code == 200 and "Allow access" in page.text
    allow = re.search(r'href="([^"]*decision=allow[^"]*)"', page.text).group(1).replace("&amp;", "&")
    answer = httpx.get(urljoin(url, allow))
    assert answer.status_code == 302
    return answer.headers["Location"]


def test_an_operator_connects_xero_and_authorises_tiktok_through_the_http_sandboxes(
    client, settings, tmp_path
):
    transports.uninstall_all()
    tiktok = TikTokSandbox()
    tiktok.add_shop("cipher-http", "7490000000000000042", "HTTP shop", "GB", "GBP")
    tiktok.registered_redirect = "http://testserver/admin/connections/tiktok/callback/"
    servers = [
        SandboxServer(
            "xero", XeroSandbox.demo(base_currency="GBP"), state_file=tmp_path / "x.pickle"
        ).start(),
        SandboxServer("tiktok", tiktok, state_file=tmp_path / "t.pickle").start(),
    ]
    xero_url, tiktok_url = servers[0].url, servers[1].url
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = settings.XERO_LOGIN_URL = xero_url
    settings.TIKTOK_API_URL = settings.TIKTOK_AUTH_URL = settings.TIKTOK_SERVICES_URL = tiktok_url
    settings.TIKTOK_SERVICE_ID = tiktok.service_id
    user = User.objects.create_user("olive", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)
    shop = Shop.objects.create(
        channel="tiktok", code="tt-http", name="HTTP", region="GB", currency="GBP", clearing_account="1210"
    )
    try:
        started = client.post(
            reverse("admin:connections_xero_connect"),
            {"kind": "standard", "client_id": "app", "client_secret": "s"},
        )
        assert started["Location"].startswith(xero_url + "/identity/connect/authorize?")
        back = urlsplit(consent(started["Location"]))
        client.get(f"{back.path}?{back.query}")

        started = client.post(
            reverse("admin:connections_tiktok_authorise", args=[shop.pk]),
            {"app_key": tiktok.app_key, "app_secret": tiktok.app_secret, "service_id": tiktok.service_id},
        )
        assert started["Location"].startswith(tiktok_url + "/open/authorize?")
        back = urlsplit(consent(started["Location"]))
        client.get(f"{back.path}?{back.query}")
    finally:
        for server in servers:
            server.stop()

    connection = XeroConnection.objects.get()
    assert connection.status == XeroConnection.Status.ACTIVE and connection.base_currency == "GBP"
    assert ShopConnection.objects.get(shop=shop).shop_cipher == "cipher-http"
