"""Reads of the public schema: municipalities and their domains."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import Domain, Municipality


def municipality_for_host(*, hostname: str) -> Municipality | None:
    domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    if domain is None or domain.tenant.schema_name == "public":
        return None
    return domain.tenant


def municipality_get(*, slug: str) -> Municipality:
    return Municipality.objects.get(slug=slug)


def municipality_list(*, status: str | None = None) -> QuerySet[Municipality]:
    qs = Municipality.objects.exclude(schema_name="public").order_by("code")
    if status:
        qs = qs.filter(status=status)
    return qs


def active_municipalities() -> QuerySet[Municipality]:
    return municipality_list(status=Municipality.Status.ACTIVE)
