import hashlib
import hmac

from connectors.tiktok.signing import sign, verify, webhook_signature, webhook_verify

PATH = "/authorization/202309/shops"
PARAMS = {"app_key": "29a39d", "timestamp": "1623812664"}


def test_published_example():
    signature = sign("e59af819cc", PATH, PARAMS)
    assert signature.startswith("b596b73e")
    assert len(signature) == 64 and signature == signature.lower()


def test_sign_and_access_token_are_not_signed():
    with_extras = {**PARAMS, "sign": "whatever", "access_token": "tok"}
    assert sign("e59af819cc", PATH, with_extras) == sign("e59af819cc", PATH, PARAMS)


def test_params_are_sorted_by_key():
    reordered = {"timestamp": "1623812664", "app_key": "29a39d"}
    assert sign("e59af819cc", PATH, reordered).startswith("b596b73e")


def test_body_path_and_params_change_the_signature():
    base = sign("s", "/order/202309/orders/search", PARAMS, b'{"a":1}')
    assert sign("s", "/order/202309/orders/search", PARAMS, b'{"a":2}') != base
    assert sign("s", "/order/202309/orders", PARAMS, b'{"a":1}') != base
    assert sign("s", "/order/202309/orders/search", {**PARAMS, "page_size": "10"}, b'{"a":1}') != base


def test_verify():
    good = sign("e59af819cc", PATH, PARAMS)
    assert verify("e59af819cc", PATH, PARAMS, b"", good)
    assert not verify("e59af819cc", PATH, PARAMS, b"", good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert not verify("other", PATH, PARAMS, b"", good)
    assert not verify("e59af819cc", PATH, PARAMS, b"", "")
    assert not verify("e59af819cc", PATH, PARAMS, b"", "é" * 64)


def test_webhook_signature_is_hmac_of_app_key_and_body():
    body = b'{"type":1,"tts_notification_id":"7327","shop_id":"7494","timestamp":1700000000,"data":{}}'
    expected = hmac.new(b"secret", b"app123" + body, hashlib.sha256).hexdigest()
    assert webhook_signature("app123", "secret", body) == expected
    assert webhook_verify("app123", "secret", body, expected)
    assert not webhook_verify("app123", "secret", body + b" ", expected)
    assert not webhook_verify("app124", "secret", body, expected)
    assert not webhook_verify("app123", "secret", body, "")
