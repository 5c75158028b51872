"""The per-municipality periodic job that writes due outbox files (registered in AppConfig.ready)."""

from __future__ import annotations

from datetime import datetime

from tenants.jobs import PeriodicJob

TASK_NAME = "integration_exports.run_outbox"


def outbox_due(now: datetime, municipality: object) -> bool:
    """Due when any active schedule of the current schema has reached its next run time."""
    from integration.exports.selectors import schedules_due

    return schedules_due(now=now).exists()


OUTBOX_JOB = PeriodicJob(name="integration_exports.outbox", task_name=TASK_NAME, due=outbox_due)
