"""The sandboxes served over HTTP: the ordinary clients reach them through the URL settings, as they
reach Xero and TikTok, and what they post is in the sandbox's state file (DESIGN.md 7)."""

import os
import socket
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from connectors.sandbox_server import SandboxServer, state_load, state_save
from connectors.tiktok.client import TikTokClient
from reconciliation import transports
from reconciliation.demo import live
from reconciliation.demo.scenario import demo_build, demo_users
from reconciliation.models import QuarantineItem, XeroAttempt, XeroConnection, XeroPosting
from reconciliation.services.organisation import xero_date
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def served(settings, tmp_path, xero, tiktok):
    """Both sandboxes on free ports, state under tmp_path, the in-process transports removed."""
    transports.uninstall_all()
    servers = {
        "xero": SandboxServer("xero", xero, state_file=tmp_path / "xero.pickle").start(),
        "tiktok": SandboxServer("tiktok", tiktok, state_file=tmp_path / "tiktok.pickle").start(),
    }
    settings.XERO_API_URL = settings.XERO_IDENTITY_URL = servers["xero"].url
    settings.TIKTOK_API_URL = settings.TIKTOK_AUTH_URL = servers["tiktok"].url
    try:
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def test_a_sync_posts_through_the_http_sandboxes_into_their_persisted_state(settings, tmp_path):
    world = build_world(days=2)
    # Our token is due for refresh, so the first call goes to the identity URL too.
    XeroConnection.objects.update(access_token_expires_at=timezone.now())

    # Over HTTP a write whose answer is lost is a dropped connection: looked up, never posted twice.
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/ManualJournals")

    with served(settings, tmp_path, world.xero, world.tiktok) as servers:
        async_task("reconciliation.tasks.sync_shop", world.shop.pk)
        async_task("reconciliation.tasks.send_due_postings")  # the lookup of the unknown outcome
        requests = len(world.xero.requests)

    assert XeroPosting.objects.filter(state="posted").count() == 4  # 2 journals, 2 receipts
    assert requests > 0 and world.xero.requests[0].path == "/connect/token"
    saved = state_load("xero", tmp_path / "xero.pickle")
    narrations = sorted(j["Narration"] for j in saved.manual_journals)
    assert narrations == sorted(
        p.payload["Narration"] for p in XeroPosting.objects.filter(kind="ManualJournals")
    )
    assert len(saved.bank_transactions) == 2
    assert XeroAttempt.objects.filter(status=None).count() == 1  # the dropped connection, audited
    assert saved.faults.injected == {"timeout_after_write": 1}
    # A restarted server serves what the first one stored, and the rotated tokens still work.
    restarted = SandboxServer("xero", saved, state_file=tmp_path / "xero.pickle").start()
    try:
        settings.XERO_API_URL = settings.XERO_IDENTITY_URL = restarted.url
        async_task("reconciliation.tasks.sync_shop", world.shop.pk)  # nothing new: nothing sent
    finally:
        restarted.stop()
    assert len(state_load("xero", tmp_path / "xero.pickle").manual_journals) == 2
    assert servers["tiktok"].sandbox.requests  # TikTok was read over HTTP as well


def test_finance_approves_the_lock_date_item_in_the_admin_and_it_posts_through_http(
    client, settings, tmp_path
):
    demo = demo_build(days=3)
    demo_users()
    with served(settings, tmp_path, demo.xero, demo.tiktok):
        async_task("reconciliation.tasks.sync_shop", demo.shop.pk)
        item = QuarantineItem.objects.get(reason="LOCK_DATE", status="open")
        client.force_login(User.objects.get(username="finance"))
        decide = reverse("admin:reconciliation_quarantineitem_decide", args=[item.pk, "approve"])

        response = client.post(decide, {"document_date": "", "apply": "yes"})

    assert response.status_code == 302
    posting = XeroPosting.objects.get(pk=item.posting_id)
    assert posting.state == XeroPosting.State.POSTED
    saved = state_load("xero", tmp_path / "xero.pickle")
    (journal,) = [j for j in saved.manual_journals if j["ManualJournalID"] == posting.xero_id]
    assert xero_date(journal["Date"]) == item.proposed_date
    assert "(original date" in journal["Narration"]


def test_sandbox_serve_runs_in_its_own_process_keeps_state_and_stops_with_its_group(tmp_path):
    tiktok = build_world(days=1).tiktok
    state_save("tiktok", tiktok, tmp_path / "tiktok.pickle")
    port = free_port()
    processes = live.Processes(env=dict(os.environ), log_dir=tmp_path / "logs")
    try:
        processes.start(
            "tiktok-sandbox",
            "sandbox_serve",
            "tiktok",
            "--port",
            str(port),
            "--state",
            str(tmp_path / "tiktok.pickle"),
        )
        live.wait_for_ports(processes, {"tiktok-sandbox": port}, timeout=20)
        client = TikTokClient(
            app_key=tiktok.app_key,
            app_secret=tiktok.app_secret,
            access_token=tiktok.access_token,
            base_url=f"http://127.0.0.1:{port}",
        )
        shops = client.authorized_shops()
    finally:
        processes.stop()

    assert [shop["cipher"] for shop in shops] == ["test-cipher"]
    assert processes.dead() == ["tiktok-sandbox"] and live.port_free(port)
    # What that process served was saved: its request counter moved on in the file.
    assert state_load("tiktok", tmp_path / "tiktok.pickle")._served == tiktok._served + 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
