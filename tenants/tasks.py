from __future__ import annotations

from celery import shared_task
from django.db import IntegrityError, connection, transaction
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


@shared_task(name="tenants.provision_municipality")
def provision_municipality(*, code: str, slug: str, name: str, name_kana: str = "", areas: list[str] | None = None,
                           contract_start: str | None = None, contract_end: str | None = None,
                           admin_username: str = "admin", admin_password_hash: str,
                           actor_id: int | None = None) -> dict:
    """Provision a municipality as the owner role (DDL), started by the ops admin; never inside the request.

    The first admin's password arrives as a hash (validated by the form), never in clear through the broker.
    The outcome (also a failure, with the field errors) is in the public audit chain.
    """
    from datetime import date

    from django.core.exceptions import ValidationError

    from audit.models import AuditAction
    from audit.services import record
    from tenants.accounts.models import User
    from tenants.services import municipality_provision

    connection.set_schema_to_public()
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        result = municipality_provision(
            code=code, slug=slug, name=name, name_kana=name_kana, areas=areas or [],
            contract_start=date.fromisoformat(contract_start) if contract_start else None,
            contract_end=date.fromisoformat(contract_end) if contract_end else None,
            admin_username=admin_username, admin_password_hash=admin_password_hash, actor=actor)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        record(action=AuditAction.PROVISION, target_type="municipality", target_id=code,
               details={"slug": slug, "ok": False, "errors": errors}, actor=actor)
        return {"ok": False, "errors": errors}
    return {"ok": True, "schema_name": result.municipality.schema_name, "seconds": round(result.seconds, 3)}
