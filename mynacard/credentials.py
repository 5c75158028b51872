"""Signed station requests (Django-free: the station agent and the server share it).

A station's device credential is an Ed25519 key pair: the server keeps the public key, the station the
private key. Every request carries::

    X-Station-Key        the station's key id
    X-Station-Timestamp  Unix seconds (the server accepts ±MAX_SKEW)
    X-Station-Nonce      32 random hex digits (the server accepts each nonce once)
    X-Station-Signature  base64 Ed25519 signature over the canonical string below

The canonical string binds method, host (so a request signed for municipality A's host is refused at
B), path, time, nonce and the SHA-256 of the body, so no part of a request can be changed or replayed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_SKEW = 120  # seconds
PREFIX = "MADOGUCHI-STATION-1"


def canonical(*, method: str, host: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([PREFIX, method.upper(), host.lower(), path, timestamp, nonce,
                      hashlib.sha256(body).hexdigest()]).encode()


@dataclass(frozen=True)
class StationCredential:
    server: str  # https://<slug>.<BASE_DOMAIN>
    key_id: str
    private_key: bytes  # 32-byte Ed25519 seed

    def dumps(self) -> str:
        return json.dumps({"server": self.server, "key_id": self.key_id,
                           "private_key": base64.b64encode(self.private_key).decode()})

    @classmethod
    def loads(cls, text: str) -> StationCredential:
        data = json.loads(text)
        return cls(server=data["server"].rstrip("/"), key_id=data["key_id"],
                   private_key=base64.b64decode(data["private_key"]))

    def sign_headers(self, *, method: str, host: str, path: str, body: bytes,
                     timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_hex(16)
        key = Ed25519PrivateKey.from_private_bytes(self.private_key)
        signature = key.sign(canonical(method=method, host=host, path=path, timestamp=ts, nonce=nonce, body=body))
        return {"X-Station-Key": self.key_id, "X-Station-Timestamp": ts, "X-Station-Nonce": nonce,
                "X-Station-Signature": base64.b64encode(signature).decode()}


def new_key_pair() -> tuple[bytes, bytes]:
    """(private seed, public key), both raw 32 bytes."""
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public


def signature_valid(*, public_key: bytes, signature_b64: str, message: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
