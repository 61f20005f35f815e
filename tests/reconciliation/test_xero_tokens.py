"""Xero tokens across a run: rotated refresh tokens are never lost (DESIGN.md 6)."""

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from reconciliation.models import XeroConnection
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_that_starts_with_an_expired_access_token_keeps_the_rotated_refresh_token():
    world = build_world(days=1)
    XeroConnection.objects.update(access_token_expires_at=timezone.now())
    async_task("reconciliation.tasks.sync_shop", world.shop.pk)

    connection = XeroConnection.objects.get()
    assert connection.status == "active", connection.status_reason
    assert len(world.xero.manual_journals) == 1
