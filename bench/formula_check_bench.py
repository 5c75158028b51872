"""Cost of the formula check on the column-wise fast path (``RowBuilder.build_batch``), before and after it
looked at the values as read (a leading TAB is no longer stripped before the check).

    .venv/bin/python bench/formula_check_bench.py [--residents 100000] [--rounds 7]

The vendor's fixed-width 住基 file (docs/vendor/minato_juki_fixed.json: 氏名・カナ氏名・住所・方書 are text columns
with the formula rule) is sliced into batches by ``FixedParser.fast_batches`` once; then every batch goes through
``build_batch`` with the check as committed (A) and as it was before (B: the check on the values after STRIP, the
old pattern), alternating A/B per round in this one process. Reported: the CPU time (``time.process_time``) of
one pass over all batches, median of the rounds, and the ratio A/B. No database is used.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.test")


def main() -> None:
    import django

    django.setup()
    from integration.importer import rows
    from integration.importer.records import BATCH
    from integration.parsers import FixedParser
    from integration.targets import target_for
    from integration.vendorfiles import vendor_layout, vendor_people, write_vendor_file

    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    data = vendor_layout("minato_juki_fixed")
    layout = SimpleNamespace(**{k: v for k, v in data.items() if k != "schedule"})
    people = vendor_people(residents=args.residents, seed=1, gaiji_rate=0)
    body = write_vendor_file("minato_juki_fixed", [{**p, "op": ""} for p in people], municipality_code="462012",
                             file_kind="full")
    lines = body.split(b"\r\n")[1:-2]  # the data records (no header, no trailer)
    part = b"\n".join(lines) + b"\n"
    batches = list(FixedParser(layout).fast_batches(part, 1, BATCH))
    tenant = SimpleNamespace(code="462012", name="bench", areas=["juki"])
    builder = rows.RowBuilder(layout=layout, target=target_for(layout.target), tenant=tenant, gaiji={})
    builder.file_kind = "full"
    builder.prepare_fast_path()

    old_start = ("=", "+", "-", "@", "\t", "\r")
    old_inside = re.compile("\x1f[=+\\-@\t\r]")

    def old_batch(joined: str) -> bool:  # the check before this change: on the values after STRIP
        return not (joined.startswith(old_start) or old_inside.search(joined))

    new_rules = list(builder.rules)
    old_rules = [(i, one, old_batch if ok is rows._formula_batch else ok) for i, one, ok in new_rules]
    formula_columns = sum(ok is rows._formula_batch for _i, _one, ok in new_rules)

    def one_pass(rules: list) -> float:
        builder.rules = rules
        started = time.process_time()
        for line_numbers, _rows, columns in batches:
            assert builder.build_batch(line_numbers, None, columns) is not None
        return time.process_time() - started

    one_pass(new_rules)  # warm the caches (dates, normalisation) for both
    a, b = [], []
    for _round in range(args.rounds):
        a.append(one_pass(new_rules))
        b.append(one_pass(old_rules))
    load = os.getloadavg()
    median_a, median_b = statistics.median(a), statistics.median(b)
    print(f"records {len(lines):,} in {len(batches)} batches, {formula_columns} text columns with the formula rule")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"A (values as read)  CPU per pass: median {median_a:.3f} s  {[round(x, 3) for x in a]}")
    print(f"B (after STRIP, old) CPU per pass: median {median_b:.3f} s  {[round(x, 3) for x in b]}")
    print(f"A/B {median_a / median_b:.3f}  ({(median_a - median_b) / len(lines) * 1e6:+.2f} µs per record)")


if __name__ == "__main__":
    main()
