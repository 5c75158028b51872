"""Determination scenarios for the shipped default catalogue: the EXACT procedure set per person.

Each scenario gives the persons of the case (from the mirror or new), the life events, the date, the
municipality's business areas and every answer the interview needs; the determination must then be
complete (no question left) and list exactly the expected procedures per person (``"*"`` = for the
whole case/household). No database needed: the default catalogue is compiled from its JSON.

Every expected list is written from the law, not from the catalogue's output; the comment above each
scenario cites the articles (or the ministry's notice where no statute applies). Abbreviations:
住基法 = 住民基本台帳法, 国保法 = 国民健康保険法, 高確法 = 高齢者の医療の確保に関する法律, 介保法 = 介護保険法,
手当法 = 児童手当法, 学教令 = 学校教育法施行令,
番号法 = 行政手続における特定の個人を識別するための番号の利用等に関する法律,
戸籍法, 地税法 = 地方税法, 年金法 = 国民年金法; 印鑑要領 = 印鑑登録証明事務処理要領 (総務省通知);
支援措置 = 住民基本台帳事務処理要領 第6-10 と総務省通知「DV等被害者の保護のための住民基本台帳事務における支援措置」.
Ages follow 年齢計算ニ関スル法律 (a year older at the end of the day before the birthday): 介保法第10条の
「65歳に達したとき」 is the day before the 65th birthday; 後期高齢者医療 starts on the 75th birthday itself
(高確法第52条第1号, and 国保法第6条第8号 ends 国保 that day). ``card`` = the My Number card holding known
from the mirror or a card read (None: unknown, then asked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from navigation.determination import compile_catalogue, determine, interview_simulate
from navigation.facts import person_facts_from_dict
from navigation.services import default_catalogue
from tenants.areas import ALL_AREAS

ON = date(2026, 6, 1)
CATALOGUE = compile_catalogue(default_catalogue())
TESTB_AREAS = ("juki", "kokuho")  # a plan with 住基 + 国保 only (no 介護)
NO_KAIGO = tuple(a for a in ALL_AREAS if a != "kaigo")


def person(key: str, birth: str, rel: str = "", *, elig: tuple[str, ...] = (), subject: bool = True,
           foreign: bool = False, support: bool = False, mirror: bool = True, name: str = "",
           card: bool | None = None, sex: str = "", status: str | None = None) -> dict[str, Any]:
    residence = status if status is not None else ("技術・人文知識・国際業務" if foreign else "")
    return {"key": key, "name": name or key, "birth_date": birth, "relationship": rel, "eligibilities": list(elig),
            "subject": subject, "foreign": foreign, "residence_status": residence, "sex": sex,
            "support_measure": support, "in_mirror": mirror, "card_holding": card}


def new(key: str, birth: str, rel: str = "", **kwargs: Any) -> dict[str, Any]:
    return person(key, birth, rel, mirror=False, **kwargs)


@dataclass
class Scenario:
    id: str
    events: list[str]
    persons: list[dict[str, Any]]
    expected: dict[str, set[str]]
    case: dict[str, Any] = field(default_factory=dict)
    per_person: dict[str, dict[str, Any]] = field(default_factory=dict)
    on: date = ON
    areas: tuple[str, ...] = ALL_AREAS


FAMILY5 = [new("father", "1984-05-10", "世帯主"), new("mother", "1986-08-20", "妻"),
           new("teen", "2010-01-15", "子"), new("pupil", "2016-09-01", "子"), new("toddler", "2022-03-03", "子")]
MOVE_IN = {"juki_tennyu"}  # 住基法第22条
CARD = "juki_card_henkou"  # 番号法第17条第4項: a card holder's address/name change is recorded on the card
NO_EMPLOYEE = {"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False,
               "card_holding_any": False, "care_certified_any": False}
HEAD72 = person("head", "1954-02-10", "世帯主", elig=("kokuho", "kaigo", "inkan"))
SPOUSE70 = person("spouse", "1956-01-20", "妻", elig=("kokuho", "kaigo"), subject=False)
DEATH_NO = {"funeral_held": False, "public_pension": False, "owned_real_estate": False}

SCENARIOS = [
    # ============================================================================================
    # 転入 — 住基法第22条; 国保法第5条・第7条・第9条 (加入, 14日以内); 手当法第7条 (認定請求);
    # 学教令第1条・第6条 (学齢簿・就学校の指定); 介保法第9条第1号・第10条; 高確法第50条・第52条.
    # ============================================================================================
    Scenario("family5_kokuho_moving_in", ["tennyu"], FAMILY5, case=NO_EMPLOYEE, expected={
        "father": MOVE_IN | {"kokuho_kanyu"}, "mother": MOVE_IN | {"kokuho_kanyu"},
        "teen": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"},
        "pupil": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
        "toddler": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    # 番号法第17条第4項: only the card holders (answered at the counter) get the card's address changed.
    Scenario("family5_two_card_holders", ["tennyu"], FAMILY5, case={**NO_EMPLOYEE, "card_holding_any": True},
             per_person={"father": {"card_holding": True}, "mother": {"card_holding": False},
                         "teen": {"card_holding": True}, "pupil": {"card_holding": False},
                         "toddler": {"card_holding": False}},
             expected={"father": MOVE_IN | {"kokuho_kanyu", CARD}, "mother": MOVE_IN | {"kokuho_kanyu"},
                       "teen": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", CARD},
                       "pupil": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    # A card read at the counter decides without asking (card=True / False known for everybody).
    Scenario("family_cards_read_at_the_counter", ["tennyu"],
             [new("p", "1990-01-01", "世帯主", card=True), new("q", "1991-01-01", "妻", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             expected={"p": MOVE_IN | {"kokuho_kanyu", CARD}, "q": MOVE_IN | {"kokuho_kanyu"}}),
    # 印鑑要領: 15歳以上 may register a seal.
    Scenario("family5_with_seal_registration", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "inkan_wish_any": True},
             per_person={"father": {"inkan_wish": True}, "mother": {"inkan_wish": False}, "teen": {"inkan_wish": True}},
             expected={"father": MOVE_IN | {"kokuho_kanyu", "inkan_touroku"}, "mother": MOVE_IN | {"kokuho_kanyu"},
                       "teen": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "inkan_touroku"},
                       "pupil": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    # 国保法第6条第1号・第3号: 健康保険の被保険者・被扶養者 are excluded from 国保.
    Scenario("family5_employee_insurance", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "any_employee_insurance": True},
             per_person={k: {"employee_insurance": True} for k in ("father", "mother", "teen", "pupil", "toddler")},
             expected={"father": MOVE_IN, "mother": MOVE_IN, "teen": MOVE_IN | {"jt_nintei", "kodomo_iryou"},
                       "pupil": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    Scenario("family5_only_father_uninsured", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "any_employee_insurance": True},
             per_person={"father": {"employee_insurance": False}, "mother": {"employee_insurance": True},
                         "teen": {"employee_insurance": True}, "pupil": {"employee_insurance": True},
                         "toddler": {"employee_insurance": True}},
             expected={"father": MOVE_IN | {"kokuho_kanyu"}, "mother": MOVE_IN,
                       "teen": MOVE_IN | {"jt_nintei", "kodomo_iryou"},
                       "pupil": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    # 手当法第17条: 公務員 claim from their employer, not the municipality.
    Scenario("family5_public_servant_parent", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "parent_public_servant": True},
             expected={"father": MOVE_IN | {"kokuho_kanyu"}, "mother": MOVE_IN | {"kokuho_kanyu"},
                       "teen": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou"},
                       "pupil": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou"}}),
    Scenario("family5_in_plan_without_kaigo_juki_kokuho", ["tennyu"], FAMILY5,
             case={"any_employee_insurance": False, "card_holding_any": False},
             areas=TESTB_AREAS, expected={k: MOVE_IN | {"kokuho_kanyu"}
                                          for k in ("father", "mother", "teen", "pupil", "toddler")}),
    Scenario("family5_in_plan_juki_only", ["tennyu"], FAMILY5, areas=("juki",), case={"card_holding_any": False},
             expected={k: MOVE_IN for k in ("father", "mother", "teen", "pupil", "toddler")}),
    Scenario("single_adult_kokuho_with_seal", ["tennyu"], [new("a", "1996-04-10", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": True},
             per_person={"a": {"inkan_wish": True, "student_special": False}},
             expected={"a": MOVE_IN | {"kokuho_kanyu", "inkan_touroku"}}),
    Scenario("age_15_may_register_seal_age_14_not_asked", ["tennyu"],
             [new("mom", "1985-01-01", "世帯主"), new("fifteen", "2011-05-31", "子"),
              new("fourteen", "2011-06-03", "子")],
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": True,
                   "parent_public_servant": False,
                   "card_holding_any": False, "care_certified_any": False},
             per_person={"mom": {"employee_insurance": True, "inkan_wish": False},
                         "fifteen": {"employee_insurance": True, "inkan_wish": True},
                         "fourteen": {"employee_insurance": True}},
             expected={"mom": MOVE_IN,
                       "fifteen": MOVE_IN | {"inkan_touroku", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "fourteen": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"}}),
    # 住基法第30条の46・入管法第19条の7: a foreign resident shows the 在留カード (住居地の届出).
    Scenario("foreign_resident_moving_in_employee", ["tennyu"],
             [new("f", "1998-03-03", "世帯主", foreign=True, card=False)],
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False},
             per_person={"f": {"employee_insurance": True}}, expected={"f": MOVE_IN | {"juki_zairyu_card"}}),
    Scenario("foreign_resident_moving_in_kokuho", ["tennyu"],
             [new("f", "1998-03-03", "世帯主", foreign=True, card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"f": {"student_special": False}},
             expected={"f": MOVE_IN | {"juki_zairyu_card", "kokuho_kanyu"}}),
    # Foreign children have no duty of school attendance (学校教育法第17条 binds 日本国民); the ministry's
    # 指針 (文部科学省「外国人の子供の就学の促進及び就学状況の把握等に関する指針」令和2年) asks for 就学案内 instead
    # of the 学齢簿 entry of 学教令第1条.
    Scenario("foreign_family_with_school_age_child", ["tennyu"],
             [new("f", "1988-03-03", "世帯主", foreign=True, card=False),
              new("k", "2017-07-07", "子", foreign=True, card=False)],
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"f": {"employee_insurance": True}, "k": {"employee_insurance": True}},
             expected={"f": MOVE_IN | {"juki_zairyu_card"},
                       "k": MOVE_IN | {"juki_zairyu_card", "jt_nintei", "kodomo_iryou", "gak_shugaku_annai"}}),
    # 支援措置: a newcomer must apply anew in this municipality (申出).
    Scenario("support_measure_person_moving_in", ["tennyu"],
             [new("s", "1990-10-10", "世帯主", support=True, card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"s": {"student_special": False}},
             expected={"s": MOVE_IN | {"juki_shien_moushide", "kokuho_kanyu"}}),
    Scenario("support_measure_mother_with_child_moving_in", ["tennyu"],
             [new("m", "1990-10-10", "世帯主", support=True, card=False),
              new("c", "2021-12-24", "子", support=True, card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False},
             expected={"m": MOVE_IN | {"juki_shien_moushide", "kokuho_kanyu"},
                       "c": MOVE_IN | {"juki_shien_moushide", "kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    # 国保法第6条第3号 + 厚労省通知（平成20年2月5日）: with the 配偶者からの暴力を受けた旨の証明書 a dependent
    # leaves the abuser's employee insurance and joins 国保 even though still formally a dependent.
    Scenario("support_measure_dv_certificate_leaves_spouse_insurance", ["tennyu"],
             [new("s", "1990-10-10", "世帯主", support=True, card=False)],
             case={"any_employee_insurance": True, "inkan_wish_any": False},
             per_person={"s": {"employee_insurance": True, "dv_certificate": True}},
             expected={"s": MOVE_IN | {"juki_shien_moushide", "kokuho_kanyu"}}),
    Scenario("age_65_on_the_day_before_birthday", ["tennyu"], [new("x", "1961-06-02", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "student_special": False, "care_certified": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kaigo_shutoku"}}),
    Scenario("age_64_two_days_before_birthday", ["tennyu"], [new("x", "1961-06-03", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False, "care_certified_any": False},
             per_person={"x": {"student_special": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu"}}),
    # 国保法第42条第1項第3号・第4号: 70–74 get the 高齢受給者証.
    Scenario("day_before_75th_birthday_still_kokuho", ["tennyu"], [new("x", "1951-06-02", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "student_special": False, "care_certified": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha", "kaigo_shutoku"}}),
    Scenario("75th_birthday_kouki", ["tennyu"], [new("x", "1951-06-01", "世帯主", card=False)],
             case={"inkan_wish_any": False}, per_person={"x": {"care_certified": False}},
             expected={"x": MOVE_IN | {"kouki_kanyu", "kaigo_shutoku"}}),
    # 高確法第50条第2号: 65–74 with a certified disability may join 後期高齢者医療.
    Scenario("68_with_certified_disability_kouki", ["tennyu"], [new("x", "1958-01-05", "世帯主", card=False)],
             case={"inkan_wish_any": False}, per_person={"x": {"disability_certified": True, "care_certified": False}},
             expected={"x": MOVE_IN | {"kouki_kanyu", "kaigo_shutoku"}}),
    # 介保法第36条: a certification from the former municipality is carried over with the 受給資格証明書.
    Scenario("72_with_care_certification", ["tennyu"], [new("x", "1954-01-05", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "student_special": False, "care_certified": True}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha", "kaigo_shutoku",
                                       "kaigo_nintei_hikitsugi"}}),
    # 介保法第9条第2号・第36条: a 第2号被保険者 (40–64) certified for a 特定疾病 carries the certification over
    # too; his 資格 comes from his medical insurance, so no 第1号 資格取得.
    Scenario("55_second_insured_with_certification", ["tennyu"], [new("x", "1971-01-05", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False, "care_certified_any": True},
             per_person={"x": {"care_certified": True, "student_special": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kaigo_nintei_hikitsugi"}}),
    Scenario("70_in_plan_without_kaigo_kouki", ["tennyu"], [new("x", "1955-09-09", "世帯主", card=False)],
             case={"any_employee_insurance": False},
             per_person={"x": {"disability_certified": False, "student_special": False}},
             areas=TESTB_AREAS, expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha"}}),
    # 学年: a child born on 1 April belongs to the earlier grade (学校教育法第17条第1項「満6歳に達した日の翌日以後に
    # おける最初の学年の初め」); born 2020-04-01 is in 1st grade since April 2026.
    Scenario("child_born_april_1_is_in_the_earlier_grade", ["tennyu"],
             [new("p", "1990-01-01", "世帯主", card=False), new("c", "2020-04-01", "子", card=False)],
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"}}),
    # Born 2020-04-02 enters school in April 2027. 学教令第2条: the 学齢簿 of the coming year's entrants is drawn
    # up as of 1 October, so a child moving in in June is not yet entered (it will be on 1 October) …
    Scenario("child_born_april_2_moving_in_june_not_yet_in_the_register", ["tennyu"],
             [new("p", "1990-01-01", "世帯主", card=False), new("c", "2020-04-02", "子", card=False)],
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    # … but from 1 October on, a moving-in 就学予定者 must be added to the register.
    Scenario("child_born_april_2_moving_in_on_october_1", ["tennyu"],
             [new("p", "1990-01-01", "世帯主", card=False), new("c", "2020-04-02", "子", card=False)],
             on=date(2026, 10, 1),
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_shugaku_yotei"}}),
    Scenario("child_born_april_2_moving_in_on_september_30", ["tennyu"],
             [new("p", "1990-01-01", "世帯主", card=False), new("c", "2020-04-02", "子", card=False)],
             on=date(2026, 9, 30),
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    # 手当法第3条第1項: 児童 = until the first 31 March after turning 18.
    Scenario("born_april_1_2008_leaves_high_school_age_on_april_1", ["tennyu"],
             [new("y", "2008-04-01", "世帯主", card=False)], on=date(2026, 4, 1),
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False},
             per_person={"y": {"employee_insurance": True}}, expected={"y": MOVE_IN}),
    Scenario("born_april_2_2008_still_high_school_age", ["tennyu"],
             [new("y", "2008-04-02", "子", card=False)], on=date(2026, 4, 1),
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"y": {"employee_insurance": True, "inkan_wish": False}},
             expected={"y": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    Scenario("born_april_1_2008_on_march_31_still_high_school_age", ["tennyu"],
             [new("y", "2008-04-01", "子", card=False)], on=date(2026, 3, 31),
             case={"dv_separation_any": False, "any_employee_insurance": True, "inkan_wish_any": False,
                   "parent_public_servant": False},
             per_person={"y": {"employee_insurance": True, "inkan_wish": False}},
             expected={"y": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    # 国保法第116条 (修学中の特例): a student who moves here to study stays insured in the parents' 国保 household
    # elsewhere (在学証明書) → no 国保 加入 here.
    Scenario("student_moving_in_stays_in_parents_kokuho", ["tennyu"], [new("st", "2006-05-05", "世帯主", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"st": {"student_special": True}}, expected={"st": MOVE_IN}),
    # 国保法施行規則第1条第2号: 特定活動 for 医療滞在 (and its 付添い) is excluded from 国保 — decided from the
    # residence status, nothing asked.
    Scenario("foreign_newcomer_medical_stay_not_in_kokuho", ["tennyu"],
             [new("f", "1990-01-01", "世帯主", foreign=True, status="特定活動（医療滞在）", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             expected={"f": MOVE_IN | {"juki_zairyu_card"}}),
    # Plain 特定活動: the 指定書 decides (施行規則第1条第2号・第3号), so it is asked.
    Scenario("foreign_newcomer_designated_activity_excluded", ["tennyu"],
             [new("f", "1990-01-01", "世帯主", foreign=True, status="特定活動", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"f": {"residence_kokuho_excluded": True}}, expected={"f": MOVE_IN | {"juki_zairyu_card"}}),
    Scenario("foreign_newcomer_designated_activity_in_kokuho", ["tennyu"],
             [new("f", "1990-01-01", "世帯主", foreign=True, status="特定活動", card=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"f": {"residence_kokuho_excluded": False, "student_special": False}},
             expected={"f": MOVE_IN | {"juki_zairyu_card", "kokuho_kanyu"}}),
    # ============================================================================================
    # 転出 — 住基法第24条; 印鑑要領 (転出で登録は消除); 国保法第8条 (住所を有しなくなった日の翌日に喪失)・第9条;
    # 高確法第53条; 介保法第11条; 手当法第26条・施行規則 (受給事由消滅届); 学教令第10条 (在学証明書);
    # 地税法第300条 (国外転出: 納税管理人); 住基法第25条 (世帯主変更); 支援措置 (転出で終了, 転出先で申出).
    # ============================================================================================
    Scenario("75_year_old_moving_out", ["tenshutsu"],
             [person("old", "1951-03-10", "世帯主", elig=("kouki", "kaigo", "inkan"))],
             case={"moving_destination": "domestic"},
             expected={"old": {"juki_tenshutsu", "inkan_haishi", "kouki_soushitsu", "kaigo_soushitsu"}}),
    Scenario("75_year_old_moving_abroad", ["tenshutsu"],
             [person("old", "1951-03-10", "世帯主", elig=("kouki", "kaigo", "inkan"))],
             case={"moving_destination": "abroad"}, per_person={"old": {"tax_liability_abroad": True}},
             expected={"old": {"juki_tenshutsu", "inkan_haishi", "kouki_soushitsu", "kaigo_soushitsu",
                               "zei_nouzei_kanrinin"}}),
    # A plan with 住基 + 国保 only: the same person needs only the 転出届 there.
    Scenario("75_year_old_moving_out_in_plan_juki_kokuho", ["tenshutsu"],
             [person("old", "1951-03-10", "世帯主", elig=("kouki", "kaigo", "inkan"))],
             case={"moving_destination": "domestic"}, areas=TESTB_AREAS, expected={"old": {"juki_tenshutsu"}}),
    Scenario("family_moving_out_with_pupil", ["tenshutsu"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "inkan", "jidou_teate")),
              person("c", "2016-05-05", "子", elig=("kokuho",))],
             case={"moving_destination": "domestic"},
             expected={"f": {"juki_tenshutsu", "inkan_haishi", "kokuho_soushitsu", "jt_shoumetsu"},
                       "c": {"juki_tenshutsu", "kokuho_soushitsu", "gak_tenshutsu"}}),
    # 学年 boundary: on 2026-06-01 the child born 2019-04-01 is in 2nd grade, the one born 2020-04-02 is not
    # yet at school (學教令第10条 concerns 学齢児童 only).
    Scenario("moving_out_april_1_and_april_2_children", ["tenshutsu"],
             [person("f", "1985-05-05", "世帯主"), person("a1", "2020-04-01", "子"),
              person("a2", "2020-04-02", "子")],
             case={"moving_destination": "domestic"},
             expected={"f": {"juki_tenshutsu"}, "a1": {"juki_tenshutsu", "gak_tenshutsu"},
                       "a2": {"juki_tenshutsu"}}),
    # 支援措置 ends with the move out (転出先で改めて申出).
    Scenario("support_measure_person_moving_out", ["tenshutsu"],
             [person("s", "1990-10-10", "世帯主", elig=("kokuho",), support=True)],
             case={"moving_destination": "domestic"},
             expected={"s": {"juki_shien_shuuryou", "juki_tenshutsu", "kokuho_soushitsu"}}),
    # The son leaves the parents' household (not for study): 国保法第8条.
    Scenario("moving_out_one_member_only", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",), subject=False),
              person("son", "2000-02-02", "子", elig=("kokuho", "inkan"))], case={"moving_destination": "domestic"},
             per_person={"son": {"student_special": False}},
             expected={"son": {"juki_tenshutsu", "kokuho_soushitsu", "inkan_haishi"}}),
    # 国保法第116条 (修学中の特例): a student moving away to study stays in the parents' 国保 household.
    Scenario("student_moving_out_stays_in_parents_kokuho", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",), subject=False),
              person("son", "2006-02-02", "子", elig=("kokuho",))], case={"moving_destination": "domestic"},
             per_person={"son": {"student_special": True}},
             expected={"son": {"juki_tenshutsu", "kokuho_gakusei_tokurei"}}),
    # 住基法第25条: the head moves out and two members aged 15+ remain → 世帯主変更届 by the new head;
    # 国保法第9条: the remaining 国保 members' 世帯主 changes.
    Scenario("head_moves_out_two_adults_remain", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",)),
              person("w", "1972-02-02", "妻", elig=("kokuho",), subject=False),
              person("son", "2000-03-03", "子", elig=("kokuho",), subject=False)],
             case={"moving_destination": "domestic"}, per_person={"w": {"new_head": True}},
             expected={"h": {"juki_tenshutsu", "kokuho_soushitsu"},
                       "w": {"juki_setainushi_henkou", "kokuho_setainushi_henkou"},
                       "son": {"kokuho_setainushi_henkou"}}),
    # 住基法第25条 (政令で定める者を除く): one member aged 15+ with a child under 15 → the head is obvious, no 届出.
    Scenario("head_moves_out_mother_and_child_remain", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",)),
              person("w", "1972-02-02", "妻", elig=("kokuho",), subject=False),
              person("c", "2016-03-03", "子", elig=("kokuho",), subject=False)],
             case={"moving_destination": "domestic"},
             expected={"h": {"juki_tenshutsu", "kokuho_soushitsu"}, "w": {"kokuho_setainushi_henkou"},
                       "c": {"kokuho_setainushi_henkou"}}),
    # 介保法第10条: 65 on the day before the 65th birthday. Born 1961-06-02 → 65 on 2026-06-01 (the event day)
    # though the mirror has no 第1号 record yet; born 1961-06-03 → still 64.
    Scenario("moving_out_65_on_the_event_day_and_64", ["tenshutsu"],
             [person("h", "1961-06-02", "世帯主", elig=("kokuho",)),
              person("w", "1961-06-03", "妻", elig=("kokuho",))],
             case={"moving_destination": "domestic"},
             expected={"h": {"juki_tenshutsu", "kokuho_soushitsu", "kaigo_soushitsu"},
                       "w": {"juki_tenshutsu", "kokuho_soushitsu"}}),
    # 高確法第52条 / 国保法第6条第8号: 75th birthday on the event day → 後期高齢者 that day, no longer 国保;
    # 75th birthday the day after → still 国保.
    Scenario("moving_out_75th_birthday_on_the_event_day_and_the_day_after", ["tenshutsu"],
             [person("h", "1951-06-01", "世帯主", elig=("kokuho", "kaigo")),
              person("w", "1951-06-02", "妻", elig=("kokuho", "kaigo"))],
             case={"moving_destination": "domestic"},
             expected={"h": {"juki_tenshutsu", "kouki_soushitsu", "kaigo_soushitsu"},
                       "w": {"juki_tenshutsu", "kokuho_soushitsu", "kaigo_soushitsu"}}),
    # 介保法第36条: a certified person gets the 受給資格証明書 to carry the certification to the new municipality.
    Scenario("certified_care_recipient_moving_out", ["tenshutsu"],
             [person("x", "1950-01-01", "世帯主", elig=("kouki", "kaigo", "kaigo_certified"))],
             case={"moving_destination": "domestic"},
             expected={"x": {"juki_tenshutsu", "kouki_soushitsu", "kaigo_soushitsu", "kaigo_jukyu_shikaku"}}),
    # … also a 第2号被保険者 (56) certified for a 特定疾病 (介保法第7条第4項・第36条); in a plan without 介護 only 国保.
    Scenario("second_insured_certified_moving_out", ["tenshutsu"],
             [person("y", "1970-01-01", "世帯主", elig=("kokuho", "kaigo2", "kaigo_certified"))],
             case={"moving_destination": "domestic"},
             expected={"y": {"juki_tenshutsu", "kokuho_soushitsu", "kaigo_soushitsu", "kaigo_jukyu_shikaku"}}),
    Scenario("second_insured_certified_moving_out_plan_without_kaigo", ["tenshutsu"],
             [person("y", "1970-01-01", "世帯主", elig=("kokuho", "kaigo2", "kaigo_certified"))],
             case={"moving_destination": "domestic"}, areas=NO_KAIGO,
             expected={"y": {"juki_tenshutsu", "kokuho_soushitsu"}}),
    # A foreign family leaving Japan: 地税法第300条 for the adult; the enrolled child gets the 在学証明書 like a
    # Japanese pupil (文部科学省指針: foreign children's schooling handled 学齢簿に準じて).
    Scenario("foreign_family_moving_abroad", ["tenshutsu"],
             [person("f", "1988-08-08", "世帯主", elig=("kokuho",), foreign=True),
              person("k", "2017-07-07", "子", elig=("kokuho",), foreign=True)],
             case={"moving_destination": "abroad"},
             per_person={"f": {"tax_liability_abroad": True}, "k": {"tax_liability_abroad": False}},
             expected={"f": {"juki_tenshutsu", "kokuho_soushitsu", "zei_nouzei_kanrinin"},
                       "k": {"juki_tenshutsu", "kokuho_soushitsu", "gak_tenshutsu"}}),
    # 住基法第25条: the head moves out, two members aged 15+ remain and neither is named at the counter → the
    # 世帯主変更届 is still due (household level, the new head to be decided at the counter).
    Scenario("head_moves_out_nobody_chosen_as_new_head", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主"), person("w", "1972-02-02", "妻", subject=False),
              person("s", "2000-03-03", "子", subject=False)],
             case={"moving_destination": "domestic"},
             per_person={"w": {"new_head": False}, "s": {"new_head": False}},
             expected={"*": {"juki_setainushi_henkou"}, "h": {"juki_tenshutsu"}}),
    # 手当法第9条第3項・施行規則第3条: a claimed child leaves the recipient's custody, another child remains →
    # 額改定届（減額） on the recipient.
    Scenario("child_moves_out_of_recipients_custody", ["tenshutsu"],
             [person("f", "1980-01-01", "世帯主", elig=("jidou_teate",), subject=False),
              person("c1", "2010-05-05", "子"), person("c2", "2016-05-05", "子", subject=False)],
             case={"moving_destination": "domestic"}, per_person={"f": {"jt_custody_ends": True}},
             expected={"f": {"jt_gengaku"}, "c1": {"juki_tenshutsu"}}),
    # 手当法第4条第1項第1号: living apart while still 監護・生計同一 (e.g. for school) keeps the allowance as it is.
    Scenario("child_moves_out_still_in_custody", ["tenshutsu"],
             [person("f", "1980-01-01", "世帯主", elig=("jidou_teate",), subject=False),
              person("c1", "2010-05-05", "子"), person("c2", "2016-05-05", "子", subject=False)],
             case={"moving_destination": "domestic"}, per_person={"f": {"jt_custody_ends": False}},
             expected={"c1": {"juki_tenshutsu"}}),
    # 手当法第12条・第26条: the only child leaves the recipient's custody → 受給事由消滅届.
    Scenario("only_child_moves_out_of_recipients_custody", ["tenshutsu"],
             [person("f", "1980-01-01", "世帯主", elig=("jidou_teate",), subject=False),
              person("c1", "2010-05-05", "子")],
             case={"moving_destination": "domestic"}, per_person={"f": {"jt_custody_ends": True}},
             expected={"f": {"jt_shoumetsu"}, "c1": {"juki_tenshutsu"}}),
    # 地税法第300条・第355条: the 納税管理人 depends on a tax liability after leaving, not on age — a 30-year-old
    # without any needs none, a 17-year-old owning inherited land does.
    Scenario("moving_abroad_without_tax_liability", ["tenshutsu"],
             [person("y", "1996-01-01", "世帯主", elig=("kokuho",))], case={"moving_destination": "abroad"},
             per_person={"y": {"tax_liability_abroad": False}}, expected={"y": {"juki_tenshutsu", "kokuho_soushitsu"}}),
    Scenario("minor_moving_abroad_owning_land", ["tenshutsu"],
             [person("y", "2009-01-01", "子")], case={"moving_destination": "abroad"},
             per_person={"y": {"tax_liability_abroad": True}},
             expected={"y": {"juki_tenshutsu", "zei_nouzei_kanrinin"}}),
    # ============================================================================================
    # 転居 — 住基法第23条; 番号法第17条第4項 (card holders); 国保法第9条 (住所変更); 手当法施行規則 (住所変更届);
    # 高確法施行規則・介保法施行規則 (住所変更); 学教令第6条 (通学区域が変われば就学校の指定の変更);
    # 支援措置 (市内転居は申出内容の変更); 住基法第30条の47 (在留カードへの住居地の記載).
    # ============================================================================================
    Scenario("family_moving_within_city_school_district_changes", ["tenkyo"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "jidou_teate"), card=True),
              person("c", "2016-05-05", "子", elig=("kokuho",), card=False)],
             case={"school_district_changes": True},
             expected={"f": {"juki_tenkyo", CARD, "kokuho_jusho_henkou", "jt_jusho_henkou"},
                       "c": {"juki_tenkyo", "kokuho_jusho_henkou", "gak_tennyu"}}),
    Scenario("family_moving_within_city_same_school_district", ["tenkyo"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "jidou_teate"), card=True),
              person("c", "2016-05-05", "子", elig=("kokuho",), card=False)],
             case={"school_district_changes": False},
             expected={"f": {"juki_tenkyo", CARD, "kokuho_jusho_henkou", "jt_jusho_henkou"},
                       "c": {"juki_tenkyo", "kokuho_jusho_henkou"}}),
    # The card holding is not in the mirror: asked (the visitor may not have brought the card).
    Scenario("moving_within_city_card_asked", ["tenkyo"],
             [person("f", "1985-05-05", "世帯主"), person("w", "1986-05-05", "妻")],
             case={"card_holding_any": True}, per_person={"f": {"card_holding": True}, "w": {"card_holding": False}},
             expected={"f": {"juki_tenkyo", CARD}, "w": {"juki_tenkyo"}}),
    # 1 April / 2 April: born 2020-04-01 is a 1st-grader, born 2020-04-02 is not yet at school.
    Scenario("moving_within_city_april_1_and_april_2_children", ["tenkyo"],
             [person("p", "1990-01-01", "世帯主", elig=("jidou_teate",), card=False),
              person("a1", "2020-04-01", "子", card=False), person("a2", "2020-04-02", "子", card=False)],
             case={"school_district_changes": True},
             expected={"p": {"juki_tenkyo", "jt_jusho_henkou"}, "a1": {"juki_tenkyo", "gak_tennyu"},
                       "a2": {"juki_tenkyo"}}),
    Scenario("foreign_elderly_moving_within_city", ["tenkyo"],
             [person("g", "1948-08-08", "世帯主", elig=("kouki", "kaigo"), foreign=True, card=False)],
             expected={"g": {"juki_tenkyo", "juki_zairyu_card", "kouki_henkou", "kaigo_henkou"}}),
    Scenario("support_measure_moving_within_city", ["tenkyo"],
             [person("s", "1990-10-10", "世帯主", elig=("kokuho",), support=True, card=True)],
             expected={"s": {"juki_shien_henkou", "juki_tenkyo", CARD, "kokuho_jusho_henkou"}}),
    # Separation under a DV certificate (厚労省通知 平成20年2月5日): she leaves the spouse's insurance → 国保 加入.
    Scenario("support_measure_separation_with_dv_certificate", ["tenkyo"],
             [person("s", "1990-10-10", "世帯主", support=True, card=False)],
             per_person={"s": {"dv_certificate": True}},
             expected={"s": {"juki_shien_henkou", "juki_tenkyo", "kokuho_kanyu"}}),
    Scenario("family_moving_within_city_plan_juki_kokuho", ["tenkyo"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "jidou_teate"), card=True),
              person("c", "2016-05-05", "子", elig=("kokuho",), card=False)],
             areas=TESTB_AREAS,
             expected={"f": {"juki_tenkyo", CARD, "kokuho_jusho_henkou"}, "c": {"juki_tenkyo", "kokuho_jusho_henkou"}}),
    # 第2号被保険者 with a certification holds a 被保険者証 (介保法第12条第3項): its address changes.
    Scenario("second_insured_certified_moving_within_city", ["tenkyo"],
             [person("y", "1970-01-01", "世帯主", elig=("kokuho", "kaigo2", "kaigo_certified"), card=False)],
             expected={"y": {"juki_tenkyo", "kokuho_jusho_henkou", "kaigo_henkou"}}),
    # 住基法第25条 / 国保法第9条: the head moves alone within the city (転居), wife and adult son remain → the new
    # head files the 世帯主変更届 and both remaining 国保 members' 世帯主 changes.
    Scenario("head_moves_within_city_wife_and_son_remain", ["tenkyo"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",), card=False),
              person("w", "1972-02-02", "妻", elig=("kokuho",), subject=False),
              person("s", "2000-03-03", "子", elig=("kokuho",), subject=False)],
             per_person={"w": {"new_head": True}},
             expected={"h": {"juki_tenkyo", "kokuho_jusho_henkou"},
                       "w": {"juki_setainushi_henkou", "kokuho_setainushi_henkou"}, "s": {"kokuho_setainushi_henkou"}}),
    # 高確法第50条・第52条第1号: 75th birthday on the event day → 後期高齢者 that day (the mirror still shows 国保):
    # 後期 住所変更, not 国保. 75th birthday the day after → still 国保. 介保法第9条: both are 第1号 (記載事項変更).
    Scenario("moving_within_city_75th_birthday_on_the_day_and_the_day_after", ["tenkyo"],
             [person("h", "1951-06-01", "世帯主", elig=("kokuho", "kaigo"), card=False),
              person("w", "1951-06-02", "妻", elig=("kokuho", "kaigo"), card=False)],
             expected={"h": {"juki_tenkyo", "kouki_henkou", "kaigo_henkou"},
                       "w": {"juki_tenkyo", "kokuho_jusho_henkou", "kaigo_henkou"}}),
    # 介保法第9条第1号・第10条 + 年齢計算ニ関スル法律: 65 on the day before the birthday — born 1961-06-02 is 第1号
    # on 2026-06-01 though the mirror has no record yet; born 1961-06-03 is still 64.
    Scenario("moving_within_city_65_on_the_day_and_64", ["tenkyo"],
             [person("h", "1961-06-02", "世帯主", elig=("kokuho",), card=False),
              person("w", "1961-06-03", "妻", elig=("kokuho",), card=False)],
             expected={"h": {"juki_tenkyo", "kokuho_jusho_henkou", "kaigo_henkou"},
                       "w": {"juki_tenkyo", "kokuho_jusho_henkou"}}),
    # 厚労省通知（平成20年2月5日）: a DV victim without 支援措置 leaving the husband's household within the city,
    # with the certificate, leaves his employee insurance → 国保 加入.
    Scenario("dv_separation_without_support_measure", ["tenkyo"],
             [person("w", "1990-10-10", "妻", card=False), person("h", "1988-01-01", "世帯主", subject=False)],
             case={"dv_separation_any": True}, per_person={"w": {"dv_certificate": True}},
             expected={"w": {"juki_tenkyo", "kokuho_kanyu"}}),
    # ============================================================================================
    # 出生 — 戸籍法第49条; 国保法第7条・第9条 (出生から14日以内); 国保法第58条第1項 (出産育児一時金);
    # 手当法第7条 (認定請求) / 第9条 (額改定: 受給者が、養育するすべての子について); 子ども医療費助成条例;
    # 支援措置 (併せて支援を求める者に子を加える変更).
    # ============================================================================================
    Scenario("birth_in_kokuho_household", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("kokuho",), subject=False),
              person("m", "1992-07-07", "妻", elig=("kokuho",), subject=False), new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": False, "mother_kokuho": True},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    Scenario("birth_in_employee_household_already_receiving_teate", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("jidou_teate",), subject=False),
              person("m", "1992-07-07", "妻", subject=False), person("sib", "2022-02-02", "子", subject=False),
              new("baby", "2026-05-20", "子")],
             expected={"f": {"jt_gakukaitei"}, "baby": {"koseki_shussei", "kodomo_iryou"}}),
    Scenario("birth_parents_not_in_mirror_kokuho", ["shussei"],
             [new("m", "1992-07-07", "世帯主", subject=False), new("baby", "2026-05-20", "子")],
             case={"parents_kokuho": True, "parent_public_servant": False, "mother_kokuho": True},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    Scenario("birth_public_servant_parent", ["shussei"],
             [person("f", "1990-03-03", "世帯主", subject=False), new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": True, "mother_kokuho": False},
             expected={"baby": {"koseki_shussei", "kodomo_iryou"}}),
    Scenario("birth_in_plan_juki_kokuho", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("kokuho",), subject=False), new("baby", "2026-05-20", "子")],
             case={"mother_kokuho": True}, areas=TESTB_AREAS,
             expected={"baby": {"kokuho_kanyu", "kokuho_shussan_ikuji"}}),
    Scenario("birth_to_mother_under_support_measure", ["shussei"],
             [person("m", "1992-07-07", "世帯主", elig=("kokuho",), support=True, subject=False),
              new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": False, "mother_kokuho": True},
             expected={"m": {"juki_shien_sochi", "juki_shien_henkou"},
                       "baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    # 戸籍法第25条第2項・第49条: a child of foreign parents born in Japan is reported too.
    Scenario("birth_in_foreign_household", ["shussei"],
             [person("f", "1988-08-08", "世帯主", elig=("kokuho",), foreign=True, subject=False),
              new("baby", "2026-05-20", "子", foreign=True)],
             case={"parent_public_servant": False, "mother_kokuho": True},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    # 国保法第6条第5号: the baby of employee-insured parents is their dependent, whatever the grandfather's 国保
    # (three generations in one household); 国保法第58条: the mother is not in 国保 → no 出産育児一時金 from 国保.
    Scenario("birth_three_generations_parents_employee_insured", ["shussei"],
             [person("g", "1955-01-01", "世帯主", elig=("kokuho",), subject=False),
              person("f", "1990-01-01", "子", subject=False), person("m", "1992-01-01", "子の妻", subject=False),
              new("baby", "2026-05-20", "孫")],
             case={"parent_public_servant": False},
             expected={"baby": {"koseki_shussei", "jt_nintei", "kodomo_iryou"}}),
    # … and when the parents are in 国保 (grandfather employee-insured): 国保 加入 and 出産育児一時金, nothing asked.
    Scenario("birth_three_generations_parents_in_kokuho", ["shussei"],
             [person("g", "1955-01-01", "世帯主", subject=False),
              person("f", "1990-01-01", "子", elig=("kokuho",), subject=False),
              person("m", "1992-01-01", "子の妻", elig=("kokuho",), subject=False), new("baby", "2026-05-20", "孫")],
             case={"parent_public_servant": False},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    # The mother (sex 女) heads the household and is in 国保 in the mirror: 第58条 decided without asking.
    Scenario("birth_single_mother_in_kokuho", ["shussei"],
             [person("m", "1992-07-07", "世帯主", elig=("kokuho",), subject=False, sex="2"),
              new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": False},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou",
                                "kokuho_shussan_ikuji"}}),
    # Father in 国保, mother employee-insured: the parents differ → asked which insurance the baby joins (here the
    # mother's as her dependent); the mother is not in 国保 → no 出産育児一時金.
    Scenario("birth_parents_with_different_insurance", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("kokuho",), subject=False),
              person("m", "1992-07-07", "妻", subject=False), new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": False, "parents_kokuho": False},
             expected={"baby": {"koseki_shussei", "jt_nintei", "kodomo_iryou"}}),
    # ============================================================================================
    # 死亡 — 戸籍法第86条; 印鑑要領 (死亡で登録は消除); 地税法第9条の2 (相続人代表者: 固定資産); 国保法第8条・第9条・
    # 第58条 (葬祭費); 高確法第53条・第86条; 介保法第11条; 年金法第105条第4項・第19条; 住基法第25条;
    # 手当法第26条 (消滅) と第7条 (新たに養育する親の認定請求, その親が養育する子について).
    # ============================================================================================
    Scenario("death_of_head_with_70_year_old_spouse", ["shibou"], [HEAD72, SPOUSE70],
             case={"funeral_held": True, "public_pension": True, "owned_real_estate": True},
             expected={"head": {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                                "kokuho_sousaihi", "nenkin_shibou", "kaigo_soushitsu"},
                       "spouse": {"kokuho_setainushi_henkou"}}),
    Scenario("death_of_head_no_funeral_no_pension", ["shibou"], [HEAD72, SPOUSE70], case=DEATH_NO,
             expected={"head": {"koseki_shibou", "inkan_haishi", "kokuho_soushitsu", "kaigo_soushitsu"},
                       "spouse": {"kokuho_setainushi_henkou"}}),
    Scenario("death_of_head_in_plan_juki_kokuho", ["shibou"], [HEAD72, SPOUSE70],
             case={"funeral_held": True, "public_pension": True}, areas=TESTB_AREAS,
             expected={"head": {"kokuho_soushitsu", "kokuho_sousaihi", "nenkin_shibou"},
                       "spouse": {"kokuho_setainushi_henkou"}}),
    # Two members aged 15+ remain → 世帯主変更届 by the one who becomes head (住基法第25条).
    Scenario("death_of_kouki_head_with_two_adults_left", ["shibou"],
             [person("head", "1946-01-01", "世帯主", elig=("kouki", "kaigo")),
              person("wife", "1948-02-02", "妻", elig=("kouki", "kaigo"), subject=False),
              person("son", "1976-03-03", "子", subject=False)],
             case={"funeral_held": True, "public_pension": True, "owned_real_estate": False},
             per_person={"son": {"new_head": True}},
             expected={"head": {"koseki_shibou", "kouki_soushitsu", "kouki_sousaihi", "kaigo_soushitsu",
                                "nenkin_shibou"}, "son": {"juki_setainushi_henkou"}}),
    # 国保法第6条第3号: the widow was her husband's dependent; that ends with his death → 国保 加入.
    Scenario("death_survivor_was_dependent", ["shibou"],
             [person("head", "1968-01-01", "世帯主"), person("wife", "1971-02-02", "妻", subject=False)],
             case={"public_pension": False, "owned_real_estate": False},
             per_person={"wife": {"dependent_of_deceased": True}},
             expected={"head": {"koseki_shibou"}, "wife": {"kokuho_kanyu"}}),
    Scenario("death_of_non_head_in_kokuho_household", ["shibou"],
             [person("h", "1950-01-01", "世帯主", elig=("kokuho", "kaigo"), subject=False),
              person("w", "1952-02-02", "妻", elig=("kokuho", "kaigo", "inkan"))],
             case={"funeral_held": True, "public_pension": True, "owned_real_estate": True},
             expected={"w": {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                             "kokuho_sousaihi", "nenkin_shibou", "kaigo_soushitsu"}}),
    Scenario("death_of_certified_care_recipient", ["shibou"],
             [person("x", "1940-01-01", "世帯主", elig=("kouki", "kaigo", "kaigo_certified"))],
             case={"funeral_held": False, "public_pension": True, "owned_real_estate": False},
             expected={"x": {"koseki_shibou", "kouki_soushitsu", "kaigo_soushitsu", "nenkin_shibou"}}),
    # The 児童手当 recipient dies: 消滅 for him; the mother now keeps the child and claims anew for it.
    Scenario("death_of_teate_recipient", ["shibou"],
             [person("x", "1985-01-01", "世帯主", elig=("kokuho", "jidou_teate")),
              person("w", "1987-01-01", "妻", elig=("kokuho",), subject=False),
              person("c", "2015-01-01", "子", elig=("kokuho",), subject=False)],
             case={"funeral_held": True, "public_pension": False, "owned_real_estate": False,
                   "parent_public_servant": False},
             per_person={"w": {"jt_new_recipient": True}, "c": {"jt_child_claimed": True}},
             expected={"x": {"koseki_shibou", "kokuho_soushitsu", "kokuho_sousaihi", "jt_shoumetsu"},
                       "w": {"kokuho_setainushi_henkou", "jt_nintei"}, "c": {"kokuho_setainushi_henkou"}}),
    # Died on the 75th birthday: 後期高齢者 that day (高確法第52条) → 後期 葬祭費 (第86条), not 国保.
    Scenario("death_on_the_75th_birthday", ["shibou"],
             [person("x", "1951-06-01", "世帯主", elig=("kokuho", "kaigo"))],
             case={"funeral_held": True, "public_pension": True, "owned_real_estate": False},
             expected={"x": {"koseki_shibou", "kouki_soushitsu", "kouki_sousaihi", "kaigo_soushitsu",
                              "nenkin_shibou"}}),
    Scenario("death_on_the_day_before_the_75th_birthday", ["shibou"],
             [person("x", "1951-06-02", "世帯主", elig=("kokuho", "kaigo"))],
             case={"funeral_held": True, "public_pension": True, "owned_real_estate": False},
             expected={"x": {"koseki_shibou", "kokuho_soushitsu", "kokuho_sousaihi", "kaigo_soushitsu",
                              "nenkin_shibou"}}),
    # The protected wife survives: the alert stays on her; 国保 世帯主 changes for her.
    Scenario("death_in_support_measure_household", ["shibou"],
             [person("h", "1960-01-01", "世帯主", elig=("kokuho", "kaigo")),
              person("w", "1962-02-02", "妻", elig=("kokuho",), support=True, subject=False)],
             case=DEATH_NO,
             expected={"h": {"koseki_shibou", "kokuho_soushitsu", "kaigo_soushitsu"},
                       "w": {"juki_shien_sochi", "kokuho_setainushi_henkou"}}),
    Scenario("death_of_foreign_resident", ["shibou"],
             [person("f", "1980-08-08", "世帯主", elig=("kokuho",), foreign=True)],
             case={"funeral_held": True, "public_pension": False, "owned_real_estate": False},
             expected={"f": {"koseki_shibou", "kokuho_soushitsu", "kokuho_sousaihi"}}),
    # 国保法第6条第5号: only the wife was her husband's dependent; the employed son keeps his own insurance.
    # 住基法第25条: wife and son (15+) remain → the new head files.
    Scenario("death_dependent_wife_employed_son", ["shibou"],
             [person("h", "1968-01-01", "世帯主"), person("w", "1971-02-02", "妻", subject=False),
              person("s", "1998-01-01", "子", subject=False)],
             case={"public_pension": False, "owned_real_estate": False},
             per_person={"w": {"dependent_of_deceased": True, "new_head": True}, "s": {"dependent_of_deceased": False}},
             expected={"h": {"koseki_shibou"}, "w": {"juki_setainushi_henkou", "kokuho_kanyu"}}),
    # An 11-year-old cannot have held employee insurance (労働基準法第56条): nobody was its dependent, not asked.
    # 手当法第9条第3項・施行規則第3条: the recipient still raises another child → 額改定届（減額）.
    Scenario("death_of_a_child_recipient_keeps_another", ["shibou"],
             [person("f", "1985-01-01", "世帯主", elig=("jidou_teate",), subject=False),
              person("m", "1986-01-01", "妻", subject=False),
              person("c1", "2015-01-01", "子"), person("c2", "2017-01-01", "子", subject=False)],
             case=DEATH_NO, expected={"c1": {"koseki_shibou"}, "f": {"jt_gengaku"}}),
    # 手当法第12条・第26条: the only child dies → 受給事由消滅届.
    Scenario("death_of_the_only_child", ["shibou"],
             [person("f", "1985-01-01", "世帯主", elig=("jidou_teate",), subject=False),
              person("c1", "2015-01-01", "子")],
             case=DEATH_NO, expected={"c1": {"koseki_shibou"}, "f": {"jt_shoumetsu"}}),
    # 手当法第17条: the surviving parent who now raises the child is a public servant → claims from the employer.
    Scenario("death_of_recipient_new_recipient_public_servant", ["shibou"],
             [person("x", "1985-01-01", "世帯主", elig=("jidou_teate",)),
              person("w", "1987-01-01", "妻", subject=False), person("c", "2015-01-01", "子", subject=False)],
             case={**DEATH_NO, "parent_public_servant": True},
             per_person={"w": {"jt_new_recipient": True, "dependent_of_deceased": False},
                         "c": {"jt_child_claimed": True, "dependent_of_deceased": False}},
             expected={"x": {"koseki_shibou", "jt_shoumetsu"}}),
    # 介保法第10条・第11条: 65 on the day before the 65th birthday → 第1号 on the day of death even without the
    # mirror's record → 介護保険 喪失; one day younger → 64, no 第1号.
    Scenario("death_at_65_reached_on_the_day", ["shibou"], [person("x", "1961-06-02", "世帯主", elig=("kokuho",))],
             case=DEATH_NO, expected={"x": {"koseki_shibou", "kokuho_soushitsu", "kaigo_soushitsu"}}),
    Scenario("death_at_64_the_day_before_reaching_65", ["shibou"],
             [person("x", "1961-06-03", "世帯主", elig=("kokuho",))],
             case=DEATH_NO, expected={"x": {"koseki_shibou", "kokuho_soushitsu"}}),
    # ============================================================================================
    # 婚姻 — 戸籍法第74条; 番号法第17条第4項 (氏の変更を券面に); 印鑑要領 (氏を表す印鑑の登録は氏の変更で消除);
    # 国保法第9条 (氏名変更) / 第6条第3号・第8条 (配偶者の健保の扶養に入れば脱退); 高確法・介保法施行規則 (氏名変更);
    # 支援措置 (氏名の変更は申出内容の変更).
    # ============================================================================================
    Scenario("marriage_with_change_of_surname", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", elig=("kokuho", "inkan"), card=True),
              person("groom", "1994-04-04", "世帯主", card=True)],
             per_person={"bride": {"surname_change": True, "seal_shows_surname": True,
                                   "joins_spouse_insurance": False},
                         "groom": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "bride": {CARD, "inkan_saitouroku", "kokuho_shimei_henkou"}}),
    # Her seal shows only her given name: the registration stays. She joins his employee insurance: 国保 脱退.
    Scenario("marriage_bride_joins_spouse_insurance_given_name_seal", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", elig=("kokuho", "inkan"), card=True),
              person("groom", "1994-04-04", "世帯主", card=False)],
             per_person={"bride": {"surname_change": True, "seal_shows_surname": False,
                                   "joins_spouse_insurance": True},
                         "groom": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "bride": {CARD, "kokuho_soushitsu"}}),
    Scenario("marriage_without_change_of_surname_for_kokuho_person", ["kon-in"],
             [person("a", "1995-05-05", "世帯主", elig=("kokuho",)), person("b", "1994-04-04", "世帯主")],
             per_person={"a": {"surname_change": False, "joins_spouse_insurance": False},
                         "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}}),
    Scenario("late_marriage_elderly_changes_surname", ["kon-in"],
             [person("a", "1950-05-05", "世帯主", elig=("kouki", "kaigo"), card=False),
              person("b", "1949-04-04", "世帯主")],
             per_person={"a": {"surname_change": True}, "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"kouki_henkou", "kaigo_henkou"}}),
    Scenario("late_marriage_elderly_in_plan_without_kaigo", ["kon-in"],
             [person("a", "1950-05-05", "世帯主", elig=("kouki", "kaigo"), card=True),
              person("b", "1949-04-04", "世帯主")],
             per_person={"a": {"surname_change": True}, "b": {"surname_change": False}}, areas=NO_KAIGO,
             expected={"*": {"koseki_kon-in"}, "a": {CARD, "kouki_henkou"}}),
    Scenario("moving_in_and_marrying", ["tennyu", "kon-in"],
             [new("bride", "1995-05-05", "妻"),
              person("groom", "1994-04-04", "世帯主", elig=("kokuho",), subject=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False, "card_holding_any": False},
             per_person={"bride": {"surname_change": True}},
             expected={"*": {"koseki_kon-in"}, "bride": MOVE_IN | {"kokuho_kanyu"}}),
    Scenario("marriage_of_support_measure_person", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", support=True, card=False),
              person("groom", "1994-04-04", "世帯主", card=False)],
             per_person={"bride": {"surname_change": True}, "groom": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "bride": {"juki_shien_sochi", "juki_shien_henkou"}}),
    # A foreign groom (国保) joins his Japanese wife's employee insurance; a Japanese marrying a foreigner keeps
    # the surname unless a separate 届 is made (戸籍法第107条第2項).
    Scenario("marriage_with_foreign_spouse", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", card=True),
              person("groom", "1994-04-04", "世帯主", elig=("kokuho",), foreign=True, card=False)],
             per_person={"bride": {"surname_change": False},
                         "groom": {"surname_change": False, "joins_spouse_insurance": True}},
             expected={"*": {"koseki_kon-in"}, "groom": {"kokuho_soushitsu"}}),
    Scenario("marriage_in_plan_juki_kokuho", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", elig=("kokuho", "inkan"), card=True),
              person("groom", "1994-04-04", "世帯主", card=True)],
             per_person={"bride": {"surname_change": True, "joins_spouse_insurance": False},
                         "groom": {"surname_change": False}},
             areas=TESTB_AREAS, expected={"bride": {CARD, "kokuho_shimei_henkou"}}),
    # 高確法第52条第1号: 75th birthday on the day of the marriage → 後期 (氏名変更), not 国保; the day after → 国保.
    Scenario("marriage_on_the_75th_birthday", ["kon-in"],
             [person("a", "1951-06-01", "世帯主", elig=("kokuho", "kaigo"), card=False),
              person("b", "1950-04-04", "世帯主", elig=("kouki", "kaigo"), card=False)],
             per_person={"a": {"surname_change": True}, "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"kouki_henkou", "kaigo_henkou"}}),
    Scenario("marriage_the_day_before_the_75th_birthday", ["kon-in"],
             [person("a", "1951-06-02", "世帯主", elig=("kokuho", "kaigo"), card=False),
              person("b", "1950-04-04", "世帯主", elig=("kouki", "kaigo"), card=False)],
             per_person={"a": {"surname_change": True, "joins_spouse_insurance": False},
                               "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"kokuho_shimei_henkou", "kaigo_henkou"}}),
    # 介保法第10条: 65 on the day before the birthday → 第1号 (氏名変更) though the mirror has no record yet.
    Scenario("marriage_at_65_reached_on_the_day", ["kon-in"],
             [person("a", "1961-06-02", "世帯主", elig=("kokuho",), card=False), person("b", "1960-01-01", "世帯主")],
             per_person={"a": {"surname_change": True, "joins_spouse_insurance": False},
                               "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"kokuho_shimei_henkou", "kaigo_henkou"}}),
    Scenario("marriage_at_64_the_day_before_reaching_65", ["kon-in"],
             [person("a", "1961-06-03", "世帯主", elig=("kokuho",), card=False), person("b", "1960-01-01", "世帯主")],
             per_person={"a": {"surname_change": True, "joins_spouse_insurance": False},
                               "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"kokuho_shimei_henkou"}}),
    # ============================================================================================
    # 離婚 — 戸籍法第76条・第77条; 番号法第17条第4項; 印鑑要領; 国保法第9条 (氏名・世帯主の変更) / 第6条第3号
    # (元配偶者の健保の扶養から外れれば国保 加入); 手当法第4条 (子を監護し生計を同じくする父母) ・第7条 (新たな受給者の
    # 認定請求: その親が養育する子について) ・第26条 (元の受給者の消滅届); 支援措置 (氏名の変更).
    # ============================================================================================
    Scenario("divorce_mother_keeps_children", ["rikon"],
             [person("m", "1988-08-08", "世帯主", elig=("kokuho", "inkan"), card=True),
              person("c1", "2014-01-01", "子", elig=("kokuho",), subject=False),
              person("c2", "2019-01-01", "子", elig=("kokuho",), subject=False)],
             case={"head_changes": False, "parent_public_servant": False},
             per_person={"m": {"surname_change": True, "seal_shows_surname": True, "jt_new_recipient": True},
                         "c1": {"jt_child_claimed": True}, "c2": {"jt_child_claimed": True}},
             expected={"*": {"koseki_rikon"},
                       "m": {CARD, "inkan_saitouroku", "kokuho_shimei_henkou", "jt_nintei"}}),
    # The father was the recipient and the insured; mother and child leave his insurance and his 児童手当.
    Scenario("divorce_recipient_father_mother_takes_child", ["rikon"],
             [person("h", "1985-05-05", "世帯主", elig=("jidou_teate",), card=False),
              person("w", "1987-07-07", "妻", card=False),
              person("c", "2015-01-01", "子", subject=False)],
             case={"parent_public_servant": False},
             per_person={"h": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": False},
                         "w": {"surname_change": True, "leaves_spouse_insurance": True, "jt_new_recipient": True},
                         "c": {"leaves_spouse_insurance": True, "jt_child_claimed": True}},
             expected={"*": {"koseki_rikon"}, "h": {"jt_shoumetsu"}, "w": {"kokuho_kanyu", "jt_nintei"},
                       "c": {"kokuho_kanyu"}}),
    Scenario("divorce_without_children_keeping_surname", ["rikon"],
             [person("m", "1988-08-08", "世帯主", elig=("kokuho",))], case={"head_changes": False},
             per_person={"m": {"surname_change": False}},
             expected={"*": {"koseki_rikon"}}),
    Scenario("divorce_of_support_measure_mother", ["rikon"],
             [person("m", "1988-08-08", "世帯主", elig=("kokuho",), support=True, card=False),
              person("c", "2016-01-01", "子", elig=("kokuho",), subject=False)],
             case={"head_changes": False, "parent_public_servant": False},
             per_person={"m": {"surname_change": True, "jt_new_recipient": True}, "c": {"jt_child_claimed": True}},
             expected={"*": {"koseki_rikon"},
                       "m": {"juki_shien_sochi", "juki_shien_henkou", "kokuho_shimei_henkou", "jt_nintei"}}),
    # 1 April boundary (手当法第3条第1項): on 2026-04-01 the child born 2008-04-01 is past 高校生年代, the one
    # born 2008-04-02 is not; only the latter is claimed (and asked about).
    Scenario("divorce_april_1_and_april_2_children", ["rikon"],
             [person("m", "1980-08-08", "世帯主", elig=("kokuho",), card=False),
              person("a1", "2008-04-01", "子", elig=("kokuho",), subject=False),
              person("a2", "2008-04-02", "子", elig=("kokuho",), subject=False)],
             on=date(2026, 4, 1), case={"head_changes": False, "parent_public_servant": False},
             per_person={"m": {"surname_change": False, "jt_new_recipient": True}, "a2": {"jt_child_claimed": True}},
             expected={"*": {"koseki_rikon"}, "m": {"jt_nintei"}}),
    # 国保法第9条: the 国保 世帯主 changes with the divorce → 記載事項変更 for every 国保 member.
    Scenario("divorce_in_plan_juki_kokuho_head_changes", ["rikon"],
             [person("m", "1988-08-08", "妻", elig=("kokuho",), card=True),
              person("c", "2016-01-01", "子", elig=("kokuho",), subject=False)],
             case={"head_changes": True}, per_person={"m": {"surname_change": True}}, areas=TESTB_AREAS,
             expected={"m": {CARD, "kokuho_shimei_henkou", "kokuho_setainushi_henkou"},
                       "c": {"kokuho_setainushi_henkou"}}),
    Scenario("divorce_of_foreign_resident", ["rikon"],
             [person("f", "1985-08-08", "世帯主", elig=("kokuho",), foreign=True, card=False)],
             case={"head_changes": False}, per_person={"f": {"surname_change": False}},
             expected={"*": {"koseki_rikon"}}),
    # 高確法第52条第1号 / 介保法第10条: divorce on the 75th birthday → 後期 氏名変更; the day before → 国保.
    Scenario("divorce_on_the_75th_birthday", ["rikon"],
             [person("m", "1951-06-01", "世帯主", elig=("kokuho", "kaigo"), card=False)],
             case={"head_changes": False}, per_person={"m": {"surname_change": True}},
             expected={"*": {"koseki_rikon"}, "m": {"kouki_henkou", "kaigo_henkou"}}),
    Scenario("divorce_the_day_before_the_75th_birthday", ["rikon"],
             [person("m", "1951-06-02", "世帯主", elig=("kokuho", "kaigo"), card=False)],
             case={"head_changes": False}, per_person={"m": {"surname_change": True}},
             expected={"*": {"koseki_rikon"}, "m": {"kokuho_shimei_henkou", "kaigo_henkou"}}),
    Scenario("divorce_at_65_reached_on_the_day", ["rikon"],
             [person("m", "1961-06-02", "世帯主", elig=("kokuho",), card=False)],
             case={"head_changes": False}, per_person={"m": {"surname_change": True}},
             expected={"*": {"koseki_rikon"}, "m": {"kokuho_shimei_henkou", "kaigo_henkou"}}),
    Scenario("divorce_at_64_the_day_before_reaching_65", ["rikon"],
             [person("m", "1961-06-03", "世帯主", elig=("kokuho",), card=False)],
             case={"head_changes": False}, per_person={"m": {"surname_change": True}},
             expected={"*": {"koseki_rikon"}, "m": {"kokuho_shimei_henkou"}}),
    # 手当法第17条: the parent who now raises the child is a public servant → claims from the employer; the old
    # recipient's 消滅届 (第26条) stays.
    Scenario("divorce_new_recipient_public_servant", ["rikon"],
             [person("h", "1985-05-05", "世帯主", elig=("jidou_teate",), card=False),
              person("w", "1987-07-07", "妻", card=False), person("c", "2015-01-01", "子", subject=False)],
             case={"parent_public_servant": True},
             per_person={"h": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": False},
                         "w": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": True},
                         "c": {"leaves_spouse_insurance": False, "jt_child_claimed": True}},
             expected={"*": {"koseki_rikon"}, "h": {"jt_shoumetsu"}}),
    # 手当法第4条・第7条・第9条第3項: split custody — the recipient father keeps the elder child (his allowance
    # goes down: 額改定届（減額）), the mother claims anew for the younger one (認定請求, that child only).
    Scenario("divorce_split_custody_recipient_father_keeps_one", ["rikon"],
             [person("h", "1985-05-05", "世帯主", elig=("jidou_teate",), card=False),
              person("w", "1987-07-07", "妻", card=False),
              person("c1", "2015-01-01", "子", subject=False, name="長男"),
              person("c2", "2017-01-01", "子", subject=False, name="長女")],
             case={"parent_public_servant": False},
             per_person={"h": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": True},
                         "w": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": True},
                         "c1": {"leaves_spouse_insurance": False, "jt_child_keeper": "father"},
                         "c2": {"leaves_spouse_insurance": False, "jt_child_keeper": "mother"}},
             expected={"*": {"koseki_rikon"}, "h": {"jt_gengaku"}, "w": {"jt_nintei"}}),
    # Neither parent received it here (e.g. the father was a public servant until now): each claims for the
    # child he or she keeps (手当法第7条), the sex from the mirror deciding who is the father.
    Scenario("divorce_split_custody_both_parents_claim", ["rikon"],
             [person("h", "1985-05-05", "世帯主", card=False, sex="1"), person("w", "1987-07-07", "妻", card=False),
              person("c1", "2015-01-01", "子", subject=False), person("c2", "2017-01-01", "子", subject=False)],
             case={"parent_public_servant": False},
             per_person={"h": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": True},
                         "w": {"surname_change": False, "leaves_spouse_insurance": False, "jt_new_recipient": True},
                         "c1": {"leaves_spouse_insurance": False, "jt_child_keeper": "father"},
                         "c2": {"leaves_spouse_insurance": False, "jt_child_keeper": "mother"}},
             expected={"*": {"koseki_rikon"}, "h": {"jt_nintei"}, "w": {"jt_nintei"}}),
    # ============================================================================================
    # 世帯変更 — 住基法第25条; 国保法第9条・地税法第703条の4 (国保の世帯・世帯主 = 納税義務者が変わる).
    # ============================================================================================
    Scenario("household_split", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", subject=False), person("d", "1995-01-01", "子", elig=("kokuho",))],
             case={"head_changes": False},
             expected={"d": {"juki_setai_henkou", "kokuho_setai_henkou"}}),
    Scenario("household_merge", ["setai_henkou"],
             [person("a", "1960-01-01", "世帯主", elig=("kokuho",), subject=False),
              person("b", "1990-01-01", "子", elig=("kokuho",))],
             case={"head_changes": False},
             expected={"b": {"juki_setai_henkou", "kokuho_setai_henkou"}}),
    Scenario("change_of_head_of_household", ["setai_henkou"],
             [person("h", "1955-01-01", "世帯主", elig=("kokuho",)), person("s", "1978-01-01", "子", elig=("kokuho",)),
              person("w", "1952-01-01", "妻", elig=("kokuho",), subject=False)],
             case={"head_changes": True},
             expected={"h": {"juki_setai_henkou", "kokuho_setainushi_henkou"},
                       "s": {"juki_setai_henkou", "kokuho_setainushi_henkou"}, "w": {"kokuho_setainushi_henkou"}}),
    Scenario("household_split_support_measure", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", subject=False),
              person("d", "1995-01-01", "子", elig=("kokuho",), support=True)],
             case={"head_changes": False},
             expected={"d": {"juki_shien_sochi", "juki_setai_henkou", "kokuho_setai_henkou"}}),
    Scenario("household_split_plan_juki_kokuho", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", subject=False), person("d", "1995-01-01", "子", elig=("kokuho",))],
             case={"head_changes": False}, areas=TESTB_AREAS,
             expected={"d": {"juki_setai_henkou", "kokuho_setai_henkou"}}),
    Scenario("household_split_plan_juki_only", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", subject=False), person("d", "1995-01-01", "子", elig=("kokuho",))],
             areas=("juki",), expected={"d": {"juki_setai_henkou"}}),
    Scenario("household_split_foreign_residents", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", foreign=True, subject=False),
              person("d", "1995-01-01", "子", elig=("kokuho",), foreign=True)],
             case={"head_changes": False},
             expected={"d": {"juki_setai_henkou", "kokuho_setai_henkou"}}),
]

EVENT_MINIMUM = {"tenshutsu": 5, "tenkyo": 5, "shussei": 5, "shibou": 5, "kon-in": 5, "rikon": 5, "setai_henkou": 5}


def _persons(raw: list[dict[str, Any]]) -> list[Any]:
    return [person_facts_from_dict(p, index=i) for i, p in enumerate(raw)]


def _run(scenario: Scenario):  # noqa: ANN202
    answers = {"case": dict(scenario.case), "persons": {k: dict(v) for k, v in scenario.per_person.items()}}
    return determine(version=CATALOGUE, events=scenario.events, persons=_persons(scenario.persons), answers=answers,
                     on=scenario.on, areas=list(scenario.areas))


def test_every_event_has_its_scenarios() -> None:
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    for event, minimum in EVENT_MINIMUM.items():
        ids = [s.id for s in SCENARIOS if event in s.events]
        assert len(ids) >= minimum, (event, ids)
        # a support-measure household in each event
        assert any(any(p["support_measure"] for p in s.persons) for s in SCENARIOS if event in s.events), event
        # a plan with 住基 + 国保 only in each event
        assert any(s.areas == TESTB_AREAS for s in SCENARIOS if event in s.events), event
    assert any(s.areas == TESTB_AREAS for s in SCENARIOS if "tennyu" in s.events)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(scenario: Scenario) -> None:
    result = _run(scenario)
    assert [(q.code, q.person_key) for q in result.questions] == [], "interview should be complete"
    assert [(i.procedure.code, i.person_key, i.status) for i in result.items if i.status != "required"] == []
    got = {("*" if key is None else key): codes for key, codes in result.procedure_codes_by_person().items()}
    assert got == {k: v for k, v in scenario.expected.items() if v}
    for item in result.required:
        assert item.reasons and all("？" not in reason for reason in item.reasons), item
        assert item.procedure.area in scenario.areas


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_interview_reaches_the_same_result(scenario: Scenario) -> None:
    """Asking one question at a time (the interview's order) with the scenario's answers ends with the same
    procedures; a question the scenario did not need (asked earlier in the interview's order) gets "no"."""

    def respond(question: Any) -> Any:
        given = scenario.case if question.person_key is None else scenario.per_person.get(question.person_key, {})
        if question.code in given:
            return given[question.code]
        return question.choices[0][0] if question.choices else False

    result, asked = interview_simulate(version=CATALOGUE, events=scenario.events, persons=_persons(scenario.persons),
                                       on=scenario.on, areas=list(scenario.areas), respond=respond)
    assert len({(q.code, q.person_key) for q in asked}) == len(asked), "a question was asked twice"
    got = {("*" if key is None else key): codes for key, codes in result.procedure_codes_by_person().items()}
    assert got == {k: v for k, v in scenario.expected.items() if v}


def test_family_of_five_interview_questions() -> None:
    persons = _persons(FAMILY5)
    result, asked = interview_simulate(version=CATALOGUE, events=["tennyu"], persons=persons, on=ON,
                                       areas=list(ALL_AREAS), respond=lambda q: NO_EMPLOYEE[q.code])
    # the father (42) could be a certified 第2号被保険者, nobody's card is known: one case question each
    assert [q.code for q in asked] == ["any_employee_insurance", "care_certified_any", "inkan_wish_any",
                                       "card_holding_any", "parent_public_servant"]
    assert all(q.person_key is None for q in asked)
    assert result.procedure_codes_by_person() == _run(SCENARIOS[0]).procedure_codes_by_person()


def test_interview_asks_per_person_only_when_the_case_answer_is_not_enough() -> None:
    script = {"any_employee_insurance": True, "employee_insurance": True, "inkan_wish_any": True,
              "inkan_wish": False, "parent_public_servant": False, "card_holding_any": False,
              "care_certified_any": False}
    _result, asked = interview_simulate(version=CATALOGUE, events=["tennyu"], persons=_persons(FAMILY5), on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: script[q.code])
    asked_pairs = [(q.code, q.person_key) for q in asked]
    # seal registration is asked only of the three persons aged 15 or over
    assert [k for c, k in asked_pairs if c == "inkan_wish"] == ["father", "mother", "teen"]
    assert [k for c, k in asked_pairs if c == "employee_insurance"] == ["father", "mother", "teen", "pupil",
                                                                      "toddler"]
    assert len(asked) == 5 + 5 + 3


def test_death_interview_skips_questions_that_cannot_matter() -> None:
    _result, asked = interview_simulate(version=CATALOGUE, events=["shibou"], persons=_persons([HEAD72, SPOUSE70]),
                                        on=ON, areas=list(ALL_AREAS), respond=lambda q: True)
    # the spouse already has 国保 ("dependent of the deceased" never asked); she alone remains (no new head)
    assert [q.code for q in asked] == ["funeral_held", "public_pension", "owned_real_estate"]


def test_new_head_is_asked_until_someone_says_yes_and_never_after() -> None:
    household = [person("h", "1960-01-01", "世帯主", elig=("kokuho",)),
                 person("w", "1962-01-01", "妻", subject=False), person("a", "1990-01-01", "子", subject=False),
                 person("b", "1992-01-01", "子", subject=False)]
    script = {"w": False, "a": True}
    result, asked = interview_simulate(
        version=CATALOGUE, events=["tenshutsu"], persons=_persons(household), on=ON, areas=["juki"],
        respond=lambda q: script[q.person_key] if q.code == "new_head" else "domestic")
    assert [(q.code, q.person_key) for q in asked if q.code == "new_head"] == [("new_head", "w"), ("new_head", "a")]
    assert result.procedure_codes_by_person() == {"h": {"juki_tenshutsu"}, "a": {"juki_setainushi_henkou"}}


def test_claimed_children_are_asked_of_each_child_and_listed_in_the_reason() -> None:
    household = [person("m", "1988-08-08", "世帯主", elig=("kokuho",), card=False, name="母"),
                 person("c1", "2014-01-01", "子", elig=("kokuho",), subject=False, name="長男"),
                 person("c2", "2019-01-01", "子", elig=("kokuho",), subject=False, name="次男")]
    script = {("m", "surname_change"): False, (None, "head_changes"): False, ("m", "jt_new_recipient"): True,
              (None, "parent_public_servant"): False,
              ("c1", "jt_child_claimed"): True, ("c2", "jt_child_claimed"): False}
    result, asked = interview_simulate(version=CATALOGUE, events=["rikon"], persons=_persons(household), on=ON,
                                       areas=list(ALL_AREAS), respond=lambda q: script[(q.person_key, q.code)])
    assert [(q.code, q.person_key) for q in asked if q.code == "jt_child_claimed"] == [
        ("jt_child_claimed", "c1"), ("jt_child_claimed", "c2")]
    item = next(i for i in result.required if i.procedure.code == "jt_nintei")
    assert item.person_key == "m"
    assert item.reasons == ("離婚により、母さんが子（長男）を養育して児童手当を受けます。",)


def test_card_holding_from_the_mirror_or_a_card_read_wins_over_the_answer() -> None:
    known = [person("a", "1990-01-01", "世帯主", card=True)]
    answers = {"case": {"card_holding_any": False}, "persons": {}}
    result = determine(version=CATALOGUE, events=["tenkyo"], persons=_persons(known), answers=answers, on=ON,
                       areas=["juki"])
    assert result.procedure_codes_by_person() == {"a": {"juki_tenkyo", CARD}} and result.questions == []
    unknown = [person("a", "1990-01-01", "世帯主")]
    result = determine(version=CATALOGUE, events=["tenkyo"], persons=_persons(unknown), answers={}, on=ON,
                       areas=["juki"])
    assert [(q.code, q.person_key) for q in result.questions] == [("card_holding_any", None), ("card_holding", "a")]


def test_questions_of_areas_outside_the_plan_are_never_asked() -> None:
    persons = _persons([new("x", "1955-09-09", "世帯主")])
    result = determine(version=CATALOGUE, events=["tennyu"], persons=persons, answers={}, on=ON, areas=["juki"])
    assert [q.code for q in result.questions] == ["card_holding_any", "card_holding"]
    result = determine(version=CATALOGUE, events=["tennyu"], persons=persons,
                       answers={"case": {"card_holding_any": False}}, on=ON, areas=["juki"])
    assert result.questions == [] and result.procedure_codes_by_person() == {"x": MOVE_IN}


def test_first_questions_and_pending_procedures_before_any_answer() -> None:
    result = determine(version=CATALOGUE, events=["tennyu"], persons=_persons(FAMILY5), answers={}, on=ON,
                       areas=list(ALL_AREAS))
    assert result.questions[0].code == "any_employee_insurance"
    pending = {(i.procedure.code, i.person_key) for i in result.items if i.status == "pending"}
    assert ("kokuho_kanyu", "father") in pending and ("jt_nintei", "teen") in pending
    assert {("juki_tennyu", k) for k in ("father", "mother", "teen", "pupil", "toddler")} <= {
        (i.procedure.code, i.person_key) for i in result.required}


def test_reasons_documents_counter_legal_basis_and_source_are_given() -> None:
    result = _run(SCENARIOS[0])
    item = next(i for i in result.required if i.procedure.code == "kokuho_kanyu" and i.person_key == "father")
    assert item.reasons == ("fatherさんは勤務先の健康保険に加入しておらず、75歳未満です。",)
    assert item.procedure.counter == "保険年金窓口" and item.procedure.department == "保険年金課"
    assert item.procedure.documents and item.procedure.legal_basis.startswith("国民健康保険法")
    assert item.procedure.legal_url.startswith("https://laws.e-gov.go.jp/law/")
    assert "配偶者からの暴力" in item.procedure.source
    pupil = next(i for i in result.required if i.procedure.code == "gak_tennyu")
    assert pupil.reasons == ("pupilさんは学齢期（学年：4年目）の子です。",)
    annai = CATALOGUE.procedures["gak_shugaku_annai"]
    assert "文部科学省" in annai.source and annai.as_dict()["source"] == annai.source


def test_second_insured_certification_is_read_from_the_mirror_kind() -> None:
    from types import SimpleNamespace

    from navigation.facts import _eligibility_flags, card_status_from_records

    def rec(area: str, kind: str, **details: Any) -> Any:
        return SimpleNamespace(area=area, kind=kind, details=details)

    assert _eligibility_flags([rec("kaigo", "第2号被保険者 要介護認定")])[0] == {"kaigo2", "kaigo_certified"}
    assert _eligibility_flags([rec("kaigo", "第1号被保険者")])[0] == {"kaigo"}
    assert _eligibility_flags([rec("kaigo", "第1号被保険者 要支援認定")])[0] == {"kaigo", "kaigo_certified"}
    assert card_status_from_records([rec("juki", "マイナンバーカード")]) is True
    assert card_status_from_records([rec("juki", "マイナンバーカード", status="返納")]) is False
    assert card_status_from_records([rec("kokuho", "一般")]) is None


def test_dependency_on_the_deceased_is_asked_per_person_and_only_of_a_possible_employee() -> None:
    """国保法第6条第5号: each survivor's own dependency is asked; the deceased must have been able to hold employee
    insurance (15 or over, not in 国保 nor 後期高齢者医療)."""
    adults = [person("h", "1968-01-01", "世帯主"), person("w", "1971-02-02", "妻", subject=False),
              person("s", "1998-01-01", "子", subject=False)]
    _result, asked = interview_simulate(version=CATALOGUE, events=["shibou"], persons=_persons(adults), on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: False)
    assert [(q.code, q.person_key) for q in asked if q.code == "dependent_of_deceased"] == [
        ("dependent_of_deceased", "w"), ("dependent_of_deceased", "s")]
    child = [person("p", "1985-01-01", "世帯主", subject=False), person("c", "2015-01-01", "子")]
    _result, asked = interview_simulate(version=CATALOGUE, events=["shibou"], persons=_persons(child), on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: False)
    assert "dependent_of_deceased" not in {q.code for q in asked}
    in_kokuho = [person("h", "1968-01-01", "世帯主", elig=("kokuho",)), person("w", "1971-02-02", "妻", subject=False)]
    _result, asked = interview_simulate(version=CATALOGUE, events=["shibou"], persons=_persons(in_kokuho), on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: False)
    assert "dependent_of_deceased" not in {q.code for q in asked}


def test_new_head_left_open_keeps_the_household_filing_until_everybody_answered() -> None:
    household = [person("h", "1970-01-01", "世帯主"), person("w", "1972-02-02", "妻", subject=False),
                 person("s", "2000-03-03", "子", subject=False)]
    answers = {"case": {"moving_destination": "domestic"}, "persons": {"w": {"new_head": False}}}
    result = determine(version=CATALOGUE, events=["tenshutsu"], persons=_persons(household), answers=answers, on=ON,
                       areas=["juki"])
    # still open: the son has not answered; the filing is pending, never dropped
    assert ("juki_setainushi_henkou", None, "pending") in {(i.procedure.code, i.person_key, i.status)
                                                          for i in result.items}
    assert [(q.code, q.person_key) for q in result.questions] == [("new_head", "s")]


def test_split_custody_lists_each_parents_own_children() -> None:
    scenario = next(s for s in SCENARIOS if s.id == "divorce_split_custody_both_parents_claim")
    named = [{**p, "name": {"c1": "長男", "c2": "長女"}.get(p["key"], p["key"])} for p in scenario.persons]
    answers = {"case": dict(scenario.case), "persons": scenario.per_person}
    result = determine(version=CATALOGUE, events=["rikon"], persons=_persons(named), answers=answers, on=ON,
                       areas=list(ALL_AREAS))
    reasons = {i.person_key: i.reasons for i in result.required if i.procedure.code == "jt_nintei"}
    assert reasons == {"h": ("父母で子を分けて養育し、hさん（父）が子（長男）について児童手当を受けます。",),
                       "w": ("父母で子を分けて養育し、wさん（母）が子（長女）について児童手当を受けます。",)}


def test_sensitive_and_secondary_questions_wait_for_the_answers_that_make_them_relevant() -> None:
    """A lone newcomer is not shown the DV question before saying he or she is employee-insured, nor the 修学中の
    特例 before the insurance is known; a person moving within the city with nobody left behind is never asked."""
    lone = _persons([new("a", "1990-04-10", "世帯主")])
    result = determine(version=CATALOGUE, events=["tennyu"], persons=lone, answers={}, on=ON, areas=list(ALL_AREAS))
    codes = [q.code for q in result.questions]
    assert "dv_separation_any" not in codes and "dv_certificate" not in codes and "student_special" not in codes
    answered = {"case": {"any_employee_insurance": True}, "persons": {"a": {"employee_insurance": True}}}
    result = determine(version=CATALOGUE, events=["tennyu"], persons=lone, answers=answered, on=ON,
                       areas=list(ALL_AREAS))
    assert "dv_separation_any" in [q.code for q in result.questions]
    family = _persons([person("f", "1985-05-05", "世帯主"), person("w", "1986-05-05", "妻")])
    result = determine(version=CATALOGUE, events=["tenkyo"], persons=family, answers={}, on=ON, areas=list(ALL_AREAS))
    assert "dv_separation_any" not in [q.code for q in result.questions]


def test_guidance_texts_state_the_legal_dates() -> None:
    procedures = CATALOGUE.procedures
    soushitsu = procedures["kokuho_soushitsu"].guidance
    assert "第8条" in soushitsu and "14日以内" in soushitsu and "その日" in soushitsu and "翌日" in soushitsu
    for code in ("kokuho_kanyu", "kokuho_jusho_henkou", "kokuho_shimei_henkou", "kokuho_setainushi_henkou",
                 "kokuho_setai_henkou"):
        assert "14日以内" in procedures[code].guidance, code
    nintei = procedures["jt_nintei"].guidance
    assert "転出予定日" in nintei and "15日以内" in nintei and "異動日" in nintei
    shuuryou = procedures["juki_shien_shuuryou"].guidance
    assert "続きます" in shuuryou and "解除しない" in shuuryou and "終了します" not in shuuryou
