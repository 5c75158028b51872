from __future__ import annotations

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants import jobs, selectors
from tenants.models import JobDispatch


def _claim_slot(*, schema_name: str, job: jobs.PeriodicJob, now: object) -> bool:
    """Record the job's current slot for this municipality; False if it was already dispatched."""
    slot = job.slot(now)
    try:
        with transaction.atomic():
            JobDispatch.objects.create(schema_name=schema_name, job=job.name, slot=slot)
    except IntegrityError:
        return False
    return True


@shared_task(name="tenants.dispatch_due_jobs")
def dispatch_due_jobs() -> int:
    """The single beat entry: enqueue every per-municipality job that is due now."""
    from madoguchi.celery import app

    now = timezone.localtime()
    sent = 0
    for municipality in selectors.active_municipalities():
        for job in jobs.registered():
            if job.area and not municipality.has_area(job.area):
                continue
            if job.slot is not None:
                due = _claim_slot(schema_name=municipality.schema_name, job=job, now=now)
            else:
                with schema_context(municipality.schema_name):
                    due = job.due(now, municipality)
            if due:
                with schema_context(municipality.schema_name):
                    app.send_task(job.task_name)  # the schema travels in the message header
                sent += 1
    return sent
