import base64
import datetime as dt
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.xero import auth
from connectors.xero.errors import XeroError
from tests.connectors.scripted import Scripted

CLIENT_ID = "C1D2E3F4A5B6"
CLIENT_SECRET = "s3cr3t-client-secret"
NOW = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


class Identity(Scripted):
    """Xero's identity server and connections endpoint, answering in turn."""

    def form(self, n=0):
        return {k: v[0] for k, v in parse_qs(self.requests[n].content.decode()).items()}


def token_answer(access="new-access", refresh="new-refresh", **extra):
    body = {
        "id_token": "eyJ-id",
        "access_token": access,
        "expires_in": 1800,
        "token_type": "Bearer",
        "refresh_token": refresh,
        "scope": "openid offline_access accounting.transactions accounting.settings",
    } | extra
    return httpx.Response(200, json={k: v for k, v in body.items() if v is not None})


def test_refresh_rotates_the_refresh_token():
    identity = Identity(token_answer())

    tokens = auth.refresh(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token="old-refresh",
        transport=identity.transport,
        clock=lambda: NOW,
    )

    [request] = identity.requests
    assert (request.method, str(request.url)) == ("POST", "https://identity.xero.com/connect/token")
    assert request.headers["Authorization"] == BASIC
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert identity.form() == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}
    assert tokens == auth.XeroTokens(
        access_token="new-access",
        refresh_token="new-refresh",
        expires_at=NOW + dt.timedelta(minutes=30),
        scope="openid offline_access accounting.transactions accounting.settings",
    )
    assert tokens.expires_within(60, now=NOW + dt.timedelta(minutes=29, seconds=30))
    assert not tokens.expires_within(60, now=NOW + dt.timedelta(minutes=28))


def test_tokens_are_not_in_their_repr():
    tokens = auth.XeroTokens(access_token="AT-secret", refresh_token="RT-secret", expires_at=NOW)
    assert "secret" not in repr(tokens)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json={"error": "invalid_grant"}),
        httpx.Response(400, json={"error": "invalid_client"}),
        httpx.Response(401, json={"error": "unauthorized_client"}),
    ],
)
def test_refused_refresh_is_auth(answer):
    with pytest.raises(XeroError) as caught:
        auth.refresh(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token="rotated-away",
            transport=Identity(answer).transport,
        )
    assert (caught.value.kind, caught.value.permanent) == (ErrorKind.AUTH, True)
    assert answer.json()["error"] in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="Service Unavailable"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(429, headers={"Retry-After": "5"}),
    ],
)
def test_refresh_that_may_be_repeated_is_transient(answer):
    # Xero keeps the old refresh token usable for a grace period, so repeating it is safe.
    with pytest.raises(XeroError) as caught:
        auth.refresh(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token="rt",
            transport=Identity(answer).transport,
            retries=0,  # the classification alone; repeating is tested in test_auth_grace.py
        )
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_authorize_url():
    url = auth.authorize_url(
        client_id=CLIENT_ID,
        redirect_uri="https://ledgersync.example/xero/callback",
        scope="openid offline_access accounting.transactions",
        state="st-123",
    )
    assert url == (
        "https://login.xero.com/identity/connect/authorize?response_type=code&client_id=C1D2E3F4A5B6"
        "&redirect_uri=https%3A%2F%2Fledgersync.example%2Fxero%2Fcallback"
        "&scope=openid%20offline_access%20accounting.transactions&state=st-123"
    )


def test_exchange_code():
    identity = Identity(token_answer(access="first-access", refresh="first-refresh"))
    tokens = auth.exchange_code(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code="auth-code-1",
        redirect_uri="https://ledgersync.example/xero/callback",
        transport=identity.transport,
        clock=lambda: NOW,
    )
    assert identity.requests[0].headers["Authorization"] == BASIC
    assert identity.form() == {
        "grant_type": "authorization_code",
        "code": "auth-code-1",
        "redirect_uri": "https://ledgersync.example/xero/callback",
    }
    assert (tokens.access_token, tokens.refresh_token) == ("first-access", "first-refresh")


def test_client_credentials_for_a_custom_connection():
    identity = Identity(token_answer(access="cc-access", refresh=None, scope="accounting.transactions"))
    tokens = auth.client_credentials(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scope="accounting.transactions",
        transport=identity.transport,
    )
    assert identity.form() == {"grant_type": "client_credentials", "scope": "accounting.transactions"}
    assert (tokens.access_token, tokens.refresh_token, tokens.scope) == (
        "cc-access",
        "",
        "accounting.transactions",
    )


def test_connections_lists_tenants():
    tenant = {
        "id": "e1eede29-f875-4a5d-8470-17f6a29a88b1",
        "tenantId": "70784a63-d24b-46a9-a4db-0e70a274b056",
        "tenantType": "ORGANISATION",
        "tenantName": "Maple Florists Inc",
    }
    identity = Identity(httpx.Response(200, json=[tenant]))

    assert auth.connections(access_token="AT", transport=identity.transport) == [tenant]
    [request] = identity.requests
    assert (request.method, str(request.url)) == ("GET", "https://api.xero.com/connections")
    assert request.headers["Authorization"] == "Bearer AT"


def test_connections_with_a_dead_token_is_auth():
    identity = Identity(httpx.Response(401, json={"Title": "Unauthorized", "Detail": "TokenExpired"}))
    with pytest.raises(XeroError) as caught:
        auth.connections(access_token="AT", transport=identity.transport)
    assert caught.value.kind is ErrorKind.AUTH
