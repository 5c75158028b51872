"""API root (``/api/v1/``) and identity endpoint. Each app adds its routes under /api/v1/<app>/."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import ScopedRateThrottle

from tenants.accounts.models import ApiClient

# Apps append (name, url_name) here from their urls so the root lists them.
API_ROOT_LINKS: list[tuple[str, str]] = [("me", "api:me"), ("schema", "api-schema")]


@extend_schema(summary="API root", responses=inline_serializer("ApiRoot", {"links": serializers.DictField()}))
@api_view(["GET"])
def api_root(request: Request) -> Response:
    links = {}
    for name, url_name in API_ROOT_LINKS:
        try:
            links[name] = reverse(url_name, request=request)
        except Exception:  # noqa: BLE001,S112 - a route an app has not installed is simply absent
            continue
    return Response({"municipality": request.tenant.code, "links": links})


@extend_schema(
    summary="Who am I",
    responses=inline_serializer(
        "WhoAmI",
        {"kind": serializers.CharField(), "name": serializers.CharField(), "municipality": serializers.CharField(),
         "scopes": serializers.ListField(child=serializers.CharField())},
    ),
)
@api_view(["GET"])
@throttle_classes([ScopedRateThrottle])
def me(request: Request) -> Response:
    principal = request.user
    if isinstance(principal, ApiClient):
        data = {"kind": "api_client", "name": principal.name, "scopes": principal.scopes}
    else:
        data = {"kind": "staff", "name": principal.get_username(), "scopes": []}
    data["municipality"] = request.tenant.code
    data["schema"] = connection.schema_name
    return Response(data)


me.cls.throttle_scope = "api"
api_root.cls.throttle_scope = "api"
