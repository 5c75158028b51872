from __future__ import annotations

from django.http import HttpRequest


def shell(request: HttpRequest) -> dict:
    """Header data for the staff screen shell: municipality, user and the counter they sit at."""
    from tenants.models import Municipality

    tenant = getattr(request, "tenant", None)
    if not isinstance(tenant, Municipality):
        tenant = None
    counter = getattr(request, "counter", None)
    return {
        "municipality": tenant,
        "current_counter": counter,
        "request_id": getattr(request, "request_id", ""),
    }
