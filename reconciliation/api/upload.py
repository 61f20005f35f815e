"""POST /api/statements/upload/: a Seller Center statement file, as `manage.py import_statement`.

Who: Operations and Finance (`permissions.UPLOAD_STATEMENTS`, the shop's change permission).
Operations keep shops and import what they are given, and run `import_statement` today; Finance own
what posts. An auditor reads only. The file goes through the same service as the command
(`services.seller_center.seller_center_import`), so its statements are kept and planned exactly as
the command's are, and a dry run writes nothing.
"""

import tempfile
from pathlib import Path

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from reconciliation.api.money import money, plain
from reconciliation.api.permissions import CanUploadStatements
from reconciliation.models import Shop, Statement
from reconciliation.services.seller_center import FileImport, seller_center_import
from reconciliation.tabular import UnreadableFile


class UploadInput(serializers.Serializer):
    shop = serializers.SlugRelatedField(
        slug_field="code", queryset=Shop.objects.filter(channel="tiktok"), help_text="TikTok shop code"
    )
    file = serializers.FileField(help_text="the .csv or .xlsx statement export from Seller Center")
    dry_run = serializers.BooleanField(default=False, help_text="write nothing; return the planned documents")

    def validate(self, attrs):
        if not attrs["dry_run"] and attrs["shop"].xero_connection_id is None:
            raise serializers.ValidationError(
                {"shop": "this shop has no Xero connection to plan for; connect it first (or use dry_run)"}
            )
        return attrs


class UploadedStatement(serializers.Serializer):
    statement_id = serializers.CharField()
    statement_date = serializers.DateField(allow_null=True)
    url = serializers.URLField(allow_null=True, help_text="the stored statement (not on a dry run)")
    rows = serializers.IntegerField()
    transactions = serializers.IntegerField()
    settlement = serializers.JSONField(help_text='{"amount": "...", "currency": "..."} or null')
    held = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.DictField())
    documents = serializers.ListField(child=serializers.DictField(), help_text="type and payload")


class UploadOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    statements = UploadedStatement(many=True)
    notes = serializers.ListField(child=serializers.CharField(), help_text="columns or sheets not read")
    message = serializers.CharField()


class StatementUploadView(APIView):
    permission_classes = [CanUploadStatements]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={
            200: UploadOutput,
            400: OpenApiResponse(description='{"detail": why the file cannot be read} or field errors'),
            403: OpenApiResponse(description="not Operations or Finance"),
        },
    )
    def post(self, request):
        """Import a Seller Center statement export for a shop and plan its statements (or preview
        them with dry_run). 200 with one entry a statement (held ones with their problems); 400 when
        the file cannot be read, naming its rows."""
        data = UploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        shop, upload, dry_run = (data.validated_data[k] for k in ("shop", "file", "dry_run"))
        try:
            result = _import(shop, upload, dry_run)
        except UnreadableFile as exc:
            return Response({"detail": f"nothing imported: {exc}"}, status=status.HTTP_400_BAD_REQUEST)
        return Response(UploadOutput(_output(result, shop, request)).data)


def _import(shop: Shop, upload, dry_run: bool) -> FileImport:
    # The reader goes by the file's suffix and keeps its name with the rows: keep both, nothing else.
    name = Path(upload.name or "statement.csv").name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return seller_center_import(shop=shop, path=path, dry_run=dry_run)


def _output(result: FileImport, shop: Shop, request) -> dict:
    stored = {}
    if not result.dry_run:
        ids = [s.statement_id for s in result.statements]
        stored = dict(
            Statement.objects.filter(shop=shop, statement_id__in=ids).values_list("statement_id", "pk")
        )
    statements = [
        {
            "statement_id": s.statement_id,
            "statement_date": s.statement_date,
            "url": reverse("api:statement-detail", args=[stored[s.statement_id]], request=request)
            if s.statement_id in stored
            else None,
            "rows": s.rows,
            "transactions": s.transactions,
            "settlement": money(s.settlement_amount, s.currency),
            "held": s.plan.held,
            "problems": [{"code": p.code, "message": p.message} for p in s.plan.problems],
            "documents": [{"type": d.kind, "payload": plain(d.payload)} for d in s.plan.documents],
        }
        for s in result.statements
    ]
    held = sum(1 for s in result.statements if s.plan.held)
    verb = "would be planned" if result.dry_run else "planned"
    return {
        "dry_run": result.dry_run,
        "statements": statements,
        "notes": list(result.notes),
        "message": f"{len(statements)} statement(s): {len(statements) - held} {verb}, {held} held",
    }
