"""Balances in the Xero sandbox, read the way an accountant reads a trial balance."""

from decimal import Decimal


def account_movement(xero, code: str) -> Decimal:
    """Net debit (positive) or credit (negative) on account `code` from every manual journal and bank
    transaction the sandbox holds. A RECEIVE credits its line accounts; a SPEND debits them."""
    total = Decimal("0")
    for journal in xero.manual_journals:
        for line in journal["JournalLines"]:
            if line["AccountCode"] == code:
                total += Decimal(str(line["LineAmount"]))
    for bank in xero.bank_transactions:
        sign = -1 if bank["Type"] == "RECEIVE" else 1
        for line in bank["LineItems"]:
            if line["AccountCode"] == code:
                total += sign * Decimal(str(line["LineAmount"]))
        if bank["BankAccount"].get("Code") == code:
            total -= sign * Decimal(str(bank["Total"]))
    return total
