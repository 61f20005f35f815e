"""TikTok Shop request and webhook signatures (DESIGN.md 4.1 and 8).

Two different algorithms: API requests sign path + sorted query + body, wrapped in the app secret;
webhooks sign `app_key + raw body`. Both are HMAC-SHA256 keyed with the app secret, lowercase hex.
"""

import hashlib
import hmac
from collections.abc import Mapping

# TikTok leaves these out of the string to sign: `sign` is the result, and `access_token` travels in
# the `x-tts-access-token` header on current API versions.
UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def _hmac_hex(app_secret: str, message: bytes) -> str:
    return hmac.new(app_secret.encode(), message, hashlib.sha256).hexdigest()


def sign(app_secret: str, path: str, params: Mapping[str, str], body: bytes = b"") -> str:
    """The `sign` query parameter for one API request (body omitted by the caller for multipart)."""
    pairs = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in UNSIGNED_PARAMS)
    return _hmac_hex(app_secret, f"{app_secret}{path}{pairs}".encode() + body + app_secret.encode())


def verify(app_secret: str, path: str, params: Mapping[str, str], body: bytes, signature: str) -> bool:
    return _same(sign(app_secret, path, params, body), signature)


def webhook_signature(app_key: str, app_secret: str, raw_body: bytes) -> str:
    """The `Authorization` header TikTok sends with a webhook."""
    return _hmac_hex(app_secret, app_key.encode() + raw_body)


def webhook_verify(app_key: str, app_secret: str, raw_body: bytes, signature: str) -> bool:
    return _same(webhook_signature(app_key, app_secret, raw_body), signature)


def _same(expected: str, given: str) -> bool:
    # Compare bytes: compare_digest refuses non-ASCII str, and a header can contain anything.
    return hmac.compare_digest(expected.encode(), (given or "").encode())
