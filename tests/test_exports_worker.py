"""Committed data across connections: the real worker writes the due outbox file; concurrent appends stay ordered."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import in_tenant, wait_until
from tests.test_exports_services import JUKI

pytestmark = [pytest.mark.worker, pytest.mark.schema]


def test_dispatcher_runs_due_outbox_schedule_on_worker(celery_worker_process, fresh_municipality,
                                                       django_db_blocker):
    from integration.exports.models import ExportBatch, ExportSchedule
    from integration.exports.services import export_record_submit
    from tenants.tasks import dispatch_due_jobs

    city = fresh_municipality(areas="juki")
    folder = Path(settings.LINKAGE_ROOT) / city.schema_name
    try:
        with django_db_blocker.unblock():
            with in_tenant(city):
                records = [export_record_submit(kind="juki_idou", payload={**JUKI, "name": f"転入 {i}"},
                                                source="navigation", source_id=f"C-{i}", area="juki")
                           for i in range(3)]
                ExportSchedule.objects.create(kind="juki_idou", layout_code="legacy_cp932_fixed", mode="interval",
                                              interval_minutes=5, next_run_at=timezone.now() - timedelta(minutes=1))
            assert dispatch_due_jobs() >= 1

            def written():
                with in_tenant(city):
                    return ExportBatch.objects.filter(channel="outbox").first()

            batch = wait_until(written, timeout=30)
            with in_tenant(city):
                schedule = ExportSchedule.objects.get(kind="juki_idou")
        assert batch.record_count == 3 and batch.last_record_id == records[-1].pk
        assert schedule.last_status == "ok" and schedule.next_run_at > timezone.now()
        files = list((folder / "outbox").iterdir())
        assert [f.name for f in files] == [batch.filename]
        assert "転入 2".encode("cp932") in files[0].read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_late_commit_is_never_skipped_by_a_cursor(fresh_municipality, django_db_blocker):
    """Two transactions append at once: the second cannot commit before the first, so no cursor skips one."""
    import threading

    from django.db import connection, transaction

    from integration.exports.selectors import records_after
    from integration.exports.services import export_record_submit

    city = fresh_municipality(areas="juki")
    release, first_added, done = threading.Event(), threading.Event(), []

    def append(name, hold):
        try:
            with in_tenant(city), transaction.atomic():
                export_record_submit(kind="juki_idou", payload={**JUKI, "name": name}, source="navigation",
                                     source_id=name, area="juki")
                if hold:
                    first_added.set()
                    release.wait(10)
            done.append(name)
        finally:
            connection.close()

    with django_db_blocker.unblock():
        slow = threading.Thread(target=append, args=("先に採番", True))
        slow.start()
        assert first_added.wait(10)
        fast = threading.Thread(target=append, args=("後から採番", False))
        fast.start()
        fast.join(1.0)
        with in_tenant(city):
            assert fast.is_alive() and records_after(kind_code="juki_idou", after=0, limit=10) == []
        release.set()
        slow.join(10)
        fast.join(10)
        with in_tenant(city):
            names = [r.payload["name"] for r in records_after(kind_code="juki_idou", after=0, limit=10)]
    # Both committed; the second was held until the first committed (asserted above while it waited) and the
    # cursor order is the numbering order. (Which thread then reaches ``done.append`` first is the scheduler's.)
    assert sorted(done) == sorted(["先に採番", "後から採番"]) and names == ["先に採番", "後から採番"]
