import json
from contextlib import contextmanager
from decimal import Decimal

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.xero.client import ElementResult, XeroClient, dumps
from connectors.xero.errors import XeroError
from tests.connectors.scripted import Scripted

TENANT = "0f6a7b6e-3a1c-4a59-9f1e-2f0e1c2d3b4a"
TOKEN = "eyJ-secret-access-token"
KEY = "mj-9f2c1e0b7d"
PERIOD_LOCK = "The document date cannot be before the period lock date, currently set at 30-Nov-2018"


def journal(narration="TikTok Shop US statement 7001 (2024-01-31)", amount="235.95"):
    return {
        "Narration": narration,
        "Date": "2024-01-31",
        "Status": "POSTED",
        "JournalLines": [
            {"LineAmount": -Decimal(amount), "AccountCode": "200", "TaxType": "NONE"},
            {"LineAmount": Decimal(amount), "AccountCode": "610", "TaxType": "NONE"},
        ],
    }


def envelope(collection, elements, **headers):
    """Xero's 200 answer with summarizeErrors=false."""
    body = {
        "Id": "a3c5b1f0-2d4e-4c8b-9a6f-1e2d3c4b5a69",
        "Status": "OK",
        "ProviderName": "LedgerSync",
        "DateTimeUTC": "/Date(1706745600000)/",
        collection: elements,
    }
    headers = {"Content-Type": "application/json", **headers}
    return httpx.Response(200, content=dumps(body).encode(), headers=headers)


def saved(element, id_field="ManualJournalID", n=1):
    return element | {id_field: f"00000000-0000-0000-0000-00000000000{n}", "StatusAttributeString": "OK"}


def failed(element, *messages, warnings=()):
    return element | {
        "StatusAttributeString": "ERROR" if messages else "WARNING",
        "ValidationErrors": [{"Message": m} for m in messages],
        "Warnings": [{"Message": w} for w in warnings],
    }


class Xero(Scripted):
    """Xero's API answering in turn with the given responses or exceptions."""


def make_client(xero, **kwargs):
    kwargs.setdefault("sleep", kwargs.pop("slept", []).append)
    return XeroClient(tenant_id=TENANT, access_token=lambda: TOKEN, transport=xero.transport, **kwargs)


def test_create_sends_one_put_with_the_exact_payload():
    element = journal()
    xero = Xero(envelope("ManualJournals", [saved(element)]))
    with make_client(xero) as client:
        results = client.create("ManualJournals", [element], idempotency_key=KEY)

    [request] = xero.requests
    assert request.method == "PUT"
    assert request.url.path == "/api.xro/2.0/ManualJournals"
    assert dict(request.url.params) == {"summarizeErrors": "false"}
    assert request.headers["Idempotency-Key"] == KEY
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["xero-tenant-id"] == TENANT
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == (
        b'{"ManualJournals": [{"Narration": "TikTok Shop US statement 7001 (2024-01-31)", '
        b'"Date": "2024-01-31", "Status": "POSTED", "JournalLines": ['
        b'{"LineAmount": -235.95, "AccountCode": "200", "TaxType": "NONE"}, '
        b'{"LineAmount": 235.95, "AccountCode": "610", "TaxType": "NONE"}]}]}'
    )
    assert results == [ElementResult(ok=True, element=saved(element))]


def test_decimals_keep_their_exact_digits():
    element = journal(amount="0.10") | {"Extra": [Decimal("2.50"), Decimal("1E+2"), Decimal("0.1234")]}
    xero = Xero(envelope("ManualJournals", [saved(element)]))
    make_client(xero).create("ManualJournals", [element], idempotency_key=KEY, unitdp4=True)
    body = xero.requests[0].content
    assert b'"LineAmount": -0.10' in body
    assert b'"Extra": [2.50, 100, 0.1234]' in body
    assert xero.requests[0].url.params["unitdp"] == "4"
    with pytest.raises(ValueError, match="NaN"):
        dumps({"LineAmount": Decimal("NaN")})


def test_429_sleeps_for_retry_after_and_resends_the_same_key():
    element = journal()
    slept = []
    rate_limited = httpx.Response(429, headers={"Retry-After": "7", "X-Rate-Limit-Problem": "minute"})
    xero = Xero(rate_limited, envelope("ManualJournals", [saved(element)]))

    results = make_client(xero, slept=slept).create("ManualJournals", [element], idempotency_key=KEY)

    assert slept == [7.0]
    assert [r.headers["Idempotency-Key"] for r in xero.requests] == [KEY, KEY]
    assert xero.requests[0].content == xero.requests[1].content
    assert results[0].ok


def test_5xx_is_retried_with_growing_jittered_backoff():
    element = journal()
    slept = []
    xero = Xero(httpx.Response(500), httpx.Response(503), envelope("ManualJournals", [saved(element)]))

    results = make_client(xero, slept=slept).create("ManualJournals", [element], idempotency_key=KEY)

    assert len(xero.requests) == 3 and results[0].ok
    assert {r.headers["Idempotency-Key"] for r in xero.requests} == {KEY}
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0


def test_transient_errors_give_up_after_max_retries():
    slept = []
    xero = Xero(*[httpx.Response(503)] * 3)
    with pytest.raises(XeroError) as caught:
        make_client(xero, slept=slept, max_retries=2).create(
            "ManualJournals", [journal()], idempotency_key=KEY
        )
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert (len(xero.requests), len(slept)) == (3, 2)


def test_a_long_retry_after_goes_back_to_the_caller_instead_of_sleeping():
    slept = []
    day_limit = httpx.Response(429, headers={"Retry-After": "40000", "X-Rate-Limit-Problem": "day"})
    xero = Xero(day_limit)
    with pytest.raises(XeroError) as caught:
        make_client(xero, slept=slept).create("ManualJournals", [journal()], idempotency_key=KEY)
    assert (caught.value.kind, caught.value.retry_after, caught.value.problem) == (
        ErrorKind.TRANSIENT,
        40000.0,
        "day",
    )
    assert slept == [] and len(xero.requests) == 1


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("reset")])
def test_lost_answer_to_a_put_raises_unknown_outcome_without_retrying(exc):
    slept = []
    xero = Xero(exc)
    with pytest.raises(XeroError) as caught:
        make_client(xero, slept=slept).create("ManualJournals", [journal()], idempotency_key=KEY)
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME
    assert caught.value.__cause__ is exc
    assert len(xero.requests) == 1 and slept == []


def test_connect_error_is_retried():
    element = journal()
    xero = Xero(httpx.ConnectError("connection refused"), envelope("ManualJournals", [saved(element)]))
    results = make_client(xero).create("ManualJournals", [element], idempotency_key=KEY)
    assert len(xero.requests) == 2 and results[0].ok


def test_a_timeout_on_a_read_is_retried():
    xero = Xero(httpx.ReadTimeout("slow"), envelope("Accounts", [{"Code": "200", "Type": "REVENUE"}]))
    assert make_client(xero).get_accounts() == [{"Code": "200", "Type": "REVENUE"}]
    assert len(xero.requests) == 2


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried(status):
    slept = []
    xero = Xero(
        httpx.Response(status, json={"Title": "Unauthorized", "Detail": "AuthenticationUnsuccessful"})
    )
    with pytest.raises(XeroError) as caught:
        make_client(xero, slept=slept).create("ManualJournals", [journal()], idempotency_key=KEY)
    assert (caught.value.kind, caught.value.permanent) == (ErrorKind.AUTH, True)
    assert len(xero.requests) == 1 and slept == []


def test_a_whole_request_validation_exception_is_raised_with_its_messages():
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": PERIOD_LOCK}]}],
    }
    xero = Xero(httpx.Response(400, json=body))
    with pytest.raises(XeroError) as caught:
        make_client(xero).create("ManualJournals", [journal()], idempotency_key=KEY)
    assert (caught.value.kind, caught.value.messages) == (ErrorKind.LOCK_DATE, (PERIOD_LOCK,))
    assert len(xero.requests) == 1


def test_each_element_gets_its_own_result_in_order():
    ok, locked, unbalanced, warned = (journal(f"statement {n}") for n in range(4))
    dropped_line = "Account code '476' has been removed as it does not match a recognised account."
    unbalanced_msg = "The total debits (100.00) must equal total credits (-10.00)"
    xero = Xero(
        envelope(
            "ManualJournals",
            [
                saved(ok),
                failed(locked, PERIOD_LOCK),
                failed(unbalanced, unbalanced_msg),
                saved(warned) | {"Warnings": [{"Message": dropped_line}]},
            ],
        )
    )
    results = make_client(xero).create(
        "ManualJournals", [ok, locked, unbalanced, warned], idempotency_key=KEY
    )

    assert [(r.ok, r.kind) for r in results] == [
        (True, None),
        (False, ErrorKind.LOCK_DATE),
        (False, ErrorKind.VALIDATION),
        (False, ErrorKind.VALIDATION),  # Xero dropped a line and only warned: not posted as meant
    ]
    assert results[1].messages == (PERIOD_LOCK,)
    assert results[2].element["Narration"] == "statement 2"
    assert results[3].warnings == (dropped_line,) and results[3].messages == ()


def test_duplicate_invoice_number_and_line_level_errors():
    invoice = {"Type": "ACCREC", "InvoiceNumber": "TT-7001", "Contact": {"Name": "TikTok Shop"}}
    line_error = "The TaxType code X does not exist or cannot be used for this type of transaction."
    bad_line = invoice | {"LineItems": [{"TaxType": "X", "ValidationErrors": [{"Message": line_error}]}]}
    xero = Xero(
        envelope(
            "Invoices",
            [failed(invoice, "Invoice # must be unique."), bad_line | {"HasErrors": True}],
        )
    )
    dup, bad = make_client(xero).create("Invoices", [invoice, bad_line], idempotency_key=KEY)
    assert (dup.ok, dup.kind, dup.messages) == (False, ErrorKind.DUPLICATE, ("Invoice # must be unique.",))
    assert (bad.ok, bad.kind, bad.messages) == (False, ErrorKind.VALIDATION, (line_error,))


def test_a_reply_with_a_different_number_of_elements_is_an_unknown_outcome():
    xero = Xero(envelope("ManualJournals", [saved(journal())]))
    with pytest.raises(XeroError) as caught:
        make_client(xero).create("ManualJournals", [journal(), journal("other")], idempotency_key=KEY)
    assert caught.value.kind is ErrorKind.UNKNOWN_OUTCOME


@pytest.mark.parametrize(
    ("elements", "key", "problem"),
    [
        ([journal()] * 51, KEY, "elements"),
        ([], KEY, "elements"),
        ([journal()], "k" * 129, "Idempotency-Key"),
        ([journal(narration="x" * 3_600_000)], KEY, "3.5 MB"),
    ],
)
def test_oversized_or_odd_requests_are_refused_before_sending(elements, key, problem):
    xero = Xero()
    with pytest.raises(ValueError, match=problem):
        make_client(xero).create("ManualJournals", elements, idempotency_key=key)
    assert xero.requests == []


def test_post_and_unknown_collections_are_not_offered():
    with pytest.raises(ValueError, match="unsupported"):
        make_client(Xero()).create("Organisation", [{}], idempotency_key=KEY)
    assert not hasattr(XeroClient, "post")


def test_fifty_elements_is_allowed():
    elements = [journal(f"statement {n}") for n in range(50)]
    xero = Xero(envelope("ManualJournals", [saved(e) for e in elements]))
    assert len(make_client(xero).create("ManualJournals", elements, idempotency_key=KEY)) == 50


def test_allocate_credit_note():
    credit_note_id = "7be578f5-63af-45c8-9b00-dcc4732baf0b"
    allocation = {
        "Invoice": {"InvoiceID": "c45720a1-ade3-4a38-a064-d15489be6841"},
        "Amount": Decimal("12.30"),
    }
    xero = Xero(envelope("Allocations", [allocation | {"ValidationErrors": []}]))

    [result] = make_client(xero).allocate_credit_note(credit_note_id, [allocation], idempotency_key=KEY)

    [request] = xero.requests
    assert (request.method, request.url.path) == (
        "PUT",
        f"/api.xro/2.0/CreditNotes/{credit_note_id}/Allocations",
    )
    assert request.url.params["summarizeErrors"] == "false"
    assert request.headers["Idempotency-Key"] == KEY
    assert json.loads(request.content) == {"Allocations": [{**allocation, "Amount": 12.3}]}
    assert b'"Amount": 12.30' in request.content
    assert result.ok


def test_find_looks_documents_up_with_where():
    found = {"ManualJournalID": "00000000-0000-0000-0000-000000000001", "Narration": "statement 7001"}
    found |= {"JournalLines": [{"LineAmount": Decimal("-235.95")}]}  # read back as Decimal, not float
    xero = Xero(envelope("ManualJournals", [found]))
    where = 'Narration=="statement 7001"'

    assert make_client(xero).find("ManualJournals", where=where, page=2) == [found]

    [request] = xero.requests
    assert request.method == "GET" and request.url.path == "/api.xro/2.0/ManualJournals"
    assert dict(request.url.params) == {"where": where, "page": "2"}
    assert "Idempotency-Key" not in request.headers


def test_find_does_not_take_an_unexpected_body_for_no_match():
    xero = Xero(httpx.Response(200, json={"Status": "OK"}))
    with pytest.raises(XeroError) as caught:
        make_client(xero, max_retries=0).find("Invoices", where='InvoiceNumber=="TT-7001"')
    assert caught.value.kind is ErrorKind.TRANSIENT


def test_reference_data_reads():
    organisation = {"Name": "Demo Company (UK)", "PeriodLockDate": "/Date(1543536000000+0000)/"}
    xero = Xero(
        envelope("Organisations", [organisation]),
        envelope("TaxRates", [{"TaxType": "OUTPUT2"}]),
        envelope("Items", [{"Code": "FEE"}]),
    )
    client = make_client(xero)
    assert client.get_organisation() == organisation
    assert client.get_tax_rates() == [{"TaxType": "OUTPUT2"}]
    assert client.get_items() == [{"Code": "FEE"}]
    assert [r.url.path.rsplit("/", 1)[1] for r in xero.requests] == ["Organisation", "TaxRates", "Items"]


def test_access_token_is_read_again_for_every_attempt():
    tokens = iter(["old-token", "new-token"])
    xero = Xero(httpx.Response(503), envelope("Accounts", []))
    client = XeroClient(
        tenant_id=TENANT, access_token=lambda: next(tokens), transport=xero.transport, sleep=lambda s: None
    )
    client.get_accounts()
    assert [r.headers["Authorization"] for r in xero.requests] == ["Bearer old-token", "Bearer new-token"]


def test_every_attempt_is_reported_without_the_bearer_token():
    element = journal()
    attempts = []
    limited = httpx.Response(
        429,
        text="",
        headers={
            "Retry-After": "7",
            "X-Rate-Limit-Problem": "minute",
            "X-MinLimit-Remaining": "0",
            "Xero-Correlation-Id": "corr-1",
            "Set-Cookie": "session=abc",
        },
    )
    xero = Xero(limited, envelope("ManualJournals", [saved(element)], **{"X-DayLimit-Remaining": "4990"}))

    make_client(xero, on_attempt=attempts.append).create("ManualJournals", [element], idempotency_key=KEY)

    first, second = attempts
    assert (first.method, first.status, second.status) == ("PUT", 429, 200)
    assert first.url == "https://api.xero.com/api.xro/2.0/ManualJournals?summarizeErrors=false"
    assert first.request_headers["authorization"] == "[redacted]"
    assert first.request_headers["idempotency-key"] == KEY
    assert first.request_body == xero.requests[0].content.decode()
    assert first.response_headers == {
        "Retry-After": "7",
        "X-Rate-Limit-Problem": "minute",
        "X-MinLimit-Remaining": "0",
        "Xero-Correlation-Id": "corr-1",
    }
    assert first.error == "XeroError: Xero rate limit hit (minute limit)"
    assert (second.error, second.response_headers) == ("", {"X-DayLimit-Remaining": "4990"})
    assert '"ManualJournalID"' in second.response_body
    assert (first.idempotency_key, first.extra, second.extra) == (
        KEY,
        {"attempt": 1, "kind": "transient"},
        {"attempt": 2, "kind": ""},
    )
    assert all(TOKEN not in repr(a) for a in attempts)


def test_an_attempt_that_raised_is_reported_too():
    attempts = []
    xero = Xero(httpx.ReadTimeout("read timed out"))
    with pytest.raises(XeroError):
        make_client(xero, on_attempt=attempts.append).create(
            "ManualJournals", [journal()], idempotency_key=KEY
        )
    [attempt] = attempts
    assert attempt.status is None and attempt.response_body == ""
    assert "ReadTimeout" in attempt.error and attempt.extra["kind"] == "unknown_outcome"
    assert TOKEN not in repr(attempt)


def test_a_failing_audit_hook_does_not_hide_a_saved_document():
    element = journal()

    def broken(attempt):
        raise RuntimeError("audit database down")

    xero = Xero(envelope("ManualJournals", [saved(element)]))
    assert make_client(xero, on_attempt=broken).create("ManualJournals", [element], idempotency_key=KEY)[0].ok


class RecordingLimiter:
    def __init__(self, log):
        self.log = log

    def acquire(self, tenant_id):
        self.log.append(("acquire", tenant_id))

    @contextmanager
    def concurrency(self, tenant_id):
        self.log.append(("enter", tenant_id))
        yield
        self.log.append(("exit", tenant_id))

    def observe(self, tenant_id, headers):
        self.log.append(("observe", headers.get("X-MinLimit-Remaining")))


def test_the_limiter_is_asked_before_and_told_after_every_attempt():
    log = []

    def handle(request):
        log.append(("send", request.method))
        return envelope("Accounts", [], **{"X-MinLimit-Remaining": "41"})

    client = XeroClient(
        tenant_id=TENANT,
        access_token=lambda: TOKEN,
        transport=httpx.MockTransport(handle),
        limiter=RecordingLimiter(log),
    )
    client.get_accounts()
    assert log == [
        ("acquire", TENANT),
        ("enter", TENANT),
        ("send", "GET"),
        ("exit", TENANT),
        ("observe", "41"),
    ]
