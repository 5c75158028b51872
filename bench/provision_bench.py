"""Measure provisioning and no-op migrations (issue 2).

Prints: seconds to provision one municipality (clone of the template schema, domain, data key,
first admin), and the per-tenant seconds of a no-op `migrate_schemas` over N tenants (default 200),
with the standard and the multiprocessing executor.

Runs against a throw-away database `madoguchi_bench` on the local PostgreSQL (dropped first).
Usage: .venv/bin/python bench/provision_bench.py [--tenants 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "madoguchi_bench"
URL = f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=200)
    args = parser.parse_args()

    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    env = {**os.environ, "DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "madoguchi.settings.base",
           "DJANGO_DEBUG": "0", "MADOGUCHI_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "-v", "0"], cwd=ROOT, env=env, check=True)
    print(f"initial migrate (public + template schema): {time.perf_counter() - started:.2f} s")

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from tenants.services import municipality_provision
    from tenants.validators import municipality_check_digit

    timings = []
    for index in range(args.tenants):
        body = f"{index % 47 + 1:02d}{index // 47 + 100:03d}"
        code = body + str(municipality_check_digit(body))
        result = municipality_provision(code=code, slug=f"bench{index:04d}", name=f"ベンチ市{index}",
                                        areas="juki,kokuho,kaigo", admin_password="Bench-password-2026")
        timings.append(result.seconds)
        if (index + 1) % 25 == 0:
            print(f"  {index + 1} provisioned, last {result.seconds:.3f} s", flush=True)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"provision one municipality: median {statistics.median(timings):.3f} s, p95 {p95:.3f} s, "
          f"max {timings[-1]:.3f} s over {len(timings)} (goal ≤ 2 s)")

    for executor in ("standard", "multiprocessing"):
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "migrate_schemas", "-v", "0", "--executor", executor],
                       cwd=ROOT, env=env, check=True)
        elapsed = time.perf_counter() - started
        print(f"no-op migrate_schemas over {args.tenants} tenants ({executor}): {elapsed:.2f} s total, "
              f"{elapsed / args.tenants:.3f} s per tenant (goal ≤ 0.1 s)")

    from django.db import connections

    connections.close_all()
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
