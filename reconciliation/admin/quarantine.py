"""The finance queue: quarantined items, read-only, decided only through the quarantine services.

The list shows first what finance decides on (issue 7, item 5): the reason in words, what is held
(linked), the money it holds, the shop, its age, the proposed date and the status; filters by
status, reason, shop, age and amount.

Approve, retry, post as draft and dismiss are admin actions that only Finance sees (the decide
permission); each calls `reconciliation.services.quarantine` per item, which checks the permission
again, and reports every refusal as an error message instead of failing the page. Approve, draft
and dismiss go through an intermediate page: approve to confirm the date (and, for a taxed shop,
read the VAT warning), draft to read what a draft means, dismiss for the reason.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from reconciliation.admin.audit import admin_link
from reconciliation.admin.base import ReadOnlyAdmin, pretty
from reconciliation.admin.money import money_column
from reconciliation.finance_queue import age_words, amount_words, day_start, item_amounts
from reconciliation.models import QuarantineItem
from reconciliation.models.quarantine import Reason
from reconciliation.services.decision_outcomes import Outcome, decision_outcome
from reconciliation.services.quarantine import (
    DECIDE,
    approve_refusal,
    draft_refusal,
    quarantine_approve,
    quarantine_dismiss,
    quarantine_post_as_draft,
    quarantine_retry,
    retry_refusal,
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


class DraftForm(forms.Form):
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
    "draft": Decision(
        "draft",
        "Post as draft: review it in Xero",
        "Post as draft",
        DraftForm,
        lambda item, user, data: quarantine_post_as_draft(item=item, user=user),
    ),
    "dismiss": Decision(
        "dismiss",
        "Dismiss: will not be posted",
        "Dismiss",
        DismissForm,
        lambda item, user, data: quarantine_dismiss(item=item, user=user, reason=data["reason"]),
    ),
}


# Why an open item's page does not offer a decision ("" when it does): the service's own rules,
# which quarantine_approve, quarantine_retry and quarantine_post_as_draft raise with inside their
# transaction (services/quarantine.py).
REFUSALS: dict[str, Callable[[QuarantineItem], str]] = {
    "approve": approve_refusal,
    "retry": retry_refusal,
    "draft": draft_refusal,
    "dismiss": lambda item: "",
}


def refusal(item: QuarantineItem, decision: str) -> str:
    """Why `decision` cannot be made on `item` ("" when it can): a decided item is not decided again
    (the services' `_open`), else the decision's own rule."""
    if not item.can_approve():
        return f"this item is already {item.get_status_display().lower()}"
    return REFUSALS[decision](item)


def can_be_approved(item: QuarantineItem) -> bool:
    return not approve_refusal(item)


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


class ReasonFilter(admin.SimpleListFilter):
    """The reasons items are held for, in words; only those that some item has (not all fourteen)."""

    title = "reason"
    parameter_name = "reason__exact"  # the parameter Django's own filter used: old links still work

    def lookups(self, request, model_admin):
        present = set(QuarantineItem.objects.values_list("reason", flat=True).distinct())
        return [(code, label) for code, label in Reason.choices if code in present]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


class AgeFilter(admin.SimpleListFilter):
    """How long an item has waited, in whole days as the age column counts them."""

    title = "age"
    parameter_name = "older_than"  # "day" and "week" as before: old links still work
    DAYS = {"day": 1, "week": 7, "month": 30}

    def lookups(self, request, model_admin):
        return [
            ("today", "opened today"),
            ("day", "more than 1 day"),
            ("week", "more than 7 days"),
            ("month", "more than 30 days"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "today":
            return queryset.filter(created_at__gte=day_start(0))
        if self.value() in self.DAYS:
            return queryset.filter(created_at__lt=day_start(self.DAYS[self.value()]))
        return queryset


class AmountFilter(admin.SimpleListFilter):
    """By the money an item holds (its size, whatever the currency). The amount is read from the
    item's statement, payout or document (finance_queue.item_amounts), not stored on the item, so
    this filter reads the items left by the other filters; keep it last in list_filter."""

    title = "amount held"
    parameter_name = "amount"
    BUCKETS = {
        "lt100": (Decimal(0), Decimal(100)),
        "100": (Decimal(100), Decimal(1000)),
        "1000": (Decimal(1000), Decimal(10000)),
        "10000": (Decimal(10000), None),
    }

    def lookups(self, request, model_admin):
        return [
            ("lt100", "under 100"),
            ("100", "100 to 1,000"),
            ("1000", "1,000 to 10,000"),
            ("10000", "10,000 or more"),
            ("none", "not known"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in (*self.BUCKETS, "none"):
            return queryset
        items = list(queryset.select_related("shop", "posting"))
        amounts = item_amounts(items)
        return queryset.filter(pk__in=[item.pk for item in items if self._fits(amounts.get(item.pk))])

    def _fits(self, amount) -> bool:
        if amount is None:
            return self.value() == "none"
        if self.value() == "none":
            return False
        low, high = self.BUCKETS[self.value()]
        size = abs(amount[0])
        return size >= low and (high is None or size < high)


@admin.register(QuarantineItem)
class QuarantineItemAdmin(ReadOnlyAdmin):
    # Fits 1400 px beside the menu: why it is held reads under what is held, not in a column of its own.
    list_display = ("reason", "held", "amount", "shop_code", "age", "proposed_date", "status")
    list_display_links = ("reason",)
    list_filter = (StatusFilter, ReasonFilter, "shop", AgeFilter, AmountFilter)
    search_fields = ("source_ref", "message")
    list_select_related = ("shop", "posting")
    actions = ["approve", "retry", "post_as_draft", "dismiss"]
    decide_template = "admin/reconciliation/quarantineitem/decide.html"

    def changelist_view(self, request, extra_context=None):
        title = "Finance queue: what waits for a decision"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def get_changelist_instance(self, request):
        """The money of the page's items in two queries, not per row: kept on each item."""
        changelist = super().get_changelist_instance(request)
        page = list(changelist.result_list)  # the page's queryset, evaluated once and cached
        amounts = item_amounts(page)
        for item in page:
            item.held_amount = amounts.get(item.pk)
        return changelist

    @admin.display(description="why")
    def summary(self, obj):
        first = obj.message.splitlines()[0] if obj.message else ""
        # The source ref is its own column; drop it from the front of the message.
        first = first.removeprefix(f"{obj.source_ref}: ").removeprefix(obj.source_ref).strip()
        first = first[:1].upper() + first[1:]
        return first if len(first) <= 90 else first[:89] + "…"

    @admin.display(description="what is held", ordering="source_ref")
    def held(self, obj):
        target = obj.source or obj.posting
        why = format_html('<div class="help" style="margin: 2px 0 0">{}</div>', self.summary(obj))
        if target is None:
            return format_html("{}{}", obj.source_ref, why)
        url = reverse(f"admin:{target._meta.app_label}_{target._meta.model_name}_change", args=[target.pk])
        return format_html('<a href="{}">{}</a>{}', url, obj.source_ref, why)

    @money_column("amount")
    def amount(self, obj):
        if not hasattr(obj, "held_amount"):  # the item's own page
            obj.held_amount = item_amounts([obj]).get(obj.pk)
        return amount_words(obj.held_amount)

    @admin.display(description="shop", ordering="shop__code")
    def shop_code(self, obj):
        return format_html('<span style="white-space: nowrap">{}</span>', obj.shop.code)

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reason",
                    "status",
                    "amount",
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
        ("Decisions", {"fields": ["decided_by", "decided_at", "decision_note", "resolved_at", "history"]}),
        ("Planned document and Xero's messages", {"fields": ["details_pretty"]}),
    ]

    # Nothing is edited directly (ReadOnlyAdmin): every change is a decision through the services.
    def has_decide_permission(self, request):
        return request.user.has_perm(DECIDE)

    @admin.display(description="age", ordering="-created_at")
    def age(self, obj):
        return age_words(obj)

    @admin.display(description="history")
    def history(self, obj):
        """Every decision on the item, oldest first: who, when, which, what it did or why."""
        rows = decision_history(obj)
        if not rows:
            return "no decision yet"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r["at"], r["by"], r["decision"], r["note"]) for r in rows),
        )
        return format_html(
            "<table><thead><tr><th>when (UTC)</th><th>who</th><th>decision</th><th>what it did / why</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            body,
        )

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

    @admin.action(permissions=["decide"], description="Post selected items to Xero as drafts…")
    def post_as_draft(self, request, queryset):
        return self._decide_from_action(request, queryset, DECISIONS["draft"])

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
        items = list(queryset.select_related("shop", "posting"))
        # a few items: a line each; many: one summary, and a line only for what needs a look
        detailed = len(items) <= BULK_DETAIL
        outcomes: list[Outcome] = []
        refused = 0
        for item in items:
            try:
                decision.run(item, request.user, data)
            except (PermissionDenied, ValidationError) as exc:
                refused += 1
                self.message_user(request, f"{_title(item)}: {_explain(exc)}", messages.ERROR)
                continue
            outcome = decision_outcome(item=item, decision=decision.name)
            outcomes.append(outcome)
            if detailed or not outcome.done:
                level = messages.SUCCESS if outcome.done else messages.WARNING
                self.message_user(request, f"{_title(item)}: {outcome.text}", level)
        if len(items) > 1:
            counts = Counter(COUNTED.get(outcome.kind, outcome.kind) for outcome in outcomes)
            if refused:
                counts["refused by the queue (see above)"] = refused
            summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
            level = messages.SUCCESS if all(o.done for o in outcomes) and not refused else messages.WARNING
            self.message_user(request, f"{decision.button}, {len(items)} items: {summary}.", level)

    def _decision_page(self, request, queryset, decision: Decision, form, *, from_action: bool):
        items = list(queryset.select_related("shop", "posting"))
        if decision.name == "approve" and not form.is_bound and len(items) == 1:
            # the date it will post on, shown: the first open day after the lock dates
            form = decision.form(initial={"document_date": items[0].proposed_date})
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
        refused = refusal(item, chosen.name)
        if refused and request.method != "POST":  # a POST is refused by the service, as a message
            return self._refusal_page(request, item, chosen, refused)
        form = chosen.form(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            self._apply(request, just_this, chosen, form.cleaned_data)
            return HttpResponseRedirect(self._url("change", item.pk))
        return self._decision_page(request, just_this, chosen, form, from_action=False)

    def _refusal_page(self, request, item: QuarantineItem, decision: Decision, reason: str):
        """The decision page, saying why this item cannot be decided so, and the way back to it."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": decision.title,
            "decision": decision,
            "refusal": reason,
            "item": item,
            "item_url": self._url("change", item.pk),
        }
        return TemplateResponse(request, self.decide_template, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        item = self.get_object(request, unquote(object_id))
        if item is not None and item.is_open() and self.has_decide_permission(request):
            extra_context["decisions"] = [
                (self._url("decide", item.pk, name), decision.button)
                for name, decision in DECISIONS.items()
                if not REFUSALS[name](item)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def _url(self, view: str, *args) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}", args=args)


# Up to this many items, a decision reports each one; above it, one summary (and what needs a look).
BULK_DETAIL = 5

# How a count of outcomes reads in the summary of a bulk action.
COUNTED = {
    "draft": "in Xero as drafts",
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


DECISION_WORDS = {"approve": "approve (re-date)", "draft": "post as draft"}


def decision_history(item: QuarantineItem) -> list[dict]:
    """The item's decisions (`details["decisions"]`, services/quarantine.py), with retries recorded
    before that list existed; then the latest decision fields when neither has it."""
    rows = [
        {"at": d["at"], "by": d["by"], "decision": d["decision"], "note": d["note"]}
        for d in item.details.get("decisions", [])
    ]
    if not rows:
        rows = [
            {"at": r["at"], "by": r["by"], "decision": "retry", "note": r["did"]}
            for r in item.details.get("retries", [])
        ]
    if not rows and item.decided_at is not None:
        by = item.decided_by.get_username() if item.decided_by else "-"
        rows = [
            {
                "at": item.decided_at.isoformat(),
                "by": by,
                "decision": item.get_status_display().lower(),
                "note": item.decision_note,
            }
        ]
    for row in rows:
        row["at"] = row["at"][:19].replace("T", " ")
        row["decision"] = DECISION_WORDS.get(row["decision"], row["decision"])
    return rows


def _title(item: QuarantineItem) -> str:
    return f"#{item.pk} {item.get_reason_display()}: {item.source_ref}"


def _explain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "permission denied"
