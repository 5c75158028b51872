"""Measure export rendering: records/s for the shipped layouts (UTF-8 CSV, CP932 fixed width).

    .venv/bin/python bench/export_render.py [N]

Pure rendering (no database): the cost that grows with the size of a download or outbox file.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")

import django  # noqa: E402

django.setup()

from integration.exports import registry  # noqa: E402
from integration.exports.layouts import builtin_layouts  # noqa: E402
from integration.exports.render import RenderRow, render  # noqa: E402


def rows(n: int) -> list[RenderRow]:
    now = datetime.now(UTC)
    return [RenderRow(id=i, kind="juki_idou", created_at=now, source="navigation", source_id=f"C-{i}", payload={
        "idou_jiyu": "tennyu", "idou_date": "2024-03-30", "todokede_date": "2024-04-01", "atena_no": f"{i:015d}",
        "household_no": f"{i:015d}", "name": "窓口 太郎", "name_kana": "マドグチ タロウ", "birth_date": "1990-05-01",
        "sex": "1", "relationship": "世帯主", "new_address": "鹿児島市山下町11番1号", "new_katagaki": "市役所101号",
        "old_address": "東京都新宿区西新宿2丁目8番1号"}) for i in range(1, n + 1)]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = rows(n)
    for spec in builtin_layouts(registry.get("juki_idou")):
        started = time.perf_counter()
        out = render(data, spec, municipality_code="462012")
        seconds = time.perf_counter() - started
        print(f"{spec.code:22s} {n:>8d} records  {seconds:6.2f} s  {n / seconds:>9.0f} records/s  "
              f"{len(out.content) / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
