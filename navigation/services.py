"""Writes to the procedure catalogue: install/upgrade the default, import, edit the draft, publish.

Every change is audited (``audit.services.record``). Editing and publishing require a municipal
admin (``is_municipal_admin``); ``catalogue_install_default`` may also run without an actor (system:
management command, provisioning, tests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import record
from navigation import selectors
from navigation.determination import (
    CatalogueInvalid,
    catalogue_validate,
    export_validate,
    rule_validate,
)
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

DEFAULT_PATH = Path(__file__).resolve().parent / "catalogue" / "default.json"
PUBLISH = "publish"
MODELS = {"events": LifeEvent, "questions": Question, "procedures": Procedure, "rules": Rule}
TARGET = {"events": "catalogue_event", "questions": "catalogue_question", "procedures": "catalogue_procedure",
          "rules": "catalogue_rule"}


@lru_cache(maxsize=1)
def _default_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def default_catalogue() -> dict[str, Any]:
    """The shipped default catalogue (a fresh copy each call)."""
    return json.loads(_default_text())


def _require_admin(actor: Any) -> None:
    selectors.require_admin(actor)


def _state() -> CatalogueState:
    state = CatalogueState.objects.select_for_update().first()
    if state is None:
        state = CatalogueState.objects.create()
    return state


def _touch(actor: Any) -> None:
    state = _state()
    state.draft_updated_at = timezone.now()
    state.draft_updated_by = actor if getattr(actor, "pk", None) else None
    state.save(update_fields=["draft_updated_at", "draft_updated_by"])


# ------------------------------------------------------------------------------------------------
# Applying item dictionaries to the draft
# ------------------------------------------------------------------------------------------------
def _events_by_code(codes: list[str]) -> list[LifeEvent]:
    found = {e.code: e for e in LifeEvent.objects.filter(code__in=codes)}
    return [found[c] for c in codes if c in found]


def _apply(section: str, obj: Any, data: dict[str, Any]) -> Any:
    if section == "events":
        obj.code, obj.name = data["code"], data["name"]
        obj.description, obj.order = data.get("description", ""), int(data.get("order", 0))
    elif section == "questions":
        obj.code, obj.text, obj.help = data["code"], data["text"], data.get("help", "")
        obj.kind, obj.scope = data["kind"], data["scope"]
        obj.choices, obj.order = list(data.get("choices") or []), int(data.get("order", 0))
        obj.exclusive = bool(data.get("exclusive", False))
    elif section == "procedures":
        for key in ("code", "name", "area"):
            setattr(obj, key, data[key])
        for key in ("guidance", "counter", "department", "legal_basis", "legal_url", "fee", "source"):
            setattr(obj, key, data.get(key, "") or "")
        obj.documents, obj.forms = list(data.get("documents") or []), list(data.get("forms") or [])
        obj.staff_alert, obj.order = bool(data.get("staff_alert", False)), int(data.get("order", 0))
        obj.export = dict(data.get("export") or {})
    else:
        obj.code, obj.scope = data["code"], data.get("scope", "person")
        obj.procedure = Procedure.objects.get(code=data["procedure"])
        obj.condition, obj.reason, obj.order = data["condition"], data["reason"], int(data.get("order", 0))
    obj.save()
    if section in ("procedures", "rules"):
        obj.events.set(_events_by_code(list(data.get("events") or [])))
    return obj


def _serialise(section: str, obj: Any) -> dict[str, Any]:
    return {"events": selectors.event_dict, "questions": selectors.question_dict,
            "procedures": selectors.procedure_dict, "rules": selectors.rule_dict}[section](obj)


# ------------------------------------------------------------------------------------------------
# Default catalogue: install / upgrade without overwriting the municipality's edits
# ------------------------------------------------------------------------------------------------
@dataclass
class UpgradeReport:
    release: str = ""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    kept_modified: list[str] = field(default_factory=list)  # changed by the municipality: kept as is
    kept_local: list[str] = field(default_factory=list)  # the municipality's own item with the same code
    skipped_removed: list[str] = field(default_factory=list)  # deleted by the municipality: not re-added
    obsolete: list[str] = field(default_factory=list)  # no longer in the default but changed or still used: kept
    removed: list[str] = field(default_factory=list)  # no longer in the default and untouched: removed
    published: CatalogueVersion | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"release": self.release, "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "kept_modified": self.kept_modified, "kept_local": self.kept_local,
                "skipped_removed": self.skipped_removed, "obsolete": self.obsolete, "removed": self.removed,
                "published": self.published.number if self.published else None}


@transaction.atomic
def catalogue_install_default(
    *,
    actor: Any = None,
    data: dict[str, Any] | None = None,
    publish: bool = True,
    effective_from: date | None = None,
) -> UpgradeReport:
    """Install or upgrade the shipped default catalogue into the current municipality's draft.

    New default items are added; items still exactly as installed are updated to the new default;
    items the municipality changed (hash differs from the installed default), its own items with the
    same code, and default items it deleted are kept/skipped and reported. With ``publish`` a new
    version is published (effective ``effective_from``, default today) if the draft differs from the
    latest published version. Idempotent.
    """
    if actor is not None:
        _require_admin(actor)
    data = data if data is not None else default_catalogue()
    problems = catalogue_validate(data)
    if problems:
        raise CatalogueInvalid(problems)
    state = _state()
    removed = set(state.removed_defaults or [])
    report = UpgradeReport(release=str(data.get("release", "")))
    skipped_procedures: set[str] = set()
    for section in selectors.SECTIONS:
        model = MODELS[section]
        existing = {obj.code: obj for obj in model.objects.all()}
        wanted = set()
        for item in data[section]:
            code = item["code"]
            label = f"{section}:{code}"
            wanted.add(code)
            new_hash = selectors.item_hash(item)
            obj = existing.get(code)
            if section == "rules" and item["procedure"] in skipped_procedures and obj is None:
                report.skipped_removed.append(label)
                continue
            if obj is None:
                if label in removed:
                    report.skipped_removed.append(label)
                    if section == "procedures":
                        skipped_procedures.add(code)
                    continue
                obj = _apply(section, model(origin=Origin.DEFAULT, default_hash=new_hash), item)
                report.added.append(label)
            elif obj.origin == Origin.LOCAL:
                report.kept_local.append(label)
            elif selectors.item_hash(_serialise(section, obj)) != obj.default_hash:
                report.kept_modified.append(label)
            elif obj.default_hash != new_hash:
                obj.default_hash = new_hash
                _apply(section, obj, item)
                report.updated.append(label)
            else:
                report.unchanged += 1
        report.obsolete.extend(f"{section}:{code}" for code, obj in existing.items()
                               if code not in wanted and obj.origin == Origin.DEFAULT)
    _remove_untouched_obsolete(report)
    state.default_release = report.release
    state.save(update_fields=["default_release"])
    if report.added or report.updated or report.removed:
        _touch(actor)
    record(action=AuditAction.IMPORT, target_type="catalogue", target_id=report.release,
           details={k: v for k, v in report.as_dict().items() if k != "published"}, actor=actor)
    if publish:
        draft = selectors.catalogue_draft_data()
        counters_provision_default(data=draft, actor=actor)
        latest = CatalogueVersion.objects.order_by("-number").first()
        if latest is None or latest.content_hash != selectors.publish_hash(draft):
            report.published = _publish(actor=actor, data=draft, effective_from=effective_from or date.today(),
                                        note=_("標準カタログ %(release)s") % {"release": report.release})
    return report


def _remove_untouched_obsolete(report: UpgradeReport) -> None:
    """Default items the new default no longer has are removed when the municipality never changed them
    and nothing of its own still uses them (a local rule on the procedure, a rule asking the question, a
    procedure of the event); otherwise they stay and are reported as ``obsolete``."""
    untouched: dict[str, set[str]] = {section: set() for section in selectors.SECTIONS}
    for label in report.obsolete:
        section, _sep, code = label.partition(":")
        obj = MODELS[section].objects.filter(code=code).first()
        if obj is not None and selectors.item_hash(_serialise(section, obj)) == obj.default_hash:
            untouched[section].add(code)
    removed: list[str] = []
    doomed_rules = Rule.objects.filter(code__in=untouched["rules"])
    removed += [f"rules:{code}" for code in doomed_rules.values_list("code", flat=True)]
    doomed_rules.delete()
    for procedure in Procedure.objects.filter(code__in=untouched["procedures"]):
        if not procedure.rules.exists():
            procedure.delete()
            removed.append(f"procedures:{procedure.code}")
    conditions = [json.dumps(r.condition, ensure_ascii=False) + r.reason for r in Rule.objects.all()]
    for question in Question.objects.filter(code__in=untouched["questions"]):
        if not any(f"answer.{question.code}" in text for text in conditions):
            question.delete()
            removed.append(f"questions:{question.code}")
    for event in LifeEvent.objects.filter(code__in=untouched["events"]):
        if not event.procedures.exists():
            event.delete()
            removed.append(f"events:{event.code}")
    report.removed = removed
    report.obsolete = [label for label in report.obsolete if label not in removed]


# ------------------------------------------------------------------------------------------------
# Import / export
# ------------------------------------------------------------------------------------------------
@transaction.atomic
def catalogue_import(*, actor: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """Replace the draft with an exported catalogue. Validates everything first; changes nothing on failure.

    Items identical to the shipped default keep ``origin = default`` (so later upgrades apply to them);
    everything else becomes the municipality's own item.
    """
    _require_admin(actor)
    missing = [section for section in selectors.SECTIONS if isinstance(data, dict) and section not in data]
    problems = [f"{section}: 必須です（空なら []）" for section in missing] or catalogue_validate(data)
    if problems:
        raise CatalogueInvalid(problems)
    defaults = {(section, item["code"]): selectors.item_hash(item)
                for section, items in default_catalogue().items() if section in selectors.SECTIONS
                for item in items}
    result: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}
    for section in reversed(selectors.SECTIONS):
        codes = {item["code"] for item in data[section]}
        doomed = MODELS[section].objects.exclude(code__in=codes)
        result["deleted"].extend(f"{section}:{code}" for code in doomed.values_list("code", flat=True))
        doomed.delete()
    for section in selectors.SECTIONS:
        model = MODELS[section]
        for item in data[section]:
            obj = model.objects.filter(code=item["code"]).first()
            result["updated" if obj else "created"].append(f"{section}:{item['code']}")
            obj = obj or model()
            item_hash = selectors.item_hash(item)
            if defaults.get((section, item["code"])) == item_hash:
                obj.origin, obj.default_hash = Origin.DEFAULT, item_hash
            elif obj.pk is None or obj.origin == Origin.LOCAL:
                obj.origin, obj.default_hash = Origin.LOCAL, ""
            _apply(section, obj, item)
    _touch(actor)
    record(action=AuditAction.IMPORT, target_type="catalogue", target_id="draft",
           details={k: len(v) for k, v in result.items()})
    return result


def catalogue_export(*, actor: Any) -> dict[str, Any]:
    """The draft as JSON-able data (audited as an export)."""
    _require_admin(actor)
    data = selectors.catalogue_draft_data()
    record(action=AuditAction.EXPORT, target_type="catalogue", target_id="draft",
           details={section: len(data[section]) for section in selectors.SECTIONS})
    return data


# ------------------------------------------------------------------------------------------------
# Editing the draft
# ------------------------------------------------------------------------------------------------
def _check_item(section: str, data: dict[str, Any], *, instance: Any) -> None:
    """Field-level validation of one item against the rest of the draft (raises ValidationError)."""
    draft = selectors.catalogue_draft_data()
    items = [i for i in draft[section] if instance is None or i["code"] != instance.code]
    if any(i["code"] == data["code"] for i in items):
        raise ValidationError({"code": _("コード「%(code)s」はすでに使われています。") % {"code": data["code"]}})
    if section == "rules":
        question_scopes = {q["code"]: q["scope"] for q in draft["questions"]}
        problems = rule_validate(condition=data["condition"], reason=data["reason"], scope=data["scope"],
                                 events=data.get("events", []), event_codes={e["code"] for e in draft["events"]},
                                 question_scopes=question_scopes)
        if problems:
            errors: dict[str, list[str]] = {}
            for problem in problems:
                fld = problem.split(":")[0].split(".")[0].split("[")[0]
                errors.setdefault(fld if fld in ("condition", "reason", "scope", "events") else "condition",
                                  []).append(problem)
            raise ValidationError(errors)
    if section == "questions" and data["kind"] == "choice":
        choices = data.get("choices") or []
        if not choices or any(not str(c.get("value", "")).strip() for c in choices):
            raise ValidationError({"choices": _("選択肢を1つ以上（値と表示名）指定してください。")})
    if section == "procedures" and not data.get("events"):
        raise ValidationError({"events": _("異動事由を1つ以上選んでください。")})
    if section == "procedures" and data.get("export"):
        problems = export_validate(data["export"], event_codes={e["code"] for e in draft["events"]},
                                   question_codes={q["code"] for q in draft["questions"]})
        if problems:
            raise ValidationError({"export": [f"export{p}" for p in problems]})


@transaction.atomic
def catalogue_item_save(*, actor: Any, section: str, data: dict[str, Any], instance: Any = None) -> Any:
    """Create or update one draft item (``section`` in events/questions/procedures/rules)."""
    _require_admin(actor)
    if section not in MODELS:
        raise ValueError(section)
    _check_item(section, data, instance=instance)
    model = MODELS[section]
    before = _serialise(section, instance) if instance is not None else None
    obj = instance if instance is not None else model(origin=Origin.LOCAL)
    if instance is not None and instance.code != data["code"] and instance.origin == Origin.DEFAULT:
        obj.origin, obj.default_hash = Origin.LOCAL, ""
    # model-level validation of plain fields
    probe = model(**{k: v for k, v in data.items() if k not in ("events", "procedure") and hasattr(model, k)})
    try:
        probe.full_clean(exclude=["procedure", "origin", "default_hash", "code"] if section == "rules"
                         else ["origin", "default_hash", "code"], validate_unique=False)
        model._meta.get_field("code").run_validators(data["code"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"code": exc.messages}) from exc
    obj = _apply(section, obj, data)
    after = _serialise(section, obj)
    _touch(actor)
    changed = {k: after[k] for k in after if before is None or before.get(k) != after[k]}
    record(action=AuditAction.CREATE if before is None else AuditAction.UPDATE, target_type=TARGET[section],
           target_id=obj.code, details={"changed": changed, "before": {k: before[k] for k in changed if before}})
    return obj


@transaction.atomic
def catalogue_item_delete(*, actor: Any, section: str, instance: Any) -> None:
    _require_admin(actor)
    label = f"{section}:{instance.code}"
    if section == "questions":
        var = f"answer.{instance.code}"
        users = [r.code for r in Rule.objects.all() if var in json.dumps(r.condition, ensure_ascii=False)
                 or f"{{{var}}}" in r.reason]
        if users:
            raise ValidationError(_("この質問は判定ルールで使われています：%(rules)s") % {"rules": "、".join(users)})
    if section == "events":
        used = list(instance.procedures.values_list("code", flat=True))
        if used:
            raise ValidationError(_("この異動事由は手続で使われています：%(items)s") % {"items": "、".join(used)})
    before = _serialise(section, instance)
    if instance.origin == Origin.DEFAULT:
        state = _state()
        removed = set(state.removed_defaults or []) | {label}
        if section == "procedures":
            removed |= {f"rules:{code}" for code in instance.rules.filter(origin=Origin.DEFAULT)
                        .values_list("code", flat=True)}
        state.removed_defaults = sorted(removed)
        state.save(update_fields=["removed_defaults"])
    instance.delete()
    _touch(actor)
    record(action=AuditAction.DELETE, target_type=TARGET[section], target_id=before["code"],
           details={"before": before})


# ------------------------------------------------------------------------------------------------
# Publishing
# ------------------------------------------------------------------------------------------------
def _publish(*, actor: Any, data: dict[str, Any], effective_from: date, note: str) -> CatalogueVersion:
    problems = catalogue_validate(data)
    unmapped = selectors.unmapped_counters(data)
    problems += [_("担当窓口「%(name)s」に対応する窓口がありません（手続：%(codes)s）。窓口の対応を設定してください。")
                 % {"name": name, "codes": "、".join(codes)} for name, codes in sorted(unmapped.items())]
    if problems:
        raise CatalogueInvalid(problems)
    last = CatalogueVersion.objects.select_for_update().order_by("-number").first()
    version = CatalogueVersion.objects.create(
        number=(last.number + 1) if last else 1, effective_from=effective_from, note=note[:200],
        published_by=actor if getattr(actor, "pk", None) else None, snapshot=data,
        content_hash=selectors.publish_hash(data),
    )
    record(action=PUBLISH, target_type="catalogue_version", target_id=version.number, actor=actor,
           details={"effective_from": effective_from.isoformat(), "note": note,
                    "counts": {s: len(data[s]) for s in selectors.SECTIONS}, "hash": version.content_hash})
    return version


@transaction.atomic
def catalogue_publish(*, actor: Any, effective_from: date, note: str = "") -> CatalogueVersion:
    """Publish the draft as a new immutable version effective from ``effective_from``.

    Refuses (CatalogueInvalid) if the draft has any validation problem; earlier versions are kept, so
    cases opened with them keep their rules.
    """
    _require_admin(actor)
    if effective_from is None:
        raise ValidationError({"effective_from": _("適用開始日を入力してください。")})
    data = selectors.catalogue_draft_data()
    latest = CatalogueVersion.objects.select_for_update().order_by("-number").first()
    if latest is not None and latest.content_hash == selectors.publish_hash(data):
        raise ValidationError(_("下書きは第%(n)d版から変わっていません。変更してから公開してください。")
                              % {"n": latest.number})
    current = (CatalogueVersion.objects.order_by("-effective_from", "-number").first() if latest is not None else None)
    if current is not None and effective_from < current.effective_from:
        raise ValidationError({"effective_from": _(
            "適用開始日は第%(n)d版の適用開始日（%(d)s）以後にしてください。") % {
                "n": current.number, "d": current.effective_from.isoformat()}})
    return _publish(actor=actor, data=data, effective_from=effective_from, note=note)


# ------------------------------------------------------------------------------------------------
# Catalogue counters → the municipality's counters
# ------------------------------------------------------------------------------------------------
GENERAL_COUNTERS = ("総合窓口",)


@transaction.atomic
def counters_provision_default(*, data: dict[str, Any] | None = None, actor: Any = None,
                               areas: list[str] | None = None) -> dict[str, list[str]]:
    """Give every counter the catalogue names a real counter: an active counter of the same name, else one
    whose name starts with it (総合窓口 → 総合窓口 1番), else a new counter (in the procedures' department,
    created if missing). Existing mappings are kept. Returns ``{"created": [...], "mapped": [...]}``.

    Runs at provisioning (``municipality_provisioned``, with the plan's ``areas``, see ``NavigationConfig``) and
    again before the default catalogue is published (``catalogue_install_default``).
    """
    from tenants.accounts.models import Counter, Department

    data = data if data is not None else default_catalogue()
    wanted: dict[str, str] = {}
    for item in data.get("procedures", []):
        name = str(item.get("counter") or "").strip()
        if name and (areas is None or item.get("area") in areas):
            wanted.setdefault(name, str(item.get("department") or "").strip())
    if areas is None:
        in_areas = selectors.catalogue_counters(data)
        wanted = {name: dept for name, dept in wanted.items() if name in in_areas}
    known = selectors.counter_map()
    result: dict[str, list[str]] = {"created": [], "mapped": []}
    for name, department_name in wanted.items():
        if name in known:
            continue
        counter = (Counter.objects.filter(name__startswith=name, is_active=True).order_by("sort_order", "name")
                   .first())
        if counter is None:
            department = Department.objects.get_or_create(name=department_name)[0] if department_name else None
            counter = Counter.objects.create(
                name=name, department=department,
                kind=Counter.Kind.GENERAL if name in GENERAL_COUNTERS else Counter.Kind.BUSINESS)
            result["created"].append(name)
        CounterMapping.objects.update_or_create(catalogue_counter=name, defaults={"counter": counter})
        result["mapped"].append(name)
    if result["created"] or result["mapped"]:
        record(action=AuditAction.UPDATE, target_type="catalogue_counters", target_id="default", actor=actor,
               details=result)
    return result


@transaction.atomic
def counter_mapping_set(*, actor: Any, catalogue_counter: str, counter: Any) -> CounterMapping:
    """Map a catalogue counter name to one of the municipality's active counters (admins only, audited)."""
    _require_admin(actor)
    name = (catalogue_counter or "").strip()
    if not name or len(name) > 64:
        raise ValidationError({"catalogue_counter": _("カタログの担当窓口の名前を64文字以内で指定してください。")})
    if counter is None or not counter.is_active:
        raise ValidationError({"counter": _("使用中の窓口を選んでください。")})
    previous = CounterMapping.objects.filter(catalogue_counter=name).values_list("counter_id", flat=True).first()
    mapping, _created = CounterMapping.objects.update_or_create(catalogue_counter=name,
                                                               defaults={"counter": counter})
    record(action=AuditAction.UPDATE, target_type="catalogue_counter", target_id=name, actor=actor,
           details={"counter": counter.pk, "before": previous})
    return mapping


def ensure_admin_or_raise(actor: Any) -> None:
    """For views that only read admin screens (the services check again on every write)."""
    if not getattr(actor, "is_municipal_admin", False):
        raise PermissionDenied(_("この操作は業務管理者のみ行えます。"))


# ------------------------------------------------------------------------------------------------
# "Try it": run the draft (or one rule) against a sample household
# ------------------------------------------------------------------------------------------------
@dataclass
class TryResult:
    determination: Any = None
    rule_results: list[tuple[str, str]] = field(default_factory=list)  # (person label, result text)
    persons: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def catalogue_try(
    *,
    actor: Any,
    events: list[str],
    on: date,
    persons: list[dict[str, Any]] | None = None,
    household_no: str = "",
    answers: dict[str, Any] | None = None,
    condition: Any = None,
    rule_scope: str = "person",
) -> TryResult:
    """Run the draft catalogue (and optionally one rule condition) on a sample or mirror household.

    Admin only. Reading a mirror household is audited. Problems (invalid JSON facts, an invalid draft,
    an invalid condition) are returned, never raised, so the panel can show them.
    """
    from navigation.determination import answers_normalize, determine
    from navigation.facts import FactsError, household_context, household_facts, person_context, person_facts_from_dict
    from navigation.jsonlogic import RuleError, Unknown, compile_rule, truthy

    _require_admin(actor)
    result = TryResult()
    try:
        compiled = selectors.catalogue_draft_compiled()
    except CatalogueInvalid as exc:
        result.problems = [_("下書きに誤りがあるため試せません。")] + exc.problems[:20]
        return result
    if household_no:
        people = household_facts(household_no=household_no, on=on)
        record(action=AuditAction.VIEW, target_type="household", target_id=household_no,
               details={"purpose": "catalogue_try", "persons": len(people)},
               residents=[p.atena_no for p in people if p.atena_no])
        if not people:
            result.problems.append(_("世帯番号 %(no)s の世帯員が住民記録にありません。") % {"no": household_no})
    else:
        people = []
        for index, raw in enumerate(persons or []):
            try:
                people.append(person_facts_from_dict(raw, index=index))
            except FactsError as exc:
                result.problems.extend(exc.problems)
    if not people and not result.problems:
        result.problems.append(_("世帯の人を1人以上指定してください。"))
    normalised, answer_problems = answers_normalize(version=compiled, answers=answers,
                                                    person_keys=[p.key for p in people])
    result.problems.extend(answer_problems)
    if result.problems:
        return result
    result.persons = people
    areas = selectors.municipality_areas()
    result.determination = determine(version=compiled, events=events, persons=people, answers=normalised,
                                     on=on, areas=areas)
    if condition is not None:
        try:
            fn = compile_rule(condition)
        except RuleError as exc:
            result.problems.extend(exc.problems)
            return result
        contexts = [person_context(p, on=on) for p in people]
        base = {"on": on.isoformat(), "events": events, "event": {c: c in events for c in compiled.events},
                "household": household_context(people, contexts)}

        def show(value: Any) -> str:
            if isinstance(value, Unknown):
                return _("未確定（%(vars)s の回答待ち）") % {"vars": "、".join(sorted(value.deps))}
            return _("該当") if truthy(value) else _("非該当")

        if rule_scope == "household":
            value = fn({**base, "answer": normalised["case"]})
            result.rule_results.append((_("世帯（ケース）"), show(value)))
        else:
            for person, ctx in zip(people, contexts, strict=True):
                merged = {**normalised["case"], **person.answers, **normalised["persons"].get(person.key, {})}
                value = fn({**base, "person": ctx, "answer": merged})
                result.rule_results.append((person.name or person.key, show(value)))
    return result
