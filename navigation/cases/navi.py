"""The one place where cases talk to the procedure catalogue and determination (``navigation``).

- Facts: every case person (subject of the event) plus the other members of their mirror households
  (not subjects), through ``navigation.facts`` — so household rules (others_kokuho_any, 世帯主 …) see
  the whole household even if staff only picked the visitor.
- Answers are stored on the case in the engine's own shape:
  ``{"case": {question: value}, "persons": {person_key: {question: value}}}``.
- The catalogue version is fixed when the case is opened (``Case.catalogue_version_id``); an edit
  published later does not change an open case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from integration import selectors as mirror
from integration.models import Resident
from navigation import cardholding
from navigation import determination as engine
from navigation import facts as facts_mod

CASE_KEY = "case"


class NavigationUnavailable(RuntimeError):
    """No published procedure catalogue for this municipality."""


@dataclass(frozen=True)
class ProcedureItem:
    person_key: str | None  # None: the whole case / household
    code: str
    name: str
    area: str = ""
    reasons: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    guidance: str = ""
    counter_name: str = ""
    department_name: str = ""
    legal_basis: str = ""
    legal_url: str = ""
    source: str = ""
    fee: str = ""
    needs_check: bool = False
    person_name: str = ""


@dataclass(frozen=True)
class Determination:
    items: list[ProcedureItem]
    snapshot: dict
    version_id: int | None
    questions: list[engine.PendingQuestion]


@dataclass(frozen=True)
class Question:
    key: str  # form field name: "<person key or 'case'>:<question code>"
    code: str
    text: str
    kind: str  # yesno | choice | date | number
    choices: tuple[tuple[str, str], ...] = ()
    person_key: str | None = None
    person_name: str = ""
    help_text: str = ""


# ---------------------------------------------------------------------------------------------
# Catalogue version
# ---------------------------------------------------------------------------------------------
def _current_version() -> Any:
    from navigation.selectors import catalogue_version_current

    version = catalogue_version_current(on=timezone.localdate())
    if version is None:
        raise NavigationUnavailable(_("公開中の手続カタログがありません。業務管理者に確認してください。"))
    return version


def _version_for(case: Any) -> Any:
    """The catalogue version fixed on the case when it was opened (a later publication does not change it)."""
    if case.catalogue_version_id is None:
        return _current_version()
    from navigation.selectors import catalogue_version_get, catalogue_version_hash

    # A version compiled before is reused without reading its (large) snapshot again: only its hash is read.
    content_hash = catalogue_version_hash(version_id=case.catalogue_version_id)
    if content_hash:
        compiled = engine.catalogue_cached(schema=getattr(connection, "schema_name", ""),
                                           version_id=case.catalogue_version_id, content_hash=content_hash)
        if compiled is not None:
            return compiled

    version = catalogue_version_get(version_id=case.catalogue_version_id)
    if version is None:
        raise NavigationUnavailable(_("この受付の手続カタログの版が見つかりません。"))
    return version


def current_version_id() -> int | None:
    try:
        return _current_version().pk
    except NavigationUnavailable:
        return None


def _areas() -> list[str]:
    tenant = getattr(connection, "tenant", None)
    return list(getattr(tenant, "areas", None) or [])


def life_events(*, case: Any = None) -> list[tuple[str, str]]:
    """(code, label) of the life events of the case's catalogue (or the current one), in order."""
    version = _version_for(case) if case is not None else _current_version()
    compiled = engine.catalogue_compiled(version)
    return [(code, item["name"]) for code, item in compiled.events.items()]


def validate_events(events: list[str], *, case: Any = None) -> list[str]:
    cleaned = list(dict.fromkeys(e for e in events if e))
    if not cleaned:
        return []
    known = dict(life_events(case=case))
    unknown = [e for e in cleaned if e not in known]
    if unknown:
        raise ValidationError({"events": _("未知のライフイベント：%(codes)s") % {"codes": "、".join(unknown)}})
    return [code for code in known if code in cleaned]


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------
def case_facts(*, case: Any, persons: list[Any]) -> tuple[list[facts_mod.PersonFacts], dict[str, str]]:
    """PersonFacts for the case persons (subjects as marked) and their other household members.

    Returns the facts and, for household members not in the case, key → 宛名番号.
    """
    on = case.event_date
    in_case = {p.atena_no: p for p in persons if p.atena_no}
    views = (
        {v.atena_no: v for v in mirror.person_views(list(Resident.objects.filter(atena_no__in=list(in_case))), on=on)}
        if in_case
        else {}
    )
    households = list(dict.fromkeys(v.household_no for v in views.values() if v.household_no))
    extra_views = []
    for household_no in households:
        extra_views += [
            m
            for m in mirror.household_members(household_no=household_no, on=on)
            if m.atena_no not in in_case and m.atena_no not in {e.atena_no for e in extra_views}
        ]
    mirror_keys = list(views) + [v.atena_no for v in extra_views]
    records = mirror.eligibilities_for(atena_nos=mirror_keys, on=on) if mirror_keys else {}
    result: list[facts_mod.PersonFacts] = []
    for person in persons:
        view = views.get(person.atena_no) if person.atena_no else None
        if view is not None:
            result.append(
                facts_mod.person_facts_from_mirror(
                    view, eligibilities=records.get(view.atena_no, []), subject=person.is_subject
                )
            )
        else:
            result.append(
                facts_mod.PersonFacts(
                    key=person.key,
                    name=person.name,
                    birth_date=person.birth_date,
                    relationship=person.relationship,
                    sex=person.sex,
                    subject=person.is_subject,
                    in_mirror=False,
                    foreign=person.is_foreign,
                    nationality=person.nationality,
                    residence_status=person.residence_status,
                    entry_date=person.entry_date,
                    support_measure=person.support_measure,
                    address_restricted=person.support_measure,
                )
            )
    for index, person in enumerate(persons):
        facts = result[index]
        holding, _source = cardholding.card_holding(mirror_status=facts.card_holding, case=case, person=person)
        if holding != facts.card_holding:
            result[index] = replace(facts, card_holding=holding)
    extras: dict[str, str] = {}
    for view in extra_views:
        result.append(
            facts_mod.person_facts_from_mirror(view, eligibilities=records.get(view.atena_no, []), subject=False)
        )
        extras[view.atena_no] = view.atena_no
    return result, extras


# ---------------------------------------------------------------------------------------------
# Determination and interview
# ---------------------------------------------------------------------------------------------
def _item(result: engine.ProcedureResult) -> ProcedureItem:
    info = result.procedure
    reasons = result.reasons
    if result.status == "check":
        reasons = (_("住民記録のデータが足りないため、必要かどうかを職員が確認してください。"),)
    return ProcedureItem(
        person_key=result.person_key,
        code=info.code,
        name=info.name,
        area=info.area,
        reasons=tuple(reasons),
        documents=info.documents,
        guidance=info.guidance,
        counter_name=info.counter,
        department_name=info.department,
        legal_basis=info.legal_basis,
        legal_url=info.legal_url,
        source=info.source,
        fee=info.fee,
        needs_check=result.status == "check",
        person_name=result.person_name,
    )


def determine_case(*, case: Any, persons: list[Any]) -> Determination:
    """Run the engine for the case; required and unverifiable (check) procedures become items."""
    if not case.events:
        return Determination(items=[], snapshot={}, version_id=case.catalogue_version_id, questions=[])
    version = _version_for(case)
    person_facts, _extras = case_facts(case=case, persons=persons)
    result = engine.determine(
        version=version,
        events=list(case.events),
        persons=person_facts,
        answers=case.answers or {},
        on=case.event_date,
        areas=_areas(),
    )
    items = [_item(r) for r in result.items if r.status in ("required", "check")]
    return Determination(
        items=items, snapshot=result.as_dict(), version_id=result.version_id, questions=list(result.questions)
    )


def export_mappings(*, case: Any) -> dict[str, dict]:
    """Procedure code → hand-back mapping (``{"kind", "items", "by_event"}``) of the case's catalogue version.

    A case without a catalogue version, or a version published before the mapping existed, has none.
    """
    try:
        compiled = engine.catalogue_compiled(_version_for(case))
    except NavigationUnavailable:
        return {}
    return {code: dict(info.export) for code, info in compiled.procedures.items() if info.export}


def procedure_events(*, case: Any) -> dict[str, tuple[str, ...]]:
    """Procedure code → the life events it belongs to, in the case's catalogue version."""
    try:
        compiled = engine.catalogue_compiled(_version_for(case))
    except NavigationUnavailable:
        return {}
    return {code: info.events for code, info in compiled.procedures.items()}


def procedure_forms(*, case: Any) -> dict[str, tuple[str, ...]]:
    """Procedure code → its form (様式) codes (``Procedure.forms``), in the case's catalogue version."""
    try:
        compiled = engine.catalogue_compiled(_version_for(case))
    except NavigationUnavailable:
        return {}
    return {code: info.forms for code, info in compiled.procedures.items()}


def _question(q: engine.PendingQuestion) -> Question:
    return Question(
        key=f"{q.person_key or CASE_KEY}:{q.code}",
        code=q.code,
        text=q.text,
        kind=q.kind,
        choices=tuple(q.choices),
        person_key=q.person_key,
        person_name=q.person_name,
        help_text=q.help,
    )


def questions_for_case(*, case: Any, persons: list[Any]) -> list[Question]:
    """The questions still able to change the result (the engine's ``next_questions`` order)."""
    if not case.events:
        return []
    stored = (case.determination or {}).get("questions")
    if stored is not None and case.determined_at is not None:
        return [
            Question(
                key=f"{q['person_key'] or CASE_KEY}:{q['code']}",
                code=q["code"],
                text=q["text"],
                kind=q["kind"],
                choices=tuple((c["value"], c["label"]) for c in q.get("choices", [])),
                person_key=q["person_key"],
                person_name=q.get("person_name", ""),
                help_text=q.get("help", ""),
            )
            for q in stored
        ]
    version = _version_for(case)
    person_facts, _extras = case_facts(case=case, persons=persons)
    pending = engine.next_questions(
        version=version,
        events=list(case.events),
        persons=person_facts,
        answers=case.answers or {},
        on=case.event_date,
        areas=_areas(),
    )
    return [_question(q) for q in pending]


def answer_rows(*, case: Any, persons: list[Any]) -> list[tuple[str, str, str]]:
    """Stored answers for display: (key, "<person name>：<question>", value as staff read it)."""
    if not case.answers:
        return []
    compiled = engine.catalogue_compiled(_version_for(case))
    names = {p.key: p.name for p in persons}

    def shown(question: Any, value: Any) -> str:
        if isinstance(value, bool):
            return _("はい") if value else _("いいえ")
        if question is not None and question.kind == "choice":
            return dict(question.choices).get(str(value), str(value))
        return str(value)

    rows = []
    for code, value in (case.answers.get("case") or {}).items():
        question = compiled.questions.get(code)
        rows.append((f"{CASE_KEY}:{code}", question.text if question else code, shown(question, value)))
    for key, items in (case.answers.get("persons") or {}).items():
        for code, value in items.items():
            question = compiled.questions.get(code)
            label = f"{names.get(key, key)}：{question.text if question else code}"
            rows.append((f"{key}:{code}", label, shown(question, value)))
    return rows


def answers_flat(answers: dict) -> dict[str, Any]:
    """``{"case": {...}, "persons": {...}}`` → ``{"case:code": v, "<key>:code": v}``."""
    flat = {f"{CASE_KEY}:{code}": v for code, v in (answers.get("case") or {}).items()}
    for key, items in (answers.get("persons") or {}).items():
        flat.update({f"{key}:{code}": v for code, v in items.items()})
    return flat


def validate_answers(*, case: Any, persons: list[Any], answers: dict[str, Any]) -> dict:
    """Form values ``{"<key>:<code>": raw}`` → the engine's nested, normalised answers.

    Raises ValidationError naming every bad answer; empty values are skipped (the question stays open).
    """
    nested: dict[str, Any] = {"case": {}, "persons": {}}
    keys = {p.key for p in persons}
    if any(name.partition(":")[0] not in keys | {CASE_KEY} for name in answers):
        # household members not (yet) in the case are asked too (the new head, a child the new 児童手当
        # recipient claims): their answers are accepted under their 宛名番号
        _facts, extras = case_facts(case=case, persons=persons)
        keys |= set(extras)
    problems = []
    for name, raw in answers.items():
        key, sep, code = name.partition(":")
        if not sep or not code:
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if key == CASE_KEY:
            nested["case"][code] = raw
        elif key in keys:
            nested["persons"].setdefault(key, {})[code] = raw
        else:
            problems.append(_("「%(name)s」は受付にいない人の回答です。") % {"name": name})
    cleaned, engine_problems = engine.answers_normalize(version=_version_for(case), answers=nested, person_keys=keys)
    problems += engine_problems
    if problems:
        raise ValidationError(problems)
    return cleaned
