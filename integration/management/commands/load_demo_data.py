"""python manage.py load_demo_data --tenant <slug> --residents N — generate and import through the real pipeline."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from integration.generator import write_files
from integration.models import ImportRun, LinkageLayout
from integration.services import SHIPPED_DIR, gaiji_upload, import_submit, layouts_ensure_shipped
from madoguchi.principals import SystemPrincipal
from tenants.models import Municipality

COMMAND = SystemPrincipal("command:load_demo_data")


class Command(BaseCommand):
    @property
    def help(self) -> str:  # argparse needs a plain string, in the language active when it is shown
        return _("合成した基幹系データを、本番と同じ取込処理で自治体に読み込みます（デモ用）。")

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--residents", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: object, **options: object) -> None:
        municipality = Municipality.objects.filter(slug=options["tenant"]).first()
        if municipality is None:
            raise CommandError(_("自治体「%(slug)s」はありません") % {"slug": options["tenant"]})
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder, schema_context(municipality.schema_name):
            layouts_ensure_shipped()
            written = write_files(out=Path(folder), municipality_code=municipality.code,
                                  areas=list(municipality.areas), residents=options["residents"],
                                  seed=options["seed"], layouts_dir=SHIPPED_DIR, legacy=False,
                                  city_name=municipality.name)
            gaiji_upload(actor=COMMAND, data=written.pop("gaiji").read_bytes())
            for key, path in written.items():
                layout = LinkageLayout.objects.filter(key=key).first()
                if layout is None or (layout.has_header and path.read_bytes().count(b"\n") <= 1):
                    continue  # no layout for this area, or nothing drawn for it at this size
                run = import_submit(layout=layout, source=path.read_bytes(), file_name=path.name,
                                    via=ImportRun.Source.DEMO, requested_by="load_demo_data", run_async=False,
                                    actor=COMMAND)
                self.stdout.write(f"{layout.name}: {run.get_status_display()} {run.message}")
                if run.status == ImportRun.Status.FAILED:
                    for item in run.errors[:10]:
                        self.stderr.write("  " + _("%(line)s行目 %(column)s: %(message)s") % item)
                    raise CommandError(_("%(file)s の取込に失敗しました") % {"file": path.name})
        self.stdout.write(_("完了（%(seconds).1f 秒）") % {"seconds": time.perf_counter() - started})
