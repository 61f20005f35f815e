"""The client reports an attempt before the request leaves, then its outcome under the same ref."""

import httpx
import pytest

from tests.connectors.xero.test_client import KEY, TOKEN, Xero, envelope, journal, make_client, saved


def test_the_start_is_reported_before_the_request_leaves_and_the_outcome_after():
    element = journal()
    events = []
    xero = Xero(
        httpx.Response(429, headers={"Retry-After": "1"}), envelope("ManualJournals", [saved(element)])
    )
    original = xero.handle
    xero.transport = httpx.MockTransport(lambda r: (events.append(("sent", None)), original(r))[1])

    make_client(
        xero,
        on_attempt_start=lambda a: events.append(("start", a)),
        on_attempt=lambda a: events.append(("done", a)),
    ).create("ManualJournals", [element], idempotency_key=KEY)

    assert [e for e, _ in events] == ["start", "sent", "done", "start", "sent", "done"]
    starts = [a for e, a in events if e == "start"]
    dones = [a for e, a in events if e == "done"]
    assert [a.ref for a in starts] == [a.ref for a in dones] and len({a.ref for a in starts}) == 2
    assert [a.extra["attempt"] for a in starts] == [1, 2]
    assert starts[0].status is None and starts[0].idempotency_key == KEY
    assert all(TOKEN not in repr(a) for a in starts)


def test_nothing_is_sent_when_the_start_cannot_be_recorded():
    xero = Xero(envelope("ManualJournals", [saved(journal())]))

    def audit_down(attempt):
        raise RuntimeError("audit database down")

    with pytest.raises(RuntimeError):
        make_client(xero, on_attempt_start=audit_down).create(
            "ManualJournals", [journal()], idempotency_key=KEY
        )
    assert xero.requests == []
