"""Payments, credit-note allocations and status changes in the Xero sandbox (DESIGN.md 6).

- A payment goes to an AUTHORISED invoice or credit note, from a BANK account or one with
  `EnablePaymentsToAccount`, for no more than what is outstanding; at 0 outstanding the document is
  PAID. Payments are never edited, only deleted (which reopens the document).
- An allocation moves credit from an AUTHORISED credit note to an AUTHORISED invoice of the same
  contact and side (ACCRECCREDIT -> ACCREC, ACCPAYCREDIT -> ACCPAY), within both remaining amounts.
- Status rules: DRAFT/SUBMITTED -> DELETED; AUTHORISED -> VOIDED only without payments or
  allocations. Every change to a non-draft document, or approval of a draft, obeys the lock dates.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from connectors.xero.sandbox_documents import CLOSED, CREDIT_NOTE, INVOICE, BillableKind, not_valid_code
from connectors.xero.sandbox_state import Ctx, OrgState, Outcome
from connectors.xero.sandbox_wire import ZERO_ID, amount, parse_date, round_money

_PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}
_EDITABLE = {"DRAFT": {"SUBMITTED", "AUTHORISED", "DELETED"}, "SUBMITTED": {"DRAFT", "AUTHORISED", "DELETED"}}
TRANSITIONS = {
    "ManualJournals": {"DRAFT": {"POSTED", "DELETED"}, "POSTED": {"VOIDED"}},
    "BankTransactions": {"AUTHORISED": {"DELETED"}},
    "Invoices": {**_EDITABLE, "AUTHORISED": {"VOIDED"}},
    "CreditNotes": {**_EDITABLE, "AUTHORISED": {"VOIDED"}},
}
_NOUN = {
    "ManualJournals": "Manual journal",
    "BankTransactions": "Bank transaction",
    "CreditNotes": "Credit note",
}


def outstanding(document: dict) -> Decimal:
    return document["AmountDue"] if "AmountDue" in document else document["RemainingCredit"]


def _reduce(document: dict, value: Decimal, when, *, paid_field: str) -> None:
    """Move `value` off what is outstanding (negative `value` reopens it)."""
    if "AmountDue" in document:
        document[paid_field] += value
        document["AmountDue"] -= value
    else:
        document["RemainingCredit"] -= value
    if outstanding(document) == 0:
        document.update(Status="PAID", FullyPaidOnDate=when)
    elif document["Status"] == "PAID":
        document["Status"] = "AUTHORISED"
        document.pop("FullyPaidOnDate", None)


def _find_billable(state: OrgState, data: dict) -> dict | None:
    """The invoice or credit note a payment or allocation names, by id or else by number."""
    invoice, credit = data.get("Invoice") or {}, data.get("CreditNote") or {}
    return _lookup(
        state, INVOICE, invoice.get("InvoiceID"), invoice.get("InvoiceNumber") or data.get("InvoiceNumber")
    ) or _lookup(
        state,
        CREDIT_NOTE,
        credit.get("CreditNoteID"),
        credit.get("CreditNoteNumber") or data.get("CreditNoteNumber"),
    )


def _lookup(state: OrgState, kind: BillableKind, document_id: str | None, number: str | None) -> dict | None:
    for document in getattr(state, kind.collection):
        if document_id:
            if document[kind.id_field] == document_id:
                return document
        elif number and document[kind.number_field] == number and document["Status"] not in CLOSED:
            return document
    return None


def _summary(document: dict) -> dict:
    kind = INVOICE if "InvoiceID" in document else CREDIT_NOTE
    return {
        kind.id_field: document[kind.id_field],
        kind.number_field: document[kind.number_field],
        "Type": document["Type"],
    }


def create_payment(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    when = parse_date(data["Date"]) if data.get("Date") else ctx.today
    paid = round_money(amount(data.get("Amount", 0), "Amount"))
    payment = {
        "PaymentID": ZERO_ID,
        "Date": when,
        "Amount": paid,
        "BankAmount": paid,
        "CurrencyRate": Decimal(1),
        "Reference": str(data.get("Reference") or ""),
        "IsReconciled": bool(data.get("IsReconciled", False)),
        "Status": "AUTHORISED",
        "HasAccount": True,
        "HasValidationErrors": False,
        "UpdatedDateUTC": ctx.now,
    }
    out = Outcome(payment)
    target = _find_billable(state, data)
    if target is None:
        out.errors.append("The invoice or credit note to pay could not be found.")
    else:
        payment["Invoice" if "InvoiceID" in target else "CreditNote"] = _summary(target)
        payment["PaymentType"] = _PAYMENT_TYPES[target["Type"]]
        if target["Status"] != "AUTHORISED":
            out.errors.append("Payments can only be made against Authorised documents.")
        elif paid <= 0:
            out.errors.append("The payment amount must be greater than zero.")
        elif paid > outstanding(target):
            out.errors.append("Payment amount exceeds the amount outstanding on this document")
    _payment_account(state, data, payment, target, out)
    out.errors.extend(filter(None, [state.lock_problem(when)]))
    if not out.errors:
        payment["PaymentID"] = str(uuid.uuid4())
        _reduce(target, paid, when, paid_field="AmountPaid")
        target["Payments"].append({"PaymentID": payment["PaymentID"], "Date": when, "Amount": paid})
        state.payments.append(payment)
    return out


def _payment_account(state: OrgState, data: dict, payment: dict, target: dict | None, out: Outcome) -> None:
    account = state.account(data.get("Account"))
    code = str((data.get("Account") or {}).get("Code") or "")
    if account is None or account.status != "ACTIVE":
        out.errors.append(not_valid_code(code))
        return
    payment["Account"] = account.summary()
    if account.type != "BANK" and not account.enable_payments:
        out.errors.append(
            f"Account code '{account.code}' is not a bank account and does not have payments enabled."
        )
    currency = account.currency or state.org.BaseCurrency
    if target is not None and currency != target["CurrencyCode"]:
        out.errors.append(
            f"The payment account's currency {currency} differs from the document's {target['CurrencyCode']}."
        )


def delete_payment(state: OrgState, payment: dict, data: dict, ctx: Ctx) -> Outcome:
    out = Outcome(payment)
    if data.get("Status") != "DELETED":
        out.errors.append(
            "A payment cannot be edited; it can only be deleted (Status DELETED) and created again."
        )
    elif payment["Status"] == "DELETED":
        out.errors.append("This payment has already been deleted.")
    out.errors.extend(filter(None, [state.lock_problem(payment["Date"])]))
    if not out.errors:
        target = _find_billable(state, payment)
        _reduce(target, -payment["Amount"], payment["Date"], paid_field="AmountPaid")
        target["Payments"] = [p for p in target["Payments"] if p["PaymentID"] != payment["PaymentID"]]
        payment.update(Status="DELETED", UpdatedDateUTC=ctx.now)
    return out


def allocate_credit_note(state: OrgState, credit_note: dict, data: dict, ctx: Ctx) -> Outcome:
    when = parse_date(data["Date"]) if data.get("Date") else ctx.today
    value = round_money(amount(data.get("Amount", 0), "Amount"))
    invoice = _find_billable(state, {"Invoice": data.get("Invoice") or {}})
    allocation = {
        "AllocationID": ZERO_ID,
        "Amount": value,
        "Date": when,
        "Invoice": _summary(invoice) if invoice else (data.get("Invoice") or {}),
        "CreditNote": _summary(credit_note),
        "IsDeleted": False,
    }
    out = Outcome(allocation)
    out.errors.extend(_allocation_problems(credit_note, invoice, value))
    out.errors.extend(filter(None, [state.lock_problem(when)]))
    if not out.errors:
        allocation["AllocationID"] = str(uuid.uuid4())
        _reduce(credit_note, value, when, paid_field="AmountCredited")
        _reduce(invoice, value, when, paid_field="AmountCredited")
        credit_note["Allocations"].append(
            {k: allocation[k] for k in ("AllocationID", "Amount", "Date", "Invoice")}
        )
        invoice["CreditNotes"].append({**_summary(credit_note), "AppliedAmount": value, "Date": when})
    return out


def _allocation_problems(credit_note: dict, invoice: dict | None, value: Decimal) -> list[str]:
    if invoice is None:
        return ["The invoice to allocate to could not be found."]
    if credit_note["Status"] != "AUTHORISED" or invoice["Status"] != "AUTHORISED":
        return ["Credit notes can only be allocated from and to Authorised documents."]
    if invoice["Type"] != credit_note["Type"].removesuffix("CREDIT"):
        return [f"A {credit_note['Type']} credit note cannot be allocated to a {invoice['Type']} invoice."]
    if invoice["Contact"].get("ContactID") != credit_note["Contact"].get("ContactID"):
        return ["The credit note and the invoice must belong to the same contact."]
    if value <= 0:
        return ["The amount to allocate must be greater than zero."]
    problems = []
    if value > credit_note["RemainingCredit"]:
        problems.append("The amount to allocate exceeds the remaining credit on this credit note.")
    if value > invoice["AmountDue"]:
        problems.append("The amount to allocate exceeds the amount due on the invoice.")
    return problems


def change_status(state: OrgState, collection: str, document: dict, data: dict, ctx: Ctx) -> Outcome:
    """POST on an existing document. Only status changes are modelled; edits of content are refused
    so a test notices the client tried one (our client never updates; DESIGN.md 6: PUT only)."""
    out = Outcome(document)
    wanted, current = data.get("Status"), document["Status"]
    identity = {k for k in document if k.endswith("ID")} | {"Status"}
    # Xero's schema makes some fields required even on updates (Narration); sending them unchanged is fine.
    edits = sorted(k for k in data if k not in identity and data[k] != document.get(k))
    if edits:
        out.errors.append(
            f"The sandbox models only status changes on existing documents, not {', '.join(edits)}."
        )
    if not wanted or wanted == current:
        return out
    if wanted not in TRANSITIONS[collection].get(current, ()):
        out.errors.append(f"{_NOUN.get(collection, 'Invoice')} not of valid status for modification")
    elif wanted == "VOIDED" and (
        document.get("Payments") or document.get("Allocations") or document.get("CreditNotes")
    ):
        out.errors.append(
            "This document cannot be voided because payments or credit notes are applied to it."
        )
    elif wanted == "DELETED" and document.get("IsReconciled"):
        out.errors.append("A reconciled bank transaction cannot be deleted.")
    touches_ledger = current not in ("DRAFT", "SUBMITTED") or wanted in ("AUTHORISED", "POSTED")
    if touches_ledger:
        out.errors.extend(filter(None, [state.lock_problem(document["Date"])]))
    if wanted in ("AUTHORISED", "POSTED") and collection in ("Invoices", "CreditNotes"):
        missing = [line for line in document["LineItems"] if "AccountCode" not in line]
        if missing or not document["LineItems"]:
            out.errors.append(not_valid_code(""))
    if not out.errors:
        document.update(Status=wanted, UpdatedDateUTC=ctx.now)
    return out
