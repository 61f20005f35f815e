"""The finance queue: quarantined items, read-only, decided only through the quarantine services.

Approve, retry and dismiss are admin actions that only Finance sees (the decide permission); each
calls `reconciliation.services.quarantine` per item, which checks the permission again, and reports
every refusal as an error message instead of failing the page. Approve and dismiss go through an
intermediate page: approve to confirm the date (and, for a taxed shop, read the VAT warning), dismiss for the reason.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.timesince import timesince

from reconciliation.admin.audit import admin_link
from reconciliation.admin.base import ReadOnlyAdmin, pretty
from reconciliation.models import QuarantineItem, XeroPosting
from reconciliation.models.quarantine import Reason
from reconciliation.services.decision_outcomes import Outcome, decision_outcome
from reconciliation.services.quarantine import (
    DECIDE,
    quarantine_approve,
    quarantine_dismiss,
    quarantine_retry,
)


class ApproveForm(forms.Form):
    document_date = forms.DateField(
        label="Post on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave blank to post each document on its proposed date (the first open day after "
        "the lock date). A date before that is refused.",
    )


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Required. Kept with the item, with your name, for the auditor.",
    )


class RetryForm(forms.Form):
    pass


@dataclass(frozen=True)
class Decision:
    name: str
    title: str
    button: str
    form: type[forms.Form]
    run: Callable[..., QuarantineItem]


DECISIONS = {
    "approve": Decision(
        "approve",
        "Approve: post re-dated",
        "Approve and re-date",
        ApproveForm,
        lambda item, user, data: quarantine_approve(
            item=item, user=user, document_date=data.get("document_date")
        ),
    ),
    "retry": Decision(
        "retry",
        "Retry",
        "Retry",
        RetryForm,
        lambda item, user, data: quarantine_retry(item=item, user=user),
    ),
    "dismiss": Decision(
        "dismiss",
        "Dismiss: will not be posted",
        "Dismiss",
        DismissForm,
        lambda item, user, data: quarantine_dismiss(item=item, user=user, reason=data["reason"]),
    ),
}


def can_be_approved(item: QuarantineItem) -> bool:
    return item.reason == Reason.LOCK_DATE and item.posting_id is not None


def can_be_retried(item: QuarantineItem) -> bool:
    """What quarantine_retry refuses is not offered: a document already in Xero is corrected there."""
    posted = item.posting is not None and item.posting.state == XeroPosting.State.POSTED
    return item.reason != Reason.XERO_MISMATCH and not posted


# Which decisions an open item's page offers (Finance only; a button that is always refused is not shown).
OFFERED: dict[str, Callable[[QuarantineItem], bool]] = {
    "approve": can_be_approved,
    "retry": can_be_retried,
    "dismiss": lambda item: True,
}


class StatusFilter(admin.SimpleListFilter):
    """Open items by default: the queue is what still needs a decision."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*QuarantineItem.Status.choices, (self.ALL, "All")]

    def value(self):
        return super().value() or QuarantineItem.Status.OPEN

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())

    def choices(self, changelist):
        choices = super().choices(changelist)
        next(choices)  # Django's own "All" drops the parameter, which here means "open"
        yield from choices


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "older_than"
    DAYS = {"day": 1, "week": 7}

    def lookups(self, request, model_admin):
        return [("day", "older than a day"), ("week", "older than a week")]

    def queryset(self, request, queryset):
        days = self.DAYS.get(self.value())
        if days is None:
            return queryset
        return queryset.filter(created_at__lt=timezone.now() - timedelta(days=days))


@admin.register(QuarantineItem)
class QuarantineItemAdmin(ReadOnlyAdmin):
    list_display = ("reason", "source_ref", "summary", "status", "proposed_date", "age")
    list_filter = (StatusFilter, "reason", "shop", AgeFilter)
    search_fields = ("source_ref", "message")
    list_select_related = ("shop",)
    actions = ["approve", "retry", "dismiss"]
    decide_template = "admin/reconciliation/quarantineitem/decide.html"

    @admin.display(description="why")
    def summary(self, obj):
        first = obj.message.splitlines()[0] if obj.message else ""
        # The source ref is its own column; drop it from the front of the message.
        first = first.removeprefix(f"{obj.source_ref}: ").removeprefix(obj.source_ref)
        return first if len(first) <= 140 else first[:139] + "…"

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reason",
                    "status",
                    "shop",
                    "source_ref",
                    "message",
                    "proposed_action",
                    "proposed_date",
                    "created_at",
                    "age",
                ]
            },
        ),
        ("What is held", {"fields": ["source_link", "posting_summary"]}),
        ("Decision", {"fields": ["decided_by", "decided_at", "decision_note", "resolved_at"]}),
        ("Planned document and Xero's messages", {"fields": ["details_pretty"]}),
    ]

    # Nothing is edited directly (ReadOnlyAdmin): every change is a decision through the services.
    def has_decide_permission(self, request):
        return request.user.has_perm(DECIDE)

    @admin.display(description="age", ordering="-created_at")
    def age(self, obj):
        return timesince(obj.created_at)

    @admin.display(description="held document")
    def posting_summary(self, obj):
        return admin_link(obj.posting)

    @admin.display(description="source")
    def source_link(self, obj):
        return admin_link(obj.source)

    details_pretty = pretty("details", "details")

    # --- actions ----------------------------------------------------------------------------------

    @admin.action(permissions=["decide"], description="Approve selected lock-date items (re-date)…")
    def approve(self, request, queryset):
        return self._decide_from_action(request, queryset, DECISIONS["approve"])

    @admin.action(permissions=["decide"], description="Retry selected items")
    def retry(self, request, queryset):
        self._apply(request, queryset, DECISIONS["retry"], {})

    @admin.action(permissions=["decide"], description="Dismiss selected items (with a reason)…")
    def dismiss(self, request, queryset):
        return self._decide_from_action(request, queryset, DECISIONS["dismiss"])

    def _decide_from_action(self, request, queryset, decision: Decision):
        form = decision.form(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, decision, form.cleaned_data)
            return None  # back to the changelist
        return self._decision_page(request, queryset, decision, form, from_action=True)

    def _apply(self, request, queryset, decision: Decision, data: dict) -> None:
        """Each item through its service; then what each one actually did, read back from the rows
        once committed (services/decision_outcomes.py), and for several items a count of each."""
        outcomes: list[Outcome] = []
        for item in queryset.select_related("shop", "posting"):
            try:
                decision.run(item, request.user, data)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{_title(item)}: {_explain(exc)}", messages.ERROR)
                continue
            outcome = decision_outcome(item=item, decision=decision.name)
            outcomes.append(outcome)
            level = messages.SUCCESS if outcome.done else messages.WARNING
            self.message_user(request, f"{_title(item)}: {outcome.text}", level)
        if len(outcomes) > 1:
            counts = Counter(outcome.kind for outcome in outcomes)
            summary = ", ".join(f"{n} {COUNTED.get(kind, kind)}" for kind, n in counts.items())
            level = messages.SUCCESS if all(o.done for o in outcomes) else messages.WARNING
            self.message_user(request, f"{decision.button}, {len(outcomes)} items: {summary}.", level)

    def _decision_page(self, request, queryset, decision: Decision, form, *, from_action: bool):
        items = list(queryset.select_related("shop", "posting"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": decision.title,
            "decision": decision,
            "items": [(item, can_be_approved(item)) for item in items],
            # VAT only where it applies: a NoTax shop (US) has no VAT return to move into
            "vat_applies": any(item.shop.is_taxed() for item in items),
            "form": form,
            "from_action": from_action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.decide_template, context)

    # --- the same decisions from an item's own page -------------------------------------------------

    def get_urls(self):
        decide = path(
            "<path:object_id>/decide/<str:decision>/",
            self.admin_site.admin_view(self.decide_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request, object_id, decision):
        chosen = DECISIONS.get(decision)
        if chosen is None:
            raise Http404(f"no decision {decision!r}")
        if not self.has_decide_permission(request):
            raise PermissionDenied
        item = self.get_object(request, unquote(object_id))
        if item is None:
            raise Http404("no such quarantined item")
        just_this = QuarantineItem.objects.filter(pk=item.pk)
        form = chosen.form(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._apply(request, just_this, chosen, form.cleaned_data)
            return HttpResponseRedirect(self._url("change", item.pk))
        return self._decision_page(request, just_this, chosen, form, from_action=False)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        item = self.get_object(request, unquote(object_id))
        if item is not None and item.is_open() and self.has_decide_permission(request):
            extra_context["decisions"] = [
                (self._url("decide", item.pk, name), decision.button)
                for name, decision in DECISIONS.items()
                if OFFERED[name](item)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _url(self, view: str, *args) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}", args=args)


# How a count of outcomes reads in the summary of a bulk action.
COUNTED = {
    "queued": "queued",
    "posted": "posted",
    "waiting": "waiting for another document",
    "failing": "failing in Xero, retried",
    "refused": "refused again by Xero",
    "held": "still held",
    "inconsistent": "still inconsistent",
    "resolved": "resolved",
    "dismissed": "dismissed",
    "nothing": "with nothing to send",
}


def _title(item: QuarantineItem) -> str:
    return f"#{item.pk} {item.get_reason_display()}: {item.source_ref}"


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "permission denied"
