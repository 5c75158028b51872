"""Audit chain: time to verify 1,000,000 events, and the cost per event of the keyed chain against SHA-256.

    .venv/bin/python bench/audit_bench.py [--events 1000000] [--refill]

Uses its own database (``bench_madoguchi_audit``, created by the superuser ``MADOGUCHI_DB_SUPERUSER_URL``
owned by the owner role) and runs, like production, as the application role. The events are real chain rows
(``canonical_bytes`` + HMAC under the municipality's own chain key), written with COPY once and kept for later
runs. Prints:

- ``verify``: ``chain_verify()`` over every event (fetch + canonical JSON + HMAC + links), wall time;
- ``per event``: canonical JSON + link hash, in memory, keyed (HMAC-SHA256) against today's SHA-256, and the
  link hash alone;
- ``record``: one ``record()`` (lock, head and key, insert) per event, and its head query with and without the key;
- ``checkpoint``: the incremental verification + signing that the beat job does every few minutes.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "bench_madoguchi_audit"
SLUG, CODE = "benchaudit", "012084"


def setup_django() -> None:
    superuser = os.environ.get("MADOGUCHI_DB_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    server = urlparse(superuser).netloc.rpartition("@")[2]
    os.environ["DATABASE_URL"] = f"postgresql://madoguchi_app@{server}/{DB_NAME}"
    os.environ["DATABASE_OWNER_URL"] = f"postgresql://madoguchi_owner@{server}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")
    os.environ.setdefault("MADOGUCHI_AUDIT_ANCHOR_URL", "file:///tmp/madoguchi-audit-bench-anchors")
    import django

    django.setup()
    from madoguchi.dbroles import ensure_roles

    ensure_roles(superuser, database=DB_NAME)


def prepare() -> object:
    from django.core.management import call_command

    from tenants.models import Municipality
    from tenants.services import municipality_provision

    call_command("migrate_schemas", verbosity=0)
    if not Municipality.objects.filter(slug=SLUG).exists():
        municipality_provision(code=CODE, slug=SLUG, name="監査ベンチ市", areas="juki",
                               admin_password="Bench-only-2026-x")
    return Municipality.objects.get(slug=SLUG)


def fill(target: int) -> float:
    """Append generated events up to ``target`` with COPY (as the application role: INSERT only)."""
    import json
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from audit.keys import chain_key_for_append
    from audit.services import GENESIS_HASH, canonical_bytes, link_hash

    last = None
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1")
        last = cursor.fetchone()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS_HASH)
    if seq >= target:
        return 0.0
    key = chain_key_for_append(schema_name=connection.schema_name, seq=seq + 1)
    started = time.perf_counter()
    base = datetime(2026, 4, 1, tzinfo=UTC)
    actions = ["view", "view", "view", "print", "update", "export"]
    raw = connection.connection
    batch = 50_000
    while seq < target:
        buffer = io.StringIO()
        for _ in range(min(batch, target - seq)):
            seq += 1
            occurred = base + timedelta(seconds=seq * 7)
            details = {"fields": ["address", "name"], "count": seq % 17, "note": "住民票の写し"}
            row = dict(seq=seq, occurred_at=occurred, actor_id=seq % 40 + 1, actor=f"staff{seq % 40 + 1}",
                       action=actions[seq % len(actions)], target_type="person", target_id=str(100000 + seq % 90000),
                       area="juki", request_id=f"req-{seq:012d}", client_ip="10.0.0.15", counter_id=seq % 6 + 1,
                       details=details, prev_hash=prev)
            # The canonical bytes by template (5× faster than json.dumps), checked against canonical_bytes().
            payload = (
                f'{{"action":"{row["action"]}","actor":"{row["actor"]}","actor_id":{row["actor_id"]},"area":"juki",'
                f'"client_ip":"10.0.0.15","counter_id":{row["counter_id"]},"details":{{"count":{details["count"]},'
                f'"fields":["address","name"],"note":"住民票の写し"}},'
                f'"occurred_at":"{occurred.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}","prev_hash":"{prev}",'
                f'"request_id":"{row["request_id"]}","seq":{seq},"target_id":"{row["target_id"]}",'
                f'"target_type":"person"}}').encode()
            if seq % 10_000 == 1:
                assert payload == canonical_bytes(**row), (payload, canonical_bytes(**row))
            digest = link_hash(payload, seq=seq, key=key)
            buffer.write("\t".join([
                str(seq), occurred.isoformat(), str(row["actor_id"]), row["actor"], row["action"], "person",
                row["target_id"], "juki", row["request_id"], "10.0.0.15", str(row["counter_id"]),
                json.dumps(details, ensure_ascii=False).replace("\\", "\\\\"), prev, digest]) + "\n")
            prev = digest
        with raw.cursor() as cursor, cursor.copy(
                "COPY audit_auditevent (seq, occurred_at, actor_id, actor, action, target_type, target_id, area, "
                "request_id, client_ip, counter_id, details, prev_hash, hash) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        raw.commit()
        print(f"  … {seq:,} events", flush=True)
    return time.perf_counter() - started


def per_event(sample: int) -> dict[str, float]:
    import hashlib
    import hmac

    from django.db import connection

    from audit.keys import chain_key
    from audit.models import AuditEvent
    from audit.services import _VERIFY_COLUMNS, canonical_bytes

    key = chain_key(schema_name=connection.schema_name).key
    rows = list(AuditEvent.objects.order_by("seq").values_list(*_VERIFY_COLUMNS)[:sample])
    names = _VERIFY_COLUMNS[:-1]
    payloads = []
    started = time.perf_counter()
    for row in rows:
        payloads.append(canonical_bytes(**dict(zip(names, row[:-1], strict=True))))
    canonical = (time.perf_counter() - started) / len(rows)
    started = time.perf_counter()
    for payload in payloads:
        hashlib.sha256(payload).hexdigest()
    sha = (time.perf_counter() - started) / len(rows)
    started = time.perf_counter()
    for payload in payloads:
        hmac.new(key, payload, hashlib.sha256).hexdigest()
    keyed = (time.perf_counter() - started) / len(rows)
    return {"canonical_us": canonical * 1e6, "sha256_us": sha * 1e6, "hmac_us": keyed * 1e6,
            "payload_bytes": sum(map(len, payloads)) / len(payloads)}


def record_cost(count: int) -> dict[str, float]:
    """One record() per event (rolled back), and what the key adds to it: the head query alone (as before keys)
    against the head-and-key query record() now makes, and one HMAC against one SHA-256 of a row."""
    from django.db import connection, transaction

    from audit.services import _HEAD_AND_KEY_SQL, record

    started = time.perf_counter()
    with transaction.atomic():
        for index in range(count):
            record(action="view", target_type="person", target_id=str(index), area="juki",
                   details={"fields": ["address"]})
        transaction.set_rollback(True)  # keep the bench chain at its size
    per_record = (time.perf_counter() - started) / count
    timings = {}
    with connection.cursor() as cursor:
        for name, sql, params in (("head", "SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1", []),
                                  ("head_and_key", _HEAD_AND_KEY_SQL, [connection.schema_name])):
            started = time.perf_counter()
            for _ in range(count):
                cursor.execute(sql, params)
                cursor.fetchone()
            timings[name] = (time.perf_counter() - started) / count
    return {"record_us": per_record * 1e6, "head_us": timings["head"] * 1e6,
            "head_and_key_us": timings["head_and_key"] * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=2_000)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django_tenants.utils import schema_context

    from audit.checkpoints import checkpoint_check
    from audit.services import chain_verify
    from audit.tasks import checkpoint_now

    municipality = prepare()
    with schema_context(municipality.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            print(f"connected as {cursor.fetchone()[0]} to {connection.settings_dict['NAME']}")
        filled = fill(args.events)
        if filled:
            print(f"fill: {args.events:,} events by COPY in {filled:.1f} s")
        started = time.perf_counter()
        result = chain_verify()
        verify = time.perf_counter() - started
        print(f"verify: {result.checked:,} events in {verify:.1f} s ({verify / result.checked * 1e6:.1f} µs/event), "
              f"ok={result.ok}")
        costs = per_event(args.sample)
        print(f"per event (in memory, {args.sample:,} rows, {costs['payload_bytes']:.0f} bytes): canonical JSON "
              f"{costs['canonical_us']:.2f} µs; SHA-256 {costs['sha256_us']:.2f} µs; HMAC-SHA256 "
              f"{costs['hmac_us']:.2f} µs (+{costs['hmac_us'] - costs['sha256_us']:.2f} µs per event)")
        cost = record_cost(args.records)
        print(f"record(): {cost['record_us']:.0f} µs per event; its head query {cost['head_us']:.0f} µs before keys, "
              f"{cost['head_and_key_us']:.0f} µs with the key")
        started = time.perf_counter()
        signed = checkpoint_now()
        first = time.perf_counter() - started
        started = time.perf_counter()
        check = checkpoint_check()
        checked = time.perf_counter() - started
        print(f"checkpoint: first one over the whole chain {first:.1f} s ({signed}); checkpoint_check "
              f"{checked:.2f} s ({check.anchors} anchors, ok={check.ok})")


if __name__ == "__main__":
    main()
