from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

# At most this many 宛名番号 on one event; ``services.record`` continues longer lists on follow-up events.
RESIDENTS_PER_EVENT = 1000


class AuditAction(models.TextChoices):
    VIEW = "view", "閲覧"
    CREATE = "create", "登録"
    UPDATE = "update", "更新"
    DELETE = "delete", "削除"
    PRINT = "print", "印刷"
    EXPORT = "export", "出力"
    IMPORT = "import", "取込"
    LOGIN = "login", "ログイン"
    LOGOUT = "logout", "ログアウト"
    LOGIN_FAILED = "login_failed", "ログイン失敗"
    LOCKOUT = "lockout", "アカウントロック"
    OVERRIDE = "override", "上長承認による例外処理"
    VERIFY = "verify", "監査ログ検証"
    PROVISION = "provision", "自治体開設"
    SUSPEND = "suspend", "利用停止"


class AuditEvent(models.Model):
    """One row of the append-only, hash-chained audit trail of this schema.

    ``hash = HMAC-SHA256(chain key, canonical JSON of every other column + prev_hash)`` (audit.keys; rows older
    than the key: plain SHA-256); ``seq`` is gap-free. The application role may only SELECT and INSERT
    (madoguchi.dbroles); a trigger rejects UPDATE, DELETE and TRUNCATE on top (migration 0001).
    """

    seq = models.BigIntegerField("連番", unique=True)
    occurred_at = models.DateTimeField("日時", db_index=True)
    actor_id = models.BigIntegerField("操作者ID", null=True, blank=True)
    actor = models.CharField("操作者", max_length=150, blank=True)
    action = models.CharField("操作", max_length=32, db_index=True)  # AuditAction values; apps may add more
    target_type = models.CharField("対象種別", max_length=64, blank=True)
    target_id = models.CharField("対象ID", max_length=64, blank=True, db_index=True)
    area = models.CharField("業務", max_length=16, blank=True)
    request_id = models.CharField("リクエストID", max_length=64, blank=True)
    client_ip = models.CharField("端末アドレス", max_length=64, blank=True)
    counter_id = models.BigIntegerField("窓口ID", null=True, blank=True)
    details = models.JSONField("詳細", default=dict, blank=True)
    # 宛名番号 of every resident whose personal data this event showed or handed out (R6.3): "who saw or
    # took resident X's data" is ``residents @> ARRAY[X]`` (GIN index). Part of the hashed bytes.
    # ``db_default``: rows inserted without the column (older code, SQL tools) name nobody.
    residents = ArrayField(models.CharField(max_length=32), verbose_name="対象住民（宛名番号）", default=list,
                           db_default=models.Value([], output_field=ArrayField(models.CharField(max_length=32))),
                           blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = "監査ログ"
        verbose_name_plural = "監査ログ"
        ordering = ["seq"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_audit_target__idx"),
                   GinIndex(fields=["residents"], name="audit_event_residents_gin")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"
