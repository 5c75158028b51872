"""JPKI 利用者証明用電子証明書: chain, validity, revocation and the card's signature over a challenge.

Revocation sits behind ``RevocationSource``: ``CrlFileRevocation`` reads CRL files from the trust
directory's ``crl/`` folder now (and refuses a CRL past its nextUpdate); J-LIS's revocation service is
the production source behind the same interface (a new class registered in ``REVOCATION_SOURCES``).
Django-free.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard.errors import N_
from mynacard.trust import TrustAnchors

REASONS = {
    "ok": N_("電子証明書と署名を確認しました。"),
    "bad_certificate": N_("電子証明書の形式が正しくありません。"),
    "unknown_issuer": N_("電子証明書の発行者が信頼できる認証局として登録されていません。"),
    "expired": N_("電子証明書の有効期間外です。"),
    "revoked": N_("電子証明書は失効しています。"),
    "revocation_unknown": N_("電子証明書の失効情報を確認できません（失効リストが古いか見つかりません）。"),
    "bad_signature": N_("カードの署名が正しくありません。"),
    "not_registered": N_("このカードの電子証明書は登録されていません。"),
    "expired_challenge": N_("確認の有効期限が切れました。もう一度やり直してください。"),
}


@dataclass(frozen=True)
class JpkiResult:
    ok: bool
    reason: str
    certificate: x509.Certificate | None = None

    @property
    def message(self) -> str:
        return REASONS[self.reason]


class RevocationSource(Protocol):
    def check(self, certificate: x509.Certificate, issuer: x509.Certificate, *, now: dt.datetime) -> str:
        """'good', 'revoked' or 'unknown'."""


class CrlFileRevocation:
    """CRLs (DER or PEM) in a folder; the one issued by the certificate's CA decides."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def _crls(self) -> list[x509.CertificateRevocationList]:
        crls = []
        if not self.folder.is_dir():
            return crls
        for path in sorted(self.folder.glob("*.crl")):
            raw = path.read_bytes()
            try:
                crls.append(x509.load_pem_x509_crl(raw) if raw.startswith(b"-----") else x509.load_der_x509_crl(raw))
            except ValueError:
                continue
        return crls

    def check(self, certificate: x509.Certificate, issuer: x509.Certificate, *, now: dt.datetime) -> str:
        for crl in self._crls():
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
                continue
            if crl.next_update_utc is None or crl.next_update_utc < now:
                return "unknown"  # a CRL past its nextUpdate is not evidence of anything
            if crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None:
                return "revoked"
            return "good"
        return "unknown"


REVOCATION_SOURCES: dict[str, type] = {"crl_file": CrlFileRevocation}


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def verify_auth_certificate(der: bytes, anchors: TrustAnchors, revocation: RevocationSource,
                            *, now: dt.datetime | None = None) -> JpkiResult:
    now = now or dt.datetime.now(dt.UTC)
    try:
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return JpkiResult(False, "bad_certificate")
    issuer = None
    for root in anchors.jpki_auth_roots:
        if root.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        issuer = root
        break
    if issuer is None:
        return JpkiResult(False, "unknown_issuer", certificate)
    if not (certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc):
        return JpkiResult(False, "expired", certificate)
    status = revocation.check(certificate, issuer, now=now)
    if status == "revoked":
        return JpkiResult(False, "revoked", certificate)
    if status != "good":
        return JpkiResult(False, "revocation_unknown", certificate)
    return JpkiResult(True, "ok", certificate)


def signature_valid(certificate: x509.Certificate, *, message: bytes, signature: bytes) -> bool:
    """The card signed SHA-256(message) as PKCS#1 v1.5 (sha256WithRSAEncryption)."""
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
