import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.tiktok.errors import TikTokError, classify


def envelope(code, status=200, data=None, headers=None, message="m"):
    body = {"code": code, "message": message, "request_id": "rid-1", "data": data}
    return httpx.Response(status, json=body, headers=headers)


def classify_error(response) -> TikTokError:
    with pytest.raises(TikTokError) as caught:
        classify(response)
    return caught.value


def test_success_returns_data_whatever_the_status():
    assert classify(envelope(0, data={"shops": []})) == {"shops": []}
    assert classify(envelope(0, status=500, data={"x": "1.00"})) == {"x": "1.00"}
    assert classify(envelope(0, data=None)) == {}


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (36009002, 429, ErrorKind.TRANSIENT),
        (36009003, 500, ErrorKind.TRANSIENT),
        (36009007, 504, ErrorKind.TRANSIENT),
        (36009003, 200, ErrorKind.TRANSIENT),
        (12345678, 503, ErrorKind.TRANSIENT),
        (105002, 401, ErrorKind.AUTH),
        (105001, 401, ErrorKind.AUTH),
        (106001, 401, ErrorKind.AUTH),
        (36009004, 400, ErrorKind.VALIDATION),
        (12052700, 200, ErrorKind.VALIDATION),
    ],
)
def test_codes_map_to_kinds(code, status, kind):
    error = classify_error(envelope(code, status=status, message="boom"))
    assert error.kind is kind
    assert error.code == code
    assert error.status == status
    assert error.request_id == "rid-1"
    assert "boom" in str(error)
    assert error.permanent is (kind is not ErrorKind.TRANSIENT)


def test_only_105002_is_token_expired():
    assert classify_error(envelope(105002, status=401)).token_expired is True
    assert classify_error(envelope(106001, status=401)).token_expired is False
    assert classify_error(envelope(105001, status=401)).token_expired is False


def test_rate_limit_carries_retry_after():
    error = classify_error(envelope(36009002, status=429, headers={"Retry-After": "2"}))
    assert error.retry_after == 2.0
    assert classify_error(envelope(36009002, status=429)).retry_after is None
    assert classify_error(envelope(36009002, status=429, headers={"Retry-After": "soon"})).retry_after is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (502, ErrorKind.TRANSIENT),
        (500, ErrorKind.TRANSIENT),
        (400, ErrorKind.VALIDATION),
        (200, ErrorKind.VALIDATION),
    ],
)
def test_body_without_envelope(status, kind):
    assert classify_error(httpx.Response(status, text="<html>Bad gateway</html>")).kind is kind
    assert classify_error(httpx.Response(status, json=["not", "an", "envelope"])).kind is kind


def test_gateway_429_without_an_envelope_is_retried_after_its_retry_after():
    response = httpx.Response(429, headers={"Retry-After": "2"}, content=b"<html>slow down</html>")
    with pytest.raises(TikTokError) as raised:
        classify(response)
    assert raised.value.kind == ErrorKind.TRANSIENT and raised.value.retry_after == 2
