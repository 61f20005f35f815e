"""A small world for the API tests: one shop with a statement, its payout, a held journal with a
lock-date item and two HTTP attempts, a posted RECEIVE, and one user per role."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from reconciliation.models import (
    Payout,
    QuarantineItem,
    Shop,
    Statement,
    XeroAttempt,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.quarantine import Reason
from reconciliation.services.outbox import idempotency_key

ORIGINAL_DATE = date(2025, 10, 20)
PROPOSED_DATE = date(2025, 11, 1)  # the day after the period lock date
ROLES = ("Auditor", "Operations", "Finance")


def member_of(group: str | None, name: str | None = None) -> User:
    user = User.objects.create_user(name or (group or "nobody").lower(), password="x")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def as_role():
    """`as_role("Finance")`: an API client logged in (session) as a member of that group;
    None: a user in no group; "anonymous": nobody."""

    def client_for(role: str | None) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.force_login(member_of(role))
        return client

    return client_for


@pytest.fixture
def shop(db):
    xero = XeroConnection.objects.create(
        name="Demo org", tenant_id="tenant-1", refresh_token="secret-refresh", client_secret="secret-client"
    )
    return Shop.objects.create(
        channel="tiktok",
        code="tt-uk",
        name="Demo UK",
        region="GB",
        currency="GBP",
        clearing_account="1210",
        bank_account="090",
        xero_connection=xero,
    )


def statement_of(shop: Shop, statement_id: str, day: date, amount: str, payment_id: str = "P1") -> Statement:
    return Statement.objects.create(
        shop=shop,
        statement_id=statement_id,
        statement_date=day,
        currency=shop.currency,
        settlement_amount=Decimal(amount),
        payment_id=payment_id,
        payment_status="PAID",
        content_hash=f"hash-{statement_id}",
        state=Statement.State.PLANNED,
    )


def journal_of(shop: Shop, statement: Statement, amount: str, **fields) -> XeroPosting:
    payload = {
        "Narration": f"TikTok {shop.code} statement {statement.statement_id}",
        "Date": statement.statement_date.isoformat(),
        "LineAmountTypes": "Inclusive",
        "JournalLines": [
            {"AccountCode": "4000", "LineAmount": f"-{amount}"},
            {"AccountCode": "1210", "LineAmount": amount},
        ],
    }
    return XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        source=statement,
        kind=XeroPosting.Kind.MANUAL_JOURNAL,
        source_ref=f"{shop.code} statement {statement.statement_id}",
        purpose="statement_journal",
        lookup_reference=f"Narration={payload['Narration']}",
        idempotency_key=idempotency_key("statement_journal", payload),
        payload=payload,
        document_date=statement.statement_date,
        **fields,
    )


def lock_date_item_of(posting: XeroPosting) -> QuarantineItem:
    return QuarantineItem.objects.create(
        reason=Reason.LOCK_DATE,
        shop=posting.shop,
        posting=posting,
        source_ref=posting.source_ref,
        message="The document date cannot be before the period lock date, currently set at 31-Oct-2025",
        details={"document": posting.payload},
        proposed_date=PROPOSED_DATE,
    )


@pytest.fixture
def world(shop):
    statement = statement_of(shop, "S1", ORIGINAL_DATE, "10.00")
    payout = Payout.objects.create(
        shop=shop,
        payment_id="P1",
        status="PAID",
        amount=Decimal("10.00"),
        currency="GBP",
        paid_date=date(2025, 10, 22),
        content_hash="hash-P1",
    )
    journal = journal_of(shop, statement, "10.00", state=XeroPosting.State.HELD)
    item = lock_date_item_of(journal)
    attempts = [
        XeroAttempt.objects.create(
            connection=shop.xero_connection,
            posting=journal,
            method="PUT",
            url="https://api.xero.com/api.xro/2.0/ManualJournals",
            status=400,
            request_headers={"Authorization": "Bearer leaked-token", "Xero-Tenant-Id": "tenant-1"},
            response_body='{"Elements": []}',
            error_kind="lock_date",
        ),
        XeroAttempt.objects.create(
            connection=shop.xero_connection,
            posting=None,
            method="POST",
            url="https://identity.xero.com/connect/token",
            status=200,
        ),
    ]
    receive = XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        source=payout,
        kind=XeroPosting.Kind.BANK_TRANSACTION,
        source_ref="tt-uk payout P1",
        purpose="payout_receive",
        lookup_reference="Reference=TikTok payout P1",
        idempotency_key="ls:receive:P1",
        payload={"Type": "RECEIVE", "LineItems": [{"Quantity": "1", "UnitAmount": "10.00"}]},
        document_date=date(2025, 10, 22),
        state=XeroPosting.State.POSTED,
        xero_id="bt-1",
    )
    return {
        "statement": statement,
        "payout": payout,
        "journal": journal,
        "item": item,
        "attempt": attempts[0],
        "token_call": attempts[1],
        "receive": receive,
    }
