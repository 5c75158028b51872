"""Writes for staff accounts, counters and API clients. Permissions are checked here, not in templates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from audit.models import AuditAction
from audit.services import record
from madoguchi.middleware import client_ip as client_address
from tenants.accounts.models import ApiClient, Counter, Department, Desk, LoginThrottle, Role, User
from tenants.areas import parse_areas

SESSION_COUNTER_KEY = "madoguchi_counter_id"
SESSION_SCHEMA_KEY = "madoguchi_schema"


class LoginError(Exception):
    """A login that did not succeed; ``message`` is safe to show (never says which part was wrong)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# One answer for an unknown user name, a wrong password and a locked (account, address) pair, so that
# the answer never tells which user names exist (issue 11, finding 5).
# Lazy: shown in the language of the request that failed to log in.
GENERIC_LOGIN_ERROR = gettext_lazy("ユーザーIDまたはパスワードが正しくありません。"
                                   "続けて間違えると、この端末からはしばらくログインできなくなります。")
RATE_LIMITED_ERROR = gettext_lazy("ログインの試行回数が多すぎます。しばらくしてから再度お試しください。")


def _rate_key(client_ip: str) -> str:
    return f"login-rate:{client_ip}"


def _client_rate_exceeded(client_ip: str) -> bool:
    key = _rate_key(client_ip)
    cache.add(key, 0, timeout=60)
    try:
        attempts = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60)
        attempts = 1
    return attempts > settings.LOGIN_RATE_PER_MINUTE


def _failure_recorded(*, username: str, client_ip: str, now: datetime) -> LoginThrottle | None:
    """Count one failure of (user name, address); lock the pair at LOGIN_MAX_FAILURES within the window.
    Returns the pair when this failure locked it."""
    window = timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    throttle, _created = LoginThrottle.objects.select_for_update().get_or_create(
        username=username, client_ip=client_ip, defaults={"first_failure_at": now})
    if throttle.first_failure_at < now - window and not (throttle.locked_until and throttle.locked_until > now):
        throttle.failures, throttle.first_failure_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    just_locked = throttle.failures >= settings.LOGIN_MAX_FAILURES and not throttle.locked_until
    if just_locked:
        throttle.locked_until = now + window
    throttle.save()
    # Old pairs of other names and addresses are of no use once their window has passed.
    LoginThrottle.objects.filter(first_failure_at__lt=now - 2 * window).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)).delete()
    return throttle if just_locked else None


def staff_login(*, request: HttpRequest, username: str, password: str) -> User:
    """Authenticate and log in a staff member of the current municipality.

    - at most LOGIN_RATE_PER_MINUTE attempts per client address per minute (any user name);
    - after LOGIN_MAX_FAILURES failures of one user name from one address within LOGIN_LOCKOUT_SECONDS,
      that (user name, address) pair is refused for LOGIN_LOCKOUT_SECONDS; other addresses are not
      affected, so a correct password from another address always logs in;
    - an unknown user name, a wrong password and a locked pair give the same answer (and the password
      is hashed in each case, so the time taken does not tell them apart either);
    - success, failure and lockout are all written to the audit trail.
    """
    client_ip = client_address(request)
    username = (username or "").strip()[:150]
    if _client_rate_exceeded(client_ip):
        record(action=AuditAction.LOGIN_FAILED, target_type="user", target_id=username[:64],
               details={"reason": "rate_limited"}, actor=None)
        raise LoginError(RATE_LIMITED_ERROR, code="rate_limited")

    now = timezone.now()
    user = User.objects.filter(username=username).first()
    locked = LoginThrottle.objects.filter(username=username, client_ip=client_ip, locked_until__gt=now).exists()
    authenticated = authenticate(request, username=username, password=password)  # also when locked: same time
    if locked or authenticated is None:
        with transaction.atomic():
            throttle = _failure_recorded(username=username, client_ip=client_ip, now=now) if not locked else None
            if throttle is not None:  # this failure locked the pair
                record(action=AuditAction.LOCKOUT, target_type="user", target_id=user.pk if user else "",
                       details={"username": username, "until": throttle.locked_until.isoformat(),
                                "scope": "account_and_address"})
            record(action=AuditAction.LOGIN_FAILED, target_type="user", target_id=user.pk if user else "",
                   details={"reason": "locked" if locked else "bad_credentials", "username": username})
        raise LoginError(GENERIC_LOGIN_ERROR, code="bad_credentials")

    login(request, authenticated)  # tenants.accounts.signals binds the session to this schema
    LoginThrottle.objects.filter(username=username, client_ip=client_ip).delete()
    record(action=AuditAction.LOGIN, target_type="user", target_id=authenticated.pk, actor=authenticated)
    return authenticated


def staff_logout(*, request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        record(action=AuditAction.LOGOUT, target_type="user", target_id=user.pk, actor=user)
    logout(request)


def counter_select(*, request: HttpRequest, counter_id: int) -> Counter:
    """Start working at a counter: only one of the actor's own (department or assigned by an admin)."""
    from tenants.accounts.selectors import counters_for_staff

    counter = counters_for_staff(actor=request.user).filter(pk=counter_id).first()
    if counter is None:
        raise ValidationError({"counter": "選択された窓口は存在しないか、あなたの担当ではありません。"
                                          "業務管理者に担当窓口の設定を依頼してください。"})
    request.session[SESSION_COUNTER_KEY] = counter.pk
    record(action=AuditAction.UPDATE, target_type="counter_session", target_id=counter.pk,
           details={"counter": counter.name})
    return counter


@transaction.atomic
def desk_sit(*, actor: User, desk_id: int) -> Desk:
    """Seat the staff member at a desk of an active counter (and take them off any other desk)."""
    desk = Desk.objects.select_for_update().filter(pk=desk_id, is_active=True, counter__is_active=True).first()
    if desk is None:
        raise ValidationError({"desk": "選択された席は存在しないか、使用されていません。"})
    Desk.objects.filter(staff=actor).exclude(pk=desk.pk).update(staff=None, seated_at=None)
    desk.staff, desk.seated_at = actor, timezone.now()
    desk.save(update_fields=["staff", "seated_at"])
    record(action=AuditAction.UPDATE, target_type="desk", target_id=desk.pk, details={"seated": actor.pk})
    return desk


@transaction.atomic
def desk_leave(*, actor: User) -> None:
    Desk.objects.filter(staff=actor).update(staff=None, seated_at=None)


@transaction.atomic
def desk_save(*, actor: User, counter: Counter, name: str, desk: Desk | None = None, is_active: bool = True) -> Desk:
    _require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "席の名前を入力してください。"})
    clash = Desk.objects.filter(counter=counter, name=name).exclude(pk=getattr(desk, "pk", None))
    if clash.exists():
        raise ValidationError({"name": f"「{counter.name}」には同じ名前の席「{name}」があります。"})
    desk = desk or Desk(counter=counter)
    desk.name, desk.is_active = name, is_active
    desk.save()
    record(action=AuditAction.UPDATE, target_type="desk", target_id=desk.pk,
           details={"counter": counter.pk, "name": name, "active": is_active})
    return desk


def _require_admin(actor: User) -> None:
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied("この操作は業務管理者のみ行えます。")


@transaction.atomic
def counter_save(
    *,
    actor: User,
    name: str,
    kind: str,
    location: str = "",
    department: Department | None = None,
    is_active: bool = True,
    sort_order: int = 0,
    counter: Counter | None = None,
    staff: list[User] | None = None,
) -> Counter:
    """Create or change a counter; ``staff`` (if given) replaces who may work there besides its department."""
    _require_admin(actor)
    creating = counter is None
    counter = counter or Counter()
    counter.name, counter.kind, counter.location = name.strip(), kind, location.strip()
    counter.department, counter.is_active, counter.sort_order = department, is_active, sort_order
    counter.full_clean()
    counter.save()
    details = {"name": counter.name, "kind": counter.kind, "location": counter.location,
               "department": getattr(counter.department, "name", ""), "is_active": counter.is_active}
    if staff is not None:
        counter.staff.set(staff)
        details["staff"] = sorted(user.username for user in staff)
    record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        target_type="counter",
        target_id=counter.pk,
        details=details,
    )
    return counter


@transaction.atomic
def department_create(*, actor: User, name: str, code: str = "") -> Department:
    _require_admin(actor)
    department = Department(name=name.strip(), code=code.strip())
    department.full_clean()
    department.save()
    record(action=AuditAction.CREATE, target_type="department", target_id=department.pk, details={"name": name})
    return department


@transaction.atomic
def staff_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    display_name: str = "",
    role: str = Role.STAFF,
    department: Department | None = None,
    areas: list[str] | str = (),
    may_view_support_measures: bool = False,
) -> User:
    """Create a staff account. ``actor=None`` only from provisioning and management commands."""
    if actor is not None:
        _require_admin(actor)
    user = User(username=username.strip(), display_name=display_name.strip(), role=role, department=department,
                areas=parse_areas(areas), may_view_support_measures=bool(may_view_support_measures))
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.full_clean()
    user.save()
    record(action=AuditAction.CREATE, target_type="user", target_id=user.pk,
           details={"username": user.username, "role": role, "areas": user.areas,
                    "may_view_support_measures": user.may_view_support_measures}, actor=actor)
    return user


@dataclass(frozen=True)
class IssuedToken:
    client: ApiClient
    token: str  # shown once


@transaction.atomic
def api_client_create(*, actor: User, name: str, scopes: list[str] | None = None) -> IssuedToken:
    _require_admin(actor)
    token = "mdg_" + secrets.token_urlsafe(32)
    client = ApiClient(name=name.strip(), token_prefix=token[:8], token_hash=ApiClient.hash_token(token),
                       scopes=list(scopes or []), created_by=actor)
    client.full_clean()
    client.save()
    record(action=AuditAction.CREATE, target_type="api_client", target_id=client.pk,
           details={"name": client.name, "scopes": client.scopes})
    return IssuedToken(client=client, token=token)


@transaction.atomic
def api_client_revoke(*, actor: User, client: ApiClient) -> ApiClient:
    _require_admin(actor)
    client.is_active = False
    client.save(update_fields=["is_active"])
    record(action=AuditAction.UPDATE, target_type="api_client", target_id=client.pk, details={"revoked": True})
    return client


@transaction.atomic
def staff_update(
    *,
    actor: User,
    user: User,
    display_name: str,
    role: str,
    department: Department | None,
    areas: list[str] | str,
    is_active: bool,
    may_view_support_measures: bool | None = None,
) -> User:
    """Change a staff member's role, department, business areas, active flag or the permission
    「支援措置の閲覧」 (``None`` keeps it) — municipal admins only; before and after are audited."""
    _require_admin(actor)
    if user.pk == actor.pk and (role != Role.ADMIN or not is_active):
        raise ValidationError({"role": "自分自身の業務管理者権限を外したり、無効にしたりすることはできません。"})
    before = {"role": user.role, "department": getattr(user.department, "name", ""), "areas": list(user.areas),
              "is_active": user.is_active, "may_view_support_measures": user.may_view_support_measures}
    user.display_name, user.role, user.department = display_name.strip(), role, department
    user.areas, user.is_active = parse_areas(areas), is_active
    if may_view_support_measures is not None:
        user.may_view_support_measures = bool(may_view_support_measures)
    user.full_clean()
    user.save()
    after = {"role": user.role, "department": getattr(user.department, "name", ""), "areas": list(user.areas),
             "is_active": user.is_active, "may_view_support_measures": user.may_view_support_measures}
    record(action=AuditAction.UPDATE, target_type="user", target_id=user.pk,
           details={"before": before, "after": after})
    return user


@transaction.atomic
def staff_unlock(*, actor: User, user: User) -> User:
    _require_admin(actor)
    removed, _ = LoginThrottle.objects.filter(username=user.username).delete()
    record(action=AuditAction.UPDATE, target_type="user", target_id=user.pk,
           details={"unlocked": True, "addresses": removed})
    return user


@transaction.atomic
def staff_set_password(*, actor: User, user: User, password: str) -> User:
    """Set a new password (admin reset, or a staff member changing their own)."""
    if actor.pk != user.pk:
        _require_admin(actor)
    validate_password(password, user)
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    LoginThrottle.objects.filter(username=user.username).delete()
    record(action=AuditAction.UPDATE, target_type="user", target_id=user.pk,
           details={"password_changed": True, "by_admin": actor.pk != user.pk})
    return user
