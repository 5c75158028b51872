"""API authentication for core systems: ``Authorization: Bearer <token>`` of an ApiClient of this tenant."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.accounts import selectors
from tenants.accounts.models import ApiClient


class ApiClientTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[ApiClient, str] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization ヘッダーの形式が正しくありません。")
        client = selectors.api_client_for_token(token=header[1])
        if client is None:
            raise exceptions.AuthenticationFailed("APIトークンが無効です。")
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
        return client, header[1]

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="madoguchi"'


class ApiClientTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.accounts.api.ApiClientTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "業務管理者が発行するAPIクライアントのトークン"}


class HasScope(BasePermission):
    """API clients need the view's ``required_scope``; staff sessions pass (their own checks apply)."""

    def has_permission(self, request: Request, view: object) -> bool:
        scope = getattr(view, "required_scope", None)
        if isinstance(request.user, ApiClient):
            return scope is None or scope in request.user.scopes
        return bool(request.user and request.user.is_authenticated)
