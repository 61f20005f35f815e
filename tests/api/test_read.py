"""Read endpoints: who may read, what a record shows (money as text, links, no secrets)."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.api.conftest import ROLES

pytestmark = pytest.mark.django_db

LISTS = ["postings", "attempts", "exceptions", "statements", "payouts"]


def detail(name: str, world) -> str:
    row = {
        "postings": "journal",
        "attempts": "attempt",
        "exceptions": "item",
        "statements": "statement",
        "payouts": "payout",
    }[name]
    return f"/api/{name}/{world[row].pk}/"


@pytest.mark.parametrize("role", [*ROLES, "superuser"])
@pytest.mark.parametrize("name", LISTS)
def test_every_role_reads_every_list_and_detail(as_role, world, name, role):
    if role == "superuser":
        client = APIClient()
        client.force_login(User.objects.create_superuser("root", password="x"))
    else:
        client = as_role(role)

    listing = client.get(f"/api/{name}/")
    one = client.get(detail(name, world))

    assert listing.status_code == 200, listing.content
    assert one.status_code == 200
    assert one.json()["id"] in [row["id"] for row in listing.json()["results"]]


@pytest.mark.parametrize("name", LISTS)
def test_anonymous_is_refused_and_told_how_to_authenticate(as_role, world, name):
    client = as_role("anonymous")

    for url in (f"/api/{name}/", detail(name, world)):
        response = client.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("name", LISTS)
def test_a_user_in_no_group_reads_nothing(as_role, world, name):
    client = as_role(None)

    assert client.get(f"/api/{name}/").status_code == 403
    assert client.get(detail(name, world)).status_code == 403


@pytest.mark.parametrize("name", LISTS)
def test_reads_are_read_only_for_every_role(as_role, world, name):
    client = as_role("Finance")

    assert client.post(f"/api/{name}/", {}).status_code in (403, 405)
    assert client.delete(detail(name, world)).status_code in (403, 405)
    assert client.patch(detail(name, world), {"state": "posted"}).status_code in (403, 405)
    world["journal"].refresh_from_db()
    assert world["journal"].state == "held"


def test_token_authentication_reads_and_a_wrong_token_is_refused(world):
    auditor = User.objects.create_user("audrey", password="pw-audrey-1")
    auditor.groups.add(Group.objects.get(name="Auditor"))
    client = APIClient()

    issued = client.post("/api/token/", {"username": "audrey", "password": "pw-audrey-1"})
    assert issued.status_code == 200
    assert issued.json()["token"] == Token.objects.get(user=auditor).key

    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert [row["id"] for row in client.get("/api/exceptions/").json()["results"]] == [world["item"].pk]

    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/exceptions/").status_code == 401


def test_a_posting_shows_money_as_text_and_links_its_source_attempts_and_exceptions(as_role, world):
    client = as_role("Auditor")
    journal = world["journal"]

    body = client.get(f"/api/postings/{journal.pk}/").json()

    assert body["amount"] == {"amount": "10.00", "currency": "GBP"}
    assert body["state"] == "held" and body["shop"] == "tt-uk"
    assert body["source"] == {
        "type": "statement",
        "id": world["statement"].pk,
        "url": f"http://testserver/api/statements/{world['statement'].pk}/",
    }
    assert body["exceptions"] == [f"http://testserver/api/exceptions/{world['item'].pk}/"]
    attempts = client.get(body["attempts"]).json()["results"]
    assert [a["id"] for a in attempts] == [world["attempt"].pk]
    assert client.get(body["source"]["url"]).json()["statement_id"] == "S1"


def test_a_receive_links_its_payout_and_shows_its_amount(as_role, world):
    body = as_role("Auditor").get(f"/api/postings/{world['receive'].pk}/").json()

    assert body["amount"] == {"amount": "10.00", "currency": "GBP"}
    assert body["source"]["type"] == "payout"
    assert body["source"]["url"].endswith(f"/api/payouts/{world['payout'].pk}/")


def test_an_exception_links_its_posting_and_shows_what_it_holds(as_role, world):
    client = as_role("Auditor")

    body = client.get(f"/api/exceptions/{world['item'].pk}/").json()

    assert body["reason"] == "LOCK_DATE" and body["reason_display"] == "Dated in a locked period"
    assert body["status"] == "open" and body["proposed_date"] == "2025-11-01"
    assert body["amount"] == {"amount": "10.00", "currency": "GBP"}
    assert body["posting_state"] == "held"
    assert client.get(body["posting"]).json()["id"] == world["journal"].pk


def test_a_statement_and_its_payout_link_both_ways(as_role, world):
    client = as_role("Auditor")

    statement = client.get(f"/api/statements/{world['statement'].pk}/").json()
    payout = client.get(f"/api/payouts/{world['payout'].pk}/").json()

    assert statement["settlement"] == {"amount": "10.00", "currency": "GBP"}
    assert payout["deposit"] == {"amount": "10.00", "currency": "GBP"}
    assert [p["id"] for p in client.get(statement["payout"]).json()["results"]] == [world["payout"].pk]
    assert [s["id"] for s in client.get(payout["statements"]).json()["results"]] == [world["statement"].pk]
    assert [p["id"] for p in client.get(statement["postings"]).json()["results"]] == [world["journal"].pk]
    assert [p["id"] for p in client.get(payout["postings"]).json()["results"]] == [world["receive"].pk]
    # the item is about the statement's journal, so it is among what holds the statement
    assert [i["id"] for i in client.get(statement["exceptions"]).json()["results"]] == [world["item"].pk]
    assert client.get(payout["exceptions"]).json()["results"] == []


def test_no_secret_is_reachable(as_role, world):
    client = as_role("Finance")

    attempt = client.get(f"/api/attempts/{world['attempt'].pk}/").json()
    posting = client.get(f"/api/postings/{world['journal'].pk}/").json()
    everything = b"".join(client.get(f"/api/{name}/").content for name in LISTS)

    assert attempt["request_headers"]["Authorization"] == "[redacted]"
    assert "connection" not in posting and "connection" not in attempt
    assert b"leaked-token" not in everything and b"secret-refresh" not in everything
    assert b"secret-client" not in everything
    for path in ("/api/connections/", "/api/xero-connections/", "/api/shops/", "/api/tokens/"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("name", LISTS)
def test_a_list_page_costs_the_same_queries_for_3_rows_or_30(
    as_role, shop, world, name, django_assert_max_num_queries
):
    from tests.api.conftest import journal_of, lock_date_item_of, statement_of

    client = as_role("Auditor")
    client.get(f"/api/{name}/")  # warm: sessions, permissions, content types
    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/{name}/")
    for n in range(30):
        statement = statement_of(shop, f"N{n}", world["statement"].statement_date, "1.00", payment_id=f"Q{n}")
        posting = journal_of(shop, statement, "1.00", state="held")
        lock_date_item_of(posting)
        world["attempt"].pk = None
        world["attempt"].posting = posting
        world["attempt"].save()

    with django_assert_max_num_queries(len(few)):
        response = client.get(f"/api/{name}/")
    rows = {"postings": 32, "attempts": 32, "exceptions": 31, "statements": 31, "payouts": 1}
    assert len(response.json()["results"]) == rows[name]


def test_guessing_passwords_for_a_token_is_throttled(world):
    User.objects.create_user("audrey", password="pw-audrey-1")
    client = APIClient()

    answers = [
        client.post("/api/token/", {"username": "audrey", "password": f"guess-{n}"}).status_code
        for n in range(11)
    ]

    assert answers == [400] * 10 + [429]
    assert client.post("/api/token/", {"username": "audrey", "password": "pw-audrey-1"}).status_code == 429
