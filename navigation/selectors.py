"""Reads of the procedure catalogue (draft and published versions) of the current municipality."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from navigation.determination import CompiledCatalogue, catalogue_compiled, content_hash
from navigation.models import (
    CatalogueState,
    CatalogueVersion,
    CounterMapping,
    LifeEvent,
    Origin,
    Procedure,
    Question,
    Rule,
)

SECTIONS = ("events", "questions", "procedures", "rules")


def municipality_areas() -> list[str]:
    """Business areas of the municipality the connection is in (R1.4); empty outside a tenant."""
    tenant = getattr(connection, "tenant", None)
    return list(getattr(tenant, "areas", None) or [])


def require_admin(actor: Any) -> None:
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この操作は業務管理者のみ行えます。"))


# ------------------------------------------------------------------------------------------------
# Serialisation (the default.json format)
# ------------------------------------------------------------------------------------------------
def event_dict(item: LifeEvent) -> dict[str, Any]:
    return {"code": item.code, "name": item.name, "description": item.description, "order": item.order}


def question_dict(item: Question) -> dict[str, Any]:
    data = {"code": item.code, "scope": item.scope, "kind": item.kind, "order": item.order, "text": item.text,
            "help": item.help, "choices": list(item.choices or [])}
    # Only when set, like ``export``: items installed before the field existed keep their hash.
    if item.exclusive:
        data["exclusive"] = True
    return data


def procedure_dict(item: Procedure, *, event_codes: list[str] | None = None) -> dict[str, Any]:
    codes = event_codes if event_codes is not None else sorted(e.code for e in item.events.all())
    data = {"code": item.code, "name": item.name, "area": item.area, "events": codes,
            "department": item.department, "counter": item.counter, "guidance": item.guidance,
            "documents": list(item.documents or []), "legal_basis": item.legal_basis, "legal_url": item.legal_url,
            "fee": item.fee, "forms": list(item.forms or []), "staff_alert": item.staff_alert, "order": item.order}
    # Only when set: items installed before the mapping existed keep their hash (upgrades still apply).
    if item.export:
        data["export"] = item.export
    if item.source:
        data["source"] = item.source
    return data


def rule_dict(item: Rule, *, event_codes: list[str] | None = None) -> dict[str, Any]:
    codes = event_codes if event_codes is not None else sorted(e.code for e in item.events.all())
    return {"code": item.code, "procedure": item.procedure.code, "scope": item.scope, "events": codes,
            "condition": item.condition, "reason": item.reason, "order": item.order}


def item_hash(data: dict[str, Any]) -> str:
    """Hash of one catalogue item's content; event lists are compared as sets."""
    normalised = dict(data)
    if "events" in normalised:
        normalised["events"] = sorted(normalised["events"])
    return content_hash(normalised)


def catalogue_draft_data() -> dict[str, Any]:
    """The draft catalogue as a dictionary (``default.json`` format) — used to export and publish."""
    state = CatalogueState.objects.first()
    procedures = list(Procedure.objects.prefetch_related("events"))
    rules = list(Rule.objects.select_related("procedure").prefetch_related("events"))
    return {
        "format": 1,
        "release": state.default_release if state else "",
        "events": [event_dict(e) for e in LifeEvent.objects.all()],
        "questions": [question_dict(q) for q in Question.objects.all()],
        "procedures": [procedure_dict(p, event_codes=sorted(e.code for e in p.events.all())) for p in procedures],
        "rules": [rule_dict(r, event_codes=sorted(e.code for e in r.events.all())) for r in rules],
    }


def catalogue_draft_compiled() -> CompiledCatalogue:
    """The draft compiled (for the "try it" panel). Raises CatalogueInvalid."""
    return catalogue_compiled(catalogue_draft_data())


# ------------------------------------------------------------------------------------------------
# Versions
# ------------------------------------------------------------------------------------------------
def catalogue_version_current(*, on: date | None = None) -> CatalogueVersion | None:
    """The published version in force on ``on`` (latest effective date ≤ on, then highest number).

    Dates before the first version's effective date use the first version, so that an event that
    happened before the catalogue was first published can still be determined.
    """
    on = on or date.today()
    found = CatalogueVersion.objects.filter(effective_from__lte=on).order_by("-effective_from", "-number").first()
    if found is None:
        found = CatalogueVersion.objects.order_by("effective_from", "number").first()
    return found


def catalogue_version_get(*, version_id: int) -> CatalogueVersion | None:
    return CatalogueVersion.objects.filter(pk=version_id).first()


def catalogue_version_hash(*, version_id: int) -> str:
    """The content hash of a published version (without loading its snapshot); empty if there is none."""
    return CatalogueVersion.objects.filter(pk=version_id).values_list("content_hash", flat=True).first() or ""


def catalogue_versions() -> list[CatalogueVersion]:
    return list(CatalogueVersion.objects.select_related("published_by").defer("snapshot").order_by("-number"))


@dataclass
class DraftStatus:
    counts: dict[str, int]
    modified: list[tuple[str, str, str]] = field(default_factory=list)  # (section, code, name)
    local: list[tuple[str, str, str]] = field(default_factory=list)
    default_release: str = ""
    problems: list[str] = field(default_factory=list)
    unpublished_changes: bool = False
    latest: CatalogueVersion | None = None


def catalogue_draft_status() -> DraftStatus:
    """Counts, items changed from the default, validation problems, and whether publishing is due."""
    from navigation.determination import catalogue_validate

    data = catalogue_draft_data()
    state = CatalogueState.objects.first()
    status = DraftStatus(counts={section: len(data[section]) for section in SECTIONS},
                         default_release=state.default_release if state else "")
    origin = {}
    for model, section in ((LifeEvent, "events"), (Question, "questions"), (Procedure, "procedures"),
                           (Rule, "rules")):
        for code, item_origin, default_hash in model.objects.values_list("code", "origin", "default_hash"):
            origin[(section, code)] = (item_origin, default_hash)
    for section in SECTIONS:
        for item in data[section]:
            item_origin, default_hash = origin[(section, item["code"])]
            name = item.get("name") or item.get("text") or item.get("reason") or ""
            if item_origin == Origin.LOCAL:
                status.local.append((section, item["code"], name))
            elif item_hash(item) != default_hash:
                status.modified.append((section, item["code"], name))
    status.problems = catalogue_validate(data)
    status.latest = CatalogueVersion.objects.defer("snapshot").order_by("-number").first()
    status.unpublished_changes = status.latest is None or status.latest.content_hash != _publish_hash(data)
    return status


def _publish_hash(data: dict[str, Any]) -> str:
    return content_hash({k: v for k, v in data.items() if k in SECTIONS})


def publish_hash(data: dict[str, Any]) -> str:
    """The content hash a published version stores (sections only)."""
    return _publish_hash(data)


def catalogue_public(*, on: date | None = None, areas: list[str] | None = None) -> dict[str, Any] | None:
    """The published catalogue in force on ``on`` for the API: events, questions, procedures in ``areas``."""
    version = catalogue_version_current(on=on)
    if version is None:
        return None
    compiled = catalogue_compiled(version)
    allowed = set(municipality_areas() if areas is None else areas)
    return {
        "version": {"id": version.pk, "number": version.number, "effective_from": version.effective_from,
                    "published_at": version.published_at},
        "events": [{"code": e["code"], "name": e["name"], "description": e["description"]}
                   for e in compiled.events.values()],
        "questions": [{"code": q.code, "text": q.text, "help": q.help, "kind": q.kind, "scope": q.scope,
                       "choices": [{"value": v, "label": lbl} for v, lbl in q.choices]}
                      for q in sorted(compiled.questions.values(), key=lambda q: (q.order, q.code))],
        "procedures": [p.as_dict() for p in sorted(compiled.procedures.values(), key=lambda p: (p.order, p.code))
                       if p.area in allowed],
    }


# 続柄 offered by the "try it" household builder (住民基本台帳事務処理要領の記載例から、よく使うもの).
TRY_RELATIONSHIPS = ("世帯主", "妻", "夫", "子", "父", "母", "子の妻", "子の夫", "子の子", "兄", "姉", "弟", "妹",
                     "祖父", "祖母", "縁故者", "同居人")


ADDRESS_PART_LABELS = {"code": _lazy("町字コード"), "town": _lazy("町字"), "postcode": _lazy("郵便番号")}


def _answer_vars() -> list[dict[str, str]]:
    """``answer.<code>`` for every question; an address question's parts (町字コード, 町字, 〒) as well."""
    result = []
    for q in Question.objects.all():
        result.append({"code": f"answer.{q.code}", "label": q.text})
        if q.kind == "address":
            result.extend({"code": f"answer.{q.code}.{part}", "label": f"{q.text}（{label}）"}
                          for part, label in ADDRESS_PART_LABELS.items())
    return result


def rule_vocabulary() -> dict[str, Any]:
    """What the visual rule editor and the "try it" household form offer, with Japanese labels.

    Built from the same tables the engine checks rules against (``navigation.facts``), so a fact added to the
    engine appears in the editor without a change to it.
    """
    from navigation.facts import ELIGIBILITY_FLAGS, HOUSEHOLD_VARS, OTHER_VARS, PERSON_VARS

    def entries(table: dict[str, str]) -> list[dict[str, str]]:
        return [{"code": code, "label": str(label)} for code, label in table.items()]

    return {
        "groups": [
            {"label": _("人"), "vars": entries(PERSON_VARS)},
            {"label": _("世帯"), "vars": entries(HOUSEHOLD_VARS)},
            {"label": _("回答"), "vars": _answer_vars()},
            {"label": _("異動事由"), "vars": [{"code": f"event.{e.code}", "label": e.name}
                                          for e in LifeEvent.objects.all()]},
            {"label": _("その他"), "vars": entries(OTHER_VARS)},
        ],
        "questions": [{"code": q.code, "text": q.text, "kind": q.kind, "scope": q.scope,
                       "choices": [{"value": c.get("value", ""), "label": c.get("label", "")} for c in q.choices or []]}
                      for q in Question.objects.all()],
        "eligibilities": [{"code": code, "label": str(label)} for code, label in ELIGIBILITY_FLAGS.items()],
        "relationships": list(TRY_RELATIONSHIPS),
    }


# Lazy (issue 17 item 11): evaluated where shown (str()), so they follow the request's language.
# Lazy (issue 17 item 11): evaluated where shown (str()), so they follow the request's language.
SECTION_LABELS = {"events": _lazy("異動事由"), "questions": _lazy("質問"), "procedures": _lazy("手続"),
                  "rules": _lazy("判定ルール")}
ITEM_FIELD_LABELS = {
    "name": _lazy("名称"), "description": _lazy("説明"), "order": _lazy("表示順"), "area": _lazy("業務"),
    "events": _lazy("異動事由"), "guidance": _lazy("職員向けの案内"), "documents": _lazy("持ち物"),
    "counter": _lazy("担当窓口"), "department": _lazy("担当部署"), "legal_basis": _lazy("根拠法令"),
    "legal_url": _lazy("根拠法令のURL"), "fee": _lazy("手数料"), "forms": _lazy("様式"),
    "staff_alert": _lazy("注意喚起"),
    "export": _lazy("基幹系への連携"), "text": _lazy("質問文"), "help": _lazy("補足"), "kind": _lazy("回答の種類"),
    "scope": _lazy("対象"), "choices": _lazy("選択肢"), "procedure": _lazy("手続"), "condition": _lazy("条件"),
    "reason": _lazy("理由の文"), "source": _lazy("判定の出典"), "exclusive": _lazy("1人だけが「はい」"),
}


@dataclass
class SectionDiff:
    section: str
    label: str
    added: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    changed: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (code, name, changed field labels)
    removed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


@dataclass
class PublishDiff:
    """What publishing the draft would change against the version in force (issue 17 item 10)."""

    base: CatalogueVersion | None
    sections: list[SectionDiff]

    @property
    def unchanged(self) -> bool:
        return all(section.empty for section in self.sections)


def _item_name(item: dict[str, Any]) -> str:
    return str(item.get("name") or item.get("text") or item.get("reason") or "")


def catalogue_publish_diff(*, actor: Any, on: date | None = None) -> PublishDiff:
    """The draft against the version in force on ``on`` (today): items added, changed (with the fields that
    changed) and removed, per section. Admins only."""
    require_admin(actor)
    base = catalogue_version_current(on=on)
    draft = catalogue_draft_data()
    before = base.snapshot if base is not None else {}
    sections = []
    for section in SECTIONS:
        old = {item["code"]: item for item in before.get(section, [])}
        new = {item["code"]: item for item in draft.get(section, [])}
        diff = SectionDiff(section=section, label=str(SECTION_LABELS[section]))
        for code, item in new.items():
            if code not in old:
                diff.added.append((code, _item_name(item)))
            elif item_hash(item) != item_hash(old[code]):
                order = list(ITEM_FIELD_LABELS)
                fields = sorted((key for key in set(item) | set(old[code])
                                 if key != "code" and item.get(key) != old[code].get(key)),
                                key=lambda k: (order.index(k) if k in order else len(order), k))
                diff.changed.append((code, _item_name(item), [str(ITEM_FIELD_LABELS.get(k, k)) for k in fields]))
        diff.removed = [(code, _item_name(item)) for code, item in old.items() if code not in new]
        sections.append(diff)
    return PublishDiff(base=base, sections=sections)


# ------------------------------------------------------------------------------------------------
# Catalogue counters → the municipality's counters
# ------------------------------------------------------------------------------------------------
def counter_map() -> dict[str, Any]:
    """Catalogue counter name → the active ``accounts.Counter`` serving it (mapping first, then the same name)."""
    from tenants.accounts.models import Counter

    found: dict[str, Any] = {c.name: c for c in Counter.objects.filter(is_active=True).select_related("department")}
    for mapping in CounterMapping.objects.select_related("counter", "counter__department"):
        if mapping.counter.is_active:
            found[mapping.catalogue_counter] = mapping.counter
    return found


def catalogue_counters(data: dict[str, Any]) -> dict[str, list[str]]:
    """Counter names used by the procedures of the municipality's areas → their procedure codes."""
    areas = set(municipality_areas())
    result: dict[str, list[str]] = {}
    for item in data.get("procedures", []):
        name = str(item.get("counter") or "").strip()
        if name and (not areas or item.get("area") in areas):
            result.setdefault(name, []).append(item["code"])
    return result


def unmapped_counters(data: dict[str, Any]) -> dict[str, list[str]]:
    """Catalogue counters (with their procedures) that no active counter of the municipality serves."""
    known = counter_map()
    return {name: codes for name, codes in catalogue_counters(data).items() if name not in known}


def active_counters() -> list[Any]:
    from tenants.accounts.models import Counter

    return list(Counter.objects.filter(is_active=True).order_by("sort_order", "name"))


def counter_mapping_rows() -> list[tuple[str, list[str], Any, bool]]:
    """(catalogue counter, procedures, counter serving it or None, explicitly mapped) for the admin screen."""
    known = counter_map()
    mapped = set(CounterMapping.objects.values_list("catalogue_counter", flat=True))
    return [(name, codes, known.get(name), name in mapped)
            for name, codes in sorted(catalogue_counters(catalogue_draft_data()).items())]
