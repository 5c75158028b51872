"""Cases (受付) at the counter, the procedures determined for each person, hand-offs and memos.

A case belongs to one municipality (its schema). It sits at one counter at a time
(``current_counter``): either being served there or waiting in that counter's queue after a hand-off
(R2.4). Everything the interview collected (``answers``) stays on the case, so the next counter
resumes exactly where the previous one stopped.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.db import KEY_COLLATION
from tenants.accounts.models import Counter, Department


class CaseStatus(models.TextChoices):
    OPEN = "open", _("受付中")
    CLOSED = "closed", _("完了")


class QueueState(models.TextChoices):
    SERVING = "serving", _("対応中")
    WAITING = "waiting", _("引継ぎ待ち")


class Case(models.Model):
    day = models.DateField(_("受付日"))
    number = models.PositiveIntegerField(_("受付番号"))
    status = models.CharField(_("状態"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    event_date = models.DateField(_("異動日・届出日"))
    events = models.JSONField(_("ライフイベント"), default=list, blank=True)
    answers = models.JSONField(_("聞き取りの回答"), default=dict, blank=True)
    catalogue_version_id = models.PositiveIntegerField(_("手続カタログの版"), null=True, blank=True)
    determination = models.JSONField(_("判定結果"), default=dict, blank=True)
    determined_at = models.DateTimeField(_("判定日時"), null=True, blank=True)
    current_counter = models.ForeignKey(
        Counter,
        verbose_name=_("現在の窓口"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    queue_state = models.CharField(
        _("窓口での状態"), max_length=8, choices=QueueState.choices, default=QueueState.SERVING
    )
    handling_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("対応中の職員"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    queued_at = models.DateTimeField(_("窓口に着いた日時"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("受付者"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("完了者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    close_override_reason = models.TextField(_("未完了のまま完了した理由"), blank=True)
    # A case with neither a life event nor another purpose (a certificate request…) closes only with a reason.
    close_reason = models.TextField(_("事由のないまま完了した理由"), blank=True)
    # What closing handed back to the core systems (navigation.cases.handback): records and skipped items.
    handback = models.JSONField(_("基幹系への連携結果"), default=dict, blank=True)

    class Meta:
        verbose_name = _("受付")
        verbose_name_plural = _("受付")
        constraints = [models.UniqueConstraint(fields=["day", "number"], name="case_unique_day_number")]
        indexes = [models.Index(fields=["current_counter", "status"], name="case_counter_status_idx")]

    def __str__(self) -> str:
        return f"{self.label}"

    @property
    def label(self) -> str:
        return f"{self.day:%m%d}-{self.number:03d}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class CaseNumber(models.Model):
    """The last number handed out on a day; incremented with one atomic UPSERT."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class CasePerson(models.Model):
    """A person the case is about: a resident of the mirror (宛名番号) or a newcomer typed in by staff."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="persons")
    position = models.PositiveSmallIntegerField(default=0)
    atena_no = models.CharField(_("宛名番号"), max_length=15, blank=True, db_collation=KEY_COLLATION)
    is_newcomer = models.BooleanField(_("新規（住民記録なし）"), default=False)
    # Snapshot for display and for newcomers (転入者, 出生児): mirror data is re-read when shown.
    name = models.CharField(_("氏名"), max_length=100)
    name_kana = models.CharField(_("氏名（フリガナ）"), max_length=200, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    sex = models.CharField(_("性別"), max_length=1, blank=True)
    relationship = models.CharField(_("続柄"), max_length=40, blank=True)
    is_visitor = models.BooleanField(_("来庁者"), default=False)
    is_subject = models.BooleanField(_("届出・事由の対象者"), default=True)
    is_foreign = models.BooleanField(_("外国人住民"), default=False)
    nationality = models.CharField(_("国籍・地域"), max_length=60, blank=True)
    # Newcomers only (a resident's come from the mirror): 在留資格 and 入国（上陸）年月日 of a foreign newcomer, and
    # whether the newcomer is under a DV等支援措置 (the case must protect the address from the first screen).
    residence_status = models.CharField(_("在留資格"), max_length=60, blank=True)
    entry_date = models.DateField(_("入国（上陸）年月日"), null=True, blank=True)
    support_measure = models.BooleanField(_("支援措置（DV等）の対象"), default=False)
    household_no = models.CharField(_("世帯番号"), max_length=15, blank=True, db_collation=KEY_COLLATION)

    class Meta:
        verbose_name = _("受付対象者")
        verbose_name_plural = _("受付対象者")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "atena_no"], condition=~Q(atena_no=""), name="case_person_unique_atena"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        """Stable key of this person inside the case (used in answers and determination)."""
        return self.atena_no or f"new-{self.pk}"


class ProcedureStatus(models.TextChoices):
    TODO = "todo", _("未対応")
    DOING = "doing", _("対応中")
    DONE = "done", _("完了")
    NOT_NEEDED = "not_needed", _("不要")
    ELSEWHERE = "elsewhere", _("他窓口へ")


RESOLVED_STATUSES = (ProcedureStatus.DONE, ProcedureStatus.NOT_NEEDED)


class CaseProcedure(models.Model):
    """One procedure for one person of a case, as determined (or added by staff), with its status."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="procedures")
    # None: a procedure for the whole case / household (世帯・ケース全体).
    person = models.ForeignKey(CasePerson, null=True, blank=True, on_delete=models.CASCADE, related_name="procedures")
    procedure_code = models.CharField(_("手続コード"), max_length=64)
    name = models.CharField(_("手続名"), max_length=200)
    area = models.CharField(_("業務"), max_length=16, blank=True)
    reasons = models.JSONField(_("理由"), default=list, blank=True)
    documents = models.JSONField(_("持ち物"), default=list, blank=True)
    guidance = models.TextField(_("案内"), blank=True)
    counter = models.ForeignKey(
        Counter,
        verbose_name=_("担当窓口"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("担当部署"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    determined = models.BooleanField(_("判定で必要"), default=True)
    needs_check = models.BooleanField(_("データ不足のため要確認"), default=False)
    legal_basis = models.CharField(_("根拠法令"), max_length=400, blank=True)
    legal_url = models.URLField(_("根拠法令のURL"), max_length=400, blank=True)
    rule_source = models.CharField(_("判定の出典"), max_length=300, blank=True)
    fee = models.CharField(_("手数料"), max_length=100, blank=True)
    status = models.CharField(_("状態"), max_length=12, choices=ProcedureStatus.choices, default=ProcedureStatus.TODO)
    status_reason = models.CharField(_("状態の理由・メモ"), max_length=400, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("受付の手続")
        verbose_name_plural = _("受付の手続")
        ordering = ["sort_order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "procedure_code"],
                condition=Q(person__isnull=False),
                name="case_procedure_unique",
            ),
            models.UniqueConstraint(
                fields=["case", "procedure_code"],
                condition=Q(person__isnull=True),
                name="case_procedure_unique_household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_status_display()}）"

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED_STATUSES


class CaseHandoff(models.Model):
    """A hand-off of a case from one counter's desk to another counter's queue (R2.4)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handoffs")
    from_counter = models.ForeignKey(Counter, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("引継ぎメモ"), blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("引継ぎ")
        verbose_name_plural = _("引継ぎ")
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} → {self.to_counter}"


class MemoVisibility(models.TextChoices):
    ALL = "all", _("全職員")
    DEPARTMENT = "department", _("自分の部署のみ")


class Memo(models.Model):
    """A note on a person (by 宛名番号) and/or a case (R2.5), shown wherever the person is searched."""

    atena_no = models.CharField(_("宛名番号"), max_length=15, blank=True, db_index=True,
                                db_collation=KEY_COLLATION)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="memos")
    body = models.TextField(_("メモ"))
    visibility = models.CharField(
        _("公開範囲"), max_length=12, choices=MemoVisibility.choices, default=MemoVisibility.ALL
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("作成部署"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("作成者"), on_delete=models.PROTECT, related_name="+"
    )
    counter = models.ForeignKey(
        Counter,
        verbose_name=_("作成窓口"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("更新者"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revision_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("メモ")
        verbose_name_plural = _("メモ")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(atena_no="") | Q(case__isnull=False), name="memo_has_subject"),
        ]

    def __str__(self) -> str:
        return self.body[:20]


class MemoRevision(models.Model):
    """The text of a memo before an edit (append-only history)."""

    memo = models.ForeignKey(Memo, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(_("メモ"))
    visibility = models.CharField(_("公開範囲"), max_length=12, choices=MemoVisibility.choices)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    edited_at = models.DateTimeField(auto_now_add=True)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField()

    class Meta:
        verbose_name = _("メモの履歴")
        verbose_name_plural = _("メモの履歴")
        ordering = ["-edited_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.memo_id} @ {self.written_at}"


class HandbackCorrection(models.Model):
    """A correction (訂正) of a value a closed case handed back to the core systems (append-only).

    The case stays closed and its procedures unchanged; the correction sent one export record per affected
    record (``records``: ``[{"id": new record, "corrects": original record, "person": case person key}]``),
    each a full record with the corrected values naming the original. ``signature_required``: the value was printed
    on a document the resident had signed on the tablet; ``document_id`` is the re-issued document
    (``forms_builder.IssuedDocument``) to be signed again."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="handback_corrections")
    field = models.CharField(_("訂正した項目"), max_length=64)
    label = models.CharField(_("項目名"), max_length=100)
    old_value = models.TextField(_("訂正前"), blank=True)
    new_value = models.TextField(_("訂正後"), blank=True)
    reason = models.TextField(_("訂正の理由"))
    records = models.JSONField(_("送信した訂正の記録"), default=list)
    signature_required = models.BooleanField(_("署名の再取得が必要"), default=False)
    document_id = models.BigIntegerField(_("再発行した申請書"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("訂正者"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("訂正日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("基幹系への連携の訂正")
        verbose_name_plural = _("基幹系への連携の訂正")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.field}@{self.created_at}"


class CorrectionSignatureReceipt(models.Model):
    """Staff received the corrected document signed again on paper (append-only): the correction's 「署名を取り直して
    ください」 is done. One per correction."""

    correction = models.OneToOneField(HandbackCorrection, on_delete=models.PROTECT, related_name="signature_receipt")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("受領者"), on_delete=models.PROTECT,
                                    related_name="+")
    received_at = models.DateTimeField(_("受領日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("訂正後の署名の受領")
        verbose_name_plural = _("訂正後の署名の受領")

    def __str__(self) -> str:
        return f"{self.correction_id}@{self.received_at}"

