"""One bad statement never stops the others (issue 5, case 7): it is held with a readable reason,
the rest of the run posts, and the preview prints an error instead of a traceback."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, Shop, SyncRun
from tests.reconciliation.planning_fixtures import FIXTURES
from tests.reconciliation.world import CIPHER, build_world

D = json.loads

FAULTS = {
    "a breakdown that is a list": (
        "transactions",
        lambda txns: txns[0].__setitem__("revenue_breakdown", [txns[0]["revenue_breakdown"]]),
        "revenue_breakdown is list, not an object",
    ),
    "an amount like 1E+400": (
        "transactions",
        lambda txns: txns[0].__setitem__("settlement_amount", "1E+400"),
        "'1E+400' is not a plain decimal amount",
    ),
    "a transaction that is not an object": (
        "transactions",
        lambda txns: txns.append(["not", "an", "object"]),
        "is list, not an object",
    ),
    "amounts near 1e21 that overflow the database column": (
        "statement",
        lambda statement: statement.__setitem__("settlement_amount", "999999999999999999999.99"),
        "out of range",
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_one_malformed_statement_is_held_and_the_others_post(fault):
    where, damage, reason = FAULTS[fault]
    world = build_world(days=3)
    world.tiktok.spec = None  # TikTok sending data that breaks its own description is the point here
    bad_id = world.statements[1][0]["id"]
    statement, transactions = world.tiktok._statements[CIPHER][bad_id]
    damage(transactions if where == "transactions" else statement)

    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    run = SyncRun.objects.get()
    assert run.status == "done", run.error
    assert len(world.xero.manual_journals) == 2
    (item,) = QuarantineItem.objects.filter(status="open")
    assert item.reason == "SOURCE_INCONSISTENT" and bad_id in item.source_ref
    assert reason in item.message, item.message
    assert "Traceback" not in item.message


@pytest.fixture
def us_shop(db):
    return Shop.objects.create(
        channel="tiktok", code="tt-us", name="US", region="US", currency="USD", clearing_account="1210"
    )


def preview(path, shop="tt-us"):
    out, err = StringIO(), StringIO()
    try:
        call_command("preview", "tiktok-statement", str(path), "--shop", shop, stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_preview_of_a_file_in_another_encoding_is_a_clear_error(us_shop, tmp_path):
    path = tmp_path / "statement.json"
    path.write_bytes('{"data": {"id": "1", "currency": "£"}}'.encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        preview(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"code": 0, "data": {"id": "7", "transactions": "none"}}, "transactions is not a list"),
        (
            {"code": 0, "data": {"id": "7", "create_time": 1, "total_settlement_amount": "1e21"}},
            "plain decimal",
        ),
        ({"code": 0, "data": {"transactions": []}}, "no id"),
        ({"code": 0, "data": []}, "no id"),
    ],
)
def test_preview_of_malformed_data_says_why_it_is_held(us_shop, tmp_path, content, reason):
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(content))
    code, out, err = preview(path)
    assert code == 2
    problems = D(out)["problems"]
    assert problems[0]["code"] == "SOURCE_INCONSISTENT" and reason in problems[0]["message"]
    assert "Traceback" not in out + err


def test_preview_of_a_list_of_non_objects_is_a_clear_error(us_shop, tmp_path):
    path = tmp_path / "statement.json"
    path.write_text("[1, 2]")
    with pytest.raises(CommandError, match="expected a statement_transactions response"):
        preview(path)


def test_the_worked_fixture_still_previews(us_shop):
    code, out, _ = preview(FIXTURES / "tiktok" / "us_worked_order_statement.json")
    assert code == 2  # no component map in this shop: held, and says which components
    assert all(p["code"] == "UNMAPPED_COMPONENT" for p in D(out)["problems"])
