"""Password + card: staff whose role the municipality's admin chose must finish the JPKI step at a
reader station before any other page (mynacard.views.card_login_view)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from mynacard.views import SESSION_CARD_OK, SESSION_CARD_REQUIRED


class CardSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        tenant = getattr(request, "tenant", None)
        if (user is not None and user.is_authenticated and tenant is not None and tenant.schema_name != "public"
                and not request.session.get(SESSION_CARD_OK)):
            required = request.session.get(SESSION_CARD_REQUIRED)
            if required is None:
                from mynacard.services import card_login_required

                required = card_login_required(user=user)
                request.session[SESSION_CARD_REQUIRED] = required
            if required:
                allowed = (reverse("mynacard:card_login"), reverse("mynacard:card_login_status"),
                           reverse("accounts:logout"))
                if request.path not in allowed and not request.path.startswith("/static/"):
                    return redirect("mynacard:card_login")
        return self.get_response(request)


def _remember_policy_at_login(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """Whether this staff member must finish the card step is decided once, at login, and kept in the session:
    later requests read it without writing the session (a session write on a refused request would be a
    write where the answer promises none)."""
    from django.db import connection

    if request is None or not hasattr(request, "session") or connection.schema_name == "public":
        return
    from mynacard.services import card_login_required

    request.session[SESSION_CARD_REQUIRED] = card_login_required(user=user)


def install() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(_remember_policy_at_login, dispatch_uid="mynacard-card-policy-at-login")
