"""Person search (integration.search): normalisation, 和暦 birth dates, ranking, DV rules, audit."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from integration.checkdigits import with_check_digit
from integration.normalize import normalize_address, normalize_kana, normalize_name
from integration.search import name_query, parse_birth_date, person_search
from tests.conftest import staff_client

_serial = iter(range(100000, 999999))


def make_resident(*, name: str, kana: str = "", birth: date = date(1980, 1, 1), address: str = "鹿児島市山下町1-1",
                  household_no: str = "", relationship: str = "世帯主", status: str = "resident", sex: str = "1",
                  atena_no: str = ""):
    from integration.models import Resident

    atena_no = atena_no or with_check_digit(f"9{next(_serial):07d}")
    return Resident.objects.create(
        atena_no=atena_no, household_no=household_no or with_check_digit(f"8{atena_no[1:-1]}"), name=name,
        name_kana=kana, birth_date=birth, sex=sex, relationship=relationship, address=address, status=status,
        search_name=normalize_name(name), search_kana=normalize_kana(kana), search_address=normalize_address(address),
    )


def make_support_measure(atena_no: str, *, restrict: bool = True, start: date = date(2020, 1, 1), end=None):
    from integration.models import SupportMeasure

    return SupportMeasure.objects.create(atena_no=atena_no, start_date=start, end_date=end, restrict_address=restrict)


@pytest.fixture
def staff(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="staff1")


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "expected"), [
    ("1970-01-02", date(1970, 1, 2)), ("1970/1/2", date(1970, 1, 2)), ("19700102", date(1970, 1, 2)),
    ("1970年1月2日", date(1970, 1, 2)), ("S45.1.2", date(1970, 1, 2)), ("s45/01/02", date(1970, 1, 2)),
    ("昭和45年1月2日", date(1970, 1, 2)), ("昭45.1.2", date(1970, 1, 2)), ("S450102", date(1970, 1, 2)),
    ("3450102", date(1970, 1, 2)), ("Ｓ４５．１．２", date(1970, 1, 2)), ("令和元年5月1日", date(2019, 5, 1)),
    ("H31.4.30", date(2019, 4, 30)), ("R6.4.1", date(2024, 4, 1)), ("T15.12.24", date(1926, 12, 24)),
    ("", None),
])
def test_birth_date_accepts_seireki_and_wareki(typed, expected):
    assert parse_birth_date(typed) == expected


@pytest.mark.parametrize("typed", ["H31.5.1", "S64.1.8", "R1.4.30", "S45.2.30", "450102", "あした", "S0.1.1"])
def test_birth_date_rejects_impossible_or_ambiguous_input(typed):
    with pytest.raises(ValidationError):
        parse_birth_date(typed)


def test_name_query_normalises_width_spaces_kana_and_old_forms():
    assert name_query("ﾔﾏﾀﾞ ﾀﾛｳ") == name_query("やまだ　たろう") == name_query("ヤマダタロウ")
    assert name_query("ﾔﾏﾀﾞ ﾀﾛｳ").column == "search_kana"
    assert name_query("髙橋　邊").text == name_query("高橋辺").text == "高橋辺"
    assert name_query("山田 太郎").column == "search_name"
    assert name_query("   ") is None


# ---------------------------------------------------------------------------------------------
# Searching
# ---------------------------------------------------------------------------------------------
def test_kanji_search_with_old_forms_and_spaces_finds_the_person(staff):
    target = make_resident(name="髙橋 一郎", kana="タカハシ イチロウ")
    make_resident(name="田中 一郎", kana="タナカ イチロウ")
    found = person_search(actor=staff, query="高橋　一郎")
    assert [p.atena_no for p in found] == [target.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, query="髙橋")] == [target.atena_no]


def test_half_width_kana_and_hiragana_search_the_furigana(staff):
    target = make_resident(name="渡邊 花子", kana="ワタナベ ハナコ")
    assert [p.atena_no for p in person_search(actor=staff, query="ﾜﾀﾅﾍﾞ ﾊﾅｺ")] == [target.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, query="わたなべ")] == [target.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, query="渡辺花子")] == [target.atena_no]


def test_ranking_exact_then_prefix_then_substring_then_similar(staff):
    exact = make_resident(name="佐藤 健", kana="サトウ ケン")
    prefix_long = make_resident(name="佐藤健太郎", kana="サトウ ケンタロウ")
    prefix_short = make_resident(name="佐藤健一", kana="サトウ ケンイチ")
    infix = make_resident(name="伊佐藤健", kana="イサトウ ケン")
    found = [p.atena_no for p in person_search(actor=staff, query="佐藤健")]
    assert found == [exact.atena_no, prefix_short.atena_no, prefix_long.atena_no, infix.atena_no]
    kana_found = [p.atena_no for p in person_search(actor=staff, query="サトウケン")]
    assert kana_found[:3] == [exact.atena_no, prefix_short.atena_no, prefix_long.atena_no]


def test_similarity_tier_finds_a_near_miss(staff):
    target = make_resident(name="鈴木一太郎", kana="スズキ イチタロウ")
    found = person_search(actor=staff, query="スズキイチタロ")
    assert target.atena_no in [p.atena_no for p in found]
    found = person_search(actor=staff, query="スズキイチタロー")  # 長音 typed instead of ウ
    assert target.atena_no in [p.atena_no for p in found]


def test_birth_date_in_wareki_address_and_atena_no(staff):
    a = make_resident(name="山本 一", kana="ヤマモト ハジメ", birth=date(1970, 1, 2), address="鹿児島市山下町11-1")
    b = make_resident(name="山本 二", kana="ヤマモト ツギ", birth=date(1971, 3, 4), address="鹿児島市東郷町２－３")
    assert [p.atena_no for p in person_search(actor=staff, birth_date="S45.1.2")] == [a.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, query="山本", birth_date="昭和46年3月4日")] == [b.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, address="東郷町2-3")] == [b.atena_no]
    assert [p.atena_no for p in person_search(actor=staff, atena_no=a.atena_no)] == [a.atena_no]
    assert person_search(actor=staff, query="山本", atena_no=a.atena_no)[0].name == "山本 一"


def test_two_character_given_name_is_found_with_a_birth_date(staff):
    target = make_resident(name="森 太郎", kana="モリ タロウ", birth=date(1990, 5, 5))
    # Two characters inside a name have no trigram: alone they match only as a prefix (documented).
    assert target.atena_no not in [p.atena_no for p in person_search(actor=staff, query="太郎")]
    found = person_search(actor=staff, query="太郎", birth_date="H2.5.5")
    assert [p.atena_no for p in found] == [target.atena_no]


def test_departed_residents_only_on_request(staff):
    gone = make_resident(name="転出 済子", kana="テンシュツ スミコ", status="moved_out")
    assert person_search(actor=staff, query="転出済子") == []
    assert [p.atena_no for p in person_search(actor=staff, query="転出済子", include_departed=True)] == [gone.atena_no]


def test_limit_is_respected(staff):
    for i in range(6):
        make_resident(name=f"中村 {chr(0x4e00 + i)}", kana="ナカムラ")
    assert len(person_search(actor=staff, query="ナカムラ", limit=4)) == 4


def test_bad_input_is_reported_not_crashing(staff):
    with pytest.raises(ValidationError):
        person_search(actor=staff)
    with pytest.raises(ValidationError):
        person_search(actor=staff, atena_no="12a")
    with pytest.raises(ValidationError):
        person_search(actor=staff, birth_date="S45.13.1")
    assert person_search(actor=staff, query="100%_\\") == []


def test_anonymous_cannot_search(in_a):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        person_search(actor=AnonymousUser(), query="山田")


# ---------------------------------------------------------------------------------------------
# Support measures (DV) — enforced in the selector
# ---------------------------------------------------------------------------------------------
def test_support_measure_person_is_flagged_and_address_withheld(staff):
    from integration.selectors import RESTRICTED

    protected = make_resident(name="保護 対象", kana="ホゴ タイショウ", address="鹿児島市秘密町1-1")
    make_support_measure(protected.atena_no)
    (view,) = person_search(actor=staff, query="保護対象")
    assert view.support_measure and view.address_restricted
    assert view.address == RESTRICTED and view.postcode == "" and view.address_katagaki == ""
    assert "秘密町" not in repr(view)


def test_expired_support_measure_no_longer_restricts(staff):
    person = make_resident(name="期限 切子", kana="キゲン キリコ", address="鹿児島市公開町1-1")
    make_support_measure(person.atena_no, end=date(2021, 1, 1))
    (view,) = person_search(actor=staff, query="期限切子")
    assert not view.support_measure and view.address == "鹿児島市公開町1-1"


def test_address_search_never_reveals_a_restricted_person(staff):
    protected = make_resident(name="隠れ 住子", kana="カクレ スミコ", address="鹿児島市隠町5-5")
    neighbour = make_resident(name="隣 人", kana="トナリ ヒト", address="鹿児島市隠町5-6")
    make_support_measure(protected.atena_no)
    found = [p.atena_no for p in person_search(actor=staff, address="隠町5")]
    assert found == [neighbour.atena_no]
    # By name the person is found (flagged, address withheld).
    assert [p.atena_no for p in person_search(actor=staff, query="隠れ住子")] == [protected.atena_no]


# ---------------------------------------------------------------------------------------------
# Audit and screen
# ---------------------------------------------------------------------------------------------
def test_every_search_is_audited_without_the_typed_text(staff):
    from audit.models import AuditEvent

    target = make_resident(name="監査 対象", kana="カンサ タイショウ")
    person_search(actor=staff, query="監査対象", birth_date="S56.1.1")
    person_search(actor=staff, query="監査対象")
    events = list(AuditEvent.objects.filter(target_type="person_search").order_by("-seq")[:2])
    assert events[0].action == "view" and events[0].actor == "staff1"
    assert events[0].details["criteria"] == ["name"] and events[0].details["atena_nos"] == [target.atena_no]
    assert events[1].details["criteria"] == ["name", "birth_date"] and events[1].details["count"] == 0
    assert "監査" not in str(events[0].details)


def test_search_screen_shows_results_flags_and_memos(tenant_a):
    from navigation.cases.services import memo_create
    from tenants.accounts.models import User
    from tests.conftest import in_tenant

    with in_tenant(tenant_a):
        person = make_resident(name="画面 確認", kana="ガメン カクニン", address="鹿児島市表示町1-1")
        protected = make_resident(name="画面 保護", kana="ガメン ホゴ", address="鹿児島市非表示町9-9")
        make_support_measure(protected.atena_no)
        memo_create(actor=User.objects.get(username="staff2"), counter=None, atena_no=person.atena_no,
                    body="前回は書類不足で再来庁")
    client = staff_client(tenant_a, "staff1")
    html = client.get("/navi/cases/search/", {"q": "ｶﾞﾒﾝ"}).content.decode()
    assert "画面 確認" in html and "表示町" in html and "前回は書類不足で再来庁" in html
    assert "画面 保護" in html and "支援措置対象者" in html and "非表示町9-9" not in html
    bad = client.get("/navi/cases/search/", {"birth": "H31.5.1"})
    assert bad.status_code == 200 and "平成の期間" in bad.content.decode()


def test_a_very_common_name_is_ranked_among_the_first_candidates_and_flagged(staff, monkeypatch):
    from integration import search

    monkeypatch.setattr(search, "CANDIDATES", 3)
    for i in range(5):
        make_resident(name=f"佐藤 {chr(0x4e00 + i)}{chr(0x4e00 + i)}", kana="サトウ")
    few = search.person_search(actor=staff, query="佐藤", limit=2)
    assert len(few) == 2 and few.truncated
    monkeypatch.setattr(search, "CANDIDATES", 1000)
    assert not search.person_search(actor=staff, query="佐藤").truncated
