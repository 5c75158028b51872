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
    kind: str  # yesno | choice | date | number | text | address
    choices: tuple[tuple[str, str], ...] = ()
    person_key: str | None = None
    person_name: str = ""
    help_text: str = ""
    # the procedures whose rules read this answer: what answering can add or remove (issue 17 item 4)
    decides: tuple[str, ...] = ()
    # text and address questions the case's forms need: asked so that nothing is typed twice (issue 12 item 1)
    for_forms: bool = False
    current: Any = None


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


# ---------------------------------------------------------------------------------------------
# Text and address answers: one value with the forms' case inputs
# ---------------------------------------------------------------------------------------------
FREE_KINDS = ("text", "address")


def entry_codes(compiled: engine.CompiledCatalogue) -> set[str]:
    """Text/address questions whose answer is the forms' case input of the same key and kind
    (``forms_builder.inputs``): stored once, as the forms' ``CaseEntry``, and read by both."""
    from forms_builder.selectors import input_kind

    return {code for code, q in compiled.questions.items() if q.kind in FREE_KINDS and input_kind(code) == q.kind}


def _with_entries(case: Any, compiled: engine.CompiledCatalogue, answers: dict, *, only_read: bool) -> dict:
    """``answers`` with the values of entry-stored questions (only those a rule reads with ``only_read``)."""
    codes = entry_codes(compiled)
    if only_read:
        codes &= set(compiled.question_procedures)
    if not codes:
        return answers
    from forms_builder.selectors import case_input_values

    values = case_input_values(case=case, keys=codes)
    if not values:
        return answers
    merged = {"case": dict(answers.get("case") or {}),
              "persons": {k: dict(v) for k, v in (answers.get("persons") or {}).items()}}
    for (code, person_key), value in values.items():
        if person_key:
            merged["persons"].setdefault(person_key, {})[code] = value
        else:
            merged["case"][code] = value
    return merged


def address_text(value: Any) -> str:
    """An address answer as staff read it: 〒, 町字, 番地 and 方書."""
    if not isinstance(value, dict):
        return str(value or "")
    postcode = str(value.get("postcode") or "")
    head = f"〒{postcode[:3]}-{postcode[3:]} " if len(postcode) == 7 else ""
    katagaki = f" {value['katagaki']}" if value.get("katagaki") else ""
    return f"{head}{value.get('town', '')}{value.get('banchi', '')}{katagaki}".strip()


def decides(compiled: engine.CompiledCatalogue, code: str) -> tuple[str, ...]:
    """Names of the procedures whose rules read the answer to ``code``."""
    return tuple(compiled.procedures[p].name for p in compiled.question_procedures.get(code, ())
                 if p in compiled.procedures)


def determine_case(*, case: Any, persons: list[Any]) -> Determination:
    """Run the engine for the case; required and unverifiable (check) procedures become items."""
    if not case.events:
        return Determination(items=[], snapshot={}, version_id=case.catalogue_version_id, questions=[])
    version = engine.catalogue_compiled(_version_for(case))
    person_facts, _extras = case_facts(case=case, persons=persons)
    result = engine.determine(
        version=version,
        events=list(case.events),
        persons=person_facts,
        answers=_with_entries(case, version, case.answers or {}, only_read=True),
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
    version = engine.catalogue_compiled(_version_for(case))
    person_facts, _extras = case_facts(case=case, persons=persons)
    pending = engine.next_questions(
        version=version,
        events=list(case.events),
        persons=person_facts,
        answers=_with_entries(case, version, case.answers or {}, only_read=True),
        on=case.event_date,
        areas=_areas(),
    )
    return [_question(q) for q in pending]


def interview_questions(*, case: Any, persons: list[Any]) -> list[Question]:
    """What the interview shows: the questions still able to change the result, each with the procedures its
    answer decides, then the text and address questions the case's forms need (with the value entered so far:
    typed here or on the forms page, it is one value)."""
    questions = questions_for_case(case=case, persons=persons)
    if not case.events:
        return questions
    compiled = engine.catalogue_compiled(_version_for(case))
    questions = [replace(q, decides=decides(compiled, q.code)) for q in questions]
    codes = entry_codes(compiled)
    if not codes:
        return questions
    from forms_builder.selectors import case_input_values, needed_inputs

    asked = {q.key for q in questions}
    names = {p.key: p.name for p in persons}
    values = case_input_values(case=case, keys=codes)
    for item, person in needed_inputs(case=case):
        if item.key not in codes:
            continue
        info = compiled.questions[item.key]
        person_key = getattr(person, "key", None) if info.scope == "person" else None
        if info.scope == "person" and person_key is None:
            continue
        key = f"{person_key or CASE_KEY}:{info.code}"
        if key in asked:
            continue
        asked.add(key)
        questions.append(Question(
            key=key, code=info.code, text=info.text, kind=info.kind, choices=info.choices, person_key=person_key,
            person_name=names.get(person_key, "") if person_key else "", help_text=info.help,
            decides=decides(compiled, info.code), for_forms=True, current=values.get((info.code, person_key or ""))))
    return questions


def answer_rows(*, case: Any, persons: list[Any]) -> list[tuple[str, str, str]]:
    """Stored answers for display: (key, "<person name>：<question>", value as staff read it)."""
    if not case.events and not case.answers:
        return []
    compiled = engine.catalogue_compiled(_version_for(case))
    answers = _with_entries(case, compiled, case.answers or {}, only_read=False)
    if not answers.get("case") and not answers.get("persons"):
        return []
    names = {p.key: p.name for p in persons}

    def shown(question: Any, value: Any) -> str:
        if isinstance(value, bool):
            return _("はい") if value else _("いいえ")
        if question is not None and question.kind == "choice":
            return dict(question.choices).get(str(value), str(value))
        if question is not None and question.kind == "address":
            return address_text(value)
        return str(value)

    rows = []
    for code, value in (answers.get("case") or {}).items():
        question = compiled.questions.get(code)
        rows.append((f"{CASE_KEY}:{code}", question.text if question else code, shown(question, value)))
    for key, items in (answers.get("persons") or {}).items():
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


ADDRESS_FIELD_SEP = "|"  # "<key>:<code>" is the 町字 picked, "<key>:<code>|banchi" and "…|katagaki" are typed


def _addresses_assembled(*, case: Any, answers: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Form values of address questions (町字 select + 番地 + 方書 fields) → one address value per question, its
    町字 (name, 〒) from the municipality's 町字 master (``forms_builder``); a 町字 not in the master is refused."""
    parts = {name for name in answers if ADDRESS_FIELD_SEP in name}
    bases = {name.partition(ADDRESS_FIELD_SEP)[0] for name in parts}
    if not bases:
        return answers
    from forms_builder.selectors import town_choices

    towns = town_choices()
    compiled = engine.catalogue_compiled(_version_for(case))
    result = {name: value for name, value in answers.items() if name not in parts and name not in bases}
    for base in sorted(bases):
        question = compiled.questions.get(base.partition(":")[2])
        raw = {"code": str(answers.get(base) or "").strip(),
               "banchi": str(answers.get(base + ADDRESS_FIELD_SEP + "banchi") or "").strip(),
               "katagaki": str(answers.get(base + ADDRESS_FIELD_SEP + "katagaki") or "").strip()}
        if question is None or question.kind != "address":
            problems.append(_("「%(name)s」は住所の質問ではありません。") % {"name": base})
            continue
        if not any(raw.values()):
            continue  # not answered yet: the question stays open
        if raw["code"] and raw["code"] not in towns:
            problems.append(_("「%(q)s」：町字コード %(code)s は町字の一覧にありません。")
                            % {"q": question.text, "code": raw["code"]})
            continue
        town = towns.get(raw["code"], {})
        result[base] = {**raw, "town": town.get("name", ""), "postcode": town.get("postcode", ""),
                        "prefix": town.get("prefix", "")}
    return result


def split_entry_answers(*, case: Any, cleaned: dict) -> tuple[dict, dict[tuple[str, str], Any]]:
    """Cleaned answers → (answers kept on the case, values that are the forms' case inputs ``{(code, person
    key or ""): value}``, saved once through ``forms_builder.services.case_entries_save``)."""
    codes = entry_codes(engine.catalogue_compiled(_version_for(case)))
    if not codes:
        return cleaned, {}
    kept: dict[str, Any] = {"case": {}, "persons": {}}
    entries: dict[tuple[str, str], Any] = {}
    for code, value in (cleaned.get("case") or {}).items():
        if code in codes:
            entries[(code, "")] = value
        else:
            kept["case"][code] = value
    for key, items in (cleaned.get("persons") or {}).items():
        for code, value in items.items():
            if code in codes:
                entries[(code, key)] = value
            else:
                kept["persons"].setdefault(key, {})[code] = value
    return kept, entries


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
    problems: list[str] = []
    answers = _addresses_assembled(case=case, answers=answers, problems=problems)
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
