"""One 元号 table for import, export and search (integration/eras.json).

明治元年 began on 1868-01-25 (慶応4年1月1日): the era change proclaimed on 1868-10-23 applied from the first day of
that year. A date in between is 明治元年 when a file is read, when a file is written and when staff search.
"""

from __future__ import annotations

from datetime import date

import pytest

from integration import dates, search
from integration.eras import ERAS
from integration.exports import wareki


def test_import_export_and_search_read_the_same_table():
    table = [(era.name, era.letter, era.digit, era.start) for era in ERAS]
    assert table == [(n, lt, d, s) for lt, d, n, s in dates.ERAS]
    assert table == [(n, lt, d, s) for s, n, lt, d in reversed(wareki.ERAS)]
    assert table == [(n, lt, d, s) for lt, n, d, s, _end, _offset in search._ERAS]
    assert [era.name for era in ERAS] == ["明治", "大正", "昭和", "平成", "令和"]
    assert ERAS[0].start == date(1868, 1, 25) and ERAS[-1].start == date(2019, 5, 1)


@pytest.mark.parametrize("day", [date(1868, 1, 25), date(1868, 5, 1), date(1868, 10, 22)])
def test_a_day_of_meiji_1_before_the_proclamation_is_meiji_everywhere(day):
    assert wareki.era_of(day)[:4] == ("明治", "M", "1", 1)
    written = wareki.format_date(day, "wareki_letter")
    assert written == f"M01{day:%m%d}"
    assert dates.parse_wareki_letter(written) == day  # what export writes, import reads back
    assert dates.parse_wareki_digit(f"101{day:%m%d}") == day
    assert search.parse_birth_date(f"明治元年{day.month}月{day.day}日") == day


def test_the_day_before_meiji_is_no_era_anywhere():
    with pytest.raises(ValueError):
        wareki.era_of(date(1868, 1, 24))
    with pytest.raises(ValueError):
        dates.parse_wareki_letter("M010124")


def test_era_boundaries_agree():
    for earlier, later in zip(ERAS, ERAS[1:], strict=False):
        assert earlier.end.toordinal() + 1 == later.start.toordinal()
        assert wareki.era_of(earlier.end)[0] == earlier.name and wareki.era_of(later.start)[0] == later.name
        assert dates.to_wareki(later.start, style="kanji").startswith((f"{later.name}元年", f"{later.name}1年"))
