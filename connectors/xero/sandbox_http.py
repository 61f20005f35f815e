"""HTTP plumbing of the Xero sandbox: responses, bodies, OAuth endpoints, the spec file (DESIGN.md 6, 7)."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import parse_qs, urlencode

import httpx

from connectors.sandbox_consent import consent_page, error_page, redirect, with_query
from connectors.xero.openapi import XeroSpec
from connectors.xero.sandbox_access import TokenStore
from connectors.xero.sandbox_wire import BadRequest, problem, to_bytes

if TYPE_CHECKING:
    from connectors.xero.sandbox import XeroSandbox

JSON_TYPE = "application/json; charset=utf-8"


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


def respond(status: int, body, headers: dict | None = None) -> httpx.Response:
    headers = {"Content-Type": JSON_TYPE, "Xero-Correlation-Id": str(uuid.uuid4()), **(headers or {})}
    return httpx.Response(status, headers=headers, content=to_bytes(body))


def validation_error(message: str) -> dict:
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message}


def json_body(request: httpx.Request) -> tuple[object, object]:
    """(body with Decimal amounts for the rules, body with floats for the OpenAPI check)."""
    if request.method not in ("PUT", "POST"):
        return None, None
    if not request.content:
        raise BadRequest("No data has been received; a body is required")
    try:
        return json.loads(request.content, parse_float=Decimal), json.loads(request.content)
    except ValueError as exc:
        raise BadRequest(f"JSON for post data was invalid: {exc}") from exc


def token_endpoint(tokens: TokenStore, request: httpx.Request) -> httpx.Response:
    """POST identity.xero.com/connect/token: refresh_token (rotates), authorization_code,
    client_credentials (custom connections, no refresh token). Errors as RFC 6749 5.2."""
    form = {k: v[-1] for k, v in parse_qs(request.content.decode()).items()}
    if not (request.headers.get("Authorization", "").startswith("Basic ") or form.get("client_id")):
        return respond(400, {"error": "invalid_client"})
    grant_type = form.get("grant_type")
    if grant_type == "refresh_token":
        grant = tokens.refresh(form.get("refresh_token", ""))
    elif grant_type == "authorization_code":
        grant = tokens.exchange_code(
            form.get("code", ""), form.get("redirect_uri", ""), _client_id(request, form)
        )
    elif grant_type == "client_credentials":
        grant = tokens.issue(with_refresh=False)
    else:
        return respond(400, {"error": "unsupported_grant_type"})
    return respond(200, grant) if grant else respond(400, {"error": "invalid_grant"})


def _client_id(request: httpx.Request, form: dict[str, str]) -> str:
    """The client a token request authenticates as: its Basic header's user, else the form's."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return ""
    return form.get("client_id", "")


def unauthorised(tokens: TokenStore, request: httpx.Request) -> httpx.Response | None:
    """None when the bearer token is valid, else Xero's 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and tokens.valid(token.strip()):
        return None
    body = problem(401, "Unauthorized", "AuthenticationUnsuccessful")
    return respond(401, body, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def connection_id(tenant_id: str) -> str:
    """The id of the user's connection to a tenant (what DELETE /connections/{id} takes)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, tenant_id))


def connections(sandbox: XeroSandbox) -> list[dict]:
    """GET api.xero.com/connections: the tenant this sandbox is, then the organisations it serves
    too, less those the app was disconnected from."""
    stamp = sandbox.clock().strftime("%Y-%m-%dT%H:%M:%S.%f")
    return [
        {
            "id": connection_id(org.tenant_id),
            "authEventId": str(uuid.uuid4()),
            "tenantId": org.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": org.org.Name,
            "createdDateUtc": stamp,
            "updatedDateUtc": stamp,
        }
        for org in (sandbox, *sandbox.organisations.values())
        if org.tenant_id not in sandbox.disconnected
    ]


def disconnect(sandbox: XeroSandbox, request: httpx.Request, path: str) -> httpx.Response:
    """DELETE api.xero.com/connections/{id}: the app loses that tenant until the user connects again
    (Xero: "Removing connections"; answered 204 No Content)."""
    if denied := unauthorised(sandbox.tokens, request):
        return denied
    wanted = path.rsplit("/", 1)[-1]
    for org in (sandbox, *sandbox.organisations.values()):
        if connection_id(org.tenant_id) == wanted and org.tenant_id not in sandbox.disconnected:
            sandbox.disconnected.add(org.tenant_id)
            return httpx.Response(204)
    return respond(404, problem(404, "Not Found", f"no connection {wanted}"))


def authorise(sandbox: XeroSandbox, request: httpx.Request) -> httpx.Response:
    """GET login.xero.com/identity/connect/authorize: the consent screen, then the redirect to the
    app's callback with `code`, `scope` and `state` (or `error=access_denied`)."""
    params = dict(request.url.params)
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
    if params.get("response_type") != "code" or not params.get("client_id") or not redirect_uri:
        return error_page(
            400, "unauthorized_client: response_type=code, client_id and redirect_uri are required"
        )
    decision = params.pop("decision", "")
    if decision == "deny":
        return redirect(redirect_uri, {"error": "access_denied", "state": state})
    if decision == "allow":
        sandbox.disconnected.clear()  # connecting again grants every organisation again
        code = sandbox.tokens.issue_code(
            redirect_uri=redirect_uri, scope=params.get("scope", ""), client_id=params["client_id"]
        )
        return redirect(redirect_uri, {"code": code, "scope": params.get("scope", ""), "state": state})
    # Relative links: over HTTP the browser stays on the sandbox server, not the real login host.
    here = f"{request.url.path}?{urlencode(params)}"
    return consent_page(
        title="Xero (sandbox): connect an app",
        question=f"Allow app {params['client_id']} to use these organisations ({params.get('scope', '')})?",
        items=[org.org.Name for org in (sandbox, *sandbox.organisations.values())],
        allow=with_query(here, {"decision": "allow"}),
        deny=with_query(here, {"decision": "deny"}),
    )


def load_spec(spec_path: Path | None) -> XeroSpec | None:
    if spec_path is None:
        spec_path = _settings_spec_path()
    if spec_path is None or not Path(spec_path).is_file():
        return None
    return XeroSpec.load(spec_path)


def _settings_spec_path() -> Path | None:
    """settings.XERO_OPENAPI_SPEC when Django is configured; otherwise run unchecked."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:
        return None
    try:
        return getattr(settings, "XERO_OPENAPI_SPEC", None)
    except ImproperlyConfigured:
        return None
