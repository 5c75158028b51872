"""Celery adapters (thin): run the due outbox schedules of the schema the message was sent from."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from integration.exports import services
from integration.exports.jobs import TASK_NAME
from madoguchi.tasks import TenantTask


@shared_task(name=TASK_NAME, base=TenantTask)
def run_outbox() -> list[dict]:
    results = services.schedule_run_due(municipality=connection.tenant)
    return [{"kind": r.kind, "status": r.status, "batch": r.batch.pk if r.batch else None} for r in results]
