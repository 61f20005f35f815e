from datetime import UTC, datetime

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.tiktok import auth
from connectors.tiktok.errors import TikTokError
from connectors.tiktok.sandbox import TikTokSandbox

NOW = 1_763_251_200


def credentials(sandbox: TikTokSandbox) -> dict:
    return {"app_key": sandbox.app_key, "app_secret": sandbox.app_secret, "transport": sandbox.transport}


def test_exchange_code():
    sandbox = TikTokSandbox(now=lambda: NOW)
    tokens = auth.exchange_code(auth_code=sandbox.issue_auth_code(), **credentials(sandbox))
    assert tokens.access_token == "sandbox-token"
    assert tokens.refresh_token == "sandbox-refresh"
    # `access_token_expire_in` is an absolute unix time, not a number of seconds from now.
    assert tokens.access_token_expires_at == datetime.fromtimestamp(NOW + 7 * 86400, tz=UTC)
    assert tokens.refresh_token_expires_at > tokens.access_token_expires_at
    assert (tokens.open_id, tokens.seller_name) == ("sandbox-open-id", "Sandbox Seller")
    method, path, params = sandbox.requests[0]
    assert (method, path, params["grant_type"]) == ("GET", "/api/v2/token/get", "authorized_code")


def test_used_or_unknown_auth_code_is_an_auth_error():
    sandbox = TikTokSandbox(now=lambda: NOW)
    code = sandbox.issue_auth_code()
    auth.exchange_code(auth_code=code, **credentials(sandbox))
    with pytest.raises(TikTokError) as caught:
        auth.exchange_code(auth_code=code, **credentials(sandbox))
    assert caught.value.kind is ErrorKind.AUTH


def test_refresh_issues_a_new_access_token():
    sandbox = TikTokSandbox(now=lambda: NOW)
    tokens = auth.refresh(refresh_token="sandbox-refresh", **credentials(sandbox))
    assert tokens.access_token == sandbox.access_token != "sandbox-token"
    assert sandbox.requests[0][2]["grant_type"] == "refresh_token"
    with pytest.raises(TikTokError) as caught:
        auth.refresh(refresh_token="stolen", **credentials(sandbox))
    assert caught.value.kind is ErrorKind.AUTH


def test_network_failure_is_transient_and_does_not_leak_the_secret():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TikTokError) as caught:
        auth.refresh(
            app_key="k", app_secret="top-secret", refresh_token="r", transport=httpx.MockTransport(down)
        )
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "top-secret" not in str(caught.value)


def test_rate_limited_token_call_stays_transient():
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"code": 36009002, "message": "slow down", "data": None})

    with pytest.raises(TikTokError) as caught:
        auth.refresh(app_key="k", app_secret="s", refresh_token="r", transport=httpx.MockTransport(busy))
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_token_set_repr_hides_tokens():
    sandbox = TikTokSandbox(now=lambda: NOW)
    tokens = auth.exchange_code(auth_code=sandbox.issue_auth_code(), **credentials(sandbox))
    assert "sandbox-token" not in repr(tokens) and "sandbox-refresh" not in repr(tokens)
