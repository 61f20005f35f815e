"""POST /api/statements/upload/: a Seller Center file, through the service `import_statement` calls."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reconciliation.models import (
    ComponentMapping,
    QuarantineItem,
    Shop,
    SourceRecord,
    Statement,
    XeroConnection,
    XeroPosting,
)
from reconciliation.models.quarantine import Reason
from tests.reconciliation.planning_fixtures import FIXTURES, US_RULES

pytestmark = pytest.mark.django_db
SELLER_CENTER = FIXTURES / "tiktok" / "seller_center"
UPLOAD = "/api/statements/upload/"


@pytest.fixture
def us_shop():
    shop = Shop.objects.create(
        channel="tiktok",
        code="tt-us",
        name="Demo US",
        region="US",
        currency="USD",
        line_amount_types="NoTax",
        clearing_account="1210",
        xero_connection=XeroConnection.objects.create(name="Demo org", tenant_id="tenant-us"),
    )
    for component, rule in US_RULES.items():
        ComponentMapping.objects.create(
            channel="tiktok",
            component=component,
            account_code=rule.account_code,
            description=rule.description,
        )
    return shop


def upload(client, name: str = "us_worked_order.csv", **fields):
    content = (SELLER_CENTER / name).read_bytes()
    data = {"shop": "tt-us", "file": SimpleUploadedFile(name, content), **fields}
    return client.post(UPLOAD, data, format="multipart")


@pytest.mark.parametrize("role", ["Operations", "Finance"])
def test_operations_and_finance_import_a_file_and_it_is_planned_like_the_command(as_role, us_shop, role):
    response = upload(as_role(role))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "1 statement(s): 1 planned, 0 held" and body["dry_run"] is False
    (entry,) = body["statements"]
    statement = Statement.objects.get(shop=us_shop, statement_id="SC-2025-11-14")
    assert entry["url"] == f"http://testserver/api/statements/{statement.pk}/"
    assert entry["settlement"] == {"amount": "167.04", "currency": "USD"} and entry["held"] is False
    assert statement.state == Statement.State.PLANNED
    (record,) = SourceRecord.objects.filter(kind="tiktok.seller_center")
    assert record.payload["rows"][0]["cells"]["Total settlement amount"] == "$167.04"
    (posting,) = XeroPosting.objects.filter(statement=statement)
    assert posting.state == "ready"


@pytest.mark.parametrize("role", ["Auditor", None, "anonymous"])
def test_auditors_and_others_cannot_upload(as_role, us_shop, role):
    response = upload(as_role(role))

    assert response.status_code == (401 if role == "anonymous" else 403)
    assert not Statement.objects.exists() and not SourceRecord.objects.exists()


def test_a_dry_run_writes_nothing_and_returns_the_journal_with_amounts_as_text(as_role, us_shop):
    response = upload(as_role("Operations"), dry_run="true")

    assert response.status_code == 200
    (entry,) = response.json()["statements"]
    assert entry["url"] is None and entry["problems"] == []
    (document,) = entry["documents"]
    assert document["type"] == "ManualJournals"
    assert [(line["AccountCode"], line["LineAmount"]) for line in document["payload"]["JournalLines"]] == [
        ("4000", "-235.95"),
        ("4010", "35.39"),
        ("5100", "7.93"),
        ("4020", "-6.50"),
        ("6100", "32.09"),
        ("1210", "167.04"),
    ]
    assert not SourceRecord.objects.exists() and not Statement.objects.exists()


def test_a_held_statement_is_reported_with_its_reasons(as_role, us_shop):
    response = upload(as_role("Finance"), "unknown_column.csv")

    assert response.status_code == 200
    body = response.json()
    (entry,) = body["statements"]
    assert entry["held"] is True and body["message"] == "1 statement(s): 0 planned, 1 held"
    assert [p["code"] for p in entry["problems"]] == ["UNMAPPED_COMPONENT"]
    assert "Sales tax on referral fees" in entry["problems"][0]["message"]
    assert QuarantineItem.objects.get().reason == "UNMAPPED_COMPONENT"


def test_an_unreadable_file_is_a_400_and_keeps_nothing(as_role, us_shop):
    bad = SimpleUploadedFile("bad.txt", b"not a statement")

    response = as_role("Finance").post(UPLOAD, {"shop": "tt-us", "file": bad}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "nothing imported: bad.txt: use the .csv or .xlsx file Seller Center exports"
    }
    assert not SourceRecord.objects.exists()


def test_a_shop_without_xero_can_only_dry_run_and_an_unknown_shop_is_refused(as_role, us_shop):
    Shop.objects.filter(pk=us_shop.pk).update(xero_connection=None)
    client = as_role("Finance")

    refused = upload(client)
    assert refused.status_code == 400
    assert refused.json() == {
        "shop": ["this shop has no Xero connection to plan for; connect it first (or use dry_run)"]
    }
    assert upload(client, dry_run="true").status_code == 200
    unknown = client.post(
        UPLOAD, {"shop": "nope", "file": SimpleUploadedFile("a.csv", b"x")}, format="multipart"
    )
    assert unknown.status_code == 400 and "shop" in unknown.json()


def test_retry_of_a_held_upload_says_the_problem_is_still_there_then_posts_once_fixed(as_role, us_shop):
    client = as_role("Finance")
    ComponentMapping.objects.filter(component="fee.transaction_fee_amount").delete()
    upload(client)
    first = QuarantineItem.objects.get(status="open")
    assert first.reason == "UNMAPPED_COMPONENT"

    again = client.post(f"/api/exceptions/{first.pk}/retry/", {}, format="json").json()

    second = QuarantineItem.objects.get(status="open")
    assert second.pk == first.pk  # the same item stays open: the retry fixed nothing (issue 7, item 4)
    assert again["item"]["status"] == "open" and again["still_open"] == []
    assert again["message"].startswith(f"item open; still held: {Reason.UNMAPPED_COMPONENT.label}: ")
    assert second.details["retries"][0]["by"] == "finance" and "retry by finance" in second.decision_note

    ComponentMapping.objects.create(
        channel="tiktok", component="fee.transaction_fee_amount", account_code="6100"
    )
    fixed = client.post(f"/api/exceptions/{second.pk}/retry/", {}, format="json").json()

    assert fixed["still_open"] == [] and fixed["message"] == "item resolved"
    statement = Statement.objects.get(statement_id="SC-2025-11-14")
    assert statement.state == "planned"
    assert [p["state"] for p in client.get(f"/api/postings/?statement={statement.pk}").json()["results"]] == [
        "ready"
    ]
