from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.db import connection
from django.dispatch import receiver
from django.http import HttpRequest

from tenants.accounts.services import SESSION_SCHEMA_KEY


@receiver(user_logged_in, dispatch_uid="madoguchi_bind_session_to_schema")
def bind_session_to_schema(sender: type, request: HttpRequest, user: object, **kwargs: object) -> None:
    """Every login (staff screens, ops admin) binds the session to the schema it was issued in."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_SCHEMA_KEY] = connection.schema_name
