"""Signed checkpoints of audit chains (Ed25519): in the public schema and in a write-once store outside it.

The signing key comes from ``MADOGUCHI_AUDIT_SIGNING_KEY`` (base64 of a 32-byte Ed25519 seed, from
KMS/secret manager in production). Only its public half is needed to verify; ``key_id`` names it.

Every chain's head is signed every ``AUDIT_CHECKPOINT_SECONDS`` (if it grew) by the beat dispatcher, after
the rows since the previous checkpoint were verified; each checkpoint goes to ``tenants.AuditCheckpoint``
(append-only for the application role) *and* to the anchor store (audit.anchors: an S3 Object Lock bucket in
production). ``anchors_check`` compares the three: chain, database checkpoints and stored anchors.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.anchors import AnchorExists, anchor_store
from audit.models import AuditEvent

logger = logging.getLogger(__name__)


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.MADOGUCHI_AUDIT_SIGNING_KEY))


def _public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def key_id() -> str:
    raw = _public_key().public_bytes_raw()
    return hashlib.sha256(raw).hexdigest()[:16]


def _message(schema_name: str, seq: int, chain_hash: str, signed_at: str) -> bytes:
    return f"madoguchi-audit-checkpoint|{schema_name}|{seq}|{chain_hash}|{signed_at}".encode()


def anchor_name(schema_name: str, seq: int, chain_hash: str) -> str:
    """``<schema>/<seq>-<hash>.json``: a listing alone tells which rows were signed with which hash."""
    return f"{schema_name}/{seq:015d}-{chain_hash}.json"


def _parse_anchor(name: str) -> tuple[int, str] | None:
    stem = name.rsplit("/", 1)[-1].removesuffix(".json")
    seq, _, chain_hash = stem.partition("-")
    if not seq.isdigit() or len(chain_hash) != 64:
        return None
    return int(seq), chain_hash


def _signature_ok(schema_name: str, seq: int, chain_hash: str, signed_at: str, signature: str) -> bool:
    try:
        _public_key().verify(base64.b64decode(signature), _message(schema_name, seq, chain_hash, signed_at))
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_write() -> object | None:
    """Sign the current head of this schema's chain, in public and in the anchor store (call after the rows
    since the last checkpoint were verified). None if the chain is empty or its head is already signed."""
    from tenants.models import AuditCheckpoint

    schema = connection.schema_name
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None or AuditCheckpoint.objects.filter(schema_name=schema, seq=head[0]).exists():
        return None
    signed_at = timezone.now().isoformat()
    signature = base64.b64encode(_private_key().sign(_message(schema, head[0], head[1], signed_at))).decode()
    body = json.dumps({"schema_name": schema, "seq": head[0], "hash": head[1], "signed_at": signed_at,
                       "key_id": key_id(), "signature": signature}, sort_keys=True).encode()
    with transaction.atomic():
        checkpoint = AuditCheckpoint.objects.create(schema_name=schema, seq=head[0], hash=head[1],
                                                    signed_at=signed_at, key_id=key_id(), signature=signature)
        try:
            anchor_store().put(anchor_name(schema, head[0], head[1]), body)
        except AnchorExists:  # signed meanwhile by another run (the stored one stays authoritative)
            logger.info("anchor %s exists", anchor_name(schema, head[0], head[1]))
    return checkpoint


def checkpoint_latest() -> tuple[int, str] | None:
    """(seq, hash) of this schema's latest signed checkpoint with a valid signature (database copy)."""
    from tenants.models import AuditCheckpoint

    for cp in AuditCheckpoint.objects.filter(schema_name=connection.schema_name).order_by("-seq")[:5]:
        if _signature_ok(cp.schema_name, cp.seq, cp.hash, cp.signed_at.isoformat(), cp.signature):
            return cp.seq, cp.hash
    return None


@dataclass(frozen=True)
class CheckpointResult:
    ok: bool
    seq: int | None = None
    reason: str = ""
    anchors: int = 0
    problems: list[str] = field(default_factory=list)


def checkpoint_check() -> CheckpointResult:
    """Compare this schema's chain with every signed checkpoint, in the anchor store and in the database.

    Finds: a truncated tail or a deleted newest row (a signed seq no longer in the chain), a rewritten chain
    (a signed hash that differs), a checkpoint deleted from the database (still in the store), a forged or
    altered checkpoint (bad signature). OK when there is none yet.
    """
    from tenants.models import AuditCheckpoint

    schema = connection.schema_name
    store = anchor_store()
    problems: list[tuple[int, str]] = []
    stored: dict[int, str] = {}  # seq → hash, from the names (one listing; no object read per checkpoint)
    names: dict[int, str] = {}
    for name in store.names(f"{schema}/"):
        parsed = _parse_anchor(name)
        if parsed is None:
            problems.append((0, f"保管先のチェックポイント {name} の名前が不正です"))
            continue
        stored[parsed[0]], names[parsed[0]] = parsed[1], name
    if stored:  # the newest anchor's content and signature are read and checked (it must match its name)
        newest = max(stored)
        try:
            item = json.loads(store.get(names[newest]))
            valid = (item.get("schema_name") == schema and int(item["seq"]) == newest
                     and item["hash"] == stored[newest]
                     and _signature_ok(schema, newest, item["hash"], item["signed_at"], item["signature"]))
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            problems.append((newest, f"保管先のチェックポイント（連番 {newest}）の署名が検証できません"))
    in_db = {cp.seq: cp for cp in AuditCheckpoint.objects.filter(schema_name=schema)}
    for seq, cp in in_db.items():
        if not _signature_ok(schema, seq, cp.hash, cp.signed_at.isoformat(), cp.signature):
            problems.append((seq, f"チェックポイント（連番 {seq}）の署名が検証できません：偽造・改ざんの疑い"))
        elif seq not in stored:
            logger.warning("audit checkpoint %s#%s is not in the anchor store", schema, seq)
    for seq, chain_hash in stored.items():
        cp = in_db.get(seq)
        if cp is None:
            problems.append((seq, f"署名済みチェックポイント（連番 {seq}）がデータベースから削除されています"))
        elif cp.hash != chain_hash:
            problems.append((seq, f"チェックポイント（連番 {seq}）が保管先と異なります：改ざんの疑い"))
    signed = dict(stored)
    signed.update({seq: cp.hash for seq, cp in in_db.items() if seq not in signed and _signature_ok(
        schema, seq, cp.hash, cp.signed_at.isoformat(), cp.signature)})
    rows = dict(AuditEvent.objects.filter(seq__in=list(signed)).values_list("seq", "hash"))
    for seq, chain_hash in sorted(signed.items()):
        if seq not in rows:
            problems.append((seq, f"署名済みの連番 {seq} の行がありません：末尾の削除の疑い"))
        elif rows[seq] != chain_hash:
            problems.append((seq, f"連番 {seq} のハッシュが署名済みの値と異なります：連鎖の書き換えの疑い"))
    if problems:
        problems.sort(key=lambda p: p[0])
        seq, reason = problems[0]
        return CheckpointResult(False, seq or None, reason, anchors=len(stored), problems=[p[1] for p in problems])
    return CheckpointResult(ok=True, seq=max(signed) if signed else None, anchors=len(stored))
