"""The core-system data mirror of one municipality (schema), refreshed by linkage imports.

Rows are keyed by the core system's own keys (宛名番号 ``atena_no``, 世帯番号 ``household_no``) rather
than by foreign keys, so that a linkage file can be staged with COPY and applied in one set-based
statement. Readers go through ``integration.selectors``, which also enforces support-measure
(DV等支援措置) restrictions.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from madoguchi.db import KEY_COLLATION, TrigramIndex
from tenants.areas import BusinessArea


class ResidentStatus(models.TextChoices):
    RESIDENT = "resident", _lazy("住民")
    MOVED_OUT = "moved_out", _lazy("転出")
    DECEASED = "deceased", _lazy("死亡")
    REMOVED = "removed", _lazy("職権消除等")


class ResidentKind(models.TextChoices):
    JAPANESE = "japanese", _lazy("日本人")
    FOREIGN = "foreign", _lazy("外国人")


class Sex(models.TextChoices):
    MALE = "1", _lazy("男")
    FEMALE = "2", _lazy("女")
    OTHER = "9", _lazy("その他・不明")


class Household(models.Model):
    # Keys are unique constraints / plain indexes declared in Meta: a ``unique=True`` or ``db_index=True``
    # CharField also gets a varchar_pattern_ops index for LIKE 'prefix%', which no query here uses and
    # every bulk load would have to build.
    household_no = models.CharField(_lazy("世帯番号"), max_length=15, db_collation=KEY_COLLATION)
    head_atena_no = models.CharField(_lazy("世帯主の宛名番号"), max_length=15, blank=True, db_collation=KEY_COLLATION)
    address = models.CharField(_lazy("住所"), max_length=200, blank=True)
    address_katagaki = models.CharField(_lazy("方書"), max_length=200, blank=True)
    address_code = models.CharField(_lazy("住所コード"), max_length=20, blank=True)
    postcode = models.CharField(_lazy("郵便番号"), max_length=8, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("世帯")
        verbose_name_plural = _lazy("世帯")
        constraints = [models.UniqueConstraint(fields=["household_no"], name="integration_household_household_no_key")]

    def __str__(self) -> str:
        return self.household_no


class Resident(models.Model):
    # unique: Meta (see Household)
    atena_no = models.CharField(_lazy("宛名番号"), max_length=15, db_collation=KEY_COLLATION)
    household_no = models.CharField(_lazy("世帯番号"), max_length=15, db_collation=KEY_COLLATION)
    resident_code = models.CharField(_lazy("住民票コード"), max_length=11, blank=True)
    name = models.CharField(_lazy("氏名"), max_length=100)
    name_kana = models.CharField(_lazy("氏名（フリガナ）"), max_length=200, blank=True)
    name_alpha = models.CharField(_lazy("氏名（アルファベット）"), max_length=200, blank=True)
    common_name = models.CharField(_lazy("通称"), max_length=100, blank=True)
    old_surname = models.CharField(_lazy("旧氏"), max_length=50, blank=True)
    birth_date = models.DateField(_lazy("生年月日"))
    sex = models.CharField(_lazy("性別"), max_length=1, choices=Sex.choices)
    relationship = models.CharField(_lazy("続柄"), max_length=40, blank=True)
    head_name = models.CharField(_lazy("世帯主氏名"), max_length=100, blank=True)
    address = models.CharField(_lazy("住所"), max_length=200, blank=True)
    address_katagaki = models.CharField(_lazy("方書"), max_length=200, blank=True)
    address_code = models.CharField(_lazy("住所コード"), max_length=20, blank=True)
    postcode = models.CharField(_lazy("郵便番号"), max_length=8, blank=True)
    honseki = models.CharField(_lazy("本籍"), max_length=200, blank=True)
    hittousha = models.CharField(_lazy("筆頭者"), max_length=100, blank=True)
    became_resident_on = models.DateField(_lazy("住民となった年月日"), null=True, blank=True)
    address_set_on = models.DateField(_lazy("住所を定めた年月日"), null=True, blank=True)
    notified_on = models.DateField(_lazy("届出年月日"), null=True, blank=True)
    previous_address = models.CharField(_lazy("転入前住所"), max_length=200, blank=True)
    removed_on = models.DateField(_lazy("消除日"), null=True, blank=True)
    status = models.CharField(_lazy("住民状態"), max_length=16, choices=ResidentStatus.choices,
                              default=ResidentStatus.RESIDENT)
    kind = models.CharField(_lazy("住民種別"), max_length=16, choices=ResidentKind.choices,
                            default=ResidentKind.JAPANESE)
    # Foreign residents (外国人住民)
    nationality = models.CharField(_lazy("国籍・地域"), max_length=60, blank=True)
    residence_status = models.CharField(_lazy("在留資格"), max_length=60, blank=True)
    residence_period_end = models.DateField(_lazy("在留期間の満了日"), null=True, blank=True)
    residence_card_no = models.CharField(_lazy("在留カード等番号"), max_length=12, blank=True)
    # 個人番号, only if the municipality delivers it: AES-GCM with the tenant data key + keyed hash.
    personal_no_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    personal_no_hash = models.CharField(max_length=64, blank=True, editable=False, db_collation=KEY_COLLATION)
    # Normalised search columns (integration.normalize), filled on import.
    search_name = models.CharField(max_length=200, blank=True)
    search_kana = models.CharField(max_length=200, blank=True)
    search_address = models.CharField(max_length=400, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("住民")
        verbose_name_plural = _lazy("住民")
        constraints = [models.UniqueConstraint(fields=["atena_no"], name="integration_resident_atena_no_key")]
        indexes = [
            models.Index(fields=["household_no"], name="resident_household_idx"),
            models.Index(fields=["personal_no_hash"], name="resident_personal_hash_idx"),
            TrigramIndex(fields=["search_name"], name="resident_name_trgm"),
            TrigramIndex(fields=["search_kana"], name="resident_kana_trgm"),
            TrigramIndex(fields=["search_address"], name="resident_addr_trgm"),
            models.Index(fields=["birth_date"], name="resident_birth_idx"),
        ]

    def __str__(self) -> str:
        return _("%(name)s（%(atena_no)s）") % {"name": self.name, "atena_no": self.atena_no}


class AddressSearchPrefix(models.Model):
    """The municipality's own 都道府県+市区町村 (normalised) that the stored ``Resident.search_address`` values
    leave out (one row per schema; see integration.normalize.local_address). Imports and search both use
    this stored value, never the municipality's current name, so a renamed municipality's search stays exact;
    ``manage.py linkage_search_address`` rewrites every row for the current name and updates it."""

    prefix = models.CharField(_lazy("検索用住所から除く自治体名"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("検索用住所の自治体名")
        verbose_name_plural = _lazy("検索用住所の自治体名")

    def __str__(self) -> str:
        return self.prefix


class Eligibility(models.Model):
    """A qualification or registration in a business area (国保 被保険者, 介護 第1号, 印鑑登録 …)."""

    atena_no = models.CharField(_lazy("宛名番号"), max_length=15, db_index=True, db_collation=KEY_COLLATION)
    area = models.CharField(_lazy("業務"), max_length=16, choices=BusinessArea.choices)
    kind = models.CharField(_lazy("資格種別"), max_length=40)
    number = models.CharField(_lazy("記号番号等"), max_length=40, blank=True)
    start_date = models.DateField(_lazy("開始日"), null=True, blank=True)
    end_date = models.DateField(_lazy("終了日"), null=True, blank=True)
    details = models.JSONField(_lazy("詳細"), default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("資格情報")
        verbose_name_plural = _lazy("資格情報")
        constraints = [models.UniqueConstraint(fields=["atena_no", "area", "kind"], name="eligibility_unique_kind")]
        indexes = [models.Index(fields=["area", "kind"], name="eligibility_area_kind_idx")]

    def __str__(self) -> str:
        return f"{self.atena_no} {self.area}:{self.kind}"

    def is_current(self, on: object) -> bool:
        return (self.start_date is None or self.start_date <= on) and (self.end_date is None or self.end_date >= on)


class SupportMeasure(models.Model):
    """DV等支援措置: while valid, the person's address must not reach anyone who should not see it."""

    class Kind(models.TextChoices):
        DV = "dv", "DV"
        STALKER = "stalker", _lazy("ストーカー行為等")
        CHILD_ABUSE = "child_abuse", _lazy("児童虐待等")
        OTHER = "other", _lazy("その他")

    atena_no = models.CharField(_lazy("宛名番号"), max_length=15, db_index=True, db_collation=KEY_COLLATION)
    kind = models.CharField(_lazy("種別"), max_length=16, choices=Kind.choices, default=Kind.DV)
    start_date = models.DateField(_lazy("開始日"))
    end_date = models.DateField(_lazy("終了日"), null=True, blank=True)
    restrict_address = models.BooleanField(_lazy("住所の非表示"), default=True)
    note = models.CharField(_lazy("備考"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("支援措置")
        verbose_name_plural = _lazy("支援措置")
        constraints = [
            models.UniqueConstraint(fields=["atena_no", "kind", "start_date"], name="support_measure_unique")
        ]

    def __str__(self) -> str:
        return f"{self.atena_no} {self.kind} {self.start_date}–{self.end_date or ''}"

    def is_active(self, on: object) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)


# ---------------------------------------------------------------------------------------------
# Linkage: layouts (data, not code), 外字 table, import runs, schedules
# ---------------------------------------------------------------------------------------------
# The default of a stored field (what a new layout's row holds, shown in the disclosure as the admin left
# it): data in the database, not translated.
DEFAULT_METHOD = "ファイル連携（SFTP受信フォルダ・画面・API）"


class LinkageLayout(models.Model):
    """One linkage file definition. Which fields a target accepts is defined in ``integration.targets``."""

    class Direction(models.TextChoices):
        IN = "in", _lazy("取込（基幹系→窓口）")
        OUT = "out", _lazy("出力（窓口→基幹系）")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        FIXED = "fixed", _lazy("固定長")

    class Encoding(models.TextChoices):
        UTF8 = "utf-8", "UTF-8"
        UTF8_SIG = "utf-8-sig", _lazy("UTF-8（BOM付き）")
        CP932 = "cp932", _lazy("Shift_JIS（CP932）")

    class Mode(models.TextChoices):
        FULL = "full", _lazy("全件（置換）")
        DELTA = "delta", _lazy("差分（追加・変更・削除）")

    key = models.SlugField(_lazy("識別子"), max_length=64, unique=True)
    name = models.CharField(_lazy("名称"), max_length=100)
    description = models.TextField(_lazy("説明"), blank=True)
    direction = models.CharField(_lazy("方向"), max_length=3, choices=Direction.choices, default=Direction.IN)
    target = models.CharField(_lazy("取込先"), max_length=40)
    format = models.CharField(_lazy("形式"), max_length=8, choices=Format.choices, default=Format.CSV)
    encoding = models.CharField(_lazy("文字コード"), max_length=12, choices=Encoding.choices, default=Encoding.UTF8)
    has_header = models.BooleanField(_lazy("見出し行あり"), default=True)
    delimiter = models.CharField(_lazy("区切り文字"), max_length=2, default=",", blank=True)
    record_length = models.PositiveIntegerField(_lazy("レコード長（バイト）"), null=True, blank=True)
    mode = models.CharField(_lazy("取込方式"), max_length=8, choices=Mode.choices, default=Mode.FULL)
    op_codes = models.JSONField(_lazy("処理区分コード"), default=dict, blank=True)
    key_fields = models.JSONField(_lazy("キー項目"), default=list)
    date_formats = models.JSONField(_lazy("日付形式"), default=list, blank=True)
    code_tables = models.JSONField(_lazy("コード表"), default=dict, blank=True)
    columns = models.JSONField(_lazy("項目定義"), default=list)
    options = models.JSONField(_lazy("その他の設定"), default=dict, blank=True)
    # Record kinds (header / data / trailer) and file-level checks: integration.importer.kinds.
    # db_default: code of the previous release (workers still running during a deploy) inserts without it.
    records = models.JSONField(_lazy("レコード種別"), default=dict, blank=True,
                               db_default=models.Value({}, output_field=models.JSONField()))
    method = models.CharField(_lazy("連携方法"), max_length=100, default=DEFAULT_METHOD)
    is_active = models.BooleanField(_lazy("有効"), default=True)
    shipped = models.BooleanField(_lazy("標準提供"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("連携レイアウト")
        verbose_name_plural = _lazy("連携レイアウト")
        ordering = ["target", "key"]

    def __str__(self) -> str:
        return self.name

    @property
    def target_label(self) -> str:
        from integration.targets import target_for

        try:
            return target_for(self.target).label
        except ValueError:
            return self.target

    @property
    def area(self) -> str | None:
        """Business area of an eligibility layout (``eligibility:<area>``); ``juki`` for residents."""
        if self.target == "eligibility:*":
            return None  # several areas in one file: each row's 業務区分 decides (integration.targets)
        if self.target.startswith("eligibility:"):
            return self.target.split(":", 1)[1]
        return BusinessArea.JUKI.value


class GaijiMapping(models.Model):
    """外字: a local code point (PUA or vendor code decoded to PUA) → UCS string (+IVS) / MJ文字図形名."""

    local_code = models.CharField(_lazy("外字コード"), max_length=8, unique=True)  # one character (PUA)
    ucs = models.CharField(_lazy("UCS（IVS付き）"), max_length=16)
    mj_name = models.CharField(_lazy("MJ文字図形名"), max_length=16, blank=True)
    note = models.CharField(_lazy("備考"), max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _lazy("外字変換")
        verbose_name_plural = _lazy("外字変換")
        ordering = ["local_code"]

    def __str__(self) -> str:
        return f"U+{ord(self.local_code[0]):04X} → {self.ucs}"


class ImportRun(models.Model):
    """Every import attempt, kept: file, hash, counts, errors (capped), phase timings."""

    class Status(models.TextChoices):
        QUEUED = "queued", _lazy("待機中")
        VALIDATING = "validating", _lazy("検証中")
        APPLYING = "applying", _lazy("反映中")
        SUCCEEDED = "succeeded", _lazy("完了")
        FAILED = "failed", _lazy("エラー")
        DUPLICATE = "duplicate", _lazy("取込済み（同一ファイル）")
        INTERRUPTED = "interrupted", _lazy("中断")

    class Source(models.TextChoices):
        UPLOAD = "upload", _lazy("画面")
        INBOX = "inbox", _lazy("受信フォルダ")
        API = "api", "API"
        SCHEDULE = "schedule", _lazy("スケジュール")
        DEMO = "demo", _lazy("デモデータ")

    layout = models.ForeignKey(LinkageLayout, verbose_name=_lazy("レイアウト"), on_delete=models.PROTECT,
                               related_name="runs")
    file_name = models.CharField(_lazy("ファイル名"), max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    file_size = models.BigIntegerField(_lazy("サイズ"), default=0)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    source = models.CharField(_lazy("受付経路"), max_length=16, choices=Source.choices, default=Source.UPLOAD)
    status = models.CharField(_lazy("状態"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    message = models.CharField(_lazy("結果"), max_length=300, blank=True)
    rows_total = models.BigIntegerField(_lazy("行数"), default=0)
    rows_validated = models.BigIntegerField(_lazy("検証済み行数"), default=0)
    rows_applied = models.BigIntegerField(_lazy("反映済み行数"), default=0)
    added = models.BigIntegerField(_lazy("追加"), default=0)
    changed = models.BigIntegerField(_lazy("変更"), default=0)
    deleted = models.BigIntegerField(_lazy("削除"), default=0)
    unchanged = models.BigIntegerField(_lazy("変更なし"), default=0)
    # db_default: code of the previous release (workers still running during a deploy) inserts without them.
    skipped = models.BigIntegerField(_lazy("対象外（契約外の業務）"), default=0, db_default=0)
    file_kind = models.CharField(_lazy("ファイル区分"), max_length=8, blank=True, default="", db_default="")
    reference_date = models.DateField(_lazy("基準日"), null=True, blank=True)
    warnings = models.JSONField(_lazy("確認事項"), default=list, blank=True,
                                db_default=models.Value([], output_field=models.JSONField()))
    error_count = models.IntegerField(_lazy("エラー件数"), default=0)
    errors = models.JSONField(_lazy("エラー"), default=list, blank=True)
    timings = models.JSONField(_lazy("処理時間（秒）"), default=dict, blank=True)
    requested_by = models.CharField(_lazy("依頼者"), max_length=150, blank=True)
    schedule = models.ForeignKey("LinkageSchedule", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="runs")
    deadline = models.DateTimeField(_lazy("完了期限"), null=True, blank=True)
    created_at = models.DateTimeField(_lazy("受付"), auto_now_add=True)
    started_at = models.DateTimeField(_lazy("開始"), null=True, blank=True)
    finished_at = models.DateTimeField(_lazy("終了"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _lazy("取込履歴")
        verbose_name_plural = _lazy("取込履歴")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["layout", "sha256", "status"], name="importrun_dedupe_idx")]

    def __str__(self) -> str:
        return _("%(file)s（%(status)s）") % {"file": self.file_name, "status": self.get_status_display()}

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.VALIDATING, self.Status.APPLYING)

    @property
    def is_late(self) -> bool:
        if self.deadline is None:
            return False
        end = self.finished_at
        if end is None:
            from django.utils import timezone

            return timezone.now() > self.deadline
        return end > self.deadline

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        done = self.rows_validated + self.rows_applied
        return min(99, int(done * 100 / (2 * self.rows_total)))


class LinkageSchedule(models.Model):
    """When a layout's file is picked up from the inbox: nightly at hh:mm, or every N minutes."""

    class Kind(models.TextChoices):
        NIGHTLY = "nightly", _lazy("毎日（夜間）")
        INTERVAL = "interval", _lazy("一定間隔")

    layout = models.ForeignKey(LinkageLayout, verbose_name=_lazy("レイアウト"), on_delete=models.CASCADE,
                               related_name="schedules")
    kind = models.CharField(_lazy("種類"), max_length=10, choices=Kind.choices, default=Kind.NIGHTLY)
    at_time = models.TimeField(_lazy("実行時刻"), null=True, blank=True)
    every_minutes = models.PositiveIntegerField(_lazy("間隔（分）"), null=True, blank=True)
    deadline_time = models.TimeField(_lazy("完了期限"), null=True, blank=True)
    is_active = models.BooleanField(_lazy("有効"), default=True)
    last_started_at = models.DateTimeField(_lazy("前回開始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_lazy("前回終了"), null=True, blank=True)
    last_status = models.CharField(_lazy("前回結果"), max_length=16, blank=True)

    class Meta:
        verbose_name = _lazy("連携スケジュール")
        verbose_name_plural = _lazy("連携スケジュール")
        ordering = ["layout__key", "pk"]

    def __str__(self) -> str:
        return f"{self.layout.key} {self.describe()}"

    def describe(self) -> str:
        if self.kind == self.Kind.NIGHTLY and self.at_time:
            at = f"{self.at_time:%H:%M}"
            if self.deadline_time:
                return _("毎日 %(time)s（%(deadline)s までに完了）") % {"time": at,
                                                                  "deadline": f"{self.deadline_time:%H:%M}"}
            return _("毎日 %(time)s") % {"time": at}
        return _("%(minutes)s 分ごと") % {"minutes": self.every_minutes or 5}
