"""Staff accounts, departments, counters and API clients — all inside a municipality's schema.

The same tables exist in the public schema for vendor operators (Django admin on the ops host);
a staff account of one municipality does not exist in any other.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenants.areas import BusinessArea


class Department(models.Model):
    name = models.CharField("部署名", max_length=64, unique=True)
    code = models.CharField("部署コード", max_length=16, blank=True)

    class Meta:
        verbose_name = "部署"
        verbose_name_plural = "部署"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    STAFF = "staff", "窓口職員"
    SUPERVISOR = "supervisor", "窓口責任者"
    ADMIN = "admin", "業務管理者"


class User(AbstractUser):
    role = models.CharField("役割", max_length=16, choices=Role.choices, default=Role.STAFF)
    department = models.ForeignKey(
        Department, verbose_name="部署", null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # Business areas this user may handle (R6.1/R6.2); empty means none.
    areas = ArrayField(
        models.CharField(max_length=16, choices=BusinessArea.choices), verbose_name="担当業務", default=list,
        blank=True,
    )
    display_name = models.CharField("表示名", max_length=64, blank=True)
    # 支援措置の閲覧: may download files that carry the real address of a person under a support measure
    # (DV等支援措置). Not implied by any role; a municipal admin grants it to the few who need it (the
    # linkage operator on a 三層分離 network, where a download is the only way to the core system).
    may_view_support_measures = models.BooleanField(
        "支援措置の閲覧", default=False,
        help_text="支援措置（DV等）の対象者と同じ世帯の住所を、マスクせずにファイルでダウンロードできます。"
                  "基幹系への連携を担当する職員だけに付与してください。",
    )
    password_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "職員"
        verbose_name_plural = "職員"

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_municipal_admin(self) -> bool:
        return self.is_active and self.role == Role.ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.is_active and self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def can_view_support_measures(self) -> bool:
        """The permission 「支援措置の閲覧」 (explicitly granted; administrators do not have it by role)."""
        return self.is_active and self.may_view_support_measures

    def get_areas_display(self) -> str:
        return "・".join(BusinessArea(area).label for area in self.areas or [])

    def can_handle(self, area: str) -> bool:
        return self.is_active and (self.role == Role.ADMIN or area in (self.areas or []))


class Counter(models.Model):
    """A service counter (窓口) staff sit at; cases are queued per counter."""

    class Kind(models.TextChoices):
        GENERAL = "general", "総合窓口"
        CERTIFICATE = "certificate", "証明窓口"
        BUSINESS = "business", "業務窓口"
        BRANCH = "branch", "支所・出張所"

    name = models.CharField("窓口名", max_length=64, unique=True)
    department = models.ForeignKey(
        Department, verbose_name="部署", null=True, blank=True, on_delete=models.PROTECT, related_name="counters"
    )
    location = models.CharField("場所（階・番号）", max_length=64, blank=True)
    kind = models.CharField("種別", max_length=16, choices=Kind.choices, default=Kind.GENERAL)
    is_active = models.BooleanField("使用中", default=True)
    sort_order = models.PositiveIntegerField("表示順", default=0)
    # Who may work at this counter besides the members of its department (a municipal admin assigns).
    staff = models.ManyToManyField(User, verbose_name="担当職員（部署以外）", blank=True,
                                   related_name="assigned_counters")

    class Meta:
        verbose_name = "窓口"
        verbose_name_plural = "窓口"
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Desk(models.Model):
    """A counter's seat where one staff member serves. A reader station (and later a tablet) is registered
    to one desk; a card read at that station belongs to the staff member seated here (``staff``)."""

    counter = models.ForeignKey(Counter, verbose_name="窓口", on_delete=models.PROTECT, related_name="desks")
    name = models.CharField("席の名前", max_length=64)
    is_active = models.BooleanField("使用中", default=True)
    sort_order = models.PositiveIntegerField("表示順", default=0)
    staff = models.ForeignKey(User, verbose_name="着席中の職員", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="desks")
    seated_at = models.DateTimeField("着席日時", null=True, blank=True)

    class Meta:
        verbose_name = "席"
        verbose_name_plural = "席"
        ordering = ["counter", "sort_order", "name"]
        constraints = [models.UniqueConstraint(fields=["counter", "name"], name="desk_unique_counter_name")]

    def __str__(self) -> str:
        return f"{self.counter.name} {self.name}"


class ApiClient(models.Model):
    """A core system (or other service) calling the API of this municipality with a bearer token.

    Only the SHA-256 of the token is stored; the token is shown once when created.
    """

    name = models.CharField("名称", max_length=64, unique=True)
    token_prefix = models.CharField(max_length=8, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=32), verbose_name="権限", default=list, blank=True)
    is_active = models.BooleanField("有効", default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "APIクライアント"
        verbose_name_plural = "APIクライアント"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    # DRF's IsAuthenticated asks the authenticated principal this.
    @property
    def is_authenticated(self) -> bool:
        return self.is_active

    @property
    def pk_label(self) -> str:
        return f"api:{self.name}"


class LoginThrottle(models.Model):
    """Failed logins of one user name from one client address (lockout per account *and* address).

    A locked pair refuses that address only: a correct password from another address still logs in,
    so nobody can lock a named account (``admin``) out of the whole municipality from one machine.
    Rows exist for unknown user names too, so a locked and an unknown account answer alike.
    """

    username = models.CharField("ユーザーID", max_length=150)
    client_ip = models.CharField("接続元", max_length=64)
    failures = models.PositiveIntegerField("連続失敗回数", default=0)
    first_failure_at = models.DateTimeField("最初の失敗")
    locked_until = models.DateTimeField("ロック期限", null=True, blank=True)

    class Meta:
        verbose_name = "ログイン失敗（接続元ごと）"
        verbose_name_plural = "ログイン失敗（接続元ごと）"
        constraints = [models.UniqueConstraint(fields=["username", "client_ip"], name="login_throttle_unique_pair")]

    def __str__(self) -> str:
        return f"{self.username} @ {self.client_ip}"
