from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.db import connection
from django.http import HttpRequest, HttpResponse

from tenants.accounts.selectors import counters_for_staff
from tenants.accounts.services import SESSION_COUNTER_KEY, SESSION_SCHEMA_KEY


class TenantSessionBindingMiddleware:
    """Reject a session that was issued in another municipality, and load the staff member's counter.

    Sessions live in each tenant's schema, so a foreign cookie normally finds nothing; this check
    also covers a session key that happens to exist (defence in depth).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.counter = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if request.session.get(SESSION_SCHEMA_KEY) != connection.schema_name:
                logout(request)
            else:
                counter_id = request.session.get(SESSION_COUNTER_KEY)
                if counter_id:
                    # Only a counter the staff member may still use (an admin may have taken it away).
                    request.counter = counters_for_staff(actor=user).filter(pk=counter_id).first()
        return self.get_response(request)
