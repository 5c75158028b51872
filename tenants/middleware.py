"""Resolve the municipality from the host name and switch the database connection to its schema."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import set_urlconf
from django_tenants.utils import remove_www

from madoguchi.context import update_request_context
from tenants import selectors


class MunicipalityMiddleware:
    """``<slug>.<BASE_DOMAIN>`` → that municipality's schema; ``ops.<BASE_DOMAIN>`` → public (vendor ops).

    Any other host answers 404 and touches no tenant. A suspended or terminated municipality answers
    503 with a Japanese notice; its data stays where it is.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        previous = connection.tenant
        try:
            return self._dispatch(request)
        finally:
            # Leave the connection as we found it (public between requests; the caller's tenant in tests).
            if previous is None or previous.schema_name == "public":
                connection.set_schema_to_public()
            else:
                connection.set_tenant(previous)

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        connection.set_schema_to_public()
        hostname = remove_www(request.get_host().split(":")[0]).lower()
        if hostname == settings.OPS_HOST:
            request.tenant = connection.tenant  # django-tenants' public FakeTenant
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            update_request_context(schema_name="public")
            return self.get_response(request)

        municipality = selectors.municipality_for_host(hostname=hostname)
        if municipality is None:
            return render(request, "errors/unknown_host.html", status=404)
        if not municipality.is_active:
            return render(request, "errors/suspended.html", {"municipality": municipality}, status=503)
        connection.set_tenant(municipality)
        request.tenant = municipality
        request.urlconf = settings.ROOT_URLCONF
        update_request_context(schema_name=municipality.schema_name)
        return self.get_response(request)
