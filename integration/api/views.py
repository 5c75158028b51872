"""API for core systems: post a linkage file, read its status and errors (scope ``linkage:write``)."""

from __future__ import annotations

import math

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import AuditAction
from audit.services import record
from integration.models import ImportRun, LinkageLayout
from integration.services import import_submit
from madoguchi.principals import SystemPrincipal
from tenants.accounts.api import HasScope
from tenants.accounts.models import ApiClient


class ImportRunSerializer(serializers.ModelSerializer):
    layout = serializers.CharField(source="layout.key")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = ImportRun
        fields = ["id", "layout", "file_name", "sha256", "file_size", "source", "status", "status_label", "message",
                  "rows_total", "rows_validated", "rows_applied", "added", "changed", "deleted", "unchanged",
                  "error_count", "errors", "timings", "created_at", "started_at", "finished_at"]


class ImportUploadSerializer(serializers.Serializer):
    layout = serializers.SlugField(help_text=_lazy("レイアウトの識別子（例: juki_standard_csv）"))
    file = serializers.FileField(help_text=_lazy("連携ファイル"))


def _check_principal(request: Request) -> None:
    if not isinstance(request.user, ApiClient) and not getattr(request.user, "is_municipal_admin", False):
        raise PermissionDenied(_("業務管理者またはAPIクライアントのみが利用できます。"))


class JapaneseThrottleMixin:
    """429 with a Japanese message and ``Retry-After`` (DRF's own extra detail stays English).

    Limits are per municipality: the throttle's cache key goes through ``django_tenants.cache.make_key``
    (settings ``CACHES``), which prefixes the schema, so clients with the same id in two cities never
    share a counter.
    """

    def throttled(self, request: Request, wait: float | None) -> None:
        seconds = math.ceil(wait) if wait else None
        if seconds:
            detail = _("短時間に送信が集中したため受け付けられませんでした。"
                       "%(seconds)s 秒ほど待ってから再度送信してください。") % {"seconds": seconds}
        else:
            detail = _("短時間に送信が集中したため受け付けられませんでした。しばらく待ってから再度送信してください。")
        exc = exceptions.Throttled(detail=detail)
        exc.wait = seconds
        raise exc


class ImportListCreateView(JapaneseThrottleMixin, APIView):
    permission_classes = [HasScope]
    required_scope = "linkage:write"
    parser_classes = [MultiPartParser, FormParser]

    @property
    def throttle_scope(self) -> str:
        """Uploads have their own (smaller) limit; reading the list counts against the general one."""
        return "api_upload" if self.request.method == "POST" else "api"

    @extend_schema(summary=_lazy("連携ファイルを送信する"), request={"multipart/form-data": ImportUploadSerializer},
                   responses={202: ImportRunSerializer, 400: OpenApiResponse(description=_lazy("入力エラー"))})
    def post(self, request: Request) -> Response:
        _check_principal(request)
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        layout = LinkageLayout.objects.filter(key=serializer.validated_data["layout"], is_active=True,
                                              direction="in").first()
        if layout is None:
            return Response({"layout": [_("このレイアウトはありません")]}, status=status.HTTP_400_BAD_REQUEST)
        upload = serializer.validated_data["file"]
        client = request.user if isinstance(request.user, ApiClient) else None
        try:
            run = import_submit(layout=layout, source=upload, file_name=upload.name, via=ImportRun.Source.API,
                                actor=SystemPrincipal(f"api:{client.name}") if client else request.user,
                                requested_by=f"API: {client.name}" if client else "")
        except ValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary=_lazy("最近の取込の一覧"), responses=ImportRunSerializer(many=True))
    def get(self, request: Request) -> Response:
        _check_principal(request)
        runs = ImportRun.objects.select_related("layout")[:50]
        data = ImportRunSerializer(runs, many=True).data
        for item in data:
            item.pop("errors", None)
        return Response(data)


class ImportDetailView(JapaneseThrottleMixin, APIView):
    permission_classes = [HasScope]
    required_scope = "linkage:write"
    throttle_scope = "api"

    @extend_schema(summary=_lazy("取込の状態とエラー"), responses=ImportRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        _check_principal(request)
        run = ImportRun.objects.select_related("layout").filter(pk=pk).first()
        if run is None:
            return Response({"detail": _("取込履歴がありません")}, status=status.HTTP_404_NOT_FOUND)
        record(action=AuditAction.VIEW, target_type="linkage_run", target_id=run.pk, area=run.layout.area or "",
               details={"via": "api", "errors_shown": len(run.errors)},
               actor=SystemPrincipal(f"api:{request.user.name}") if isinstance(request.user, ApiClient)
               else request.user)
        return Response(ImportRunSerializer(run).data)
