"""python manage.py linkage_search_address [--tenant slug] — rewrite the search addresses of the mirror.

The stored ``Resident.search_address`` leaves out the municipality's own 都道府県+市区町村 (see
integration.normalize.local_address). This rewrites every resident's value from its 住所+方書 for the
municipality's current prefecture and name, and records that prefix, in one transaction: for rows written
before the prefix was left out (their search is exact either way, only slower to index), and after a
municipality is renamed (until then the old name stays the prefix, and search stays exact).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from integration.services import ImportInProgress, search_addresses_rewrite
from tenants.models import Municipality


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a plain string, in the language active when it is shown
        return _("住民検索用の住所（自治体名を除いた形）を、自治体の現在の都道府県・名称で作り直します。")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", help=_("自治体の識別名（省略時は全自治体）"))

    def handle(self, *args: object, **options: object) -> None:
        municipalities = Municipality.objects.exclude(schema_name="public")
        if options["tenant"]:
            municipalities = municipalities.filter(slug=options["tenant"])
            if not municipalities.exists():
                raise CommandError(_("自治体「%(slug)s」はありません") % {"slug": options["tenant"]})
        for municipality in municipalities:
            with schema_context(municipality.schema_name):
                try:
                    changed, total = search_addresses_rewrite(municipality=municipality)
                except ImportInProgress as exc:
                    raise CommandError(" ".join(exc.messages)) from exc
            self.stdout.write(_("%(slug)s: %(changed)d / %(total)d 件を書き換えました")
                              % {"slug": municipality.slug, "changed": changed, "total": total})
