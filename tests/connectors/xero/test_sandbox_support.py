"""Set-up shared by the Xero sandbox tests: a movable clock, an authorised client, small builders.

A plain module (no tests of its own) rather than a conftest, so the helpers are imported explicitly.
Requests go through a raw `httpx.Client` on the sandbox's transport: these tests pin Xero's
behaviour, not our client's. Amounts are Decimal and written as JSON numbers with their digits.
"""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from connectors.xero.sandbox import XeroSandbox

API = "https://api.xero.com/api.xro/2.0"
START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def client_for(sandbox: XeroSandbox, tokens: dict | None = None) -> httpx.Client:
    tokens = tokens or sandbox.issue_tokens()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": sandbox.tenant_id}
    return httpx.Client(transport=sandbox.transport, base_url=API, headers=headers)


def demo(base_currency: str = "USD", **options) -> tuple[XeroSandbox, httpx.Client, Clock]:
    clock = options.pop("clock", None) or Clock()
    sandbox = XeroSandbox.demo(base_currency, clock=clock, **options)
    return sandbox, client_for(sandbox), clock


def send(
    client: httpx.Client,
    method: str,
    path: str,
    body: dict,
    *,
    summarize: bool = False,
    headers: dict | None = None,
    **params,
) -> httpx.Response:
    """Our client always sends summarizeErrors=false (DESIGN.md 6); summarize=True leaves it out."""
    if not summarize:
        params["summarizeErrors"] = "false"
    content = json.dumps(body, default=_number)
    headers = {"Content-Type": "application/json", **(headers or {})}
    return client.request(method, path, params=params, content=content, headers=headers)


def _number(value):
    if isinstance(value, Decimal):
        return float(value)  # the repr of a 2 or 4 dp amount has exactly its digits
    raise TypeError(value)


def line(code: str, amount: str, **fields) -> dict:
    return {"AccountCode": code, "LineAmount": Decimal(amount), **fields}


def journal(*lines: dict, narration: str = "Statement 1", date: str = "2024-03-01", **fields) -> dict:
    return {"ManualJournals": [{"Narration": narration, "Date": date, "JournalLines": list(lines), **fields}]}


def item(code: str, quantity: str, unit: str, **fields) -> dict:
    return {"AccountCode": code, "Quantity": Decimal(quantity), "UnitAmount": Decimal(unit), **fields}


def invoice(*items: dict, number: str = "TT-1", contact: str = "TikTok Shop", **fields) -> dict:
    document = {
        "Type": "ACCREC",
        "InvoiceNumber": number,
        "Contact": {"Name": contact},
        "Date": "2024-03-01",
        "DueDate": "2024-03-15",
        "Status": "AUTHORISED",
        "LineItems": list(items),
        **fields,
    }
    return {"Invoices": [document]}


def only(response: httpx.Response, collection: str) -> dict:
    elements = response.json(parse_float=Decimal)[collection]
    assert len(elements) == 1, elements
    return elements[0]


def messages(element: dict, key: str = "ValidationErrors") -> list[str]:
    return [m["Message"] for m in element.get(key, [])]
