"""Dates in the styles core systems expect: 西暦 YYYYMMDD and 和暦 (R060401, 5060401, 令和6年4月1日)."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.eras import ERAS as ERA_TABLE

# (first day, name, letter, digit) — digit as used by 住基 systems: 1 明治 … 5 令和.
# Newest first, from the one era table of import, export and search (integration/eras.json).
ERAS: tuple[tuple[date, str, str, str], ...] = tuple(
    (era.start, era.name, era.letter, era.digit) for era in reversed(ERA_TABLE))

# Names of the styles (lazy translations: str() them to join or compare).
DATE_STYLES: dict[str, str] = {
    "yyyymmdd": _lazy("西暦 YYYYMMDD（20240401）"),
    "yyyy-mm-dd": _lazy("西暦 YYYY-MM-DD（2024-04-01）"),
    "yyyy/mm/dd": _lazy("西暦 YYYY/MM/DD（2024/04/01）"),
    "wareki_letter": _lazy("和暦 元号英字＋YYMMDD（R060401）"),
    "wareki_digit": _lazy("和暦 元号数字＋YYMMDD（5060401）"),
    "wareki_kanji": _lazy("和暦 漢字（令和6年4月1日）"),
}


class WarekiError(ValueError):
    pass


def era_of(value: date) -> tuple[str, str, str, int]:
    """(name, letter, digit, year in era) of a date; raises WarekiError before 明治."""
    for start, name, letter, digit in ERAS:
        if value >= start:
            return name, letter, digit, value.year - start.year + 1
    raise WarekiError(_("%(date)s は明治より前の日付のため和暦で表せません。") % {"date": value.isoformat()})


def format_date(value: date, style: str) -> str:
    if style == "yyyymmdd":
        return value.strftime("%Y%m%d")
    if style == "yyyy-mm-dd":
        return value.isoformat()
    if style == "yyyy/mm/dd":
        return value.strftime("%Y/%m/%d")
    name, letter, digit, year = era_of(value)
    if style == "wareki_letter":
        return f"{letter}{year:02d}{value.month:02d}{value.day:02d}"
    if style == "wareki_digit":
        return f"{digit}{year:02d}{value.month:02d}{value.day:02d}"
    if style == "wareki_kanji":
        year_text = "元" if year == 1 else str(year)
        return f"{name}{year_text}年{value.month}月{value.day}日"
    raise ValueError(f"unknown date style {style!r}")
