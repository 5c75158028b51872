"""The resident's tablet (R2.8), all in the municipality's schema.

- ``Tablet``: a browser paired with a desk; its cookie holds a random token of which only the SHA-256 is kept.
- ``PairingCode``: the short numeric code staff show (single use, 5 minutes; only its hash is kept).
- ``TabletPush``: one issued document sent to one tablet; ``ended_at`` when signed, recalled, replaced.
- ``Signature``: strokes (JSON) and PNG encrypted with the municipality's data key, tied to the pushed
  document's SHA-256 and to the digest of its content (the page HTML before rendering).
- ``CorrectionRequest``: the resident's 「訂正を依頼」 with their question.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Tablet(models.Model):
    desk = models.ForeignKey("accounts.Desk", verbose_name=_("席"), on_delete=models.PROTECT, related_name="tablets")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    paired_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    paired_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("有効期限"))
    revoked_at = models.DateTimeField(_("解除日時"), null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("タブレット")
        verbose_name_plural = _("タブレット")
        ordering = ["-paired_at"]

    def __str__(self) -> str:
        return f"tablet#{self.pk}@desk{self.desk_id}"


class PairingCode(models.Model):
    desk = models.ForeignKey("accounts.Desk", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, db_index=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    tablet = models.ForeignKey(Tablet, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"pairing@desk{self.desk_id}"


class PushEnd(models.TextChoices):
    SIGNED = "signed", _("署名済み")
    RECALLED = "recalled", _("職員が取り消し")
    REPLACED = "replaced", _("別の文書を送信")
    CHANGED = "changed", _("内容が変更された")
    UNPAIRED = "unpaired", _("タブレットの解除")


class TabletPush(models.Model):
    tablet = models.ForeignKey(Tablet, on_delete=models.PROTECT, related_name="pushes")
    document = models.ForeignKey("forms_builder.IssuedDocument", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("navigation_cases.Case", on_delete=models.PROTECT, related_name="tablet_pushes")
    counter = models.ForeignKey("accounts.Counter", null=True, on_delete=models.SET_NULL, related_name="+")
    pushed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    pushed_at = models.DateTimeField(auto_now_add=True)
    codes = models.JSONField(default=list)  # the document keys rendered (template code or code:person)
    content_digest = models.CharField(max_length=64)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, blank=True, choices=PushEnd.choices)

    class Meta:
        ordering = ["-pushed_at", "-pk"]
        indexes = [models.Index(fields=["tablet", "ended_at"], name="tablet_push_live_idx")]

    def __str__(self) -> str:
        return f"push#{self.pk} doc{self.document_id}"


class Signature(models.Model):
    push = models.OneToOneField(TabletPush, on_delete=models.PROTECT, related_name="signature")
    case = models.ForeignKey("navigation_cases.Case", on_delete=models.PROTECT, related_name="tablet_signatures")
    tablet = models.ForeignKey(Tablet, on_delete=models.PROTECT, related_name="+")
    document = models.ForeignKey("forms_builder.IssuedDocument", on_delete=models.PROTECT, related_name="+")
    document_sha256 = models.CharField(max_length=64)
    content_digest = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    stroke_count = models.PositiveIntegerField()
    point_count = models.PositiveIntegerField()
    strokes_encrypted = models.BinaryField(editable=False)
    png_encrypted = models.BinaryField(editable=False)
    signed_document = models.ForeignKey("forms_builder.IssuedDocument", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("署名")
        verbose_name_plural = _("署名")
        ordering = ["-signed_at", "-pk"]

    def __str__(self) -> str:
        return f"signature#{self.pk} case{self.case_id}"


class CorrectionRequest(models.Model):
    push = models.ForeignKey(TabletPush, on_delete=models.PROTECT, related_name="corrections")
    text = models.CharField(_("お問い合わせの内容"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"correction#{self.pk}"
