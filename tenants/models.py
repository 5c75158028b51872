from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.postgresql_backend.base import _check_schema_name

from tenants.areas import BusinessArea
from tenants.validators import validate_municipality_code, validate_slug


class Municipality(TenantMixin):
    """A municipality (自治体) = one tenant = one PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("利用中")
        SUSPENDED = "suspended", _("利用停止")
        TERMINATED = "terminated", _("解約")

    # Inherited from TenantMixin, restated only to name it in Japanese (same column).
    schema_name = models.CharField(_("スキーマ名"), max_length=63, unique=True, db_index=True,
                                   validators=[_check_schema_name])
    code = models.CharField(
        _("全国地方公共団体コード"), max_length=6, unique=True, validators=[validate_municipality_code]
    )
    slug = models.CharField(_("識別名（ホスト名）"), max_length=32, unique=True, validators=[validate_slug])
    name = models.CharField(_("名称"), max_length=64)
    name_kana = models.CharField(_("名称（カナ）"), max_length=128, blank=True)
    prefecture = models.CharField(_("都道府県"), max_length=8)
    status = models.CharField(_("状態"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    areas = ArrayField(
        models.CharField(max_length=16, choices=BusinessArea.choices),
        verbose_name=_("契約業務"),
        default=list,
        blank=True,
    )
    contract_start = models.DateField(_("契約開始日"), null=True, blank=True)
    contract_end = models.DateField(_("契約終了日"), null=True, blank=True)
    # The per-municipality data key, wrapped (AES-GCM) by the key-encryption key. Destroying it
    # makes every encrypted value of this municipality unreadable, backups included (R8.6).
    wrapped_data_key = models.BinaryField(_("データ鍵（ラップ済み）"), null=True, blank=True, editable=False)
    data_key_destroyed_at = models.DateTimeField(_("データ鍵の破棄日時"), null=True, blank=True, editable=False)
    suspended_reason = models.CharField(_("停止理由"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登録日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    # Schemas are created by tenants.services.municipality_provision (cloned from the template).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        verbose_name = _("自治体")
        verbose_name_plural = _("自治体")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def has_area(self, area: str) -> bool:
        return area in (self.areas or [])

    def area_labels(self) -> list[str]:
        return [BusinessArea(area).label for area in self.areas or []]


class Domain(DomainMixin):
    # Inherited from DomainMixin, restated only to name them in Japanese (same columns).
    domain = models.CharField(_("ドメイン名"), max_length=253, unique=True, db_index=True)
    tenant = models.ForeignKey("tenants.Municipality", verbose_name=_("自治体"), db_index=True, related_name="domains",
                               on_delete=models.CASCADE)
    is_primary = models.BooleanField(_("主ドメイン"), default=True, db_index=True)

    class Meta:
        verbose_name = _("ドメイン")
        verbose_name_plural = _("ドメイン")

    def __str__(self) -> str:
        return self.domain


class JobDispatch(models.Model):
    """A fixed-timetable job slot already enqueued for a municipality (see tenants.jobs)."""

    schema_name = models.CharField(_("スキーマ名"), max_length=63)
    job = models.CharField(_("定期処理"), max_length=100)
    slot = models.DateTimeField(_("実行枠"))
    dispatched_at = models.DateTimeField(_("送信日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("定期処理の実行記録")
        verbose_name_plural = _("定期処理の実行記録")
        constraints = [models.UniqueConstraint(fields=["schema_name", "job", "slot"], name="job_dispatch_once")]

    def __str__(self) -> str:
        return f"{self.schema_name} {self.job} {self.slot:%Y-%m-%d %H:%M}"


class AuditCheckpoint(models.Model):
    """A signed head of a schema's audit chain, kept in public (outside the tenant's schema).

    Written every few minutes by ``audit.checkpoint`` (and also to the write-once anchor store, audit.anchors);
    ``audit_verify`` checks that the chain still contains every checkpointed row with the same hash and that
    no stored anchor is missing here. Append-only for the application role.
    """

    schema_name = models.CharField(_("スキーマ名"), max_length=63, db_index=True)
    seq = models.BigIntegerField(_("連番"))
    hash = models.CharField(_("ハッシュ値"), max_length=64)
    signed_at = models.DateTimeField(_("署名日時"))
    key_id = models.CharField(_("署名鍵ID"), max_length=16)
    signature = models.CharField(_("署名"), max_length=128)

    class Meta:
        verbose_name = _("監査ログ署名チェックポイント")
        verbose_name_plural = _("監査ログ署名チェックポイント")
        ordering = ["schema_name", "-seq"]

    def __str__(self) -> str:
        return f"{self.schema_name}#{self.seq}"


class AuditChainKey(models.Model):
    """The HMAC key of one schema's audit chain (a municipality's, or public), wrapped by the KEK.

    Rows from ``since_seq`` on are keyed (HMAC-SHA256); rows before it were written before keys existed and
    are plain SHA-256 links. ``since_seq`` is bound into the wrapping, so it cannot be moved. Append-only for
    the application role (SELECT, INSERT). Termination does not destroy it (docs/operations.md).
    """

    schema_name = models.CharField(_("スキーマ名"), max_length=63, unique=True)
    since_seq = models.BigIntegerField(_("適用開始の連番"))
    wrapped_key = models.BinaryField(_("鍵（ラップ済み）"), editable=False)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("監査ログ連鎖鍵（ラップ済み）")
        verbose_name_plural = _("監査ログ連鎖鍵（ラップ済み）")

    def __str__(self) -> str:
        return f"{self.schema_name} (from #{self.since_seq})"
