"""python manage.py generate_core_data --tenant <slug> --residents N --out DIR [--seed S]"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from integration.generator import write_files
from integration.services import SHIPPED_DIR
from tenants.models import Municipality


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a plain string, in the language active when it is shown
        return _("基幹系の連携ファイル（標準提供レイアウト）を合成データで作成します（同じシードなら同じ内容）。")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", required=True, help=_("自治体の識別名（slug）"))
        parser.add_argument("--residents", type=int, required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--no-legacy", action="store_true", help=_("固定長（CP932）ファイルを作らない"))

    def handle(self, *args: object, **options: object) -> None:
        municipality = Municipality.objects.filter(slug=options["tenant"]).first()
        if municipality is None:
            raise CommandError(_("自治体「%(slug)s」はありません") % {"slug": options["tenant"]})
        if options["residents"] < 1:
            raise CommandError(_("--residents は1以上にしてください"))
        started = time.perf_counter()
        written = write_files(out=Path(options["out"]), municipality_code=municipality.code,
                              areas=list(municipality.areas), residents=options["residents"], seed=options["seed"],
                              layouts_dir=SHIPPED_DIR, legacy=not options["no_legacy"])
        for key, path in written.items():
            self.stdout.write(f"{key}: {path} ({path.stat().st_size:,} bytes)")
        self.stdout.write(_("%(seconds).1f 秒") % {"seconds": time.perf_counter() - started})
