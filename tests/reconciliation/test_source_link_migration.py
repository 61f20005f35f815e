"""Migration 0009 moves every posting and quarantine item from its statement / payout key to the
one source link, so nothing already planned loses what it posts."""

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("reconciliation", "0008_outbox_attempts_shop_identity")]
AFTER = [("reconciliation", "0009_one_source_link")]


@pytest.mark.django_db(transaction=True)
def test_statement_and_payout_keys_become_the_source_link():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    shop = old.get_model("reconciliation", "Shop").objects.create(
        channel="tiktok", code="tt", name="TT", region="US", currency="USD", clearing_account="1210"
    )
    xero = old.get_model("reconciliation", "XeroConnection").objects.create(name="org", tenant_id="t")
    statement = old.get_model("reconciliation", "Statement").objects.create(
        shop=shop,
        statement_id="S1",
        statement_date=date(2025, 1, 1),
        currency="USD",
        settlement_amount=1,
        content_hash="h",
    )
    payout = old.get_model("reconciliation", "Payout").objects.create(
        shop=shop, payment_id="P1", status="PAID", amount=1, currency="USD", content_hash="h"
    )
    Posting = old.get_model("reconciliation", "XeroPosting")
    common = {"connection": xero, "shop": shop, "payload": {}, "document_date": date(2025, 1, 1)}
    Posting.objects.create(statement=statement, idempotency_key="k1", kind="ManualJournals", **common)
    Posting.objects.create(payout=payout, idempotency_key="k2", kind="BankTransactions", **common)
    old.get_model("reconciliation", "QuarantineItem").objects.create(
        reason="LOCK_DATE", shop=shop, statement=statement, source_ref="S1", message="m"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    ContentType = new.get_model("contenttypes", "ContentType")
    links = sorted(
        (ContentType.objects.get(pk=p.source_type_id).model, p.source_id)
        for p in new.get_model("reconciliation", "XeroPosting").objects.all()
    )
    assert links == sorted([("statement", statement.pk), ("payout", payout.pk)])
    item = new.get_model("reconciliation", "QuarantineItem").objects.get()
    assert (ContentType.objects.get(pk=item.source_type_id).model, item.source_id) == (
        "statement",
        statement.pk,
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
