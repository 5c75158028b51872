"""Household facts at an event date — the variables rules are written against.

``PersonFacts`` describes one person of a case, either read from the core-system mirror
(``household_facts`` / ``person_facts_from_mirror``) or built from what the visitor says
(``person_facts_new`` for newcomers moving in and newborns; ``person_facts_from_dict`` for JSON from
the API or the "try it" panel). ``person_context`` / ``household_context`` turn them into the plain
dictionaries the JsonLogic rules read (``person.age``, ``household.kokuho_any`` …). The variable
names are listed with their Japanese descriptions in ``PERSON_VARS`` / ``HOUSEHOLD_VARS`` (shown in the
admin editor and used to validate rules).

Japanese legal rules implemented here (see ``navigation.jsonlogic`` for the date arithmetic):
- 年齢計算ニ関スル法律: a person becomes a year older the day BEFORE the birthday (``person.age``);
  ``person.age_calendar`` counts from the birthday itself (後期高齢者医療: 75歳の誕生日から).
- 学年: school year starts 4月1日; children born on 4月1日 belong to the earlier grade (早生まれ).
- 高校生年代: until the first 3月31日 after turning 18 (18歳に達する日以後の最初の3月31日).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from madoguchi.inputs import date_in_range, date_range_message
from navigation.jsonlogic import Unknown, calendar_age, legal_age, school_grade

# Eligibility flags (``person.elig.<flag>``) derived from mirror records: area -> flag.
ELIGIBILITY_FLAGS: dict[str, str] = {
    "kokuho": "国民健康保険 被保険者",
    "kaigo": "介護保険 第1号被保険者",
    "kaigo2": "介護保険 第2号被保険者（国保加入者の40〜64歳）",
    "kaigo_certified": "要介護・要支援認定あり",
    "kouki": "後期高齢者医療 被保険者",
    "jidou_teate": "児童手当 受給者",
    "inkan": "印鑑登録あり",
}

SCHOOL_STAGES = {
    "infant": "未就学（就学前年より前）",
    "preschool_last": "就学前年（翌4月に小学校入学）",
    "elementary": "小学生年代",
    "junior_high": "中学生年代",
    "high_school": "高校生年代",
    "adult": "高校生年代より後",
}

PERSON_VARS: dict[str, str] = {
    "person.key": "ケース内の人の識別子",
    "person.name": "氏名",
    "person.birth_date": "生年月日（YYYY-MM-DD）",
    "person.age": "年齢（年齢計算ニ関スル法律：誕生日の前日に加齢）",
    "person.age_calendar": "年齢（誕生日当日に加齢）",
    "person.school_grade": "学年（1〜6 小学校、7〜9 中学校、10〜12 高校生年代、0 就学前年）",
    "person.school_stage": "学齢区分（" + "・".join(SCHOOL_STAGES) + "）",
    "person.school_age": "学齢（小学校・中学校の年代）",
    "person.upto_high_school": "高校生年代まで（18歳到達後最初の3月31日まで）",
    "person.relationship": "続柄",
    "person.is_head": "世帯主",
    "person.sex": "性別（1 男・2 女・9 その他）",
    "person.subject": "届出・事由の対象者（転入する人、亡くなった人、生まれた子、婚姻する人など）",
    "person.in_mirror": "住民記録（データミラー）にいる",
    "person.foreign": "外国人住民",
    "person.nationality": "国籍・地域",
    "person.residence_status": "在留資格",
    "person.entry_date": "入国（上陸）年月日（外国人住民、YYYY-MM-DD、不明なら空）",
    "person.card_known": "マイナンバーカードの所持が分かっている（住民記録のカード状況、窓口でのカード読取り）",
    "person.card_holding": "マイナンバーカードを持っている（person.card_known のときだけ意味がある。"
                           "分からなければ質問 card_holding で尋ねる）",
    "person.kaigo_insured_card": "介護保険の被保険者証を持つ（第1号、または要介護・要支援認定のある第2号）",
    "person.support_measure": "支援措置（DV等）対象",
    "person.address_restricted": "住所の非表示（支援措置）",
    "person.insurance": "医療保険の種別（kokuho・kouki・other・unknown）",
    "person.parent_role": "父母の別（father・mother。性別、または続柄（夫・妻、妻のいる世帯主など）から。"
                          "分からなければ未確定＝職員が確認）",
    "person.elig": "資格情報（下記 person.elig.*）",
    **{f"person.elig.{flag}": label for flag, label in ELIGIBILITY_FLAGS.items()},
}

HOUSEHOLD_VARS: dict[str, str] = {
    "household.size": "世帯の人数（ケースの人）",
    "household.in_mirror": "住民記録にいる人がいる",
    "household.members": "世帯員の一覧（some/all/none/count で person.* と同じ項目を参照）",
    "household.head_subject": "世帯主が届出・事由の対象者",
    "household.others_count": "対象者以外の人数",
    "household.others_15plus_count": "対象者以外で15歳以上の人数",
    "household.kokuho_any": "国保被保険者がいる（住民記録にいない世帯は不明）",
    "household.others_kokuho_any": "対象者以外に国保被保険者がいる",
    "household.jidou_teate_any": "児童手当の受給者がいる（住民記録にいない世帯は不明）",
    "household.children_upto_high_school": "高校生年代までの子の人数",
    "household.children_names": "高校生年代までの子の氏名（読点区切り）",
    "household.support_measure_any": "支援措置対象者がいる",
    "household.jt_children": "児童手当を新たに受ける方が養育する子の氏名（対象者以外の高校生年代までの子のうち、"
                             "質問 jt_child_claimed に「はい」の子。未回答の子がいれば未確定）",
    "household.jt_new_recipients": "質問 jt_new_recipient に「はい」と答えた人数（父母で子を分けて養育すると2）",
    "household.jt_children_father": "父が養育して児童手当を受ける子の氏名（質問 jt_child_keeper が「父」の子。"
                                    "未回答の子がいれば未確定）",
    "household.jt_children_mother": "母が養育して児童手当を受ける子の氏名（質問 jt_child_keeper が「母」の子）",
    "household.new_head_chosen": "新しい世帯主が決まった（対象者以外の15歳以上の誰かが質問 new_head に「はい」）。"
                                 "全員が「いいえ」なら偽、未回答の人がいれば未確定",
    "household.newborn_parents_kokuho_known": "生まれた子の父母（続柄から判断：子なら世帯主・妻・夫、孫なら子・子の妻・"
                                              "子の夫）の国保加入が住民記録で分かり、全員同じ",
    "household.newborn_parents_kokuho": "生まれた子の父母が国保被保険者（…_known のときだけ意味がある）",
    "household.newborn_mother_kokuho_known": "生まれた子の母（性別が女、または続柄が妻・子の妻）が1人に決まり、"
                                             "国保加入が住民記録で分かる",
    "household.newborn_mother_kokuho": "生まれた子の母が国保被保険者（…_known のときだけ意味がある）",
}

OTHER_VARS: dict[str, str] = {
    "on": "基準日（届出日・事由発生日、YYYY-MM-DD）",
    "on_month": "基準日の月（1〜12）",
    "events": "選択された異動事由のコードの一覧",
}

ELEMENT_PREFIX = "person."


@dataclass(frozen=True)
class PersonFacts:
    """One person of a case. ``key`` is stable within the case (宛名番号 or e.g. ``new-1``)."""

    key: str
    name: str = ""
    birth_date: date | None = None
    relationship: str = ""
    sex: str = ""
    subject: bool = True
    in_mirror: bool = False
    atena_no: str = ""
    foreign: bool = False
    nationality: str = ""
    residence_status: str = ""
    support_measure: bool = False
    address_restricted: bool = False
    eligibilities: frozenset[str] = field(default_factory=frozenset)
    eligibility_kinds: tuple[str, ...] = ()
    # 入国（上陸）年月日 of a foreign newcomer, when known.
    entry_date: date | None = None
    # My Number card holding: True/False when known (the mirror's card status where the core system
    # delivers it, else a card read at the counter — see ``navigation.cardholding``); None = not known,
    # then rules fall back to the answer to ``card_holding``.
    card_holding: bool | None = None
    # Answers to per-person questions already known when the person was added (e.g. from the intake).
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def is_head(self) -> bool:
        return self.relationship == "世帯主"

    def with_subject(self, subject: bool) -> PersonFacts:
        return replace(self, subject=subject)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the inverse of ``person_facts_from_dict``)."""
        return {
            "key": self.key, "name": self.name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "relationship": self.relationship, "sex": self.sex, "subject": self.subject,
            "in_mirror": self.in_mirror, "atena_no": self.atena_no, "foreign": self.foreign,
            "nationality": self.nationality, "residence_status": self.residence_status,
            "support_measure": self.support_measure, "address_restricted": self.address_restricted,
            "eligibilities": sorted(self.eligibilities), "eligibility_kinds": list(self.eligibility_kinds),
            "entry_date": self.entry_date.isoformat() if self.entry_date else None,
            "card_holding": self.card_holding, "answers": dict(self.answers),
        }


# The core system may deliver the My Number card status as an eligibility record of 住民基本台帳.
CARD_KINDS = ("マイナンバーカード", "個人番号カード", "mynumber_card")
CARD_GONE = ("返納", "失効", "廃止", "未交付", "revoked", "expired", "returned")


def _eligibility_flags(records: list[Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    flags: set[str] = set()
    kinds: list[str] = []
    for record in records:
        area, kind = record.area, record.kind or ""
        kinds.append(f"{area}:{kind}")
        if area == "kaigo":
            # A 第2号被保険者 certified for a 特定疾病 carries both flags; a 第1号 one too.
            if "認定" in kind or "certif" in kind:
                flags.add("kaigo_certified")
            if "2" in kind or "２" in kind:
                flags.add("kaigo2")
            elif "認定" not in kind and "certif" not in kind:
                flags.add("kaigo")
            elif "1" in kind or "１" in kind:
                flags.add("kaigo")
        elif area in ELIGIBILITY_FLAGS:
            flags.add(area)
    return frozenset(flags), tuple(kinds)


def card_status_from_records(records: list[Any]) -> bool | None:
    """The mirror's My Number card status: True (holds a valid card), False (returned, expired, not
    issued) or None when the core system delivered no card status for the person."""
    status: bool | None = None
    for record in records:
        if record.area != "juki" or not any(k in (record.kind or "") for k in CARD_KINDS):
            continue
        text = f"{record.kind} {(getattr(record, 'details', None) or {}).get('status', '')}"
        status = not any(word in text for word in CARD_GONE)
        if status:
            return True
    return status


def person_facts_from_mirror(
    view: Any, *, eligibilities: list[Any] = (), subject: bool = True, answers: dict[str, Any] | None = None
) -> PersonFacts:
    """Facts of a person read through ``integration.selectors`` (a ``PersonView``)."""
    records = list(eligibilities)
    flags, kinds = _eligibility_flags(records)
    return PersonFacts(
        key=view.atena_no, atena_no=view.atena_no, name=view.name, birth_date=view.birth_date,
        relationship=view.relationship, sex=view.sex, subject=subject, in_mirror=True,
        foreign=view.kind == "foreign", nationality=view.nationality, residence_status=view.residence_status,
        support_measure=view.support_measure, address_restricted=view.address_restricted,
        eligibilities=flags, eligibility_kinds=kinds, answers=dict(answers or {}),
        card_holding=card_status_from_records(records),
    )


def household_facts(
    *, household_no: str, on: date, subjects: list[str] | None = None, include_departed: bool = False
) -> list[PersonFacts]:
    """Facts of every member of a mirror household on ``on`` (head first).

    ``subjects`` lists the 宛名番号 the event concerns (None = everybody). Eligibilities and support
    measures are those current on ``on``. Addresses are never needed here, so support-measure
    restrictions stay in force (``allow_restricted`` is not used).
    """
    from integration import selectors

    members = selectors.household_members(household_no=household_no, on=on, include_departed=include_departed)
    records = selectors.eligibilities_for(atena_nos=[m.atena_no for m in members], on=on)
    return [
        person_facts_from_mirror(
            member, eligibilities=records.get(member.atena_no, []),
            subject=subjects is None or member.atena_no in subjects,
        )
        for member in members
    ]


def person_facts_new(
    *,
    key: str,
    birth_date: date,
    name: str = "",
    relationship: str = "",
    sex: str = "",
    subject: bool = True,
    foreign: bool = False,
    nationality: str = "",
    residence_status: str = "",
    support_measure: bool = False,
    entry_date: date | None = None,
    card_holding: bool | None = None,
    answers: dict[str, Any] | None = None,
) -> PersonFacts:
    """A person not (yet) in the mirror: someone moving in, a newborn. Eligibilities start empty."""
    return PersonFacts(
        key=key, name=name, birth_date=birth_date, relationship=relationship, sex=sex, subject=subject,
        in_mirror=False, foreign=foreign, nationality=nationality, residence_status=residence_status,
        support_measure=support_measure, address_restricted=support_measure, entry_date=entry_date,
        card_holding=card_holding, answers=dict(answers or {}),
    )


class FactsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def person_facts_from_dict(data: dict[str, Any], *, index: int = 0) -> PersonFacts:
    """Build PersonFacts from JSON (API, "try it" panel). Raises FactsError listing every problem."""
    problems: list[str] = []
    where = f"persons[{index}]"
    if not isinstance(data, dict):
        raise FactsError([f"{where}: オブジェクトではありません"])
    birth: date | None = None
    raw_birth = data.get("birth_date")
    if raw_birth in (None, ""):
        problems.append(f"{where}.birth_date: 生年月日は必須です")
    else:
        try:
            birth = date.fromisoformat(str(raw_birth))
        except ValueError:
            problems.append(f"{where}.birth_date: 日付（YYYY-MM-DD）ではありません: {raw_birth}")
        else:
            if not date_in_range(birth):
                problems.append(f"{where}.birth_date: {date_range_message('birth_date')}")
                birth = None
    flags = data.get("eligibilities") or []
    if not isinstance(flags, list) or any(not isinstance(flag, str) or flag not in ELIGIBILITY_FLAGS
                                          for flag in flags):
        problems.append(f"{where}.eligibilities: 使用できる値は {', '.join(ELIGIBILITY_FLAGS)} です")
        flags = []
    answers = data.get("answers") or {}
    if not isinstance(answers, dict):
        problems.append(f"{where}.answers: オブジェクトではありません")
        answers = {}
    entry: date | None = None
    if data.get("entry_date") not in (None, ""):
        try:
            entry = date.fromisoformat(str(data["entry_date"]))
        except ValueError:
            problems.append(f"{where}.entry_date: 日付（YYYY-MM-DD）ではありません: {data['entry_date']}")
    card = data.get("card_holding")
    if card is not None and not isinstance(card, bool):
        problems.append(f"{where}.card_holding: true・false・null のいずれかです")
        card = None
    if problems:
        raise FactsError(problems)
    support = bool(data.get("support_measure", False))
    return PersonFacts(
        key=str(data.get("key") or f"p{index + 1}"), name=str(data.get("name", "")), birth_date=birth,
        relationship=str(data.get("relationship", "")), sex=str(data.get("sex", "")),
        subject=bool(data.get("subject", True)), in_mirror=bool(data.get("in_mirror", False)),
        atena_no=str(data.get("atena_no", "")), foreign=bool(data.get("foreign", False)),
        nationality=str(data.get("nationality", "")), residence_status=str(data.get("residence_status", "")),
        support_measure=support, address_restricted=bool(data.get("address_restricted", support)),
        eligibilities=frozenset(flags), entry_date=entry, card_holding=card, answers=dict(answers),
    )


def school_stage(grade: int) -> str:
    if grade <= -1:
        return "infant"
    if grade == 0:
        return "preschool_last"
    if grade <= 6:
        return "elementary"
    if grade <= 9:
        return "junior_high"
    if grade <= 12:
        return "high_school"
    return "adult"


def person_context(person: PersonFacts, *, on: date) -> dict[str, Any]:
    """The ``person.*`` variables of one person on ``on`` (without answers)."""
    birth = person.birth_date
    if birth is not None:
        age: Any = legal_age(birth, on)
        age_cal: Any = calendar_age(birth, on)
        grade: Any = school_grade(birth, on)
        stage: Any = school_stage(grade)
    else:
        age = age_cal = grade = stage = Unknown(("person.birth_date",))
    elig = {flag: flag in person.eligibilities for flag in ELIGIBILITY_FLAGS}
    if elig["kouki"]:
        insurance = "kokuho" if elig["kokuho"] else "kouki"
    elif elig["kokuho"]:
        insurance = "kokuho"
    else:
        insurance = "other" if person.in_mirror else "unknown"
    return {
        "key": person.key, "name": person.name, "birth_date": birth.isoformat() if birth else None,
        "age": age, "age_calendar": age_cal, "school_grade": grade, "school_stage": stage,
        "school_age": stage in ("elementary", "junior_high") if isinstance(stage, str) else stage,
        "upto_high_school": grade <= 12 if isinstance(grade, int) else grade,
        "relationship": person.relationship, "is_head": person.is_head, "sex": person.sex,
        "subject": person.subject, "in_mirror": person.in_mirror, "foreign": person.foreign,
        "nationality": person.nationality, "residence_status": person.residence_status,
        "support_measure": person.support_measure, "address_restricted": person.address_restricted,
        "entry_date": person.entry_date.isoformat() if person.entry_date else None,
        "card_known": person.card_holding is not None, "card_holding": bool(person.card_holding),
        "kaigo_insured_card": elig["kaigo"] or elig["kaigo_certified"],
        "insurance": insurance, "elig": elig,
    }


def household_context(persons: list[PersonFacts], contexts: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``household.*`` variables for the persons of a case (``contexts`` from ``person_context``)."""
    in_mirror = any(p.in_mirror for p in persons)
    others = [c for p, c in zip(persons, contexts, strict=True) if not p.subject]
    unknown_kokuho = Unknown(("household.kokuho_any",))
    unknown_teate = Unknown(("household.jidou_teate_any",))
    return {
        "size": len(persons),
        "in_mirror": in_mirror,
        "members": contexts,
        "head_subject": any(p.is_head and p.subject for p in persons),
        "others_count": len(others),
        "others_15plus_count": sum(1 for c in others if isinstance(c["age"], int) and c["age"] >= 15),
        "kokuho_any": any(c["elig"]["kokuho"] for c in contexts) if in_mirror else unknown_kokuho,
        "others_kokuho_any": any(c["elig"]["kokuho"] for c in others),
        "jidou_teate_any": any(c["elig"]["jidou_teate"] for c in contexts) if in_mirror else unknown_teate,
        "children_upto_high_school": sum(1 for c in contexts if c["upto_high_school"] is True),
        "children_names": "、".join(c["name"] or c["key"] for c in contexts if c["upto_high_school"] is True),
        "support_measure_any": any(p.support_measure for p in persons),
        **_newborn_parents(persons, contexts),
        **_parent_roles(persons, contexts),
    }


FATHER_RELATIONSHIPS = ("夫", "夫（未届）", "子の夫")
WIVES = ("妻", "妻（未届）")
HUSBANDS = ("夫", "夫（未届）")


def parent_role_of(*, sex: str, relationship: str, is_head: bool, relationships: set[str]) -> str | None:
    """'father' / 'mother' of a parent: from the sex when known, else from the relationship to the head (夫・妻・
    子の妻…; a head whose 妻 is in the case is the father). None when neither tells."""
    if sex in ("1", "2"):
        return "father" if sex == "1" else "mother"
    if relationship in FATHER_RELATIONSHIPS:
        return "father"
    if relationship in MOTHER_RELATIONSHIPS:
        return "mother"
    if is_head and relationships & set(WIVES):
        return "father"
    if is_head and relationships & set(HUSBANDS):
        return "mother"
    return None


def _parent_roles(persons: list[PersonFacts], contexts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sets ``person.parent_role`` (father / mother, ``parent_role_of``) on every context; Unknown otherwise."""
    relationships = {p.relationship for p in persons}
    for person, ctx in zip(persons, contexts, strict=True):
        role = parent_role_of(sex=person.sex, relationship=person.relationship, is_head=person.is_head,
                              relationships=relationships)
        ctx["parent_role"] = role if role is not None else Unknown(("person.parent_role",))
    return {}


# The parents of a newborn, read from the relationships to the head (住民票の続柄): a newborn 「子」 has the
# head and the head's spouse as parents, a newborn 「孫」 a child of the head and that child's spouse.
NEWBORN_PARENTS = {"子": ("世帯主", "妻", "夫", "妻（未届）", "夫（未届）"), "孫": ("子", "子の妻", "子の夫")}
MOTHER_RELATIONSHIPS = ("妻", "妻（未届）", "子の妻")


def _insurance_known(person: PersonFacts, ctx: dict[str, Any]) -> str | None:
    """'kokuho' / 'other' from the mirror; None for a person the mirror does not know."""
    if ctx["elig"]["kokuho"]:
        return "kokuho"
    return "other" if person.in_mirror else None


def _newborn_parents(persons: list[PersonFacts], contexts: list[dict[str, Any]]) -> dict[str, Any]:
    """``household.newborn_parents_kokuho(_known)`` and ``household.newborn_mother_kokuho(_known)``.

    A newborn follows its parents' insurance (国保法第6条: a dependent of employee insurance is not in 国保, a
    grandparent's 国保 does not matter); 出産育児一時金 is paid by the insurer of the mother (国保法第58条). Known
    only when every parent found by relationship is in the mirror and they agree (else the rules ask).
    """
    none = {"newborn_parents_kokuho_known": False, "newborn_parents_kokuho": False,
            "newborn_mother_kokuho_known": False, "newborn_mother_kokuho": False}
    newborn = next((p for p in persons if p.subject and not p.in_mirror), None)
    relationships = NEWBORN_PARENTS.get(newborn.relationship) if newborn is not None else None
    if relationships is None:
        return none
    parents = [(p, c) for p, c in zip(persons, contexts, strict=True)
               if not p.subject and p.relationship in relationships
               and (p.relationship != "子" or (isinstance(c["age"], int) and c["age"] >= 15))]
    statuses = {_insurance_known(p, c) for p, c in parents}
    result = dict(none)
    if parents and None not in statuses and len(statuses) == 1:
        result["newborn_parents_kokuho_known"] = True
        result["newborn_parents_kokuho"] = statuses == {"kokuho"}
    mothers = [(p, c) for p, c in parents
               if p.sex == "2" or (p.sex != "1" and p.relationship in MOTHER_RELATIONSHIPS)]
    if len(mothers) == 1 and _insurance_known(*mothers[0]) is not None:
        result["newborn_mother_kokuho_known"] = True
        result["newborn_mother_kokuho"] = _insurance_known(*mothers[0]) == "kokuho"
    return result


CLAIMED_CHILD_QUESTION = "jt_child_claimed"
CHILD_KEEPER_QUESTION = "jt_child_keeper"
NEW_RECIPIENT_QUESTION = "jt_new_recipient"
NEW_HEAD_QUESTION = "new_head"


def household_answer_context(
    persons: list[PersonFacts], contexts: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> dict[str, Any]:
    """``household.*`` variables that depend on per-person answers (computed after the answers merge).

    ``household.jt_children``: the names of the children (高校生年代まで, not the subject of the event)
    the new 児童手当 recipient will claim for — unknown while any such child's ``jt_child_claimed`` is
    unanswered; the dependency names that child (``answer.jt_child_claimed@<key>``) so the interview asks
    it of the child, not of the person whose rule is being evaluated.
    """
    names: list[str] = []
    deps: list[str] = []
    for person, ctx, answer in zip(persons, contexts, answers, strict=True):
        if person.subject or ctx["upto_high_school"] is not True:
            continue
        value = answer.get(CLAIMED_CHILD_QUESTION)
        if value is None:
            deps.append(f"answer.{CLAIMED_CHILD_QUESTION}@{person.key}")
        elif value is True:
            names.append(person.name or person.key)
    # household.new_head_chosen: somebody staying (15+) said yes to new_head; False once all of them said no.
    chosen = False
    head_deps: list[str] = []
    for person, ctx, answer in zip(persons, contexts, answers, strict=True):
        if person.subject or not (isinstance(ctx["age"], int) and ctx["age"] >= 15):
            continue
        value = answer.get(NEW_HEAD_QUESTION)
        if value is True:
            chosen = True
        elif value is None:
            head_deps.append(f"answer.{NEW_HEAD_QUESTION}@{person.key}")
    # Split custody: each child says which parent keeps it (jt_child_keeper: father / mother / other).
    kept: dict[str, list[str]] = {"father": [], "mother": []}
    keeper_deps: list[str] = []
    for person, ctx, answer in zip(persons, contexts, answers, strict=True):
        if person.subject or ctx["upto_high_school"] is not True:
            continue
        value = answer.get(CHILD_KEEPER_QUESTION)
        if value is None:
            keeper_deps.append(f"answer.{CHILD_KEEPER_QUESTION}@{person.key}")
        elif value in kept:
            kept[value].append(person.name or person.key)
    by_role = {role: Unknown(keeper_deps) if keeper_deps else "、".join(names) for role, names in kept.items()}
    return {"jt_children": Unknown(deps) if deps else "、".join(names),
            "jt_new_recipients": sum(1 for answer in answers if answer.get(NEW_RECIPIENT_QUESTION) is True),
            "jt_children_father": by_role["father"], "jt_children_mother": by_role["mother"],
            "new_head_chosen": True if chosen else (Unknown(head_deps) if head_deps else False)}


def known_variable(path: str, *, events: set[str], questions: set[str]) -> bool:
    """Whether ``path`` names a variable rules may use (for validation)."""
    if path in PERSON_VARS or path in HOUSEHOLD_VARS or path in OTHER_VARS:
        return True
    head, _, rest = path.partition(".")
    if head == "answer":
        code, _dot, part = rest.rpartition(".")
        # an address answer's parts: 町字コード, 町字, 郵便番号 (navigation.determination.ADDRESS_RULE_PARTS)
        return rest in questions or (code in questions and part in ("code", "town", "postcode"))
    if head == "event":
        return rest in events
    return False


def element_variable(path: str) -> bool:
    """Variables inside a predicate over ``household.members`` (``age``, ``elig.kokuho`` …)."""
    return (ELEMENT_PREFIX + path) in PERSON_VARS
