from __future__ import annotations

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    """Header data for the staff screen shell: municipality, user and the counter they sit at."""
    from tenants.models import Municipality

    tenant = getattr(request, "tenant", None)
    if not isinstance(tenant, Municipality):
        tenant = None
    counter = getattr(request, "counter", None)
    context = {
        "municipality": tenant,
        "current_counter": counter,
        "request_id": getattr(request, "request_id", ""),
    }
    user = getattr(request, "user", None)
    if tenant is not None and user is not None and user.is_authenticated:
        from tenants.accounts.sessions import deadline_of, pending_form_for, warning_seconds

        deadline = deadline_of(request)
        context["session_deadline"] = int(deadline) if deadline else None
        context["session_warning"] = warning_seconds()
        context["pending_form"] = pending_form_for(request)
    return context
