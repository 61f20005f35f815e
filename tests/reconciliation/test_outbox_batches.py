"""Batches (services/batch_send.py): up to 50 documents of one kind per PUT, one outcome per element,
every promise of the outbox kept per element; dependencies wait for their document's Xero id."""

import json
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection as db_connection
from django_q.tasks import async_task

from reconciliation.models import QuarantineItem, Statement, XeroAttempt, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.planning.types import Plan, PlannedDocument
from reconciliation.services import batch_send as batch_service
from reconciliation.services import xero_access
from reconciliation.services.batch_send import batch_key, batch_send
from reconciliation.services.dependencies import PLACEHOLDER
from reconciliation.services.outbox import plan_apply
from reconciliation.services.posting import postings_send_due
from tests.reconciliation.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
DAY = date(2026, 11, 2)


def invoice(number: int, *, account: str = "4000", amount: str = "10.00") -> PlannedDocument:
    payload = {
        "Type": "ACCREC",
        "Contact": {"Name": "TikTok Shop customers"},
        "Date": DAY.isoformat(),
        "DueDate": DAY.isoformat(),
        "InvoiceNumber": f"TT-{number:04d}",
        "Reference": f"TikTok order {number}",
        "CurrencyCode": "USD",
        "LineAmountTypes": "NoTax",
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Order",
                "Quantity": Decimal("1"),
                "UnitAmount": Decimal(amount),
                "AccountCode": account,
            }
        ],
    }
    return PlannedDocument(
        kind="Invoices",
        purpose="order_invoice",
        payload=payload,
        document_date=DAY,
        lookup=("InvoiceNumber", payload["InvoiceNumber"]),
        key=f"order {number}:invoice",
    )


def payment(number: int, amount: str = "10.00") -> PlannedDocument:
    reference = f"TikTok statement S-1: TT-{number:04d}"
    return PlannedDocument(
        kind="Payments",
        purpose="order_payment",
        payload={
            "Invoice": {"InvoiceNumber": f"TT-{number:04d}"},
            "Account": {"Code": "1210"},
            "Date": DAY.isoformat(),
            "Amount": Decimal(amount),
            "Reference": reference,
        },
        document_date=DAY,
        lookup=("Reference", reference),
        key=f"order {number}:invoice:payment S-1",
        depends_on=(f"order {number}:invoice",),
    )


def outbox(world, documents, statement_id: str = "S-1") -> list[XeroPosting]:
    statement = Statement.objects.create(
        shop=world.shop,
        statement_id=statement_id,
        statement_date=DAY,
        currency="USD",
        settlement_amount=Decimal("0"),
        content_hash=f"hash-{statement_id}",
    )
    plan = Plan(documents=tuple(documents), problems=())
    return plan_apply(shop=world.shop, plan=plan, source_ref=f"statement {statement_id}", source=statement)


def body(request) -> dict:
    return json.loads(request.body)


def invoice_puts(world) -> list:
    return [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/Invoices")]


def states(postings) -> dict:
    counts: dict[str, int] = {}
    for posting in XeroPosting.objects.filter(pk__in=[p.pk for p in postings]):
        counts[posting.state] = counts.get(posting.state, 0) + 1
    return counts


def test_120_invoices_go_out_in_three_puts_of_at_most_50():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(120)])

    postings_send_due()

    puts = invoice_puts(world)
    assert len(puts) == 3
    assert sorted(len(body(r)["Invoices"]) for r in puts) == [20, 50, 50]
    assert all(r.query.get("summarizeErrors") == "false" for r in puts)
    assert len({r.headers["idempotency-key"] for r in puts}) == 3
    assert states(postings) == {"posted": 120}
    assert len(world.xero.invoices) == 120
    # One audit row per member per request, the rows of one request sharing its batch_ref.
    rows = XeroAttempt.objects.filter(method="PUT", url__contains="/Invoices")
    assert rows.count() == 120 and rows.values("batch_ref").distinct().count() == 3
    assert all(row.completed_at and row.status == 200 for row in rows)
    assert not any(r.method == "GET" and r.path.endswith("/Invoices") for r in world.xero.requests)


def test_one_invalid_element_is_held_with_xeros_message_while_the_other_49_post():
    world = build_world(days=1)
    documents = [invoice(n) for n in range(50)]
    documents[17] = invoice(17, account="9999")
    postings = outbox(world, documents)

    postings_send_due()

    assert len(invoice_puts(world)) == 1
    assert states(postings) == {"posted": 49, "held": 1}
    bad = XeroPosting.objects.get(lookup_reference="InvoiceNumber=TT-0017")
    assert bad.state == "held" and bad.last_error_kind == Reason.XERO_VALIDATION
    item = QuarantineItem.objects.get(posting=bad)
    assert item.reason == Reason.XERO_VALIDATION and "9999" in item.message
    assert len(world.xero.invoices) == 49


def test_a_timeout_after_the_write_of_a_whole_batch_leads_to_lookups_never_a_second_create():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(50)])
    world.xero.faults.next("timeout_after_write", method="PUT", path_prefix="/Invoices")

    postings_send_due()
    assert states(postings) == {"unknown": 50}
    rows = XeroAttempt.objects.filter(method="PUT", url__contains="/Invoices")
    assert rows.count() == 50 and all(row.may_have_written() for row in rows)

    postings_send_due()

    assert len(invoice_puts(world)) == 1  # never created again
    lookups = [r for r in world.xero.requests if r.method == "GET" and r.path.endswith("/Invoices")]
    assert len(lookups) == 50  # each member looked up on its own
    assert states(postings) == {"posted": 50}
    numbers = [i["InvoiceNumber"] for i in world.xero.invoices]
    assert sorted(numbers) == sorted(p.payload["InvoiceNumber"] for p in postings)  # one each


def test_a_payment_waits_for_its_invoice_and_posts_with_the_invoices_xero_id():
    world = build_world(days=1)
    invoice_posting, payment_posting = outbox(world, [payment(1), invoice(1)])
    assert payment_posting.kind == "Payments" and payment_posting.state == "waiting"
    assert payment_posting.depends_on == invoice_posting
    assert payment_posting.payload["Invoice"] == {"InvoiceID": PLACEHOLDER}

    world.xero.faults.next("server_error", count=5, method="PUT", path_prefix="/Invoices")
    postings_send_due()  # the invoice fails for now: the payment is not sent
    payment_posting.refresh_from_db()
    assert payment_posting.state == "waiting"
    assert not any(r.path.endswith("/Payments") for r in world.xero.requests)

    XeroPosting.objects.filter(pk=invoice_posting.pk).update(next_attempt_at=None, state="ready")
    postings_send_due()

    invoice_posting.refresh_from_db()
    payment_posting.refresh_from_db()
    assert invoice_posting.state == "posted" and payment_posting.state == "posted"
    (put,) = [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/Payments")]
    assert body(put)["Payments"][0]["Invoice"] == {"InvoiceID": invoice_posting.xero_id}
    assert world.xero.invoices[0]["Status"] == "PAID"


def test_the_batch_key_is_stable_for_the_same_members_and_changes_for_another_set():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(4)])
    first = batch_key("Invoices", postings[:3])
    assert batch_key("Invoices", list(reversed(postings[:3]))) == first
    assert batch_key("Invoices", postings[:3]) == first
    assert batch_key("Invoices", postings[1:]) != first
    assert batch_key("Invoices", postings[:2]) != first
    assert first.startswith("ls:batch:Invoices:") and len(first) <= 128


def test_a_batch_refused_by_the_rate_limit_is_sent_again_under_the_same_key():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(3)])
    world.xero.faults.next("rate_limit", count=5, method="PUT", path_prefix="/Invoices")
    postings_send_due()
    assert states(postings) == {"retry": 3}
    XeroPosting.objects.filter(pk__in=[p.pk for p in postings]).update(next_attempt_at=None)
    postings_send_due()

    assert states(postings) == {"posted": 3}
    assert len({r.headers["idempotency-key"] for r in invoice_puts(world)}) == 1


def test_a_member_refused_in_one_batch_goes_again_in_a_new_batch_under_a_new_key():
    world = build_world(days=1)
    (posting,) = outbox(world, [invoice(1)])
    world.xero.set_lock_dates(period=DAY)
    postings_send_due()
    posting.refresh_from_db()
    assert posting.state == "held" and posting.last_error_kind == Reason.LOCK_DATE
    world.xero.set_lock_dates(period=None)
    XeroPosting.objects.filter(pk=posting.pk).update(state="ready")
    postings_send_due()

    posting.refresh_from_db()
    assert posting.state == "posted"
    first, second = invoice_puts(world)
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]


def test_a_row_another_worker_claimed_is_left_out_of_the_batch(monkeypatch):
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(5)])
    taken = postings[2]
    real_claim = batch_service._claim

    def claim_after_another_worker(candidates):
        # Another worker claims one row between our read and our compare-and-swap.
        XeroPosting.objects.filter(pk=taken.pk).update(state="sending", attempts=1)
        return real_claim(candidates)

    monkeypatch.setattr(batch_service, "_claim", claim_after_another_worker)
    members = batch_send(
        connection_id=world.shop.xero_connection_id, kind="Invoices", posting_ids=[p.pk for p in postings]
    )

    assert taken.pk not in {m.pk for m in members} and len(members) == 4
    (put,) = invoice_puts(world)
    assert taken.payload["InvoiceNumber"] not in {i["InvoiceNumber"] for i in body(put)["Invoices"]}
    assert XeroPosting.objects.get(pk=taken.pk).state == "sending"  # still the other worker's
    assert not XeroAttempt.objects.filter(posting=taken).exists()


def test_the_send_batch_task_runs_the_same_service():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(3)])
    async_task(
        "reconciliation.tasks.send_batch", world.shop.xero_connection_id, "Invoices", [p.pk for p in postings]
    )
    assert states(postings) == {"posted": 3}
    assert len(invoice_puts(world)) == 1


@pytest.mark.skipif(
    ON_SQLITE,
    reason="needs a server database: SQLite serialises writers, so two workers never race on a claim "
    "(CI runs this on PostgreSQL)",
)
def test_two_workers_claiming_overlapping_batches_never_send_a_posting_twice(monkeypatch):
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(60)])
    ids = [p.pk for p in postings]
    barrier = threading.Barrier(2, timeout=30)
    real_candidates = batch_service._candidates

    def read_then_wait(connection, kind, posting_ids):
        rows = real_candidates(connection, kind, posting_ids)
        barrier.wait()  # both workers have read the rows as READY: now both claim at once
        return rows

    monkeypatch.setattr(batch_service, "_candidates", read_then_wait)
    errors: list[BaseException] = []

    def worker(posting_ids) -> None:
        try:
            batch_send(connection_id=world.shop.xero_connection_id, kind="Invoices", posting_ids=posting_ids)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in (ids[:45], ids[15:])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    sent = [i["InvoiceNumber"] for r in invoice_puts(world) for i in body(r)["Invoices"]]
    assert len(sent) == len(set(sent)) == 60
    assert len(world.xero.invoices) == 60
    assert all(p.attempts == 1 for p in XeroPosting.objects.filter(pk__in=ids))


def credit_note_and_allocation(number: int, amount: str) -> tuple[PlannedDocument, PlannedDocument]:
    credit_number = f"TT-{number:04d}-R1"
    credit_key = f"order {number}:refund 1"
    credit_note = PlannedDocument(
        kind="CreditNotes",
        purpose="order_credit_note",
        payload={
            "Type": "ACCRECCREDIT",
            "Contact": {"Name": "TikTok Shop customers"},
            "Date": DAY.isoformat(),
            "CreditNoteNumber": credit_number,
            "Reference": f"TikTok order {number} refund 1",
            "CurrencyCode": "USD",
            "LineAmountTypes": "NoTax",
            "Status": "AUTHORISED",
            "LineItems": [
                {
                    "Description": "Refund",
                    "Quantity": Decimal("1"),
                    "UnitAmount": Decimal(amount),
                    "AccountCode": "4030",
                }
            ],
        },
        document_date=DAY,
        lookup=("CreditNoteNumber", credit_number),
        key=credit_key,
    )
    allocation = PlannedDocument(
        kind="Allocations",
        purpose="order_credit_allocation",
        payload={
            "Invoice": {"InvoiceNumber": f"TT-{number:04d}"},
            "Amount": Decimal(amount),
            "Date": DAY.isoformat(),
        },
        document_date=DAY,
        lookup=("CreditNoteNumber", credit_number),
        key=f"{credit_key}:allocation",
        depends_on=(credit_key, f"order {number}:invoice"),
    )
    return credit_note, allocation


@pytest.mark.parametrize("fault", [None, "timeout_after_write"])
def test_an_allocation_waits_for_its_credit_note_and_goes_to_its_path(fault):
    world = build_world(days=1)
    credit_note, allocation = credit_note_and_allocation(1, "4.00")
    postings = outbox(world, [allocation, invoice(1), credit_note])
    waiting = XeroPosting.objects.get(kind="Allocations")
    assert waiting.state == "waiting" and waiting.depends_on.kind == "CreditNotes"
    if fault:
        world.xero.faults.next(fault, method="PUT", path_prefix="/CreditNotes/")

    postings_send_due()
    if fault:
        assert XeroPosting.objects.get(kind="Allocations").state == "unknown"
        postings_send_due()  # looked up on its credit note, found, never allocated twice

    assert states(postings) == {"posted": 3}
    credit = XeroPosting.objects.get(kind="CreditNotes")
    puts = [r for r in world.xero.requests if r.method == "PUT" and r.path.endswith("/Allocations")]
    assert len(puts) == 1 and credit.xero_id in puts[0].path
    (posted,) = world.xero.invoices
    assert Decimal(str(posted["AmountDue"])) == Decimal("6.00")


def test_planning_the_same_documents_again_keeps_a_filled_in_payment():
    world = build_world(days=1)
    outbox(world, [invoice(1), payment(1)])
    postings_send_due()
    statement = Statement.objects.get(statement_id="S-1")
    again = plan_apply(
        shop=world.shop,
        plan=Plan(documents=(invoice(1), payment(1)), problems=()),
        source_ref="statement S-1",
        source=statement,
    )

    assert [p.state for p in again] == ["posted", "posted"]
    assert XeroPosting.objects.count() == 2
    assert not QuarantineItem.objects.filter(reason=Reason.SOURCE_CHANGED).exists()


def test_a_retried_invoice_goes_by_the_batch_path_as_a_batch_of_one():
    world = build_world(days=1)
    (posting,) = outbox(world, [invoice(1)])
    async_task("reconciliation.tasks.send_posting", posting.pk)

    posting.refresh_from_db()
    assert posting.state == "posted"
    (row,) = XeroAttempt.objects.filter(posting=posting, method="PUT")
    assert row.batch_ref and row.completed_at


def test_the_scheduled_sweep_enqueues_batches():
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(60)])
    async_task("reconciliation.tasks.send_due_postings")

    assert states(postings) == {"posted": 60}
    assert sorted(len(body(r)["Invoices"]) for r in invoice_puts(world)) == [10, 50]


def test_a_waiting_payment_follows_its_invoice_planned_again():
    world = build_world(days=1)
    first_invoice, waiting = outbox(world, [invoice(1), payment(1)])
    statement = Statement.objects.get(statement_id="S-1")
    changed = invoice(1, account="4010")  # the order's invoice changes before anything was sent
    plan_apply(
        shop=world.shop,
        plan=Plan(documents=(changed, payment(1)), problems=()),
        source_ref="statement S-1",
        source=statement,
    )
    first_invoice.refresh_from_db()
    waiting.refresh_from_db()
    assert first_invoice.state == "superseded"
    assert waiting.depends_on.state == "ready" and waiting.depends_on_id != first_invoice.pk

    postings_send_due()

    waiting.refresh_from_db()
    assert waiting.state == "posted"
    (posted,) = world.xero.invoices
    assert posted["LineItems"][0]["AccountCode"] == "4010" and posted["Status"] == "PAID"


def test_an_element_xero_calls_a_duplicate_is_linked_to_the_document_it_has():
    world = build_world(days=1)
    documents = [invoice(n) for n in range(3)]
    # Our own earlier success whose answer was lost before the row recorded anything.
    with xero_access.xero_client(world.shop.xero_connection) as client:
        (earlier,) = client.create("Invoices", [documents[1].payload], idempotency_key="earlier-send")
    postings = outbox(world, documents)

    postings_send_due()

    assert states(postings) == {"posted": 3}
    linked = XeroPosting.objects.get(lookup_reference="InvoiceNumber=TT-0001")
    assert linked.xero_id == earlier.element["InvoiceID"]
    assert len(body(invoice_puts(world)[-1])["Invoices"]) == 3  # sent in the batch, refused as a duplicate
    assert len(world.xero.invoices) == 3


def test_a_batch_over_xeros_body_limit_goes_as_smaller_batches(monkeypatch):
    world = build_world(days=1)
    postings = outbox(world, [invoice(n) for n in range(8)])
    one = len(json.dumps({"Invoices": [postings[0].payload]}))
    monkeypatch.setattr(batch_service, "MAX_BODY_BYTES", one * 3)  # room for about 2 documents

    postings_send_due()

    assert states(postings) == {"posted": 8}
    sizes = [len(body(r)["Invoices"]) for r in invoice_puts(world)]
    assert sum(sizes) == 8 and max(sizes) <= 2
    assert len({r.headers["idempotency-key"] for r in invoice_puts(world)}) == len(sizes)
