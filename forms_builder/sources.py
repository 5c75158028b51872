"""Binding sources: where a form field's value comes from (R2.6).

A field binds to ``"<source>.<name>"`` with optional filters: ``"person.birth_date|wareki"``. Each source is
an object registered here under its key; the renderer knows no source by name. Another app plugs in its own
source from its ``AppConfig.ready`` without any change to forms_builder::

    from forms_builder.sources import BindingSource, SourceField, Resolved, register

    class CardSource(BindingSource):
        key = "card"
        label = "マイナンバーカード"
        fields = (SourceField("name", "氏名（カード）", sample="窓口 太郎"),)

        def resolve(self, ctx, name, *, row=None):
            data = my_card_reads_for(ctx.case, person=row or ctx.person)   # your own selector
            if data is None:
                return Resolved(None, NO_DATA)
            return Resolved(data.get(name))

    register(CardSource())

``ctx`` is a ``BindingContext`` (the case, its persons, the document's person, mirror views, the counter,
the staff member, the municipality); ``row`` is the person of a repeated row. Return ``Resolved(value)``
with a ``str``, ``date``, ``int`` or ``bool``; for an empty value say why (``reason``): ``NO_DATA`` (no data
in the mirror or on the card), ``NO_ANSWER`` (an answer or staff input is missing), ``RESTRICTED`` (withheld
by a support measure). Filters (``FILTERS``) turn values into print text: 和暦, 元号, age, 続柄 wording ….
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from forms_builder import inputs as inputs_mod
from integration.exports.wareki import WarekiError, era_of

NO_DATA = "no_data"
NO_ANSWER = "no_answer"
RESTRICTED = "restricted"
BY_LAW = "by_law"
OVERFLOW = "overflow"
REASONS = {
    NO_DATA: _lazy("住民記録・カードにデータがありません"),
    NO_ANSWER: _lazy("聞き取りの回答・職員の入力がまだありません"),
    RESTRICTED: _lazy("支援措置のため住所を印字しません"),
    BY_LAW: _lazy("本人が自署する欄です"),
    OVERFLOW: _lazy("欄に収まりません"),
}


@dataclass(frozen=True)
class Resolved:
    value: Any
    reason: str = ""
    staff_typed: bool = False

    @property
    def empty(self) -> bool:
        return self.value is None or self.value == "" or self.value == []


@dataclass(frozen=True)
class SourceField:
    name: str
    label: Any
    kind: str = "text"  # text | date | number | bool | address
    sample: Any = ""


class BindingSource:
    key: str = ""
    label: Any = ""
    fields: tuple[SourceField, ...] = ()

    def field(self, name: str) -> SourceField | None:
        return next((f for f in self.fields if f.name == name), None)

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:  # pragma: no cover
        raise NotImplementedError


_sources: dict[str, BindingSource] = {}


def register(source: BindingSource) -> None:
    if not source.key or "." in source.key or "|" in source.key:
        raise ValueError(f"bad source key {source.key!r}")
    _sources[source.key] = source


def get(key: str) -> BindingSource | None:
    return _sources.get(key)


def all_sources() -> list[BindingSource]:
    return list(_sources.values())


# ---------------------------------------------------------------------------------------------
# Filters (computed values)
# ---------------------------------------------------------------------------------------------
def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _wareki(value: Any) -> str:
    d = _as_date(value)
    if d is None:
        return ""
    name, _l, _d, year = era_of(d)
    return f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"


def _era(value: Any) -> str:
    d = _as_date(value)
    return era_of(d)[0] if d else ""


def _era_year(value: Any) -> str:
    d = _as_date(value)
    return f"{era_of(d)[3]:02d}" if d else ""


def _age(value: Any, on: date) -> str:
    d = _as_date(value)
    if d is None:
        return ""
    return str(on.year - d.year - ((on.month, on.day) < (d.month, d.day)))


SEX_LABELS = {"1": "男", "2": "女", "9": ""}


FILTERS: dict[str, Callable[[Any, BindingContext], Any]] = {
    "wareki": lambda v, ctx: _wareki(v),
    "era": lambda v, ctx: _era(v),
    "era_year": lambda v, ctx: _era_year(v),
    "month": lambda v, ctx: f"{_as_date(v).month:02d}" if _as_date(v) else "",
    "day": lambda v, ctx: f"{_as_date(v).day:02d}" if _as_date(v) else "",
    "ymd": lambda v, ctx: _as_date(v).strftime("%Y%m%d") if _as_date(v) else "",
    "age": lambda v, ctx: _age(v, ctx.on),
    "sex": lambda v, ctx: SEX_LABELS.get(str(v), str(v or "")),
    "postcode": lambda v, ctx: (lambda s: f"{s[:3]}-{s[3:]}" if len(s) == 7 else s)(str(v or "").replace("-", "")),
    "digits": lambda v, ctx: "".join(c for c in str(v or "") if c.isdigit()),
    "yesno": lambda v, ctx: ("はい" if v else "いいえ") if isinstance(v, bool) else str(v or ""),
    "relation": lambda v, ctx: "本人" if str(v) == "世帯主" else str(v or ""),
}


def is_jidou(birth: date, on: date) -> bool:
    """A 児童 of 児童手当: until the first 31 March after the 18th birthday."""
    fiscal_end = date(birth.year + 18 + (1 if (birth.month, birth.day) > (3, 31) else 0), 3, 31)
    return birth <= on <= fiscal_end


@dataclass(frozen=True)
class MirrorPerson:
    """A member of the household who is not a person of the case (the 世帯主 at home, a child): read from the
    DV-aware mirror views; ``pk`` is None (it is no CasePerson)."""

    atena_no: str
    name: str
    name_kana: str = ""
    birth_date: date | None = None
    sex: str = ""
    relationship: str = ""
    household_no: str = ""
    pk: None = None
    is_visitor: bool = False
    is_subject: bool = False
    position: int = 10_000

    @property
    def key(self) -> str:
        return f"m{self.atena_no}"

    @classmethod
    def of(cls, view: Any) -> MirrorPerson:
        return cls(atena_no=view.atena_no, name=view.name, name_kana=view.name_kana, birth_date=view.birth_date,
                   sex=view.sex, relationship=view.relationship, household_no=view.household_no)


# ---------------------------------------------------------------------------------------------
# The context a document is rendered in
# ---------------------------------------------------------------------------------------------
@dataclass
class BindingContext:
    case: Any  # navigation.cases.models.Case (None for a sample preview)
    persons: list[Any]  # the case's persons (CasePerson)
    doc_persons: list[Any]  # the persons this document is about (its rows)
    person: Any  # the document's main person
    counter: Any = None
    staff: Any = None
    municipality: Any = None
    on: date = field(default_factory=timezone.localdate)
    template_code: str = ""
    views: dict[str, Any] = field(default_factory=dict)  # 宛名番号 → PersonView (DV-aware)
    eligibilities: dict[str, list] = field(default_factory=dict)
    entries: dict[tuple[str, str], Any] = field(default_factory=dict)  # (person_key, key) → value
    town_names: dict[str, dict] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # for plugged-in sources (cache per document)
    # Read household members and eligibilities of people outside ``persons`` from the mirror (False for the
    # editor's fictitious sample household: its made-up numbers must never reach a real resident's record).
    read_mirror: bool = True

    @cached_property
    def head(self) -> Any:
        """The 世帯主 after the event: a person of the case, else the head of the household in the mirror (a
        visitor's household, DV-aware). Nobody when the head is the one who died."""
        dying = "shibou" in (getattr(self.case, "events", None) or [])
        answers = ((getattr(self.case, "answers", None) or {}).get("persons") or {})
        chosen = [p for p in self.persons if (answers.get(p.key) or {}).get("new_head") is True]
        if len(chosen) == 1:
            return chosen[0]  # the new 世帯主 staff noted in the interview (世帯主変更届, 住基法第25条)
        heads = [p for p in self.persons if self.person_value(p, "relationship") == "世帯主"
                 and not (dying and p.is_subject)]
        if heads:
            return heads[0]
        if any(e in ("tennyu", "tenshutsu", "tenkyo", "setai_henkou") for e in (getattr(self.case, "events", None)
                                                                              or [])):
            return None  # after a move the household may be another one: the 世帯主 is typed or at the counter
        found = self._mirror_head()
        if found is None or (dying and any(p.is_subject and p.atena_no == found.atena_no for p in self.persons)):
            return None
        return found

    @cached_property
    def head_event(self) -> Any:
        """The 世帯主 on the event date, the deceased included (国保 資格喪失届・葬祭費 on the death of the head);
        a head who is not in the case (擬制世帯主, or simply not at the counter) comes from the mirror."""
        heads = [p for p in self.persons if self.person_value(p, "relationship") == "世帯主"]
        return heads[0] if heads else self._mirror_head()

    # -- the mirror household of the case (people who are not at the counter) ---------------------
    @cached_property
    def household_no(self) -> str:
        """The household of the document's person, else of the first person of the case with a record."""
        for person in [self.person, *self.persons]:
            if person is not None and getattr(person, "atena_no", ""):
                number = self.person_value(person, "household_no")
                if number:
                    return str(number)
        return ""

    @cached_property
    def mirror_members(self) -> list[Any]:
        """The household's members on the event date (DV-aware mirror views; departed ones included, so that a
        deceased head is still there), as ``MirrorPerson`` rows; a member who is in the case is that CasePerson."""
        if not self.read_mirror or not self.household_no or self.case is None:
            return []
        from integration import selectors as mirror

        on = getattr(self.case, "event_date", None) or self.on
        in_case = {p.atena_no: p for p in self.persons if getattr(p, "atena_no", "")}
        members = []
        for view in mirror.household_members(household_no=self.household_no, on=on, include_departed=True):
            if view.atena_no in in_case:
                members.append(in_case[view.atena_no])
                continue
            self.views.setdefault(view.atena_no, view)
            members.append(MirrorPerson.of(view))
        return members

    def _mirror_head(self) -> Any:
        return next((p for p in self.mirror_members if self.person_value(p, "relationship") == "世帯主"), None)

    def children_of(self, parent: Any) -> list[Any]:
        """The children a 児童手当 recipient receives for: members of the household who are 子 of the recipient
        (the recipient is the 世帯主 or the 世帯主's spouse) and are 児童 (until the 31 March after their 18th
        birthday) on the event date, plus those the mirror says are the recipient's children (an eligibility
        of 児童手当 whose details name the recipient). Persons of the case first, then the mirror's."""
        if parent is None:
            return []
        on = getattr(self.case, "event_date", None) or self.on
        relation = self.person_value(parent, "relationship") or ""
        parent_key = getattr(parent, "atena_no", "") or getattr(parent, "key", "")
        spouse_of_head = relation in ("世帯主", "妻", "夫", "夫（未届）", "妻（未届）")
        pool: list[Any] = list(self.persons)
        seen = {p.atena_no for p in pool if getattr(p, "atena_no", "")}
        pool.extend(m for m in self.mirror_members if m.atena_no not in seen)
        children = []
        for person in pool:
            if person is parent or (getattr(person, "atena_no", "") and person.atena_no == parent_key):
                continue
            birth = self.person_value(person, "birth_date")
            if not isinstance(birth, date) or not is_jidou(birth, on):
                continue
            own = spouse_of_head and self.person_value(person, "relationship") == "子"
            named = any(e.area == "jidou_teate" and (e.details or {}).get("recipient") == parent_key
                        for e in self.eligibility_of(getattr(person, "atena_no", "")))
            if own or named:
                children.append(person)
        return children

    def eligibility_of(self, atena_no: str) -> list[Any]:
        """The person's eligibilities on the event date (prefetched for the case; read once for others)."""
        if not atena_no:
            return []
        if atena_no not in self.eligibilities and self.read_mirror:
            from integration import selectors as mirror

            on = getattr(self.case, "event_date", None) or self.on
            self.eligibilities.update(mirror.eligibilities_for(atena_nos=[atena_no], on=on))
            self.eligibilities.setdefault(atena_no, [])
        return self.eligibilities.get(atena_no, [])

    @cached_property
    def visitor(self) -> Any:
        return next((p for p in self.persons if p.is_visitor), self.persons[0] if self.persons else None)

    @cached_property
    def claimant(self) -> Any:
        """The parent claiming for the children of the document (visitor unless a child, else the head)."""
        children = {p.pk for p in self.doc_persons}
        for candidate in (self.visitor, self.head):
            if candidate is not None and (candidate.pk is None or candidate.pk not in children):
                return candidate
        return next((p for p in self.persons if p.pk not in children), None)

    def household_address_view(self, person: Any) -> Any:
        """For a newcomer without a record who joins a household here (a newborn): the record of a person of
        the same household at the counter (claimant, visitor, head), whose address is the household's."""
        for candidate in (self.claimant, self.visitor, self.head, *self.persons):
            atena_no = getattr(candidate, "atena_no", "") if candidate is not None else ""
            if atena_no and candidate is not person and atena_no in self.views:
                return self.views[atena_no]
        return None

    def person_value(self, person: Any, name: str) -> Any:
        view = self.views.get(person.atena_no) if getattr(person, "atena_no", "") else None
        value = getattr(view, name, None) if view is not None else None
        if value in (None, ""):
            value = getattr(person, name, None)
        return value

    def entry(self, key: str, person: Any = None) -> Any:
        person_key = person.key if person is not None else ""
        return self.entries.get((person_key, key))


# ---------------------------------------------------------------------------------------------
# Built-in sources
# ---------------------------------------------------------------------------------------------
PERSON_FIELDS = (
    SourceField("name", _lazy("氏名"), sample="窓口 太郎"),
    SourceField("name_kana", _lazy("氏名（フリガナ）"), sample="マドグチ タロウ"),
    SourceField("birth_date", _lazy("生年月日"), kind="date", sample="1980-05-01"),
    SourceField("sex", _lazy("性別"), sample="1"),
    SourceField("relationship", _lazy("続柄"), sample="世帯主"),
    SourceField("atena_no", _lazy("宛名番号"), sample="1000000017"),
    SourceField("household_no", _lazy("世帯番号"), sample="800000019"),
    SourceField("address", _lazy("住所（住民記録）"), sample="みなみデモ市山下町11番1号"),
    SourceField("address_katagaki", _lazy("方書（住民記録）"), sample=""),
    SourceField("postcode", _lazy("郵便番号（住民記録）"), sample="8920816"),
    SourceField("nationality", _lazy("国籍・地域"), sample=""),
    SourceField("kokuho_number", _lazy("国保 記号番号"), sample="12-345678"),
    SourceField("kaigo_number", _lazy("介護保険 被保険者番号"), sample="0000123456"),
    SourceField("kouki_number", _lazy("後期高齢者医療 被保険者番号"), sample="01234567"),
)
_ELIGIBILITY = {"kokuho_number": "kokuho", "kaigo_number": "kaigo", "kouki_number": "kouki"}
_ADDRESS_FIELDS = {"address", "address_katagaki", "postcode"}


class PersonSource(BindingSource):
    """A person of the case in a role: the document's person, the visitor (届出人), the 世帯主, the claimant
    (請求者), or the person of a repeated row. Residents are read from the mirror (DV-aware: an address
    withheld by a support measure is never printed); newcomers from what staff typed when opening the case."""

    fields = PERSON_FIELDS

    def __init__(self, key: str, label: Any, role: str) -> None:
        self.key, self.label, self.role = key, label, role

    def person(self, ctx: BindingContext, row: Any) -> Any:
        if self.role == "row":
            return row
        return getattr(ctx, self.role)

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        person = self.person(ctx, row)
        if person is None:
            return Resolved(None, NO_DATA)
        if isinstance(person, MirrorPerson):  # printed from the mirror: named in the audit of the document
            ctx.extra.setdefault("mirror_read", set()).add(person.atena_no)
        view = ctx.views.get(person.atena_no) if person.atena_no else None
        if name in _ELIGIBILITY:
            numbers = [e.number for e in ctx.eligibility_of(person.atena_no)
                       if e.area == _ELIGIBILITY[name] and e.number]
            return Resolved(numbers[0] if numbers else None, NO_DATA)
        if name in _ADDRESS_FIELDS:
            if view is None and not person.atena_no and not any(
                    e in MOVING_IN for e in (getattr(ctx.case, "events", None) or [])):
                view = ctx.household_address_view(person)  # a newborn: the household's address
            if view is not None and view.address_restricted:
                return Resolved(None, RESTRICTED)
            value = getattr(view, name, "") if view is not None else ""
            return Resolved(value or None, NO_DATA)
        value = ctx.person_value(person, name)
        return Resolved(value if value not in ("",) else None, NO_DATA)


class CaseSource(BindingSource):
    key = "case"
    label = _lazy("受付")
    fields = (
        SourceField("label", _lazy("受付番号"), sample="0401-001"),
        SourceField("event_date", _lazy("異動日・届出日"), kind="date", sample="2026-04-01"),
        SourceField("received_date", _lazy("受付日"), kind="date", sample="2026-04-01"),
        SourceField("events", _lazy("ライフイベント"), sample="tennyu"),
        SourceField("procedures", _lazy("この人の手続"), sample="転入届、国民健康保険の加入"),
        SourceField("member_count", _lazy("この様式の人数"), kind="number", sample=3),
    )

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        case = ctx.case
        if case is None:
            return Resolved(None, NO_DATA)
        if name == "label":
            return Resolved(case.label)
        if name == "event_date":
            return Resolved(case.event_date)
        if name == "received_date":
            return Resolved(case.day)
        if name == "events":
            return Resolved(" ".join(case.events or []) or None, NO_ANSWER)
        if name == "member_count":
            return Resolved(str(len(ctx.doc_persons)))
        if name == "procedures":
            person = row or ctx.person
            names = [p.name for p in ctx.extra.get("procedures", []) if person is None or p.person_id in
                     (None, getattr(person, "pk", None))]
            return Resolved("、".join(dict.fromkeys(names)) or None, NO_ANSWER)
        return Resolved(None, NO_DATA)


class AnswerSource(BindingSource):
    """Interview answers (per person first, then the case's)."""

    key = "answer"
    label = _lazy("聞き取りの回答")

    @property
    def fields(self) -> tuple[SourceField, ...]:  # type: ignore[override]
        """This municipality's questions, and those of the shipped catalogue (a default form may bind to one
        before the municipality has installed the catalogue)."""
        from navigation.models import Question
        from navigation.services import default_catalogue

        found = {q.code: SourceField(q.code, q.text, kind=q.kind) for q in Question.objects.all()}
        for q in default_catalogue().get("questions", []):
            found.setdefault(q["code"], SourceField(q["code"], q.get("text", ""), kind=q.get("kind", "yesno")))
        return tuple(found.values())

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        answers = getattr(ctx.case, "answers", None) or {}
        person = row or ctx.person
        own = (answers.get("persons") or {}).get(person.key, {}) if person is not None else {}
        if name in own:
            return Resolved(own[name])
        value = (answers.get("case") or {}).get(name)
        return Resolved(value, NO_ANSWER)


class InputSource(BindingSource):
    """What staff typed once in the case (``forms_builder.inputs``); address parts as ``new_address.town`` …"""

    key = "input"
    label = _lazy("職員の入力")

    @property
    def fields(self) -> tuple[SourceField, ...]:  # type: ignore[override]
        result = []
        for item in inputs_mod.all_inputs():
            result.append(SourceField(item.key, item.label, kind=item.kind, sample=item.sample))
            if item.kind == "address":
                for part, label in (("full", _lazy("住所（町字＋番地）")), ("town", _lazy("町字")),
                                    ("banchi", _lazy("番地")), ("katagaki", _lazy("方書")),
                                    ("postcode", _lazy("郵便番号"))):
                    result.append(SourceField(f"{item.key}.{part}", f"{item.label}：{label}",
                                              sample=(item.sample or {}).get(part, "") if part != "full" else ""))
        return tuple(result)

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        key, _sep, part = name.partition(".")
        item = inputs_mod.get(key)
        if item is None:
            return Resolved(None, NO_ANSWER)
        person = (row or ctx.person) if item.scope == "person" else None
        value = ctx.entry(f"{key}:{ctx.template_code}", person)  # a value for this form only (証明書の請求)
        if value is None:
            value = ctx.entry(key, person)
        if value is None:
            return Resolved(None, NO_ANSWER)
        if item.kind == "address":
            if part in ("", "full"):
                value = inputs_mod.address_text(value)
            elif part == "postcode":
                value = value.get("postcode", "")
            else:
                value = value.get(part, "")
            if not value and part == "katagaki":
                return Resolved("", "", staff_typed=True)
        return Resolved(value, NO_ANSWER, staff_typed=True)


class OfficeSource(BindingSource):
    """The municipality, the counter and the staff member at the desk."""

    key = "office"
    label = _lazy("自治体・窓口・職員")
    fields = (
        SourceField("municipality", _lazy("自治体名"), sample="みなみデモ市"),
        SourceField("mayor", _lazy("宛先（〇〇市長）"), sample="みなみデモ市長"),
        SourceField("counter", _lazy("窓口"), sample="総合窓口 1番"),
        SourceField("counter_location", _lazy("窓口の場所（階・番号）"), sample="1階 1番"),
        SourceField("staff", _lazy("受付した職員"), sample="staff1"),
    )

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        if name == "municipality":
            return Resolved(getattr(ctx.municipality, "name", None), NO_DATA)
        if name == "mayor":
            municipality = getattr(ctx.municipality, "name", "")
            suffix = "区長" if municipality.endswith("区") else "町長" if municipality.endswith("町") else (
                "村長" if municipality.endswith("村") else "市長")
            return Resolved(f"{municipality[:-1]}{suffix}" if municipality else None, NO_DATA)
        if name == "counter":
            return Resolved(getattr(ctx.counter, "name", None), NO_DATA)
        if name == "counter_location":
            return Resolved(getattr(ctx.counter, "location", None) or None, NO_DATA)
        if name == "staff":
            staff = ctx.staff
            text = (staff.get_full_name() or staff.get_username()) if staff is not None else None
            return Resolved(text, NO_DATA)
        return Resolved(None, NO_DATA)


JUKI_EVENTS = ("tennyu", "tenshutsu", "tenkyo", "setai_henkou", "shibou", "rikon")
MOVE_EVENTS = ("tennyu", "tenshutsu", "tenkyo", "setai_henkou")  # the events a 住民異動届 names as its kind
HEAD_CHANGE_EVENTS = ("shibou", "rikon")  # events whose 住民異動届 is a 世帯主変更届
MOVING_IN = ("tennyu", "tenkyo")


def school_grade(birth: date, on: date) -> str:
    """小学校・中学校の学年 on ``on`` (a school year starts on 1 April; those born 1 April join the year before)."""
    cohort = birth.year if (birth.month, birth.day) >= (4, 2) else birth.year - 1
    fiscal = on.year if on.month >= 4 else on.year - 1
    grade = fiscal - (cohort + 7) + 1
    if 1 <= grade <= 6:
        return f"小学校{grade}年"
    if 7 <= grade <= 9:
        return f"中学校{grade - 6}年"
    return ""


class ComputedSource(BindingSource):
    """Values computed from the case: the kind of move, the address after it, 学年, reasons for circles."""

    key = "computed"
    label = _lazy("計算値")
    fields = (
        SourceField("today", _lazy("今日の日付"), kind="date", sample="2026-04-01"),
        SourceField("notifier_relation", _lazy("届出人と本人の関係（本人・世帯主・…）"), sample="本人"),
        SourceField("idou_kind", _lazy("異動の種類（転入・転出・転居・…）"), sample="tennyu"),
        SourceField("juki_todoke_kind", _lazy("住民異動届の種類（転入・転出・転居・世帯変更・世帯主変更）"),
                    sample="tennyu"),
        SourceField("address", _lazy("住所（転入・転居ならその後の住所）"), sample="みなみデモ市山下町11番1号"),
        SourceField("katagaki", _lazy("方書（転入・転居ならその後の方書）"), sample=""),
        SourceField("postcode", _lazy("郵便番号（転入・転居ならその後）"), sample="8920816"),
        SourceField("new_address", _lazy("新しい住所（転出なら転出先）"), sample="みなみデモ市山下町11番1号"),
        SourceField("new_katagaki", _lazy("新しい住所の方書"), sample=""),
        SourceField("new_postcode", _lazy("新しい住所の郵便番号"), sample="8920816"),
        SourceField("old_address", _lazy("前の住所（転入なら転入前の住所）"), sample="東京都千代田区霞が関1丁目1番1号"),
        SourceField("old_head", _lazy("前の世帯主"), sample="窓口 太郎"),
        SourceField("kokuho_reason", _lazy("国保の取得理由"), sample="tennyu"),
        SourceField("loss_reason", _lazy("資格喪失の理由"), sample="tenshutsu"),
        SourceField("lives_together", _lazy("同居・別居"), sample="同居"),
        SourceField("school_grade", _lazy("学年"), sample="小学校3年"),
        SourceField("cert_kind", _lazy("請求する証明の種類"), sample="juminhyo"),
        SourceField("kokuho_household_number", _lazy("国保 記号番号（世帯主、擬制世帯主なら加入者の）"),
                    sample="12-345678"),
    )

    def _events(self, ctx: BindingContext) -> list[str]:
        return list(getattr(ctx.case, "events", None) or [])

    def _input(self, ctx: BindingContext, name: str) -> Resolved:
        return resolve_binding(ctx, f"input.{name}")

    def resolve(self, ctx: BindingContext, name: str, *, row: Any = None) -> Resolved:
        events = self._events(ctx)
        person = row or ctx.person
        moving_in = any(e in MOVING_IN for e in events)
        if name == "today":
            return Resolved(ctx.on)
        if name == "notifier_relation":
            visitor = ctx.visitor
            if person is None or visitor is None:
                return Resolved(None, NO_DATA)
            if person.pk == visitor.pk:
                return Resolved("本人")
            return Resolved(ctx.person_value(visitor, "relationship") or _("同一世帯員"))
        if name == "idou_kind":
            kind = next((e for e in events if e in JUKI_EVENTS), None)
            return Resolved(kind or ("other" if events else None), NO_ANSWER)
        if name == "juki_todoke_kind":
            kind = next((e for e in events if e in MOVE_EVENTS), None)
            if kind is None and any(e in HEAD_CHANGE_EVENTS for e in events):
                kind = "setainushi_henkou"  # a death or divorce brings the 住民異動届 only as a 世帯主変更届
            return Resolved(kind or ("other" if events else None), NO_ANSWER)
        if name in ("address", "katagaki", "postcode"):
            if moving_in:
                part = {"address": "new_address.full", "katagaki": "new_address.katagaki",
                        "postcode": "new_address.postcode"}[name]
                return self._input(ctx, part)
            field_name = {"address": "address", "katagaki": "address_katagaki", "postcode": "postcode"}[name]
            found = get("person").resolve(ctx, field_name, row=person)
            if name == "katagaki" and found.empty and found.reason != RESTRICTED:
                return Resolved("", "")
            return found
        if name in ("new_address", "new_katagaki", "new_postcode") and not any(e in MOVE_EVENTS for e in events):
            # Nobody moves (a 世帯主変更 after a death or divorce): the household's address stays what it is.
            field_name = {"new_address": "address", "new_katagaki": "address_katagaki",
                          "new_postcode": "postcode"}[name]
            found = get("person").resolve(ctx, field_name, row=person)
            if name == "new_katagaki" and found.empty and found.reason != RESTRICTED:
                return Resolved("", "")
            return found
        if name in ("new_address", "new_katagaki", "new_postcode"):
            if "tenshutsu" in events:
                if name == "new_katagaki":
                    return Resolved("", "")  # the destination is one line of text, 方書 included
                return self._input(ctx, "destination_address" if name == "new_address" else "destination_postcode")
            part = {"new_address": "new_address.full", "new_katagaki": "new_address.katagaki",
                    "new_postcode": "new_address.postcode"}[name]
            return self._input(ctx, part)
        if name == "old_address":
            if "tennyu" in events:
                return self._input(ctx, "previous_address")
            return get("person").resolve(ctx, "address", row=person)
        if name == "old_head":
            if "tennyu" in events:
                return self._input(ctx, "previous_head")
            return get("head_event").resolve(ctx, "name")  # the head on the event date (the deceased included)
        if name == "kokuho_reason":
            if "tennyu" in events:
                return Resolved("tennyu")
            if "shussei" in events:
                return Resolved("birth")
            return Resolved("other" if events else None, NO_ANSWER)
        if name == "loss_reason":
            for event in ("tenshutsu", "shibou"):
                if event in events:
                    return Resolved(event)
            return Resolved("other" if events else None, NO_ANSWER)
        if name == "lives_together":
            # 同居: moving in together with the claimant, or in the claimant's household in the mirror.
            claimant = ctx.claimant
            if person is None or claimant is None:
                return Resolved(None, NO_DATA)
            mine, theirs = ctx.person_value(person, "household_no"), ctx.person_value(claimant, "household_no")
            together = (moving_in and not person.atena_no) or (bool(mine) and mine == theirs)
            return Resolved("同居" if together else "別居")
        if name == "school_grade":
            birth = ctx.person_value(person, "birth_date") if person is not None else None
            on = getattr(ctx.case, "event_date", None) or ctx.on
            return Resolved(school_grade(birth, on) if isinstance(birth, date) else None, NO_DATA)
        if name == "kokuho_household_number":
            # The household's 記号番号: the head's on the event date; a head outside 国保 (擬制世帯主) has none,
            # and the household's members carry the same 記号: the first member of the form's.
            for candidate in [ctx.head_event, *ctx.doc_persons]:
                if candidate is not None:
                    found = get("row").resolve(ctx, "kokuho_number", row=candidate)  # this candidate's
                    if not found.empty:
                        return found
            return Resolved(None, NO_DATA)
        if name == "cert_kind":
            return Resolved(ctx.entries.get(("", f"cert_kind:{ctx.template_code}")), NO_ANSWER, staff_typed=True)
        return Resolved(None, NO_DATA)


def _register_builtins() -> None:
    for key, label, role in (("person", _lazy("本人（この様式の人）"), "person"),
                             ("visitor", _lazy("届出人（来庁者）"), "visitor"),
                             ("head", _lazy("世帯主"), "head"),
                             ("head_event", _lazy("異動日の世帯主（亡くなった世帯主を含む）"), "head_event"),
                             ("claimant", _lazy("請求者（児童を養育する人）"), "claimant"),
                             ("row", _lazy("一覧の各行の人"), "row")):
        register(PersonSource(key, label, role))
    for source in (CaseSource(), AnswerSource(), InputSource(), OfficeSource(), ComputedSource()):
        register(source)


_register_builtins()


def parse_binding(binding: str) -> tuple[str, str, list[str]]:
    """``"person.birth_date|wareki"`` → ("person", "birth_date", ["wareki"])."""
    head, *filters = [part.strip() for part in binding.split("|")]
    source, _sep, name = head.partition(".")
    return source, name, filters


def check_binding(binding: str) -> str:
    """An empty string when the binding names a registered source, field and filters; else the problem."""
    source_key, name, filters = parse_binding(binding)
    source = get(source_key)
    if source is None:
        return _("データの出どころ「%(source)s」はありません。") % {"source": source_key}
    if source.field(name) is None:
        return _("「%(source)s」に項目「%(name)s」はありません。") % {"source": str(source.label), "name": name}
    unknown = [f for f in filters if f not in FILTERS]
    if unknown:
        return _("変換「%(names)s」はありません。") % {"names": "、".join(unknown)}
    return ""


def resolve_binding(ctx: BindingContext, binding: str, *, row: Any = None) -> Resolved:
    source_key, name, filters = parse_binding(binding)
    source = get(source_key)
    if source is None:
        return Resolved(None, NO_DATA)
    result = source.resolve(ctx, name, row=row)
    if result.empty or not filters:
        return result
    value = result.value
    try:
        for name_ in filters:
            value = FILTERS[name_](value, ctx)
    except (KeyError, WarekiError):
        return Resolved(None, NO_DATA)
    return Resolved(value, result.reason, result.staff_typed)
