from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from madoguchi.context import update_request_context


class AuditContextMiddleware:
    """Put the authenticated user and their counter into the request context used by audit.record."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            counter = getattr(request, "counter", None)
            update_request_context(
                user_id=user.pk, username=user.get_username(), counter_id=getattr(counter, "pk", None)
            )
        return self.get_response(request)
