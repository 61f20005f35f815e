"""The Connections page (admin/connections/): Xero organisations and TikTok shop authorisations.

Thin views over services/xero_connect.py and services/tiktok_connect.py (which check who may act).
What lives between the redirect to the provider and its callback (the OAuth `state`, the app secret
typed for this flow) and between the callback and the user's pick (the tokens just granted) is kept
in the user's session, encrypted with the credentials key, for 15 minutes at most, and removed
once used: a callback without its matching state is refused (RFC 6749 10.12, CSRF).

Secrets are never shown back: the page says whether a token is held and until when it is valid.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import time
from datetime import datetime
from urllib.parse import quote, quote_plus

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from connectors.errors import Attempt, ConnectorError
from connectors.tiktok.auth import TokenSet
from connectors.xero.auth import XeroTokens
from reconciliation.models import Shop, ShopConnection, SyncRun, XeroConnection
from reconciliation.models.credentials import decrypt, encrypt
from reconciliation.models.shops import Channel
from reconciliation.services import tiktok_connect, xero_connect

PENDING, GRANT = "ls_connect_pending", "ls_connect_grant"
MAX_AGE = 15 * 60  # seconds a started connection may take to come back
VIEW_PERMISSIONS = ("reconciliation.view_xeroconnection", "reconciliation.view_shopconnection")


def urls() -> list:
    """Mounted under admin/connections/ by reconciliation/admin/site.py."""
    view = admin.site.admin_view
    return [
        path("connections/", view(connections_view), name="connections"),
        path("connections/xero/connect/", view(xero_connect_view), name="connections_xero_connect"),
        path("connections/xero/callback/", view(xero_callback_view), name="connections_xero_callback"),
        path("connections/xero/pick/", view(xero_pick_view), name="connections_xero_pick"),
        path(
            "connections/xero/<int:pk>/disconnect/",
            view(xero_disconnect_view),
            name="connections_xero_disconnect",
        ),
        path(
            "connections/tiktok/<int:shop_pk>/authorise/",
            view(tiktok_authorise_view),
            name="connections_tiktok_authorise",
        ),
        path("connections/tiktok/callback/", view(tiktok_callback_view), name="connections_tiktok_callback"),
        path("connections/tiktok/pick/", view(tiktok_pick_view), name="connections_tiktok_pick"),
        path(
            "connections/tiktok/<int:shop_pk>/disconnect/",
            view(tiktok_disconnect_view),
            name="connections_tiktok_disconnect",
        ),
    ]


# -- the page -----------------------------------------------------------------------------------
def connections_view(request: HttpRequest) -> HttpResponse:
    if not any(request.user.has_perm(p) for p in VIEW_PERMISSIONS):
        raise PermissionDenied("The Connections page needs permission to read connections.")
    xero = XeroConnection.objects.annotate(shop_count=Count("shop")).order_by("name")
    shops = Shop.objects.filter(channel=Channel.TIKTOK).select_related("connection").order_by("code")
    return _page(
        request,
        "connections.html",
        "Connections",
        xero=[_xero_row(c) for c in xero],
        tiktok=[_tiktok_row(s) for s in shops],
        can_add_xero=request.user.has_perm("reconciliation.add_xeroconnection"),
        can_change_xero=request.user.has_perm("reconciliation.change_xeroconnection"),
        can_tiktok=_may(tiktok_connect.require, request.user),
        xero_redirect=_absolute(request, "admin:connections_xero_callback"),
        tiktok_redirect=_absolute(request, "admin:connections_tiktok_callback"),
        xero_app=bool(settings.XERO_CLIENT_ID),
        tiktok_app=bool(settings.TIKTOK_APP_KEY and settings.TIKTOK_SERVICE_ID),
    )


def _xero_row(connection: XeroConnection) -> dict:
    if connection.refresh_token:
        kind = "standard (OAuth2)"
    elif connection.client_secret:
        kind = "custom connection"
    else:
        kind = "no credentials"
    return {
        "connection": connection,
        "kind": kind,
        "status": connection.get_status_display(),
        "ok": connection.status == XeroConnection.Status.ACTIVE
        and bool(connection.refresh_token or connection.client_secret),
        "token_until": connection.access_token_expires_at,
    }


def _tiktok_row(shop: Shop) -> dict:
    connection: ShopConnection | None = getattr(shop, "connection", None)
    authorised = bool(connection and (connection.access_token or connection.refresh_token))
    return {
        # the last run, failed ones too (ShopConnection.last_synced_at moves only on success)
        "last_run": SyncRun.objects.filter(shop=shop).order_by("-started_at", "-id").first(),
        "shop": shop,
        "connection": connection,
        "authorised": authorised,
        "state": "authorised" if authorised else ("disconnected" if connection else "never authorised"),
    }


# -- Xero ---------------------------------------------------------------------------------------
class XeroConnectForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("standard", "Standard: sign in to Xero and pick the organisation (OAuth2)"),
            ("custom", "Custom connection: one organisation, client credentials, no sign-in"),
        ],
        widget=forms.RadioSelect,
        initial="standard",
    )
    client_id = forms.CharField(
        max_length=100, label="Client ID", help_text="From the app at developer.xero.com"
    )
    client_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        label="Client secret",
        help_text="Stored encrypted and never shown again. Leave blank to use the one already held.",
    )


def xero_connect_view(request: HttpRequest) -> HttpResponse:
    reconnect = _reconnecting(request)
    xero_connect.require(request.user, "change" if reconnect else "add")
    initial = {"client_id": (reconnect and reconnect.client_id) or settings.XERO_CLIENT_ID}
    if reconnect is not None and not reconnect.refresh_token and reconnect.client_secret:
        initial["kind"] = "custom"
    form = XeroConnectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        client_id = form.cleaned_data["client_id"].strip()
        secret = form.cleaned_data["client_secret"] or _held_secret(reconnect, client_id)
        if not secret:
            form.add_error(
                "client_secret", "Enter the app's client secret (none is held for this client ID)."
            )
        elif form.cleaned_data["kind"] == "custom":
            return _xero_custom(request, client_id, secret, reconnect)
        else:
            state = secrets.token_urlsafe(32)
            redirect_uri = _absolute(request, "admin:connections_xero_callback")
            _keep(request, PENDING, "xero", state=state, client_id=client_id, client_secret=secret,
                  redirect_uri=redirect_uri, reconnect=reconnect.pk if reconnect else None)  # fmt: skip
            url = xero_connect.xero_authorise_url(client_id=client_id, redirect_uri=redirect_uri, state=state)
            return HttpResponseRedirect(url)
    title = f"Reconnect {reconnect.name}" if reconnect else "Connect a Xero organisation"
    return _page(request, "connect_form.html", title, form=form, reconnect=reconnect, provider="xero",
                 redirect_uri=_absolute(request, "admin:connections_xero_callback"))  # fmt: skip


def _reconnecting(request: HttpRequest) -> XeroConnection | None:
    pk = request.GET.get("reconnect") or request.POST.get("reconnect")
    return get_object_or_404(XeroConnection, pk=pk) if pk and str(pk).isdigit() else None


def _held_secret(reconnect: XeroConnection | None, client_id: str) -> str:
    """A secret already held for this client id: the connection's own, else the environment's."""
    if reconnect is not None and reconnect.client_id == client_id and reconnect.client_secret:
        return reconnect.client_secret
    return settings.XERO_CLIENT_SECRET if client_id == settings.XERO_CLIENT_ID else ""


def _xero_custom(request, client_id: str, secret: str, reconnect: XeroConnection | None) -> HttpResponse:
    try:
        grant = xero_connect.xero_grant_custom(client_id=client_id, client_secret=secret)
    except ConnectorError as exc:
        messages.error(request, f"Xero refused the custom connection: {_said(exc, secret, user=client_id)}")
        return _back(request)
    return _xero_chosen(request, grant, reconnect)


def xero_callback_view(request: HttpRequest) -> HttpResponse:
    pending = _returned(request, "xero", "Xero did not connect")
    if pending is None:
        return _back(request)
    reconnect = (
        XeroConnection.objects.filter(pk=pending["reconnect"]).first() if pending["reconnect"] else None
    )
    try:
        grant = xero_connect.xero_grant_from_code(
            client_id=pending["client_id"],
            client_secret=pending["client_secret"],
            code=request.GET.get("code", ""),
            redirect_uri=pending["redirect_uri"],
        )
    except (ConnectorError, ValidationError) as exc:
        said = _said(exc, pending["client_secret"], request.GET.get("code", ""), user=pending["client_id"])
        messages.error(request, f"Xero did not connect: {said}. Nothing was changed.")
        return _back(request)
    return _xero_chosen(request, grant, reconnect)


def _xero_chosen(request, grant: xero_connect.XeroGrant, reconnect: XeroConnection | None) -> HttpResponse:
    """Save at once when there is nothing to choose (a reconnect, or one organisation); else pick."""
    if reconnect is not None:
        return _xero_save(request, grant, reconnect.tenant_id, reconnect)
    if len(grant.tenants) == 1:
        return _xero_save(request, grant, grant.tenants[0]["tenantId"], None)
    _keep(request, GRANT, "xero", **_xero_grant_dump(grant))
    return HttpResponseRedirect(reverse("admin:connections_xero_pick"))


def _xero_save(request, grant, tenant_id: str, reconnect: XeroConnection | None) -> HttpResponse:
    try:
        done = xero_connect.xero_connection_save(
            user=request.user, grant=grant, tenant_id=tenant_id, reconnect=reconnect
        )
    except ValidationError as exc:
        messages.error(request, f"Not connected: {_said(exc)}")
        return _back(request)
    messages.success(request, done.message)
    if done.warning:
        messages.warning(request, done.warning)
    return _back(request)


def xero_pick_view(request: HttpRequest) -> HttpResponse:
    xero_connect.require(request.user, "add")
    data = _peek(request, GRANT, "xero")
    if data is None:
        return _back(request)
    grant = _xero_grant_load(data)
    if request.method == "POST":
        _take(request, GRANT, "xero")
        return _xero_save(request, grant, request.POST.get("choice", ""), None)
    known = dict(XeroConnection.objects.values_list("tenant_id", "name"))
    choices = [
        {
            "value": t["tenantId"],
            "label": t.get("tenantName") or t["tenantId"],
            "note": f"already connected as {known[t['tenantId']]}: its tokens are renewed"
            if t["tenantId"] in known
            else "new connection",
        }
        for t in grant.tenants
    ]
    return _page(request, "pick.html", "Which Xero organisation?", choices=choices,
                 question="Xero granted access to these organisations. Pick the one to connect; "
                 "connect again for another one.")  # fmt: skip


def xero_disconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(XeroConnection, pk=pk)
    xero_connect.require(request.user, "change")
    if request.method == "POST":
        try:
            messages.success(request, xero_connect.xero_disconnect(user=request.user, connection=connection))
        except ConnectorError as exc:
            messages.error(request, f"Not disconnected: Xero could not be reached ({exc}). Try again.")
        return _back(request)
    shops = list(Shop.objects.filter(xero_connection=connection).values_list("code", flat=True))
    consequences = [
        "Xero is asked to remove LedgerSync's access to this organisation.",
        "Its tokens and client secret are forgotten here.",
        "Documents already in Xero stay there; every posting record is kept.",
    ]
    if shops:
        consequences.append(
            f"Shops {', '.join(shops)} stop posting: their postings wait, nothing is lost, until it is reconnected."
        )
    return _page(request, "confirm.html", f"Disconnect {connection.name}?", consequences=consequences,
                 action="Disconnect")  # fmt: skip


def _xero_grant_dump(grant: xero_connect.XeroGrant) -> dict:
    tokens = grant.tokens
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat(),
        "scope": tokens.scope,
        "tenants": list(grant.tenants),
        "client_id": grant.client_id,
        "client_secret": grant.client_secret,
        "attempts": [dataclasses.asdict(attempt) for attempt in grant.attempts],
    }


def _xero_grant_load(data: dict) -> xero_connect.XeroGrant:
    tokens = XeroTokens(
        data["access_token"], data["refresh_token"], datetime.fromisoformat(data["expires_at"]), data["scope"]
    )
    attempts = tuple(Attempt(**attempt) for attempt in data.get("attempts", []))
    return xero_connect.XeroGrant(
        tokens, tuple(data["tenants"]), data["client_id"], data["client_secret"], attempts
    )


# -- TikTok -------------------------------------------------------------------------------------
class TikTokAuthoriseForm(forms.Form):
    app_key = forms.CharField(
        max_length=100, label="App key", help_text="From the app in TikTok Shop Partner Center"
    )
    app_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="App secret",
        help_text="Stored encrypted and never shown again. Leave blank to use the one already held.",
    )
    service_id = forms.CharField(
        max_length=64, label="Service ID", help_text="The ID in the app's authorisation link (Partner Center)"
    )


def tiktok_authorise_view(request: HttpRequest, shop_pk: int) -> HttpResponse:
    shop = get_object_or_404(Shop, pk=shop_pk, channel=Channel.TIKTOK)
    tiktok_connect.require(request.user)
    held: ShopConnection | None = getattr(shop, "connection", None)
    initial = {
        "app_key": (held and held.app_key) or settings.TIKTOK_APP_KEY,
        "service_id": settings.TIKTOK_SERVICE_ID,
    }
    form = TikTokAuthoriseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        app_key = form.cleaned_data["app_key"].strip()
        secret = form.cleaned_data["app_secret"] or _held_app_secret(held, app_key)
        if not secret:
            form.add_error("app_secret", "Enter the app secret (none is held for this app key).")
        else:
            state = secrets.token_urlsafe(32)
            _keep(request, PENDING, "tiktok", state=state, shop=shop.pk, app_key=app_key, app_secret=secret)
            url = tiktok_connect.tiktok_authorise_url(
                service_id=form.cleaned_data["service_id"].strip(), state=state
            )
            return HttpResponseRedirect(url)
    verb = "Re-authorise" if held and held.external_shop_id else "Authorise"
    return _page(request, "connect_form.html", f"{verb} {shop.code} at TikTok Shop", form=form, provider="tiktok",
                 shop=shop, redirect_uri=_absolute(request, "admin:connections_tiktok_callback"))  # fmt: skip


def _held_app_secret(held: ShopConnection | None, app_key: str) -> str:
    if held is not None and held.app_key == app_key and held.app_secret:
        return held.app_secret
    return settings.TIKTOK_APP_SECRET if app_key == settings.TIKTOK_APP_KEY else ""


def tiktok_callback_view(request: HttpRequest) -> HttpResponse:
    pending = _returned(request, "tiktok", "TikTok did not authorise")
    if pending is None:
        return _back(request)
    shop = get_object_or_404(Shop, pk=pending["shop"])
    # TikTok's redirect carries the auth code as `code` (Partner Center guide); `auth_code` is
    # accepted too, as some of its older pages name it so.
    code = request.GET.get("code") or request.GET.get("auth_code", "")
    try:
        grant = tiktok_connect.tiktok_grant_from_code(
            shop=shop, app_key=pending["app_key"], app_secret=pending["app_secret"], code=code
        )
    except (ConnectorError, ValidationError) as exc:
        said = _said(exc, pending["app_secret"], code)
        messages.error(request, f"TikTok did not authorise {shop.code}: {said}. Nothing was changed.")
        return _back(request)
    held = getattr(shop, "connection", None)
    same = [s for s in grant.shops if held is not None and s.get("id") == held.external_shop_id]
    if same or len(grant.shops) == 1:
        return _tiktok_save(request, shop, grant, (same or list(grant.shops))[0]["id"])
    _keep(request, GRANT, "tiktok", **_tiktok_grant_dump(grant, shop))
    return HttpResponseRedirect(reverse("admin:connections_tiktok_pick"))


def _tiktok_save(request, shop: Shop, grant: tiktok_connect.TikTokGrant, tiktok_shop_id: str) -> HttpResponse:
    try:
        messages.success(
            request,
            tiktok_connect.tiktok_shop_attach(
                user=request.user, shop=shop, grant=grant, tiktok_shop_id=tiktok_shop_id
            ),
        )
    except ValidationError as exc:
        messages.error(request, f"Not authorised: {_said(exc)}")
    return _back(request)


def tiktok_pick_view(request: HttpRequest) -> HttpResponse:
    tiktok_connect.require(request.user)
    data = _peek(request, GRANT, "tiktok")
    if data is None:
        return _back(request)
    grant, shop = _tiktok_grant_load(data)
    if request.method == "POST":
        _take(request, GRANT, "tiktok")
        return _tiktok_save(request, shop, grant, request.POST.get("choice", ""))
    choices = [
        {
            "value": s["id"],
            "label": f"{s.get('name')} ({s.get('region')})",
            "note": f"TikTok shop id {s['id']}, {s.get('seller_type', '').lower() or 'seller'}",
        }
        for s in grant.shops
    ]
    return _page(request, "pick.html", f"Which TikTok shop is {shop.code}?", choices=choices,
                 question=f"The seller authorised these shops. Pick the one whose money {shop.code} "
                 f"({shop.name}, {shop.region}) posts to Xero.")  # fmt: skip


def tiktok_disconnect_view(request: HttpRequest, shop_pk: int) -> HttpResponse:
    shop = get_object_or_404(Shop, pk=shop_pk, channel=Channel.TIKTOK)
    tiktok_connect.require(request.user)
    if request.method == "POST":
        messages.success(request, tiktok_connect.tiktok_disconnect(user=request.user, shop=shop))
        return _back(request)
    consequences = [
        "Its TikTok tokens are forgotten here; its syncs stop until it is authorised again.",
        "Statements, orders and postings already read are kept.",
        "Its TikTok shop id stays: once it holds statements, payouts or orders, a new authorisation "
        "must be for the same TikTok shop.",
        "TikTok has no call to revoke an app: the seller removes it in Seller Center.",
    ]
    return _page(request, "confirm.html", f"Disconnect {shop.code} from TikTok?", consequences=consequences,
                 action="Disconnect")  # fmt: skip


def _tiktok_grant_dump(grant: tiktok_connect.TikTokGrant, shop: Shop) -> dict:
    t = grant.tokens
    return {
        "access_token": t.access_token,
        "access_until": t.access_token_expires_at.isoformat(),
        "refresh_token": t.refresh_token,
        "refresh_until": t.refresh_token_expires_at.isoformat(),
        "shops": list(grant.shops),
        "app_key": grant.app_key,
        "app_secret": grant.app_secret,
        "shop": shop.pk,
    }


def _tiktok_grant_load(data: dict) -> tuple[tiktok_connect.TikTokGrant, Shop]:
    tokens = TokenSet(
        access_token=data["access_token"],
        access_token_expires_at=datetime.fromisoformat(data["access_until"]),
        refresh_token=data["refresh_token"],
        refresh_token_expires_at=datetime.fromisoformat(data["refresh_until"]),
    )
    grant = tiktok_connect.TikTokGrant(tokens, tuple(data["shops"]), data["app_key"], data["app_secret"])
    return grant, get_object_or_404(Shop, pk=data["shop"])


# -- plumbing -----------------------------------------------------------------------------------
def _keep(request: HttpRequest, key: str, provider: str, **data) -> None:
    """Park `data` in the session, encrypted (it holds a secret or tokens), for MAX_AGE seconds.
    One slot per provider: a TikTok authorisation started in another tab leaves a Xero connection
    under way alone."""
    request.session[_slot(key, provider)] = {"at": time.time(), "data": encrypt(json.dumps(data))}


def _slot(key: str, provider: str) -> str:
    return f"{key}_{provider}"


def _peek(request: HttpRequest, key: str, provider: str) -> dict | None:
    held = request.session.get(_slot(key, provider))
    if not held:
        messages.error(request, "Nothing is waiting to be connected: start again from this page.")
        return None
    if time.time() - held["at"] > MAX_AGE:
        request.session.pop(_slot(key, provider), None)
        messages.error(
            request, f"That took more than {MAX_AGE // 60} minutes: start again. Nothing was changed."
        )
        return None
    return json.loads(decrypt(held["data"]))


def _take(request: HttpRequest, key: str, provider: str, state: str | None = None) -> dict | None:
    """Like _peek, and removed from the session (used once); with `state`, it must match. An answer
    with another state leaves the waiting one alone: anyone can send a browser to the callback
    with a made-up state, and that must not cancel the connection the user started."""
    data = _peek(request, key, provider)
    if (
        data is not None
        and state is not None
        and not secrets.compare_digest(str(data.get("state", "")), state)
    ):
        messages.error(
            request,
            "That answer does not belong to the connection started here (state mismatch): start again.",
        )
        return None
    request.session.pop(_slot(key, provider), None)
    return data


def _returned(request: HttpRequest, provider: str, failed: str) -> dict | None:
    """What waited for the provider's callback, once its `state` matched; None (said why) when it
    did not, or when the provider sent the user back with an error instead of a code."""
    pending = _take(request, PENDING, provider, request.GET.get("state", ""))
    if pending is not None and (error := request.GET.get("error")):
        messages.warning(request, f"{failed}: {_provider_error(error)}. Nothing was changed.")
        return None
    return pending


def _provider_error(error: str) -> str:
    return "you cancelled on the provider's page" if error == "access_denied" else error


def _said(exc: Exception, *secret: str, user: str = "") -> str:
    """The error in words, with every `secret` cut out, also URL-encoded and in a Basic header
    with `user`: a provider, or a gateway in front of it, may echo the request in its error page."""
    text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    forms: set[str] = set()
    for value in filter(None, secret):
        forms |= {value, quote(value, safe=""), quote_plus(value)}
        forms.add(base64.b64encode(f"{user}:{value}".encode()).decode())
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[redacted]")
    return text


def _may(check, user) -> bool:
    try:
        check(user)
    except PermissionDenied:
        return False
    return True


def _absolute(request: HttpRequest, name: str) -> str:
    """The callback URL the provider must know exactly. Behind a TLS-terminating proxy the request
    looks like http://, which Xero refuses for a redirect URI: CONNECT_CALLBACK_BASE (the https://
    address users open) then says it."""
    if settings.CONNECT_CALLBACK_BASE:
        return settings.CONNECT_CALLBACK_BASE + reverse(name)
    return request.build_absolute_uri(reverse(name))


def _back(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("admin:connections"))


def _page(request: HttpRequest, template: str, title: str, **context) -> HttpResponse:
    return TemplateResponse(
        request,
        f"admin/reconciliation/connections/{template}",
        # Tables wide enough for their columns at 1400 px: no model sidebar beside them.
        {**admin.site.each_context(request), "title": title, "is_nav_sidebar_enabled": False, **context},
    )
