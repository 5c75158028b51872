from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from audit.checkpoints import checkpoint_check
from audit.services import chain_verify
from tenants import selectors


class Command(BaseCommand):
    help = ("監査ログの鍵付きハッシュ連鎖を、データベースと書き換え不能な保管先（MADOGUCHI_AUDIT_ANCHOR_URL）の"
            "署名済みチェックポイントと照合する（改ざん・削除・挿入・入れ替え・末尾の切り捨てを検出）")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", help="自治体の識別名（slug）。省略時は全自治体と public")

    def handle(self, *args: object, **options: object) -> None:
        slug = options.get("tenant")
        if slug:
            try:
                schemas = [(slug, selectors.municipality_get(slug=str(slug)).schema_name)]
            except Exception as exc:
                raise CommandError(f"自治体「{slug}」が見つかりません") from exc
        else:
            schemas = [("public", "public")] + [(m.slug, m.schema_name) for m in selectors.municipality_list()]
        failed = False
        for label, schema in schemas:
            with schema_context(schema):
                result = chain_verify()
                checkpoint = checkpoint_check()
            self.stdout.write(f"{label}: {result.message()}")
            if not checkpoint.ok:
                self.stdout.write(f"{label}: NG: 署名済みチェックポイントと一致しません（{checkpoint.reason}）。")
                for problem in checkpoint.problems[1:]:
                    self.stdout.write(f"{label}:   ・{problem}")
            elif checkpoint.seq:
                self.stdout.write(f"{label}: 署名済みチェックポイント（連番 {checkpoint.seq}、"
                                  f"保管先 {checkpoint.anchors} 件）と一致しています。")
            failed = failed or not result.ok or not checkpoint.ok
        if failed:
            raise CommandError("監査ログの連鎖に異常があります")
