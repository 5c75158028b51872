"""Create the two database roles (owner, application) from DATABASE_OWNER_URL / DATABASE_URL, as a superuser."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.dbroles import app_role, ensure_roles, owner_role, roles_separated


class Command(BaseCommand):
    help = ("データベースの2つのロール（所有者・アプリケーション）を作成し、データベースを所有者に渡す"
            "（スーパーユーザーの接続先 MADOGUCHI_DB_SUPERUSER_URL が必要。一度だけ・何度でも安全）")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--superuser-url", default=os.environ.get("MADOGUCHI_DB_SUPERUSER_URL", ""),
                            help="postgresql://postgres@host:5432/postgres（省略時は MADOGUCHI_DB_SUPERUSER_URL）")

    def handle(self, *args: object, **options: object) -> None:
        url = str(options.get("superuser_url") or "")
        if not url:
            raise CommandError("スーパーユーザーの接続先（--superuser-url または MADOGUCHI_DB_SUPERUSER_URL）"
                               "がありません")
        if not roles_separated():
            raise CommandError("DATABASE_OWNER_URL と DATABASE_URL が同じロールです：2つのロールを設定してください")
        ensure_roles(url, database=settings.DATABASES["default"]["NAME"])
        self.stdout.write(f"所有者ロール {owner_role()}・アプリケーションロール {app_role()} を用意しました"
                          f"（データベース {settings.DATABASES['default']['NAME']} の所有者は {owner_role()}）。")
