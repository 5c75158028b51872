from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants import jobs, selectors


@shared_task(name="tenants.dispatch_due_jobs")
def dispatch_due_jobs() -> int:
    """The single beat entry: enqueue every per-municipality job that is due this minute."""
    from madoguchi.celery import app

    now = timezone.localtime()
    sent = 0
    for municipality in selectors.active_municipalities():
        for job in jobs.registered():
            if job.area and not municipality.has_area(job.area):
                continue
            with schema_context(municipality.schema_name):
                if job.due(now, municipality):
                    app.send_task(job.task_name)  # the schema travels in the message header
                    sent += 1
    return sent
