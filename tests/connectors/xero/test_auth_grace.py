"""A refresh whose answer is lost is repeated with the same refresh token (Xero's 30-minute grace
period), and every token call is reported for the audit without tokens or secrets."""

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.xero import auth
from connectors.xero.errors import XeroError
from tests.connectors.xero.test_auth import CLIENT_ID, CLIENT_SECRET, Identity, token_answer

OLD = "rt-old-secret-refresh-token"


def refresh(identity, **extra):
    return auth.refresh(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=OLD,
        transport=identity.transport,
        **extra,
    )


def test_a_refresh_whose_answer_was_lost_is_repeated_with_the_same_token():
    identity = Identity(
        httpx.RemoteProtocolError("connection closed"), token_answer(access="at-2", refresh="rt-2")
    )
    slept, started, done = [], [], []

    tokens = refresh(identity, sleep=slept.append, on_attempt_start=started.append, on_attempt=done.append)

    assert (tokens.access_token, tokens.refresh_token) == ("at-2", "rt-2")
    assert [identity.form(n)["refresh_token"] for n in (0, 1)] == [OLD, OLD]
    assert slept == [1.0]
    assert [a.extra["attempt"] for a in started] == [1, 2] == [a.extra["attempt"] for a in done]
    assert [a.ref for a in started] == [a.ref for a in done]
    assert (done[0].status, done[0].extra["kind"], done[1].status) == (None, "transient", 200)
    assert "RemoteProtocolError" in done[0].error


def test_token_calls_are_reported_without_tokens_or_secrets():
    identity = Identity(token_answer(access="at-2-secret", refresh="rt-2-secret"))
    done = []
    refresh(identity, on_attempt=done.append)

    (attempt,) = done
    text = repr(attempt)
    for secret in (OLD, CLIENT_SECRET, "at-2-secret", "rt-2-secret", "eyJ-id"):
        assert secret not in text
    assert attempt.request_headers["authorization"] == "[redacted]"
    assert "grant_type=refresh_token" in attempt.request_body and "%5Bredacted%5D" in attempt.request_body
    assert '"expires_in": 1800' in attempt.response_body


def test_a_refused_refresh_is_not_repeated():
    identity = Identity(httpx.Response(400, json={"error": "invalid_grant"}))
    with pytest.raises(XeroError) as caught:
        refresh(identity, sleep=lambda s: None)
    assert caught.value.kind is ErrorKind.AUTH and len(identity.requests) == 1


def test_repeats_are_bounded_and_then_the_failure_is_transient():
    identity = Identity(*[httpx.ReadTimeout("timed out")] * (auth.REFRESH_RETRIES + 1))
    with pytest.raises(XeroError) as caught:
        refresh(identity, sleep=lambda s: None)
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert len(identity.requests) == auth.REFRESH_RETRIES + 1
