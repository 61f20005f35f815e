"""A ready XeroClient for a connection: tokens refreshed one worker at a time, every attempt audited."""

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.errors import Attempt, ConnectorError, ErrorKind
from connectors.xero import auth
from connectors.xero.client import API_PATH, XeroClient
from connectors.xero.errors import XeroError
from connectors.xero.ratelimit import TenantRateLimiter
from reconciliation import transports
from reconciliation.models import XeroAttempt, XeroConnection, XeroPosting
from reconciliation.services import notifications

log = logging.getLogger(__name__)

# Refresh a little early so a token never expires between our check and Xero's.
EARLY_REFRESH = timedelta(minutes=2)
_limiters: dict[str, TenantRateLimiter] = {}


def limiter() -> TenantRateLimiter:
    uri = settings.RATE_LIMIT_STORAGE
    if uri not in _limiters:
        _limiters[uri] = TenantRateLimiter(storage_uri=uri, sleep=lambda s: transports.sleep(s))
    return _limiters[uri]


def limiters_reset() -> None:
    _limiters.clear()


def xero_client(connection: XeroConnection, *, posting: XeroPosting | None = None) -> XeroClient:
    return _client(connection, AttemptLog(connection=connection, posting=posting))


def xero_batch_client(connection: XeroConnection) -> tuple[XeroClient, "AttemptLog"]:
    """A client whose attempts are audited against `log.members` (set before each call): one row
    per member posting, rows of one request sharing `batch_ref` (services/batch_send.py)."""
    log_ = AttemptLog(connection=connection, posting=None, batch=True)
    return _client(connection, log_), log_


def _client(connection: XeroConnection, log_: "AttemptLog") -> XeroClient:
    return XeroClient(
        tenant_id=connection.tenant_id,
        access_token=lambda: access_token(connection.pk),
        transport=transports.transport_for("xero", connection.tenant_id),
        base_url=settings.XERO_API_URL + API_PATH,
        on_attempt_start=log_.started,
        on_attempt=log_.finished,
        limiter=limiter(),
        sleep=lambda s: transports.sleep(s),
    )


class AttemptLog:
    """The audit rows of one client: a row written as a request leaves, completed with its answer.

    STYLE.md: "write the attempt row before the call, update it after". A row never completed is
    what a worker killed mid-call leaves behind: Xero may have applied that request. A batch log
    writes one row per posting in `members` (the postings the next request is for), so each
    posting's own rows tell what Xero may have of it; `batch_ref` ties the rows of one request.
    """

    def __init__(self, *, connection: XeroConnection, posting: XeroPosting | None, batch: bool = False):
        self.connection, self.batch = connection, batch
        self.members: list[XeroPosting | None] = [posting]
        self._open: dict[str, list[int]] = {}  # Attempt.ref -> XeroAttempt ids, until completed

    def started(self, attempt: Attempt) -> None:
        fields = _request_fields(attempt) | self._batch_fields(attempt)
        # one INSERT for a batch's rows (one per member), still written before the call
        rows = XeroAttempt.objects.bulk_create(
            [
                XeroAttempt(connection=self.connection, posting=member, **fields)
                for member in self.members or [None]
            ]
        )
        self._open[attempt.ref] = [row.pk for row in rows]

    def finished(self, attempt: Attempt) -> None:
        pks = self._open.pop(attempt.ref, None)
        fields = _request_fields(attempt) | _answer_fields(attempt) | self._batch_fields(attempt)
        if pks is None:  # no start was reported (a client without the start hook): complete rows
            for member in self.members or [None]:
                XeroAttempt.objects.create(connection=self.connection, posting=member, **fields)
        else:
            XeroAttempt.objects.filter(pk__in=pks).update(**fields)

    def _batch_fields(self, attempt: Attempt) -> dict:
        return {"batch_ref": attempt.ref} if self.batch else {}


def attempt_record(*, connection: XeroConnection, posting: XeroPosting | None, attempt: Attempt) -> None:
    """One complete audit row for an attempt reported only after it ended (token calls)."""
    AttemptLog(connection=connection, posting=posting).finished(attempt)


def _request_fields(attempt: Attempt) -> dict:
    return {
        "method": attempt.method,
        "url": attempt.url,
        "idempotency_key": attempt.idempotency_key,
        "request_headers": attempt.request_headers,
        "request_body": attempt.request_body,
        "number": int(attempt.extra.get("attempt", 1)),
    }


def _answer_fields(attempt: Attempt) -> dict:
    return {
        "status": attempt.status,
        "response_headers": attempt.response_headers,
        "response_body": attempt.response_body,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
        "error_kind": str(attempt.extra.get("kind", "")),
        "completed_at": timezone.now(),
    }


def access_token(connection_id: int, *, pause: bool = True) -> str:
    """A valid access token. Xero rotates the refresh token on every refresh, so two workers
    refreshing at once would lose the connection: the row lock makes the second one wait and then
    use the token the first one stored. A refused refresh pauses the connection (and tells the
    administrators), unless `pause` is False: a disconnect under way gives it up anyway."""
    connection = XeroConnection.objects.get(pk=connection_id)
    _not_disconnected(connection)
    if _fresh(connection):
        return connection.access_token
    audit = TokenAudit(connection)
    try:
        with transaction.atomic():
            # The only network call made inside a transaction: the lock must span the refresh, or a
            # concurrent refresh would present an already-rotated refresh token and get invalid_grant.
            connection = XeroConnection.objects.select_for_update().get(pk=connection_id)
            _not_disconnected(connection)  # a disconnect may have landed since the first read
            if _fresh(connection):
                return connection.access_token
            tokens = _new_tokens(connection, audit)
            connection.access_token = tokens.access_token
            connection.refresh_token = tokens.refresh_token
            connection.access_token_expires_at = tokens.expires_at
            connection.save(update_fields=["access_token", "refresh_token", "access_token_expires_at"])
    except ConnectorError as exc:
        if exc.kind == ErrorKind.AUTH and pause:
            connection_pause(connection_id, reason=f"token refresh refused: {exc}")
        raise
    finally:
        audit.write()  # after the transaction: a refused refresh rolls it back, not its audit
    return tokens.access_token


def _not_disconnected(connection: XeroConnection) -> None:
    if connection.status == XeroConnection.Status.DISCONNECTED:
        # Its tokens were given up on purpose: no call, and no pause (that would hide the choice).
        raise XeroError(
            f"Xero connection {connection.name} is disconnected: reconnect it on the Connections page",
            kind=ErrorKind.AUTH,
        )


class TokenAudit:
    """Token calls run inside the connection's row lock (see access_token), whose transaction a
    failure rolls back; their audit rows are kept here and written once it has ended."""

    def __init__(self, connection: XeroConnection):
        self.connection = connection
        self._attempts: dict[str, Attempt] = {}  # by ref: the start, replaced by the outcome

    def started(self, attempt: Attempt) -> None:
        self._attempts[attempt.ref] = attempt

    def finished(self, attempt: Attempt) -> None:
        self._attempts[attempt.ref] = dataclasses.replace(attempt, extra={**attempt.extra, "done": True})

    def write(self) -> None:
        for attempt in self._attempts.values():
            fields = _request_fields(attempt)
            if attempt.extra.get("done"):
                fields |= _answer_fields(attempt)
            XeroAttempt.objects.create(connection=self.connection, posting=None, **fields)
        self._attempts.clear()


# A custom connection (one organisation, client_credentials) asks for exactly what posting needs.
CUSTOM_CONNECTION_SCOPES = "accounting.transactions accounting.settings accounting.contacts"


def _new_tokens(connection: XeroConnection, audit: TokenAudit) -> auth.XeroTokens:
    transport = transports.transport_for("xero", connection.tenant_id)
    # Token calls are audited too, never tied to a posting; auth removes tokens and secrets.
    hooks = {"on_attempt_start": audit.started, "on_attempt": audit.finished}
    if not connection.refresh_token:
        # No refresh token means a custom connection: there is nothing to rotate, just ask again.
        return auth.client_credentials(
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            scope=CUSTOM_CONNECTION_SCOPES,
            transport=transport,
            identity_url=settings.XERO_IDENTITY_URL,
            **hooks,
        )
    # A refresh whose answer is lost is repeated at once with the same refresh token (auth.refresh,
    # inside Xero's 30-minute grace period), so a dropped answer does not pause the connection.
    return auth.refresh(
        client_id=connection.client_id,
        client_secret=connection.client_secret,
        refresh_token=connection.refresh_token,
        transport=transport,
        identity_url=settings.XERO_IDENTITY_URL,
        sleep=lambda s: transports.sleep(s),
        **hooks,
    )


def _fresh(connection: XeroConnection) -> bool:
    expires = connection.access_token_expires_at
    return bool(connection.access_token) and expires is not None and expires - EARLY_REFRESH > timezone.now()


def connection_pause(connection_id: int, *, reason: str) -> None:
    """Auth failures pause the connection: no retries until someone reconnects it (DESIGN.md 6)."""
    was = XeroConnection.objects.filter(pk=connection_id).values_list("name", "status").first()
    # A disconnected connection stays disconnected: someone chose it, and only a reconnect undoes it.
    paused = (
        XeroConnection.objects.filter(pk=connection_id)
        .exclude(status=XeroConnection.Status.DISCONNECTED)
        .update(
            status=XeroConnection.Status.PAUSED, status_reason=f"{datetime.now(UTC):%Y-%m-%d %H:%M} {reason}"
        )
    )
    if paused:
        log.warning("Xero connection %s paused: %s", connection_id, reason)
    if was is not None and was[1] == XeroConnection.Status.ACTIVE:  # once, not per refused call
        notifications.connection_paused(name=was[0], reason=reason)
