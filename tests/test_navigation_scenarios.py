"""Determination scenarios for the shipped default catalogue: the EXACT procedure set per person.

Each scenario gives the persons of the case (from the mirror or new), the life events, the date, the
municipality's business areas and every answer the interview needs; the determination must then be
complete (no question left) and list exactly the expected procedures per person (``"*"`` = for the
whole case/household). No database needed: the default catalogue is compiled from its JSON.
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
TESTB_AREAS = ["juki", "kokuho"]


def person(key: str, birth: str, rel: str = "", *, elig: tuple[str, ...] = (), subject: bool = True,
           foreign: bool = False, support: bool = False, mirror: bool = True, name: str = "") -> dict[str, Any]:
    return {"key": key, "name": name or key, "birth_date": birth, "relationship": rel, "eligibilities": list(elig),
            "subject": subject, "foreign": foreign, "residence_status": "技術・人文知識・国際業務" if foreign else "",
            "support_measure": support, "in_mirror": mirror}


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
MOVE_IN = {"juki_tennyu", "juki_card_henkou"}
NO_EMPLOYEE = {"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False}
HEAD72 = person("head", "1954-02-10", "世帯主", elig=("kokuho", "kaigo", "inkan"))
SPOUSE70 = person("spouse", "1956-01-20", "妻", elig=("kokuho", "kaigo"), subject=False)

SCENARIOS = [
    # --- 転入 -----------------------------------------------------------------------------------
    Scenario("family5_kokuho_moving_in", ["tennyu"], FAMILY5, case=NO_EMPLOYEE, expected={
        "father": MOVE_IN | {"kokuho_kanyu"}, "mother": MOVE_IN | {"kokuho_kanyu"},
        "teen": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"},
        "pupil": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
        "toddler": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    Scenario("family5_with_seal_registration", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "inkan_wish_any": True},
             per_person={"father": {"inkan_wish": True}, "mother": {"inkan_wish": False}, "teen": {"inkan_wish": True}},
             expected={"father": MOVE_IN | {"kokuho_kanyu", "inkan_touroku"}, "mother": MOVE_IN | {"kokuho_kanyu"},
                       "teen": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "inkan_touroku"},
                       "pupil": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
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
    Scenario("family5_public_servant_parent", ["tennyu"], FAMILY5,
             case={**NO_EMPLOYEE, "parent_public_servant": True},
             expected={"father": MOVE_IN | {"kokuho_kanyu"}, "mother": MOVE_IN | {"kokuho_kanyu"},
                       "teen": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou"},
                       "pupil": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou", "gak_tennyu"},
                       "toddler": MOVE_IN | {"kokuho_kanyu", "kodomo_iryou"}}),
    Scenario("family5_in_plan_without_kaigo_juki_kokuho", ["tennyu"], FAMILY5, case={"any_employee_insurance": False},
             areas=tuple(TESTB_AREAS), expected={k: MOVE_IN | {"kokuho_kanyu"}
                                                 for k in ("father", "mother", "teen", "pupil", "toddler")}),
    Scenario("family5_in_plan_juki_only", ["tennyu"], FAMILY5, areas=("juki",),
             expected={k: MOVE_IN for k in ("father", "mother", "teen", "pupil", "toddler")}),
    Scenario("single_adult_kokuho_with_seal", ["tennyu"], [new("a", "1996-04-10", "世帯主")],
             case={"any_employee_insurance": False, "inkan_wish_any": True}, per_person={"a": {"inkan_wish": True}},
             expected={"a": MOVE_IN | {"kokuho_kanyu", "inkan_touroku"}}),
    Scenario("age_15_may_register_seal_age_14_not_asked", ["tennyu"],
             [new("mom", "1985-01-01", "世帯主"), new("fifteen", "2011-05-31", "子"),
              new("fourteen", "2011-06-03", "子")],
             case={"any_employee_insurance": True, "inkan_wish_any": True, "parent_public_servant": False},
             per_person={"mom": {"employee_insurance": True, "inkan_wish": False},
                         "fifteen": {"employee_insurance": True, "inkan_wish": True},
                         "fourteen": {"employee_insurance": True}},
             expected={"mom": MOVE_IN,
                       "fifteen": MOVE_IN | {"inkan_touroku", "jt_nintei", "kodomo_iryou", "gak_tennyu"},
                       "fourteen": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"}}),
    Scenario("foreign_resident_moving_in_employee", ["tennyu"], [new("f", "1998-03-03", "世帯主", foreign=True)],
             case={"any_employee_insurance": True, "inkan_wish_any": False},
             per_person={"f": {"employee_insurance": True}}, expected={"f": MOVE_IN | {"juki_zairyu_card"}}),
    Scenario("foreign_resident_moving_in_kokuho", ["tennyu"], [new("f", "1998-03-03", "世帯主", foreign=True)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             expected={"f": MOVE_IN | {"juki_zairyu_card", "kokuho_kanyu"}}),
    Scenario("support_measure_person_moving_in", ["tennyu"], [new("s", "1990-10-10", "世帯主", support=True)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             expected={"s": MOVE_IN | {"juki_shien_sochi", "kokuho_kanyu"}}),
    Scenario("support_measure_mother_with_child_moving_in", ["tennyu"],
             [new("m", "1990-10-10", "世帯主", support=True), new("c", "2021-12-24", "子", support=True)],
             case={"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False},
             expected={"m": MOVE_IN | {"juki_shien_sochi", "kokuho_kanyu"},
                       "c": MOVE_IN | {"juki_shien_sochi", "kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    Scenario("age_65_on_the_day_before_birthday", ["tennyu"], [new("x", "1961-06-02", "世帯主")],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "care_certified": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kaigo_shutoku"}}),
    Scenario("age_64_two_days_before_birthday", ["tennyu"], [new("x", "1961-06-03", "世帯主")],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             expected={"x": MOVE_IN | {"kokuho_kanyu"}}),
    Scenario("day_before_75th_birthday_still_kokuho", ["tennyu"], [new("x", "1951-06-02", "世帯主")],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "care_certified": False}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha", "kaigo_shutoku"}}),
    Scenario("75th_birthday_kouki", ["tennyu"], [new("x", "1951-06-01", "世帯主")],
             case={"inkan_wish_any": False}, per_person={"x": {"care_certified": False}},
             expected={"x": MOVE_IN | {"kouki_kanyu", "kaigo_shutoku"}}),
    Scenario("68_with_certified_disability_kouki", ["tennyu"], [new("x", "1958-01-05", "世帯主")],
             case={"inkan_wish_any": False}, per_person={"x": {"disability_certified": True, "care_certified": False}},
             expected={"x": MOVE_IN | {"kouki_kanyu", "kaigo_shutoku"}}),
    Scenario("72_with_care_certification", ["tennyu"], [new("x", "1954-01-05", "世帯主")],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"x": {"disability_certified": False, "care_certified": True}},
             expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha", "kaigo_shutoku",
                                       "kaigo_nintei_hikitsugi"}}),
    Scenario("70_in_plan_without_kaigo_kouki", ["tennyu"], [new("x", "1955-09-09", "世帯主")],
             case={"any_employee_insurance": False}, per_person={"x": {"disability_certified": False}},
             areas=tuple(TESTB_AREAS), expected={"x": MOVE_IN | {"kokuho_kanyu", "kokuho_kourei_jukyusha"}}),
    Scenario("child_born_april_1_is_in_the_earlier_grade", ["tennyu"],
             [new("p", "1990-01-01", "世帯主"), new("c", "2020-04-01", "子")],
             case={"any_employee_insurance": True, "inkan_wish_any": False, "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_tennyu"}}),
    Scenario("child_born_april_2_enters_school_next_april", ["tennyu"],
             [new("p", "1990-01-01", "世帯主"), new("c", "2020-04-02", "子")],
             case={"any_employee_insurance": True, "inkan_wish_any": False, "parent_public_servant": False},
             per_person={"p": {"employee_insurance": True}, "c": {"employee_insurance": True}},
             expected={"p": MOVE_IN, "c": MOVE_IN | {"jt_nintei", "kodomo_iryou", "gak_shugaku_yotei"}}),
    Scenario("born_april_1_2008_leaves_high_school_age_on_april_1", ["tennyu"],
             [new("y", "2008-04-01", "世帯主")], on=date(2026, 4, 1),
             case={"any_employee_insurance": True, "inkan_wish_any": False},
             per_person={"y": {"employee_insurance": True}}, expected={"y": MOVE_IN}),
    Scenario("born_april_2_2008_still_high_school_age", ["tennyu"],
             [new("y", "2008-04-02", "子")], on=date(2026, 4, 1),
             case={"any_employee_insurance": True, "inkan_wish_any": False, "parent_public_servant": False},
             per_person={"y": {"employee_insurance": True, "inkan_wish": False}},
             expected={"y": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    Scenario("born_april_1_2008_on_march_31_still_high_school_age", ["tennyu"],
             [new("y", "2008-04-01", "子")], on=date(2026, 3, 31),
             case={"any_employee_insurance": True, "inkan_wish_any": False, "parent_public_servant": False},
             per_person={"y": {"employee_insurance": True, "inkan_wish": False}},
             expected={"y": MOVE_IN | {"jt_nintei", "kodomo_iryou"}}),
    # --- 転出 -----------------------------------------------------------------------------------
    Scenario("75_year_old_moving_out", ["tenshutsu"],
             [person("old", "1951-03-10", "世帯主", elig=("kouki", "kaigo", "inkan"))],
             case={"moving_destination": "domestic"},
             expected={"old": {"juki_tenshutsu", "inkan_haishi", "kouki_soushitsu", "kaigo_soushitsu"}}),
    Scenario("75_year_old_moving_abroad", ["tenshutsu"],
             [person("old", "1951-03-10", "世帯主", elig=("kouki", "kaigo", "inkan"))],
             case={"moving_destination": "abroad"},
             expected={"old": {"juki_tenshutsu", "inkan_haishi", "kouki_soushitsu", "kaigo_soushitsu",
                               "zei_nouzei_kanrinin"}}),
    Scenario("family_moving_out_with_pupil", ["tenshutsu"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "inkan", "jidou_teate")),
              person("c", "2016-05-05", "子", elig=("kokuho",))],
             case={"moving_destination": "domestic"},
             expected={"f": {"juki_tenshutsu", "inkan_haishi", "kokuho_soushitsu", "jt_shoumetsu"},
                       "c": {"juki_tenshutsu", "kokuho_soushitsu", "gak_tenshutsu"}}),
    Scenario("support_measure_person_moving_out", ["tenshutsu"],
             [person("s", "1990-10-10", "世帯主", elig=("kokuho",), support=True)],
             case={"moving_destination": "domestic"},
             expected={"s": {"juki_shien_sochi", "juki_tenshutsu", "kokuho_soushitsu"}}),
    Scenario("moving_out_one_member_only", ["tenshutsu"],
             [person("h", "1970-01-01", "世帯主", elig=("kokuho",), subject=False),
              person("son", "2000-02-02", "子", elig=("kokuho", "inkan"))], case={"moving_destination": "domestic"},
             expected={"son": {"juki_tenshutsu", "kokuho_soushitsu", "inkan_haishi"}}),
    # --- 転居・世帯変更 ---------------------------------------------------------------------------
    Scenario("family_moving_within_city", ["tenkyo"],
             [person("f", "1985-05-05", "世帯主", elig=("kokuho", "jidou_teate")),
              person("c", "2016-05-05", "子", elig=("kokuho",))],
             expected={"f": {"juki_tenkyo", "juki_card_henkou", "kokuho_jusho_henkou", "jt_jusho_henkou"},
                       "c": {"juki_tenkyo", "juki_card_henkou", "kokuho_jusho_henkou", "gak_tennyu"}}),
    Scenario("foreign_elderly_moving_within_city", ["tenkyo"],
             [person("g", "1948-08-08", "世帯主", elig=("kouki", "kaigo"), foreign=True)],
             expected={"g": {"juki_tenkyo", "juki_card_henkou", "juki_zairyu_card", "kouki_henkou", "kaigo_henkou"}}),
    Scenario("support_measure_moving_within_city", ["tenkyo"],
             [person("s", "1990-10-10", "世帯主", support=True)],
             expected={"s": {"juki_shien_sochi", "juki_tenkyo", "juki_card_henkou"}}),
    Scenario("household_split", ["setai_henkou"],
             [person("h", "1960-01-01", "世帯主", subject=False), person("d", "1995-01-01", "子", elig=("kokuho",))],
             expected={"d": {"juki_setai_henkou"}}),
    # --- 出生 -----------------------------------------------------------------------------------
    Scenario("birth_in_kokuho_household", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("kokuho",), subject=False),
              person("m", "1992-07-07", "妻", elig=("kokuho",), subject=False), new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": False},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    Scenario("birth_in_employee_household_already_receiving_teate", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("jidou_teate",), subject=False),
              person("m", "1992-07-07", "妻", subject=False), person("sib", "2022-02-02", "子", subject=False),
              new("baby", "2026-05-20", "子")],
             expected={"baby": {"koseki_shussei", "jt_gakukaitei", "kodomo_iryou"}}),
    Scenario("birth_parents_not_in_mirror_kokuho", ["shussei"],
             [new("m", "1992-07-07", "世帯主", subject=False), new("baby", "2026-05-20", "子")],
             case={"parents_kokuho": True, "parent_public_servant": False},
             expected={"baby": {"koseki_shussei", "kokuho_kanyu", "jt_nintei", "kodomo_iryou"}}),
    Scenario("birth_public_servant_parent", ["shussei"],
             [person("f", "1990-03-03", "世帯主", subject=False), new("baby", "2026-05-20", "子")],
             case={"parent_public_servant": True},
             expected={"baby": {"koseki_shussei", "kodomo_iryou"}}),
    Scenario("birth_in_plan_without_koseki_or_teate", ["shussei"],
             [person("f", "1990-03-03", "世帯主", elig=("kokuho",), subject=False), new("baby", "2026-05-20", "子")],
             areas=tuple(TESTB_AREAS), expected={"baby": {"kokuho_kanyu"}}),
    # --- 死亡 -----------------------------------------------------------------------------------
    Scenario("death_of_head_with_70_year_old_spouse", ["shibou"], [HEAD72, SPOUSE70],
             case={"funeral_held": True, "public_pension": True},
             expected={"head": {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                                "kokuho_sousaihi", "nenkin_shibou", "kaigo_soushitsu"},
                       "*": {"kokuho_setainushi_henkou"}}),
    Scenario("death_of_head_no_funeral_no_pension", ["shibou"], [HEAD72, SPOUSE70],
             case={"funeral_held": False, "public_pension": False},
             expected={"head": {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                                "kaigo_soushitsu"}, "*": {"kokuho_setainushi_henkou"}}),
    Scenario("death_of_head_in_plan_without_kaigo", ["shibou"], [HEAD72, SPOUSE70],
             case={"funeral_held": True, "public_pension": True}, areas=tuple(TESTB_AREAS),
             expected={"head": {"kokuho_soushitsu", "kokuho_sousaihi", "nenkin_shibou"},
                       "*": {"kokuho_setainushi_henkou"}}),
    Scenario("death_of_kouki_head_with_two_adults_left", ["shibou"],
             [person("head", "1946-01-01", "世帯主", elig=("kouki", "kaigo")),
              person("wife", "1948-02-02", "妻", elig=("kouki", "kaigo"), subject=False),
              person("son", "1976-03-03", "子", subject=False)],
             case={"funeral_held": True, "public_pension": True, "dependent_of_deceased": False},
             expected={"head": {"koseki_shibou", "zei_souzokunin", "kouki_soushitsu", "kouki_sousaihi",
                                "kaigo_soushitsu", "nenkin_shibou"}, "*": {"juki_setainushi_henkou"}}),
    Scenario("death_survivor_was_dependent", ["shibou"],
             [person("head", "1968-01-01", "世帯主"), person("wife", "1971-02-02", "妻", subject=False)],
             case={"public_pension": False, "dependent_of_deceased": True},
             expected={"head": {"koseki_shibou", "zei_souzokunin"}, "wife": {"kokuho_kanyu"}}),
    Scenario("death_of_non_head_in_kokuho_household", ["shibou"],
             [person("h", "1950-01-01", "世帯主", elig=("kokuho", "kaigo"), subject=False),
              person("w", "1952-02-02", "妻", elig=("kokuho", "kaigo", "inkan"))],
             case={"funeral_held": True, "public_pension": True},
             expected={"w": {"koseki_shibou", "inkan_haishi", "zei_souzokunin", "kokuho_soushitsu",
                             "kokuho_sousaihi", "nenkin_shibou", "kaigo_soushitsu"}}),
    Scenario("death_of_certified_care_recipient", ["shibou"],
             [person("x", "1940-01-01", "世帯主", elig=("kouki", "kaigo", "kaigo_certified"))],
             case={"funeral_held": False, "public_pension": True},
             expected={"x": {"koseki_shibou", "zei_souzokunin", "kouki_soushitsu", "kaigo_soushitsu",
                             "nenkin_shibou"}}),
    Scenario("death_of_teate_recipient", ["shibou"],
             [person("x", "1985-01-01", "世帯主", elig=("kokuho", "jidou_teate")),
              person("c", "2015-01-01", "子", elig=("kokuho",), subject=False)],
             case={"funeral_held": True, "public_pension": False},
             expected={"x": {"koseki_shibou", "zei_souzokunin", "kokuho_soushitsu", "kokuho_sousaihi",
                             "jt_shoumetsu"}, "*": {"kokuho_setainushi_henkou"}}),
    # --- 婚姻・離婚 -------------------------------------------------------------------------------
    Scenario("marriage_with_change_of_surname", ["kon-in"],
             [person("bride", "1995-05-05", "世帯主", elig=("kokuho", "inkan")),
              person("groom", "1994-04-04", "世帯主")],
             per_person={"bride": {"surname_change": True}, "groom": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "bride": {"juki_card_henkou", "inkan_saitouroku",
                                                         "kokuho_shimei_henkou"}}),
    Scenario("marriage_without_change_of_surname_for_kokuho_person", ["kon-in"],
             [person("a", "1995-05-05", "世帯主", elig=("kokuho",)), person("b", "1994-04-04", "世帯主")],
             per_person={"a": {"surname_change": False}, "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}}),
    Scenario("late_marriage_elderly_changes_surname", ["kon-in"],
             [person("a", "1950-05-05", "世帯主", elig=("kouki", "kaigo")), person("b", "1949-04-04", "世帯主")],
             per_person={"a": {"surname_change": True}, "b": {"surname_change": False}},
             expected={"*": {"koseki_kon-in"}, "a": {"juki_card_henkou", "kouki_henkou", "kaigo_henkou"}}),
    Scenario("moving_in_and_marrying", ["tennyu", "kon-in"],
             [new("bride", "1995-05-05", "妻"),
              person("groom", "1994-04-04", "世帯主", elig=("kokuho",), subject=False)],
             case={"any_employee_insurance": False, "inkan_wish_any": False},
             per_person={"bride": {"surname_change": True}},
             expected={"*": {"koseki_kon-in"}, "bride": MOVE_IN | {"kokuho_kanyu"}}),
    Scenario("divorce_with_children", ["rikon"],
             [person("m", "1988-08-08", "世帯主", elig=("kokuho", "inkan")),
              person("c1", "2014-01-01", "子", elig=("kokuho",), subject=False),
              person("c2", "2019-01-01", "子", elig=("kokuho",), subject=False)],
             per_person={"m": {"surname_change": True}},
             expected={"*": {"koseki_rikon", "jt_jukyusha_kakunin"},
                       "m": {"juki_card_henkou", "inkan_saitouroku", "kokuho_shimei_henkou"}}),
    Scenario("divorce_without_children_keeping_surname", ["rikon"],
             [person("m", "1988-08-08", "世帯主", elig=("kokuho",))], per_person={"m": {"surname_change": False}},
             expected={"*": {"koseki_rikon"}}),
]


def _run(scenario: Scenario):  # noqa: ANN202
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(scenario.persons)]
    answers = {"case": dict(scenario.case), "persons": {k: dict(v) for k, v in scenario.per_person.items()}}
    return determine(version=CATALOGUE, events=scenario.events, persons=persons, answers=answers, on=scenario.on,
                     areas=list(scenario.areas))


def test_there_are_at_least_40_scenarios() -> None:
    assert len(SCENARIOS) >= 40
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)


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


def test_family_of_five_interview_asks_three_questions() -> None:
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY5)]
    answers = {"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False}
    result, asked = interview_simulate(version=CATALOGUE, events=["tennyu"], persons=persons, on=ON,
                                       areas=list(ALL_AREAS), respond=lambda q: answers[q.code])
    assert [q.code for q in asked] == ["any_employee_insurance", "inkan_wish_any", "parent_public_servant"]
    assert all(q.person_key is None for q in asked)
    assert result.procedure_codes_by_person() == _run(SCENARIOS[0]).procedure_codes_by_person()


def test_interview_asks_per_person_only_when_the_case_answer_is_not_enough() -> None:
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY5)]
    script = {"any_employee_insurance": True, "employee_insurance": True, "inkan_wish_any": True,
              "inkan_wish": False, "parent_public_servant": False}
    _result, asked = interview_simulate(version=CATALOGUE, events=["tennyu"], persons=persons, on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: script[q.code])
    asked_pairs = [(q.code, q.person_key) for q in asked]
    # seal registration is asked only of the three persons aged 15 or over
    assert [k for c, k in asked_pairs if c == "inkan_wish"] == ["father", "mother", "teen"]
    assert [k for c, k in asked_pairs if c == "employee_insurance"] == ["father", "mother", "teen", "pupil",
                                                                      "toddler"]
    assert len(asked) == 3 + 5 + 3


def test_death_interview_skips_questions_that_cannot_matter() -> None:
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate([HEAD72, SPOUSE70])]
    _result, asked = interview_simulate(version=CATALOGUE, events=["shibou"], persons=persons, on=ON,
                                        areas=list(ALL_AREAS), respond=lambda q: True)
    # the spouse already has 国保, so "dependent of the deceased" is never asked
    assert [q.code for q in asked] == ["funeral_held", "public_pension"]


def test_questions_of_areas_outside_the_plan_are_never_asked() -> None:
    persons = [person_facts_from_dict(new("x", "1955-09-09", "世帯主"))]
    result = determine(version=CATALOGUE, events=["tennyu"], persons=persons, answers={}, on=ON, areas=["juki"])
    assert result.questions == [] and result.procedure_codes_by_person() == {"x": MOVE_IN}


def test_first_questions_and_pending_procedures_before_any_answer() -> None:
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY5)]
    result = determine(version=CATALOGUE, events=["tennyu"], persons=persons, answers={}, on=ON,
                       areas=list(ALL_AREAS))
    assert result.questions[0].code == "any_employee_insurance"
    pending = {(i.procedure.code, i.person_key) for i in result.items if i.status == "pending"}
    assert ("kokuho_kanyu", "father") in pending and ("jt_nintei", "teen") in pending
    assert {("juki_tennyu", k) for k in ("father", "mother", "teen", "pupil", "toddler")} <= {
        (i.procedure.code, i.person_key) for i in result.required}


def test_reasons_documents_counter_and_legal_basis_are_given() -> None:
    result = _run(SCENARIOS[0])
    item = next(i for i in result.required if i.procedure.code == "kokuho_kanyu" and i.person_key == "father")
    assert item.reasons == ("fatherさんは勤務先の健康保険に加入しておらず、75歳未満です。",)
    assert item.procedure.counter == "保険年金窓口" and item.procedure.department == "保険年金課"
    assert item.procedure.documents and item.procedure.legal_basis.startswith("国民健康保険法")
    assert item.procedure.legal_url.startswith("https://laws.e-gov.go.jp/law/")
    pupil = next(i for i in result.required if i.procedure.code == "gak_tennyu")
    assert pupil.reasons == ("pupilさんは学齢期（学年：4年目）の子です。",)
