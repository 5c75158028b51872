from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.accounts.models import User
from tenants.demo_constants import DEMO_PASSWORD


class Command(BaseCommand):
    help = "事業者運用（ops）用の管理者アカウントを public スキーマに作成する（既にあれば何もしない）"

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--username", default="operator")
        parser.add_argument("--password", default=os.environ.get("MADOGUCHI_OPERATOR_PASSWORD", ""))

    def handle(self, *args: object, **options: object) -> None:
        connection.set_schema_to_public()
        username = str(options["username"])
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"operator {username} exists")
            return
        password = options["password"] or (DEMO_PASSWORD if settings.DEBUG else "")
        if not password:
            raise CommandError("--password (or MADOGUCHI_OPERATOR_PASSWORD) is required outside DEBUG")
        User.objects.create_superuser(username=username, email="", password=str(password))
        self.stdout.write(f"operator {username} created")
