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


def events_for_resident(*, atena_no: str) -> QuerySet[AuditEvent]:
    """Every event that showed or handed out resident ``atena_no``'s data (who, when, what), oldest first.

    One indexed query (GIN on ``residents``). An export naming more residents than fit on one event is
    continued on follow-up events; the row found may be such a continuation, whose
    ``details["continues"]`` is the ``seq`` of the event it belongs to.
    """
    return AuditEvent.objects.filter(residents__contains=[str(atena_no)]).order_by("seq")
