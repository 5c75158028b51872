"""The audit screen (R6.3): municipal admins search the trail; each search is itself audited."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit import selectors
from audit.forms import AuditSearchForm
from audit.labels import action_label, target_label
from audit.models import AuditAction
from audit.services import record

PAGE_SIZE = 50
RESIDENTS_SHOWN = 10  # per event; an export naming thousands shows a count for the rest


@login_required
@require_GET
def events_view(request: HttpRequest) -> HttpResponse:
    actors = selectors.audit_actors(actor=request.user)  # PermissionDenied for anyone but an admin
    submitted = bool(request.GET)
    form = AuditSearchForm(request.GET if submitted else None, actors=actors)
    page = None
    if submitted and form.is_valid():
        query = form.query()
        events = selectors.events_search(actor=request.user, query=query)
        page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
        shown: set[str] = set()
        for event in page.object_list:
            event.action_label = action_label(event.action)
            event.target_label = target_label(event.target_type)
            event.residents_shown = event.residents[:RESIDENTS_SHOWN]
            event.residents_more = max(0, len(event.residents) - RESIDENTS_SHOWN)
            shown.update(event.residents_shown)
        # Reading the trail is itself an access to personal data: who searched for whom, and whose
        # 宛名番号 the page displayed.
        record(action=AuditAction.VIEW, target_type="audit_log", target_id="",
               details={"criteria": query.as_details(), "page": page.number, "shown": len(page.object_list)},
               residents=sorted(shown | ({query.atena_no} if query.atena_no else set())))
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "audit/events.html", {"form": form, "page": page, "params": params.urlencode()})
