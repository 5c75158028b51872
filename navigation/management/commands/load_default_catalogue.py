"""Install or upgrade the shipped default procedure catalogue for one municipality (or all)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from navigation.determination import CatalogueInvalid
from navigation.services import catalogue_install_default
from tenants.models import Municipality


class Command(BaseCommand):
    help = "標準の手続カタログを自治体に導入・更新します（自治体が変更した項目は上書きしません）。"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--tenant", help="自治体のスラッグ（例: minami）")
        target.add_argument("--all", action="store_true", help="すべての自治体")
        parser.add_argument("--file", help="標準カタログの代わりに使うJSONファイル")
        parser.add_argument("--effective-from", help="公開する版の適用開始日（YYYY-MM-DD、既定は今日）")
        parser.add_argument("--no-publish", action="store_true", help="下書きに取り込むだけで公開しない")

    def handle(self, *args: object, **options: object) -> None:
        data = None
        if options["file"]:
            data = json.loads(Path(str(options["file"])).read_text(encoding="utf-8"))
        effective = date.fromisoformat(str(options["effective_from"])) if options["effective_from"] else None
        municipalities = Municipality.objects.exclude(schema_name="public")
        if not options["all"]:
            municipalities = municipalities.filter(slug=options["tenant"])
            if not municipalities.exists():
                raise CommandError(f"自治体「{options['tenant']}」が見つかりません。")
        for municipality in municipalities.order_by("slug"):
            with schema_context(municipality.schema_name):
                try:
                    report = catalogue_install_default(data=data, publish=not options["no_publish"],
                                                       effective_from=effective)
                except CatalogueInvalid as exc:
                    raise CommandError("カタログに誤りがあります:\n" + "\n".join(exc.problems)) from exc
            self.stdout.write(
                f"{municipality.slug}: 標準カタログ {report.release} — 追加 {len(report.added)}、"
                f"更新 {len(report.updated)}、変更なし {report.unchanged}、"
                f"自治体の変更を保持 {len(report.kept_modified)}、独自項目を保持 {len(report.kept_local)}、"
                f"削除済みのため追加せず {len(report.skipped_removed)}"
                + (f"、第{report.published.number}版を公開" if report.published else "")
            )
            for label in report.kept_modified:
                self.stdout.write(f"  保持（自治体が変更）: {label}")
