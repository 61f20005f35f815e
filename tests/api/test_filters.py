"""Filters narrow the rows and the cursor pages through all of them, each once, in a stable order."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from reconciliation.models import Payout, QuarantineItem, Shop, XeroPosting
from reconciliation.models.quarantine import Reason
from tests.api.conftest import journal_of, statement_of

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def second_shop(shop):
    return Shop.objects.create(
        channel="tiktok",
        code="tt-us",
        name="Demo US",
        region="US",
        currency="USD",
        clearing_account="1210",
        xero_connection=shop.xero_connection,
    )


@pytest.fixture
def statements(shop, second_shop):
    """Ten UK statements 1-10 Nov (settlements 10, 20, ... 100) and two US ones."""
    uk = [
        statement_of(shop, f"UK{day}", date(2025, 11, day), f"{day * 10}.00", payment_id=f"P{day % 2}")
        for day in range(1, 11)
    ]
    us = [statement_of(second_shop, f"US{day}", date(2025, 11, day), "5.00") for day in (1, 2)]
    return uk, us


def test_statements_by_shop_date_range_and_amount(as_role, statements):
    uk, us = statements
    client = as_role("Auditor")

    assert ids(client.get("/api/statements/?shop=tt-us")) == [s.pk for s in reversed(us)]
    assert ids(
        client.get(
            "/api/statements/?shop=tt-uk&statement_date_after=2025-11-03&statement_date_before=2025-11-05"
        )
    ) == [uk[4].pk, uk[3].pk, uk[2].pk]
    assert ids(client.get("/api/statements/?settlement_min=75&settlement_max=90")) == [uk[8].pk, uk[7].pk]
    assert ids(client.get("/api/statements/?shop=tt-uk&payment_id=P0")) == [
        s.pk for s in reversed(uk) if s.payment_id == "P0"
    ]


def test_a_bad_filter_value_is_a_400_naming_the_field(as_role, statements):
    response = as_role("Auditor").get("/api/statements/?statement_date_after=yesterday")

    assert response.status_code == 400
    assert response.json() == {"statement_date": ["Enter a valid date."]}


def test_cursor_pagination_visits_every_row_once_newest_first(as_role, statements):
    uk, us = statements
    client = as_role("Auditor")
    seen: list[int] = []

    page = client.get("/api/statements/?page_size=5").json()
    pages = 1
    seen += [row["id"] for row in page["results"]]
    while page["next"]:
        assert "cursor=" in page["next"] and "page=" not in page["next"].replace("page_size", "")
        page = client.get(page["next"]).json()
        pages += 1
        seen += [row["id"] for row in page["results"]]

    everything = sorted([s.pk for s in uk + us], reverse=True)
    assert pages == 3 and seen == everything
    back = client.get(page["previous"]).json()
    assert [row["id"] for row in back["results"]] == everything[5:10]


def test_a_row_added_while_paging_does_not_shift_the_next_page(as_role, shop, statements):
    uk, _ = statements
    client = as_role("Auditor")
    first = client.get("/api/statements/?shop=tt-uk&page_size=4").json()

    statement_of(shop, "UK-late", date(2025, 11, 30), "1.00")  # newest: would shift an offset page
    second = client.get(first["next"]).json()

    assert [row["id"] for row in second["results"]] == [s.pk for s in reversed(uk)][4:8]


def test_postings_by_state_kind_date_and_statement(as_role, shop, statements):
    uk, _ = statements
    held = journal_of(shop, uk[0], "10.00", state=XeroPosting.State.HELD)
    posted = journal_of(shop, uk[1], "20.00", state=XeroPosting.State.POSTED)
    ready = journal_of(shop, uk[2], "30.00", state=XeroPosting.State.READY)
    client = as_role("Auditor")

    assert ids(client.get("/api/postings/?state=held")) == [held.pk]
    assert ids(client.get("/api/postings/?state=held&state=ready")) == [ready.pk, held.pk]
    assert ids(client.get("/api/postings/?kind=BankTransactions")) == []
    assert ids(client.get("/api/postings/?document_date_after=2025-11-02")) == [ready.pk, posted.pk]
    assert ids(client.get(f"/api/postings/?statement={uk[1].pk}")) == [posted.pk]
    assert ids(client.get("/api/postings/?shop=tt-us")) == []
    assert client.get("/api/postings/?state=nonsense").status_code == 400


def test_exceptions_by_status_reason_shop_and_proposed_date(as_role, shop, second_shop, statements):
    uk, us = statements
    lock = QuarantineItem.objects.create(
        reason=Reason.LOCK_DATE,
        shop=shop,
        posting=journal_of(shop, uk[0], "10.00", state="held"),
        source_ref="tt-uk statement UK1",
        message="locked",
        proposed_date=date(2025, 12, 1),
    )
    unmapped = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT, shop=second_shop, source=us[0], source_ref="US1", message="x"
    )
    dismissed = QuarantineItem.objects.create(
        reason=Reason.UNMAPPED_COMPONENT,
        shop=shop,
        source=uk[1],
        source_ref="UK2",
        message="x",
        status="dismissed",
    )
    client = as_role("Finance")

    assert ids(client.get("/api/exceptions/?status=open")) == [unmapped.pk, lock.pk]
    assert ids(client.get("/api/exceptions/?reason=UNMAPPED_COMPONENT")) == [dismissed.pk, unmapped.pk]
    assert ids(client.get("/api/exceptions/?shop=tt-us")) == [unmapped.pk]
    assert ids(client.get("/api/exceptions/?proposed_date_after=2025-11-15")) == [lock.pk]
    assert ids(client.get(f"/api/exceptions/?statement={uk[0].pk}")) == [lock.pk]  # through its journal
    assert ids(client.get(f"/api/exceptions/?statement={us[0].pk}")) == [unmapped.pk]


def test_payouts_by_amount_status_and_paid_date(as_role, shop):
    made = [
        Payout.objects.create(
            shop=shop,
            payment_id=f"P{n}",
            status=status,
            amount=Decimal(amount),
            currency="GBP",
            paid_date=date(2025, 11, 1) + timedelta(days=n),
            content_hash=f"h{n}",
        )
        for n, (status, amount) in enumerate(
            [("PAID", "100.00"), ("PAID", "250.50"), ("PROCESSING", "99.99")]
        )
    ]
    client = as_role("Auditor")

    assert ids(client.get("/api/payouts/?amount_min=100")) == [made[1].pk, made[0].pk]
    assert ids(client.get("/api/payouts/?amount_max=100.00&status=paid")) == [made[0].pk]
    assert ids(client.get("/api/payouts/?paid_date_before=2025-11-02")) == [made[1].pk, made[0].pk]
    assert client.get(f"/api/payouts/{made[1].pk}/").json()["deposit"] == {
        "amount": "250.50",
        "currency": "GBP",
    }


def test_attempts_by_posting_status_and_unanswered(as_role, world):
    client = as_role("Auditor")

    assert ids(client.get(f"/api/attempts/?posting={world['journal'].pk}")) == [world["attempt"].pk]
    assert ids(client.get("/api/attempts/?status_min=400")) == [world["attempt"].pk]
    assert ids(client.get("/api/attempts/?method=post")) == [world["token_call"].pk]
    assert ids(client.get("/api/attempts/?unanswered=true")) == [world["token_call"].pk, world["attempt"].pk]
    assert ids(client.get("/api/attempts/?shop=tt-uk")) == [world["attempt"].pk]
