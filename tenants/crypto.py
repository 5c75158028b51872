"""Per-municipality data keys (envelope encryption with AES-GCM) and keyed look-up hashes.

A random 256-bit data key per municipality is wrapped by the key-encryption key (KEK) from
settings (in production injected from the cloud KMS). Personal numbers and card data are stored
encrypted with the data key; look-ups use an HMAC derived from it, so equal values can be found
without decrypting. Destroying the wrapped key is crypto-shredding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_VERSION = b"\x01"


class DataKeyUnavailable(RuntimeError):
    """The municipality's data key has been destroyed or was never created."""


def _kek() -> bytes:
    raw = base64.b64decode(settings.MADOGUCHI_KEK)
    if len(raw) != 32:
        raise ValueError("MADOGUCHI_KEK must be base64 of exactly 32 bytes")
    return raw


def new_wrapped_data_key(*, schema_name: str) -> bytes:
    """Create a fresh data key and return it wrapped by the KEK (bound to the schema name)."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(_kek()).encrypt(nonce, data_key, schema_name.encode())


@lru_cache(maxsize=2048)
def _unwrap(wrapped: bytes, schema_name: str) -> bytes:
    if not wrapped or wrapped[:1] != _VERSION:
        raise DataKeyUnavailable(schema_name)
    nonce, body = wrapped[1:13], wrapped[13:]
    return AESGCM(_kek()).decrypt(nonce, body, schema_name.encode())


def data_key_for(tenant: object) -> bytes:
    wrapped = getattr(tenant, "wrapped_data_key", None)
    if not wrapped:
        raise DataKeyUnavailable(getattr(tenant, "schema_name", "?"))
    return _unwrap(bytes(wrapped), tenant.schema_name)


def encrypt_bytes(tenant: object, plaintext: bytes, *, purpose: str) -> bytes:
    """Encrypt bytes (a document, an image) for this municipality. ``purpose`` is bound as associated data."""
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(data_key_for(tenant)).encrypt(nonce, plaintext, purpose.encode())


def decrypt_bytes(tenant: object, token: bytes, *, purpose: str) -> bytes:
    token = bytes(token)
    if token[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return AESGCM(data_key_for(tenant)).decrypt(token[1:13], token[13:], purpose.encode())


def encrypt(tenant: object, plaintext: str, *, purpose: str) -> bytes:
    """Encrypt a value for this municipality. ``purpose`` is bound as associated data."""
    return encrypt_bytes(tenant, plaintext.encode(), purpose=purpose)


def decrypt(tenant: object, token: bytes, *, purpose: str) -> str:
    return decrypt_bytes(tenant, token, purpose=purpose).decode()


def lookup_hash(tenant: object, value: str, *, purpose: str) -> str:
    """Keyed hash for equality look-ups of encrypted values (HMAC-SHA256 under a derived key)."""
    subkey = hmac.new(data_key_for(tenant), b"lookup:" + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(subkey, value.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------------------------
# Audit chain keys: a random 256-bit HMAC key per audit chain (per municipality schema, and public), wrapped
# by the KEK alone. Never derived from the data key: crypto-shredding the data key at termination (R8.6)
# leaves the audit trail verifiable for its retention period (docs/operations.md).
# ---------------------------------------------------------------------------------------------
_AUDIT_VERSION = b"\x02"


def _audit_aad(schema_name: str, since_seq: int) -> bytes:
    return f"madoguchi-audit-chain|{schema_name}|{since_seq}".encode()


def new_wrapped_audit_key(*, schema_name: str, since_seq: int) -> bytes:
    """A fresh HMAC key for the audit chain of ``schema_name``, wrapped by the KEK. The schema and the first
    sequence number it keys are bound as associated data: neither can be changed without the KEK."""
    nonce = os.urandom(12)
    key = os.urandom(32)
    return _AUDIT_VERSION + nonce + AESGCM(_kek()).encrypt(nonce, key, _audit_aad(schema_name, since_seq))


@lru_cache(maxsize=4096)
def unwrap_audit_key(wrapped: bytes, schema_name: str, since_seq: int) -> bytes:
    """The HMAC key; raises (cryptography.exceptions.InvalidTag / ValueError) if anything was altered."""
    if not wrapped or wrapped[:1] != _AUDIT_VERSION:
        raise ValueError("not a wrapped audit key")
    return AESGCM(_kek()).decrypt(wrapped[1:13], wrapped[13:], _audit_aad(schema_name, since_seq))
