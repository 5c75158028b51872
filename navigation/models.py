"""The procedure catalogue of one municipality (schema): a draft that admins edit, and published versions.

The draft is relational (``LifeEvent``, ``Procedure``, ``Question``, ``Rule``) so that it can be edited
item by item with validation. Publishing serialises the draft into an immutable ``CatalogueVersion``
snapshot (JSON in the ``default.json`` format) with an effective date; determination always runs on a
published snapshot, and a case keeps the version it was opened with.

Items that came from the shipped default catalogue remember ``origin = default`` and ``default_hash``
(the hash of the default content they were installed from), so upgrading the default can tell an
untouched item (replace it) from one the municipality edited (keep it and report it).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.areas import BusinessArea

code_validator = RegexValidator(r"^[a-z][a-z0-9_\-]{0,59}$", _("英小文字で始まる英数字・_・- で入力してください。"))
rule_code_validator = RegexValidator(r"^[a-z][a-z0-9_.\-]{0,79}$",
                                     _("英小文字で始まる英数字・_・-・. で入力してください。"))


class Origin(models.TextChoices):
    DEFAULT = "default", _("標準カタログ")
    LOCAL = "local", _("独自")


class CatalogueItem(models.Model):
    origin = models.CharField(_("由来"), max_length=8, choices=Origin.choices, default=Origin.LOCAL)
    default_hash = models.CharField(max_length=64, blank=True, editable=False)
    order = models.IntegerField(_("表示順"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class LifeEvent(CatalogueItem):
    code = models.CharField(_("コード"), max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(_("名称"), max_length=60)
    description = models.CharField(_("説明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("異動事由（ライフイベント）")
        verbose_name_plural = _("異動事由（ライフイベント）")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Procedure(CatalogueItem):
    code = models.CharField(_("コード"), max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(_("手続名"), max_length=120)
    area = models.CharField(_("業務"), max_length=16, choices=BusinessArea.choices)
    guidance = models.TextField(_("職員向けの案内"), blank=True)
    documents = models.JSONField(_("持ち物"), default=list, blank=True)
    counter = models.CharField(_("担当窓口"), max_length=64, blank=True)
    department = models.CharField(_("担当部署"), max_length=64, blank=True)
    legal_basis = models.CharField(_("根拠法令"), max_length=300, blank=True)
    legal_url = models.URLField(_("根拠法令のURL"), blank=True)
    # Where the rule itself comes from when the article alone does not say it (事務処理要領, a ministry notice …).
    source = models.CharField(_("判定の出典"), max_length=300, blank=True)
    fee = models.CharField(_("手数料"), max_length=100, blank=True)
    forms = models.JSONField(_("様式コード"), default=list, blank=True)
    staff_alert = models.BooleanField(_("職員への注意喚起"), default=False)
    # Hand-back to the core systems (R3.2): {"kind": <export kind>, "items": {item: value}, "by_event": {event:
    # {item: value}}}; values are constants or references (@event_date, @answer.<question>, …). Empty: none.
    export = models.JSONField(_("基幹系への連携"), default=dict, blank=True)
    events = models.ManyToManyField(LifeEvent, verbose_name=_("異動事由"), related_name="procedures")

    class Meta:
        verbose_name = _("手続")
        verbose_name_plural = _("手続")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class QuestionKind(models.TextChoices):
    YESNO = "yesno", _("はい／いいえ")
    CHOICE = "choice", _("選択")
    DATE = "date", _("日付")
    NUMBER = "number", _("数値")
    TEXT = "text", _("文字（1行）")
    ADDRESS = "address", _("住所（町字の一覧から選び、番地・方書を入力）")


class QuestionScope(models.TextChoices):
    PERSON = "person", _("人ごと")
    CASE = "case", _("ケース（世帯）ごと")


class Question(CatalogueItem):
    code = models.CharField(_("コード"), max_length=60, unique=True, validators=[code_validator])
    text = models.CharField(_("質問文"), max_length=300)
    help = models.CharField(_("補足"), max_length=300, blank=True)
    kind = models.CharField(_("回答の種類"), max_length=8, choices=QuestionKind.choices, default=QuestionKind.YESNO)
    scope = models.CharField(_("対象"), max_length=8, choices=QuestionScope.choices, default=QuestionScope.PERSON)
    choices = models.JSONField(_("選択肢"), default=list, blank=True)
    # Per-person yes/no: at most one person answers "yes" (the others' answer becomes "no" then).
    exclusive = models.BooleanField(_("1人だけが「はい」"), default=False)

    class Meta:
        verbose_name = _("質問")
        verbose_name_plural = _("質問")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.text


class RuleScope(models.TextChoices):
    PERSON = "person", _("人ごと")
    HOUSEHOLD = "household", _("世帯（ケース）ごと")


class Rule(CatalogueItem):
    code = models.CharField(_("コード"), max_length=80, unique=True, validators=[rule_code_validator])
    procedure = models.ForeignKey(Procedure, verbose_name=_("手続"), on_delete=models.CASCADE, related_name="rules")
    scope = models.CharField(_("対象"), max_length=10, choices=RuleScope.choices, default=RuleScope.PERSON)
    events = models.ManyToManyField(LifeEvent, verbose_name=_("適用する異動事由"), blank=True, related_name="+")
    condition = models.JSONField(_("条件（JsonLogic）"))
    reason = models.CharField(_("理由の文"), max_length=300)

    class Meta:
        verbose_name = _("判定ルール")
        verbose_name_plural = _("判定ルール")
        ordering = ["procedure__order", "order", "code"]

    def __str__(self) -> str:
        return self.code


class CatalogueState(models.Model):
    """One row per schema: what the draft was built from and which default items were deleted."""

    default_release = models.CharField(max_length=40, blank=True)
    removed_defaults = models.JSONField(default=list, blank=True)  # ["procedures:code", …]
    draft_updated_at = models.DateTimeField(null=True, blank=True)
    draft_updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("カタログの状態")
        verbose_name_plural = _("カタログの状態")

    def __str__(self) -> str:
        return f"catalogue state ({self.default_release})"


class CatalogueVersion(models.Model):
    """An immutable published catalogue (never updated or deleted once saved)."""

    number = models.PositiveIntegerField(_("版"), unique=True)
    effective_from = models.DateField(_("適用開始日"))
    published_at = models.DateTimeField(_("公開日時"), auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("公開者"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("メモ"), max_length=200, blank=True)
    snapshot = models.JSONField(editable=False)
    content_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("公開版")
        verbose_name_plural = _("公開版")
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"第{self.number}版（{self.effective_from:%Y-%m-%d}〜）"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("公開版は変更できません（新しい版を公開してください）。")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("公開版は削除できません。")


class CounterMapping(models.Model):
    """Which of the municipality's counters serves a counter named in the catalogue (``Procedure.counter``).

    The catalogue names counters generically (総合窓口, 保険年金窓口 …); a municipality's counters have its own
    names (総合窓口 1番 …). Provisioning creates default counters and maps them; the admin may remap. Every
    catalogue counter must map to an active counter before a version can be published.
    """

    catalogue_counter = models.CharField(_("カタログの担当窓口"), max_length=64, unique=True)
    counter = models.ForeignKey("accounts.Counter", verbose_name=_("窓口"), on_delete=models.CASCADE,
                                related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("担当窓口の対応")
        verbose_name_plural = _("担当窓口の対応")
        ordering = ["catalogue_counter"]

    def __str__(self) -> str:
        return f"{self.catalogue_counter} → {self.counter_id}"
