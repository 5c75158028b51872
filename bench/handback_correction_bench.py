"""Measure one 訂正 after hand-back (issue 14): the family of five of the forms tests (5 住民異動届 records), closed;
then corrections of the 方書, without and with a tablet signature on the 住民異動届 (which re-renders the signed
documents twice and issues them again for print).

    .venv/bin/python bench/handback_correction_bench.py [--runs 5]

Runs through pytest so that it uses the test database and the rolled-back ``testa`` of ``tests/conftest.py``.
Prints, per variant, the SQL statements of one correction and its CPU time (median of the runs, this process
only: the database's own time is not included) and the load average, because the machine is shared.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("CORRECTION_BENCH_RUNS", "5"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.test")
os.environ.setdefault("MADOGUCHI_TEST_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

from tests.conftest import _always_use_the_test_database, django_db_setup, in_a, tenant_a  # noqa: E402, F401
from tests.test_forms_family import setup  # noqa: E402, F401


def _measure(setup, case, runs: int) -> tuple[int, float]:  # noqa: ANN001, F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from navigation.cases.services import case_handback_correct

    statements, cpu = [], []
    for n in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.process_time()
            case_handback_correct(actor=setup["staff"], case=case, field="new_address.katagaki",
                                  value=f"みなみ荘 {400 + n}", reason="計測")
            cpu.append(time.process_time() - start)
        statements.append(len(queries))
    return int(statistics.median(statements)), statistics.median(cpu)


def test_correction_cost(setup) -> None:  # noqa: F811
    from forms_builder.services import case_entries_save
    from forms_builder.tablet import services as tablet
    from tenants.accounts.models import Desk
    from tenants.accounts.services import desk_sit
    from tests.test_forms_family import STAFF_INPUTS, open_family_case
    from tests.test_forms_tablet_rules import STROKES, pair, png_data_url, push
    from tests.test_handback_correction import close, closed_case

    plain = closed_case(setup)
    plain_figures = _measure(setup, plain, RUNS)

    desk = Desk.objects.create(counter=setup["counter"], name="計測席")
    setup["counter"].staff.add(setup["staff"])
    desk_sit(actor=setup["staff"], desk_id=desk.pk)
    case = open_family_case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=STAFF_INPUTS)
    world = {**setup, "case": case, "desk": desk}
    tablet_row, _token = pair(world)
    tablet.signature_submit(tablet=tablet_row, push_id=push(world).pk, strokes=STROKES, png=png_data_url())
    close(setup, case)
    signed_figures = _measure(setup, case, 1)  # the first correction re-issues; later ones find no current signature

    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"correction, 5 records, no signature: {plain_figures[0]} statements, CPU {plain_figures[1] * 1000:.0f} ms"
          f" (median of {RUNS})")
    print(f"correction, 5 records, signed 住民異動届 re-issued: {signed_figures[0]} statements, "
          f"CPU {signed_figures[1] * 1000:.0f} ms (one run)")


if __name__ == "__main__":
    for i, arg in enumerate(sys.argv):
        if arg == "--runs" and i + 1 < len(sys.argv):
            os.environ["CORRECTION_BENCH_RUNS"] = sys.argv[i + 1]
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                          "-c", str(ROOT / "pyproject.toml")]))
