"""Read endpoints for the outbox, the finance queue, statements and payouts, and the finance decisions
on exceptions. Thin: querysets, filters and pagination here; every change through
`reconciliation.services.quarantine`, which checks Finance's permission again."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from reconciliation.api import filters
from reconciliation.api.outcome import decision_outcome
from reconciliation.api.permissions import CanDecide
from reconciliation.api.serializers import (
    AttemptSerializer,
    ExceptionSerializer,
    PayoutSerializer,
    PostingSerializer,
    StatementSerializer,
)
from reconciliation.models import Payout, QuarantineItem, Statement, XeroAttempt, XeroPosting
from reconciliation.services.quarantine import (
    quarantine_approve,
    quarantine_dismiss,
    quarantine_post_as_draft,
    quarantine_retry,
)


class PostingViewSet(viewsets.ReadOnlyModelViewSet):
    """Xero documents planned, sent or held (the outbox), newest first."""

    queryset = XeroPosting.objects.select_related("shop", "source_type").prefetch_related("quarantine")
    serializer_class = PostingSerializer
    filterset_class = filters.PostingFilter


class AttemptViewSet(viewsets.ReadOnlyModelViewSet):
    """One row per HTTP request to Xero (per member posting for a batch), secrets removed."""

    queryset = XeroAttempt.objects.all()
    serializer_class = AttemptSerializer
    filterset_class = filters.AttemptFilter


class StatementViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Statement.objects.select_related("shop")
    serializer_class = StatementSerializer
    filterset_class = filters.StatementFilter


class PayoutViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Payout.objects.select_related("shop")
    serializer_class = PayoutSerializer
    filterset_class = filters.PayoutFilter


class ApproveInput(serializers.Serializer):
    document_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="post on this date; default: the proposed date (first open day after the lock dates)",
    )


class DismissInput(serializers.Serializer):
    reason = serializers.CharField(help_text="why it will not be posted; kept for the auditor")


class RetryInput(serializers.Serializer):
    pass


class DraftInput(serializers.Serializer):
    pass


class DecisionOutput(serializers.Serializer):
    item = ExceptionSerializer(help_text="the item after the decision")
    posting_state = serializers.CharField(allow_null=True, help_text="its document's state after the call")
    still_open = serializers.HyperlinkedRelatedField(
        many=True, read_only=True, view_name="api:exception-detail", help_text="what is still in the way"
    )
    message = serializers.CharField(help_text="what happened and what happens next, in words")


DECIDED = {
    200: DecisionOutput,
    400: OpenApiResponse(
        description='refused: {"detail": the service\'s reason}, or {"<field>": [errors]} for bad input'
    ),
    403: OpenApiResponse(description="not Finance"),
    404: OpenApiResponse(description="no such item"),
}

DECISIONS = {
    "approve": lambda item, user, data: quarantine_approve(
        item=item, user=user, document_date=data.get("document_date")
    ),
    "retry": lambda item, user, data: quarantine_retry(item=item, user=user),
    "draft": lambda item, user, data: quarantine_post_as_draft(item=item, user=user),
    "dismiss": lambda item, user, data: quarantine_dismiss(item=item, user=user, reason=data["reason"]),
}


class ExceptionViewSet(viewsets.ReadOnlyModelViewSet):
    """The finance queue (quarantine items). Approve, retry, post as draft and dismiss need
    Finance's `decide_quarantineitem`, exactly as in the admin, and call the admin's services."""

    queryset = QuarantineItem.objects.select_related(
        "shop", "posting", "posting__shop", "source_type", "decided_by"
    ).prefetch_related("source")
    serializer_class = ExceptionSerializer
    filterset_class = filters.ExceptionFilter

    def _decide(self, request, name: str, input_class):
        item = self.get_object()  # 404 before anything else
        data = input_class(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            DECISIONS[name](item, request.user, data.validated_data)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=400)
        output = DecisionOutput(decision_outcome(item, name), context=self.get_serializer_context())
        return Response(output.data)

    @extend_schema(request=ApproveInput, responses=DECIDED)
    @action(detail=True, methods=["post"], permission_classes=[CanDecide])
    def approve(self, request, pk=None):
        """Approve a lock-date item: its document is re-dated (default: the proposed date) and sent."""
        return self._decide(request, "approve", ApproveInput)

    @extend_schema(request=RetryInput, responses=DECIDED)
    @action(detail=True, methods=["post"], permission_classes=[CanDecide])
    def retry(self, request, pk=None):
        """Try again after the cause was fixed (re-planned, re-sent or the connection resumed)."""
        return self._decide(request, "retry", RetryInput)

    @extend_schema(request=DraftInput, responses=DECIDED)
    @action(detail=True, methods=["post"], permission_classes=[CanDecide])
    def draft(self, request, pk=None):
        """Send its document to Xero as a DRAFT, to review and approve there (journals, invoices and
        credit notes only; refused with the reason, as in the admin, when nothing may be sent so)."""
        return self._decide(request, "draft", DraftInput)

    @extend_schema(request=DismissInput, responses=DECIDED)
    @action(detail=True, methods=["post"], permission_classes=[CanDecide])
    def dismiss(self, request, pk=None):
        """Will not be posted; the reason is required and kept with who and when."""
        return self._decide(request, "dismiss", DismissInput)


class TokenView(ObtainAuthToken):
    """A user's token for username and password; throttled (settings, "token") so that it cannot be
    used to guess passwords at speed."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
