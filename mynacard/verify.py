"""Verification of a card read against the trust anchors (mynacard-protocol.md §3.4).

1. EF 0004 (CV certificate): its issuer key id must name a configured 券面AP CA key, and that key's
   signature over the certificate body must verify → otherwise *unknown issuer* / *bad certificate*.
2. EF 0003: DF33 must be a valid signature, by the key inside the certificate, over DF31‖DF32 exactly
   as stored → otherwise *tampered* (this catches data re-hashed under the old signature).
3. DF32 must equal SHA-256 of the 基本4情報 actually read (DF22..DF25) → otherwise *tampered*.
4. DF31 is compared with SHA-256 of the 個人番号 file only when the 個人番号 was read.

Django-free; ``VerificationResult`` says verified or not, and why.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mynacard import cardfiles
from mynacard.errors import N_
from mynacard.reader import RawCardRead
from mynacard.trust import TrustAnchors

REASONS = {
    "verified": N_("カードの署名を確認しました。"),
    "unknown_issuer": N_("カードの証明書の発行者が信頼できる発行者として登録されていません。"),
    "bad_certificate": N_("カードの証明書の署名が正しくありません。"),
    "tampered": N_("カードのデータが改ざんされています（署名と一致しません）。"),
    "bad_data": N_("カードのデータの形式が正しくありません。"),
}


@dataclass(frozen=True)
class VerificationResult:
    verified: bool
    reason: str  # a key of REASONS
    basic4: cardfiles.Basic4 | None = None
    my_number: str | None = None
    issuer_key_id: str = ""
    detail: str = ""

    @property
    def message(self) -> str:
        return REASONS[self.reason]


def _rsa_verify(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_card(raw: RawCardRead, anchors: TrustAnchors) -> VerificationResult:
    try:
        certificate = cardfiles.parse_cv_certificate(raw.certificate)
        integrity = cardfiles.parse_integrity(raw.integrity)
        basic4 = cardfiles.parse_basic4(raw.basic4)
        my_number = cardfiles.parse_my_number(raw.my_number) if raw.my_number is not None else None
    except cardfiles.CardDataError as exc:
        return VerificationResult(False, "bad_data", detail=str(exc))
    issuer = certificate.issuer_key_id.hex()
    ca_key = anchors.kenhojo_keys.get(certificate.issuer_key_id)
    if ca_key is None:
        return VerificationResult(False, "unknown_issuer", issuer_key_id=issuer)
    if not _rsa_verify(ca_key, certificate.signature, certificate.body):
        return VerificationResult(False, "bad_certificate", issuer_key_id=issuer)
    card_key = rsa.RSAPublicNumbers(certificate.public_exponent, certificate.modulus).public_key()
    if not _rsa_verify(card_key, integrity.signature, integrity.signed):
        return VerificationResult(False, "tampered", issuer_key_id=issuer, detail="DF33")
    if not hmac.compare_digest(integrity.hash_basic4, cardfiles.sha256(basic4.hashed_region)):
        return VerificationResult(False, "tampered", issuer_key_id=issuer, detail="DF32")
    if raw.my_number is not None and not hmac.compare_digest(integrity.hash_my_number,
                                                             cardfiles.sha256(raw.my_number[:17])):
        return VerificationResult(False, "tampered", issuer_key_id=issuer, detail="DF31")
    return VerificationResult(True, "verified", basic4=basic4, my_number=my_number, issuer_key_id=issuer)
