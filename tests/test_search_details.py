"""Search details (issue 17 item 8): 和暦 beside 西暦, a birth date after today refused, a 宛名番号 typed in
full-width digits found, and an empty search that explains what to type."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.conftest import staff_client

URL = "/navi/cases/search/"


def _resident(atena_no: str, name: str, kana: str, born: date) -> None:
    from integration.models import Resident
    from integration.normalize import normalize_address, normalize_kana, normalize_name

    address = "テスト市本町1-2-3"
    Resident.objects.create(atena_no=atena_no, household_no="9" + atena_no[1:], name=name, name_kana=kana,
                            birth_date=born, sex="1", relationship="世帯主", address=address,
                            search_name=normalize_name(name), search_kana=normalize_kana(kana),
                            search_address=normalize_address(address))


def _reiwa(day: date) -> str:
    return f"R{day.year - 2018}.{day.month}.{day.day}"


@pytest.mark.parametrize(("born", "wareki"), [
    (date(1970, 1, 2), "昭和45年1月2日"),
    (date(1989, 1, 7), "昭和64年1月7日"),  # the last day of 昭和
    (date(1989, 1, 8), "平成元年1月8日"),  # 元号を改める政令（昭和64年政令第1号）: 平成 from 1 January 8
    (date(2019, 4, 30), "平成31年4月30日"),
    (date(2019, 5, 1), "令和元年5月1日"),  # 元号を改める政令（平成31年政令第143号）
])
def test_birth_dates_show_in_wareki_beside_seireki(in_a, born, wareki):
    from integration.checkdigits import with_check_digit

    atena_no = with_check_digit("77000001")
    _resident(atena_no, "和暦 太郎", "ワレキ タロウ", born)
    html = staff_client(in_a, "staff1").get(URL, {"q": "ワレキ"}).content.decode()
    assert f"{born:%Y-%m-%d}" in html and f"（{wareki}）" in html


def test_a_birth_date_after_today_is_refused_and_today_is_not(in_a):
    client = staff_client(in_a, "staff1")
    tomorrow = timezone.localdate() + timedelta(days=1)
    kanji = f"令和{tomorrow.year - 2018}年{tomorrow.month}月{tomorrow.day}日"
    for text in (_reiwa(tomorrow), tomorrow.isoformat(), kanji):
        html = client.get(URL, {"birth": text}).content.decode()
        assert "は今日より後の日付です" in html, text
    html = client.get(URL, {"birth": _reiwa(timezone.localdate())}).content.decode()
    assert "今日より後" not in html and "該当する住民が見つかりません" in html


def test_an_atena_no_typed_in_full_width_digits_is_found(in_a):
    from integration.checkdigits import with_check_digit

    atena_no = with_check_digit("77000002")
    _resident(atena_no, "全角 花子", "ゼンカク ハナコ", date(1990, 3, 3))
    wide = atena_no.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    html = staff_client(in_a, "staff1").get(URL, {"atena_no": wide}).content.decode()
    assert "全角 花子" in html and "（1件）" in html


def test_an_empty_search_explains_what_to_type(in_a):
    client = staff_client(in_a, "staff1")
    html = client.get(URL, {"q": " ", "birth": ""}).content.decode()
    assert 'id="empty-search"' in html and "宛名番号のいずれか一つ以上" in html
    assert 'id="empty-search"' not in client.get(URL).content.decode()  # the page itself, before a search
