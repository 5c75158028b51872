"""Received data waiting for the core systems, how it is laid out, and every hand-over (batch).

``ExportRecord.id`` is the cursor. Appends are serialised per schema with a transaction-scoped
advisory lock (see ``services.export_record_submit``), so ids become visible in commit order: a
reader that has seen id N will never later see a new id below N. Pending = id above the file
watermark (``ExportWatermark``); API clients page with ``?after=`` and may acknowledge (``ExportAck``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _lazy

from tenants.areas import BusinessArea


class ExportRecord(models.Model):
    kind = models.CharField(_lazy("種別"), max_length=40)
    area = models.CharField(_lazy("業務"), max_length=16, choices=BusinessArea.choices)
    payload = models.JSONField(_lazy("受付データ"), default=dict)
    source = models.CharField(_lazy("受付元"), max_length=64)
    source_id = models.CharField(_lazy("受付元番号"), max_length=64, blank=True)
    created_at = models.DateTimeField(_lazy("受付日時"), auto_now_add=True, db_index=True)
    created_by_id = models.BigIntegerField(_lazy("受付職員ID"), null=True, blank=True)
    # The record concerns a household under an address-restricting support measure (known when it was
    # submitted). Files for a person without 「支援措置の閲覧」 mask its address items; hand-overs also check
    # the measures again, so a measure that starts later masks it too.
    protected = models.BooleanField(_lazy("支援措置対象"), default=False)
    # A correction (訂正) of a record already handed over: a full record with the corrected values that names the
    # original record (always the first record, never another correction). The original is never changed or resent.
    corrects = models.ForeignKey("self", verbose_name=_lazy("訂正元"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="corrections")

    class Meta:
        verbose_name = _lazy("出力対象データ")
        verbose_name_plural = _lazy("出力対象データ")
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "id"], name="exports_record_kind_id_idx")]

    def __str__(self) -> str:
        return f"{self.kind}#{self.pk}"


class ExportLayout(models.Model):
    """A layout a municipal admin imported (JSON); shipped layouts live in code (``layouts.py``)."""

    kind = models.CharField(_lazy("種別"), max_length=40)
    code = models.CharField(_lazy("レイアウトコード"), max_length=40)
    name = models.CharField(_lazy("名称"), max_length=64)
    definition = models.JSONField(_lazy("定義"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _lazy("出力レイアウト")
        verbose_name_plural = _lazy("出力レイアウト")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="exports_layout_kind_code_uniq")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}"


class ExportWatermark(models.Model):
    """Highest record id of a kind already handed over as a file (download of pending or outbox)."""

    kind = models.CharField(_lazy("種別"), max_length=40, unique=True)
    last_record_id = models.BigIntegerField(_lazy("出力済み受付連番"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("出力済み位置")
        verbose_name_plural = _lazy("出力済み位置")

    def __str__(self) -> str:
        return f"{self.kind}≤{self.last_record_id}"


class ExportAck(models.Model):
    """Cursor an API client acknowledged for a kind: a pull without ``after`` continues from here."""

    client = models.ForeignKey("accounts.ApiClient", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_lazy("種別"), max_length=40)
    cursor = models.BigIntegerField(_lazy("確認済みカーソル"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("取得確認")
        verbose_name_plural = _lazy("取得確認")
        constraints = [models.UniqueConstraint(fields=["client", "kind"], name="exports_ack_client_kind_uniq")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.kind}={self.cursor}"


class ExportSchedule(models.Model):
    class Mode(models.TextChoices):
        DAILY = "daily", _lazy("毎日決まった時刻")
        INTERVAL = "interval", _lazy("一定の間隔")

    class Status(models.TextChoices):
        NONE = "", _lazy("未実行")
        OK = "ok", _lazy("出力しました")
        EMPTY = "empty", _lazy("出力する受付データなし")
        FAILED = "failed", _lazy("失敗")

    kind = models.CharField(_lazy("種別"), max_length=40, unique=True)
    layout_code = models.CharField(_lazy("レイアウト"), max_length=40, default="standard")
    mode = models.CharField(_lazy("実行方法"), max_length=16, choices=Mode.choices, default=Mode.DAILY)
    time_of_day = models.TimeField(_lazy("時刻"), null=True, blank=True)
    interval_minutes = models.PositiveIntegerField(_lazy("間隔（分）"), null=True, blank=True)
    is_active = models.BooleanField(_lazy("有効"), default=True)
    next_run_at = models.DateTimeField(_lazy("次回実行"), null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(_lazy("前回実行"), null=True, blank=True)
    last_status = models.CharField(_lazy("前回の結果"), max_length=16, choices=Status.choices, blank=True, default="")
    last_message = models.TextField(_lazy("前回のメッセージ"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("送信フォルダへの定期出力")
        verbose_name_plural = _lazy("送信フォルダへの定期出力")

    def __str__(self) -> str:
        return f"{self.kind} {self.mode}"


class ExportBatch(models.Model):
    class Channel(models.TextChoices):
        DOWNLOAD = "download", _lazy("画面からダウンロード")
        OUTBOX = "outbox", _lazy("送信フォルダ（定期）")
        API = "api", _lazy("API（基幹系が取得）")

    kind = models.CharField(_lazy("種別"), max_length=40)
    channel = models.CharField(_lazy("出力方法"), max_length=16, choices=Channel.choices)
    selection = models.CharField(_lazy("対象"), max_length=16)  # pending | range | cursor
    layout_code = models.CharField(_lazy("レイアウト"), max_length=40, blank=True)
    layout = models.JSONField(_lazy("レイアウト定義（出力時）"), default=dict, blank=True)
    first_record_id = models.BigIntegerField(_lazy("最初の受付連番"), null=True, blank=True)
    last_record_id = models.BigIntegerField(_lazy("最後の受付連番"), null=True, blank=True)
    record_count = models.PositiveIntegerField(_lazy("件数"), default=0)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(_lazy("サイズ（バイト）"), default=0)
    filename = models.CharField(_lazy("ファイル名"), max_length=200, blank=True)
    params = models.JSONField(_lazy("条件"), default=dict, blank=True)
    warnings = models.JSONField(_lazy("警告"), default=list, blank=True)
    masked_count = models.PositiveIntegerField(_lazy("住所をマスクした件数"), default=0)
    actor_id = models.BigIntegerField(_lazy("操作者ID"), null=True, blank=True)
    actor = models.CharField(_lazy("操作者"), max_length=150, blank=True)
    api_client = models.ForeignKey("accounts.ApiClient", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_lazy("出力日時"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _lazy("出力履歴")
        verbose_name_plural = _lazy("出力履歴")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} #{self.pk}"
