"""Trust anchors for card verification, read from a directory each deployment configures.

Layout of the directory (``MADOGUCHI_CARD_TRUST_DIR``)::

    kenhojo/<32 hex digits>.pem   券面事項入力補助AP CA public keys (PEM), named by their 16-byte key id
    jpki/auth/*.pem|*.der|*.cer   JPKI 利用者証明用 root certificates
    jpki/sign/*.pem|*.der|*.cer   JPKI 署名用 root certificates
    crl/*.crl                     CRLs for the CRL-file revocation adapter (DER or PEM)

A directory holding a ``TEST_ONLY`` file is the software card's test authority: it is refused unless
``allow_test`` is set (test and development settings only; production never sets it).
Django-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mynacard.testca import TEST_ONLY_MARKER


class TrustConfigurationError(RuntimeError):
    pass


@dataclass
class TrustAnchors:
    root: Path
    kenhojo_keys: dict[bytes, rsa.RSAPublicKey] = field(default_factory=dict)
    jpki_auth_roots: list[x509.Certificate] = field(default_factory=list)
    jpki_sign_roots: list[x509.Certificate] = field(default_factory=list)
    is_test: bool = False

    @property
    def crl_dir(self) -> Path:
        return self.root / "crl"


def _load_certificates(folder: Path) -> list[x509.Certificate]:
    certificates = []
    if not folder.is_dir():
        return certificates
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in {".pem", ".der", ".cer", ".crt"}:
            continue
        raw = path.read_bytes()
        try:
            if b"-----BEGIN CERTIFICATE-----" in raw:
                certificates.extend(x509.load_pem_x509_certificates(raw))
            else:
                certificates.append(x509.load_der_x509_certificate(raw))
        except ValueError as exc:
            raise TrustConfigurationError(f"{path}: not a certificate ({exc})") from exc
    return certificates


def load_trust_anchors(root: Path | str, *, allow_test: bool) -> TrustAnchors:
    root = Path(root)
    if not root.is_dir():
        raise TrustConfigurationError(f"trust anchor directory {root} does not exist")
    is_test = (root / TEST_ONLY_MARKER).exists()
    if is_test and not allow_test:
        raise TrustConfigurationError(
            f"{root} holds the software card's TEST keys ({TEST_ONLY_MARKER}); refused by these settings")
    anchors = TrustAnchors(root=root, is_test=is_test)
    kenhojo = root / "kenhojo"
    if kenhojo.is_dir():
        for path in sorted(kenhojo.glob("*.pem")):
            try:
                key_id = bytes.fromhex(path.stem)
            except ValueError as exc:
                raise TrustConfigurationError(f"{path}: the file name must be the 16-byte key id in hex") from exc
            if len(key_id) != 16:
                raise TrustConfigurationError(f"{path}: the key id must be 16 bytes")
            key = serialization.load_pem_public_key(path.read_bytes())
            if not isinstance(key, rsa.RSAPublicKey):
                raise TrustConfigurationError(f"{path}: not an RSA public key")
            anchors.kenhojo_keys[key_id] = key
    anchors.jpki_auth_roots = _load_certificates(root / "jpki" / "auth")
    anchors.jpki_sign_roots = _load_certificates(root / "jpki" / "sign")
    return anchors
