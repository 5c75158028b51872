"""Hand-back of a closed case to the core systems (基幹系, R3.2).

When a case is closed (``services.case_close``) every procedure marked 完了 whose catalogue procedure has
an ``export`` mapping becomes export records for the core systems through
``integration.exports.services.export_record_submit`` — in the same transaction as the close, so a
payload the registry refuses leaves the case open and writes nothing.

The mapping is catalogue data (``Procedure.export``, published with the version the case was opened
with), not code: ``{"kind": "juki_idou", "items": {"idou_jiyu": "tennyu"}, "by_event": {event: {...}}}``.
Item values are constants or references resolved here (``navigation.determination.EXPORT_REFERENCES``):
``@event_date[+N]``, ``@received_date``, ``@answer.<question>``, ``@mirror.address|katagaki|postcode``,
``@eligibility.<area>``. The builders below add what every kind takes from the case persons (宛名番号,
世帯番号, 氏名, フリガナ, 生年月日, 性別, 続柄, 世帯主, 届出人 …) where the kind has such an item. Items the
case cannot know stay empty; nothing is invented.

- One record per person (``juki_idou``, ``inkan_haishi``, ``kokuho_shikaku`` and any other kind with person
  items); ``jidou_teate_nintei`` is one record per claimant (請求者 = the visitor, else the 世帯主 of the
  case; the children of the completed procedures are counted, the youngest is the representative).
- ``source = "navigation.case"``, ``source_id = YYYYMMDD-NNN`` (受付日 + 受付番号), area = the kind's area.
- Kinds whose area is not in the municipality's plan (or unknown kinds) are skipped and recorded in
  ``Case.handback`` and the case's audit event.
- Residents are read from the mirror with ``allow_restricted=True``: the municipality's own core system
  must receive the true address of a person under a support measure; such a read is audited with the
  residents named. The records of a household under such a measure (the protected person and every member
  of the household) are submitted ``protected``, so that only the machine channels to the core system carry
  the address; a file for a person without 「支援措置の閲覧」 masks it (``integration.exports.services``).
- Never twice: a case whose records already exist is not handed back again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditAction
from audit.services import record
from integration import selectors as mirror
from integration.exports import registry
from integration.exports.models import ExportRecord
from integration.exports.registry import ExportKind
from integration.exports.services import export_record_submit
from integration.models import Resident
from navigation import facts
from navigation.cases import navi
from navigation.cases.models import Case, CasePerson, CaseProcedure, ProcedureStatus

SOURCE = "navigation.case"
# Other apps add items the case alone cannot know (e.g. forms_builder: the new address staff typed for the
# 住民異動届). Called as ``enrich(case=, kind=, person=)`` → {item code: value}; only empty items are filled,
# so a catalogue mapping always wins, and there is still one record per person — never a second record.
ENRICHERS: list[Any] = []
# Checks other apps run once when a case closes, before the hand-back is built (e.g. the tablet: a signed
# document changed after signing must be signed again). Called as ``check(case=)``; raise ValidationError to
# keep the case open. Unlike ENRICHERS they run for every close, with or without hand-back records.
CLOSE_CHECKS: list[Any] = []
HEAD = "世帯主"

# What each shipped kind takes from the case by default (a mapping's items override these).
KIND_DEFAULTS: dict[str, dict[str, str]] = {
    "juki_idou": {"idou_date": "@event_date", "todokede_date": "@received_date"},
    "inkan_haishi": {"haishi_date": "@event_date", "todokede_date": "@received_date"},
    "kokuho_shikaku": {"idou_date": "@event_date", "todokede_date": "@received_date"},
    "jidou_teate_nintei": {"seikyu_date": "@received_date"},
    "certificate_request": {"todokede_date": "@received_date"},
}
# Kinds with one record per claimant (受給者) instead of one per person.
CLAIMANT_KINDS = frozenset({"jidou_teate_nintei"})
_MIRROR_FIELDS = {"address": "address", "katagaki": "address_katagaki", "postcode": "postcode"}


def source_id_for(case: Case) -> str:
    """受付日 + 受付番号 (unique per municipality, readable at the core system's side)."""
    return f"{case.day:%Y%m%d}-{case.number:03d}"


@dataclass
class Planned:
    """One record to submit."""

    kind: ExportKind
    payload: dict[str, str]
    procedures: list[CaseProcedure]
    person_key: str | None
    label: str  # who, for messages (氏名 or 世帯)
    problems: list[str] = field(default_factory=list)  # found while building (e.g. no claimant)
    protected: bool = False  # about a household under an address-restricting support measure

    @property
    def where(self) -> str:
        return _("%(person)s（%(procedure)s → %(kind)s）") % {
            "person": self.label, "procedure": self.procedures[0].name, "kind": self.kind.label}


@dataclass
class Plan:
    records: list[Planned] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    restricted_read: list[str] = field(default_factory=list)  # 宛名番号 whose restricted address was used


class _Context:
    """The case persons with their mirror data (true address), answers and eligibility numbers."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.persons: list[CasePerson] = list(case.persons.all())
        on = case.event_date
        atena_nos = [p.atena_no for p in self.persons if p.atena_no]
        residents = list(Resident.objects.filter(atena_no__in=atena_nos))
        self.views = {v.atena_no: v for v in mirror.person_views(residents, on=on, allow_restricted=True)}
        # The protected person and every member of their household (the address is the household's).
        self.restricted, self.restricted_households = mirror.protected_among(atena_nos=list(self.views), on=on)
        self.eligibilities = mirror.eligibilities_for(atena_nos=list(self.views), on=on)
        self.answers = case.answers or {}
        self.restricted_read: set[str] = set()
        self.visitor = next((p for p in self.persons if p.is_visitor), None)

    # person data: the mirror for residents, what staff typed for newcomers
    def get(self, person: CasePerson, name: str) -> str:
        view = self.views.get(person.atena_no) if person.atena_no else None
        value = getattr(view, name, None) if view is not None else None
        if value in (None, ""):
            value = getattr(person, name, "")
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return str(value or "")

    def head(self) -> CasePerson | None:
        """The case's 世帯主 after the event (a deceased subject is not), if exactly one."""
        dying = "shibou" in (self.case.events or [])
        heads = [p for p in self.persons if self.get(p, "relationship") == HEAD and not (dying and p.is_subject)]
        return heads[0] if len(heads) == 1 else None

    def subjects(self) -> list[CasePerson]:
        return [p for p in self.persons if p.is_subject]

    def answer(self, person: CasePerson | None, code: str) -> Any:
        own = (self.answers.get("persons") or {}).get(person.key, {}) if person is not None else {}
        if code in own:
            return own[code]
        return (self.answers.get("case") or {}).get(code)

    def resolve(self, value: str, person: CasePerson | None) -> str:
        if not isinstance(value, str) or not value.startswith("@"):
            return "" if value is None else str(value)
        ref = value[1:]
        if ref.startswith("event_date"):
            offset = int(ref[len("event_date"):] or 0)
            return (self.case.event_date + timedelta(days=offset)).isoformat()
        if ref == "received_date":
            return self.case.day.isoformat()
        if ref.startswith("answer."):
            found = self.answer(person, ref[len("answer."):])
            if isinstance(found, bool):
                return "1" if found else "0"
            return "" if found is None else str(found)
        if person is None or not person.atena_no:
            return ""
        if ref.startswith("mirror."):
            view = self.views.get(person.atena_no)
            text = getattr(view, _MIRROR_FIELDS.get(ref[len("mirror."):], ""), "") if view else ""
            if text and person.atena_no in self.restricted:
                self.restricted_read.add(person.atena_no)
            return text or ""
        if ref.startswith("eligibility."):
            area = ref[len("eligibility."):]
            numbers = [e.number for e in self.eligibilities.get(person.atena_no, []) if e.area == area and e.number]
            return numbers[0] if numbers else ""
        return ""


def _event_for(mapping: dict, *, case: Case, procedure_events: tuple[str, ...]) -> str:
    """The case event the mapping's ``by_event`` applies to (first case event the procedure belongs to)."""
    by_event = mapping.get("by_event") or {}
    for event in case.events or []:
        if event in by_event and (not procedure_events or event in procedure_events):
            return event
    return ""


def _person_items(ctx: _Context, person: CasePerson) -> dict[str, str]:
    """What every kind with person items takes from the case (only codes the kind has are kept)."""
    relationship = ctx.get(person, "relationship")
    head = ctx.head()
    visitor = ctx.visitor
    items = {
        "atena_no": person.atena_no,
        "household_no": ctx.get(person, "household_no") if person.atena_no else "",
        "name": ctx.get(person, "name"),
        "name_kana": ctx.get(person, "name_kana"),
        "birth_date": ctx.get(person, "birth_date"),
        "sex": ctx.get(person, "sex"),
        "relationship": relationship,
        "is_head": ("1" if relationship == HEAD else "0") if relationship else "",
        "head_name": ctx.get(head, "name") if head is not None else "",
        "notifier_name": ctx.get(visitor, "name") if visitor is not None else "",
        "notifier_relation": "",
    }
    if visitor is not None:
        if visitor.pk == person.pk:
            items["notifier_relation"] = _("本人")
        elif ctx.get(visitor, "relationship") == HEAD:
            items["notifier_relation"] = HEAD
    return items


def _claimant_items(ctx: _Context, claimant: CasePerson | None, children: list[CasePerson]) -> dict[str, str]:
    youngest = max(children, key=lambda p: ctx.get(p, "birth_date"), default=None)
    items = {
        "child_count": str(len(children)),
        "child_name": ctx.get(youngest, "name") if youngest else "",
        "child_birth_date": ctx.get(youngest, "birth_date") if youngest else "",
    }
    if claimant is not None:
        items.update(atena_no=claimant.atena_no, name=ctx.get(claimant, "name"),
                     name_kana=ctx.get(claimant, "name_kana"), birth_date=ctx.get(claimant, "birth_date"))
    return items


def _payload(ctx: _Context, kind: ExportKind, auto: dict[str, str], values: dict[str, str],
             person: CasePerson | None) -> dict[str, str]:
    payload = {code: value for code, value in auto.items() if kind.item(code) is not None}
    for code, value in values.items():
        payload[code] = ctx.resolve(value, person)
    return {code: value for code, value in payload.items() if value not in ("", None)}


def _claims(ctx: _Context, targets: list[tuple[CasePerson, list[CaseProcedure]]]
            ) -> list[tuple[CasePerson | None, list[CasePerson]]]:
    """Who claims for which children on a claimant kind (児童手当 認定請求): one record per claimant.

    After a death or divorce the parents who will keep children answered 「jt_new_recipient」: one of them claims
    for the children answered 「jt_child_claimed」; when both do (the children split between them), each claims
    for the children whose 「jt_child_keeper」 names their role (父・母), so that neither record lists the other's
    children (児童手当法第7条: the one who keeps the child claims). Otherwise the visitor, or the head, claims for
    the persons of the completed procedures.
    """
    person_answers = ctx.answers.get("persons") or {}

    def answer(person: CasePerson, code: str) -> Any:
        return (person_answers.get(person.key) or {}).get(code)

    recipients = list({p.pk: p for p, _procs in targets if answer(p, "jt_new_recipient")}.values())
    if len(recipients) > 1:
        relationships = {ctx.get(p, "relationship") for p in ctx.persons}
        claims: list[tuple[CasePerson | None, list[CasePerson]]] = []
        for recipient in recipients:
            role = facts.parent_role_of(sex=ctx.get(recipient, "sex"), relationship=ctx.get(recipient, "relationship"),
                                        is_head=ctx.get(recipient, "relationship") == HEAD,
                                        relationships=relationships)
            children = [p for p in ctx.persons if role is not None and answer(p, "jt_child_keeper") == role]
            claims.append((recipient, children))
        return claims
    if recipients:
        return [(recipients[0], [p for p in ctx.persons if answer(p, "jt_child_claimed")])]
    children = list({person.pk: person for person, _procs in targets}.values())
    child_ids = {p.pk for p in children}
    claimant = ctx.visitor if ctx.visitor is not None and ctx.visitor.pk not in child_ids else None
    head = ctx.head()
    if claimant is None and head is not None and head.pk not in child_ids:
        claimant = head
    return [(claimant, children)]


def handback_plan(*, case: Case) -> Plan:
    """The records closing ``case`` would submit (nothing is written)."""
    plan = Plan()
    mappings = navi.export_mappings(case=case)
    done = [p for p in case.procedures.select_related("person", "updated_by").order_by("sort_order", "pk")
            if p.status == ProcedureStatus.DONE and p.procedure_code in mappings]
    if not done:
        return plan
    ctx = _Context(case)
    events = navi.procedure_events(case=case)
    municipality = getattr(connection, "tenant", None)
    groups: dict[str, list[CaseProcedure]] = {}
    for procedure in done:
        groups.setdefault(procedure.procedure_code, []).append(procedure)
    seen: set[tuple[str, str]] = set()
    for code, procedures in groups.items():
        mapping = mappings[code]
        kind = registry.get(str(mapping.get("kind", "")))
        reason = ""
        if kind is None:
            reason = "unknown_kind"
        elif municipality is None or not municipality.has_area(kind.area):
            reason = "not_in_plan"
        if reason:
            plan.skipped.extend({"procedure": code, "person": p.person.key if p.person else None,
                                 "kind": mapping.get("kind"), "reason": reason} for p in procedures)
            continue
        event = _event_for(mapping, case=case, procedure_events=events.get(code, ()))
        values = {**KIND_DEFAULTS.get(kind.code, {}), **(mapping.get("items") or {}),
                  **((mapping.get("by_event") or {}).get(event) or {})}
        targets: list[tuple[CasePerson, list[CaseProcedure]]] = []
        for procedure in procedures:
            for person in [procedure.person] if procedure.person else ctx.subjects():
                targets.append((person, [procedure]))
        built: list[Planned] = []
        if kind.code in CLAIMANT_KINDS:
            for claimant, children in _claims(ctx, targets):
                planned = Planned(kind=kind, payload=_payload(ctx, kind, _claimant_items(ctx, claimant, children),
                                                              values, claimant),
                                  procedures=procedures, person_key=claimant.key if claimant else None,
                                  label=claimant.name if claimant else _("請求者"))
                if claimant is None:
                    planned.problems.append(
                        _("請求者（受給者となる人）が受付にいません。請求者を受付に加えてください。"))
                built.append(planned)
        else:
            for person, procs in targets:
                built.append(Planned(kind=kind, payload=_payload(ctx, kind, _person_items(ctx, person), values, person),
                                     procedures=procs, person_key=person.key, label=person.name))
        for planned in built:
            person = next((p for p in ctx.persons if p.key == planned.person_key), None)
            for enrich in ENRICHERS:
                for code, value in (enrich(case=case, kind=kind.code, person=person) or {}).items():
                    if value and kind.item(code) is not None and not planned.payload.get(code):
                        planned.payload[code] = str(value)
            planned.protected = (planned.payload.get("atena_no") in ctx.restricted
                                 or planned.payload.get("household_no") in ctx.restricted_households)
            key = (kind.code, repr(sorted(planned.payload.items())))
            if key not in seen:
                seen.add(key)
                plan.records.append(planned)
    plan.restricted_read = sorted(ctx.restricted_read)
    return plan


def _submitter(planned: Planned, actor: Any) -> Any:
    """Who the record is submitted as: the staff member who completed the procedure, else the one
    closing the case, if they handle the kind's area; otherwise no staff actor (the closer is audited)."""
    for user in [p.updated_by for p in planned.procedures] + [actor]:
        if user is not None and getattr(user, "can_handle", None) and user.can_handle(planned.kind.area):
            return user
    return None


def _refuse(lines: list[str]) -> ValidationError:
    return ValidationError([_("基幹系システムへ連携するデータに誤りがあるため、受付を完了できません。"), *lines],
                           code="handback")


def case_handback(*, actor: Any, case: Case) -> dict[str, Any]:
    """Submit the case's records (inside the caller's transaction — ``case_close``); returns the summary
    also stored in ``case.handback``. Raises ValidationError naming person and item; writes nothing then."""
    source_id = source_id_for(case)
    if ExportRecord.objects.filter(source=SOURCE, source_id=source_id).exists():
        return dict(case.handback or {})
    plan = handback_plan(case=case)
    problems = [f"{planned.where}：{message}" for planned in plan.records
                for message in planned.problems + planned.kind.validate_payload(planned.payload)]
    if problems:
        raise _refuse(problems)
    submitted = []
    for planned in plan.records:
        try:
            row = export_record_submit(kind=planned.kind.code, payload=planned.payload, source=SOURCE,
                                       source_id=source_id, area=planned.kind.area, actor=_submitter(planned, actor),
                                       protected=planned.protected)
        except ValidationError as exc:
            raise _refuse([f"{planned.where}：{message}" for message in exc.messages]) from exc
        submitted.append({"id": row.pk, "kind": planned.kind.code, "procedure": planned.procedures[0].procedure_code,
                          "person": planned.person_key})
    summary = {"source_id": source_id, "at": timezone.now().isoformat(), "records": submitted,
               "skipped": plan.skipped}
    if plan.restricted_read:
        record(actor=actor, action=AuditAction.VIEW, target_type="case", target_id=case.pk,
               details={"purpose": "handback", "restricted_address": plan.restricted_read},
               residents=plan.restricted_read)
    if submitted or plan.skipped:
        record(actor=actor, action=AuditAction.UPDATE, target_type="case", target_id=case.pk,
               details={"change": "handback", **{k: v for k, v in summary.items() if k != "at"}})
    case.handback = summary
    case.save(update_fields=["handback"])
    return summary


_SKIP_REASONS = {
    "not_in_plan": gettext_lazy("契約に含まれない業務"),
    "unknown_kind": gettext_lazy("未登録のデータ種別"),
}


def handback_summary_rows(*, case: Case) -> dict[str, list[Any]]:
    """For the case screen: records per kind and what was skipped (no personal data)."""
    summary = case.handback or {}
    counts: dict[str, int] = {}
    for item in summary.get("records") or []:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1

    def label(code: str) -> str:
        kind = registry.get(code)
        return kind.label if kind else code

    corrections = corrections_for(case=case) if case.pk else []  # (receipts joined: no query per correction)
    return {
        "corrections": corrections,
        "signature_required": [c for c in corrections if c.signature_required and not _received(c)],
        "records": [_("%(kind)s %(n)d件") % {"kind": label(k), "n": n} for k, n in counts.items()],
        "skipped": sorted({_("%(kind)s（%(reason)s）") % {"kind": label(str(s.get("kind"))),
                                                        "reason": _SKIP_REASONS.get(s.get("reason"), "-")}
                           for s in summary.get("skipped") or []}),
    }


# ---------------------------------------------------------------------------------------------
# Corrections after hand-back (訂正, issue 14 / issue 12 item 9)
# ---------------------------------------------------------------------------------------------
# Values that went back to the core system and may be corrected on the closed case. Other apps register a
# function ``fields(case=) -> list[Correctable]`` (forms_builder: the new address, 方書, 〒, 転出先, 転入前の住所).
CORRECTABLES: list[Any] = []
# Called as ``check(case=)`` before a correction changes anything; returns a function ``finish(actor=)`` called
# after the change (in the same transaction) that returns ``{"signature_required": bool, "document_id": id}`` or
# {} — forms_builder.tablet: a signed document the corrected value is printed on is re-issued to be signed again.
# ``finish`` may raise ValidationError (e.g. the re-issued document cannot print the value): nothing is kept.
CORRECTION_CHECKS: list[Any] = []
MAX_REASON = 1000


@dataclass
class Correctable:
    """A value that enriched the case's hand-back records, with how to correct it."""

    code: str  # e.g. "new_address.katagaki"
    label: str  # 新住所の方書
    value: str  # as it is now
    kind: str  # the export kind whose records carry it
    clean: Any  # (raw: str) -> str; raises ValidationError naming the field
    items: Any  # (value: str) -> {export item code: value}
    store: Any  # (actor=, value=) -> None: the value at its source (the staff input)
    help: str = ""


def correctable_fields(*, case: Case) -> list[Correctable]:
    fields: list[Correctable] = []
    for provider in CORRECTABLES:
        fields.extend(provider(case=case) or [])
    return fields


def handback_records(*, case: Case, kind: str | None = None) -> list[ExportRecord]:
    """The records closing ``case`` submitted (the originals), in submission order."""
    ids = [item.get("id") for item in (case.handback or {}).get("records") or []
           if isinstance(item, dict) and (kind is None or item.get("kind") == kind)]
    return list(ExportRecord.objects.filter(pk__in=[i for i in ids if isinstance(i, int)], corrects__isnull=True)
                .order_by("id"))


def _latest(original: ExportRecord) -> ExportRecord:
    """The record's values as the core system has them now: its newest correction, else the original."""
    return original.corrections.order_by("-id").first() or original


def may_correct(*, actor: Any, case: Case) -> bool:
    """Who may correct a handed-back value: the staff who could have closed the case (a counter of the case's
    counter they may use — their department's or assigned) and 窓口責任者 (supervisors and admins)."""
    from tenants.accounts.selectors import counter_usable_by

    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    counter = case.current_counter
    return bool(actor.is_supervisor or (counter is not None and counter_usable_by(actor=actor, counter=counter)))


def _refused(field_name: str, message: str) -> ValidationError:
    return ValidationError({field_name: [message]})


def handback_correct(*, actor: Any, case: Case, field_code: str, value: str, reason: str) -> Any:
    """Correct a value a closed case handed back (call through ``services.case_handback_correct``, which holds the
    transaction and the case's row lock). Sends one correction record per affected hand-back record — a full
    record with the corrected values, naming the original — and stores the audited ``HandbackCorrection``.
    Every refusal names the field; nothing is stored or sent then."""
    from django.core.exceptions import PermissionDenied

    from integration.exports import selectors as export_selectors
    from navigation.cases.models import CaseStatus, HandbackCorrection

    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("職員としてログインしてください。"))
    if case.status != CaseStatus.CLOSED:
        raise _refused("case", _("受付 %(label)s はまだ完了していません。訂正できるのは完了した受付だけです"
                                 "（完了前は申請書の入力を直してください）。") % {"label": case.label})
    if not may_correct(actor=actor, case=case):
        raise PermissionDenied(_("受付 %(label)s の訂正は、完了した窓口の職員か窓口責任者だけが行えます。")
                               % {"label": case.label})
    originals = handback_records(case=case)
    if not originals:
        raise _refused("case", _("受付 %(label)s は基幹系へ連携した記録がないため、訂正できません。")
                       % {"label": case.label})
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("訂正の理由を入力してください。")]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [_("訂正の理由は%(n)d文字以内で入力してください（%(len)d文字）。")
                            % {"n": MAX_REASON, "len": len(reason)}]
    fields = {f.code: f for f in correctable_fields(case=case)}
    target = fields.get(str(field_code or ""))
    if target is None:
        errors["field"] = [_("訂正する項目を選んでください。")]
        raise ValidationError(errors)
    new_value = ""
    if not isinstance(value, str):
        errors["value"] = [_("%(label)s：文字で入力してください。") % {"label": target.label}]
    else:
        try:
            new_value = target.clean(value)
        except ValidationError as exc:
            errors["value"] = list(exc.messages)
        else:
            if new_value == target.value:
                errors["value"] = [_("%(label)s：訂正前と同じです。訂正後の値を入力してください。")
                                   % {"label": target.label}]
    if errors:
        raise ValidationError(errors)
    kind = registry.get(target.kind)
    old_items, new_items = target.items(target.value), target.items(new_value)
    planned: list[tuple[ExportRecord, dict[str, str]]] = []
    for original in [r for r in originals if r.kind == target.kind]:
        payload = dict(_latest(original).payload)
        changed = False
        for code, text in new_items.items():
            # only what this value put into the record (a catalogue mapping may have filled the item otherwise)
            if str(payload.get(code, "")) == str(old_items.get(code, "")) and str(payload.get(code, "")) != text:
                changed = True
                if text:
                    payload[code] = text
                else:
                    payload.pop(code, None)
        if changed:
            planned.append((original, payload))
    if not planned or kind is None:
        raise _refused("field", _("%(label)s：この値は基幹系へ連携した記録に含まれていないため、訂正を送れません。")
                       % {"label": target.label})
    problems: list[str] = []
    for original, payload in planned:
        messages = kind.validate_payload(payload) + export_selectors.scheduled_layout_problems(
            kind=kind, payload=payload, corrects_id=original.pk, items=set(new_items))
        problems.extend(f"{target.label}：{m}" for m in messages if f"{target.label}：{m}" not in problems)
    if problems:
        raise ValidationError({"value": problems})
    if not (getattr(actor, "can_handle", None) and actor.can_handle(kind.area)):
        raise PermissionDenied(_("「%(kind)s」を扱う権限がないため、訂正を送れません。") % {"kind": kind.label})
    finishers = [check(case=case) for check in CORRECTION_CHECKS]
    target.store(actor=actor, value=new_value)
    signature_required, document_id = False, None
    for finish in finishers:
        if finish is None:
            continue
        result = finish(actor=actor) or {}
        signature_required = signature_required or bool(result.get("signature_required"))
        document_id = result.get("document_id") or document_id
    source_id = source_id_for(case)
    sent = []
    for original, payload in planned:
        try:
            row = export_record_submit(kind=kind.code, payload=payload, source=SOURCE, source_id=source_id,
                                       area=kind.area, actor=actor, protected=original.protected, corrects=original)
        except ValidationError as exc:
            raise _refused("value", "、".join(exc.messages)) from exc
        person = next((item.get("person") for item in (case.handback or {}).get("records") or []
                       if item.get("id") == original.pk), None)
        sent.append({"id": row.pk, "corrects": original.pk, "person": person})
    correction = HandbackCorrection.objects.create(
        case=case, field=target.code, label=str(target.label)[:100], old_value=target.value, new_value=new_value,
        reason=reason, records=sent, signature_required=signature_required, document_id=document_id,
        created_by=actor)
    residents = list(dict.fromkeys(str(p.get("atena_no")) for _o, p in planned if p.get("atena_no")))
    # The values themselves (an address) stay on the correction; the trail names who, what, why and the records.
    record(actor=actor, action=AuditAction.UPDATE, target_type="case", target_id=case.pk, area=kind.area,
           details={"change": "handback_correction", "correction": correction.pk, "field": target.code,
                    "reason": reason, "records": sent, "signature_required": signature_required,
                    "document": document_id},
           residents=residents)
    return correction


def _received(correction: Any) -> bool:
    try:
        return correction.signature_receipt is not None
    except ObjectDoesNotExist:
        return False


def correction_signature_received(*, actor: Any, case: Case, correction_id: int) -> Any:
    """Staff received the corrected document signed again on paper (call through
    ``services.case_correction_signature_received``). The same people who may correct may record it; once."""
    from django.core.exceptions import PermissionDenied

    from navigation.cases.models import CorrectionSignatureReceipt

    if not may_correct(actor=actor, case=case):
        raise PermissionDenied(_("受付 %(label)s の訂正は、完了した窓口の職員か窓口責任者だけが行えます。")
                               % {"label": case.label})
    correction = case.handback_corrections.filter(pk=correction_id).first()
    if correction is None:
        raise _refused("correction", _("この受付にその訂正はありません。"))
    if not correction.signature_required:
        raise _refused("correction", _("この訂正は署名の取り直しが不要です。"))
    if _received(correction):
        raise _refused("correction", _("この訂正の署名はすでに受領済みです。"))
    receipt = CorrectionSignatureReceipt.objects.create(correction=correction, received_by=actor)
    residents = [p.atena_no for p in case.persons.all() if p.atena_no]
    record(actor=actor, action=AuditAction.UPDATE, target_type="case", target_id=case.pk,
           details={"change": "correction_signature_received", "correction": correction.pk,
                    "document": correction.document_id},
           residents=residents)
    return receipt


def corrections_for(*, case: Case) -> list[Any]:
    """The case's corrections, newest first (for the case screen and the correction page)."""
    return list(case.handback_corrections.select_related("created_by", "signature_receipt__received_by")
                .order_by("-created_at", "-pk"))


def correction_history_audit(*, actor: Any, case: Case, corrections: list[Any]) -> None:
    """The correction page shows the values sent (addresses) of the case's persons: audited as a view."""
    residents = [p.atena_no for p in case.persons.all() if p.atena_no]
    record(actor=actor, action=AuditAction.VIEW, target_type="case", target_id=case.pk,
           details={"purpose": "handback_correction", "corrections": [c.pk for c in corrections]},
           residents=residents)
