"""The core-system data mirror of one municipality (schema), refreshed by linkage imports.

Rows are keyed by the core system's own keys (宛名番号 ``atena_no``, 世帯番号 ``household_no``) rather
than by foreign keys, so that a linkage file can be staged with COPY and applied in one set-based
statement. Readers go through ``integration.selectors``, which also enforces support-measure
(DV等支援措置) restrictions.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.db import models

from tenants.areas import BusinessArea


class ResidentStatus(models.TextChoices):
    RESIDENT = "resident", "住民"
    MOVED_OUT = "moved_out", "転出"
    DECEASED = "deceased", "死亡"
    REMOVED = "removed", "職権消除等"


class ResidentKind(models.TextChoices):
    JAPANESE = "japanese", "日本人"
    FOREIGN = "foreign", "外国人"


class Sex(models.TextChoices):
    MALE = "1", "男"
    FEMALE = "2", "女"
    OTHER = "9", "その他・不明"


class Household(models.Model):
    household_no = models.CharField("世帯番号", max_length=15, unique=True)
    head_atena_no = models.CharField("世帯主の宛名番号", max_length=15, blank=True)
    address = models.CharField("住所", max_length=200, blank=True)
    address_katagaki = models.CharField("方書", max_length=200, blank=True)
    address_code = models.CharField("住所コード", max_length=20, blank=True)
    postcode = models.CharField("郵便番号", max_length=8, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "世帯"
        verbose_name_plural = "世帯"

    def __str__(self) -> str:
        return self.household_no


class Resident(models.Model):
    atena_no = models.CharField("宛名番号", max_length=15, unique=True)
    household_no = models.CharField("世帯番号", max_length=15, db_index=True)
    resident_code = models.CharField("住民票コード", max_length=11, blank=True)
    name = models.CharField("氏名", max_length=100)
    name_kana = models.CharField("氏名（フリガナ）", max_length=200, blank=True)
    name_alpha = models.CharField("氏名（アルファベット）", max_length=200, blank=True)
    common_name = models.CharField("通称", max_length=100, blank=True)
    old_surname = models.CharField("旧氏", max_length=50, blank=True)
    birth_date = models.DateField("生年月日")
    sex = models.CharField("性別", max_length=1, choices=Sex.choices)
    relationship = models.CharField("続柄", max_length=40, blank=True)
    head_name = models.CharField("世帯主氏名", max_length=100, blank=True)
    address = models.CharField("住所", max_length=200, blank=True)
    address_katagaki = models.CharField("方書", max_length=200, blank=True)
    address_code = models.CharField("住所コード", max_length=20, blank=True)
    postcode = models.CharField("郵便番号", max_length=8, blank=True)
    honseki = models.CharField("本籍", max_length=200, blank=True)
    hittousha = models.CharField("筆頭者", max_length=100, blank=True)
    became_resident_on = models.DateField("住民となった年月日", null=True, blank=True)
    address_set_on = models.DateField("住所を定めた年月日", null=True, blank=True)
    notified_on = models.DateField("届出年月日", null=True, blank=True)
    previous_address = models.CharField("転入前住所", max_length=200, blank=True)
    status = models.CharField("住民状態", max_length=16, choices=ResidentStatus.choices,
                              default=ResidentStatus.RESIDENT)
    kind = models.CharField("住民種別", max_length=16, choices=ResidentKind.choices, default=ResidentKind.JAPANESE)
    # Foreign residents (外国人住民)
    nationality = models.CharField("国籍・地域", max_length=60, blank=True)
    residence_status = models.CharField("在留資格", max_length=60, blank=True)
    residence_period_end = models.DateField("在留期間の満了日", null=True, blank=True)
    residence_card_no = models.CharField("在留カード等番号", max_length=12, blank=True)
    # 個人番号, only if the municipality delivers it: AES-GCM with the tenant data key + keyed hash.
    personal_no_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    personal_no_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # Normalised search columns (integration.normalize), filled on import.
    search_name = models.CharField(max_length=200, blank=True)
    search_kana = models.CharField(max_length=200, blank=True)
    search_address = models.CharField(max_length=400, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "住民"
        verbose_name_plural = "住民"
        indexes = [
            GinIndex(fields=["search_name"], name="resident_name_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_kana"], name="resident_kana_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_address"], name="resident_addr_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(fields=["birth_date"], name="resident_birth_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.atena_no}）"


class Eligibility(models.Model):
    """A qualification or registration in a business area (国保 被保険者, 介護 第1号, 印鑑登録 …)."""

    atena_no = models.CharField("宛名番号", max_length=15, db_index=True)
    area = models.CharField("業務", max_length=16, choices=BusinessArea.choices)
    kind = models.CharField("資格種別", max_length=40)
    number = models.CharField("記号番号等", max_length=40, blank=True)
    start_date = models.DateField("開始日", null=True, blank=True)
    end_date = models.DateField("終了日", null=True, blank=True)
    details = models.JSONField("詳細", default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "資格情報"
        verbose_name_plural = "資格情報"
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
        STALKER = "stalker", "ストーカー行為等"
        CHILD_ABUSE = "child_abuse", "児童虐待等"
        OTHER = "other", "その他"

    atena_no = models.CharField("宛名番号", max_length=15, db_index=True)
    kind = models.CharField("種別", max_length=16, choices=Kind.choices, default=Kind.DV)
    start_date = models.DateField("開始日")
    end_date = models.DateField("終了日", null=True, blank=True)
    restrict_address = models.BooleanField("住所の非表示", default=True)
    note = models.CharField("備考", max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "支援措置"
        verbose_name_plural = "支援措置"
        constraints = [
            models.UniqueConstraint(fields=["atena_no", "kind", "start_date"], name="support_measure_unique")
        ]

    def __str__(self) -> str:
        return f"{self.atena_no} {self.kind} {self.start_date}–{self.end_date or ''}"

    def is_active(self, on: object) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)
