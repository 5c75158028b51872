"""Install the default 様式 and seed the 町字 master from the mirror's address codes (one or all municipalities)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from forms_builder.services import forms_setup
from tenants.models import Municipality


class Command(BaseCommand):
    help = "標準の申請書様式を導入し、住民記録の住所コードから町字の一覧を作ります（既存のものは変えません）。"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="自治体のスラッグ（例: minami）")
        target.add_argument("--all", action="store_true", help="すべての自治体")

    def handle(self, *args: object, **options: object) -> None:
        municipalities = Municipality.objects.exclude(schema_name="public")
        if not options["all"]:
            municipalities = municipalities.filter(slug=options["tenant"])
            if not municipalities.exists():
                raise CommandError(f"自治体「{options['tenant']}」が見つかりません。")
        for municipality in municipalities.order_by("slug"):
            with schema_context(municipality.schema_name):
                templates, towns = forms_setup()
            self.stdout.write(f"{municipality.slug}: 様式 {templates} 件を導入、町字 {towns} 件を追加")
