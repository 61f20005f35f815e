"""Bank transactions, invoices and credit notes in the Xero sandbox (DESIGN.md 3 and 6).

Line arithmetic as Xero does it: `UnitAmount` is rounded to 2 dp unless the request says `unitdp=4`,
`LineAmount = Quantity x UnitAmount` rounded to 2 dp, tax is computed and rounded per line, then
`SubTotal`, `TotalTax` and `Total` are sums of the rounded lines.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from connectors.xero.sandbox_state import LINE_AMOUNT_TYPES, Account, Ctx, OrgState, Outcome
from connectors.xero.sandbox_wire import ZERO, ZERO_ID, BadRequest, amount, parse_date, round_money


@dataclass(frozen=True)
class BillableKind:
    """What differs between invoices and credit notes."""

    collection: str
    id_field: str
    number_field: str
    types: tuple[str, ...]
    number_prefix: str
    label: str


INVOICE = BillableKind("invoices", "InvoiceID", "InvoiceNumber", ("ACCREC", "ACCPAY"), "INV", "Invoice #")
CREDIT_NOTE = BillableKind(
    "credit_notes",
    "CreditNoteID",
    "CreditNoteNumber",
    ("ACCRECCREDIT", "ACCPAYCREDIT"),
    "CN",
    "Credit Note #",
)
CLOSED = ("DELETED", "VOIDED")


def not_valid_code(code: str) -> str:
    return f"Account code '{code}' is not a valid code for this document"


def price_lines(state: OrgState, data: dict, lat: str, ctx: Ctx, out: Outcome, *, need_account: bool) -> list:
    raw_lines = data.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise BadRequest("JSON for post data was invalid: LineItems must be an array")
    return [_price_line(state, raw, lat, ctx, out, need_account=need_account) for raw in raw_lines]


def _price_line(state: OrgState, raw: dict, lat: str, ctx: Ctx, out: Outcome, *, need_account: bool) -> dict:
    if not isinstance(raw, dict):
        raise BadRequest("JSON for post data was invalid: each line item must be an object")
    line: dict = {"LineItemID": str(uuid.uuid4())}
    if raw.get("Description"):
        line["Description"] = str(raw["Description"])
    if raw.get("ItemCode"):
        item = state.items.get(str(raw["ItemCode"]))
        if item is None:
            out.errors.append(f"Item code '{raw['ItemCode']}' is not valid.")
        else:
            line["ItemCode"] = item["Code"]
            line["Item"] = {"ItemID": item["ItemID"], "Name": item["Name"], "Code": item["Code"]}
    if raw.get("DiscountRate") is not None or raw.get("DiscountAmount") is not None:
        out.errors.append("The sandbox does not model DiscountRate/DiscountAmount; send a separate line.")
    quantity = round_money(amount(raw.get("Quantity", 1), "Quantity"), 4)
    unit, line_amount = _line_amounts(raw, quantity, ctx.unitdp, out)
    account = _line_account(state, raw, out, need_account=need_account)
    tax_type, tax = str(raw.get("TaxType") or "NONE"), ZERO
    if account is not None:
        tax_type, tax = state.tax_for_line(raw, account, lat, line_amount, out)
    line.update(Quantity=quantity, UnitAmount=unit, LineAmount=line_amount, TaxType=tax_type, TaxAmount=tax)
    if account is not None:
        line.update(AccountCode=account.code, AccountID=account.account_id)
    line["Tracking"] = raw.get("Tracking") or []
    return line


def _line_amounts(raw: dict, quantity: Decimal, unitdp: int, out: Outcome) -> tuple[Decimal, Decimal]:
    given_total = (
        round_money(amount(raw["LineAmount"], "LineAmount")) if raw.get("LineAmount") is not None else None
    )
    if raw.get("UnitAmount") is not None:
        unit = round_money(amount(raw["UnitAmount"], "UnitAmount"), unitdp)
        line_amount = round_money(quantity * unit)
        if given_total is not None and given_total != line_amount:
            out.errors.append(
                f"The LineAmount ({given_total:.2f}) does not equal Quantity x UnitAmount ({line_amount:.2f})."
            )
        return unit, line_amount
    if given_total is None:
        out.errors.append("Each line item must have a UnitAmount or a LineAmount.")
        return ZERO, ZERO
    unit = round_money(given_total / quantity, unitdp) if quantity else ZERO
    return unit, given_total


def _line_account(state: OrgState, raw: dict, out: Outcome, *, need_account: bool) -> Account | None:
    code = str(raw.get("AccountCode") or "")
    account = state.account({"Code": code, "AccountID": raw.get("AccountID")})
    if account is None or account.type == "BANK":
        if need_account or code or raw.get("AccountID"):
            out.errors.append(not_valid_code(code))
        return None
    if account.status != "ACTIVE":
        out.errors.append(
            f"Account code '{code}' has been archived, or has been deleted. Each line item must reference a valid account."
        )
    return account


def contact_ref(contact: dict | None) -> dict:
    return {"ContactID": contact["ContactID"], "Name": contact["Name"]} if contact else {}


def totals(lines: list[dict], lat: str) -> dict[str, Decimal]:
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    gross = sum((line["LineAmount"] for line in lines), ZERO)
    subtotal = gross - tax if lat == "Inclusive" else gross
    return {"SubTotal": subtotal, "TotalTax": tax, "Total": subtotal + tax}


def _currency_problem(state: OrgState, wanted: str, bank: Account | None = None) -> str | None:
    # Multi-currency is out of scope (DESIGN.md 3): the organisation only knows its base currency.
    if wanted != state.org.BaseCurrency:
        return f"Organisation is not subscribed to currency {wanted}"
    if bank is not None and bank.currency != wanted:
        return f"The currency {wanted} does not match the currency of bank account '{bank.code}' ({bank.currency})"
    return None


def create_bank_transaction(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    kind = data.get("Type")
    lat = data.get("LineAmountTypes") or "Exclusive"
    when = parse_date(data["Date"]) if data.get("Date") else ctx.today
    bank = state.account(data.get("BankAccount"))
    document = {
        "BankTransactionID": ZERO_ID,
        "Type": kind,
        "Date": when,
        "DateString": f"{when.isoformat()}T00:00:00",
        "Status": "AUTHORISED",
        "LineAmountTypes": lat,
        "Reference": str(data.get("Reference") or ""),
        "IsReconciled": bool(data.get("IsReconciled", False)),
        "CurrencyRate": Decimal(1),
        "HasAttachments": False,
        "UpdatedDateUTC": ctx.now,
    }
    out = Outcome(document)
    if kind not in ("RECEIVE", "SPEND"):
        out.errors.append(f"The sandbox models RECEIVE and SPEND bank transactions, not {kind}.")
    sent = data.get("BankAccount") if isinstance(data.get("BankAccount"), dict) else {}
    if bank is None or bank.type != "BANK":
        out.errors.append(not_valid_code(str(sent.get("Code") or "")))
        bank = None
    # Echo what was sent when it is not a bank account: Xero's schema requires BankAccount.
    document["BankAccount"] = (
        bank.summary() if bank else {k: v for k, v in sent.items() if k in ("Code", "AccountID")}
    )
    document["CurrencyCode"] = str(
        data.get("CurrencyCode") or (bank.currency if bank else state.org.BaseCurrency)
    )
    out.errors.extend(filter(None, [_currency_problem(state, document["CurrencyCode"], bank)]))
    if lat not in LINE_AMOUNT_TYPES:
        out.errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
    contact, problem, is_new = state.contact(data.get("Contact"))
    out.errors.extend(filter(None, [problem]))
    lines = price_lines(state, data, lat, ctx, out, need_account=True)
    if not lines:
        out.errors.append("A bank transaction must have at least one line item.")
    document.update(Contact=contact_ref(contact), LineItems=lines, **totals(lines, lat))
    out.errors.extend(filter(None, [state.lock_problem(when)]))
    if not out.errors:
        _commit(
            state, document, "BankTransactionID", state.bank_transactions, contact if is_new else None, ctx
        )
    return out


def create_invoice(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    return _create_billable(state, data, ctx, INVOICE)


def create_credit_note(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    return _create_billable(state, data, ctx, CREDIT_NOTE)


def _create_billable(state: OrgState, data: dict, ctx: Ctx, kind: BillableKind) -> Outcome:
    doc_type = data.get("Type")
    status = data.get("Status") or "DRAFT"  # Xero's default for invoices and credit notes
    lat = data.get("LineAmountTypes") or "Exclusive"
    when = parse_date(data["Date"]) if data.get("Date") else ctx.today
    document: dict = {
        "Type": doc_type,
        kind.id_field: ZERO_ID,
        kind.number_field: str(data.get(kind.number_field) or ""),
        "Reference": str(data.get("Reference") or ""),
        "Date": when,
        "DateString": f"{when.isoformat()}T00:00:00",
        "Status": status,
        "LineAmountTypes": lat,
        "CurrencyCode": str(data.get("CurrencyCode") or state.org.BaseCurrency),
        "CurrencyRate": Decimal(1),
        "HasAttachments": False,
        "SentToContact": False,
        "UpdatedDateUTC": ctx.now,
    }
    if data.get("DueDate"):
        due = parse_date(data["DueDate"], "DueDate")
        document.update(DueDate=due, DueDateString=f"{due.isoformat()}T00:00:00")
    out = Outcome(document)
    if doc_type not in kind.types:
        out.errors.append(f"Type must be one of {', '.join(kind.types)}.")
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        out.errors.append(f"A document can be created as DRAFT, SUBMITTED or AUTHORISED, not {status}.")
    if lat not in LINE_AMOUNT_TYPES:
        out.errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
    out.errors.extend(filter(None, [_currency_problem(state, document["CurrencyCode"])]))
    contact, problem, is_new = state.contact(data.get("Contact"))
    out.errors.extend(filter(None, [problem, _number_problem(state, document, kind)]))
    lines = price_lines(state, data, lat, ctx, out, need_account=status != "DRAFT")
    if status != "DRAFT" and not lines:
        out.errors.append("A document that is not a draft must have at least one line item.")
    document.update(Contact=contact_ref(contact), LineItems=lines, **totals(lines, lat))
    if document["Total"] < 0:
        out.errors.append("The total of the document cannot be negative.")
    if status != "DRAFT":
        out.errors.extend(filter(None, [state.lock_problem(when)]))
    if kind is INVOICE:
        document.update(AmountDue=document["Total"], AmountPaid=ZERO, AmountCredited=ZERO)
        document.update(Payments=[], CreditNotes=[], Prepayments=[], Overpayments=[], IsDiscounted=False)
    else:
        document.update(RemainingCredit=document["Total"], Allocations=[], Payments=[])
    if not out.errors:
        if not document[kind.number_field] and doc_type in ("ACCREC", "ACCRECCREDIT"):
            document[kind.number_field] = state.next_number(kind.number_prefix)
        documents = getattr(state, kind.collection)
        _commit(state, document, kind.id_field, documents, contact if is_new else None, ctx)
    return out


def _number_problem(state: OrgState, document: dict, kind: BillableKind) -> str | None:
    """Sales invoice numbers are unique among documents that are not deleted or voided. Bills
    (ACCPAY) carry the supplier's number, which Xero lets repeat across suppliers."""
    number = document[kind.number_field]
    if not number or document["Type"] not in ("ACCREC", "ACCRECCREDIT"):
        return None
    for other in getattr(state, kind.collection):
        if (
            other["Type"] == document["Type"]
            and other[kind.number_field] == number
            and other["Status"] not in CLOSED
        ):
            return f"{kind.label} must be unique."
    return None


def _commit(
    state: OrgState, document: dict, id_field: str, into: list, new_contact: dict | None, ctx: Ctx
) -> None:
    document[id_field] = str(uuid.uuid4())
    if new_contact is not None:
        state.keep_contact(new_contact, ctx.now)
    into.append(document)


def create_contact(state: OrgState, data: dict, ctx: Ctx) -> Outcome:
    name = str(data.get("Name") or "").strip()
    out = Outcome({"ContactID": ZERO_ID, "Name": name, "ContactStatus": "ACTIVE"})
    if not name:
        out.errors.append("The contact name must be supplied.")
    elif any(c["Name"].casefold() == name.casefold() for c in state.contacts):
        out.errors.append(
            f"The contact name {name} is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        )
    if not out.errors:
        out.document = state.add_contact(name, ctx.now)
    return out
