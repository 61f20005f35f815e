"""A batch re-checks its payout's RECEIVE once, not once per member (services/payout_gate.py,
gates_deferred): the answer is the same for every payment of one statement, and each check is a
handful of queries. Counted, never timed."""

import pytest

from reconciliation import tasks
from reconciliation.models import XeroPosting
from reconciliation.services import payout_gate
from tests.reconciliation.test_order_end_to_end import open_items, order_world, sync_and_send

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_of_payments_of_one_statement_gates_its_payout_once(monkeypatch):
    shop, xero = order_world(3)
    gates: list[str] = []  # the kind of the batch being sent when the gate ran ("" outside one)
    sending = [""]
    batch_send, receive_gate = tasks.batch_send, payout_gate.receive_gate

    def counted_batch_send(*, connection_id, kind, posting_ids):
        sending[0] = kind
        try:
            return batch_send(connection_id=connection_id, kind=kind, posting_ids=posting_ids)
        finally:
            sending[0] = ""

    def counted_gate(*, payout):
        gates.append(sending[0])
        return receive_gate(payout=payout)

    monkeypatch.setattr(tasks, "batch_send", counted_batch_send)
    monkeypatch.setattr(payout_gate, "receive_gate", counted_gate)
    sync_and_send(shop)

    assert open_items() == [] and len(xero.payments) == 3 and len(xero.bank_transactions) == 1
    assert XeroPosting.objects.exclude(state=XeroPosting.State.POSTED).count() == 0
    assert gates.count("Payments") == 1  # one batch of three payments: one gate, not three
    assert gates.count("Invoices") == 0  # invoices are an order's, not a statement's
