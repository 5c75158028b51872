"""The family-of-three 転入 journey across two counters, measured (issue 17).

    .venv/bin/python bench/counter_journey_bench.py [--timed 200]

Runs the browser journey of tests/test_counter_journey_browser.py (tests/journey.py: login, counter, search,
three newcomers, 転入 and its date, the interview, every procedure's status, a memo, hand-off, resume at the
second counter, close) in Chromium against a live server on a throw-away test database, and prints:
- clicks, keystrokes and full page loads (main-frame ``load`` events), in total and per step;
- the server time of a status change (the ``Server-Timing`` header the request middleware sets), p50/p95/max
  over ``--timed`` htmx status changes of one procedure row and of one household act (3 rows), with the
  browser's round trip beside it. The changes are posted at counter B before it finishes the case.
Goals: ≤ 35 clicks (test limit 40), ≤ 8 full page loads, p95 ≤ 100 ms for a status change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples: list[float]) -> str:
    samples = sorted(s for s in samples if s == s)  # drop NaN
    if not samples:
        return "no samples"
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    return (f"p50 {statistics.median(samples):6.1f} ms  p95 {p95:6.1f} ms  max {samples[-1]:6.1f} ms  "
            f"(n={len(samples)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timed", type=int, default=200, help="status changes to time (each kind)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "journey.json"
        env = dict(os.environ, MADOGUCHI_JOURNEY_OUT=str(out), MADOGUCHI_JOURNEY_TIMED=str(args.timed))
        command = [str(ROOT / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider",
                   "tests/test_counter_journey_browser.py"]
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if run.returncode != 0 or not out.exists():
            print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")  # noqa: T201
            return 1
        counts = json.loads(out.read_text())
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")  # noqa: T201
    print(f"clicks {counts['clicks']}  keystrokes {counts['keystrokes']}  full page loads {counts['loads']}  "  # noqa: T201
          f"(status changes made one by one: {counts['status_changes']})")
    previous = (0, 0, 0)
    for name, clicks, keys, loads in counts["steps"]:
        print(f"  {name:<28} clicks {clicks - previous[0]:3d}  keystrokes {keys - previous[1]:4d}  "  # noqa: T201
              f"loads {loads - previous[2]}")
        previous = (clicks, keys, loads)
    for kind, samples in counts["timings"].items():
        print(f"status change, {kind:<42} {percentiles(samples)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
