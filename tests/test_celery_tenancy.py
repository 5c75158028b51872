"""Celery tasks carry their municipality: a real worker process writes only in the sender's schema."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from audit.tasks import verify_chain
from madoguchi.tasks import TenantOnlyError
from tests.conftest import wait_until


def _verify_events(schema_name: str) -> list[int]:
    with schema_context(schema_name):
        return list(AuditEvent.objects.filter(action="verify").values_list("seq", flat=True))


@pytest.mark.worker
@pytest.mark.schema
def test_task_enqueued_for_a_writes_only_in_a(celery_worker_process, fresh_municipality, django_db_blocker):
    city_a = fresh_municipality()
    city_b = fresh_municipality()
    with django_db_blocker.unblock():
        before_b = _verify_events(city_b.schema_name)
        before_public = _verify_events("public")
        with schema_context(city_a.schema_name):
            result = verify_chain.delay()
        assert result.get(timeout=60)["ok"] is True
        events_a = wait_until(lambda: _verify_events(city_a.schema_name))
        assert len(events_a) == 1
        assert _verify_events(city_b.schema_name) == before_b
        assert _verify_events("public") == before_public


@pytest.mark.worker
def test_tenant_task_sent_from_public_fails_on_the_worker(celery_worker_process, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        before = _verify_events("public")
        result = verify_chain.delay()
        with pytest.raises(Exception, match="must be sent from within a municipality"):
            result.get(timeout=60)
        assert _verify_events("public") == before


def test_tenant_task_refuses_public_schema_in_process(db):
    connection.set_schema_to_public()
    with pytest.raises(TenantOnlyError):
        verify_chain.apply(throw=True)


def test_dispatcher_enqueues_each_slot_once_per_active_municipality(db, monkeypatch):
    from datetime import datetime

    from tenants import jobs, tasks
    from tenants.models import JobDispatch, Municipality

    sent: list[tuple[str, str]] = []

    class FakeApp:  # the broker is the edge here; what matters is which schema each job is sent from
        def send_task(self, name):
            sent.append((name, connection.schema_name))

    from django.utils.timezone import make_aware

    clock = {"now": make_aware(datetime(2026, 11, 23, 2, 30, 20))}
    monkeypatch.setattr("madoguchi.celery.app", FakeApp())
    monkeypatch.setattr(tasks.timezone, "localtime", lambda: clock["now"])
    monkeypatch.setattr(jobs, "_jobs", {"audit.verify_chain": jobs._jobs["audit.verify_chain"]})
    Municipality.objects.filter(slug="testb").update(status="suspended")

    assert tasks.dispatch_due_jobs() == 1
    assert sent == [("audit.verify_chain", "m_testa")]
    clock["now"] = make_aware(datetime(2026, 11, 23, 2, 30, 50))  # a second dispatch in the same minute
    assert tasks.dispatch_due_jobs() == 0
    clock["now"] = make_aware(datetime(2026, 11, 24, 5, 10))  # beat was down at 02:30: caught up once
    assert tasks.dispatch_due_jobs() == 1
    assert tasks.dispatch_due_jobs() == 0
    assert JobDispatch.objects.filter(schema_name="m_testa", job="audit.verify_chain").count() == 2


def test_a_job_needs_exactly_one_timing_rule():
    import pytest as _pytest

    from tenants.jobs import PeriodicJob, daily_slot

    with _pytest.raises(ValueError):
        PeriodicJob(name="x", task_name="x")
    with _pytest.raises(ValueError):
        PeriodicJob(name="x", task_name="x", due=lambda now, m: True, slot=daily_slot(1))
