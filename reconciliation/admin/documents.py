"""Xero documents as finance reads them: planned and posted documents rendered as tables (account
code and name, debit / credit, tax, totals), purposes and error classes in words, and a statement
journal's lines traced back to the TikTok transactions behind them (docs/ARCHITECTURE.md, "The
path of a statement to Xero", step 4)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from urllib.parse import unquote_plus

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from reconciliation.admin.money import MONEY_ATTRS
from reconciliation.models import Statement, XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason

ZERO = Decimal(0)

# What each posting is for, in finance's words: the one place a purpose code becomes words (the
# postings list, its filter and the posting page read it).
PURPOSES = {
    "statement_journal": "statement journal",
    "order_settlement_journal": "fees journal beside order invoices",
    "payout_receive": "bank receipt of a payout",
    "order_invoice": "order invoice",
    "order_payment": "invoice paid into clearing",
    "order_credit_note": "credit note",
    "order_credit_allocation": "credit allocated to the invoice",
    "credit_note_refund": "credit refunded out of clearing",
}

# connectors.errors.ErrorKind in words (an attempt's or a posting's error class).
ERROR_KINDS = {
    "transient": "temporary failure (retried later)",
    "unknown_outcome": "outcome unknown (looked up before any retry)",
    "lock_date": "before the lock date",
    "validation": "refused by Xero",
    "auth": "authorisation failed (connection paused)",
    "duplicate": "already in Xero (linked)",
}


def purpose_words(code: str) -> str:
    return PURPOSES.get(code, code.replace("_", " "))


def error_kind_words(code: str) -> str:
    """An attempt's error class, or a posting's last one: an ErrorKind while it retries, the
    quarantine reason once it is held (services/posting_outcomes.py)."""
    if not code:
        return "-"
    if code in Reason.values:
        return str(Reason(code).label)
    return ERROR_KINDS.get(code, code.replace("_", " "))


def status_words(status: int | None) -> str:
    """An HTTP status as a person reads it: "200 OK", "429 Too Many Requests"; "no answer" if none."""
    if status is None:
        return "no answer"
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


XERO_API = "https://api.xero.com/api.xro/2.0"


def request_words(method: str, url: str, limit: int = 0) -> str:
    """A request as "PUT /ManualJournals?summarizeErrors=false": Xero's API root left out."""
    path = unquote_plus(url[len(XERO_API) :] if url.startswith(XERO_API) else url)
    text = f"{method} {path}"
    return text[: limit - 1] + "…" if limit and len(text) > limit else text


def amount(value) -> Decimal | None:
    """A payload amount (text, or a number in Xero's answers) as a Decimal; None if not one."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def figure(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def account_names(connection: XeroConnection | None) -> dict[str, str]:
    """The organisation's account names by code, as last read from Xero (XeroConnection.accounts)."""
    if connection is None:
        return {}
    return {a["Code"]: a.get("Name", "") for a in connection.accounts or [] if a.get("Code")}


def document_reference(payload: dict | None) -> str:
    """How the document names itself: its number, else its reference, else its narration."""
    payload = payload or {}
    for key in ("InvoiceNumber", "CreditNoteNumber", "Reference", "Narration"):
        if payload.get(key):
            return str(payload[key])
    invoice = payload.get("Invoice") or {}
    return str(invoice.get("InvoiceNumber") or "")


def document_number(payload: dict | None) -> str:
    """The document's own number (an invoice's or credit note's), or the invoice an allocation
    applies to; "" for documents Xero does not number (journals, payments, bank transactions)."""
    payload = payload or {}
    number = payload.get("InvoiceNumber") or payload.get("CreditNoteNumber")
    if not number and "Amount" in payload and isinstance(payload.get("Invoice"), dict):
        number = payload["Invoice"].get("InvoiceNumber")
        return f"to {number}" if number else ""
    return str(number or "")


# --- tables ---------------------------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    number: bool = False


def _cells(row: list) -> SafeString:
    return format_html_join(
        "",
        "<td{}>{}</td>",
        (
            (MONEY_ATTRS if c.number else "", c.text)
            for c in (c if isinstance(c, Cell) else Cell(c) for c in row)
        ),
    )


def fields_table(rows: list[list]) -> SafeString:
    """Label / value pairs as a two-column table without a header."""
    body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((label, value) for label, value in rows))
    return format_html('<table class="ls-fields"><tbody>{}</tbody></table>', body)


def table(headers: list, rows: list[list], *, totals: list | None = None, css: str = "") -> SafeString:
    """An HTML table; cells given as Cell(text, number=True) are figures, aligned as money
    (admin/money.py)."""
    head = format_html_join(
        "",
        "<th{}>{}</th>",
        (
            (
                MONEY_ATTRS if isinstance(h, Cell) and h.number else "",
                str(h.text if isinstance(h, Cell) else h),
            )
            for h in headers
        ),
    )
    body = format_html_join("", "<tr>{}</tr>", ((_cells(r),) for r in rows))
    foot = (
        format_html('<tfoot><tr style="font-weight:bold">{}</tr></tfoot>', _cells(totals)) if totals else ""
    )
    return format_html(
        '<table class="ls-document {}"><thead><tr>{}</tr></thead><tbody>{}</tbody>{}</table>',
        css,
        head,
        body,
        foot,
    )


def num(header: str) -> Cell:
    return Cell(header, number=True)


def money_cell(value: Decimal | None) -> Cell:
    return Cell(figure(value), number=True)


def debit_credit(value: Decimal | None) -> list[Cell]:
    """A signed line amount as debit and credit cells (Xero: positive debits, negative credits)."""
    if value is None or value == ZERO:
        return [money_cell(None), money_cell(None)]
    return [money_cell(value), money_cell(None)] if value > 0 else [money_cell(None), money_cell(-value)]


def _account(code: str, names: dict[str, str]) -> str:
    if not code:
        return ""
    name = names.get(code)
    return f"{code} {name}" if name else f"{code} (not in the organisation's accounts)"


def _tracking(line: dict) -> str:
    return ", ".join(f"{t.get('Name', '')}: {t.get('Option', '')}" for t in line.get("Tracking") or [])


def journal_table(payload: dict, names: dict[str, str]) -> SafeString:
    """A manual journal: one row per line, debit (LineAmount > 0) and credit columns, totals."""
    rows, debits, credits, taxes = [], ZERO, ZERO, ZERO
    for number, line in enumerate(payload.get("JournalLines") or [], start=1):
        value = amount(line.get("LineAmount")) or ZERO
        tax = amount(line.get("TaxAmount"))
        debit, credit = (value, None) if value > 0 else (None, -value if value else None)
        debits += debit or ZERO
        credits += credit or ZERO
        taxes += tax or ZERO
        code = str(line.get("AccountCode", ""))
        rows.append(
            [
                Cell(str(number), number=True),
                code,
                names.get(code, "(not in the organisation's accounts)"),
                line.get("Description", ""),
                _tracking(line),
                line.get("TaxType", ""),
                money_cell(tax),
                money_cell(debit),
                money_cell(credit),
            ]
        )
    if not rows:
        return mark_safe("no journal lines")
    balanced = "balanced" if debits == credits else f"does not balance by {figure(debits - credits)}"
    return table(
        [
            "line",
            "account",
            "account name",
            "description",
            "tracking",
            "tax type",
            num("tax"),
            num("debit"),
            num("credit"),
        ],
        rows,
        totals=[
            "",
            "",
            "",
            f"Total ({balanced})",
            "",
            "",
            money_cell(taxes),
            money_cell(debits),
            money_cell(credits),
        ],
    )


def line_items_table(payload: dict, names: dict[str, str]) -> SafeString:
    """An invoice's, credit note's or bank transaction's line items, with Xero's totals where the
    document states them (a stored answer) or the lines' sum."""
    rows, total, taxes = [], ZERO, ZERO
    for line in payload.get("LineItems") or []:
        quantity = amount(line.get("Quantity", 1)) or Decimal(1)
        unit = amount(line.get("UnitAmount"))
        line_amount = amount(line.get("LineAmount"))
        if line_amount is None and unit is not None:
            line_amount = (quantity * unit).quantize(Decimal("0.01"))
        tax = amount(line.get("TaxAmount"))
        total += line_amount or ZERO
        taxes += tax or ZERO
        rows.append(
            [
                line.get("Description", ""),
                line.get("ItemCode", ""),
                Cell(f"{quantity.normalize():f}", number=True),
                Cell(
                    ""
                    if unit is None
                    else f"{unit:,.2f}"
                    if unit == unit.quantize(Decimal("0.01"))
                    else f"{unit:,}",
                    number=True,
                ),
                _account(str(line.get("AccountCode", "")), names),
                line.get("TaxType", ""),
                money_cell(tax),
                money_cell(line_amount),
            ]
        )
    if not rows:
        return mark_safe("no line items")
    stated = amount(payload.get("Total"))
    label = (
        "Total"
        if stated is None
        else f"Subtotal {figure(amount(payload.get('SubTotal')))}, tax {figure(amount(payload.get('TotalTax')))}, Total (Xero)"
    )
    return table(
        [
            "description",
            "item",
            num("quantity"),
            num("unit amount"),
            "account",
            "tax type",
            num("tax"),
            num("line amount"),
        ],
        rows,
        totals=[
            label,
            "",
            "",
            "",
            "",
            "",
            money_cell(taxes),
            money_cell(total if stated is None else stated),
        ],
    )


def _paid_document(payload: dict) -> str:
    for key, words in (("Invoice", "invoice"), ("CreditNote", "credit note")):
        doc = payload.get(key)
        if isinstance(doc, dict):
            number = doc.get("InvoiceNumber") or doc.get("CreditNoteNumber") or doc.get(f"{key}ID", "")
            return f"{words} {number}"
    return ""


def xero_date(value) -> str:
    """A date as Xero answers it ("/Date(1795564800000+0000)/") or as we send it, in ISO form."""
    found = re.match(r"/Date\((-?\d+)", str(value or ""))
    if found:
        return datetime.fromtimestamp(int(found[1]) / 1000, tz=UTC).date().isoformat()
    return str(value or "-")


def payment_table(payload: dict, names: dict[str, str], paid: str = "", credit_note: str = "") -> SafeString:
    """A payment or an allocation: its amount, the document it pays (or the credit note it
    allocates) and the account the money moves through. `paid` names the paid document when the
    payload only holds its id or a placeholder (a planned payment names its invoice by id)."""
    account = payload.get("Account") or {}
    code = str(account.get("Code", ""))
    rows = [["document paid", paid or _paid_document(payload) or "-"]]
    if credit_note or (isinstance(payload.get("CreditNote"), dict) and "AllocationID" in payload):
        rows.append(
            ["credit note allocated", credit_note or payload["CreditNote"].get("CreditNoteNumber", "")]
        )
    if account:
        rows.append(["account", _account(code, names) or account.get("Name", "") or "-"])
    rows += [
        ["amount", figure(amount(payload.get("Amount")))],
        ["date", xero_date(payload.get("Date"))],
        ["reference", payload.get("Reference", "") or "-"],
    ]
    return fields_table(rows)


def document_table(
    kind: str, payload: dict | None, names: dict[str, str], *, paid: str = "", credit_note: str = ""
) -> SafeString:
    """A document (as planned, or as Xero answered) rendered by its kind."""
    if not payload:
        return mark_safe("-")
    if kind == XeroPosting.Kind.MANUAL_JOURNAL:
        return journal_table(payload, names)
    if kind in (XeroPosting.Kind.PAYMENT, XeroPosting.Kind.ALLOCATION):
        return payment_table(payload, names, paid, credit_note)
    head = ""
    if kind == XeroPosting.Kind.BANK_TRANSACTION:
        bank = (payload.get("BankAccount") or {}).get("Code", "")
        head = format_html("<p>{} into bank account {}</p>", payload.get("Type", ""), _account(bank, names))
    return format_html("{}{}", head, line_items_table(payload, names))


# --- from a journal line to the TikTok transactions behind it -------------------------------------


def statement_facts_of(statement: Statement):
    """The statement's facts from what it was last read from (API pages or Seller Center rows),
    recomputed by the pure normaliser; None when they cannot be read."""
    from reconciliation.services import seller_center
    from reconciliation.services.statements import read_facts

    rows = seller_center.stored_rows(statement)
    if rows is not None:
        return seller_center.rows_preview(
            payload=rows, shop=statement.shop, statement_id=statement.statement_id
        )[1]
    return read_facts(statement)


def _line_key(account: str, tax_type: str, category: str, option: str) -> tuple[str, str, str, str]:
    # A rule without a tax type posts TaxType NONE on an Inclusive journal and none on a NoTax one.
    return (account, "" if tax_type in ("", "NONE") else tax_type, category, option)


def components_by_line(statement: Statement) -> dict[tuple, list[tuple[str, str, str, Decimal]]] | None:
    """(account, tax type, tracking) -> [(transaction id, component, label, amount)], grouped as the
    statement journal groups them (planning/statement_journal.py), under the shop's current map."""
    from reconciliation.planning.statement_journal import with_reserve_rule
    from reconciliation.selectors import component_rules, shop_settings

    facts = statement_facts_of(statement)
    if facts is None:
        return None
    rules = with_reserve_rule(component_rules(statement.shop), shop_settings(statement.shop))
    found: dict[tuple, list] = {}
    for component in facts.components():
        rule = rules.get(component.name)
        if rule is None:
            continue
        key = _line_key(rule.account_code, rule.tax_type, rule.tracking_category, rule.tracking_option)
        label = rule.description or component.name
        found.setdefault(key, []).append((component.transaction_id, component.name, label, component.amount))
    return found


def journal_sources_table(posting: XeroPosting) -> SafeString:
    """Each journal line with the TikTok transactions and components that make it."""
    statement = posting.source
    if not isinstance(statement, Statement) or posting.kind != XeroPosting.Kind.MANUAL_JOURNAL:
        return mark_safe("-")
    by_line = components_by_line(statement)
    if by_line is None:
        return mark_safe("the statement's stored pages cannot be read again")
    rows: list[list] = []
    shown: dict[tuple, int] = {}
    clearing = statement.shop.clearing_account
    for number, line in enumerate((posting.payload or {}).get("JournalLines") or [], start=1):
        rows += _line_sources(number, line, by_line, shown, clearing, posting.purpose)
    return table(["journal line", "TikTok transaction", "component", num("debit"), num("credit")], rows)


# A journal line no component rule makes, by the journal's purpose: (clearing line, other line).
UNTRACED = {
    "statement_journal": (
        "what TikTok pays for the statement (its payable amount)",
        "not traced: no component maps to this account and tax type now (the map changed since?)",
    ),
    "order_settlement_journal": (
        "the clearing account's side of the lines above",
        "not traced to components: planned from the orders the statement settles",
    ),
}


def _line_sources(
    number: int, line: dict, by_line: dict, shown: dict, clearing: str, purpose: str
) -> list[list]:
    tracking = (line.get("Tracking") or [{}])[0]
    code = str(line.get("AccountCode", ""))
    key = _line_key(code, line.get("TaxType", ""), tracking.get("Name", ""), tracking.get("Option", ""))
    head = f"line {number}: {code} {line.get('Description', '')}"
    parts = by_line.get(key)
    if parts is None:
        on_clearing, other = UNTRACED.get(purpose, ("the clearing account", "not traced"))
        what = on_clearing if code == clearing else other
        return [[head, what, "", *debit_credit(amount(line.get("LineAmount")))]]
    if key in shown:
        # A line split where the source states its tax (planning/source_tax.py): one group.
        return [
            [head, f"the same components as line {shown[key]} (split by the tax TikTok states)", "", "", ""]
        ]
    shown[key] = number
    rows = []
    for transaction_id, name, label, value in sorted(parts, key=lambda p: (p[0], p[1])):
        # The line posts -amount: TikTok's money to the seller is a credit.
        component = format_html('{}<br><span class="quiet">{}</span>', label, name) if label != name else name
        rows.append([head, transaction_id or "(statement level)", component, *debit_credit(-value)])
        head = ""
    total = -sum((p[3] for p in parts), ZERO)
    rows.append(["", "", Cell(f"line {number} total", number=True), *debit_credit(total)])
    return rows


# --- links ----------------------------------------------------------------------------------------


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def admin_link(obj, text=None) -> str:
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', change_url(obj), obj if text is None else text)


def source_words(source) -> str:
    """What a posting is about, in words, without reading another row (the list shows one per row)."""
    words = {
        "statement": lambda s: f"statement {s.statement_id}",
        "payout": lambda s: f"payout {s.payment_id}",
        "tiktokorder": lambda s: f"order {s.order_id}",
        "tiktokreturn": lambda s: f"return {s.return_id} of order {s.order_id}",
        "tiktokcancellation": lambda s: f"cancellation {s.cancel_id} of order {s.order_id}",
    }
    say = words.get(source._meta.model_name)
    return say(source) if say else str(source)


def source_link(posting: XeroPosting, *, wrap: bool = False) -> str:
    """A link to what the posting is about; `wrap`: its kind on one line, its id on the next."""
    source = posting.source
    if source is None:
        return "-"
    words = source_words(source)
    if wrap and " " in words:
        kind, rest = words.split(" ", 1)
        # A 19-digit TikTok id may break anywhere rather than push the list past 1400 px.
        return admin_link(
            source, format_html('{}<br><span style="word-break:break-all">{}</span>', kind, rest)
        )
    return admin_link(source, words)
