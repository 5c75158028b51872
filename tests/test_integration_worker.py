"""Linkage with real processes: inbox pick-up by schedule, a Celery worker, and a worker killed mid-apply."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from integration.models import ImportRun, LinkageLayout, LinkageSchedule, Resident
from integration.services import (
    import_retry,
    inbox_pickup,
    layouts_ensure_shipped,
    linkage_dir,
    run_is_stale,
    schedules_due,
    schedules_run_due,
)
from madoguchi.principals import SYSTEM
from tests.conftest import ROOT, _test_database_url, in_tenant, wait_until
from tests.test_integration_import import person, std_csv


def _local(hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime(2026, 4, 1, hour, minute))


def test_schedule_due_and_inbox_pickup(in_a, tmp_path, settings):
    settings.LINKAGE_ROOT = tmp_path
    layouts_ensure_shipped()
    nightly = LinkageSchedule.objects.get(layout__key="juki_standard_csv")
    urgent = LinkageSchedule.objects.get(layout__key="support_measures_csv")
    assert nightly in schedules_due(now=_local(2, 0)) and urgent in schedules_due(now=_local(2, 0))
    assert nightly in schedules_due(now=_local(2, 7))  # a late or skipped tick catches up …
    assert nightly not in schedules_due(now=_local(2, 31)) and nightly not in schedules_due(now=_local(1, 59))
    assert urgent in schedules_due(now=_local(13, 5))
    from tenants.jobs import registered

    job = next(j for j in registered() if j.name == "integration.schedules")
    assert job.due(_local(2, 0), in_a)

    inbox = linkage_dir("inbox", "juki_standard_csv")
    (inbox / "juki_20260401.csv").write_bytes(std_csv([person(1), person(2)]))
    (inbox / "still_uploading.csv.part").write_bytes(b"partial")
    runs = schedules_run_due(now=_local(2, 0), run_async=False)
    assert [r.status for r in runs] == [ImportRun.Status.SUCCEEDED]
    assert runs[0].schedule == nightly and runs[0].source == ImportRun.Source.SCHEDULE
    assert runs[0].deadline is not None and runs[0].deadline.hour == 23  # 08:00 JST in UTC
    nightly.refresh_from_db()
    assert nightly.last_status == "succeeded" and nightly.last_finished_at and nightly.last_started_at
    assert nightly not in schedules_due(now=_local(2, 1))  # … but runs once per slot
    assert nightly in schedules_due(now=_local(2, 0) + timedelta(days=1))
    assert sorted(p.name for p in inbox.iterdir()) == ["still_uploading.csv.part"]
    assert Resident.objects.count() == 2
    assert inbox_pickup(run_async=False) == []  # nothing new


@pytest.mark.worker
@pytest.mark.schema
def test_real_worker_imports_a_queued_file(committed_city, celery_worker_process, django_db_blocker):
    from integration.services import import_submit

    with django_db_blocker.unblock(), in_tenant(committed_city):
        layout = LinkageLayout.objects.get(key="juki_standard_csv")
        rows = [person(n, municipality_code=committed_city.code) for n in (1, 2, 3, 4)]
        run = import_submit(actor=SYSTEM,
                            layout=layout, source=std_csv(rows), file_name="plus_one.csv")  # on_commit → Celery
        run = wait_until(lambda: ImportRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
                         timeout=60)
        assert run.status == ImportRun.Status.SUCCEEDED, run.errors
        assert run.added == 1 and Resident.objects.count() == 4
        connection.set_schema_to_public()


CRASHING_WORKER = textwrap.dedent("""
    import os, sys, time, pathlib
    import django
    django.setup()
    from integration import importer
    original = importer.Importer._derive_households

    def hang(self, cursor):
        original(self, cursor)  # the new rows are written inside the open transaction ...
        pathlib.Path(os.environ["CRASH_FLAG"]).write_text("applying")
        time.sleep(300)  # ... and the process is killed here

    importer.Importer._derive_households = hang
    from celery.bin.celery import main
    sys.argv = ["celery", "-A", "madoguchi", "worker", "-P", "solo", "-n", os.environ["WORKER_NAME"],
                "-Q", os.environ["WORKER_QUEUE"], "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "INFO"]
    main()
""")


@pytest.mark.worker
@pytest.mark.schema
def test_worker_killed_mid_apply_changes_nothing_and_rerun_completes(committed_city, django_db_blocker, tmp_path):
    from integration.services import import_submit
    queue = f"crash-{os.getpid()}-{time.time_ns()}"
    flag = tmp_path / "applying.flag"
    log = (tmp_path / "worker.log").open("w")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings.test", "DATABASE_URL": _test_database_url(),
           "CRASH_FLAG": str(flag), "WORKER_QUEUE": queue, "WORKER_NAME": f"{queue}@%h",
           "MADOGUCHI_LINKAGE_ROOT": str(settings.LINKAGE_ROOT)}
    worker = subprocess.Popen([sys.executable, "-c", CRASHING_WORKER], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with django_db_blocker.unblock(), in_tenant(committed_city):
            before = sorted(Resident.objects.values_list("atena_no", "address"))
            layout = LinkageLayout.objects.get(key="juki_standard_csv")
            rows = [person(n, municipality_code=committed_city.code, address="移転後の住所") for n in (1, 2, 5, 6)]
            # to the crashing worker's own queue (the schema travels in the message header)
            run = import_submit(actor=SYSTEM, layout=layout, source=std_csv(rows), file_name="nightly.csv", queue=queue)
            wait_until(lambda: flag.exists() or worker.poll() is not None, timeout=90, interval=0.1)
            assert flag.exists(), (tmp_path / "worker.log").read_text()[-3000:]
            os.killpg(worker.pid, signal.SIGKILL)  # the worker dies inside the apply transaction
            worker.wait(timeout=10)
            run.refresh_from_db()
            assert run.status == ImportRun.Status.APPLYING
            wait_until(lambda: run_is_stale(run=run), timeout=20)
            assert sorted(Resident.objects.values_list("atena_no", "address")) == before  # nothing changed
            again = import_retry(actor=SYSTEM, run=run, run_async=False)
            assert again.status == ImportRun.Status.SUCCEEDED, again.errors
            assert (again.added, again.changed, again.deleted) == (2, 2, 1)
            run.refresh_from_db()
            assert run.status == ImportRun.Status.INTERRUPTED
            assert set(Resident.objects.values_list("address", flat=True)) == {"移転後の住所"}
            connection.set_schema_to_public()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        log.close()


def test_shipped_layouts_come_with_provisioning_and_the_dispatcher_restores_missing_ones(in_a):
    from tenants.jobs import registered

    # provisioned with the shipped layouts and their schedules …
    assert LinkageLayout.objects.filter(key="juki_standard_csv", shipped=True).exists()
    assert LinkageSchedule.objects.filter(layout__key="support_measures_csv").exists()
    # … and a municipality provisioned before that gets them on the dispatcher's next tick
    LinkageLayout.objects.all().delete()
    job = next(j for j in registered() if j.name == "integration.schedules")
    assert job.due(_local(2, 0), in_a)
    assert LinkageLayout.objects.filter(key="support_measures_csv").exists()


# The worker command as deployed (docs/operations.md, docker-compose.yml): prefork pool, concurrency 2. Only the
# queue, name and pid file are the test's own, so that no other worker takes the task.
DEPLOYED_WORKER = ["celery", "-A", "madoguchi", "worker", "-l", "INFO", "--concurrency", "2"]


@pytest.mark.worker
@pytest.mark.schema
def test_deployed_prefork_worker_validates_a_big_file_in_parallel(committed_city, django_db_blocker, tmp_path):
    """Under the prefork worker the task runs in a daemonic child process; the file's parts must still be
    validated by two processes (they used to be validated in one, silently)."""
    from integration.generator import CoreDataGenerator
    from integration.services import SHIPPED_DIR, import_submit
    from integration.writer import LayoutWriter

    queue = f"prefork-{os.getpid()}-{time.time_ns()}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings.test", "DATABASE_URL": _test_database_url(),
           "MADOGUCHI_LINKAGE_ROOT": str(settings.LINKAGE_ROOT),
           # a file of ~1 MB counts as big here, cut into parts of 32 KB (16 MB and 4 MB in production)
           "MADOGUCHI_IMPORT_PARALLEL_MIN_BYTES": str(256 * 1024), "MADOGUCHI_IMPORT_CHUNK_BYTES": str(32 * 1024),
           "MADOGUCHI_IMPORT_WORKERS": "2"}
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", *DEPLOYED_WORKER, "-Q", queue, "-n", f"{queue}@%h",
         "--pidfile", str(tmp_path / "worker.pid"), "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "ready." in log_path.read_text() or worker.poll() is not None, timeout=60)
        assert worker.poll() is None, log_path.read_text()[-3000:]
        layout_json = __import__("json").loads((SHIPPED_DIR / "juki_standard_csv.json").read_text(encoding="utf-8"))
        people = CoreDataGenerator(residents=4000, seed=3, gaiji_rate=0).generate()
        data = tmp_path / "residents.csv"
        with data.open("wb") as stream:
            LayoutWriter(layout_json, municipality_code=committed_city.code, stream=stream).write(
                p.row() for p in people)
        assert data.stat().st_size > 256 * 1024
        with django_db_blocker.unblock(), in_tenant(committed_city):
            layout = LinkageLayout.objects.get(key="juki_standard_csv")
            run = import_submit(actor=SYSTEM, layout=layout, source=data, file_name="residents.csv", queue=queue)
            run = wait_until(lambda: ImportRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
                             timeout=120)
            assert run.status == ImportRun.Status.SUCCEEDED, (run.errors, log_path.read_text()[-3000:])
            # Two validation processes were started inside the pool's daemonic child (they used to fall back to
            # one silently). Which of them takes which part is the pool's choice: on a loaded machine the first
            # one up may take every part of this small file, so only "at least one of them validated" is asserted.
            assert run.timings.get("validate_pool") == 2, (run.timings, log_path.read_text()[-3000:])
            assert run.timings.get("validate_processes") in (1, 2), run.timings
            assert Resident.objects.count() == len(people)
            connection.set_schema_to_public()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        log.close()
