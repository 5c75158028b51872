"""Date parsing for linkage files: 西暦 and 和暦 (元号 letter/digit + YYMMDD, 「令和6年4月1日」).

Every parser returns a ``date`` or raises ``ValueError`` with a Japanese message. 令和0年, 2月30日 and
dates before the start of their era are errors, never silently corrected.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import pgettext

from integration.eras import ERAS as ERA_TABLE

# (letter, digit, name, first day), from the one era table (integration/eras.json)
ERAS = tuple((era.letter, era.digit, era.name, era.start) for era in ERA_TABLE)
_BY_LETTER = {letter: (name, start) for letter, _d, name, start in ERAS}
_BY_DIGIT = {digit: (name, start) for _l, digit, name, start in ERAS}
_BY_NAME = {name: (name, start) for _l, _d, name, start in ERAS}
_KANJI_RE = re.compile(r"^(明治|大正|昭和|平成|令和)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$")

# Names of the formats a layout may list in ``date_formats`` (tried in order).
# Values are lazy: join them with str() (``format_labels``).
FORMAT_LABELS = {
    "yyyymmdd": _lazy("西暦8桁（20240401）"),
    "yyyy-mm-dd": _lazy("西暦（2024-04-01）"),
    "yyyy/mm/dd": _lazy("西暦（2024/04/01）"),
    "wareki_letter": _lazy("和暦（元号英字＋YYMMDD：R060401）"),
    "wareki_digit": _lazy("和暦（元号数字＋YYMMDD：5060401）"),
    "wareki_kanji": _lazy("和暦（令和6年4月1日）"),
}


def format_labels(formats: list[str], separator: str) -> str:
    """The names of ``formats`` (unknown ones as they are), joined for a message."""
    return separator.join(str(FORMAT_LABELS.get(f, f)) for f in formats)


def _era_date(era: tuple[str, date], year: int, month: int, day: int) -> date:
    name, start = era
    if year < 1:
        raise ValueError(_("%(era)s%(year)s年は存在しません") % {"era": name, "year": year})
    given = {"era": name, "year": year, "month": month, "day": day}
    try:
        value = date(start.year + year - 1, month, day)
    except ValueError:
        raise ValueError(_("%(era)s%(year)s年%(month)s月%(day)s日は存在しない日付です") % given) from None
    if value < start:
        first = _("%(year)04d年%(month)02d月%(day)02d日") % {"year": start.year, "month": start.month,
                                                           "day": start.day}
        raise ValueError(_("%(era)s%(year)s年%(month)s月%(day)s日は%(era)sの開始（%(first)s）より前です")
                         % {**given, "first": first})
    nxt = [s for _l, _d, _n, s in ERAS if s > start]
    if nxt and value >= nxt[0]:
        raise ValueError(_("%(era)s%(year)s年%(month)s月%(day)s日は%(era)sの期間外です") % given)
    return value


def _wareki_code(era: tuple[str, date] | None, rest: str, raw: str) -> date:
    if era is None or len(rest) != 6 or not rest.isdigit():
        raise ValueError(_("和暦の日付「%(value)s」の形式が正しくありません") % {"value": raw})
    return _era_date(era, int(rest[:2]), int(rest[2:4]), int(rest[4:]))


def parse_wareki_letter(raw: str) -> date:
    return _wareki_code(_BY_LETTER.get(raw[:1].upper()), raw[1:], raw)


def parse_wareki_digit(raw: str) -> date:
    return _wareki_code(_BY_DIGIT.get(raw[:1]), raw[1:], raw)


def parse_wareki_kanji(raw: str) -> date:
    match = _KANJI_RE.match(unicodedata.normalize("NFKC", raw).replace(" ", ""))
    if not match:
        raise ValueError(_("和暦の日付「%(value)s」の形式が正しくありません") % {"value": raw})
    era, year, month, day = match.groups()
    return _era_date(_BY_NAME[era], 1 if year == "元" else int(year), int(month), int(day))


def _western(fmt: str, label: object) -> Callable[[str], date]:
    def _parse(raw: str) -> date:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            raise ValueError(_("日付「%(value)s」は存在しないか、%(format)sの形式ではありません")
                             % {"value": raw, "format": label}) from None

    return _parse


def _yyyymmdd(raw: str) -> date:
    if len(raw) != 8 or not raw.isdigit():
        raise ValueError(_("日付「%(value)s」は西暦8桁の形式ではありません") % {"value": raw})
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise ValueError(_("日付「%(value)s」は存在しない日付です") % {"value": raw}) from None


def _iso(raw: str) -> date:
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-" or not raw.replace("-", "").isdigit():
        raise ValueError(_("日付「%(value)s」は西暦（YYYY-MM-DD）の形式ではありません") % {"value": raw})
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(_("日付「%(value)s」は存在しない日付です") % {"value": raw}) from None


PARSERS: dict[str, Callable[[str], date]] = {
    "yyyymmdd": _yyyymmdd,
    "yyyy-mm-dd": _iso,
    "yyyy/mm/dd": _western("%Y/%m/%d", _lazy("西暦（YYYY/MM/DD）")),
    "wareki_letter": parse_wareki_letter,
    "wareki_digit": parse_wareki_digit,
    "wareki_kanji": parse_wareki_kanji,
}


def _looks_like(fmt: str, raw: str) -> bool:
    first = raw[:1]
    if fmt == "yyyymmdd":
        return len(raw) == 8 and raw.isdigit()
    if fmt in ("yyyy-mm-dd", "yyyy/mm/dd"):
        return len(raw) >= 8 and raw[4:5] == fmt[4]
    if fmt == "wareki_letter":
        return first.upper() in _BY_LETTER and len(raw) == 7
    if fmt == "wareki_digit":
        return len(raw) == 7 and raw.isdigit()
    return "年" in raw


def make_date_parser(formats: list[str]) -> Callable[[str], date]:
    """A cached parser trying ``formats`` in order; the first format whose shape matches decides."""
    unknown = [f for f in formats if f not in PARSERS]
    if unknown:
        raise ValueError(_("未知の日付形式: %(formats)s") % {"formats": ", ".join(unknown)})
    formats = list(formats or ["yyyymmdd"])
    cache: dict[str, date | ValueError] = {}

    def _parse(raw: str) -> date:
        hit = cache.get(raw)
        if hit is None:
            for fmt in formats:
                if _looks_like(fmt, raw):
                    try:
                        hit = PARSERS[fmt](raw)
                    except ValueError as exc:
                        hit = exc
                    break
            else:  # the message is built only for a value no format fits (not for every new date)
                hit = ValueError(_("日付「%(value)s」を読み取れません（使用できる形式: %(formats)s）")
                                 % {"value": raw, "formats": format_labels(formats, pgettext("separator", "、"))})
            if len(cache) < 200_000:
                cache[raw] = hit
        if isinstance(hit, ValueError):
            raise hit
        return hit

    return _parse


def to_wareki(value: date, *, style: str = "letter") -> str:
    """date → 和暦 (``R060401`` / ``5060401`` / ``令和6年4月1日``) — used by the generator and exports."""
    for letter, digit, name, start in reversed(ERAS):
        if value >= start:
            year = value.year - start.year + 1
            if style == "letter":
                return f"{letter}{year:02d}{value:%m%d}"
            if style == "digit":
                return f"{digit}{year:02d}{value:%m%d}"
            return f"{name}{year}年{value.month}月{value.day}日"
    raise ValueError(_("%(date)s は明治より前です") % {"date": value})
