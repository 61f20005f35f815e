"""The month-end close pack page (README, "Month-end close pack"): a shop and a month, the pack on
screen and as one XLSX workbook. Thin: reconciliation/close_pack.py assembles, close_pack_xlsx.py
writes. Served at admin/close-pack/ (reconciliation/admin/site.py).

Who may open it: anyone who may read payouts (view_payout: Finance, Auditor, Operations and
administrators, reconciliation/roles.py). It is a report of what is already readable page by page
in the admin, so it is refused only to staff who cannot read payouts at all.
"""

from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from reconciliation.close_pack import close_pack
from reconciliation.close_pack_xlsx import close_pack_xlsx
from reconciliation.models import Payout, Shop

PERMISSION = "reconciliation.view_payout"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ClosePackForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=Shop.objects.order_by("code"), empty_label=None)
    month = forms.RegexField(
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        widget=forms.DateInput(attrs={"type": "month"}),
        error_messages={"invalid": "Pick a month (YYYY-MM)."},
    )

    def year_month(self) -> tuple[int, int]:
        year, month = self.cleaned_data["month"].split("-")
        return int(year), int(month)


def close_pack_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied(
            "The close pack needs permission to read payouts (Finance, Auditor, Operations)."
        )
    form = ClosePackForm(request.GET if "shop" in request.GET else _initial())
    pack = None
    if form.is_valid():
        pack = close_pack(form.cleaned_data["shop"], *form.year_month())
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(close_pack_xlsx(pack), content_type=XLSX)
            name = f"close-pack-{pack.shop.code}-{pack.first_day:%Y-%m}.xlsx"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    context = {
        **admin.site.each_context(request),
        "title": "Month-end close pack",
        # A report wide enough for its columns at 1400 px: no model sidebar beside it.
        "is_nav_sidebar_enabled": False,
        "form": form,
        "pack": pack,
    }
    return TemplateResponse(request, "admin/reconciliation/close_pack.html", context)


def _initial() -> dict:
    """The first shop, and the month of its latest payout (the month being closed is usually the
    one just ended; the latest payout's month is the one with something in it)."""
    shop = Shop.objects.order_by("code").first()
    latest = Payout.objects.filter(shop=shop).exclude(paid_date=None).order_by("-paid_date").first()
    day: date = latest.paid_date if latest and latest.paid_date else timezone.localdate()
    return {"shop": shop.pk if shop else None, "month": f"{day:%Y-%m}"}
