"""Celery tasks of the linkage side. Thin: they call services inside the tenant's schema."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from madoguchi.principals import SYSTEM
from madoguchi.tasks import TenantTask


@shared_task(base=TenantTask, name="integration.run_import", acks_late=True)
def run_import(run_id: int) -> str:
    from integration.services import import_execute

    return import_execute(run_id=run_id, actor=SYSTEM).status


@shared_task(base=TenantTask, name="integration.inbox_pickup")
def inbox_pickup_task() -> int:
    """Pick up every layout's inbox (manual trigger / ad hoc)."""
    from integration.services import inbox_pickup

    return len(inbox_pickup())


@shared_task(base=TenantTask, name="integration.run_due_schedules")
def run_due_schedules() -> int:
    """Started by the beat dispatcher when at least one schedule of this municipality is due."""
    from integration.services import schedules_run_due

    return len(schedules_run_due(now=timezone.now()))


@shared_task(base=TenantTask, name="integration.purge_received")
def purge_received() -> int:
    """Daily: delete received linkage files past their retention (see received_files_purge)."""
    from integration.services import received_files_purge

    return received_files_purge()


@shared_task(base=TenantTask, name="integration.rewrite_search_addresses", bind=True, max_retries=48)
def rewrite_search_addresses(self) -> int:  # noqa: ANN001
    """After a rename: the mirror's search addresses for the new name (retried every 5 minutes while an import of
    the municipality runs)."""
    from django.db import connection

    from integration.services import ImportInProgress, search_addresses_rewrite

    try:
        changed, _total = search_addresses_rewrite(municipality=connection.tenant)
    except ImportInProgress as exc:
        raise self.retry(countdown=300) from exc
    return changed
