"""Writing what became of a posting: its state, a hold for finance, or posted (DESIGN.md 6, 8).

Shared by the send flow (posting.py) and the lock-date checks (lock_dates.py); no HTTP here.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from connectors.errors import ConnectorError
from reconciliation.models import Statement, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.planning.types import Problem
from reconciliation.services.dependencies import dependents_release
from reconciliation.services.outbox import quarantine_open
from reconciliation.services.payout_gate import statement_posted

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def next_try(posting: XeroPosting, exc: ConnectorError | None):
    """When to try again (aware datetime): 30 s doubling per claim up to an hour, never sooner than
    the provider's Retry-After (seconds) when it gave one (DESIGN.md 6, transient errors)."""
    backoff = min(BACKOFF_BASE * (2 ** (posting.attempts - 1)), BACKOFF_CAP)
    if exc is not None and exc.retry_after:
        backoff = max(backoff, timedelta(seconds=exc.retry_after))
    return timezone.now() + backoff


def set_state(posting: XeroPosting, state: str, *, error: str = "", kind: str = "", next_at=None) -> None:
    """Record a posting's state with its last error text and class (ErrorKind or Reason)."""
    posting.state, posting.last_error, posting.last_error_kind, posting.next_attempt_at = (
        state,
        error,
        kind,
        next_at,
    )
    posting.save(update_fields=["state", "last_error", "last_error_kind", "next_attempt_at"])


def hold(
    posting: XeroPosting,
    reason: str,
    messages: list[str],
    *,
    proposed_date=None,
    element=None,
    lead: str = "Xero refused it: ",
) -> None:
    """Hold a posting for finance: HELD, with one open quarantine item of `reason` whose message is
    `lead` + `messages`; `proposed_date` is the date a LOCK_DATE approval would post on."""
    set_state(posting, XeroPosting.State.HELD, error="\n".join(messages), kind=reason)
    if element is not None:
        XeroPosting.objects.filter(pk=posting.pk).update(xero_response=element)
    text = f"{posting.source_ref}: {lead}" + "; ".join(messages)
    if reason == Reason.LOCK_DATE and proposed_date:
        text += f". Proposed date {proposed_date.isoformat()}"
        if posting.shop.is_taxed():  # a NoTax shop (US) has no VAT period to move
            text += " (the VAT period changes if approved)"
    quarantine_open(
        shop=posting.shop,
        problems=[
            Problem(reason, text, posting.source_ref, proposed_date=proposed_date, details={"xero": messages})
        ],
        source=posting.source,
        posting=posting,
    )


@transaction.atomic
def mark_posted(posting: XeroPosting, element: dict) -> XeroPosting:
    """Xero has `element` (as it returned it): POSTED, its totals checked against the plan, the
    posting's items resolved (except mismatch and source-changed ones), and waiting RECEIVEs of its
    statement's payout released (once per batch inside payout_gate.gates_deferred); documents
    waiting for its Xero id get it and become READY."""
    posting.state = XeroPosting.State.POSTED
    posting.xero_id = xero_id(posting.kind, element)
    posting.xero_number = str(element.get("InvoiceNumber") or element.get("CreditNoteNumber") or "")
    posting.xero_response = element
    posting.posted_at = timezone.now()
    # what went wrong on the way is in its XeroAttempt rows; on the posting it would read as current
    posting.last_error, posting.last_error_kind, posting.next_attempt_at = "", "", None
    posting.save(
        update_fields=[
            "state",
            "xero_id",
            "xero_number",
            "xero_response",
            "posted_at",
            "last_error",
            "last_error_kind",
            "next_attempt_at",
        ]
    )
    mismatch = totals_mismatch(posting.payload, element)
    if mismatch:
        quarantine_open(
            shop=posting.shop,
            problems=[Problem(Reason.XERO_MISMATCH, f"{posting.source_ref}: {mismatch}", posting.source_ref)],
            source=posting.source,
            posting=posting,
        )
    _resolve_posting_items(posting)
    dependents_release(posting)
    # compared by content type: loading the source (an order, for an invoice) only to test its
    # kind was one query per posting
    if posting.source_type_id == ContentType.objects.get_for_model(Statement).pk:
        statement_posted(posting.source_id)
    return posting


def _resolve_posting_items(posting: XeroPosting) -> None:
    posting.quarantine.filter(status__in=["open", "approved"]).exclude(
        reason__in=[Reason.XERO_MISMATCH, Reason.SOURCE_CHANGED]
    ).update(status="resolved", resolved_at=timezone.now())


ID_FIELDS = {
    "ManualJournals": "ManualJournalID",
    "BankTransactions": "BankTransactionID",
    "Invoices": "InvoiceID",
    "CreditNotes": "CreditNoteID",
    "Payments": "PaymentID",
    "Allocations": "AllocationID",
}


def xero_id(kind: str, element: dict) -> str:
    """The document's Xero id (ManualJournalID, BankTransactionID, ...), "" if it has none."""
    return str(element.get(ID_FIELDS.get(kind, ""), ""))


def totals_mismatch(payload: dict, element: dict) -> str:
    """Check what Xero stored against what we planned (DESIGN.md 3: check the totals Xero returns)."""
    if "JournalLines" in payload:
        planned = sorted(Decimal(str(line["LineAmount"])) for line in payload["JournalLines"])
        got = sorted(Decimal(str(line.get("LineAmount", "0"))) for line in element.get("JournalLines") or [])
        if planned != got:
            return f"journal lines in Xero {got} differ from the plan {planned}"
        return _journal_tax_mismatch(payload, element)
    if "LineItems" in payload and element.get("Total") is not None:
        planned_total = sum(
            (
                Decimal(str(li["UnitAmount"])) * Decimal(str(li.get("Quantity", 1)))
                for li in payload["LineItems"]
            ),
            Decimal("0"),
        )
        if payload.get("LineAmountTypes") == "NoTax" and Decimal(str(element["Total"])) != planned_total:
            return f"Xero's total {element['Total']} differs from the planned {planned_total}"
    return ""


def _journal_tax_mismatch(payload: dict, element: dict) -> str:
    """The VAT Xero reports is the TaxAmount it stored per line: when the plan set it (the tax the
    source states, or Xero's own per-line rounding), Xero must hold the same total."""
    planned_lines = [line for line in payload["JournalLines"] if "TaxAmount" in line]
    if not planned_lines:
        return ""
    planned = sum((Decimal(str(line["TaxAmount"])) for line in planned_lines), Decimal("0"))
    got = sum(
        (Decimal(str(line.get("TaxAmount", "0"))) for line in element.get("JournalLines") or []), Decimal("0")
    )
    return "" if planned == got else f"Xero holds {got:.2f} of tax on the journal, the plan {planned:.2f}"
