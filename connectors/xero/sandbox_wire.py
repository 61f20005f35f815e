"""How Xero's Accounting API writes things on the wire, for the sandbox (DESIGN.md 6 and 7).

Dates go out as `/Date(1700000000000+0000)/` (what the OpenAPI file marks `x-is-msdate`), amounts as
JSON numbers, envelopes carry `Id, Status, ProviderName, DateTimeUTC`, and a failed batch without
`summarizeErrors=false` becomes Xero's ApiException body (`ErrorNumber 10, ValidationException`).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")
ZERO_ID = "00000000-0000-0000-0000-000000000000"  # Xero's id on an element it did not create
PROVIDER_NAME = "LedgerSync sandbox"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[\d:.]+)?$")
_CLAUSE = re.compile(
    r'^\s*([A-Za-z][\w.]*)\s*==\s*(?:"([^"]*)"|guid\("([^"]*)"\)|(true|false|-?\d+(?:\.\d+)?))\s*$',
    re.IGNORECASE,
)


class BadRequest(Exception):
    """The whole request is refused (HTTP 400) before any element is looked at."""

    def __init__(self, message: str, *, error_type: str = "PostDataInvalidException", number: int = 14):
        super().__init__(message)
        self.body = {"ErrorNumber": number, "Type": error_type, "Message": message}


def round_money(value: Decimal, places: int = 2) -> Decimal:
    """Xero rounds half away from zero (.NET MidpointRounding.AwayFromZero) = Decimal ROUND_HALF_UP."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def amount(value: Any, field: str) -> Decimal:
    """A number from a request body (parsed with Decimal floats). Strings of digits are accepted as
    Xero's JSON reader accepts them; the OpenAPI check reports them separately."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise BadRequest(f"JSON for post data was invalid: {field} must be a number, not {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise BadRequest(f"JSON for post data was invalid: {field} must be a number, not {value!r}") from exc
    if not number.is_finite():
        raise BadRequest(f"JSON for post data was invalid: {field} must be finite")
    return number


def parse_date(value: Any, field: str = "Date") -> date:
    """Xero accepts `2024-01-31`, `2024-01-31T00:00:00` and `/Date(ms+0000)/` in requests."""
    if isinstance(value, str):
        iso = _ISO.match(value)
        if iso:
            try:
                return date(int(iso[1]), int(iso[2]), int(iso[3]))
            except ValueError:
                pass
        ms = _MSDATE.match(value)
        if ms:
            return datetime.fromtimestamp(int(ms[1]) / 1000, UTC).date()
    raise BadRequest(f"JSON for post data was invalid: {field} {value!r} is not a date")


def msdate(value: date | datetime) -> str:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"/Date({int(value.timestamp() * 1000)}+0000)/"


def lock_date_text(value: date) -> str:
    """The form Xero uses in lock-date messages: 30-Nov-2018 (fixed English month, not the locale)."""
    return f"{value.day:02d}-{_MONTHS[value.month - 1]}-{value.year}"


def wire(value: Any) -> Any:
    """Internal records (Decimal, date, datetime) as Xero's JSON shows them."""
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    if isinstance(value, Decimal):
        # float's shortest repr round-trips any 2 or 4 dp amount exactly, so a client parsing with
        # parse_float=Decimal gets the same value Xero stored.
        return float(value)
    if isinstance(value, (date, datetime)):
        return msdate(value)
    return value


def envelope(collection: str, elements: list[dict], now: datetime) -> dict:
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": f"/Date({int(now.timestamp() * 1000)})/",
        collection: wire(elements),
    }


def api_exception(elements: list[dict]) -> dict:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": wire(elements),
    }


def problem(status: int, title: str, detail: str) -> dict:
    """Xero's bodies for 401/403/404/429 (not in the OpenAPI file): problem+json style."""
    return {"Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4())}


def to_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def where_filter(text: str | None) -> list[tuple[list[str], str]]:
    """`Reference=="x" AND Status=="AUTHORISED"`: only the equality filters we use to find our own
    documents. Anything else is refused loudly rather than silently matching everything."""
    if not text:
        return []
    terms = []
    for clause in re.split(r"\s+(?:AND|&&)\s+(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if match is None:
            raise BadRequest(f'The sandbox only supports Field=="value" filters, not {clause!r}')
        value = next(v for v in match.groups()[1:] if v is not None)
        terms.append((match[1].split("."), value))
    return terms


def matches(document: dict, terms: list[tuple[list[str], str]]) -> bool:
    for path, expected in terms:
        node: Any = document
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, bool):
            node = str(node).lower()
        if isinstance(node, Decimal):
            if not _equal_amounts(node, expected):
                return False
        elif node is None or str(node) != expected:
            return False
    return True


def _equal_amounts(stored: Decimal, text: str) -> bool:
    try:
        return stored == Decimal(text)
    except InvalidOperation:
        return False


def page_of(documents: list[dict], query: dict[str, str]) -> tuple[list[dict], dict | None]:
    """Without `page` Xero returns everything; with it, pages of `pageSize` (default 100, max 1000)."""
    if "page" not in query:
        return documents, None
    try:
        page = max(int(query["page"]), 1)
        size = min(max(int(query.get("pageSize", 100)), 1), 1000)
    except ValueError as exc:
        raise BadRequest("page and pageSize must be integers") from exc
    start = (page - 1) * size
    count = len(documents)
    info = {"page": page, "pageSize": size, "pageCount": -(-count // size), "itemCount": count}
    return documents[start : start + size], info
