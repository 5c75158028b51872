from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from tenants.accounts.models import ApiClient, Counter, User


def counters_active() -> QuerySet[Counter]:
    return Counter.objects.filter(is_active=True).select_related("department")


def counters_for_admin(*, actor: User) -> QuerySet[Counter]:
    if not actor.is_municipal_admin:
        raise PermissionDenied("この画面は業務管理者のみ利用できます。")
    return Counter.objects.select_related("department")


def api_clients_for_admin(*, actor: User) -> QuerySet[ApiClient]:
    if not actor.is_municipal_admin:
        raise PermissionDenied("この画面は業務管理者のみ利用できます。")
    return ApiClient.objects.all()


def api_client_for_token(*, token: str) -> ApiClient | None:
    return ApiClient.objects.filter(token_hash=ApiClient.hash_token(token), is_active=True).first()


def staff_for_admin(*, actor: User) -> QuerySet[User]:
    if not actor.is_municipal_admin:
        raise PermissionDenied("この画面は業務管理者のみ利用できます。")
    return User.objects.select_related("department").order_by("username")
