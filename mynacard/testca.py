"""The software card's own test authority: never a production trust anchor.

Creates (once, in a directory) what J-LIS holds for real cards: a 券面AP CA key with a 16-byte key id
and the two JPKI root CAs (利用者証明用, 署名用). Their public parts are written as a trust-anchor
directory (``<dir>/anchors``) in the layout ``mynacard.trust`` reads, together with a ``TEST_ONLY``
marker that the production settings refuse. Private keys stay in ``<dir>/private``. Django-free.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TEST_ONLY_MARKER = "TEST_ONLY"
# Test key ids follow the production pattern ("5000033" 08 05 "001" 00…) with a T prefix.
TEST_KENHOJO_KEY_ID = b"T000033\x08\x05001\x00\x00\x00\x00"
ROGUE_KENHOJO_KEY_ID = b"R000033\x08\x05001\x00\x00\x00\x00"


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_private(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_private(path: Path) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _root_certificate(key: rsa.RSAPrivateKey, purpose: str) -> x509.Certificate:
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI TEST"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"JPKI for {purpose} (TEST ONLY)"),
    ])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )


@dataclass
class JpkiCa:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    def issue(self, *, public_key: object, common_name: str, serial: int | None = None,
              other_names: dict[str, str] | None = None, days: int = 1825) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject).public_key(public_key)
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if other_names:
            names = [x509.OtherName(x509.ObjectIdentifier(oid), _der_utf8(value)) for oid, value in other_names.items()]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def crl(self, *, revoked_serials: list[int], next_update: dt.datetime,
            last_update: dt.datetime | None = None) -> bytes:
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.certificate.subject)
                   .last_update(last_update or now - dt.timedelta(minutes=5)).next_update(next_update))
        for serial in revoked_serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _der_utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) < 0x80:
        return b"\x0c" + bytes([len(raw)]) + raw
    size = len(raw).to_bytes((len(raw).bit_length() + 7) // 8, "big")
    return b"\x0c" + bytes([0x80 | len(size)]) + size + raw


class TestAuthority:
    """Loads or creates the test CA material in ``root``; ``anchors`` is a trust-anchor directory."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path | str, *, kenhojo_key_id: bytes = TEST_KENHOJO_KEY_ID) -> None:
        self.root = Path(root)
        self.private = self.root / "private"
        self.anchors = self.root / "anchors"
        self.kenhojo_key_id = kenhojo_key_id
        if not (self.private / "kenhojo-ca.pem").exists():
            self._create()
        self.kenhojo_ca = _load_private(self.private / "kenhojo-ca.pem")
        self.kenhojo_key_id = bytes.fromhex((self.private / "kenhojo-key-id.hex").read_text().strip())
        self.jpki_auth = self._load_jpki("auth")
        self.jpki_sign = self._load_jpki("sign")

    def _load_jpki(self, kind: str) -> JpkiCa:
        root = (self.anchors / "jpki" / kind / "root.pem").read_bytes()
        return JpkiCa(key=_load_private(self.private / f"jpki-{kind}-ca.pem"),
                      certificate=x509.load_pem_x509_certificate(root))

    def _create(self) -> None:
        for folder in (self.private, self.anchors / "kenhojo", self.anchors / "jpki" / "auth",
                       self.anchors / "jpki" / "sign", self.anchors / "crl"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.anchors / TEST_ONLY_MARKER).write_text(
            "Test keys of the Madoguchi software card. Never trust them in production.\n")
        kenhojo = new_rsa_key()
        (self.private / "kenhojo-ca.pem").write_bytes(_pem_private(kenhojo))
        (self.private / "kenhojo-key-id.hex").write_text(self.kenhojo_key_id.hex())
        (self.anchors / "kenhojo" / f"{self.kenhojo_key_id.hex()}.pem").write_bytes(
            kenhojo.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
        for kind, purpose in (("auth", "user authentication"), ("sign", "digital signature")):
            key = new_rsa_key()
            (self.private / f"jpki-{kind}-ca.pem").write_bytes(_pem_private(key))
            (self.anchors / "jpki" / kind / "root.pem").write_bytes(
                _root_certificate(key, purpose).public_bytes(serialization.Encoding.PEM))
        # An empty, current CRL for each JPKI CA, so that revocation checks work out of the box.
        for kind in ("auth", "sign"):
            ca = self._load_jpki_unchecked(kind)
            (self.anchors / "crl" / f"{kind}.crl").write_bytes(
                ca.crl(revoked_serials=[], next_update=dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))

    _load_jpki_unchecked = _load_jpki  # the CRLs are written before __init__ loads the CAs

    def sign_kenhojo(self, body: bytes) -> bytes:
        return rsa_sign(self.kenhojo_ca, body)

    def write_crl(self, kind: str, *, revoked_serials: list[int], next_update: dt.datetime) -> Path:
        ca = self.jpki_auth if kind == "auth" else self.jpki_sign
        path = self.anchors / "crl" / f"{kind}.crl"
        last_update = min(dt.datetime.now(dt.UTC), next_update) - dt.timedelta(days=1)
        path.write_bytes(ca.crl(revoked_serials=revoked_serials, next_update=next_update, last_update=last_update))
        return path
