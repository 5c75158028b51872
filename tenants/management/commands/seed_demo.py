from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, DEMO_STAFF, seed_demo


class Command(BaseCommand):
    help = "デモ自治体（2団体）とデモ職員を作成する（何度実行しても同じ結果）"

    def handle(self, *args: object, **options: object) -> None:
        port = getattr(settings, "DEV_PORT", 8000)
        for municipality, created in seed_demo():
            state = "作成" if created else "既存"
            self.stdout.write(f"[{state}] {municipality}  http://{municipality.slug}.{settings.BASE_DOMAIN}:{port}/")
        users = ", ".join(username for username, *_ in DEMO_STAFF)
        self.stdout.write(f"デモ職員: {users}（パスワード {DEMO_PASSWORD}）")
