"""Files of the example core-system vendor of docs/vendor-spec.md (ミナト情報システム「住民記録連携仕様 第3版」).

The vendor is configured only by its layout JSON files (``docs/vendor/*.json``), which an admin imports on the
レイアウト screen; this module writes files in those layouts (``integration.writer.LayoutWriter``, the same
writer as the generator) for the tests and the benchmark. Nothing here is read by the import pipeline.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

from integration.generator import CoreDataGenerator
from integration.writer import LayoutWriter

VENDOR_DIR = Path(__file__).resolve().parent.parent / "docs" / "vendor"
# The vendor writes 氏名 and カナ氏名 in full width (a foreign resident's ＳＭＩＴＨ　ＪＯＨＮ as well).
FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)} | {0x20: 0x3000}


def vendor_layout(key: str) -> dict:
    return json.loads((VENDOR_DIR / f"{key}.json").read_text(encoding="utf-8"))


def vendor_people(*, residents: int, seed: int, today: date | None = None, gaiji_rate: float = 0.003,
                  **city: str) -> list[dict]:
    """Residents as rows for the 住基 file: the generator's households, and every 13th person removed from the
    register (転出 or 死亡, with a 消除日) so that the file carries both kinds of record. ``city``: the
    generator's ``municipality_code`` and ``city_name`` (addresses in that municipality; the demo city else)."""
    generator = CoreDataGenerator(residents=residents, seed=seed, today=today, gaiji_rate=gaiji_rate, **city)
    rows = []
    for n, person in enumerate(generator.generate()):
        row = person.row()
        row["name"], row["name_kana"] = row["name"].translate(FULL_WIDTH), row["name_kana"].translate(FULL_WIDTH)
        if n % 13 == 12 and row["relationship"] != "世帯主":
            row["status"] = "moved_out" if n % 2 else "deceased"
            row["removed_on"] = max(row["became_resident_on"], row["birth_date"]) + timedelta(days=30)
        else:
            row["removed_on"] = None
        row["support_indicator"] = "dv" if n % 17 == 5 and row["status"] == "resident" else ""
        rows.append(row)
    return rows


def write_vendor(key: str, rows: Iterable[dict], stream: BinaryIO, *, municipality_code: str,
                 file_kind: str | None = None, reference_date: date | None = None, created_on: date | None = None,
                 record_count: int | None = None) -> int:
    """Write one vendor file (header and trailer as its layout declares); returns the data records written."""
    writer = LayoutWriter(vendor_layout(key), municipality_code=municipality_code, stream=stream,
                          file_kind=file_kind)
    return writer.write(rows, reference_date=reference_date, created_on=created_on or reference_date,
                        record_count=record_count)


def write_vendor_file(key: str, rows: Iterable[dict], *, municipality_code: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    write_vendor(key, rows, out, municipality_code=municipality_code, **kwargs)
    return out.getvalue()
