"""A real Celery worker: the beat dispatcher sends the due outbox job, the worker writes the file in the tenant."""

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
