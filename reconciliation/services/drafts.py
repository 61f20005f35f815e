"""Drafts finance sent to Xero for review ("post as draft", services/quarantine.py): are they
approved yet?

A draft manual journal, invoice or credit note is outside Xero's ledger until someone approves it
in Xero (Xero: a DRAFT journal "does not affect the accounts"). LedgerSync records the posting as
posted once Xero has the draft, so a payout whose journal is a draft would read "reconciled" in
our pages while Xero's clearing account still waits for it. Each sync therefore re-reads the
drafts of the organisation and keeps Xero's latest element in `xero_response`: the pages say
"draft" while its Status is DRAFT (dashboard.payout_words), and nothing else changes.
"""

from __future__ import annotations

import logging

from reconciliation.models import XeroConnection, XeroPosting
from reconciliation.selectors import drafts_pending
from reconciliation.services.posting import lookup_where
from reconciliation.services.xero_access import xero_client

log = logging.getLogger(__name__)

DRAFT = "DRAFT"


def drafts_check(*, connection: XeroConnection) -> tuple[int, int]:
    """Re-read the organisation's drafts (one lookup each, by the reference they were sent with).
    Returns (still drafts, approved or otherwise changed). A draft deleted or voided in Xero is
    recorded as such: its element is Xero's last answer. Raises ConnectorError when Xero cannot
    be read (the caller reports it; the drafts are read again next time)."""
    waiting = changed = 0
    drafts = list(XeroPosting.objects.filter(drafts_pending(), connection=connection))
    if not drafts:
        return 0, 0
    with xero_client(connection) as client:
        for posting in drafts:
            element = _found(client, posting)
            if element is None or element.get("Status") == DRAFT:
                waiting += 1
                continue
            XeroPosting.objects.filter(pk=posting.pk).update(xero_response=element)
            log.info("draft %s is now %s in Xero", posting.pk, element.get("Status"))
            changed += 1
    return waiting, changed


def _found(client, posting: XeroPosting) -> dict | None:
    """Xero's element of this posting, by its id among those the lookup returns (a deleted or
    voided one included: it says the draft went away)."""
    id_field = {"ManualJournals": "ManualJournalID", "Invoices": "InvoiceID", "CreditNotes": "CreditNoteID"}
    for element in client.find(posting.kind, where=lookup_where(posting)):
        if element.get(id_field.get(posting.kind, "")) == posting.xero_id:
            return element
    return None
