"""One TikTok shop, one ledger (issue 5, item 5): a second shop for the same TikTok shop id is refused
at import and in the admin, and what is sent to Xero is named by TikTok's ids, never by our shop code
or name, so renaming a shop cannot post anything again."""

from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation import transports
from reconciliation.models import QuarantineItem, Shop, ShopConnection, XeroPosting
from reconciliation.tasks import send_due_postings
from tests.reconciliation.small_statement import PAYMENT_ID, STATEMENT_ID, serve
from tests.reconciliation.world import build_world

HEADER = "channel,code,name,region,currency,clearing_account,posting_mode,line_amount_types,tiktok_shop_id\n"
TIKTOK_ID = "7490000000000000009"  # the world's TikTok shop


@pytest.fixture(autouse=True)
def credentials_key(settings):
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]


def sheet(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "shops.csv"
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def import_failing(path: Path) -> str:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_mappings", "--kind", "shops", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue()


def us_row(code: str, tiktok_id: str = "7490001") -> str:
    return f"tiktok,{code},Demo US,US,USD,1210,statement_journal,NoTax,{tiktok_id}"


@pytest.mark.django_db
def test_import_keeps_the_tiktok_shop_id_on_the_shops_connection(tmp_path):
    call_command(
        "import_mappings", "--kind", "shops", str(sheet(tmp_path, us_row("tt-us"))), stdout=StringIO()
    )
    assert ShopConnection.objects.get(shop__code="tt-us").external_shop_id == "7490001"


@pytest.mark.django_db
def test_import_refuses_two_rows_for_one_tiktok_shop(tmp_path):
    err = import_failing(sheet(tmp_path, us_row("tt-us"), us_row("tt-us-2")))
    assert "row 3" in err and "tiktok_shop_id 7490001 is also on row 2" in err
    assert Shop.objects.count() == 0


@pytest.mark.django_db
def test_import_refuses_a_second_shop_for_a_tiktok_shop_already_set_up(tmp_path):
    call_command(
        "import_mappings", "--kind", "shops", str(sheet(tmp_path, us_row("tt-us"))), stdout=StringIO()
    )
    err = import_failing(sheet(tmp_path, us_row("tt-us-2")))
    assert "row 2: tiktok_shop_id: TikTok shop 7490001 is already set up as shop tt-us" in err
    assert "post every statement and payout twice" in err
    assert list(Shop.objects.values_list("code", flat=True)) == ["tt-us"]


@pytest.mark.django_db
def test_the_admin_refuses_a_second_shop_for_the_same_tiktok_shop(client):
    user = User.objects.create_user("otto", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)
    first, second = (
        Shop.objects.create(
            channel="tiktok", code=code, name=code, region="US", currency="USD", clearing_account="1210"
        )
        for code in ("tt-us", "tt-us-2")
    )
    ShopConnection.objects.create(shop=first, app_key="k1", app_secret="s1", external_shop_id="7490001")
    data = {"shop": second.pk, "app_key": "k2", "external_shop_id": "7490001", "shop_cipher": ""}
    data |= {"new_app_secret": "s2"}
    data |= {f"{f}_{i}": "" for f in ("access_token_expires_at", "refresh_token_expires_at") for i in (0, 1)}

    refused = client.post(reverse("admin:reconciliation_shopconnection_add"), data)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors["external_shop_id"]
    assert "TikTok shop 7490001 is already set up as shop tt-us" in errors[0]
    assert not ShopConnection.objects.filter(shop=second).exists()


@pytest.mark.django_db(transaction=True)
def test_what_is_sent_to_xero_is_named_by_tiktoks_ids_not_by_the_shop_code_or_name():
    world = build_world(days=0)
    serve(world)
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    (journal,) = world.xero.manual_journals
    (receive,) = world.xero.bank_transactions
    assert TIKTOK_ID in journal["Narration"] and STATEMENT_ID in journal["Narration"]
    assert TIKTOK_ID in receive["Reference"] and PAYMENT_ID in receive["Reference"]
    sent = [r.body.decode() for r in world.xero.requests if r.method == "PUT"]
    keys = [p.idempotency_key for p in XeroPosting.objects.all()]
    assert all(world.shop.code not in text and world.shop.name not in text for text in sent + keys)


@pytest.mark.django_db(transaction=True)
def test_renaming_a_shop_after_sending_posts_nothing_again_and_the_lookup_finds_the_document():
    world = build_world(days=0)
    serve(world)
    # Applied, answer lost, and the lookup fails too: Xero has the journal, we do not know it yet.
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")
    world.xero.faults.next("server_error", count=5, method="GET", path_prefix="/ManualJournals")
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    posting = XeroPosting.objects.get(kind="ManualJournals")
    assert posting.state == "unknown" and len(world.xero.manual_journals) == 1

    tiktok = transports.transport_for("tiktok", world.shop.code)
    Shop.objects.filter(pk=world.shop.pk).update(code="tt-renamed", name="Renamed US shop")
    transports.install("tiktok", "tt-renamed", tiktok)
    world.shop.refresh_from_db()
    world.shop.connection.last_synced_at = None
    world.shop.connection.save()
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    XeroPosting.objects.filter(state__in=["unknown", "retry"]).update(next_attempt_at=timezone.now())
    send_due_postings()

    posting.refresh_from_db()
    assert posting.state == "posted" and XeroPosting.objects.filter(kind="ManualJournals").count() == 1
    assert len(world.xero.manual_journals) == 1 and len(world.xero.bank_transactions) == 1
    assert not QuarantineItem.objects.filter(status="open").exists()
    puts = [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/ManualJournals")]
    assert len(puts) == 1  # found by its narration, never created again


@pytest.mark.django_db(transaction=True)
def test_a_second_shop_that_discovers_an_already_used_tiktok_shop_id_on_sync_posts_nothing():
    from reconciliation.demo.scenario import sandbox_shop_connection
    from reconciliation.models import SyncRun

    world = build_world(days=0)
    serve(world)
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    twin = Shop.objects.create(
        channel="tiktok",
        code="tt-twin",
        name="Same shop again",
        region="US",
        currency="USD",
        timezone="UTC",
        line_amount_types="NoTax",
        clearing_account="1210",
        bank_account="090",
        xero_connection=world.shop.xero_connection,
        sync_from=world.start,
    )
    sandbox_shop_connection(twin, world.tiktok)  # no id yet: the first sync asks TikTok for it

    async_task("reconciliation.tasks.sync_shop", twin.pk)

    run = SyncRun.objects.filter(shop=twin).get()
    assert run.status == "failed"
    assert "TikTok shop 7490000000000000009 is already set up as shop tt-test" in run.error
    assert len(world.xero.manual_journals) == 1 and len(world.xero.bank_transactions) == 1
