"""Bulk replacement of the resident mirror (integration.bulkswap): a big full snapshot is loaded into a new
table, indexed from several connections and swapped in — with the live table untouched until then."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from django.conf import settings
from django.db import connection

from integration import importer
from integration.models import Household, ImportRun, LinkageLayout, Resident
from integration.services import import_retry, import_submit, run_is_stale
from madoguchi.principals import SYSTEM
from tests.conftest import ROOT, _test_database_url, in_tenant, wait_until
from tests.test_integration_import import person, std_csv

pytestmark = [pytest.mark.schema]


@pytest.fixture
def swap_small_files(monkeypatch):
    """Take the bulk path for files of any size (it normally starts at 16 MB and 50,000 rows)."""
    monkeypatch.setattr(importer.staging, "SWAP_MIN_BYTES", 0)
    monkeypatch.setattr(importer.apply, "BULK_ROWS", 1)


def _indexes(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, regexp_replace(indexdef, ' ON \\S+ ', ' ON t ') FROM pg_indexes "
                       "WHERE schemaname = current_schema() AND tablename = %s ORDER BY indexname", [table])
        return cursor.fetchall()


def _constraints(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, contype FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY conname",
                       [table])
        return cursor.fetchall()


def _load_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT schemaname || '.' || tablename FROM pg_tables WHERE tablename LIKE 'linkage\\_load\\_%'")
        return [row[0] for row in cursor.fetchall()]


def _submit(city, rows: list[dict], name: str) -> ImportRun:  # noqa: ANN001
    layout = LinkageLayout.objects.get(key="juki_standard_csv")
    return import_submit(actor=SYSTEM, layout=layout, source=std_csv(rows), file_name=name, run_async=False)


def test_full_snapshot_is_swapped_in_with_the_same_indexes_and_constraints(committed_city, django_db_blocker,
                                                                           swap_small_files):
    with django_db_blocker.unblock(), in_tenant(committed_city):
        indexes = {table: _indexes(table) for table in ("integration_resident", "integration_household")}
        constraints = {table: _constraints(table) for table in ("integration_resident", "integration_household")}
        rows = [person(n, municipality_code=committed_city.code, address=f"鹿児島県鹿児島市新町{n}番地")
                for n in (1, 2, 3, 4, 5, 6)]
        run = _submit(committed_city, rows, "full.csv")
        assert run.status == ImportRun.Status.SUCCEEDED, run.errors
        assert "apply_swap" in run.timings and "apply_index" in run.timings  # the bulk path was taken
        assert (run.added, run.changed, run.deleted) == (3, 3, 0)
        assert sorted(Resident.objects.values_list("atena_no", "address")) == [
            (r["atena_no"], r["address"]) for r in sorted(rows, key=lambda r: r["atena_no"])]
        # the derived 世帯 table was swapped in with it
        assert {h.household_no: h.address for h in Household.objects.all()} == {
            r["household_no"]: r["address"] for r in sorted(rows, key=lambda r: r["atena_no"], reverse=True)}
        for table in indexes:
            assert _indexes(table) == indexes[table], table  # same names, same definitions
            assert _constraints(table) == constraints[table], table  # primary key and unique still constraints
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence('integration_resident', 'id')")
            assert cursor.fetchone()[0].endswith(".integration_resident_id_seq")
        assert _load_tables() == []
        # the search still finds people by name through the rebuilt trigram index
        from django.contrib.auth import get_user_model

        from integration.search import person_search

        admin = get_user_model().objects.filter(is_active=True).first()
        found = person_search(actor=admin, query="山田　太郎5")
        assert [p.atena_no for p in found][:1] == [rows[4]["atena_no"]]  # exact match first
        # a following small delta goes the usual way, on the swapped-in table
        again = _submit(committed_city, rows[:5], "smaller.csv")
        assert again.status == ImportRun.Status.SUCCEEDED and again.deleted == 1
        connection.set_schema_to_public()


def test_duplicate_keys_found_by_the_unique_index_are_reported_and_nothing_changes(committed_city, django_db_blocker,
                                                                                    swap_small_files):
    with django_db_blocker.unblock(), in_tenant(committed_city):
        before = sorted(Resident.objects.values_list("atena_no", "address"))
        rows = [person(n, municipality_code=committed_city.code, address="別の住所") for n in (1, 2, 3, 4)]
        rows.append(person(2, municipality_code=committed_city.code))  # line 6 repeats line 3's key
        run = _submit(committed_city, rows, "dup.csv")
        assert run.status == ImportRun.Status.FAILED
        assert run.errors[0]["line"] == 6 and "重複" in run.errors[0]["message"] and "3行目" in run.errors[0]["message"]
        assert sorted(Resident.objects.values_list("atena_no", "address")) == before
        assert _load_tables() == []
        connection.set_schema_to_public()


def test_values_the_layout_does_not_carry_are_never_reset_by_a_swap(committed_city, django_db_blocker,
                                                                    swap_small_files):
    import csv
    import io

    with django_db_blocker.unblock(), in_tenant(committed_city):
        layout = LinkageLayout.objects.get(key="juki_standard_csv")
        layout.columns = [c for c in layout.columns if c["field"] != "honseki"]  # a layout without 本籍
        layout.save()
        Resident.objects.filter(atena_no=person(1)["atena_no"]).update(honseki="鹿児島県鹿児島市山下町11番地")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([c["label"] for c in layout.columns])
        for n in (1, 2, 3, 4):
            row = person(n, municipality_code=committed_city.code, address="別の住所")
            writer.writerow([row[c["field"]] for c in layout.columns])
        run = import_submit(actor=SYSTEM,
                            layout=layout, source=buffer.getvalue().encode(), file_name="full.csv", run_async=False)
        assert run.status == ImportRun.Status.SUCCEEDED, run.errors
        assert "apply_swap" not in run.timings  # a swap would reset 本籍 to blank: the usual upsert keeps it
        assert Resident.objects.get(atena_no=person(1)["atena_no"]).honseki == "鹿児島県鹿児島市山下町11番地"
        assert set(Resident.objects.values_list("address", flat=True)) == {"別の住所"}
        assert _load_tables() == []
        # with nothing to keep in the columns it does not carry, the same layout swaps
        Resident.objects.update(honseki="")
        rows = [person(n, municipality_code=committed_city.code, address="三度目") for n in (1, 2, 3, 4, 5)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([c["label"] for c in layout.columns])
        writer.writerows([row[c["field"]] for c in layout.columns] for row in rows)
        run = import_submit(actor=SYSTEM,
                            layout=layout, source=buffer.getvalue().encode(), file_name="again.csv", run_async=False)
        assert run.status == ImportRun.Status.SUCCEEDED and "apply_swap" in run.timings
        connection.set_schema_to_public()


def test_load_table_left_by_a_dead_run_is_dropped_by_the_next(committed_city, django_db_blocker):
    with django_db_blocker.unblock(), in_tenant(committed_city):
        from integration import privileged

        privileged.call("load_create", committed_city.schema_name, "integration_resident",
                        "linkage_load_999999_integration_resident", False)  # as a dead run left it
        assert len(_load_tables()) == 1
        run = _submit(committed_city, [person(1, municipality_code=committed_city.code)], "one.csv")
        assert run.status == ImportRun.Status.SUCCEEDED
        assert _load_tables() == []
        connection.set_schema_to_public()


def test_bulk_load_is_isolated_per_municipality(committed_city, fresh_municipality, django_db_blocker,
                                                swap_small_files):
    other = fresh_municipality(areas="juki")
    with django_db_blocker.unblock():
        with in_tenant(other):
            from integration.services import layouts_ensure_shipped

            layouts_ensure_shipped()
            assert _submit(other, [person(7, municipality_code=other.code)], "other.csv").status == "succeeded"
        with in_tenant(committed_city):
            rows = [person(n, municipality_code=committed_city.code, address="町A") for n in (1, 2, 3, 4)]
            assert "apply_swap" in _submit(committed_city, rows, "a.csv").timings
            # another municipality's file is refused here, bulk path or not
            refused = _submit(committed_city, [person(9, municipality_code=other.code)] * 1, "b.csv")
            assert refused.status == ImportRun.Status.FAILED
        with in_tenant(other):
            assert list(Resident.objects.values_list("atena_no", flat=True)) == [person(7)["atena_no"]]
        connection.set_schema_to_public()


CRASHING_SWAP_WORKER = textwrap.dedent("""
    import os, sys, time, pathlib
    import django
    django.setup()
    from integration import bulkswap, importer
    importer.staging.SWAP_MIN_BYTES, importer.apply.BULK_ROWS = 0, 1
    original = bulkswap.swap_in

    def hang(copies):
        original(copies)  # live tables dropped and load tables renamed, inside the open transaction ...
        pathlib.Path(os.environ["CRASH_FLAG"]).write_text("swapping")
        time.sleep(300)  # ... and the process is killed here

    bulkswap.swap_in = hang
    from celery.bin.celery import main
    sys.argv = ["celery", "-A", "madoguchi", "worker", "-P", "solo", "-n", os.environ["WORKER_NAME"],
                "-Q", os.environ["WORKER_QUEUE"], "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "INFO"]
    main()
""")


@pytest.mark.worker
def test_worker_killed_during_the_swap_changes_nothing_and_rerun_completes(committed_city, django_db_blocker,
                                                                           tmp_path, swap_small_files):
    queue = f"swapcrash-{os.getpid()}-{time.time_ns()}"
    flag = tmp_path / "swapping.flag"
    log = (tmp_path / "worker.log").open("w")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings.test", "DATABASE_URL": _test_database_url(),
           "CRASH_FLAG": str(flag), "WORKER_QUEUE": queue, "WORKER_NAME": f"{queue}@%h",
           "MADOGUCHI_LINKAGE_ROOT": str(settings.LINKAGE_ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", CRASHING_SWAP_WORKER], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with django_db_blocker.unblock(), in_tenant(committed_city):
            before = sorted(Resident.objects.values_list("atena_no", "address"))
            indexes = _indexes("integration_resident")
            layout = LinkageLayout.objects.get(key="juki_standard_csv")
            rows = [person(n, municipality_code=committed_city.code, address="移転後の住所") for n in (1, 2, 5, 6)]
            run = import_submit(actor=SYSTEM, layout=layout, source=std_csv(rows), file_name="nightly.csv", queue=queue)
            wait_until(lambda: flag.exists() or worker.poll() is not None, timeout=90, interval=0.1)
            assert flag.exists(), (tmp_path / "worker.log").read_text()[-3000:]
            os.killpg(worker.pid, signal.SIGKILL)  # the worker dies inside the swap transaction
            worker.wait(timeout=10)
            wait_until(lambda: run_is_stale(run=ImportRun.objects.get(pk=run.pk)), timeout=20)
            assert sorted(Resident.objects.values_list("atena_no", "address")) == before  # nothing changed
            assert _indexes("integration_resident") == indexes
            assert len(_load_tables()) == 2  # committed load tables of the dead run: resident and 世帯
            again = import_retry(actor=SYSTEM, run=ImportRun.objects.get(pk=run.pk), run_async=False)
            assert again.status == ImportRun.Status.SUCCEEDED, again.errors
            assert "apply_swap" in again.timings
            assert (again.added, again.changed, again.deleted) == (2, 2, 1)
            assert set(Resident.objects.values_list("address", flat=True)) == {"移転後の住所"}
            assert _load_tables() == []
            connection.set_schema_to_public()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        log.close()


def test_swap_lets_a_long_reader_finish_and_new_readers_through(committed_city, django_db_blocker,
                                                               swap_small_files, monkeypatch):
    import threading

    import psycopg

    from integration import bulkswap

    monkeypatch.setattr(bulkswap, "LOCK_WAIT", "200ms")
    monkeypatch.setattr(bulkswap, "LOCK_PAUSE", 0.1)
    with django_db_blocker.unblock(), in_tenant(committed_city):
        params = connection.get_connection_params()
        table = f'"{committed_city.schema_name}".integration_resident'
        with psycopg.connect(**params) as reader, psycopg.connect(**params, autocommit=True) as other:
            before = reader.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # holds its lock until commit
            outcome: dict = {}
            rows = [person(n, municipality_code=committed_city.code, address="新しい住所") for n in (1, 2, 3, 4, 5)]
            worker = threading.Thread(target=lambda: outcome.update(run=_swap_in_thread(committed_city, rows)))
            worker.start()
            # while the swap keeps backing off, other staff can still read the mirror
            for _ in range(5):
                time.sleep(0.15)
                assert other.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == before
            assert worker.is_alive()  # still waiting for the long reader
            assert reader.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == before  # a consistent view
            reader.commit()
            worker.join(timeout=60)
        run = outcome["run"]
        assert run.status == ImportRun.Status.SUCCEEDED and "apply_swap" in run.timings, run.errors
        assert Resident.objects.count() == 5
        connection.set_schema_to_public()


def _swap_in_thread(city, rows):  # noqa: ANN001, ANN202
    from django.db import connections

    try:
        with in_tenant(city):
            return _submit(city, rows, "while-reading.csv")
    finally:
        connections.close_all()


def _mirror() -> tuple[list, list]:
    residents = list(Resident.objects.order_by("atena_no").values_list(
        "atena_no", "household_no", "name", "relationship", "address", "status", "search_address"))
    households = list(Household.objects.order_by("household_no").values_list(
        "household_no", "head_atena_no", "address"))
    return residents, households


def test_load_table_of_a_nightly_file_writes_only_what_changed_and_ends_like_the_usual_path(
        committed_city, fresh_municipality, django_db_blocker, monkeypatch):
    """A big nightly snapshot where little changed: staged in a load table, no swap; only the changed rows and
    their 世帯 are written — and the mirror ends exactly as with the temporary staging table."""
    from integration.services import layouts_ensure_shipped

    other = fresh_municipality(areas="juki")

    from tests.test_integration_import import atena

    def family(code: str, n: int, **overrides: str) -> dict:  # 1–3 one 世帯 (1 its head), 4–7 one each
        values = {"household_no": atena(910000 + (0 if n <= 3 else n)),
                  "relationship": "世帯主" if n not in (2, 3) else "子", **overrides}
        return person(n, municipality_code=code, **values)

    first = [1, 2, 3, 4, 5, 6]
    nightly = [  # 1 and 2 move (their 世帯 follows), 3 and 6 are removed, 5 joins 1's 世帯 as 妻, 7 is new
        (1, {"address": "鹿児島県鹿児島市転居先1番地"}), (2, {"address": "鹿児島県鹿児島市転居先1番地"}),
        (4, {}), (5, {"household_no": atena(910000), "relationship": "妻"}), (7, {})]
    results = []
    for city, swap_bytes in ((committed_city, 0), (other, 1 << 40)):  # load table / temporary table
        monkeypatch.setattr(importer.staging, "SWAP_MIN_BYTES", swap_bytes)
        with django_db_blocker.unblock(), in_tenant(city):
            layouts_ensure_shipped()
            Resident.objects.all().delete()
            Household.objects.all().delete()
            assert _submit(city, [family(city.code, n) for n in first], "first.csv").status == "succeeded"
            run = _submit(city, [family(city.code, n, **o) for n, o in nightly], "nightly.csv")
            assert run.status == ImportRun.Status.SUCCEEDED, run.errors
            assert "apply_swap" not in run.timings
            assert ("prepare" in run.timings) == (swap_bytes == 0)  # the load table path was taken
            assert (run.added, run.changed, run.deleted, run.unchanged) == (1, 3, 2, 1)
            results.append(_mirror())
            connection.set_schema_to_public()
    assert results[0] == results[1]
    residents, households = results[0]
    from tests.test_integration_import import atena

    heads = {h: (head, address) for h, head, address in households}
    assert heads[atena(910000)] == (person(1)["atena_no"], "鹿児島県鹿児島市転居先1番地")  # 世帯 follows the move
    assert person(3)["atena_no"] not in [r[0] for r in residents]
    assert atena(910005) not in heads and atena(910007) in heads  # emptied by 5's move; 7's is new
    assert atena(910006) not in heads and atena(910004) in heads  # 6 was removed; 4's is untouched
