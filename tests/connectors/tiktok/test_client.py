import json
from decimal import Decimal

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.tiktok import auth
from connectors.tiktok import sandbox as sandbox_module
from connectors.tiktok.client import TikTokClient
from connectors.tiktok.errors import TikTokError
from connectors.tiktok.sandbox import TikTokSandbox
from connectors.tiktok.signing import verify

NOW = 1_763_251_200.0
CIPHER = "GCP_sandbox_us"


def make_sandbox() -> TikTokSandbox:
    sandbox = TikTokSandbox(now=lambda: NOW)
    sandbox.add_shop(CIPHER, "7494000000000000001", "Sandbox US", "US", "USD")
    return sandbox


def unexpected_sleep(seconds: float) -> None:
    pytest.fail(f"the client slept {seconds}s without a transient error")


def make_client(sandbox: TikTokSandbox, transport=None, **kwargs) -> TikTokClient:
    options = {
        "app_key": sandbox.app_key,
        "app_secret": sandbox.app_secret,
        "access_token": sandbox.access_token,
        "shop_cipher": CIPHER,
        "transport": transport or sandbox.transport,
        "clock": lambda: NOW,
        "sleep": unexpected_sleep,  # tests that expect retries pass their own
        **kwargs,
    }
    return TikTokClient(**options)


def statement(statement_id: str, day: int, settlement: str = "10.00") -> dict:
    return {
        "id": statement_id,
        "statement_time": int(NOW) + day * 86400,
        "settlement_amount": settlement,
        "currency": "USD",
        "payment_id": f"p{statement_id}",
        "payment_status": "PAID",
        "revenue_amount": settlement,
        "fee_amount": "0.00",
        "adjustment_amount": "0.00",
        "shipping_cost_amount": "0.00",
        "net_sales_amount": settlement,
    }


def transaction(tx_id: str, amount: str = "1.00") -> dict:
    return {"id": tx_id, "type": "ORDER", "settlement_amount": amount, "revenue_amount": amount}


def test_client_signs_and_sandbox_accepts():
    sandbox = make_sandbox()
    shops = make_client(sandbox).authorized_shops()
    assert shops == [
        {
            "id": "7494000000000000001",
            "name": "Sandbox US",
            "region": "US",
            "seller_type": "LOCAL",
            "cipher": CIPHER,
            "code": "USLC000001",
        }
    ]
    [(method, path, params)] = sandbox.requests
    assert (method, path) == ("GET", "/authorization/202309/shops")
    assert params["app_key"] == "sandbox-app" and params["timestamp"] == str(int(NOW))
    assert "shop_cipher" not in params  # not a shop API
    assert verify("sandbox-secret", path, params, b"", params["sign"])


def test_shop_apis_send_the_cipher_and_need_one():
    sandbox = make_sandbox()
    assert list(make_client(sandbox).statements(statement_time_ge=0, statement_time_lt=2**40)) == []
    assert sandbox.requests[0][2]["shop_cipher"] == CIPHER
    with pytest.raises(ValueError, match="shop_cipher"):
        list(make_client(sandbox, shop_cipher=None).statements(statement_time_ge=0, statement_time_lt=1))


def test_unknown_shop_cipher_is_rejected():
    sandbox = make_sandbox()
    with pytest.raises(TikTokError) as caught:
        list(make_client(sandbox, shop_cipher="GCP_other").payments(create_time_ge=0, create_time_lt=2**40))
    assert caught.value.code == sandbox_module.INVALID_SHOP_CIPHER
    assert caught.value.kind is ErrorKind.VALIDATION


def tamper(inner: httpx.BaseTransport) -> httpx.MockTransport:
    """Change the body after the client signed it, as a proxy that rewrites requests would."""

    def handler(request: httpx.Request) -> httpx.Response:
        forged = httpx.Request(
            request.method, request.url, headers=request.headers, content=b'{"page_size":99}'
        )
        return inner.handle_request(forged)

    return httpx.MockTransport(handler)


def test_signed_body_is_accepted_and_a_tampered_body_rejected():
    sandbox = make_sandbox()
    body = {"order_status": "COMPLETED", "update_time_ge": 1763000000}
    untouched = make_client(sandbox).call("POST", "/order/202309/orders/search", json_body=body)
    assert untouched["orders"] == []  # the signature passed and the search ran (no orders here)
    assert sandbox.requests[-1][2]["sign"]

    with pytest.raises(TikTokError) as tampered:
        make_client(sandbox, transport=tamper(sandbox.transport)).call(
            "POST", "/order/202309/orders/search", json_body=body
        )
    assert tampered.value.code == 106001
    assert tampered.value.kind is ErrorKind.AUTH
    assert len(sandbox.requests) == 2  # AUTH is never retried


def test_body_bytes_sent_are_the_bytes_signed():
    sent = []
    sandbox = make_sandbox()

    def spy(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return sandbox.transport.handle_request(request)

    with pytest.raises(TikTokError):  # signed, then refused: order.json declares no "a" or "b"
        make_client(sandbox, transport=httpx.MockTransport(spy)).call(
            "POST", "/order/202309/orders/search", json_body={"b": "£1.00", "a": [1]}
        )
    assert json.loads(sent[0]) == {"b": "£1.00", "a": [1]}
    params = sandbox.requests[0][2]
    assert verify("sandbox-secret", "/order/202309/orders/search", params, sent[0], params["sign"])


@pytest.mark.parametrize(("skew", "accepted"), [(-299, True), (29, True), (-301, False), (31, False)])
def test_timestamp_window(skew, accepted):
    client = make_client(make_sandbox(), clock=lambda: NOW + skew)
    if accepted:
        assert client.authorized_shops()
        return
    with pytest.raises(TikTokError) as caught:
        client.authorized_shops()
    assert caught.value.code == sandbox_module.INVALID_TIMESTAMP


def test_pagination_returns_every_transaction_once():
    sandbox = make_sandbox()
    transactions = [transaction(f"tx{n}") for n in range(7)]
    sandbox.add_statement(CIPHER, statement("s1", 0, "7.00"), transactions, None)
    pages = list(make_client(sandbox).statement_transaction_pages("s1", page_size=3))
    assert [len(page["transactions"]) for page in pages] == [3, 3, 1]
    assert [tx["id"] for page in pages for tx in page["transactions"]] == [f"tx{n}" for n in range(7)]
    assert pages[-1]["next_page_token"] == ""
    assert all(page["total_count"] == 7 and page["total_settlement_amount"] == "7.00" for page in pages)
    tokens = [params.get("page_token") for _, _, params in sandbox.requests]
    assert tokens == [None, pages[0]["next_page_token"], pages[1]["next_page_token"]]


def test_statements_and_payments_follow_pages_and_keep_money_as_strings():
    sandbox = make_sandbox()
    for day in range(5):
        payment = {"id": f"ps{day}", "create_time": int(NOW) + day * 86400 + 3600, "status": "PAID"}
        payment["amount"] = {"value": f"{day}.10", "currency": "USD"}
        sandbox.add_statement(CIPHER, statement(f"s{day}", day, f"{day}.10"), [], payment)
    client = make_client(sandbox)
    window = {"statement_time_ge": int(NOW) + 86400, "statement_time_lt": int(NOW) + 4 * 86400}
    found = list(client.statements(**window, page_size=2))
    assert [s["id"] for s in found] == ["s1", "s2", "s3"]
    assert found[0]["settlement_amount"] == "1.10" and Decimal(found[0]["settlement_amount"])
    payments = list(client.payments(create_time_ge=0, create_time_lt=2**40, page_size=2))
    assert [p["id"] for p in payments] == [f"ps{day}" for day in range(5)]
    assert payments[3]["amount"] == {"value": "3.10", "currency": "USD"}


def test_statement_id_cannot_escape_the_path():
    with pytest.raises(ValueError):
        list(make_client(make_sandbox()).statement_transaction_pages("../../authorization"))


def test_rate_limit_then_success_honours_retry_after():
    sandbox = make_sandbox()
    sandbox.faults.next("rate_limit", count=2)
    slept = []
    ticks = iter(range(3))
    assert make_client(sandbox, sleep=slept.append, clock=lambda: NOW + next(ticks)).authorized_shops()
    assert slept == [1.0, 1.0]
    # Each attempt is signed afresh with the current timestamp.
    stamps = [params["timestamp"] for _, _, params in sandbox.requests]
    assert stamps == [str(int(NOW) + n) for n in range(3)]


def test_internal_error_and_timeout_back_off_then_give_up():
    sandbox = make_sandbox()
    sandbox.faults.next("internal")
    sandbox.faults.next("timeout", count=3)
    slept = []
    with pytest.raises(TikTokError) as caught:
        make_client(sandbox, sleep=slept.append, max_retries=3).authorized_shops()
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "ReadTimeout" in str(caught.value)
    assert slept == [0.5, 1.0, 2.0]
    assert len(sandbox.requests) == 4 and len(sandbox.faults) == 0


def test_token_expired_triggers_exactly_one_refresh():
    sandbox = make_sandbox()
    sandbox.faults.next("token_expired")
    refreshes = []

    def refresher() -> str:
        refreshes.append(1)
        return sandbox.access_token

    assert make_client(sandbox, token_refresher=refresher).authorized_shops()
    assert len(refreshes) == 1

    sandbox.faults.next("token_expired", count=2)
    with pytest.raises(TikTokError) as caught:
        make_client(sandbox, token_refresher=refresher).authorized_shops()
    assert caught.value.token_expired and caught.value.kind is ErrorKind.AUTH
    assert len(refreshes) == 2  # one more, not two


def test_expired_token_is_refreshed_through_the_auth_host_and_used():
    sandbox = make_sandbox()
    sandbox.expire_access_token()
    old_token = sandbox.access_token

    def refresher() -> str:
        tokens = auth.refresh(
            app_key=sandbox.app_key,
            app_secret=sandbox.app_secret,
            refresh_token=sandbox.refresh_token,
            transport=sandbox.transport,
        )
        return tokens.access_token

    client = make_client(sandbox, token_refresher=refresher)
    assert client.authorized_shops()
    assert client.access_token == sandbox.access_token != old_token
    with pytest.raises(TikTokError) as caught:
        make_client(sandbox, access_token=old_token).authorized_shops()  # no refresher
    assert caught.value.token_expired


def test_attempts_are_reported_without_secrets():
    sandbox = make_sandbox()
    sandbox.faults.next("rate_limit")
    attempts = []
    make_client(sandbox, on_attempt=attempts.append, sleep=lambda _: None).authorized_shops()
    assert [a.status for a in attempts] == [429, 200]
    assert "36009002" in attempts[0].error and attempts[1].error == ""
    for attempt in attempts:
        assert attempt.method == "GET" and "/authorization/202309/shops" in attempt.url
        assert "sign=" in attempt.url
        assert attempt.request_headers["x-tts-access-token"] == "[redacted]"
        text = repr(attempt)
        assert "sandbox-token" not in text and "sandbox-secret" not in text
    assert attempts[1].response_body and json.loads(attempts[1].response_body)["code"] == 0


def test_timeouts_are_reported_as_attempts():
    sandbox = make_sandbox()
    sandbox.faults.next("timeout")
    attempts = []
    make_client(sandbox, on_attempt=attempts.append, sleep=lambda _: None).authorized_shops()
    assert [(a.status, a.error) for a in attempts] == [(None, "ReadTimeout"), (200, "")]


def test_a_long_retry_after_is_left_to_the_scheduler():
    def busy(request: httpx.Request) -> httpx.Response:
        body = {"code": 36009002, "message": "Too many requests", "request_id": "r", "data": None}
        return httpx.Response(429, json=body, headers={"Retry-After": "120"})

    with pytest.raises(TikTokError) as caught:
        make_client(make_sandbox(), transport=httpx.MockTransport(busy)).authorized_shops()
    assert caught.value.kind is ErrorKind.TRANSIENT and caught.value.retry_after == 120.0
