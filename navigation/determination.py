"""Determination: persons + events + answers → procedures per person, and the interview.

Entry points (keyword-only; used by the counter screens, ``navigation.cases`` and the API):

- ``determine(version=..., events=[...], persons=[PersonFacts…], answers={...}, on=date, areas=[...])``
  → ``Determination``: the procedures that apply, per person (or for the whole case), each with the
  reasons, counter/department, documents to bring and legal basis; procedures whose outcome still
  depends on an unanswered question (``pending``); and the questions to ask next (``questions``).
- ``next_questions(...)`` (same arguments) → the ordered list of questions whose answer can still
  change the result. Rules are evaluated three-valued (``navigation.jsonlogic``): a question is asked
  only if some rule of an included procedure is still undecided for some person AND depends on it.
  A procedure that already applies for a person through one rule makes its other rules for that
  person irrelevant; rules of procedures outside ``areas`` or the selected events are never looked at.

``version`` is a ``navigation.models.CatalogueVersion`` (the immutable published snapshot a case was
opened with), a ``CompiledCatalogue`` or a catalogue dictionary (the ``default.json`` format).
Compiled catalogues are cached per (schema, version id, content hash).

``answers`` is ``{"case": {question_code: value}, "persons": {person_key: {question_code: value}}}``;
per-person answers can also come with the person (``PersonFacts.answers``). Values are normalised by
``answer_normalize`` (yes/no → bool, date → "YYYY-MM-DD", number → int/float, choice → its value).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from madoguchi.inputs import date_in_range, date_range_message
from navigation import facts as facts_mod
from navigation.facts import PersonFacts
from navigation.jsonlogic import Compiled, RuleError, Unknown, compile_rule, truthy, validate

AREA_LABELS = {
    "juki": "住民基本台帳", "inkan": "印鑑登録", "koseki": "戸籍", "zei": "税", "kokuho": "国民健康保険",
    "kaigo": "介護保険", "kouki": "後期高齢者医療", "jidou_teate": "児童手当", "gakureibo": "学齢簿",
}
QUESTION_KINDS = ("yesno", "choice", "date", "number", "text", "address")
# Free-text answers (issue 12 item 1): a text is one line of at most TEXT_MAX characters; an address is the 町字
# picked from the municipality's 町字 master plus 番地 and 方書 typed by hand. Rules may read the whole answer
# (answered or not, equal to a text) and an address's parts ``answer.<code>.code`` (町字コード) / ``.town`` /
# ``.postcode``; the parts are what the interview stores (``ADDRESS_PARTS``).
TEXT_MAX = 200
ADDRESS_PARTS = ("code", "town", "banchi", "katagaki", "postcode", "prefix")
ADDRESS_RULE_PARTS = ("code", "town", "postcode")
SCOPES = ("person", "case")
RULE_SCOPES = ("person", "household")
CODE_RE = re.compile(r"^[a-z][a-z0-9_.\-]{0,79}$")


# ------------------------------------------------------------------------------------------------
# Compiled catalogue
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    name: str
    area: str
    area_label: str
    guidance: str
    documents: tuple[str, ...]
    counter: str
    department: str
    legal_basis: str
    legal_url: str
    fee: str
    forms: tuple[str, ...]
    events: tuple[str, ...]
    staff_alert: bool
    order: int
    # Where the rule comes from (ministry notice, 事務処理要領 …) beside the article in ``legal_basis`` (R1.3).
    source: str = ""
    # Hand-back mapping to an export kind (see ``export_validate``); not part of equality/hash.
    export: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "area": self.area, "area_label": self.area_label,
            "guidance": self.guidance, "documents": list(self.documents), "counter": self.counter,
            "department": self.department, "legal_basis": self.legal_basis, "legal_url": self.legal_url,
            "fee": self.fee, "forms": list(self.forms), "events": list(self.events),
            "staff_alert": self.staff_alert, "source": self.source,
        }


@dataclass(frozen=True)
class QuestionInfo:
    code: str
    text: str
    help: str
    kind: str
    scope: str
    choices: tuple[tuple[str, str], ...]
    order: int
    # A per-person yes/no question at most one person of the case answers "yes" (the new head of
    # household, the new 児童手当 recipient): once someone says yes, everybody else's answer is "no".
    exclusive: bool = False


@dataclass(frozen=True)
class CompiledRule:
    code: str
    procedure: str
    scope: str
    events: frozenset[str]
    reason: str
    fn: Compiled
    order: int


@dataclass
class CompiledCatalogue:
    key: str
    events: dict[str, dict[str, Any]]
    procedures: dict[str, ProcedureInfo]
    questions: dict[str, QuestionInfo]
    rules_by_procedure: dict[str, list[CompiledRule]]
    version_id: int | None = None
    version_number: int | None = None
    content_hash: str = ""
    # question code → the procedures whose rules read its answer (what the answer can add or remove)
    question_procedures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _selection_cache: dict[tuple, list[ProcedureInfo]] = field(default_factory=dict)

    def procedures_for(self, *, events: Iterable[str], areas: Iterable[str]) -> list[ProcedureInfo]:
        """Procedures of the selected events within the municipality's business areas, in order."""
        key = (frozenset(events), frozenset(areas))
        found = self._selection_cache.get(key)
        if found is None:
            ev, ar = key
            found = [p for p in self.procedures.values() if p.area in ar and ev.intersection(p.events)]
            found.sort(key=lambda p: (p.order, p.code))
            if len(self._selection_cache) < 256:
                self._selection_cache[key] = found
        return found


class CatalogueInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def content_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


_STR, _INT, _BOOL, _DICT = "文字列", "整数", "true/false", "オブジェクト"
_STRS, _DICTS = "文字列の配列", "オブジェクトの配列"
# The JSON type of every member of a catalogue item (a wrong type is reported before anything reads it).
ITEM_TYPES: dict[str, dict[str, str]] = {
    "events": {"code": _STR, "name": _STR, "description": _STR, "order": _INT},
    "procedures": {"code": _STR, "name": _STR, "area": _STR, "events": _STRS, "guidance": _STR, "documents": _STRS,
                   "counter": _STR, "department": _STR, "legal_basis": _STR, "legal_url": _STR, "fee": _STR,
                   "forms": _STRS, "staff_alert": _BOOL, "export": _DICT, "order": _INT},
    "questions": {"code": _STR, "text": _STR, "help": _STR, "kind": _STR, "scope": _STR, "choices": _DICTS,
                  "order": _INT},
    "rules": {"code": _STR, "procedure": _STR, "scope": _STR, "events": _STRS, "reason": _STR, "order": _INT},
}
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    _STR: lambda v: isinstance(v, str),
    _INT: lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**31,
    _BOOL: lambda v: isinstance(v, bool),
    _DICT: lambda v: isinstance(v, dict),
    _STRS: lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    _DICTS: lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
}


# Members an exported catalogue may carry as null (read as empty).
_NULLABLE = {("procedures", key) for key in ("guidance", "documents", "counter", "department", "legal_basis",
                                            "legal_url", "fee", "forms", "export")}


def catalogue_type_problems(section: str, index: int, item: Any) -> list[str]:
    """Members of one catalogue item whose JSON type is wrong (``procedures[3].events: 文字列の配列で…``)."""
    if not isinstance(item, dict):
        return [f"{section}[{index}]: オブジェクトでなければなりません"]
    return [f"{section}[{index}].{key}: {kind}で指定してください" for key, kind in ITEM_TYPES[section].items()
            if key in item and not (item[key] is None and (section, key) in _NULLABLE)
            and not _TYPE_CHECKS[kind](item[key])]


def catalogue_validate(data: dict[str, Any]) -> list[str]:
    """Every problem of a catalogue dictionary, each with where it is (empty list = valid)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return ["カタログはオブジェクトでなければなりません"]
    for section in ("events", "procedures", "questions", "rules"):
        if not isinstance(data.get(section, []), list):
            problems.append(f"{section}: 配列でなければなりません")
    if problems:
        return problems
    for section in ("events", "procedures", "questions", "rules"):
        for index, item in enumerate(data.get(section, [])):
            problems.extend(catalogue_type_problems(section, index, item))
    if problems:
        return problems
    events = data.get("events", [])
    procedures = data.get("procedures", [])
    questions = data.get("questions", [])
    rules = data.get("rules", [])

    def codes(section: str, items: list[Any]) -> set[str]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            code = item.get("code") if isinstance(item, dict) else None
            if not isinstance(code, str) or not CODE_RE.match(code):
                problems.append(f"{section}[{i}].code: コードは英小文字で始まる英数字・_・-・. です（{code!r}）")
            elif code in seen:
                problems.append(f"{section}[{i}].code: コード「{code}」が重複しています")
            else:
                seen.add(code)
        return seen

    event_codes = codes("events", events)
    procedure_codes = codes("procedures", procedures)
    codes("questions", questions)
    codes("rules", rules)
    question_scope = {}
    for i, item in enumerate(events):
        if isinstance(item, dict) and not str(item.get("name", "")).strip():
            problems.append(f"events[{i}].name: 名称は必須です")
    for i, item in enumerate(procedures):
        if not isinstance(item, dict):
            continue
        where = f"procedures[{i}]（{item.get('code')}）"
        if not str(item.get("name", "")).strip():
            problems.append(f"{where}.name: 名称は必須です")
        if item.get("area") not in AREA_LABELS:
            problems.append(f"{where}.area: 未知の業務「{item.get('area')}」")
        unknown_events = [e for e in item.get("events", []) if e not in event_codes]
        if unknown_events:
            problems.append(f"{where}.events: 未知の異動事由 {', '.join(map(str, unknown_events))}")
        if not item.get("events"):
            problems.append(f"{where}.events: 異動事由を1つ以上指定してください")
        for key in ("documents", "forms"):
            if not isinstance(item.get(key, []), list):
                problems.append(f"{where}.{key}: 配列でなければなりません")
        if item.get("export"):
            problems.extend(f"{where}.export{p}" for p in export_validate(
                item["export"], event_codes=event_codes,
                question_codes={q.get("code") for q in questions if isinstance(q, dict)}))
    for i, item in enumerate(questions):
        if not isinstance(item, dict):
            continue
        where = f"questions[{i}]（{item.get('code')}）"
        question_scope[item.get("code")] = item.get("scope")
        if not str(item.get("text", "")).strip():
            problems.append(f"{where}.text: 質問文は必須です")
        if item.get("kind") not in QUESTION_KINDS:
            problems.append(f"{where}.kind: 種類は {', '.join(QUESTION_KINDS)} のいずれかです")
        if item.get("scope") not in SCOPES:
            problems.append(f"{where}.scope: 対象は person（人ごと）か case（ケース）です")
        if item.get("exclusive") and (item.get("kind") != "yesno" or item.get("scope") != "person"):
            problems.append(f"{where}.exclusive: 1人だけが「はい」の質問は、人ごとの はい／いいえ の質問に限ります")
        if item.get("kind") == "choice":
            choices = item.get("choices") or []
            valid = all(isinstance(c, dict) and c.get("value") not in (None, "") for c in choices)
            if not choices or not valid:
                problems.append(f"{where}.choices: 選択肢（value と label）を1つ以上指定してください")
    for i, item in enumerate(rules):
        if not isinstance(item, dict):
            continue
        where = f"rules[{i}]（{item.get('code')}）"
        if item.get("procedure") not in procedure_codes:
            problems.append(f"{where}.procedure: 未知の手続「{item.get('procedure')}」")
        problems.extend(f"{where}.{p}" for p in rule_validate(
            condition=item.get("condition"), reason=str(item.get("reason", "")), scope=item.get("scope", "person"),
            events=item.get("events", []), event_codes=event_codes, question_scopes=question_scope))
    return problems


def rule_validate(
    *, condition: Any, reason: str, scope: str, events: Iterable[str], event_codes: set[str],
    question_scopes: dict[str, str],
) -> list[str]:
    """Problems of one rule against the events and questions of its catalogue (paths like
    ``condition.and[1].var``)."""
    problems: list[str] = []
    if scope not in RULE_SCOPES:
        problems.append("scope: 対象は person（人ごと）か household（世帯・ケース）です")
    unknown_events = [e for e in events if e not in event_codes]
    if unknown_events:
        problems.append(f"events: 未知の異動事由 {', '.join(map(str, unknown_events))}")
    if not reason.strip():
        problems.append("reason: 理由の文は必須です")
    questions = set(question_scopes)

    def known(path: str) -> bool:
        if scope == "household" and path.startswith("person."):
            return False
        if scope == "household" and path.startswith("answer."):
            code = answer_question_code(path, question_scopes)
            return code is not None and question_scopes.get(code) == "case"
        return facts_mod.known_variable(path, events=event_codes, questions=questions)

    analysis = validate(condition, is_known_var=known,
                        element_vars={"household.members": facts_mod.element_variable})
    problems.extend(f"condition{p[1:]}" for p in analysis.problems)
    for var in _template_vars(reason):
        if not known(var) and not var.startswith("procedure."):
            problems.append(f"reason: 未知の差し込み項目「{{{var}}}」")
    return problems


# ------------------------------------------------------------------------------------------------
# Hand-back mapping (procedure → export kind of integration.exports)
# ------------------------------------------------------------------------------------------------
EXPORT_KEYS = ("kind", "items", "by_event")
EXPORT_REF_RE = re.compile(
    r"^@(?:event_date(?:[+-][0-9]{1,3})?|received_date|answer\.[a-z][a-z0-9_.\-]{0,79}"
    r"|mirror\.(?:address|katagaki|postcode)|eligibility\.[a-z_]{1,16})$"
)
EXPORT_REFERENCES = {
    "@event_date": "異動日・届出日（受付の事由の日）。@event_date+1 のように日数を足せます",
    "@received_date": "受付日",
    "@answer.<質問コード>": "聞き取りの回答（人ごとの回答、なければケースの回答）",
    "@mirror.address / @mirror.katagaki / @mirror.postcode":
        "住民記録の現住所・方書・郵便番号（支援措置対象者も実際の住所）",
    "@eligibility.<業務>": "住民記録の資格情報の記号番号等（例：@eligibility.inkan = 印鑑登録番号）",
}


def _export_kind(code: str) -> Any:
    """The export kind from ``integration.exports.registry``; ``False`` when the registry is not loaded."""
    try:
        from integration.exports import registry
    except ImportError:  # pragma: no cover - integration.exports is always installed with navigation
        return False
    if not registry.registered():
        return False
    return registry.get(code)


def export_validate(mapping: Any, *, event_codes: Iterable[str] = (), question_codes: Iterable[str] = ()) -> list[str]:
    """Problems of a procedure's hand-back mapping (paths like ``.items.idou_jiyu``); empty when valid.

    ``{"kind": "juki_idou", "items": {"idou_jiyu": "tennyu"}, "by_event": {"tenshutsu": {...}}}``: item values
    are constants (coded items: a code of the kind) or references (``EXPORT_REFERENCES``).
    """
    if not isinstance(mapping, dict):
        return [": オブジェクト（kind・items・by_event）で指定してください"]
    problems = [f".{key}: 未知のキーです（使えるのは {', '.join(EXPORT_KEYS)}）" for key in mapping
                if key not in EXPORT_KEYS]
    code = mapping.get("kind")
    kind = _export_kind(code) if isinstance(code, str) and code else None
    if not isinstance(code, str) or not code:
        problems.append(".kind: 連携先のデータ種別（例：juki_idou）を指定してください")
    elif kind is None:
        problems.append(f".kind: 未知のデータ種別「{code}」")
    events = set(event_codes)
    questions = set(question_codes)

    def check_items(path: str, items: Any) -> None:
        if not isinstance(items, dict):
            problems.append(f"{path}: 項目コードと値の組（オブジェクト）で指定してください")
            return
        for item_code, value in items.items():
            where = f"{path}.{item_code}"
            item = kind.item(item_code) if kind else None
            if kind and item is None:
                problems.append(f"{where}: 「{kind.label}」にない項目です")
                continue
            if not isinstance(value, str):
                problems.append(f"{where}: 値は文字列で指定してください")
            elif value.startswith("@"):
                if not EXPORT_REF_RE.match(value):
                    problems.append(f"{where}: 参照「{value}」は使えません（{', '.join(EXPORT_REFERENCES)}）")
                elif value.startswith("@answer.") and value[8:] not in questions:
                    problems.append(f"{where}: 未知の質問「{value[8:]}」")
            elif item is not None and item.type == "code" and item.codes and value and value not in item.code_table:
                problems.append(f"{where}: コード「{value}」は「{item.label}」にありません"
                                f"（{', '.join(item.code_table)}）")

    check_items(".items", mapping.get("items", {}))
    by_event = mapping.get("by_event", {})
    if not isinstance(by_event, dict):
        problems.append(".by_event: 異動事由コードごとの項目（オブジェクト）で指定してください")
    else:
        for event, items in by_event.items():
            if events and event not in events:
                problems.append(f".by_event.{event}: 未知の異動事由")
            check_items(f".by_event.{event}", items)
    return problems


def compile_catalogue(data: dict[str, Any], *, key: str = "", version_id: int | None = None,
                      version_number: int | None = None) -> CompiledCatalogue:
    """Validate and compile a catalogue dictionary. Raises CatalogueInvalid listing every problem."""
    problems = catalogue_validate(data)
    if problems:
        raise CatalogueInvalid(problems)
    events = {e["code"]: {"code": e["code"], "name": e["name"], "description": e.get("description", ""),
                          "order": int(e.get("order", 0))} for e in data.get("events", [])}
    events = dict(sorted(events.items(), key=lambda kv: (kv[1]["order"], kv[0])))
    procedures = {
        p["code"]: ProcedureInfo(
            code=p["code"], name=p["name"], area=p["area"], area_label=AREA_LABELS[p["area"]],
            guidance=p.get("guidance", ""), documents=tuple(p.get("documents", [])),
            counter=p.get("counter", ""), department=p.get("department", ""),
            legal_basis=p.get("legal_basis", ""), legal_url=p.get("legal_url", ""), fee=p.get("fee", ""),
            forms=tuple(p.get("forms", [])), events=tuple(p.get("events", [])),
            staff_alert=bool(p.get("staff_alert", False)), order=int(p.get("order", 0)),
            export=dict(p.get("export") or {}), source=str(p.get("source", "") or ""),
        )
        for p in data.get("procedures", [])
    }
    questions = {
        q["code"]: QuestionInfo(
            code=q["code"], text=q["text"], help=q.get("help", ""), kind=q["kind"], scope=q["scope"],
            choices=tuple((str(c["value"]), str(c.get("label", c["value"]))) for c in q.get("choices") or []),
            order=int(q.get("order", 0)), exclusive=bool(q.get("exclusive", False)),
        )
        for q in data.get("questions", [])
    }
    rules: dict[str, list[CompiledRule]] = {}
    errors: list[str] = []
    for r in data.get("rules", []):
        try:
            fn = compile_rule(r["condition"])
        except RuleError as exc:
            errors.extend(f"rules（{r['code']}）: {p}" for p in exc.problems)
            continue
        rules.setdefault(r["procedure"], []).append(CompiledRule(
            code=r["code"], procedure=r["procedure"], scope=r.get("scope", "person"),
            events=frozenset(r.get("events", [])), reason=r["reason"], fn=fn, order=int(r.get("order", 0)),
        ))
    if errors:
        raise CatalogueInvalid(errors)
    for items in rules.values():
        items.sort(key=lambda rule: (rule.order, rule.code))
    return CompiledCatalogue(key=key or content_hash(data), events=events, procedures=procedures,
                             questions=questions, rules_by_procedure=rules, version_id=version_id,
                             version_number=version_number, content_hash=content_hash(data),
                             question_procedures=_question_procedures(data, questions, procedures))


_ANSWER_REF_RE = re.compile(r"answer\.([a-z][a-z0-9_.\-]*)")


def answer_question_code(path: str, questions: Iterable[str]) -> str | None:
    """The question an ``answer.…`` path reads (``answer.new_address.code`` → ``new_address``), or None."""
    rest = path[7:] if path.startswith("answer.") else path
    rest = rest.partition("@")[0]
    known = questions if isinstance(questions, set | frozenset | dict) else set(questions)
    if rest in known:
        return rest
    code, _dot, part = rest.rpartition(".")
    if code in known and part in ADDRESS_RULE_PARTS:
        return code
    return None


def _question_procedures(data: dict[str, Any], questions: dict[str, QuestionInfo],
                         procedures: dict[str, ProcedureInfo]) -> dict[str, tuple[str, ...]]:
    """Question code → procedure codes (in catalogue order) whose rules read the answer, from the conditions."""
    found: dict[str, set[str]] = {}
    for rule in data.get("rules", []):
        text = json.dumps(rule.get("condition"), ensure_ascii=False)
        for path in _ANSWER_REF_RE.findall(text):
            code = answer_question_code(path, questions)
            if code is not None:
                found.setdefault(code, set()).add(rule["procedure"])
    order = {code: (info.order, code) for code, info in procedures.items()}
    return {code: tuple(sorted(procs, key=lambda c: order.get(c, (0, c)))) for code, procs in found.items()}


_CACHE: OrderedDict[tuple, CompiledCatalogue] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def catalogue_compiled(version: Any) -> CompiledCatalogue:
    """The compiled form of a CatalogueVersion / dict / CompiledCatalogue, cached per content."""
    if isinstance(version, CompiledCatalogue):
        return version
    if isinstance(version, dict):
        cache_key: tuple = ("dict", content_hash(version))
        data, version_id, number = version, None, None
    else:
        from django.db import connection

        data = version.snapshot
        version_id, number = version.pk, version.number
        cache_key = (getattr(connection, "schema_name", ""), "version", version.pk, version.content_hash)
    with _CACHE_LOCK:
        found = _CACHE.get(cache_key)
        if found is not None:
            _CACHE.move_to_end(cache_key)
            return found
    compiled = compile_catalogue(data, key=":".join(map(str, cache_key)), version_id=version_id,
                                 version_number=number)
    with _CACHE_LOCK:
        _CACHE[cache_key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def catalogue_cached(*, schema: str, version_id: int, content_hash: str) -> CompiledCatalogue | None:
    """The compiled form of a published version if compiled before — found without reading its snapshot."""
    with _CACHE_LOCK:
        found = _CACHE.get((schema, "version", version_id, content_hash))
        if found is not None:
            _CACHE.move_to_end((schema, "version", version_id, content_hash))
        return found


# ------------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------------
_YES = {"yes", "y", "true", "1", "はい", "有", "あり", "on"}
_NO = {"no", "n", "false", "0", "いいえ", "無", "なし", "off"}


def answer_normalize(question: QuestionInfo, value: Any) -> Any:
    """Normalise one answer for ``question``; raises ValueError with a Japanese message."""
    if question.kind == "yesno":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise ValueError(f"「{question.text}」には はい／いいえ で答えてください")
    if question.kind == "choice":
        values = [v for v, _label in question.choices]
        if str(value) not in values:
            raise ValueError(f"「{question.text}」の選択肢にない値です: {value}")
        return str(value)
    if question.kind == "date":
        try:
            answer = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"「{question.text}」には日付（YYYY-MM-DD）を入力してください") from None
        if not date_in_range(answer):
            raise ValueError(date_range_message(question.text))
        return answer.isoformat()
    if question.kind == "text":
        text = str(value if value is not None else "").strip()
        if isinstance(value, dict | list | bool) or not text:
            raise ValueError(f"「{question.text}」には文字を入力してください")
        if len(text) > TEXT_MAX:
            raise ValueError(f"「{question.text}」は{TEXT_MAX}文字以内で入力してください（{len(text)}文字）")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            raise ValueError(f"「{question.text}」に改行や制御文字は使えません")
        return text
    if question.kind == "address":
        return address_normalize(question.text, value)
    if isinstance(value, dict | list | bool):
        raise ValueError(f"「{question.text}」には数値を入力してください")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"「{question.text}」には数値を入力してください") from None
    if not math.isfinite(number) or abs(number) > 1e15:
        raise ValueError(f"「{question.text}」の数値が大きすぎます")
    return int(number) if number.is_integer() else number


def address_normalize(label: str, value: Any) -> dict[str, str]:
    """An address answer: ``{"code", "town", "banchi", "katagaki", "postcode", "prefix"}``, 町字 and 番地 required.

    Whether the 町字 is in the municipality's 町字 master is checked where the master is read (the case service).
    """
    if not isinstance(value, dict):
        raise ValueError(f"「{label}」は町字を一覧から選び、番地を入力してください")
    unknown = sorted(set(value) - set(ADDRESS_PARTS))
    if unknown:
        raise ValueError(f"「{label}」に未知の項目があります: {', '.join(map(str, unknown))}")
    parts = {part: str(value.get(part) or "").strip() for part in ADDRESS_PARTS}
    problems = []
    if not parts["town"] and not parts["code"]:
        problems.append("町字を一覧から選んでください")
    if not parts["banchi"]:
        problems.append("番地を入力してください")
    for part, text in parts.items():
        if len(text) > TEXT_MAX:
            problems.append(f"{part} は{TEXT_MAX}文字以内で入力してください")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
            problems.append("改行や制御文字は使えません")
    postcode = parts["postcode"].replace("-", "")
    if postcode and not (postcode.isdigit() and len(postcode) == 7):
        problems.append("郵便番号は7桁の数字です")
    if problems:
        raise ValueError(f"「{label}」：" + "、".join(problems))
    return {**parts, "postcode": postcode}


def answers_normalize(*, version: Any, answers: dict[str, Any] | None,
                      person_keys: Iterable[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """Normalise ``{"case": {...}, "persons": {key: {...}}}``; returns (answers, problems)."""
    catalogue = catalogue_compiled(version)
    problems: list[str] = []
    result: dict[str, Any] = {"case": {}, "persons": {}}
    answers = answers or {}
    if not isinstance(answers, dict):
        return result, ["answers: オブジェクトでなければなりません"]
    keys = set(person_keys)
    case_answers = {} if answers.get("case") is None else answers["case"]
    person_answers = {} if answers.get("persons") is None else answers["persons"]
    if not isinstance(case_answers, dict):
        problems.append("answers.case: オブジェクト（{質問コード: 値}）でなければなりません")
        case_answers = {}
    if not isinstance(person_answers, dict):
        problems.append("answers.persons: オブジェクト（{key: {質問コード: 値}}）でなければなりません")
        person_answers = {}
    for code, value in case_answers.items():
        question = catalogue.questions.get(code)
        if question is None or question.scope != "case":
            problems.append(f"answers.case.{code}: ケースの質問にありません")
            continue
        if value is None or value == "":
            continue
        try:
            result["case"][code] = answer_normalize(question, value)
        except ValueError as exc:
            problems.append(f"answers.case.{code}: {exc}")
    for key, items in person_answers.items():
        if keys and key not in keys:
            problems.append(f"answers.persons.{key}: ケースにいない人です")
            continue
        if items is not None and not isinstance(items, dict):
            problems.append(f"answers.persons.{key}: オブジェクト（{{質問コード: 値}}）でなければなりません")
            continue
        for code, value in (items or {}).items():
            question = catalogue.questions.get(code)
            if question is None or question.scope != "person":
                problems.append(f"answers.persons.{key}.{code}: 人ごとの質問にありません")
                continue
            if value is None or value == "":
                continue
            try:
                result["persons"].setdefault(key, {})[code] = answer_normalize(question, value)
            except ValueError as exc:
                problems.append(f"answers.persons.{key}.{code}: {exc}")
    return result, problems


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PendingQuestion:
    code: str
    text: str
    help: str
    kind: str
    scope: str
    choices: tuple[tuple[str, str], ...]
    person_key: str | None
    person_name: str
    procedures: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "help": self.help, "kind": self.kind,
                "scope": self.scope, "choices": [{"value": v, "label": lbl} for v, lbl in self.choices],
                "person_key": self.person_key, "person_name": self.person_name,
                "procedures": list(self.procedures)}


@dataclass(frozen=True)
class ProcedureResult:
    procedure: ProcedureInfo
    person_key: str | None  # None: for the whole case / household
    person_name: str
    status: str  # "required" | "pending" (depends on an unanswered question) | "check" (facts missing)
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    missing: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"procedure": self.procedure.as_dict(), "person_key": self.person_key,
                "person_name": self.person_name, "status": self.status, "reasons": list(self.reasons),
                "rules": list(self.rules), "missing": list(self.missing)}


@dataclass
class Determination:
    on: date
    events: list[str]
    areas: list[str]
    version_id: int | None
    version_number: int | None
    items: list[ProcedureResult]
    questions: list[PendingQuestion]

    @property
    def required(self) -> list[ProcedureResult]:
        return [item for item in self.items if item.status == "required"]

    @property
    def complete(self) -> bool:
        """No question can change the result any more."""
        return not self.questions

    def procedure_codes_by_person(self, *, status: str = "required") -> dict[str | None, set[str]]:
        result: dict[str | None, set[str]] = {}
        for item in self.items:
            if item.status == status:
                result.setdefault(item.person_key, set()).add(item.procedure.code)
        return result

    def for_person(self, key: str | None) -> list[ProcedureResult]:
        return [item for item in self.items if item.person_key == key]

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), "events": self.events, "areas": self.areas,
                "version": {"id": self.version_id, "number": self.version_number},
                "complete": self.complete, "procedures": [item.as_dict() for item in self.items],
                "questions": [q.as_dict() for q in self.questions]}


_TEMPLATE_RE = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_.\-]*)\}")


def _template_vars(template: str) -> list[str]:
    return _TEMPLATE_RE.findall(template)


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, Unknown) or value is None:
        return "？"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            d = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{d.year}年{d.month}月{d.day}日"
    return str(value)


def render_reason(template: str, data: dict[str, Any]) -> str:
    """Fill ``{person.name}``-style placeholders from the evaluation data (no code, no format specs)."""

    def _sub(match: re.Match[str]) -> str:
        current: Any = data
        for part in match.group(1).split("."):
            current = current.get(part) if isinstance(current, dict) else None
        return _display(current)

    return _TEMPLATE_RE.sub(_sub, template)


# ------------------------------------------------------------------------------------------------
# Determination
# ------------------------------------------------------------------------------------------------
def _person_label(person: PersonFacts, index: int) -> str:
    return person.name or f"{index + 1}人目"


def _evaluate(
    catalogue: CompiledCatalogue, *, events: list[str], persons: list[PersonFacts], answers: dict[str, Any],
    on: date, areas: list[str],
) -> Determination:
    selected = set(events)
    case_answers = dict((answers or {}).get("case") or {})
    person_answers = (answers or {}).get("persons") or {}
    contexts = [facts_mod.person_context(p, on=on) for p in persons]
    merged_answers = [{**case_answers, **person.answers, **(person_answers.get(person.key) or {})}
                      for person in persons]
    _apply_exclusive(catalogue, merged_answers)
    household = facts_mod.household_context(persons, contexts)
    household.update(facts_mod.household_answer_context(persons, contexts, merged_answers))
    base = {"on": on.isoformat(), "on_month": on.month, "events": sorted(selected),
            "event": {code: code in selected for code in catalogue.events}, "household": household}
    person_data = [{**base, "person": ctx, "answer": merged}
                   for ctx, merged in zip(contexts, merged_answers, strict=True)]
    household_data = {**base, "answer": case_answers}
    index = {p.key: i for i, p in enumerate(persons)}

    items: list[ProcedureResult] = []
    wanted: dict[tuple[str, str | None], set[str]] = {}
    for procedure in catalogue.procedures_for(events=selected, areas=areas):
        rules = [r for r in catalogue.rules_by_procedure.get(procedure.code, ())
                 if not r.events or r.events & selected]
        for scope, targets in (("household", [(None, household_data)]),
                               ("person", list(zip(persons, person_data, strict=True)))):
            scoped = [r for r in rules if r.scope == scope]
            if not scoped:
                continue
            for target, data in targets:
                hits: list[tuple[CompiledRule, str]] = []
                deps: set[str] = set()
                for rule in scoped:
                    value = rule.fn(data)
                    if isinstance(value, Unknown):
                        deps |= value.deps
                    elif truthy(value):
                        hits.append((rule, render_reason(rule.reason, {**data, "procedure": {
                            "name": procedure.name}})))
                key = target.key if target is not None else None
                name = _person_label(target, persons.index(target)) if target is not None else ""
                if hits:
                    reasons = tuple(dict.fromkeys(r for _, r in hits))
                    items.append(ProcedureResult(procedure=procedure, person_key=key, person_name=name,
                                                 status="required", reasons=reasons,
                                                 rules=tuple(rule.code for rule, _ in hits)))
                elif deps:
                    askable = sorted(d for d in deps if d.startswith("answer.")
                                     and answer_question_code(d, catalogue.questions) is not None)
                    status = "pending" if askable else "check"
                    items.append(ProcedureResult(procedure=procedure, person_key=key, person_name=name,
                                                 status=status, reasons=(),
                                                 rules=tuple(r.code for r in scoped),
                                                 missing=tuple(sorted(deps))))
                    for dep in askable:
                        _path, _at, owner = dep[7:].partition("@")
                        question = catalogue.questions[answer_question_code(dep, catalogue.questions)]
                        qkey = None if question.scope == "case" else (owner if owner in index else key)
                        wanted.setdefault((question.code, qkey), set()).add(procedure.code)

    questions = []
    for (code, key), procs in wanted.items():
        question = catalogue.questions[code]
        person = persons[index[key]] if key is not None else None
        questions.append(PendingQuestion(
            code=code, text=question.text, help=question.help, kind=question.kind, scope=question.scope,
            choices=question.choices, person_key=key,
            person_name=_person_label(person, index[key]) if person is not None else "",
            procedures=tuple(sorted(procs)),
        ))
    # Case questions before per-person ones of the same rank; then catalogue order; then person order.
    questions.sort(key=lambda q: (catalogue.questions[q.code].order, q.scope != "case",
                                  index.get(q.person_key, -1) if q.person_key else -1, q.code))
    person_order = {p.key: i for i, p in enumerate(persons)}
    items.sort(key=lambda it: (person_order.get(it.person_key, -1) if it.person_key else -1,
                               it.procedure.order, it.procedure.code))
    return Determination(on=on, events=sorted(selected, key=lambda e: list(catalogue.events).index(e)
                                              if e in catalogue.events else 999),
                         areas=list(areas), version_id=catalogue.version_id,
                         version_number=catalogue.version_number, items=items, questions=questions)


def _apply_exclusive(catalogue: CompiledCatalogue, merged_answers: list[dict[str, Any]]) -> None:
    """Once one person answers "yes" to an exclusive question, nobody else can: their answer is "no"."""
    for question in catalogue.questions.values():
        if question.exclusive and any(a.get(question.code) is True for a in merged_answers):
            for answers_of_person in merged_answers:
                answers_of_person.setdefault(question.code, False)


def _check_events(catalogue: CompiledCatalogue, events: list[str]) -> None:
    unknown = [e for e in events if e not in catalogue.events]
    if unknown:
        raise ValueError(f"未知の異動事由: {', '.join(unknown)}")


def determine(
    *,
    version: Any,
    events: list[str],
    persons: list[PersonFacts],
    answers: dict[str, Any] | None = None,
    on: date,
    areas: list[str],
) -> Determination:
    """Procedures per person for ``events`` on ``on`` under catalogue ``version``, limited to ``areas``.

    ``answers`` must already be normalised (see ``answers_normalize``). The result lists required
    procedures with reasons, procedures still pending on a question, and the questions to ask next.
    Raises ValueError for an unknown event code.
    """
    catalogue = catalogue_compiled(version)
    _check_events(catalogue, events)
    return _evaluate(catalogue, events=events, persons=persons, answers=answers or {}, on=on, areas=areas)


def next_questions(
    *,
    version: Any,
    events: list[str],
    persons: list[PersonFacts],
    answers: dict[str, Any] | None = None,
    on: date,
    areas: list[str],
) -> list[PendingQuestion]:
    """The questions whose answer can still change the result, in the order to ask them."""
    return determine(version=version, events=events, persons=persons, answers=answers, on=on,
                     areas=areas).questions


def interview_simulate(
    *,
    version: Any,
    events: list[str],
    persons: list[PersonFacts],
    on: date,
    areas: list[str],
    respond: Callable[[PendingQuestion], Any],
    limit: int = 200,
) -> tuple[Determination, list[PendingQuestion]]:
    """Run the interview one question at a time (always the first pending one) with ``respond``.

    Returns the final determination and the questions asked, in order. Used by tests and the bench.
    """
    catalogue = catalogue_compiled(version)
    answers: dict[str, Any] = {"case": {}, "persons": {}}
    asked: list[PendingQuestion] = []
    for _ in range(limit):
        result = determine(version=catalogue, events=events, persons=persons, answers=answers, on=on,
                           areas=areas)
        if not result.questions:
            return result, asked
        question = result.questions[0]
        asked.append(question)
        value = answer_normalize(catalogue.questions[question.code], respond(question))
        if question.person_key is None:
            answers["case"][question.code] = value
        else:
            answers["persons"].setdefault(question.person_key, {})[question.code] = value
    raise RuntimeError("interview did not finish")
