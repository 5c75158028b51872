"""Layouts of the 券面事項入力補助AP files: build them (software card) and parse them (reader).

Byte layouts from mynacard-protocol.md §3.4. Django-free.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from mynacard import ber

TAG_MY_NUMBER = 0xFF10
TAG_BASIC4 = 0xFF20
TAG_OFFSETS = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH = 0xDF24
TAG_SEX = 0xDF25
TAG_INTEGRITY = 0xFF30
TAG_HASH_MY_NUMBER = 0xDF31
TAG_HASH_BASIC4 = 0xDF32
TAG_SIGNATURE = 0xDF33
TAG_CV_CERT = 0x7F21
TAG_CV_BODY = 0x5F4E
TAG_CV_SIGNATURE = 0x5F37

MY_NUMBER_EF_SIZE = 17


class CardDataError(ValueError):
    """A file's content does not have the layout of the 券面事項入力補助AP."""


def _strip_filler(raw: bytes) -> bytes:
    end = len(raw)
    while end and raw[end - 1] in (0x00, 0xFF):
        end -= 1
    return raw[:end]


# ---------------------------------------------------------------------------------------------
# Parsing (reader side)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Basic4:
    name: str
    address: str
    birth_date: str  # YYYYMMDD (Gregorian, as on the card)
    sex: str  # ISO 5218: 1 male, 2 female, 9 not applicable, 0 unknown
    hashed_region: bytes  # DF22..DF25 TLVs: what DF32 is the SHA-256 of


def parse_my_number(raw: bytes) -> str:
    try:
        tlv = ber.parse(raw)
    except ber.BerError as exc:
        raise CardDataError(f"個人番号: {exc}") from exc
    digits = raw[tlv.value_start:tlv.end]
    if tlv.tag != TAG_MY_NUMBER or len(digits) != 12 or not digits.isdigit():
        raise CardDataError("個人番号のファイルの形式が違います。")
    return digits.decode("ascii")


def parse_basic4(raw: bytes) -> Basic4:
    try:
        outer = ber.parse(raw)
        if outer.tag != TAG_BASIC4:
            raise CardDataError(f"基本4情報のタグが違います（{outer.tag:X}）。")
        items = ber.children(raw, outer)
    except ber.BerError as exc:
        raise CardDataError(f"基本4情報: {exc}") from exc
    by_tag = {item.tag: item for item in items}
    missing = [tag for tag in (TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX) if tag not in by_tag]
    if missing:
        raise CardDataError("基本4情報に欠けている項目があります。")
    offsets = by_tag.get(TAG_OFFSETS)
    start = offsets.end if offsets is not None else by_tag[TAG_NAME].start

    def text(tag: int) -> str:
        item = by_tag[tag]
        try:
            return raw[item.value_start:item.end].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CardDataError("基本4情報の文字が UTF-8 ではありません。") from exc

    birth, sex = text(TAG_BIRTH), text(TAG_SEX)
    if len(birth) != 8 or not birth.isdigit() or sex not in {"0", "1", "2", "9"}:
        raise CardDataError("基本4情報の生年月日または性別の形式が違います。")
    return Basic4(name=text(TAG_NAME), address=text(TAG_ADDRESS), birth_date=birth, sex=sex,
                  hashed_region=raw[start:outer.end])


@dataclass(frozen=True)
class Integrity:
    hash_my_number: bytes  # DF31
    hash_basic4: bytes  # DF32
    signature: bytes  # DF33
    signed: bytes  # DF31 TLV ‖ DF32 TLV, the message DF33 signs


def parse_integrity(raw: bytes) -> Integrity:
    try:
        outer = ber.parse(raw)
        if outer.tag != TAG_INTEGRITY:
            raise CardDataError("完全性確認のファイルの形式が違います。")
        items = {item.tag: item for item in ber.children(raw, outer)}
    except ber.BerError as exc:
        raise CardDataError(f"完全性確認: {exc}") from exc
    try:
        h1, h2, sig = items[TAG_HASH_MY_NUMBER], items[TAG_HASH_BASIC4], items[TAG_SIGNATURE]
    except KeyError as exc:
        raise CardDataError("完全性確認のファイルに欠けている項目があります。") from exc
    return Integrity(hash_my_number=raw[h1.value_start:h1.end], hash_basic4=raw[h2.value_start:h2.end],
                     signature=raw[sig.value_start:sig.end], signed=raw[outer.value_start:sig.start])


@dataclass(frozen=True)
class CvCertificate:
    issuer_key_id: bytes  # 16 bytes
    subject_key_id: bytes  # 16 bytes
    public_exponent: int
    modulus: int
    body: bytes  # what the issuer signed
    signature: bytes


def parse_cv_certificate(raw: bytes) -> CvCertificate:
    try:
        outer = ber.parse(raw)
        if outer.tag != TAG_CV_CERT:
            raise CardDataError("カードの証明書の形式が違います。")
        items = {item.tag: item for item in ber.children(raw, outer)}
        body_tlv, sig_tlv = items[TAG_CV_BODY], items[TAG_CV_SIGNATURE]
        body = raw[body_tlv.value_start:body_tlv.end]
        key_area = body[32:]
        exp_tlv = ber.parse(key_area, 0)
        mod_tlv = ber.parse(key_area, exp_tlv.end)
    except (ber.BerError, KeyError) as exc:
        raise CardDataError("カードの証明書の形式が違います。") from exc
    if len(body) < 32 or exp_tlv.tag != 0x90 or mod_tlv.tag != 0x91:
        raise CardDataError("カードの証明書の公開鍵の形式が違います。")
    return CvCertificate(
        issuer_key_id=body[:16], subject_key_id=body[16:32],
        public_exponent=int.from_bytes(key_area[exp_tlv.value_start:exp_tlv.end], "big"),
        modulus=int.from_bytes(key_area[mod_tlv.value_start:mod_tlv.end], "big"),
        body=body, signature=raw[sig_tlv.value_start:sig_tlv.end],
    )


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# ---------------------------------------------------------------------------------------------
# Building (software card side)
# ---------------------------------------------------------------------------------------------
def build_my_number(digits: str) -> bytes:
    return ber.encode(TAG_MY_NUMBER, digits.encode("ascii")) + b"\xff\xff"


def build_basic4(*, name: str, address: str, birth_date: str, sex: str, length_form: str = "minimal",
                 physical_size: int = 0) -> bytes:
    """EF 0002: FF20 { DF21 offsets, DF22 name, DF23 address, DF24 birth, DF25 sex } then FF filler."""
    items = [ber.encode(TAG_NAME, name.encode("utf-8")), ber.encode(TAG_ADDRESS, address.encode("utf-8")),
             ber.encode(TAG_BIRTH, birth_date.encode("ascii")), ber.encode(TAG_SEX, sex.encode("ascii"))]
    value_len = 11 + sum(len(i) for i in items)
    header_len = 2 + len(ber.encode_length(value_len, form=length_form))
    offsets, pos = b"", header_len + 11
    for item in items:
        offsets += pos.to_bytes(2, "big")
        pos += len(item)
    value = ber.encode(TAG_OFFSETS, offsets) + b"".join(items)
    tlv = ber.encode(TAG_BASIC4, value, form=length_form)
    return tlv + b"\xff" * max(0, physical_size - len(tlv))


def basic4_hashed_region(ef: bytes) -> bytes:
    return parse_basic4(ef).hashed_region


def build_integrity(*, my_number_ef: bytes, basic4_ef: bytes, sign: object) -> bytes:
    """EF 0003; ``sign(message) -> 256-byte RSA PKCS#1 v1.5 SHA-256 signature``."""
    signed = ber.encode(TAG_HASH_MY_NUMBER, sha256(my_number_ef)) + ber.encode(
        TAG_HASH_BASIC4, sha256(basic4_hashed_region(basic4_ef)))
    return build_integrity_raw(signed=signed, signature=sign(signed))


def build_integrity_raw(*, signed: bytes, signature: bytes) -> bytes:
    return ber.encode(TAG_INTEGRITY, signed + ber.encode(TAG_SIGNATURE, signature, form="82"), form="82")


def build_cv_certificate(*, issuer_key_id: bytes, subject_key_id: bytes, public_numbers: object,
                         sign: object) -> bytes:
    """EF 0004: 7F21 { 5F4E body(issuer id, subject id, 90 e, 91 n), 5F37 signature over the body }."""
    modulus = public_numbers.n.to_bytes(256, "big")
    exponent = public_numbers.e.to_bytes(3, "big")
    body = issuer_key_id + subject_key_id + ber.encode(0x90, exponent) + ber.encode(0x91, modulus, form="82")
    value = ber.encode(TAG_CV_BODY, body, form="82") + ber.encode(TAG_CV_SIGNATURE, sign(body), form="82")
    return ber.encode(TAG_CV_CERT, value, form="82")


def strip_filler(raw: bytes) -> bytes:
    return _strip_filler(raw)
