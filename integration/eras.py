"""The one 元号 table for import (``integration.dates``), export (``integration.exports.wareki``) and search
(``integration.search``): data in ``integration/eras.json``, oldest era first.

A layout refers to it through its 和暦 date formats (``wareki_letter`` / ``wareki_digit`` / ``wareki_kanji``):
the letters, digits and names of those formats are this table's. A new era is one more entry in the JSON.
明治 starts on 1868-01-25 (明治元年1月1日): the era change of 1868-10-23 applied from the first day of 慶応4年.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "eras.json"


@dataclass(frozen=True)
class Era:
    name: str  # 令和
    letter: str  # R
    digit: str  # 5 (元号コード of 住基 systems)
    start: date  # first day
    end: date  # last day (date.max for the current era)

    @property
    def offset(self) -> int:
        """西暦 year = offset + year in the era."""
        return self.start.year - 1


def _load() -> tuple[Era, ...]:
    rows = json.loads(TABLE.read_text(encoding="utf-8"))["eras"]
    starts = [date.fromisoformat(row["start"]) for row in rows]
    ends = [nxt - timedelta(days=1) for nxt in starts[1:]] + [date.max]
    return tuple(Era(name=row["name"], letter=row["letter"], digit=row["digit"], start=start, end=end)
                 for row, start, end in zip(rows, starts, ends, strict=True))


ERAS: tuple[Era, ...] = _load()
