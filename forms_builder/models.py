"""Application forms (申請書): templates (様式) with versions, backgrounds, staff-typed values, issued PDFs.

All tables live in the municipality's schema (a TENANT_APP), so municipality B cannot even name A's rows.

- ``FormTemplate``: one 様式 of this municipality (``code``), which procedures it serves and whether one
  document is made per person or one for the whole case.
- ``FormVersion``: the content (page, background, fields) — a draft that admins edit, published versions
  with an effective date that never change again; an issued document names the version it was made with.
- ``FormBackground``: an uploaded official form page, stored as a 300 dpi PNG (WeasyPrint draws images,
  not PDF pages).
- ``CaseEntry``: what staff typed once in a case (新住所, 転入前住所, 請求の目的 …), reused by every form.
- ``IssuedDocument``: every PDF handed out (print, download, tablet…), encrypted with the municipality's
  data key, with its SHA-256, template versions and persons.
- ``AddressArea``: the municipality's 町字 master for the address picker.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.areas import BusinessArea

code_validator = RegexValidator(r"^[a-z][a-z0-9_\-]{0,59}$", _("英小文字で始まる英数字・_・- で入力してください。"))


class FormScope(models.TextChoices):
    PERSON = "person", _("人ごとに1枚")
    CASE = "case", _("受付（世帯）ごとに1枚")


class FormTemplate(models.Model):
    code = models.CharField(_("様式コード"), max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(_("様式名"), max_length=120)
    scope = models.CharField(_("作成単位"), max_length=8, choices=FormScope.choices, default=FormScope.CASE)
    # Procedure codes this form serves (besides the catalogue's own ``Procedure.forms`` list of form codes).
    procedures = models.JSONField(_("対象の手続コード"), default=list, blank=True)
    # A form every case may print without a procedure (手続き案内票, 交付請求書 of a certificate request).
    kind = models.CharField(_("種類"), max_length=16, default="application",
                            choices=[("application", _("申請書・届出書")), ("guidance", _("手続き案内票")),
                                     ("certificate", _("証明書の交付請求書"))])
    # The business area (業務) of the form itself, besides those of the procedures it serves: a certificate's
    # 交付請求書 follows its certificate (住民票の写し → juki, 印鑑登録証明書 → inkan …). Blank: none of its own
    # (the 手続き案内票 is area-free). Staff issue only forms of areas they hold (``selectors.form_areas``).
    area = models.CharField(_("業務"), max_length=16, blank=True, choices=BusinessArea.choices)
    origin = models.CharField(_("由来"), max_length=8, default="local",
                              choices=[("default", _("標準様式")), ("local", _("独自"))])
    is_active = models.BooleanField(_("使用中"), default=True)
    order = models.IntegerField(_("表示順"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("様式")
        verbose_name_plural = _("様式")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class FormBackground(models.Model):
    """An official form page rasterised at upload (PDF page 1 at 300 dpi, or the uploaded image as PNG)."""

    sha256 = models.CharField(max_length=64, db_index=True)
    file_name = models.CharField(_("ファイル名"), max_length=200)
    source_type = models.CharField(_("元の形式"), max_length=16)  # pdf | png | jpeg
    png = models.BinaryField(editable=False)
    width_px = models.PositiveIntegerField()
    height_px = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("様式の背景")
        verbose_name_plural = _("様式の背景")

    def __str__(self) -> str:
        return self.file_name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    PUBLISHED = "published", _("公開")


class FormVersion(models.Model):
    template = models.ForeignKey(FormTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版"), default=0)  # 0 for the draft
    status = models.CharField(_("状態"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    effective_from = models.DateField(_("適用開始日"), null=True, blank=True)
    page_size = models.CharField(_("用紙"), max_length=8, default="A4", choices=[("A4", "A4"), ("A3", "A3"),
                                                                               ("B4", "B4"), ("B5", "B5")])
    orientation = models.CharField(_("向き"), max_length=10, default="portrait",
                                   choices=[("portrait", _("縦")), ("landscape", _("横"))])
    background = models.ForeignKey(FormBackground, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    # Positioned fields (see forms_builder.layout.FieldSpec) — or, for flowing documents, ``html``.
    fields = models.JSONField(_("項目"), default=list, blank=True)
    html = models.TextField(_("HTML テンプレート（流し込み文書）"), blank=True)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    published_at = models.DateTimeField(_("公開日時"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    note = models.CharField(_("メモ"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("様式の版")
        verbose_name_plural = _("様式の版")
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template"], condition=models.Q(status="draft"),
                                    name="form_version_one_draft"),
            models.UniqueConstraint(fields=["template", "number"], condition=models.Q(status="published"),
                                    name="form_version_unique_number"),
        ]

    def __str__(self) -> str:
        if self.status == VersionStatus.DRAFT:
            return f"{self.template}（下書き）"
        return f"{self.template} 第{self.number}版"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            stored = FormVersion.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == VersionStatus.PUBLISHED:
                raise ValueError("公開済みの様式の版は変更できません（新しい版を公開してください）。")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        if self.status == VersionStatus.PUBLISHED:
            raise ValueError("公開済みの様式の版は削除できません。")
        return super().delete(*args, **kwargs)


class CaseEntry(models.Model):
    """A value staff typed once in a case (an input of ``forms_builder.inputs``) or a blank filled on screen.

    ``key`` is an input key (``new_address``) or ``field:<template code>:<field key>``; ``person_key`` is
    the case person's key for per-person values, empty for the case.
    """

    case = models.ForeignKey("navigation_cases.Case", on_delete=models.CASCADE, related_name="form_entries")
    person_key = models.CharField(max_length=40, blank=True)
    key = models.CharField(max_length=160)
    value = models.JSONField()
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("職員の入力")
        verbose_name_plural = _("職員の入力")
        constraints = [models.UniqueConstraint(fields=["case", "person_key", "key"], name="case_entry_unique")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.person_key}:{self.key}"


class IssuedDocument(models.Model):
    """A PDF handed out through an output channel. Append-only; a reprint is a new row (and audit event)."""

    case = models.ForeignKey("navigation_cases.Case", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="form_documents")
    channel = models.CharField(_("出力先"), max_length=20)
    # [{"template": code, "version_id": id, "number": n, "person_key": key|None}, …]
    items = models.JSONField(default=list)
    persons = models.JSONField(default=list)  # 宛名番号 (or case person keys of newcomers)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    pdf_encrypted = models.BinaryField(editable=False)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("発行した文書")
        verbose_name_plural = _("発行した文書")
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.channel} {self.sha256[:12]}"


class AddressArea(models.Model):
    """One 町字 (大字・町・丁目) of the municipality, for the address picker."""

    code = models.CharField(_("町字コード"), max_length=20, unique=True)
    name = models.CharField(_("町字"), max_length=120)
    kana = models.CharField(_("フリガナ"), max_length=200, blank=True)
    postcode = models.CharField(_("郵便番号"), max_length=8, blank=True)
    source = models.CharField(_("出典"), max_length=8, default="own",
                              choices=[("abr", _("アドレス・ベース・レジストリ")), ("own", _("自治体の一覧")),
                                       ("mirror", _("住民記録の住所コード"))])
    is_active = models.BooleanField(_("使用中"), default=True)

    class Meta:
        verbose_name = _("町字")
        verbose_name_plural = _("町字")
        ordering = ["kana", "name"]

    def __str__(self) -> str:
        return self.name
