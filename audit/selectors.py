from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def events_for_target(*, target_type: str, target_id: str | int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(target_type=target_type, target_id=str(target_id)).order_by("seq")


def recent_events(*, limit: int = 100, action: str | None = None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.order_by("-seq")
    if action:
        qs = qs.filter(action=action)
    return qs[:limit]
