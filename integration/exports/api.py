"""PULL API for core systems: received data of one kind, paged by cursor, with an optional ack.

Cursor semantics: ``next_cursor`` is the id of the last record returned. Record ids become visible
in increasing order (appends are serialised until commit), so ``?after=<next_cursor>`` never skips a
record that arrived between two pages and never returns one twice. Without ``after`` a pull starts
after the cursor the client last acknowledged (``POST …/ack/``), or from the beginning.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.exports import registry, services
from tenants.accounts.api import HasScope
from tenants.accounts.models import ApiClient


class IsApiClient(HasScope):
    """Only API clients (core systems) pull exports, and only with the view's scope."""

    message = _lazy("このAPIは linkage:read 権限を持つAPIクライアント専用です。")

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, ApiClient) and super().has_permission(request, view)


class ItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    meaning = serializers.CharField()
    type = serializers.ChoiceField(choices=registry.ITEM_TYPES)
    required = serializers.BooleanField()
    codes = serializers.DictField(child=serializers.CharField(), help_text=_lazy("コード値 → 意味"))


class KindSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    area = serializers.CharField()
    description = serializers.CharField()
    items = ItemSerializer(many=True)


class RecordSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text=_lazy("受付連番（カーソル）"))
    kind = serializers.CharField()
    received_at = serializers.DateTimeField(help_text=_lazy("受付日時"))
    source = serializers.CharField(help_text=_lazy("受付元（navigation, forms_builder など）"))
    source_id = serializers.CharField(help_text=_lazy("受付元での受付番号（同じ届出の異動者は同じ番号）"))
    payload = serializers.DictField(help_text=_lazy("項目コード → 値（日付は YYYY-MM-DD）"))
    corrects = serializers.IntegerField(allow_null=True, help_text=_lazy(
        "訂正の記録なら訂正元（元の記録）の受付連番、新規の記録は null。訂正は全項目を訂正後の値で送ります。"))


class PullSerializer(serializers.Serializer):
    kind = serializers.CharField()
    after = serializers.IntegerField(help_text=_lazy("この値より大きい受付連番を返した"))
    next_cursor = serializers.IntegerField(help_text=_lazy("次の取得で after に渡す値（=返した最後の受付連番）"))
    has_more = serializers.BooleanField(help_text=_lazy("続きがある（すぐに次のページを取得できる）"))
    count = serializers.IntegerField()
    batch_id = serializers.IntegerField(allow_null=True, help_text=_lazy("出力履歴の番号（0件のときは null）"))
    records = RecordSerializer(many=True)


class AckSerializer(serializers.Serializer):
    cursor = serializers.IntegerField(min_value=0, help_text=_lazy("取り込みを終えた最後の受付連番"))


class AckResponseSerializer(serializers.Serializer):
    kind = serializers.CharField()
    cursor = serializers.IntegerField()


def _raise_drf(exc: DjangoValidationError) -> None:
    detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    raise exceptions.ValidationError(detail) from exc


class ExportApiView(APIView):
    permission_classes = [IsApiClient]
    required_scope = "linkage:read"
    throttle_scope = "api"


class KindsView(ExportApiView):
    @extend_schema(
        summary=_lazy("出力データの種別と項目"),
        description=_lazy("この自治体の契約業務で利用できる出力データの種別と、その項目（意味・型・コード表）。"),
        responses=KindSerializer(many=True), tags=["exports"],
    )
    def get(self, request: Request) -> Response:
        data = [{"code": k.code, "label": k.label, "area": k.area, "description": k.description,
                 "items": [{"code": i.code, "label": i.label, "meaning": i.meaning, "type": i.type,
                            "required": i.required, "codes": i.code_table} for i in k.items]}
                for k in registry.available_for(request.tenant)]
        return Response(KindSerializer(data, many=True).data)


class PullView(ExportApiView):
    @extend_schema(
        summary=_lazy("受付データの取得（カーソル）"),
        description=_lazy(
            "受付データを受付連番の昇順で返します。`next_cursor` を次の `after` に渡すと、ページの間に新しい"
            "受付が届いても漏れも重複もなく取得できます。`after` を省略すると、確認（ack）済みのカーソルの続き"
            "から返します。件数が1件以上の取得は出力履歴と監査ログに記録されます。"
        ),
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT,
                             description=_lazy("この受付連番より後を返す（省略時は確認済みカーソル）")),
            OpenApiParameter("limit", OpenApiTypes.INT, description=_lazy("最大件数（1〜1000、既定100）")),
        ],
        responses={200: PullSerializer},
        examples=[OpenApiExample(_lazy("住民異動届"), response_only=True, value={
            "kind": "juki_idou", "after": 0, "next_cursor": 2, "has_more": False, "count": 1, "batch_id": 7,
            "records": [{"id": 2, "kind": "juki_idou", "received_at": "2024-04-01T09:12:00+09:00",
                         "source": "navigation", "source_id": "C-000123", "corrects": None,
                         "payload": {"idou_jiyu": "tennyu", "idou_date": "2024-03-30", "todokede_date": "2024-04-01",
                                     "name": "窓口 太郎", "name_kana": "マドグチ タロウ"}}]})],
        tags=["exports"],
    )
    def get(self, request: Request, kind: str) -> Response:
        params = {}
        for name in ("after", "limit"):
            raw = request.query_params.get(name)
            if raw not in (None, ""):
                try:
                    params[name] = int(raw)
                except ValueError as exc:
                    raise exceptions.ValidationError(
                        {name: [_("%(name)s は整数で指定してください。") % {"name": name}]}) from exc
        try:
            result = services.api_pull(client=request.user, municipality=request.tenant, kind_code=kind,
                                       after=params.get("after"), limit=params.get("limit", 100))
        except DjangoValidationError as exc:
            _raise_drf(exc)
        # ``rows`` went through the support-measure guard (services._hand_over), never the raw records.
        records = [{"id": r.id, "kind": r.kind, "received_at": timezone.localtime(r.created_at), "source": r.source,
                    "source_id": r.source_id, "payload": r.payload, "corrects": r.corrects_id} for r in result.rows]
        return Response(PullSerializer({
            "kind": result.kind.code, "after": result.after, "next_cursor": result.next_cursor,
            "has_more": result.has_more, "count": len(records), "batch_id": result.batch.pk if result.batch else None,
            "records": records,
        }).data)


class AckView(ExportApiView):
    @extend_schema(
        summary=_lazy("取得済みの確認（ack）"),
        description=_lazy("取り込みを終えた最後の受付連番を知らせます。"
                          "以後 `after` を省略した取得はその続きから返します。"
                          "確認済みのカーソルは戻りません（再取得は `after` を指定）。"),
        request=AckSerializer, responses={200: AckResponseSerializer}, tags=["exports"],
    )
    def post(self, request: Request, kind: str) -> Response:
        body = AckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            ack = services.api_ack(client=request.user, municipality=request.tenant, kind_code=kind,
                                   cursor=body.validated_data["cursor"])
        except DjangoValidationError as exc:
            _raise_drf(exc)
        return Response(AckResponseSerializer({"kind": ack.kind, "cursor": ack.cursor}).data)


kinds_view = KindsView.as_view()
pull_view = PullView.as_view()
ack_view = AckView.as_view()
