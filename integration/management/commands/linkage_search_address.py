"""python manage.py linkage_search_address [--tenant slug] — rewrite the search addresses of the mirror.

The stored ``Resident.search_address`` leaves out the municipality's own 都道府県+市区町村 (see
integration.normalize.local_address). This rewrites every resident's value from its 住所+方書 for the
municipality's current prefecture and name, and records that prefix, in one transaction: for rows written
before the prefix was left out (their search is exact either way, only slower to index), and after a
municipality is renamed (until then the old name stays the prefix, and search stays exact).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from audit.services import record
from integration.importer.rows import _address_normaliser, clear_normalisation_caches
from integration.models import AddressSearchPrefix, ImportRun, Resident
from integration.normalize import municipality_prefix
from madoguchi.principals import SYSTEM
from tenants.models import Municipality

CHUNK = 5000


def rewrite_search_addresses(municipality: Municipality) -> tuple[int, int]:
    """In the municipality's schema: (rows rewritten, rows in the mirror). Refused while one of its imports runs
    (its rows would be written for the old prefix)."""
    if ImportRun.objects.filter(status__in=(ImportRun.Status.QUEUED, ImportRun.Status.VALIDATING,
                                                  ImportRun.Status.APPLYING)).exists():
        raise CommandError(_("%(slug)s: 取込が実行中です。終わってから実行してください") % {"slug": municipality.slug})
    prefix = municipality_prefix(municipality)
    normalise = _address_normaliser(prefix)
    changed = total = 0
    try:
        with transaction.atomic():
            AddressSearchPrefix.objects.select_for_update().get_or_create(pk=1, defaults={"prefix": prefix})
            rows = Resident.objects.order_by("pk").values_list("pk", "address", "address_katagaki", "search_address")
            batch: list[Resident] = []
            for pk, address, katagaki, stored in rows.iterator(chunk_size=CHUNK):
                total += 1
                value = normalise(f"{address}{katagaki}" if katagaki else address)
                if value != stored:
                    batch.append(Resident(pk=pk, search_address=value))
                if len(batch) >= CHUNK:
                    changed += Resident.objects.bulk_update(batch, ["search_address"])
                    batch = []
            if batch:
                changed += Resident.objects.bulk_update(batch, ["search_address"])
            AddressSearchPrefix.objects.filter(pk=1).update(prefix=prefix)
            record(action="update", target_type="resident_search_address",
                   details={"prefix": prefix, "rewritten": changed, "residents": total}, actor=SYSTEM)
    finally:
        clear_normalisation_caches()  # no address of this municipality stays in memory
    return changed, total


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
                changed, total = rewrite_search_addresses(municipality)
            self.stdout.write(_("%(slug)s: %(changed)d / %(total)d 件を書き換えました")
                              % {"slug": municipality.slug, "changed": changed, "total": total})
