"""Fixtures of the Connections tests (test_connections.py, test_connection_faults.py): an
Operations user's client, and the Xero and TikTok sandboxes installed where LedgerSync calls."""

import pytest

from connectors.tiktok.sandbox import TikTokSandbox
from connectors.xero.sandbox import XeroSandbox
from reconciliation import transports
from reconciliation.models import Shop
from reconciliation.services.xero_connect import CONNECT_KEY
from tests.reconciliation.test_connections import TIKTOK_CALLBACK, staff


@pytest.fixture
def operator(client):
    client.force_login(staff("olive", "Operations"))
    return client


@pytest.fixture
def xero():
    sandbox = XeroSandbox.demo(base_currency="GBP")
    transports.install("xero", CONNECT_KEY, sandbox.transport)
    transports.install("xero", sandbox.tenant_id, sandbox.transport)
    return sandbox


@pytest.fixture
def tiktok(settings):
    sandbox = TikTokSandbox()
    sandbox.add_shop("cipher-gb", "7490000000000000001", "Pens GB", "GB", "GBP")
    sandbox.registered_redirect = "http://testserver" + TIKTOK_CALLBACK
    settings.TIKTOK_SERVICE_ID = sandbox.service_id
    return sandbox


@pytest.fixture
def gb_shop(tiktok):
    shop = Shop.objects.create(
        channel="tiktok", code="tt-gb", name="Pens", region="GB", currency="GBP", clearing_account="1210"
    )
    transports.install("tiktok", shop.code, tiktok.transport)
    return shop
