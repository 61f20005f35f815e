"""Lock dates Xero enforces (DESIGN.md 6): what to propose after a refusal, and whether a date
finance approved is still open before it is sent. Both read the organisation again, because Xero's
lock dates can move at any time after a run has read them."""

import logging
from datetime import date, timedelta

from connectors.errors import ConnectorError, ErrorKind
from connectors.xero.errors import parse_lock_date
from reconciliation.models import XeroConnection, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.organisation import organisation_refresh
from reconciliation.services.posting_outcomes import hold, next_try, set_state

log = logging.getLogger(__name__)


def hold_locked(posting: XeroPosting, messages: list[str], *, element=None) -> None:
    """Xero refused the date. Its message names only the lock date it checked first (the end of
    year lock before the period lock), and either may have moved since the run read them, so the
    proposal comes from the organisation read again now (DESIGN.md 6: the later of the two + 1)."""
    hold(
        posting, Reason.LOCK_DATE, messages, proposed_date=_first_open_day(posting, messages), element=element
    )


def _first_open_day(posting: XeroPosting, messages: list[str]) -> date | None:
    dates = [d for d in map(parse_lock_date, messages) if d]
    fresh = _organisation_now(posting)
    if fresh is not None:
        dates += [d for d in (fresh.period_lock_date, fresh.end_of_year_lock_date) if d]
    return max(dates) + timedelta(days=1) if dates else None


def _organisation_now(posting: XeroPosting) -> XeroConnection | None:
    """The connection with its settings read from Xero now, or None if Xero could not say."""
    try:
        return organisation_refresh(connection=XeroConnection.objects.get(pk=posting.connection_id))
    except ConnectorError as exc:
        log.warning("could not re-read Xero settings for %s: %s", posting.source_ref, exc)
        return None


def approved_date_open(posting: XeroPosting) -> bool:
    """Before sending a document finance re-dated: is its date still after both lock dates, as
    Xero has them now? If not, it is not sent; it is held again with a new proposal, because a
    second refusal from Xero would only say the same thing later (DESIGN.md 6)."""
    fresh = _organisation_now(posting)
    if fresh is None:
        set_state(
            posting,
            XeroPosting.State.RETRY,
            error="could not re-read Xero's lock dates before sending the re-dated document",
            kind=ErrorKind.TRANSIENT,
            next_at=next_try(posting, None),
        )
        return False
    lock = max((d for d in (fresh.period_lock_date, fresh.end_of_year_lock_date) if d), default=None)
    if lock is None or posting.document_date > lock:
        return True
    proposed = lock + timedelta(days=1)
    hold(
        posting,
        Reason.LOCK_DATE,
        [
            f"the approved date {posting.document_date.isoformat()} is still locked in Xero "
            f"(lock date now {lock.isoformat()}); not sent"
        ],
        proposed_date=proposed,
        lead="",
    )
    return False
