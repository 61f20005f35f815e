"""What the API shows of each record. Read-only; money as `{"amount": "12.34", "currency": "GBP"}`;
related records as URLs. Connections (Xero and TikTok credentials) are never serialized or linked."""

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from connectors.errors import redact_headers
from reconciliation.api.money import document_amount, money
from reconciliation.models import Payout, QuarantineItem, Statement, XeroAttempt, XeroPosting


class MoneySerializer(serializers.Serializer):
    amount = serializers.CharField(help_text="exact decimal, two places")
    currency = serializers.CharField(help_text="ISO 4217 code")


MoneyField = extend_schema_field(MoneySerializer(allow_null=True))


class SourceSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="statement, payout, tiktokorder, ...")
    id = serializers.IntegerField()
    url = serializers.URLField(allow_null=True, help_text="its API record, for statements and payouts")


SOURCE_VIEWS = {Statement: "api:statement-detail", Payout: "api:payout-detail"}


def source_of(obj, request) -> dict | None:
    if obj.source_type_id is None:
        return None
    view = SOURCE_VIEWS.get(obj.source_type.model_class())
    url = reverse(view, args=[obj.source_id], request=request) if view else None
    return {"type": obj.source_type.model, "id": obj.source_id, "url": url}


def list_url(request, view: str, **query) -> str:
    return reverse(view, request=request) + "?" + urlencode(query)


class PostingSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:posting-detail")
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    amount = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    depends_on = serializers.HyperlinkedRelatedField(view_name="api:posting-detail", read_only=True)
    attempts = serializers.SerializerMethodField(help_text="its HTTP attempts (a list URL)")
    exceptions = serializers.HyperlinkedRelatedField(
        source="quarantine", many=True, read_only=True, view_name="api:exception-detail"
    )

    class Meta:
        model = XeroPosting
        fields = [
            "id",
            "url",
            "shop",
            "kind",
            "purpose",
            "source_ref",
            "source",
            "amount",
            "document_date",
            "original_date",
            "state",
            "state_display",
            "xero_id",
            "xero_number",
            "lookup_reference",
            "idempotency_key",
            "last_error",
            "last_error_kind",
            "next_attempt_at",
            "depends_on",
            "attempts",
            "exceptions",
            "payload",
            "xero_response",
            "created_at",
            "posted_at",
        ]

    @MoneyField
    def get_amount(self, obj) -> dict | None:
        return money(document_amount(obj), obj.shop.currency)

    @extend_schema_field(SourceSerializer(allow_null=True))
    def get_source(self, obj) -> dict | None:
        return source_of(obj, self.context.get("request"))

    @extend_schema_field(OpenApiTypes.URI)
    def get_attempts(self, obj) -> str:
        return list_url(self.context.get("request"), "api:attempt-list", posting=obj.pk)


class AttemptSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:attempt-detail")
    posting = serializers.HyperlinkedRelatedField(view_name="api:posting-detail", read_only=True)
    url_called = serializers.CharField(source="url", read_only=True, help_text="the URL sent to Xero")
    request_headers = serializers.SerializerMethodField()
    response_headers = serializers.SerializerMethodField()

    class Meta:
        model = XeroAttempt
        fields = [
            "id",
            "url",
            "posting",
            "batch_ref",
            "method",
            "url_called",
            "status",
            "number",
            "idempotency_key",
            "error_kind",
            "error",
            "duration_ms",
            "request_headers",
            "request_body",
            "response_headers",
            "response_body",
            "created_at",
            "completed_at",
        ]

    # Stored without secrets already (connectors redact before writing); redacted again on the way
    # out so a row written by older code cannot leak a token through the API.
    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_request_headers(self, obj) -> dict:
        return redact_headers(obj.request_headers or {})

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_response_headers(self, obj) -> dict:
        return redact_headers(obj.response_headers or {})


class ExceptionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:exception-detail")
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reason_display = serializers.CharField(source="get_reason_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    posting = serializers.HyperlinkedRelatedField(view_name="api:posting-detail", read_only=True)
    posting_state = serializers.CharField(source="posting.state", read_only=True, allow_null=True)
    amount = serializers.SerializerMethodField(help_text="what is held: its document's, else its source's")
    source = serializers.SerializerMethodField()
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = QuarantineItem
        fields = [
            "id",
            "url",
            "shop",
            "reason",
            "reason_display",
            "status",
            "status_display",
            "source_ref",
            "source",
            "posting",
            "posting_state",
            "amount",
            "message",
            "proposed_action",
            "proposed_date",
            "details",
            "created_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "resolved_at",
        ]

    @MoneyField
    def get_amount(self, obj) -> dict | None:
        if obj.posting is not None:
            return money(document_amount(obj.posting), obj.shop.currency)
        source = obj.source
        if isinstance(source, Statement):
            return money(source.settlement_amount, source.currency)
        if isinstance(source, Payout):
            return money(source.amount, source.currency)
        return None

    @extend_schema_field(SourceSerializer(allow_null=True))
    def get_source(self, obj) -> dict | None:
        return source_of(obj, self.context.get("request"))


class StatementSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:statement-detail")
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    settlement = serializers.SerializerMethodField()
    reserve = serializers.SerializerMethodField()
    postings = serializers.SerializerMethodField()
    exceptions = serializers.SerializerMethodField()
    payout = serializers.SerializerMethodField(help_text="the payout that pays it (a list URL)")

    class Meta:
        model = Statement
        fields = [
            "id",
            "url",
            "shop",
            "statement_id",
            "statement_date",
            "settlement",
            "reserve",
            "state",
            "payment_id",
            "payment_status",
            "payout",
            "postings",
            "exceptions",
            "fetched_at",
            "updated_at",
        ]

    @MoneyField
    def get_settlement(self, obj) -> dict | None:
        return money(obj.settlement_amount, obj.currency)

    @MoneyField
    def get_reserve(self, obj) -> dict | None:
        return money(obj.reserve_amount, obj.currency)

    @extend_schema_field(OpenApiTypes.URI)
    def get_postings(self, obj) -> str:
        return list_url(self.context.get("request"), "api:posting-list", statement=obj.pk)

    @extend_schema_field(OpenApiTypes.URI)
    def get_exceptions(self, obj) -> str:
        return list_url(self.context.get("request"), "api:exception-list", statement=obj.pk)

    @extend_schema_field(OpenApiTypes.URI)
    def get_payout(self, obj) -> str | None:
        if not obj.payment_id:
            return None
        request = self.context.get("request")
        return list_url(request, "api:payout-list", shop=obj.shop.code, payment_id=obj.payment_id)


class PayoutSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:payout-detail")
    shop = serializers.SlugRelatedField(slug_field="code", read_only=True)
    deposit = serializers.SerializerMethodField(help_text="what TikTok paid into the bank")
    settlement = serializers.SerializerMethodField()
    reserve = serializers.SerializerMethodField()
    statements = serializers.SerializerMethodField()
    postings = serializers.SerializerMethodField(help_text="its RECEIVE (a list URL)")
    exceptions = serializers.SerializerMethodField()

    class Meta:
        model = Payout
        fields = [
            "id",
            "url",
            "shop",
            "payment_id",
            "status",
            "deposit",
            "settlement",
            "reserve",
            "paid_date",
            "created_time",
            "statements",
            "postings",
            "exceptions",
            "updated_at",
        ]

    @MoneyField
    def get_deposit(self, obj) -> dict | None:
        return money(obj.amount, obj.currency)

    @MoneyField
    def get_settlement(self, obj) -> dict | None:
        return money(obj.settlement_amount, obj.currency)

    @MoneyField
    def get_reserve(self, obj) -> dict | None:
        return money(obj.reserve_amount, obj.currency)

    @extend_schema_field(OpenApiTypes.URI)
    def get_statements(self, obj) -> str:
        request = self.context.get("request")
        return list_url(request, "api:statement-list", shop=obj.shop.code, payment_id=obj.payment_id)

    @extend_schema_field(OpenApiTypes.URI)
    def get_postings(self, obj) -> str:
        return list_url(self.context.get("request"), "api:posting-list", payout=obj.pk)

    @extend_schema_field(OpenApiTypes.URI)
    def get_exceptions(self, obj) -> str:
        return list_url(self.context.get("request"), "api:exception-list", payout=obj.pk)
