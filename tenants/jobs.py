"""Registry of periodic per-municipality jobs, run by one beat dispatcher (tenants.dispatch_due_jobs).

Two kinds of job:

- ``due=callable(now, municipality) -> bool``: the app keeps its own state (e.g. a schedule with a
  next-run time stored per municipality) and says whether the job is due now.
- ``slot=callable(now) -> datetime``: a fixed timetable (e.g. daily at 02:30). The dispatcher records
  each (municipality, job, slot) it has dispatched in the public schema and enqueues a slot exactly
  once — a beat that was down at 02:30 catches up when it comes back; two dispatches in one minute
  do not run it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task_name: str
    due: Callable[[datetime, object], bool] | None = None
    slot: Callable[[datetime], datetime] | None = None
    area: str | None = None

    def __post_init__(self) -> None:
        if (self.due is None) == (self.slot is None):
            raise ValueError(f"job {self.name}: give exactly one of due= or slot=")


_jobs: dict[str, PeriodicJob] = {}


def register(job: PeriodicJob) -> None:
    _jobs[job.name] = job


def registered() -> list[PeriodicJob]:
    return list(_jobs.values())


def daily_slot(hour: int, minute: int = 0) -> Callable[[datetime], datetime]:
    """The latest hh:mm (local time) at or before ``now``."""

    def _slot(now: datetime) -> datetime:
        today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return today if now >= today else today - timedelta(days=1)

    return _slot
