"""Connecting LedgerSync to Xero organisations: connect, reconnect, custom connection, disconnect.

The flow (docs/ARCHITECTURE.md, "Connections"): the Connections page sends the browser to Xero's
consent screen (`auth.authorize_url`, OAuth2 authorisation code flow); Xero sends it back with a
code; `xero_grant_from_code` swaps the code for tokens and reads which organisations they reach
(`GET /connections`); the user picks one and `xero_connection_save` stores it. A custom connection
(Xero's one-organisation, client_credentials kind) skips the browser: `xero_grant_custom`.

Rules kept here, not in the views (DESIGN.md 8: permissions are checked in services):
- only users who may add (new) or change (reconnect, disconnect) Xero connections act;
- a reconnect must authorise the same organisation, never quietly swap the ledger a shop posts to;
- tokens go straight to the encrypted fields; nothing here logs or returns a secret;
- a reconnect resumes a paused connection and resolves its open "connection needs attention" items.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from connectors.errors import Attempt, ConnectorError, ErrorKind
from connectors.xero import auth
from reconciliation import transports
from reconciliation.models import QuarantineItem, Shop, XeroConnection
from reconciliation.models.quarantine import Reason
from reconciliation.services.organisation import organisation_refresh
from reconciliation.services.xero_access import CUSTOM_CONNECTION_SCOPES, access_token, attempt_record

log = logging.getLogger(__name__)

# Calls made before the organisation is known go through this transport key (tests install the
# sandbox under it; in production there is none and the real network is used).
CONNECT_KEY = "connect"


@dataclass(frozen=True)
class XeroGrant:
    """Tokens just granted and the organisations they reach, before the user picks one."""

    tokens: auth.XeroTokens
    tenants: tuple[dict, ...]  # Xero's connection objects: id, tenantId, tenantName, tenantType
    client_id: str
    client_secret: str  # repr-hidden by the caller's storage; never shown
    # The HTTP calls that made it (secrets removed), written as the connection's audit rows once
    # it is saved: before that there is no connection to keep them under.
    attempts: tuple[Attempt, ...] = ()

    def tenant(self, tenant_id: str) -> dict:
        for tenant in self.tenants:
            if tenant.get("tenantId") == tenant_id:
                return tenant
        raise ValidationError("that organisation was not among those you authorised; connect again")


@dataclass(frozen=True)
class Connected:
    connection: XeroConnection
    message: str
    warning: str = ""


def require(user, action: str) -> None:
    """`action`: "add" (a new organisation) or "change" (reconnect, disconnect)."""
    if not (user and user.is_active and user.has_perm(f"reconciliation.{action}_xeroconnection")):
        raise PermissionDenied(
            f"{'Connecting' if action == 'add' else 'Reconnecting or disconnecting'} a Xero organisation "
            "needs permission to manage Xero connections (Operations or an administrator)."
        )


def xero_authorise_url(*, client_id: str, redirect_uri: str, state: str) -> str:
    """Xero's consent screen for this app (OAuth2 code flow, `settings.XERO_SCOPES`)."""
    return auth.authorize_url(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=settings.XERO_SCOPES,
        state=state,
        login_url=settings.XERO_LOGIN_URL,
    )


def xero_grant_from_code(*, client_id: str, client_secret: str, code: str, redirect_uri: str) -> XeroGrant:
    """Swap Xero's authorisation code (valid 5 minutes, once) for tokens and list what they reach.
    Raises ConnectorError (AUTH: the code or app credentials were refused), ValidationError (no
    refresh token: the scopes lack offline_access; no organisation granted)."""
    heard: list[Attempt] = []
    tokens = auth.exchange_code(
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
        transport=transports.transport_for("xero", CONNECT_KEY),
        identity_url=settings.XERO_IDENTITY_URL,
        on_attempt=heard.append,
    )
    if not tokens.refresh_token:
        # Saved, it would pass for a custom connection and fail (paused, alert) at its first refresh.
        raise ValidationError(
            "Xero granted no refresh token, so the connection would stop after 30 minutes: the scopes "
            f"asked for ({settings.XERO_SCOPES}) need offline_access (setting XERO_SCOPES)"
        )
    return _grant(tokens, client_id, client_secret, heard)


def xero_grant_custom(*, client_id: str, client_secret: str) -> XeroGrant:
    """A custom connection: Xero's client_credentials grant for the one organisation the app was
    made for (no browser, no refresh token; a new token is asked for when one expires)."""
    heard: list[Attempt] = []
    tokens = auth.client_credentials(
        client_id=client_id,
        client_secret=client_secret,
        scope=CUSTOM_CONNECTION_SCOPES,
        transport=transports.transport_for("xero", CONNECT_KEY),
        identity_url=settings.XERO_IDENTITY_URL,
        on_attempt=heard.append,
    )
    return _grant(tokens, client_id, client_secret, heard)


def _grant(tokens: auth.XeroTokens, client_id: str, client_secret: str, heard: list[Attempt]) -> XeroGrant:
    tenants = auth.connections(
        access_token=tokens.access_token,
        transport=transports.transport_for("xero", CONNECT_KEY),
        api_url=settings.XERO_API_URL,
        on_attempt=heard.append,
    )
    organisations = tuple(t for t in tenants if t.get("tenantType", "ORGANISATION") == "ORGANISATION")
    if not organisations:
        raise ValidationError("Xero granted access to no organisation: connect again and allow access to one")
    return XeroGrant(tokens, organisations, client_id, client_secret, tuple(heard))


def xero_connection_save(
    *, user, grant: XeroGrant, tenant_id: str, reconnect: XeroConnection | None = None
) -> Connected:
    """Store the picked organisation's tokens: a new connection, or new tokens for an existing one.

    A reconnect (or connecting an organisation already set up) keeps the connection's name and
    shops, resumes it and resolves its open AUTH items. Raises PermissionDenied, ValidationError
    (the organisation is not the one being reconnected, or was not granted).
    """
    existing = reconnect or XeroConnection.objects.filter(tenant_id=tenant_id).first()
    require(user, "change" if existing else "add")
    granted = {t.get("tenantId") for t in grant.tenants}
    if reconnect is not None and (reconnect.tenant_id != tenant_id or tenant_id not in granted):
        names = ", ".join(t.get("tenantName") or t.get("tenantId", "") for t in grant.tenants)
        raise ValidationError(
            f"You authorised {names}, but this connection is {reconnect.name} (tenant "
            f"{reconnect.tenant_id}) and its shops post there. Reconnect and allow access to "
            f"{reconnect.organisation_name or reconnect.name} on Xero's page, or add the other "
            "organisation as a new connection."
        )
    tenant = grant.tenant(tenant_id)
    with transaction.atomic():
        connection = existing or XeroConnection(
            tenant_id=tenant_id, name=tenant.get("tenantName") or tenant_id
        )
        connection.client_id = grant.client_id
        connection.client_secret = grant.client_secret
        connection.refresh_token = grant.tokens.refresh_token
        connection.access_token = grant.tokens.access_token
        connection.access_token_expires_at = grant.tokens.expires_at
        connection.status, connection.status_reason = XeroConnection.Status.ACTIVE, ""
        connection.save()
        for attempt in grant.attempts:
            attempt_record(connection=connection, posting=None, attempt=attempt)
        released = _auth_items_resolve(connection, user) if existing else 0
    verb = "reconnected" if existing else "connected"
    message = f"{connection.name}: {verb}; postings for its shops send again."
    if released:
        message += f" {released} item{'' if released == 1 else 's'} waiting for the connection resolved."
    log.info("Xero connection %s %s by %s", connection.pk, verb, user.get_username())
    return Connected(connection, message, _settings_read(connection))


def _settings_read(connection: XeroConnection) -> str:
    """Read the organisation's settings now so the maps can be checked against them at once; a
    failure is not fatal (the next sync reads them again), but it is said."""
    try:
        organisation_refresh(connection=connection)
    except ConnectorError as exc:
        return f"Its settings could not be read yet ({exc}); the next sync reads them again."
    return ""


def _auth_items_resolve(connection: XeroConnection, user) -> int:
    """Open 'Xero connection needs attention' items of the connection's shops: the reconnect fixed
    their cause. Each keeps who resolved it and why, like a finance decision."""
    now = timezone.now()
    note = f"reconnect by {user.get_username()} at {now:%Y-%m-%d %H:%M:%S} UTC: connection authorised again"
    items = QuarantineItem.objects.select_for_update().filter(
        reason=Reason.AUTH,
        status=QuarantineItem.Status.OPEN,
        shop__in=Shop.objects.filter(xero_connection=connection),
    )
    count = 0
    for item in items:
        item.status, item.decided_by, item.decided_at, item.decision_note = (
            QuarantineItem.Status.RESOLVED,
            user,
            now,
            note,
        )
        item.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        count += 1
    return count


def xero_disconnect(*, user, connection: XeroConnection) -> str:
    """Give the organisation up at Xero (DELETE /connections/{id}) and forget the tokens here.

    Its tokens and client secret are forgotten; its shops stop posting (their postings wait,
    nothing is lost) until someone reconnects. When
    Xero no longer accepts the tokens, the connection is still disconnected here and the message
    says so. Raises PermissionDenied; a network failure raises ConnectorError and changes nothing.
    """
    require(user, "change")
    said = _xero_forget(connection)
    now = timezone.now()
    XeroConnection.objects.filter(pk=connection.pk).update(
        status=XeroConnection.Status.DISCONNECTED,
        status_reason=f"{now:%Y-%m-%d %H:%M:%S} disconnected by {user.get_username()}",
        access_token="",
        refresh_token="",
        client_secret="",
        access_token_expires_at=None,
    )
    shops = Shop.objects.filter(xero_connection=connection).count()
    waiting = (
        " 1 shop posts to it: its postings wait until it is reconnected."
        if shops == 1
        else f" {shops} shops post to it: their postings wait until it is reconnected."
        if shops
        else ""
    )
    log.info("Xero connection %s disconnected by %s", connection.pk, user.get_username())
    return f"{connection.name}: disconnected. {said}{waiting}"


def _xero_forget(connection: XeroConnection) -> str:
    if not connection.refresh_token:
        if connection.client_secret:  # client_credentials: Xero has no per-app DELETE for these
            return "A custom connection ends in Xero's developer portal; LedgerSync no longer uses it."
        return "It held no tokens."
    transport = transports.transport_for("xero", connection.tenant_id)
    heard: list[Attempt] = []
    try:
        token = access_token(connection.pk, pause=False)  # a refusal is no alert: it is going
        for tenant in auth.connections(
            access_token=token, transport=transport, api_url=settings.XERO_API_URL, on_attempt=heard.append
        ):
            if tenant.get("tenantId") == connection.tenant_id:
                auth.disconnect(
                    access_token=token,
                    connection_id=tenant["id"],
                    transport=transport,
                    api_url=settings.XERO_API_URL,
                    on_attempt=heard.append,
                )
                return "Xero no longer lets LedgerSync use it."
        return "Xero had already removed LedgerSync's access to it."
    except ConnectorError as exc:
        if exc.kind is ErrorKind.AUTH:
            return f"Xero no longer accepted its tokens ({exc}); remove the app under Xero's Connected apps to be sure."
        raise
    finally:  # kept whatever Xero answered: the audit says what was asked of it
        for attempt in heard:
            attempt_record(connection=connection, posting=None, attempt=attempt)
