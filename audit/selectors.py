from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

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


@dataclass(frozen=True)
class AuditQuery:
    """What an auditor asks of the trail: by staff member, resident, action and period (all optional).

    The audit screen searches with it today; an export with a verification bundle will take the same
    query, so that what is exported is exactly what was searched.
    """

    actor: str = ""
    atena_no: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def is_empty(self) -> bool:
        return not (self.actor or self.atena_no or self.action or self.date_from or self.date_to)

    def as_details(self) -> dict[str, str]:
        """The criteria as they are recorded in the audit event of the search itself."""
        values = {"actor": self.actor, "atena_no": self.atena_no, "action": self.action,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else ""}
        return {key: value for key, value in values.items() if value}


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def events_search(*, actor: object, query: AuditQuery) -> QuerySet[AuditEvent]:
    """Events matching ``query``, newest first. Municipal admins only (R6.3: the trail is theirs to read).

    The period is in the municipality's local time, both days included. ``atena_no`` matches the
    residents an event names (GIN index) or the event's own target, so that a person's page, a memo and
    an export that handed the resident out all come back in one query.
    """
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("監査ログは業務管理者のみ閲覧できます。"))
    qs = AuditEvent.objects.all()
    if query.actor:
        qs = qs.filter(actor=query.actor)
    if query.atena_no:
        qs = qs.filter(Q(residents__contains=[query.atena_no]) | Q(target_type="person", target_id=query.atena_no))
    if query.action:
        qs = qs.filter(action=query.action)
    if query.date_from:
        qs = qs.filter(occurred_at__gte=_local_midnight(query.date_from))
    if query.date_to and query.date_to < date.max:
        qs = qs.filter(occurred_at__lt=_local_midnight(query.date_to + timedelta(days=1)))
    return qs.order_by("-seq")


def audit_actors(*, actor: object) -> list[str]:
    """User names that appear in the trail (for the staff member picker), admins only."""
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("監査ログは業務管理者のみ閲覧できます。"))
    return list(AuditEvent.objects.exclude(actor="").order_by("actor").values_list("actor", flat=True).distinct())
