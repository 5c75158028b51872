"""python manage.py linkage_load_layouts [--tenant slug] [--force] — load the shipped layouts per tenant."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from integration.services import layouts_ensure_shipped
from tenants.models import Municipality


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a plain string, in the language active when it is shown
        return _("標準提供の連携レイアウトを自治体に登録します（未登録のもののみ。--force で上書き）。")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", help=_("自治体の識別名（省略時は全自治体）"))
        parser.add_argument("--force", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        municipalities = Municipality.objects.exclude(schema_name="public")
        if options["tenant"]:
            municipalities = municipalities.filter(slug=options["tenant"])
        for municipality in municipalities:
            with schema_context(municipality.schema_name):
                loaded = layouts_ensure_shipped(force=options["force"])
            self.stdout.write(_("%(slug)s: %(count)d 件") % {"slug": municipality.slug, "count": len(loaded)})
