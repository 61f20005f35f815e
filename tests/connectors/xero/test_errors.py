import datetime as dt

import httpx
import pytest

from connectors.errors import ErrorKind
from connectors.xero.errors import (
    XeroError,
    classify_exception,
    classify_messages,
    classify_response,
    classify_token_response,
    parse_lock_date,
)

# Messages as Xero words them (DESIGN.md 6).
PERIOD_LOCK = "The document date cannot be before the period lock date, currently set at 30-Nov-2018"
YEAR_END_LOCK = "The document date cannot be before the end of year lock date, currently set at 31-Mar-2019"
UNBALANCED = "The total debits (100.00) must equal total credits (-10.00)"
BAD_TAX = "The TaxType code X does not exist or cannot be used for this type of transaction."
BAD_ACCOUNT = "Account code 'X' is not a valid code for this document"
DUPLICATE_NUMBER = "Invoice # must be unique."
OVERPAID = "Payment amount exceeds the amount outstanding on this document"

URL = "https://api.xero.com/api.xro/2.0/ManualJournals"


def xero_response(status, body=None, headers=None, method="PUT"):
    return httpx.Response(status, json=body, headers=headers, request=httpx.Request(method, URL))


def api_exception(*messages):
    """Xero's 400 body: an ApiException with the messages under Elements[].ValidationErrors."""
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": m} for m in messages]}],
    }


@pytest.mark.parametrize(
    ("messages", "kind"),
    [
        ([PERIOD_LOCK], ErrorKind.LOCK_DATE),
        ([YEAR_END_LOCK], ErrorKind.LOCK_DATE),
        (["The document date cannot be on or before the Period Lock Date, currently set at 1-Jan-2020"], ErrorKind.LOCK_DATE),
        (["THE PAYMENT DATE CANNOT BE BEFORE THE END OF YEAR LOCKDATE"], ErrorKind.LOCK_DATE),
        ([DUPLICATE_NUMBER], ErrorKind.DUPLICATE),
        (["The contact name Foo is already assigned to another contact. The contact name must be unique across all active contacts."], ErrorKind.DUPLICATE),
        ([UNBALANCED], ErrorKind.VALIDATION),
        ([BAD_TAX], ErrorKind.VALIDATION),
        ([BAD_ACCOUNT], ErrorKind.VALIDATION),
        ([OVERPAID], ErrorKind.VALIDATION),
        ([], ErrorKind.VALIDATION),
        ([BAD_ACCOUNT, PERIOD_LOCK], ErrorKind.LOCK_DATE),
        ([PERIOD_LOCK, DUPLICATE_NUMBER], ErrorKind.DUPLICATE),
    ],
)  # fmt: skip
def test_classify_messages(messages, kind):
    assert classify_messages(messages) is kind


def test_parse_lock_date():
    assert parse_lock_date(PERIOD_LOCK) == dt.date(2018, 11, 30)
    assert parse_lock_date(YEAR_END_LOCK) == dt.date(2019, 3, 31)
    assert parse_lock_date("... lock date, currently set at 5-jan-2021.") == dt.date(2021, 1, 5)
    assert parse_lock_date(UNBALANCED) is None
    assert parse_lock_date("currently set at 31-Feb-2019") is None


def test_2xx_is_not_an_error():
    assert classify_response(xero_response(200, {"ManualJournals": []})) is None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"}),
        (403, {"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"}),
    ],
)
def test_401_and_403_are_auth(status, body):
    error = classify_response(xero_response(status, body))
    assert (error.kind, error.status, error.permanent) == (ErrorKind.AUTH, status, True)
    assert body["Detail"] in str(error)


def test_429_is_transient_with_retry_after_and_problem():
    headers = {"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}
    error = classify_response(xero_response(429, None, headers))
    assert isinstance(error, XeroError)
    assert (error.kind, error.retry_after, error.problem, error.permanent) == (
        ErrorKind.TRANSIENT,
        7.0,
        "minute",
        False,
    )


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status):
    error = classify_response(xero_response(status, None))
    assert error.kind is ErrorKind.TRANSIENT and error.retry_after is None


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (PERIOD_LOCK, ErrorKind.LOCK_DATE),
        (DUPLICATE_NUMBER, ErrorKind.DUPLICATE),
        (BAD_TAX, ErrorKind.VALIDATION),
    ],
)
def test_400_api_exception_is_classified_by_its_messages(message, kind):
    error = classify_response(xero_response(400, api_exception(message)))
    assert error.kind is kind
    assert error.messages == (message,)


def test_400_without_elements_uses_the_exception_message():
    body = {
        "ErrorNumber": 14,
        "Type": "PostDataInvalidException",
        "Message": "JSON for post data was invalid",
    }
    error = classify_response(xero_response(400, body))
    assert (error.kind, error.messages) == (ErrorKind.VALIDATION, ("JSON for post data was invalid",))


@pytest.mark.parametrize("status", [404, 405, 413])
def test_other_4xx_is_validation(status):
    assert classify_response(xero_response(status, {"Message": "nope"})).kind is ErrorKind.VALIDATION


def test_409_on_a_write_is_an_unknown_outcome():
    assert classify_response(xero_response(409, None, method="PUT")).kind is ErrorKind.UNKNOWN_OUTCOME
    assert classify_response(xero_response(409, None, method="GET")).kind is ErrorKind.VALIDATION


@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_lost_answer_on_a_write_is_an_unknown_outcome(exc_type, method):
    assert classify_exception(exc_type("boom"), method=method).kind is ErrorKind.UNKNOWN_OUTCOME


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_never_reached_xero_is_transient_even_on_a_write(exc_type):
    assert classify_exception(exc_type("refused"), method="PUT").kind is ErrorKind.TRANSIENT


@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError]
)
def test_any_network_failure_on_a_read_is_transient(exc_type):
    assert classify_exception(exc_type("boom"), method="GET").kind is ErrorKind.TRANSIENT


def test_token_endpoint_invalid_grant_is_auth():
    response = httpx.Response(400, json={"error": "invalid_grant"})
    error = classify_token_response(response)
    assert (error.kind, error.status) == (ErrorKind.AUTH, 400)
    assert "invalid_grant" in str(error)
