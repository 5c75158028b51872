from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from tenants.accounts.models import ApiClient, Counter, LoginThrottle, User


def counters_active() -> QuerySet[Counter]:
    return Counter.objects.filter(is_active=True).select_related("department")


def counters_for_staff(*, actor: User) -> QuerySet[Counter]:
    """The active counters ``actor`` may work at: those of their department and those a municipal admin
    assigned to them by name (``Counter.staff``). Nobody else's counter, whatever their role."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Counter.objects.none()
    mine = Q(staff=actor)
    if actor.department_id is not None:
        mine |= Q(department_id=actor.department_id)
    return counters_active().filter(mine).distinct()


def counter_usable_by(*, actor: User, counter: Counter | None) -> bool:
    return counter is not None and counters_for_staff(actor=actor).filter(pk=counter.pk).exists()


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


def locked_usernames(*, actor: User) -> set[str]:
    """User names locked from at least one client address now (the staff list's ロック中)."""
    if not actor.is_municipal_admin:
        raise PermissionDenied("この画面は業務管理者のみ利用できます。")
    return set(LoginThrottle.objects.filter(locked_until__gt=timezone.now()).values_list("username", flat=True))


def login_locks_for(*, actor: User, user: User) -> list[LoginThrottle]:
    """The client addresses ``user``'s account is locked from now, latest expiry first."""
    if not actor.is_municipal_admin:
        raise PermissionDenied("この画面は業務管理者のみ利用できます。")
    return list(LoginThrottle.objects.filter(username=user.username, locked_until__gt=timezone.now())
                .order_by("-locked_until"))
