"""The sandbox at the HTTP edge: OAuth, tenants, limits, Idempotency-Key, faults, size and spec checks."""

import base64

import httpx
import pytest

from connectors.xero.openapi import SpecViolation
from connectors.xero.sandbox import XeroSandbox
from tests.connectors.xero.test_sandbox_support import API, Clock, client_for, demo, journal, line, only, send

TOKEN_URL = "https://identity.xero.com/connect/token"
BASIC = "Basic " + base64.b64encode(b"client-id:client-secret").decode()
BALANCED = journal(line("1210", "100.00"), line("4000", "-100.00"))


def token_request(sandbox: XeroSandbox, **form) -> httpx.Response:
    with httpx.Client(transport=sandbox.transport) as client:
        return client.post(TOKEN_URL, data=form, headers={"Authorization": BASIC})


def test_api_calls_need_a_current_access_token_and_the_sandbox_tenant():
    sandbox, client, clock = demo()
    anonymous = httpx.Client(transport=sandbox.transport, base_url=API)
    wrong_tenant = client_for(sandbox)
    wrong_tenant.headers["xero-tenant-id"] = "00000000-0000-0000-0000-000000000001"

    assert client.get("/Organisation").status_code == 200
    assert anonymous.get("/Organisation").status_code == 401
    assert wrong_tenant.get("/Organisation").status_code == 403
    clock.advance(minutes=30)  # access tokens live 30 minutes
    expired = client.get("/Organisation")
    assert expired.status_code == 401 and "invalid_token" in expired.headers["WWW-Authenticate"]


def test_expire_access_tokens_invalidates_every_issued_token():
    sandbox, client, _ = demo()
    sandbox.expire_access_tokens()
    assert client.get("/Accounts").status_code == 401


def test_connections_lists_the_one_tenant():
    sandbox, client, _ = demo()
    response = client.get("https://api.xero.com/connections")
    assert response.status_code == 200
    assert [(c["tenantId"], c["tenantType"]) for c in response.json()] == [
        (sandbox.tenant_id, "ORGANISATION")
    ]


def test_a_refresh_rotates_the_refresh_token_and_the_old_one_dies_after_xeros_grace_period():
    clock = Clock()
    sandbox = XeroSandbox.demo(clock=clock)
    first = sandbox.issue_tokens()
    refreshed = token_request(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    clock.advance(minutes=29)  # the answer was lost: Xero lets the old token be used for 30 minutes
    replayed = token_request(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])
    clock.advance(minutes=1)
    too_late = token_request(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"])

    grant = refreshed.json()
    assert refreshed.status_code == 200
    assert grant["expires_in"] == 1800 and grant["token_type"] == "Bearer"
    assert grant["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 200 and replayed.json()["refresh_token"] != first["refresh_token"]
    assert (too_late.status_code, too_late.json()) == (400, {"error": "invalid_grant"})
    assert client_for(sandbox, replayed.json()).get("/Organisation").status_code == 200


def test_client_credentials_and_a_single_use_authorisation_code_also_issue_tokens():
    sandbox = XeroSandbox.demo(clock=Clock())
    custom = token_request(sandbox, grant_type="client_credentials").json()
    issued = sandbox.tokens.issue_code(
        redirect_uri="https://x/cb", scope="offline_access accounting.settings"
    )
    never_issued = token_request(
        sandbox, grant_type="authorization_code", code="abc", redirect_uri="https://x/cb"
    )
    elsewhere = token_request(
        sandbox, grant_type="authorization_code", code=issued, redirect_uri="https://y/cb"
    )
    issued = sandbox.tokens.issue_code(
        redirect_uri="https://x/cb", scope="offline_access accounting.settings"
    )
    code = token_request(sandbox, grant_type="authorization_code", code=issued, redirect_uri="https://x/cb")
    reused = token_request(sandbox, grant_type="authorization_code", code=issued, redirect_uri="https://x/cb")
    online = sandbox.tokens.issue_code(redirect_uri="https://x/cb", scope="accounting.settings")
    without_offline = token_request(
        sandbox, grant_type="authorization_code", code=online, redirect_uri="https://x/cb"
    )

    assert "refresh_token" not in custom  # custom connections re-authenticate instead of refreshing
    assert client_for(sandbox, custom).get("/Organisation").status_code == 200
    assert code.status_code == 200 and "refresh_token" in code.json()
    assert code.json()["scope"] == "offline_access accounting.settings"
    assert (never_issued.status_code, elsewhere.status_code, reused.status_code) == (400, 400, 400)
    assert without_offline.status_code == 200 and "refresh_token" not in without_offline.json()


def test_a_replayed_idempotency_key_returns_the_first_response_and_applies_nothing_again():
    sandbox, client, _ = demo()
    headers = {"Idempotency-Key": "stmt-1-journal"}
    first = send(client, "PUT", "/ManualJournals", BALANCED, headers=headers)
    again = send(client, "PUT", "/ManualJournals", BALANCED, headers=headers)

    assert (
        only(again, "ManualJournals")["ManualJournalID"] == only(first, "ManualJournals")["ManualJournalID"]
    )
    assert again.content == first.content
    assert len(sandbox.manual_journals) == 1


def test_an_idempotency_key_reused_for_a_different_body_or_too_long_is_a_400():
    sandbox, client, _ = demo()
    send(client, "PUT", "/ManualJournals", BALANCED, headers={"Idempotency-Key": "k1"})
    other = journal(line("1210", "5.00"), line("4000", "-5.00"))
    conflict = send(client, "PUT", "/ManualJournals", other, headers={"Idempotency-Key": "k1"})
    too_long = send(client, "PUT", "/ManualJournals", other, headers={"Idempotency-Key": "k" * 129})

    assert conflict.status_code == 400 and "different request" in conflict.json()["Message"]
    assert too_long.status_code == 400 and "128" in too_long.json()["Message"]
    assert len(sandbox.manual_journals) == 1


def test_after_the_replay_window_the_same_key_creates_again():
    sandbox, client, clock = demo()
    send(client, "PUT", "/ManualJournals", BALANCED, headers={"Idempotency-Key": "k1"})
    clock.advance(minutes=10, seconds=1)
    send(client, "PUT", "/ManualJournals", BALANCED, headers={"Idempotency-Key": "k1"})
    assert len(sandbox.manual_journals) == 2  # why we also look documents up before re-creating


def test_the_61st_call_in_a_minute_is_429_until_the_clock_moves_on():
    _, client, clock = demo()
    answers = []
    for _ in range(60):
        answers.append(client.get("/Organisation"))
        clock.advance(milliseconds=500)
    limited = client.get("/Organisation")

    assert [a.status_code for a in answers] == [200] * 60
    assert (
        answers[0].headers["X-MinLimit-Remaining"] == "59"
        and answers[-1].headers["X-MinLimit-Remaining"] == "0"
    )
    assert answers[-1].headers["X-DayLimit-Remaining"] == "4940"
    assert "X-AppMinLimit-Remaining" in answers[-1].headers
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert limited.headers["Retry-After"] == "30"  # the first call leaves the rolling minute at 60.0 s
    clock.advance(seconds=30)
    assert client.get("/Organisation").status_code == 200


def test_the_daily_limit_is_its_own_problem():
    sandbox, client, clock = demo()
    sandbox.rate_limits.per_day = 3
    for _ in range(3):
        assert client.get("/Organisation").status_code == 200
        clock.advance(minutes=5)
    limited = client.get("/Organisation")
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "day"
    assert int(limited.headers["Retry-After"]) == 24 * 3600 - 15 * 60


def test_timeout_after_write_applies_the_journal_then_a_retry_with_the_same_key_replays_it():
    sandbox, client, _ = demo()
    sandbox.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    headers = {"Idempotency-Key": "stmt-2-journal"}

    with pytest.raises(httpx.ReadTimeout):
        send(client, "PUT", "/ManualJournals", BALANCED, headers=headers)
    assert len(sandbox.manual_journals) == 1  # applied, though the caller could not know

    retried = only(send(client, "PUT", "/ManualJournals", BALANCED, headers=headers), "ManualJournals")
    assert retried["ManualJournalID"] == sandbox.manual_journals[0]["ManualJournalID"]
    assert len(sandbox.manual_journals) == 1 and sandbox.faults.injected["timeout_after_write"] == 1


@pytest.mark.parametrize(
    ("kind", "outcome", "applied"),
    [
        ("drop_response", httpx.RemoteProtocolError, 1),
        ("timeout_before_write", httpx.ConnectTimeout, 0),
        ("server_error", 500, 0),
        ("rate_limit", 429, 0),
    ],
)
def test_each_fault_kind_fails_the_call_and_applies_only_when_it_says_so(kind, outcome, applied):
    sandbox, client, _ = demo()
    sandbox.faults.next(kind, method="PUT")
    if isinstance(outcome, int):
        response = send(client, "PUT", "/ManualJournals", BALANCED)
        assert response.status_code == outcome
        assert kind != "rate_limit" or response.headers["Retry-After"] == "2"
    else:
        with pytest.raises(outcome):
            send(client, "PUT", "/ManualJournals", BALANCED)
    assert len(sandbox.manual_journals) == applied
    assert send(client, "PUT", "/ManualJournals", BALANCED).status_code == 200  # one fault, then normal


def test_faults_wait_for_a_matching_method_and_path():
    sandbox, client, _ = demo()
    sandbox.faults.next("server_error", count=2, method="PUT", path_prefix="/BankTransactions")
    assert client.get("/Organisation").status_code == 200
    assert send(client, "PUT", "/ManualJournals", BALANCED).status_code == 200
    assert sandbox.faults.injected == {}


def test_random_faults_are_the_same_for_the_same_seed():
    def run(seed: int) -> list:
        sandbox, client, _ = demo()
        sandbox.faults.random(0.5, seed=seed, kinds=("server_error", "rate_limit"))
        return [client.get("/Organisation").status_code for _ in range(20)]

    first = run(7)
    assert first == run(7)
    assert {200, 500, 429} <= set(first)
    assert first != run(8)


def test_a_body_over_3_5_mb_is_refused_with_413():
    sandbox, client, _ = demo()
    narration = "x" * 3_600_000
    response = send(
        client, "PUT", "/ManualJournals", journal(line("1210", "1"), line("4000", "-1"), narration=narration)
    )
    assert response.status_code == 413 and sandbox.manual_journals == []


def test_post_creates_too_though_our_client_only_puts():
    sandbox, client, _ = demo()
    assert (
        only(send(client, "POST", "/ManualJournals", BALANCED), "ManualJournals")["StatusAttributeString"]
        == "OK"
    )
    assert len(sandbox.manual_journals) == 1


def test_strict_mode_turns_a_malformed_request_body_into_an_error_in_the_test(xero_spec_path):
    sandbox, client, _ = demo(spec_path=xero_spec_path)
    body = {"ManualJournals": [{"Narration": "n", "JournalLines": "100 to sales"}]}
    with pytest.raises(SpecViolation, match=r"\$\.ManualJournals\[0\]\.JournalLines"):
        send(client, "PUT", "/ManualJournals", body)
    assert len(sandbox.spec_violations) == 1 and sandbox.manual_journals == []


def test_without_strict_mode_the_violation_is_recorded_and_xero_refuses_the_body(xero_spec_path):
    sandbox, client, _ = demo(spec_path=xero_spec_path, strict=False)
    body = {"ManualJournals": [{"Narration": "n", "JournalLines": "100 to sales"}]}
    response = send(client, "PUT", "/ManualJournals", body)
    assert response.status_code == 400 and response.json()["Type"] == "PostDataInvalidException"
    assert "JournalLines" in sandbox.spec_violations[0]


def test_a_where_clause_the_sandbox_cannot_evaluate_is_refused_not_ignored():
    _, client, _ = demo()
    response = client.get("/ManualJournals", params={"where": 'Narration.StartsWith("S")'})
    assert response.status_code == 400


def test_requests_are_recorded_byte_for_byte():
    sandbox, client, _ = demo()
    send(client, "PUT", "/ManualJournals", BALANCED, headers={"Idempotency-Key": "k9"})
    method, path, query, headers, body = sandbox.requests[-1]
    assert (method, path, query) == ("PUT", "/api.xro/2.0/ManualJournals", {"summarizeErrors": "false"})
    assert headers["idempotency-key"] == "k9"
    assert b'"LineAmount": 100.0' in body
