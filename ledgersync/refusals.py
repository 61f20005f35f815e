"""Refusals in the admin's layout that say why (templates/403.html).

Where the code that refused gave a reason (a service's PermissionDenied("only Finance may ...")),
that reason is shown. Where it raised a bare PermissionDenied (Django's admin does), the reason is
worked out from the page asked for: the permission an admin URL needs, the caller's roles, and the
roles (groups) that hold it.
"""

from django.apps import apps
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

# Admin URL names end in the view's name: what each needs, in words and as a permission verb.
ADMIN_VIEWS = {
    "changelist": ("list", "view"),
    "change": ("change", "change"),
    "add": ("add", "add"),
    "delete": ("delete", "delete"),
    "history": ("see the history of", "view"),
}
# Custom admin views guarded by a permission of their own (reconciliation/admin/quarantine.py).
DECISION_PERMISSION = "decide_quarantineitem"


def refused(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: the styled page, with the reason given or one worked out from the URL."""
    reason = str(exception or "") or refusal_reason(request)
    return render(request, "403.html", {"exception": reason}, status=403)


def refusal_reason(request: HttpRequest) -> str:
    """'Your role (Operations) cannot approve quarantined items; Finance can.', or '' when the
    page is not one whose permission we can name."""
    needed = _needed(request)
    if needed is None:
        return ""
    doing, app_label, codename = needed
    roles = (
        ", ".join(request.user.groups.values_list("name", flat=True)) if request.user.is_authenticated else ""
    )
    who = f"Your role ({roles})" if roles else "Your account (no role)"
    holders = list(
        Group.objects.filter(
            permissions__content_type__app_label=app_label, permissions__codename=codename
        ).values_list("name", flat=True)
    )
    can = f"{', '.join(holders)} can" if holders else "ask an administrator"
    return f"{who} cannot {doing}; {can}."


def _needed(request: HttpRequest) -> tuple[str, str, str] | None:
    """(what the page does in words, app label, permission codename) for an admin model URL."""
    try:
        match = request.resolver_match or resolve(request.path_info)
    except Resolver404:
        return None
    if match.namespace != "admin" or not match.url_name:
        return None
    for model in apps.get_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if not match.url_name.startswith(prefix):
            continue
        view = match.url_name.removeprefix(prefix)
        plural = str(model._meta.verbose_name_plural)
        if view == "decide":
            decision = str(match.kwargs.get("decision", "decide on"))
            return f"{decision} {plural}", model._meta.app_label, DECISION_PERMISSION
        if view in ADMIN_VIEWS:
            doing, verb = ADMIN_VIEWS[view]
            return f"{doing} {plural}", model._meta.app_label, f"{verb}_{model._meta.model_name}"
    return None
