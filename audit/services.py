"""The one way to write the audit trail: ``record(...)``. Every app calls it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from django.db import connection, transaction
from django.utils import timezone

from audit.keys import ChainKey, chain_key, chain_key_for_append
from audit.models import RESIDENTS_PER_EVENT, AuditEvent
from madoguchi.context import current_request_context
from tenants.crypto import unwrap_audit_key

GENESIS_HASH = "0" * 64
_HEAD_AND_KEY_SQL = (
    "SELECT h.seq, h.hash, k.since_seq, k.wrapped_key FROM (SELECT 1) AS one "
    "LEFT JOIN LATERAL (SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1) h ON true "
    "LEFT JOIN public.tenants_auditchainkey k ON k.schema_name = %s"
)
_TWELVE_DIGITS = re.compile(r"(?<!\d)(\d{4})[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
# Lock space for pg_advisory_xact_lock(classid, objid): one chain per schema.
_LOCK_CLASS = 0x4D41  # "MA"


def is_personal_number(digits: str) -> bool:
    """個人番号 check digit (総務省令): weights Q_n = n+1 (n=1..6), n-5 (n=7..11), from the right."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    check = 0 if remainder <= 1 else 11 - remainder
    return check == int(digits[11])


def scrub(value: Any) -> Any:
    """Mask anything that looks like a personal number (12 digits with a valid check digit)."""
    if isinstance(value, str):

        def _mask(match: re.Match[str]) -> str:
            digits = "".join(match.groups())
            return "************" if is_personal_number(digits) else match.group(0)

        return _TWELVE_DIGITS.sub(_mask, value)
    if isinstance(value, dict):
        return {str(key): scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and is_personal_number(str(value)):
        return "************"
    return value


def canonical_bytes(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    area: str,
    request_id: str,
    client_ip: str,
    counter_id: int | None,
    details: dict,
    prev_hash: str,
    residents: list[str] | tuple[str, ...] = (),
) -> bytes:
    """The exact bytes that are hashed: sorted-key JSON, UTC microsecond timestamps, no whitespace.

    ``residents`` is hashed only when the event names residents, so events written before the column
    existed keep their hashes."""
    payload = {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "area": area,
        "request_id": request_id,
        "client_ip": client_ip,
        "counter_id": counter_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    if residents:
        payload["residents"] = list(residents)
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(event: AuditEvent, key: ChainKey | None = None) -> str:
    """The row's link: HMAC-SHA256 under the chain key (rows from ``key.since_seq`` on), else plain SHA-256
    (legacy rows written before chains had keys)."""
    return link_hash(
        canonical_bytes(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            actor=event.actor,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            area=event.area,
            request_id=event.request_id,
            client_ip=event.client_ip,
            counter_id=event.counter_id,
            details=event.details,
            prev_hash=event.prev_hash,
            residents=event.residents or (),
        ),
        seq=event.seq,
        key=key,
    )


def link_hash(payload: bytes, *, seq: int, key: ChainKey | None) -> str:
    if key is not None and seq >= key.since_seq:
        return hmac.new(key.key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def record(
    *,
    action: str,
    target_type: str = "",
    target_id: str | int = "",
    area: str = "",
    details: dict[str, Any] | None = None,
    actor: Any = None,
    residents: Any = (),
) -> AuditEvent:
    """Append one event to the current schema's chain.

    ``residents``: the 宛名番号 of every resident whose personal data the event showed or handed out
    (deduplicated, order kept). A list longer than ``RESIDENTS_PER_EVENT`` is continued on follow-up events
    (same action and target, ``details = {"continues": <seq>, "part": n, "parts": total}``) in the same
    transaction, so no row grows without bound (an export of a million residents writes 1,000 rows of
    1,000) and every name is still in the keyed chain. The first event is returned.

    ``actor`` defaults to the user of the current request; request id, client address and counter
    come from the request context filled in by ``audit.middleware.AuditContextMiddleware``.
    Chain appends are serialised per schema with a transaction-scoped advisory lock, so the chain
    never forks even with many web and worker processes.
    """
    ctx = current_request_context()
    if actor is not None:
        actor_id, actor_name = getattr(actor, "pk", None), getattr(actor, "get_username", lambda: str(actor))()
    else:
        actor_id, actor_name = ctx.user_id, ctx.username
    clean_details = json.loads(json.dumps(scrub(details or {}), ensure_ascii=False, default=str))
    names = [str(r) for r in dict.fromkeys(str(r).strip() for r in residents or ()) if r]
    parts = [names[i:i + RESIDENTS_PER_EVENT] for i in range(0, len(names), RESIDENTS_PER_EVENT)] or [[]]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, connection.schema_name]
            )
            # The head and the chain key in one round trip (the key row is in public).
            cursor.execute(_HEAD_AND_KEY_SQL, [connection.schema_name])
            last_seq, last_hash, since_seq, wrapped = cursor.fetchone()
        seq, prev_hash = (last_seq + 1, last_hash) if last_seq else (1, GENESIS_HASH)
        key = (ChainKey(since_seq=since_seq, key=unwrap_audit_key(bytes(wrapped), connection.schema_name, since_seq))
               if wrapped is not None else chain_key_for_append(schema_name=connection.schema_name, seq=seq))
        first: AuditEvent | None = None
        now = timezone.now()
        events: list[AuditEvent] = []
        for index, part in enumerate(parts):
            event = AuditEvent(
                seq=seq,
                occurred_at=now,
                actor_id=actor_id,
                actor=actor_name or "",
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                area=area,
                request_id=ctx.request_id or "",
                client_ip=ctx.client_ip or "",
                counter_id=ctx.counter_id,
                details=clean_details if first is None else {"continues": first.seq, "part": index + 1,
                                                             "parts": len(parts)},
                prev_hash=prev_hash,
                residents=part,
            )
            event.hash = event_hash(event, key)
            events.append(event)
            first = first or event
            seq, prev_hash = seq + 1, event.hash
        if len(events) == 1:
            first.save(force_insert=True)
        else:  # one round trip per 100 rows of a long list (an export naming a million residents)
            AuditEvent.objects.bulk_create(events, batch_size=100)
    return first


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""

    def message(self) -> str:
        if self.ok:
            return f"OK: {self.checked} 件の監査ログの連鎖を確認しました。"
        return f"NG: 連番 {self.broken_seq} で連鎖が切れています（{self.reason}）。確認済み {self.checked} 件。"


_VERIFY_COLUMNS = ("seq", "occurred_at", "actor_id", "actor", "action", "target_type", "target_id", "area",
                   "request_id", "client_ip", "counter_id", "details", "prev_hash", "residents", "hash")


def chain_verify(*, batch_size: int = 5000, after_seq: int = 0, after_hash: str = GENESIS_HASH) -> VerifyResult:
    """Walk the current schema's chain in order and report the first broken link.

    Each row's ``hash`` is an HMAC under the chain's secret key (legacy rows before ``since_seq``: SHA-256),
    so an edited row, a forged row whose hash was recomputed without the key, two rows swapped (their
    ``seq`` or contents), a deleted row (a gap in ``seq`` or a ``prev_hash`` that does not match the row
    before) and an inserted row are each found here. A deleted *newest* row or a truncated tail leaves a
    consistent chain: the signed checkpoints (audit.checkpoints) find those.
    ``after_seq``/``after_hash`` start from a trusted point (a signed checkpoint) instead of the genesis.
    """
    schema = connection.schema_name
    try:
        key = chain_key(schema_name=schema)
    except (InvalidTag, ValueError):
        return VerifyResult(False, 0, after_seq + 1, "監査ログの連鎖鍵が開けません：鍵または開始番号の改ざんの疑い")
    expected_seq, expected_prev, checked = after_seq + 1, after_hash, 0
    last_seq = after_seq
    if key is None:
        # Every chain with events has a key (created with its first event, or by migration tenants 0005 for
        # chains older than keys): a missing key means it was removed, and nothing could be trusted as keyed.
        first = AuditEvent.objects.filter(seq__gt=after_seq).order_by("seq").values_list("seq", flat=True).first()
        if first is not None:
            return VerifyResult(False, 0, first, "監査ログの連鎖鍵がありません：鍵の削除の疑い")
    while True:
        batch = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq").values_list(*_VERIFY_COLUMNS)
                     [:batch_size])
        if not batch:
            return VerifyResult(ok=True, checked=checked)
        for row in batch:
            seq, occurred_at, actor_id, actor, action, target_type, target_id, area, request_id, client_ip, \
                counter_id, details, prev_hash, residents, stored = row
            if seq != expected_seq:
                reason = f"連番 {expected_seq} の行がありません（次は {seq}）：削除の疑い"
                return VerifyResult(False, checked, expected_seq, reason)
            if prev_hash != expected_prev:
                reason = "直前の行のハッシュと一致しません：挿入・削除または入れ替えの疑い"
                return VerifyResult(False, checked, seq, reason)
            payload = canonical_bytes(
                seq=seq, occurred_at=occurred_at, actor_id=actor_id, actor=actor, action=action,
                target_type=target_type, target_id=target_id, area=area, request_id=request_id,
                client_ip=client_ip, counter_id=counter_id, details=details, prev_hash=prev_hash,
                residents=residents or ())
            if not hmac.compare_digest(link_hash(payload, seq=seq, key=key), stored):
                return VerifyResult(False, checked, seq, "行の内容が鍵付きハッシュと一致しません：改ざん・偽造の疑い")
            expected_seq, expected_prev, checked = seq + 1, stored, checked + 1
            last_seq = seq
