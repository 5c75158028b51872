"""My Number card at the counter: reader stations and their credentials, card reads attached to cases,
the person's card holding (read by the navigation), and JPKI (identity proof, staff second factor).

Card data lives only as long as the case needs it (``CardRead.purge_after``; a periodic job deletes it)
and the 個人番号 is stored only encrypted with the municipality's data key.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.db import KEY_COLLATION
from tenants.accounts.models import Desk


class ReaderStation(models.Model):
    """A counter reader station (``python -m mynacard.agent``) registered to one desk.

    Only the Ed25519 public key of its device credential is stored; the credential is shown once.
    """

    desk = models.ForeignKey(Desk, verbose_name=_("席"), on_delete=models.PROTECT, related_name="reader_stations")
    name = models.CharField(_("名称"), max_length=64)
    key_id = models.CharField(max_length=32, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)
    is_active = models.BooleanField(_("有効"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(_("最終接続"), null=True, blank=True)
    # What the station reported last: {"state": ..., "reader": ..., "card": ..., "error": {...}}
    status = models.JSONField(default=dict, blank=True)
    # One PIN try left: the station asked (requested) and waits until the seated staff member confirms.
    confirm_requested_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # The seated staff member asked for the 個人番号 with the next read (a procedure needs it), and why.
    my_number_requested_at = models.DateTimeField(null=True, blank=True)
    my_number_purpose = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("カードリーダー端末")
        verbose_name_plural = _("カードリーダー端末")
        ordering = ["desk", "name"]

    def __str__(self) -> str:
        return self.name


class StationNonce(models.Model):
    """Nonces of signed station requests already accepted (a replay hits the unique constraint)."""

    station = models.ForeignKey(ReaderStation, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, db_collation=KEY_COLLATION)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "nonce"], name="station_nonce_unique")]

    def __str__(self) -> str:
        return self.nonce


class CardReadStatus(models.TextChoices):
    PENDING = "pending", _("受付の選択待ち")
    ATTACHED = "attached", _("受付に反映済み")
    REJECTED = "rejected", _("検証できず")


class CardRead(models.Model):
    """One verified (or refused) read of the 券面事項入力補助AP at a station."""

    station = models.ForeignKey(ReaderStation, null=True, on_delete=models.SET_NULL, related_name="card_reads")
    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="+")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    case = models.ForeignKey("navigation_cases.Case", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="card_reads")
    status = models.CharField(max_length=8, choices=CardReadStatus.choices, default=CardReadStatus.PENDING)
    verified = models.BooleanField(default=False)
    reason = models.CharField(max_length=32)
    name = models.CharField(_("氏名"), max_length=200, blank=True)
    address = models.CharField(_("住所"), max_length=400, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    sex = models.CharField(_("性別"), max_length=1, blank=True)
    my_number_encrypted = models.BinaryField(null=True, blank=True, editable=False)
    atena_no = models.CharField(_("宛名番号"), max_length=15, blank=True, db_collation=KEY_COLLATION)
    candidates = models.JSONField(default=list, blank=True)  # 宛名番号 of mirror candidates when not unique
    differences = models.JSONField(default=list, blank=True)  # [{"field", "card", "mirror"}]
    apdu_count = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(auto_now_add=True)
    attached_at = models.DateTimeField(null=True, blank=True)
    purge_after = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("カード読み取り")
        verbose_name_plural = _("カード読み取り")
        ordering = ["-read_at"]
        indexes = [models.Index(fields=["desk", "status"], name="cardread_desk_status_idx")]

    def __str__(self) -> str:
        return f"{self.read_at:%H:%M} {self.name}"


class CardHolding(models.Model):
    """The person holds a My Number card: set by a verified card read matched to the mirror.
    The navigation lists card procedures for holders only (``mynacard.selectors.card_holders``)."""

    atena_no = models.CharField(_("宛名番号"), max_length=15, db_collation=KEY_COLLATION)
    confirmed_at = models.DateTimeField(_("カードで確認した日時"))

    class Meta:
        verbose_name = _("マイナンバーカードの保有")
        verbose_name_plural = _("マイナンバーカードの保有")
        constraints = [models.UniqueConstraint(fields=["atena_no"], name="card_holding_unique_atena")]

    def __str__(self) -> str:
        return self.atena_no


class StaffCardCertificate(models.Model):
    """The 利用者証明用電子証明書 of a staff member's own card, for the second login factor."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_certificates")
    certificate = models.BinaryField(editable=False)  # DER
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the DER
    subject = models.CharField(max_length=200)
    serial = models.CharField(max_length=64)
    not_after = models.DateTimeField()
    registered_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("職員のカード証明書")
        verbose_name_plural = _("職員のカード証明書")

    def __str__(self) -> str:
        return f"{self.user_id}:{self.serial}"


class CardLoginPolicy(models.Model):
    """Which roles must log in with password + card (one row per municipality)."""

    required_roles = ArrayField(models.CharField(max_length=16), default=list, blank=True,
                                verbose_name=_("カードでの二要素認証が必要な役割"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("カードログインの設定")
        verbose_name_plural = _("カードログインの設定")

    def __str__(self) -> str:
        return ",".join(self.required_roles)


class JpkiPurpose(models.TextChoices):
    IDENTITY = "identity", _("本人確認")
    STAFF_LOGIN = "login", _("職員ログイン")
    STAFF_REGISTER = "register", _("職員のカード登録")


class JpkiChallenge(models.Model):
    """A challenge the card signs with its 利用者証明用 key through a station."""

    purpose = models.CharField(max_length=8, choices=JpkiPurpose.choices)
    station = models.ForeignKey(ReaderStation, on_delete=models.CASCADE, related_name="challenges")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    case = models.ForeignKey("navigation_cases.Case", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    nonce = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    reason = models.CharField(max_length=32, blank=True)
    subject = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose}:{self.pk}"
