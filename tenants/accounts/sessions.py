"""Session expiry that loses no work (issue 17 item 7).

- A signed-in session has a deadline (``SESSION_COOKIE_AGE`` after sign-in or the last extension). Polling
  does not move it: a screen left open still expires. The page warns ``SESSION_WARNING_SECONDS`` before the
  deadline and offers to extend it (``session_extend_view``).
- After the deadline a boosted page change (``HX-Boosted``) is sent to the login page as a whole
  (``HX-Redirect``); any other htmx request (the queue poll) gets a small 「ログインし直してください」 panel with status
  286, which also stops htmx polling, instead of the login page swapped into the panel.
- A form posted after the deadline is kept: its text fields are stored in the new anonymous session, the
  login returns to the page the form was on (never to a POST-only URL), and the page puts the text back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils.http import url_has_allowed_host_and_scheme

DEADLINE_KEY = "_madoguchi_deadline"
PENDING_KEY = "_madoguchi_pending_form"
# Fields never kept across a login: secrets, tokens and anything that is not typed text.
_SKIPPED_FIELDS = ("csrfmiddlewaretoken", "password", "password1", "password2", "pin", "token")
PENDING_MAX_CHARS = 20_000


def session_age() -> int:
    return int(settings.SESSION_COOKIE_AGE)


def warning_seconds() -> int:
    return int(getattr(settings, "SESSION_WARNING_SECONDS", 300))


def deadline_reset(request: HttpRequest) -> float:
    """Start (or extend) the signed-in session's time: ``SESSION_COOKIE_AGE`` from now."""
    deadline = time.time() + session_age()
    request.session[DEADLINE_KEY] = deadline
    return deadline


def deadline_of(request: HttpRequest) -> float | None:
    session = getattr(request, "session", None)
    return session.get(DEADLINE_KEY) if session is not None else None


@receiver(user_logged_in, dispatch_uid="madoguchi-session-deadline")
def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        deadline_reset(request)


def _is_login_redirect(response: HttpResponse) -> bool:
    if not isinstance(response, HttpResponseRedirect):
        return False
    try:
        login_path = resolve_url(settings.LOGIN_URL)
    except NoReverseMatch:
        return False  # the ops host has no staff login (its admin signs in on its own page)
    # The redirect of ``login_required`` (``redirect_to_login``) asks to come back with ``next``; a view that
    # merely ends on the login page (the language switch on the login page) is not a request for a login.
    parts = urlsplit(response.url)
    return parts.path == login_path and "next" in parse_qs(parts.query)


def _same_host_path(request: HttpRequest, url: str) -> str:
    """The path (and query) of ``url`` if it is on this host, else ''."""
    if not url or not url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return ""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _kept_fields(request: HttpRequest) -> list[list[str]]:
    kept, size = [], 0
    for name, values in request.POST.lists():
        if name in _SKIPPED_FIELDS or any(secret in name for secret in ("password", "token")):
            continue
        for value in values:
            size += len(name) + len(value)
            if size > PENDING_MAX_CHARS:
                return kept
            kept.append([name, value])
    return kept


class SessionDeadlineMiddleware:
    """Enforces the deadline and turns "please log in again" into something that loses nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            deadline = request.session.get(DEADLINE_KEY)
            if deadline is None:
                deadline_reset(request)
            elif time.time() >= deadline:
                logout(request)  # a new, empty session: the pending form goes into it below
        # Only a request that arrived without a signed-in user is sent to the login page for that reason
        # (a deliberate logout also ends on the login page, and must not be taken for an expiry).
        current = getattr(request, "user", None)  # after an expiry: the anonymous user logout() put there
        arrived_anonymous = current is not None and not current.is_authenticated
        response = self.get_response(request)
        if arrived_anonymous and _is_login_redirect(response):
            return self._expired(request, response)
        return response

    def _expired(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        htmx = request.headers.get("HX-Request") == "true"
        page = _same_host_path(request, request.headers.get("HX-Current-URL", "")) if htmx else ""
        if request.method == "POST":
            page = page or _same_host_path(request, request.headers.get("Referer", ""))
            if page:
                request.session[PENDING_KEY] = {"page": urlsplit(page).path, "action": request.path,
                                                "fields": _kept_fields(request)}
        login = resolve_url(settings.LOGIN_URL)
        target = page or (request.get_full_path() if request.method == "GET" else "")
        url = f"{login}?{urlencode({'next': target})}" if target else login
        if htmx and request.headers.get("HX-Boosted") == "true":
            # A boosted page change (the counter screens move between pages without full loads): the
            # whole browser goes to the login page, which then returns to the page the form was on.
            expired = HttpResponse(status=200)
            expired["HX-Redirect"] = url
            return expired
        if htmx:
            html = render_to_string("accounts/_login_again.html", {"login_url": url}, request=request)
            expired = HttpResponse(html, status=286)  # 286: htmx stops polling
            expired["HX-Trigger"] = "madoguchi:session-expired"
            return expired
        return HttpResponseRedirect(url)


def pending_form_for(request: HttpRequest) -> dict | None:
    """The form text kept from a post after expiry, once, on the page it came from (after login)."""
    session = getattr(request, "session", None)
    if session is None or PENDING_KEY not in session or not request.user.is_authenticated:
        return None
    pending = session.get(PENDING_KEY) or {}
    if pending.get("page") != request.path or request.method != "GET":
        return None
    del session[PENDING_KEY]
    return {"action": pending.get("action", ""), "fields": pending.get("fields", [])}


def session_extend_view(request: HttpRequest) -> HttpResponse:
    """POST: extend the signed-in session by ``SESSION_COOKIE_AGE`` from now; answers the new deadline."""
    from django.http import JsonResponse

    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    if not request.user.is_authenticated:
        return JsonResponse({"error": "ログインし直してください。"}, status=401)
    return JsonResponse({"deadline": int(deadline_reset(request))})
