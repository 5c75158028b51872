"""Cross-cutting middleware: request ids, structured access logs, health probe, security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from madoguchi.context import RequestContext, reset_request_context, set_request_context

access_log = logging.getLogger("madoguchi.access")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str:
    """The client address.

    Behind ``TRUSTED_PROXY_COUNT`` proxies (the cloud load balancer = 1) each proxy appends the
    address it saw to X-Forwarded-For, so the client is that many entries from the right; anything
    further left was written by the client and is ignored.
    """
    trusted = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if trusted > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= trusted:
            return hops[-trusted]
    return request.META.get("REMOTE_ADDR", "")


class RequestIdMiddleware:
    """Give every request an id (or accept a well-formed X-Request-ID), log one JSON line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = set_request_context(RequestContext(request_id=request_id, client_ip=client_ip(request)))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # The server's own time for this request (browsers show it; bench/counter_journey_bench.py reads it).
            response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
            user = getattr(request, "user", None)
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(user, "pk", None),
                    "tenant": getattr(getattr(request, "tenant", None), "schema_name", None)
                    or ("public" if getattr(request, "urlconf", None) else None),
                    "client_ip": client_ip(request),
                },
            )
            return response
        finally:
            reset_request_context(token)


class ExplicitLanguageMiddleware:
    """The screens are Japanese unless the staff member chose English with the header's switch.

    Django's ``LocaleMiddleware`` would otherwise follow the browser's Accept-Language: a counter PC whose Edge is
    set to English would show English wherever a string is translated and Japanese elsewhere, without anyone
    having asked for it. Removing the header before ``LocaleMiddleware`` leaves only the language cookie set by
    ``django.views.i18n.set_language`` (the switch) and ``LANGUAGE_CODE`` (``ja``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)


class HealthCheckMiddleware:
    """``/healthz`` answers on any host, before tenant resolution: PostgreSQL and cache reachable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz":
            return self.get_response(request)
        checks: dict[str, str] = {}
        try:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            from django.core.cache import cache

            cache.set("healthz", "1", 5)
            checks["cache"] = "ok" if cache.get("healthz") == "1" else "error"
        except Exception as exc:  # noqa: BLE001
            checks["cache"] = f"error: {type(exc).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


class SecurityHeadersMiddleware:
    """Strict Content-Security-Policy and friends on every response.

    It sits second in ``MIDDLEWARE`` so that responses made before the view (the health probe, static
    files, the unknown-host 404, the suspended-municipality 503, CSRF failures) carry the same headers
    as pages; X-Frame-Options, nosniff and the referrer policy are set here too, not only by Django's
    middleware further in. Views that must relax the policy set ``response.csp_override``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(response, "csp_override", None) or settings.CONTENT_SECURITY_POLICY
        response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        if request.path.startswith(("/api/", "/accounts/")) or getattr(request, "user", None) is not None:
            response.setdefault("Cache-Control", "no-store")
        return response
