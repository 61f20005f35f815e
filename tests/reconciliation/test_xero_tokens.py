"""Xero tokens across a run: rotated refresh tokens are never lost (DESIGN.md 6)."""

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from connectors.xero import auth
from reconciliation import transports
from reconciliation.models import XeroAttempt, XeroConnection
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_that_starts_with_an_expired_access_token_keeps_the_rotated_refresh_token():
    world = build_world(days=1)
    XeroConnection.objects.update(access_token_expires_at=timezone.now())
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    connection = XeroConnection.objects.get()
    assert connection.status == "active", connection.status_reason
    assert len(world.xero.manual_journals) == 1


def expire_access_token():
    XeroConnection.objects.update(access_token_expires_at=timezone.now())


def token_rows():
    return list(XeroAttempt.objects.filter(url=auth.TOKEN_URL).order_by("id"))


def test_a_lost_answer_from_the_token_endpoint_is_recovered_with_the_previous_refresh_token():
    world = build_world(days=1)
    old = XeroConnection.objects.get().refresh_token
    expire_access_token()
    world.xero.faults.next("drop_response", method="POST", path_prefix="/connect/token")

    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    connection = XeroConnection.objects.get()
    assert connection.status == "active", connection.status_reason
    assert connection.refresh_token != old and len(world.xero.manual_journals) == 1
    lost, answered = token_rows()
    assert (lost.posting_id, lost.status, lost.error_kind, lost.number) == (None, None, "transient", 1)
    assert "RemoteProtocolError" in lost.error and lost.completed_at is not None
    assert (answered.status, answered.number) == (200, 2)
    stored = " ".join(
        str(v) for row in token_rows() for v in (row.request_headers, row.request_body, row.response_body)
    )
    for secret in (old, connection.refresh_token, connection.access_token, connection.client_secret):
        assert secret not in stored


def test_a_token_endpoint_down_for_a_while_does_not_pause_the_connection():
    world = build_world(days=1)
    expire_access_token()
    world.xero.faults.next("drop_response", count=4, method="POST", path_prefix="/connect/token")
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)
    assert XeroConnection.objects.get().status == "active"
    assert world.xero.manual_journals == []

    transports.sleep(10 * 60)  # the next run, well inside Xero's 30-minute grace period
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert XeroConnection.objects.get().status == "active"
    assert len(world.xero.manual_journals) == 1


def test_a_refused_refresh_is_audited_although_its_transaction_is_rolled_back():
    world = build_world(days=1)
    XeroConnection.objects.update(refresh_token="revoked", access_token_expires_at=timezone.now())
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    assert XeroConnection.objects.get().status == "paused"
    (refused,) = token_rows()
    assert refused.status == 400 and refused.error_kind == "auth" and "revoked" not in refused.request_body
