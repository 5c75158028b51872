from __future__ import annotations

import os
import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from tenants.services import municipality_provision


class Command(BaseCommand):
    help = "自治体を開設する（スキーマ・ホスト・データ鍵・初期管理者）"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--code", required=True, help="全国地方公共団体コード（6桁、検査数字付き）")
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="ホスト名に使う識別名（例: kagoshima）")
        parser.add_argument("--kana", default="")
        parser.add_argument("--areas", default="juki", help="契約業務（例: juki,kokuho）")
        parser.add_argument("--contract-start")
        parser.add_argument("--contract-end")
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument("--admin-password", default=os.environ.get("MADOGUCHI_ADMIN_PASSWORD", ""),
                            help="省略時は生成して表示します")

    def handle(self, *args: object, **options: object) -> None:
        password = options["admin_password"] or secrets.token_urlsafe(12) + "A1!"
        try:
            result = municipality_provision(
                code=options["code"], slug=options["slug"], name=options["name"], name_kana=options["kana"],
                areas=options["areas"], contract_start=parse_date(options["contract_start"] or "") or None,
                contract_end=parse_date(options["contract_end"] or "") or None,
                admin_username=options["admin_username"], admin_password=password,
            )
        except ValidationError as exc:
            lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()] if hasattr(
                exc, "error_dict") else exc.messages
            raise CommandError("自治体を開設できません:\n  " + "\n  ".join(lines)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{result.municipality} を開設しました: http://{result.domain}:8000/ "
            f"（管理者 {result.admin_username} / {password}、{result.seconds:.2f} 秒）"
        ))
