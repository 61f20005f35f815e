"""Filters for the read endpoints (django-filter): `?shop=tt-uk&state=held&document_date_after=2025-11-01`.
Dates are inclusive ranges (`<name>_after`, `<name>_before`); amounts `<name>_min` / `<name>_max`."""

import django_filters as filters
from django.db.models import Q

from reconciliation.models import Payout, QuarantineItem, Statement, XeroAttempt, XeroPosting
from reconciliation.models.quarantine import Reason


def _source(model_name: str, *, via_posting: bool = False):
    """Rows whose generic source is this statement / payout (by its API id); with `via_posting`, also
    items about a document planned from it (a held journal blocks its statement)."""

    def about(prefix: str, value) -> Q:
        return Q(
            **{
                f"{prefix}source_type__app_label": "reconciliation",
                f"{prefix}source_type__model": model_name,
                f"{prefix}source_id": value,
            }
        )

    def keep(queryset, name, value):
        wanted = about("", value) | about("posting__", value) if via_posting else about("", value)
        return queryset.filter(wanted)

    return filters.NumberFilter(method=keep, help_text=f"id of the {model_name} they are about")


class PostingFilter(filters.FilterSet):
    shop = filters.CharFilter(field_name="shop__code", help_text="shop code")
    state = filters.MultipleChoiceFilter(choices=XeroPosting.State.choices)
    kind = filters.MultipleChoiceFilter(choices=XeroPosting.Kind.choices)
    purpose = filters.CharFilter()
    document_date = filters.DateFromToRangeFilter()
    posted_at = filters.IsoDateTimeFromToRangeFilter()
    created_at = filters.IsoDateTimeFromToRangeFilter()
    source_ref = filters.CharFilter(lookup_expr="icontains")
    xero_number = filters.CharFilter()
    statement = _source("statement")
    payout = _source("payout")

    class Meta:
        model = XeroPosting
        fields = ["depends_on"]


class AttemptFilter(filters.FilterSet):
    shop = filters.CharFilter(field_name="posting__shop__code", help_text="shop code of its posting")
    posting = filters.NumberFilter(field_name="posting_id")
    method = filters.CharFilter(lookup_expr="iexact")
    status = filters.NumberFilter()
    status_min = filters.NumberFilter(field_name="status", lookup_expr="gte")
    status_max = filters.NumberFilter(field_name="status", lookup_expr="lte")
    error_kind = filters.CharFilter()
    batch_ref = filters.CharFilter()
    unanswered = filters.BooleanFilter(
        field_name="completed_at", lookup_expr="isnull", help_text="sent, but no answer was recorded"
    )
    created_at = filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = XeroAttempt
        fields: list[str] = []


class ExceptionFilter(filters.FilterSet):
    shop = filters.CharFilter(field_name="shop__code", help_text="shop code")
    status = filters.MultipleChoiceFilter(choices=QuarantineItem.Status.choices)
    reason = filters.MultipleChoiceFilter(choices=Reason.choices)
    posting = filters.NumberFilter(field_name="posting_id")
    created_at = filters.IsoDateTimeFromToRangeFilter()
    proposed_date = filters.DateFromToRangeFilter()
    source_ref = filters.CharFilter(lookup_expr="icontains")
    statement = _source("statement", via_posting=True)
    payout = _source("payout", via_posting=True)

    class Meta:
        model = QuarantineItem
        fields: list[str] = []


class StatementFilter(filters.FilterSet):
    shop = filters.CharFilter(field_name="shop__code", help_text="shop code")
    state = filters.MultipleChoiceFilter(choices=Statement.State.choices)
    statement_date = filters.DateFromToRangeFilter()
    settlement_min = filters.NumberFilter(field_name="settlement_amount", lookup_expr="gte")
    settlement_max = filters.NumberFilter(field_name="settlement_amount", lookup_expr="lte")
    currency = filters.CharFilter(lookup_expr="iexact")
    payment_id = filters.CharFilter()
    payment_status = filters.CharFilter()

    class Meta:
        model = Statement
        fields = ["statement_id"]


class PayoutFilter(filters.FilterSet):
    shop = filters.CharFilter(field_name="shop__code", help_text="shop code")
    status = filters.CharFilter(lookup_expr="iexact")
    paid_date = filters.DateFromToRangeFilter()
    amount_min = filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = filters.NumberFilter(field_name="amount", lookup_expr="lte")
    currency = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Payout
        fields = ["payment_id"]
