"""Signed checkpoints of audit chains (Ed25519), stored in the public schema.

The signing key comes from ``MADOGUCHI_AUDIT_SIGNING_KEY`` (base64 of a 32-byte Ed25519 seed, from
KMS/secret manager in production). Only its public half is needed to verify; ``key_id`` names it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.MADOGUCHI_AUDIT_SIGNING_KEY))


def _public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def key_id() -> str:
    raw = _public_key().public_bytes_raw()
    return hashlib.sha256(raw).hexdigest()[:16]


def _message(schema_name: str, seq: int, chain_hash: str, signed_at: str) -> bytes:
    return f"madoguchi-audit-checkpoint|{schema_name}|{seq}|{chain_hash}|{signed_at}".encode()


def checkpoint_write() -> object | None:
    """Sign the current head of this schema's chain (call after a successful verification)."""
    from tenants.models import AuditCheckpoint

    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    signed_at = timezone.now().isoformat()
    signature = _private_key().sign(_message(connection.schema_name, head[0], head[1], signed_at))
    return AuditCheckpoint.objects.create(
        schema_name=connection.schema_name, seq=head[0], hash=head[1], signed_at=signed_at, key_id=key_id(),
        signature=base64.b64encode(signature).decode(),
    )


@dataclass(frozen=True)
class CheckpointResult:
    ok: bool
    seq: int | None = None
    reason: str = ""


def checkpoint_check() -> CheckpointResult:
    """Compare the chain with its latest signed checkpoint (OK when there is none yet)."""
    from tenants.models import AuditCheckpoint

    checkpoint = AuditCheckpoint.objects.filter(schema_name=connection.schema_name).order_by("-seq").first()
    if checkpoint is None:
        return CheckpointResult(ok=True)
    try:
        _public_key().verify(
            base64.b64decode(checkpoint.signature),
            _message(checkpoint.schema_name, checkpoint.seq, checkpoint.hash, checkpoint.signed_at.isoformat()),
        )
    except (InvalidSignature, ValueError):
        return CheckpointResult(False, checkpoint.seq, "チェックポイントの署名が検証できません")
    row = AuditEvent.objects.filter(seq=checkpoint.seq).values_list("hash", flat=True).first()
    if row is None:
        reason = f"署名済みの連番 {checkpoint.seq} の行がありません：末尾の削除の疑い"
        return CheckpointResult(False, checkpoint.seq, reason)
    if row != checkpoint.hash:
        reason = f"連番 {checkpoint.seq} のハッシュが署名済みの値と異なります：連鎖の書き換えの疑い"
        return CheckpointResult(False, checkpoint.seq, reason)
    return CheckpointResult(ok=True, seq=checkpoint.seq)
