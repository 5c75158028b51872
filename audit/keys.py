"""The secret of each audit chain: an HMAC-SHA256 key per schema, stored only wrapped by the KEK.

Without the key nobody — not the application role, not the owner, not a DBA with a copy of the
database — can recompute a row's ``hash`` after changing it, so a rewritten chain no longer verifies.
The key row (``tenants.AuditChainKey``, public schema) is append-only for the application role.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from tenants.crypto import new_wrapped_audit_key, unwrap_audit_key


class AuditKeyMissing(RuntimeError):
    """A chain with events but no key: never extended with a fresh key (that would unkey its history)."""


@dataclass(frozen=True)
class ChainKey:
    since_seq: int  # rows from here on are HMAC-keyed; earlier rows are legacy SHA-256 links
    key: bytes


def chain_key(*, schema_name: str) -> ChainKey | None:
    from tenants.models import AuditChainKey

    row = AuditChainKey.objects.filter(schema_name=schema_name).values_list("since_seq", "wrapped_key").first()
    if row is None:
        return None
    since_seq, wrapped = row
    return ChainKey(since_seq=since_seq, key=unwrap_audit_key(bytes(wrapped), schema_name, since_seq))


def chain_key_for_append(*, schema_name: str, seq: int) -> ChainKey:
    """The key to append row ``seq`` with (the caller holds the chain's advisory lock). The first event of an
    empty chain creates the key; a chain with events and no key refuses to grow."""
    from tenants.models import AuditChainKey

    found = chain_key(schema_name=schema_name)
    if found is not None:
        return found
    if seq != 1:
        raise AuditKeyMissing(f"audit chain of {schema_name} has {seq - 1} events but no key")
    try:
        with transaction.atomic():
            AuditChainKey.objects.create(schema_name=schema_name, since_seq=1,
                                         wrapped_key=new_wrapped_audit_key(schema_name=schema_name, since_seq=1))
    except IntegrityError:  # created meanwhile under another lock-holder's name: use that one
        pass
    found = chain_key(schema_name=schema_name)
    assert found is not None
    return found
