"""Support-measure guard and resident-naming audit on large exports (issue 11).

    .venv/bin/python bench/protected_export_bench.py [--residents 200000] [--records 100000] [--audit 1000000]

Uses its own database (``bench_madoguchi_exports``, created if missing) and a throw-away municipality, dropped
at the end. Prints:

1. ``audit.services.record`` naming ``--audit`` residents (as an export of that many would): seconds, rows
   written, the largest ``residents`` value on one row (bytes), and the time of
   ``events_for_resident`` (one GIN-indexed query) for a resident on the last continuation row.
2. ``export_download`` of ``--records`` 住民異動届 records about mirror residents (1 in 500 under a
   support measure): total seconds, and the share spent on the protected check
   (``integration.selectors.protected_among``), for a clerk (masked) and for a holder of 支援措置の閲覧.
"""

from __future__ import annotations

import argparse
import random
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_bench import load, setup_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=200_000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_madoguchi_exports")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    setup_django(args.database)

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    import integration.selectors as mirror
    from audit.models import AuditEvent
    from audit.selectors import events_for_resident
    from audit.services import record
    from integration.exports.models import ExportRecord
    from integration.exports.services import export_download
    from integration.models import Resident, SupportMeasure
    from tenants.accounts.models import User
    from tenants.accounts.services import staff_create
    from tenants.models import Municipality
    from tenants.services import municipality_provision
    from tenants.template import template_ensure
    from tenants.validators import municipality_check_digit

    rng = random.Random(args.seed)
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    template_ensure(force=True)
    connection.set_schema_to_public()
    while True:
        body = f"{secrets.randbelow(47) + 1:02d}{secrets.randbelow(900) + 100:03d}"
        code = body + str(municipality_check_digit(body))
        if not Municipality.objects.filter(code=code).exists():
            break
    slug = f"benchx{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(16) + "Aa1!"
    municipality = municipality_provision(code=code, slug=slug, name=f"ベンチ市{slug}", areas="juki",
                                          admin_password=password).municipality
    try:
        connection.set_tenant(municipality)
        print(f"municipality {slug}; loading {args.residents:,} residents", flush=True)
        load(args.residents, rng)

        # 1. One event naming many residents -----------------------------------------------------------
        names = [f"{1_000_000_000 + i}" for i in range(args.audit)]  # 宛名番号-like; the audit does not look them up
        started = time.perf_counter()
        with transaction.atomic():
            first = record(action="export", target_type="export_batch", target_id="bench", residents=names)
        seconds = time.perf_counter() - started
        rows = AuditEvent.objects.filter(seq__gte=first.seq).count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(pg_column_size(residents)) FROM audit_auditevent")
            widest = cursor.fetchone()[0]
        started = time.perf_counter()
        found = list(events_for_resident(atena_no=names[-1]))
        lookup_ms = (time.perf_counter() - started) * 1000
        print(f"\naudit: {len(names):,} residents named in {seconds:.2f} s on {rows:,} rows; widest residents "
              f"value {widest:,} bytes; events_for_resident {lookup_ms:.1f} ms ({len(found)} event)", flush=True)

        # 2. A large export with the protected check -------------------------------------------------------
        sample = list(Resident.objects.values_list("atena_no", "household_no", "name", "address")[:args.records])
        SupportMeasure.objects.bulk_create([SupportMeasure(atena_no=a, start_date=timezone.localdate(),
                                                           restrict_address=True)
                                            for a, *_rest in sample[::500]])
        ExportRecord.objects.bulk_create([ExportRecord(kind="juki_idou", area="juki", source="bench", payload={
            "idou_jiyu": "tenkyo", "idou_date": "2026-04-01", "todokede_date": "2026-04-01", "atena_no": a,
            "household_no": h, "name": n, "old_address": addr}) for a, h, n, addr in sample], batch_size=5000)
        clerk = staff_create(actor=None, username="bench-clerk", password=password, areas="juki")
        operator = staff_create(actor=None, username="bench-linkage", password=password, areas="juki",
                                may_view_support_measures=True)
        original = mirror.protected_among
        spent = [0.0]

        def timed(**kwargs):  # noqa: ANN003,ANN202
            t0 = time.perf_counter()
            try:
                return original(**kwargs)
            finally:
                spent[0] += time.perf_counter() - t0

        mirror.protected_among = timed
        today = timezone.localdate()
        for label, actor in (("clerk (masked)", clerk), ("支援措置の閲覧 (clear)", operator)):
            spent[0] = 0.0
            started = time.perf_counter()
            exported = export_download(actor=actor, municipality=municipality, kind_code="juki_idou",
                                       selection="range", date_from=today, date_to=today)
            total = time.perf_counter() - started
            print(f"export {label}: {exported.batch.record_count:,} records in {total:.2f} s, protected check "
                  f"{spent[0]:.2f} s ({spent[0] / total:.0%}), masked {exported.batch.masked_count:,}", flush=True)
        mirror.protected_among = original
        user_count = User.objects.count()
        print(f"(staff accounts: {user_count})")
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{municipality.schema_name}" CASCADE')
        Municipality.objects.filter(pk=municipality.pk).delete()


if __name__ == "__main__":
    main()
