"""Registry of periodic per-municipality jobs, run by one beat dispatcher (tenants.dispatch_due_jobs).

An app registers ``PeriodicJob(name, task_name, due=callable(now, municipality) -> bool)``; the
dispatcher runs every minute, and enqueues each due job once per municipality with the schema in
the message header. Apps with schedules stored per tenant (linkage files) give a ``due`` that reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task_name: str
    due: Callable[[datetime, object], bool]
    area: str | None = None


_jobs: dict[str, PeriodicJob] = {}


def register(job: PeriodicJob) -> None:
    _jobs[job.name] = job


def registered() -> list[PeriodicJob]:
    return list(_jobs.values())


def daily_at(hour: int, minute: int = 0) -> Callable[[datetime, object], bool]:
    """Due in the dispatcher minute that matches hh:mm (local time)."""

    def _due(now: datetime, municipality: object) -> bool:
        return now.hour == hour and now.minute == minute

    return _due
