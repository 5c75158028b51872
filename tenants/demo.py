"""Demo municipalities for `make run` and the browser tests. Names say clearly that they are demos."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_tenants.utils import schema_context

from tenants.accounts.models import Counter, Department, Role, User
from tenants.accounts.services import staff_create
from tenants.demo_constants import DEMO_PASSWORD  # noqa: E402,F401
from tenants.models import Municipality
from tenants.services import municipality_provision


@dataclass(frozen=True)
class DemoCity:
    code: str
    slug: str
    name: str
    kana: str
    areas: str


# Fictional codes: a real prefecture number, then 999 (no municipality of any prefecture is numbered in the
# 900s), then a valid check digit, so that the code validator accepts them and no real city is impersonated.
DEMO_CITIES = (
    DemoCity("469998", "minami", "みなみデモ市", "ミナミデモシ",
             "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo"),
    DemoCity("019992", "kita", "きたデモ町", "キタデモチョウ", "juki,kokuho"),
)

DEMO_STAFF = (
    ("admin", "業務管理者 デモ", Role.ADMIN, "市民課"),
    ("staff1", "窓口 一郎", Role.STAFF, "市民課"),
    ("staff2", "窓口 花子", Role.STAFF, "保険年金課"),
    ("leader", "窓口 責任者", Role.SUPERVISOR, "市民課"),
)

DEMO_COUNTERS = (
    ("総合窓口 1番", Counter.Kind.GENERAL, "本庁舎1階 1番", "市民課"),
    ("総合窓口 2番", Counter.Kind.GENERAL, "本庁舎1階 2番", "市民課"),
    ("証明窓口", Counter.Kind.CERTIFICATE, "本庁舎1階 5番", "市民課"),
    ("保険年金窓口", Counter.Kind.BUSINESS, "本庁舎2階 12番", "保険年金課"),
)


def _prefixes(name: str) -> list[str]:
    """A demo counter's name and the catalogue names it extends (「総合窓口 1番」 → 「総合窓口」)."""
    return [name, name.split(" ")[0]] if " " in name else [name]


def seed_city(city: DemoCity, *, catalogue: bool = True) -> tuple[Municipality, bool]:
    """Provision one demo city (if missing) with departments, counters, staff and (optionally) the
    default procedure catalogue. Idempotent."""
    # By slug: a development database seeded before the demo codes became fictional keeps its cities.
    municipality = Municipality.objects.filter(slug=city.slug).first()
    created = municipality is None
    if created:
        municipality = municipality_provision(
            code=city.code, slug=city.slug, name=city.name, name_kana=city.kana, areas=city.areas,
            admin_username="admin", admin_password=DEMO_PASSWORD,
        ).municipality
    with schema_context(municipality.schema_name), transaction.atomic():
        departments = {}
        for name in {dept for *_, dept in DEMO_STAFF} | {dept for *_, dept in DEMO_COUNTERS}:
            departments[name], _ = Department.objects.get_or_create(name=name)
        demo_names = {name for name, *_ in DEMO_COUNTERS}
        for name, kind, location, dept in DEMO_COUNTERS:
            # Provisioning created the catalogue's counters (総合窓口, 保険年金窓口 …) and mapped them: the demo
            # names the provisioned one (総合窓口 → 総合窓口 1番) instead of adding a second counter beside it,
            # so the catalogue's procedures land at the counter the demo staff work at.
            provisioned = (Counter.objects.filter(name__in=[n for n in _prefixes(name) if n not in demo_names])
                           .order_by("pk").first())
            if provisioned is not None and not Counter.objects.filter(name=name).exists():
                provisioned.name, provisioned.kind, provisioned.location = name, kind, location
                provisioned.department = departments[dept]
                provisioned.save()
            Counter.objects.get_or_create(
                name=name, defaults={"kind": kind, "location": location, "department": departments[dept]}
            )
        for username, display, role, dept in DEMO_STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = staff_create(actor=None, username=username, password=DEMO_PASSWORD, display_name=display,
                                    role=role, department=departments[dept], areas=municipality.areas)
            else:
                user.department = departments[dept]
                user.display_name = display
                user.save(update_fields=["department", "display_name"])
        if catalogue:
            from navigation.services import catalogue_install_default

            catalogue_install_default()
            from forms_builder.services import forms_setup

            forms_setup()
    return municipality, created


def seed_demo() -> list[tuple[Municipality, bool]]:
    return [seed_city(city) for city in DEMO_CITIES]
