"""Money as the API shows it: an exact decimal string and its currency, never a float."""

from decimal import Decimal, InvalidOperation

from reconciliation.models import XeroPosting

CENT = Decimal("0.01")


def money(amount, currency: str) -> dict | None:
    if amount is None:
        return None
    return {"amount": str(Decimal(amount).quantize(CENT)), "currency": currency}


def document_amount(posting: XeroPosting) -> Decimal | None:
    """What a planned document moves, read from its payload as sent (amounts are text there):
    a journal's debits; a payment's or allocation's Amount; the sum of an invoice's, credit note's
    or bank transaction's lines (before tax Xero adds to Exclusive lines). None if not readable."""
    payload = posting.payload or {}
    try:
        if posting.kind == XeroPosting.Kind.MANUAL_JOURNAL:
            amounts = [Decimal(str(line["LineAmount"])) for line in payload.get("JournalLines", [])]
            return sum((a for a in amounts if a > 0), Decimal(0))
        if "Amount" in payload:
            return Decimal(str(payload["Amount"]))
        return sum((line_amount(line) for line in payload.get("LineItems", [])), Decimal(0))
    except (InvalidOperation, KeyError, TypeError, ValueError):
        return None


def line_amount(line: dict) -> Decimal:
    """A line's amount as sent: LineAmount, else Quantity x UnitAmount to the cent."""
    if "LineAmount" in line:
        return Decimal(str(line["LineAmount"]))
    return (Decimal(str(line.get("Quantity", 1))) * Decimal(str(line["UnitAmount"]))).quantize(CENT)


def plain(value):
    """A planned payload with every Decimal as its exact text (what the outbox stores)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
