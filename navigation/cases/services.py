"""Writes for cases (受付), hand-offs and memos. Permission checks and audit live here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import record
from integration.models import Resident
from navigation.cases import handback, navi
from navigation.cases.models import (
    Case,
    CaseHandoff,
    CaseNumber,
    CasePerson,
    CaseProcedure,
    CaseStatus,
    CorrectionSignatureReceipt,
    HandbackCorrection,
    Memo,
    MemoRevision,
    MemoVisibility,
    ProcedureStatus,
    QueueState,
)
from navigation.cases.purposes import case_purposes
from tenants.accounts.models import Counter, Department, User
from tenants.accounts.selectors import counter_usable_by

MAX_NOTE = 2000
MAX_MEMO = 4000


class CaseCloseRefused(ValidationError):
    """Closing was refused because determined procedures are unresolved; ``unresolved`` lists them."""

    def __init__(self, message: str, *, unresolved: list[CaseProcedure]) -> None:
        super().__init__(message, code="unresolved")
        self.unresolved = unresolved


# ---------------------------------------------------------------------------------------------
# Permission helpers
# ---------------------------------------------------------------------------------------------
def _require_staff(actor: User) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("職員としてログインしてください。"))


def _require_counter(counter: Counter | None, *, actor: User) -> Counter:
    """The counter the actor works at: chosen, active and one of theirs (their department's or assigned
    by an admin) — a counter of another department cannot be used to open, change or hand off cases."""
    if counter is None or not counter.is_active:
        raise ValidationError(_("窓口が選ばれていません。先に窓口を選んでください。"), code="no_counter")
    if not counter_usable_by(actor=actor, counter=counter):
        raise PermissionDenied(_("「%(counter)s」はあなたの担当窓口ではありません。") % {"counter": counter.name})
    return counter


def _require_serving_here(*, actor: User, case: Case, counter: Counter | None) -> None:
    """Changes to a case are made at the counter where it is being served."""
    _require_staff(actor)
    if not case.is_open:
        raise ValidationError(_("受付 %(label)s は完了しています。") % {"label": case.label}, code="closed")
    counter = _require_counter(counter, actor=actor)
    if case.current_counter_id != counter.pk:
        raise PermissionDenied(
            _("受付 %(label)s は「%(counter)s」にあります。")
            % {"label": case.label, "counter": case.current_counter or "-"}
        )
    if case.queue_state != QueueState.SERVING:
        raise ValidationError(
            _("受付 %(label)s は引継ぎ待ちです。先に「再開」してください。") % {"label": case.label},
            code="waiting",
        )


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def _next_number(day: date) -> int:
    table = CaseNumber._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (day, last) VALUES (%s, 1) '  # noqa: S608 - table name from model meta
            f'ON CONFLICT (day) DO UPDATE SET last = "{table}".last + 1 RETURNING last',
            [day],
        )
        return cursor.fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------
def _person_from_resident(case: Case, resident: Resident, position: int, *, visitor: bool) -> CasePerson:
    return CasePerson(
        case=case,
        position=position,
        atena_no=resident.atena_no,
        name=resident.name,
        name_kana=resident.name_kana,
        birth_date=resident.birth_date,
        sex=resident.sex,
        relationship=resident.relationship,
        is_visitor=visitor,
    )


def _residents(atena_nos: Iterable[str]) -> list[Resident]:
    wanted = [a.strip() for a in atena_nos if a and a.strip()]
    found = {r.atena_no: r for r in Resident.objects.filter(atena_no__in=wanted)}
    missing = [a for a in wanted if a not in found]
    if missing:
        raise ValidationError(
            _("宛名番号 %(nos)s の住民が見つかりません。") % {"nos": "、".join(missing)},
            code="unknown_person",
        )
    return [found[a] for a in dict.fromkeys(wanted)]


def _clean_newcomer(data: dict, *, on: date, index: int) -> dict:
    errors = []
    where = _("新規の人%(n)d") % {"n": index + 1}
    name = str(data.get("name") or "").strip()
    birth = data.get("birth_date")
    if not name:
        errors.append(_("%(where)s：氏名を入力してください。") % {"where": where})
    if not isinstance(birth, date):
        errors.append(_("%(where)s：生年月日を入力してください。") % {"where": where})
    elif birth > on:
        errors.append(_("%(where)s：生年月日が異動日より後になっています。") % {"where": where})
    errors += [f"{where}：{message}" for message in _foreign_problems(data, birth=birth, on=on).values()]
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "name_kana": str(data.get("name_kana") or "").strip(),
        "birth_date": birth,
        "sex": str(data.get("sex") or ""),
        "relationship": str(data.get("relationship") or "").strip(),
        "is_foreign": bool(data.get("is_foreign")),
        "nationality": str(data.get("nationality") or "").strip(),
        "residence_status": str(data.get("residence_status") or "").strip()[:60],
        "entry_date": data.get("entry_date") or None,
        "support_measure": bool(data.get("support_measure")),
    }


def _foreign_problems(data: dict, *, birth: object, on: date) -> dict[str, str]:
    """Field → message for the foreign-newcomer facts (在留資格, 入国年月日)."""
    problems: dict[str, str] = {}
    entry = data.get("entry_date")
    foreign = bool(data.get("is_foreign"))
    if not foreign and (entry or str(data.get("residence_status") or "").strip()):
        problems["is_foreign"] = _("在留資格・入国年月日は外国人住民のときだけ入力します。")
    if entry not in (None, "") and not isinstance(entry, date):
        problems["entry_date"] = _("入国（上陸）年月日は日付で入力してください。")
    elif isinstance(entry, date) and entry > on:
        problems["entry_date"] = _("入国（上陸）年月日が異動日より後になっています。")
    elif isinstance(entry, date) and isinstance(birth, date) and entry < birth:
        problems["entry_date"] = _("入国（上陸）年月日が生年月日より前になっています。")
    return problems


@transaction.atomic
def case_open(
    *,
    actor: User,
    counter: Counter | None,
    atena_nos: list[str] | None = None,
    newcomers: list[dict] | None = None,
    event_date: date | None = None,
    events: list[str] | None = None,
) -> Case:
    """Open a case at ``counter`` for residents (宛名番号) and/or newcomers typed in by staff
    (転入者, 出生児: ``{"name", "name_kana", "birth_date", "sex", "relationship", ...}``).

    The first person is the visitor. The catalogue version in force today is fixed on the case.
    """
    _require_staff(actor)
    counter = _require_counter(counter, actor=actor)
    residents = _residents(atena_nos or [])
    today = timezone.localdate()
    on = event_date or today
    cleaned = [_clean_newcomer(item, on=on, index=i) for i, item in enumerate(newcomers or [])]
    if not residents and not cleaned:
        raise ValidationError(_("受付する人を選んでください。"), code="no_person")
    case = Case.objects.create(
        day=today,
        number=_next_number(today),
        event_date=on,
        events=[],
        current_counter=counter,
        queue_state=QueueState.SERVING,
        handling_by=actor,
        queued_at=timezone.now(),
        created_by=actor,
        catalogue_version_id=navi.current_version_id(),
    )
    people = [_person_from_resident(case, r, i, visitor=(i == 0)) for i, r in enumerate(residents)]
    people += [
        CasePerson(
            case=case, position=len(residents) + i, is_newcomer=True, is_visitor=not residents and i == 0, **item
        )
        for i, item in enumerate(cleaned)
    ]
    CasePerson.objects.bulk_create(people)
    record(
        actor=actor,
        action="create",
        target_type="case",
        target_id=case.pk,
        details={
            "label": case.label,
            "atena_nos": [r.atena_no for r in residents],
            "newcomers": len(cleaned),
            "counter": counter.pk,
        },
        residents=[r.atena_no for r in residents],
    )
    if events:
        case.events = navi.validate_events(events, case=case)
        case.save(update_fields=["events"])
        case_determine(actor=actor, case=case)
    return case


@transaction.atomic
def case_person_add(*, actor: User, counter: Counter | None, case: Case, atena_no: str) -> CasePerson:
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    (resident,) = _residents([atena_no])
    if case.persons.filter(atena_no=resident.atena_no).exists():
        raise ValidationError(
            _("%(name)s さんはすでに受付に含まれています。") % {"name": resident.name}, code="duplicate"
        )
    position = case.persons.count()
    person = _person_from_resident(case, resident, position, visitor=False)
    person.save()
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "person_add", "atena_no": resident.atena_no},
        residents=[resident.atena_no],
    )
    case_determine(actor=actor, case=case)
    return person


@transaction.atomic
def case_newcomer_add(
    *,
    actor: User,
    counter: Counter | None,
    case: Case,
    name: str,
    name_kana: str = "",
    birth_date: date | None = None,
    sex: str = "",
    relationship: str = "",
    is_foreign: bool = False,
    nationality: str = "",
    residence_status: str = "",
    entry_date: date | None = None,
    support_measure: bool = False,
) -> CasePerson:
    """A person without a resident record yet (転入者, 出生児), entered by staff; a foreign newcomer with the
    在留資格 and date of entry, a newcomer under a DV等支援措置 marked as such."""
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("氏名を入力してください。")
    if birth_date is None:
        errors["birth_date"] = _("生年月日を入力してください。")
    elif birth_date > case.event_date:
        errors["birth_date"] = _("生年月日が異動日より後になっています。")
    errors.update(_foreign_problems({"is_foreign": is_foreign, "residence_status": residence_status,
                                     "entry_date": entry_date}, birth=birth_date, on=case.event_date))
    if errors:
        raise ValidationError(errors)
    person = CasePerson.objects.create(
        case=case,
        position=case.persons.count(),
        is_newcomer=True,
        name=name.strip(),
        name_kana=(name_kana or "").strip(),
        birth_date=birth_date,
        sex=sex or "",
        relationship=relationship or "",
        is_visitor=not case.persons.exists(),
        is_foreign=bool(is_foreign),
        nationality=(nationality or "").strip(),
        residence_status=(residence_status or "").strip()[:60],
        entry_date=entry_date,
        support_measure=bool(support_measure),
    )
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "newcomer_add", "person": person.pk},
    )
    case_determine(actor=actor, case=case)
    return person


@transaction.atomic
def case_person_remove(*, actor: User, counter: Counter | None, case: Case, person: CasePerson) -> None:
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    if person.case_id != case.pk:
        raise PermissionDenied
    acted = person.procedures.exclude(status=ProcedureStatus.TODO).exists()
    if acted:
        raise ValidationError(_("手続の対応を始めた人は受付から外せません。"), code="person_in_use")
    if case.persons.count() <= 1:
        raise ValidationError(_("受付には少なくとも1人が必要です。"), code="last_person")
    key = person.key
    person.delete()
    answers = dict(case.answers or {})
    answers["persons"] = {k: v for k, v in (answers.get("persons") or {}).items() if k != key}
    case.answers = answers
    case.save(update_fields=["answers", "updated_at"])
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "person_remove", "person": key},
    )
    case_determine(actor=actor, case=case)


@transaction.atomic
def case_person_set_subject(
    *, actor: User, counter: Counter | None, case: Case, person: CasePerson, subject: bool
) -> CasePerson:
    """Whether the event concerns this person (亡くなった人・婚姻する人 …) or they only belong to the
    household (the spouse reporting a death). Re-determines."""
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    if person.case_id != case.pk:
        raise PermissionDenied
    if not subject and not case.persons.filter(is_subject=True).exclude(pk=person.pk).exists():
        raise ValidationError(_("届出・事由の対象者が1人もいなくなります。"), code="no_subject")
    person.is_subject = bool(subject)
    person.save(update_fields=["is_subject"])
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "subject", "person": person.key, "subject": person.is_subject},
    )
    case_determine(actor=actor, case=case)
    return person


@transaction.atomic
def case_events_set(
    *, actor: User, counter: Counter | None, case: Case, events: list[str], event_date: date | None = None
) -> Case:
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    case.events = navi.validate_events(events, case=case)
    if event_date is not None:
        case.event_date = event_date
    case.save(update_fields=["events", "event_date", "updated_at"])
    record(
        actor=actor,
        action="update",
        target_type="case",
        target_id=case.pk,
        details={"change": "events", "events": case.events, "event_date": case.event_date},
    )
    case_determine(actor=actor, case=case)
    return case


@transaction.atomic
def case_answers_update(*, actor: User, counter: Counter | None, case: Case, answers: dict) -> Case:
    """Merge interview answers (form values ``{"<person key|case>:<question>": raw}``) and re-determine.

    Every answer is validated against the case's catalogue first; nothing changes on a bad answer.
    """
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    persons = list(case.persons.all())
    cleaned = navi.validate_answers(case=case, persons=persons, answers=answers)
    cleaned, entries = navi.split_entry_answers(case=case, cleaned=cleaned)
    if entries:
        # a text or address answer that is also a form's case input is stored once, as that input (the forms
        # and the interview read the same value); its own checks (町字 in the master, 番地 …) apply
        from forms_builder.services import case_entries_save

        case_entries_save(actor=actor, counter=counter, case=case, values=entries)
    merged = {
        "case": dict((case.answers or {}).get("case") or {}),
        "persons": {k: dict(v) for k, v in ((case.answers or {}).get("persons") or {}).items()},
    }
    merged["case"].update(cleaned["case"])
    for key, items in cleaned["persons"].items():
        merged["persons"].setdefault(key, {}).update(items)
    case.answers = merged
    case.save(update_fields=["answers", "updated_at"])
    if cleaned["case"] or cleaned["persons"] or not entries:  # the inputs' save is audited by forms_builder
        record(
            actor=actor,
            action="update",
            target_type="case",
            target_id=case.pk,
            details={"change": "answers", "keys": sorted(navi.answers_flat(cleaned))},
        )
    case_determine(actor=actor, case=case)
    return case


def _procedures_update(rows: list[CaseProcedure], *, fields: set[str]) -> None:
    """Write changed procedure rows in one statement: a removed or added procedure renumbers every row after it,
    which is a plain ``UPDATE … FROM (VALUES …)`` (cheaper to build than ``bulk_update``'s CASE per row)."""
    now = timezone.now()
    for row in rows:
        row.updated_at = now
    if fields == {"sort_order"}:
        table = CaseProcedure._meta.db_table
        values = ", ".join(["(%s, %s)"] * len(rows))
        params: list[object] = [now]
        for row in rows:
            params += [row.pk, row.sort_order]
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" AS t SET sort_order = v.sort_order::integer, updated_at = %s '  # noqa: S608
                f"FROM (VALUES {values}) AS v(id, sort_order) WHERE t.id = v.id::bigint",
                params)
        return
    CaseProcedure.objects.bulk_update(rows, [*sorted(fields), "updated_at"])


@dataclass
class _Counters:
    """The municipality's counters (and their departments), read once per determination and only when a
    procedure row is written: where a procedure goes is then resolved in memory."""

    mapped: dict[str, Counter]
    active: list[Counter]
    departments: dict[str, Department | None]

    @classmethod
    def load(cls) -> _Counters:
        from navigation.selectors import counter_map

        mapped = counter_map()  # active counters with their departments, and the catalogue mappings
        active = sorted({c.pk: c for c in mapped.values()}.values(), key=lambda c: (c.sort_order, c.name))
        departments = {c.department.name: c.department for c in active if c.department_id}
        return cls(mapped=mapped, active=active, departments=departments)

    def department(self, name: str) -> Department | None:
        if name not in self.departments:  # a department without an active counter: read once
            self.departments[name] = Department.objects.filter(name=name).first()
        return self.departments[name]


def _counter_for(item: navi.ProcedureItem, *, counters: _Counters) -> tuple[int | None, int | None]:
    """(counter, department) of a procedure: the catalogue counter's mapping or namesake, else the first active
    counter whose name starts with it, else the first active counter of its department."""
    department = counters.department(item.department_name) if item.department_name else None
    counter = counters.mapped.get(item.counter_name) if item.counter_name else None
    if counter is None and item.counter_name:
        counter = next((c for c in counters.active if c.name.startswith(item.counter_name)), None)
    if counter is None and department is not None:
        counter = next((c for c in counters.active if c.department_id == department.pk), None)
    if department is None and counter is not None:
        return counter.pk, counter.department_id
    return getattr(counter, "pk", None), getattr(department, "pk", None)


@transaction.atomic
def case_determine(*, actor: User, case: Case) -> None:
    """Run the determination and reconcile the procedure list (per person and for the household).

    New procedures are added as 未対応; a procedure no longer determined is removed if nobody has
    touched it, otherwise kept (marked not determined) so staff's work is never lost. A household
    member who is not in the case but needs a procedure (e.g. the spouse after a death) is added to
    the case as a non-subject person so that the procedure can be tracked.

    Writes only what changed: an unchanged procedure row and an unchanged determination cost no write,
    new rows are inserted in one statement, counters are resolved once per call and only when a row is written.
    """
    persons = list(case.persons.all())
    result = navi.determine_case(case=case, persons=persons)
    by_key = {p.key: p for p in persons}
    missing = [item.person_key for item in result.items if item.person_key and item.person_key not in by_key]
    # household members who answered a question of their own (a child the new 児童手当 recipient claims)
    missing += [key for key in ((case.answers or {}).get("persons") or {}) if key not in by_key]
    if missing:
        position = len(persons)
        for resident in Resident.objects.filter(atena_no__in=missing).order_by("birth_date"):
            person = _person_from_resident(case, resident, position, visitor=False)
            person.is_subject = False
            person.save()
            by_key[person.key] = person
            position += 1
    existing = {(cp.person_id, cp.procedure_code): cp for cp in case.procedures.all()}
    wanted: set[tuple[int | None, str]] = set()
    where_cache: dict[tuple[str, str], tuple[int | None, int | None]] = {}
    counters: _Counters | None = None
    created: list[CaseProcedure] = []
    updated: list[CaseProcedure] = []
    updated_fields: set[str] = set()
    for order, item in enumerate(result.items, start=1):
        person = by_key.get(item.person_key) if item.person_key else None
        if item.person_key and person is None:
            continue
        key = (getattr(person, "pk", None), item.code)
        wanted.add(key)
        current = existing.get(key)
        fields = {
            "name": item.name,
            "area": item.area,
            "reasons": list(item.reasons),
            "documents": list(item.documents),
            "guidance": item.guidance,
            "legal_basis": item.legal_basis[:400],
            "legal_url": item.legal_url[:400],
            "rule_source": item.source[:300],
            "fee": item.fee[:100],
            "needs_check": item.needs_check,
            "determined": True,
            "sort_order": order,
        }
        if current is not None and all(getattr(current, name) == value for name, value in fields.items()):
            continue  # write only what changed: an unchanged procedure costs no query
        where = (item.counter_name, item.department_name)
        if where not in where_cache:
            counters = counters or _Counters.load()
            where_cache[where] = _counter_for(item, counters=counters)
        counter_id, department_id = where_cache[where]
        if current is None:
            created.append(CaseProcedure(case=case, person=person, procedure_code=item.code, counter_id=counter_id,
                                         department_id=department_id, **fields))
        else:
            changed = [name for name, value in fields.items() if getattr(current, name) != value]
            for name in changed:
                setattr(current, name, fields[name])
            if current.department_id != department_id:
                current.department_id = department_id
                changed.append("department")
            updated.append(current)
            updated_fields.update(changed)
    if created:
        CaseProcedure.objects.bulk_create(created)
    doomed: list[int] = []
    for key, current in existing.items():
        if key in wanted:
            continue
        if current.status == ProcedureStatus.TODO:
            doomed.append(current.pk)
        elif current.determined:
            current.determined = False
            updated.append(current)
            updated_fields.add("determined")
    if updated:
        _procedures_update(updated, fields=updated_fields)
    if doomed:
        CaseProcedure.objects.filter(pk__in=doomed).delete()
    version_id = result.version_id if result.version_id is not None else case.catalogue_version_id
    if case.determination != result.snapshot or case.catalogue_version_id != version_id or not case.determined_at:
        case.determination = result.snapshot
        case.determined_at = timezone.now()
        case.catalogue_version_id = version_id
        case.save(update_fields=["determination", "determined_at", "catalogue_version_id", "updated_at"])


@transaction.atomic
def case_procedures_complete(
    *, actor: User, counter: Counter | None, case: Case, person_id: int | None = None,
    only_this_counter: bool = False,
) -> list[CaseProcedure]:
    """Mark every open (未対応・対応中) procedure of the case 完了 in one action: those of one person, or those
    this counter is in charge of, including those sent here (「他窓口へ」 this counter). Each change is checked
    and audited as one (``_status_apply``, under the case's lock taken once). A person's 「他窓口へ」 stays for
    that counter to finish;
    「不要」 needs a reason and is never implied."""
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    open_statuses = [ProcedureStatus.TODO, ProcedureStatus.DOING]
    procedures = case.procedures.filter(determined=True)
    if person_id is not None:
        if not case.persons.filter(pk=person_id).exists():
            raise ValidationError(_("この受付の人ではありません。"))
        procedures = procedures.filter(person_id=person_id, status__in=open_statuses)
    elif only_this_counter:
        # What was sent here (「他窓口へ」 this counter) is this counter's to finish, as is what it is in charge of.
        procedures = procedures.filter(counter=counter, status__in=[*open_statuses, ProcedureStatus.ELSEWHERE])
    else:
        raise ValidationError(_("完了にする範囲（人または窓口）を選んでください。"))
    return [_status_apply(actor=actor, case=case, procedure=procedure, status=ProcedureStatus.DONE, reason="",
                          to_counter=None)
            for procedure in procedures.order_by("sort_order", "pk")]


@transaction.atomic
def case_household_act_set_status(
    *,
    actor: User,
    counter: Counter | None,
    case: Case,
    procedure_ids: list[int],
    status: str,
    reason: str = "",
    to_counter: Counter | None = None,
) -> list[CaseProcedure]:
    """One status for every person's row of a procedure that is one act for the household
    (``navigation.cases.grouping``): all rows change, each checked and audited as one procedure, or none."""
    from navigation.cases.grouping import is_household_act

    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    procedures = list(case.procedures.filter(pk__in=procedure_ids).order_by("sort_order", "pk"))
    codes = {p.procedure_code for p in procedures}
    if (len(procedures) != len(set(procedure_ids)) or len(codes) != 1 or not is_household_act(codes.pop())
            or any(p.person_id is None for p in procedures)):
        raise ValidationError({"group": _("まとめて変更できる手続ではありません。画面を読み込み直してください。")})
    # The case is locked and the counter checked once; each row is validated, saved and audited as one.
    return [_status_apply(actor=actor, case=case, procedure=procedure, status=status, reason=reason,
                          to_counter=to_counter)
            for procedure in procedures]


@transaction.atomic
def case_procedure_set_status(
    *,
    actor: User,
    counter: Counter | None,
    procedure: CaseProcedure,
    status: str,
    reason: str = "",
    to_counter: Counter | None = None,
) -> CaseProcedure:
    case = _locked(procedure.case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    return _status_apply(actor=actor, case=case, procedure=procedure, status=status, reason=reason,
                         to_counter=to_counter)


def _status_apply(*, actor: User, case: Case, procedure: CaseProcedure, status: str, reason: str,
                  to_counter: Counter | None) -> CaseProcedure:
    """Validate, save and audit one row's status (the caller holds the case's lock and checked the counter)."""
    if status not in ProcedureStatus.values:
        raise ValidationError({"status": _("状態を選んでください。")})
    reason = (reason or "").strip()
    if status == ProcedureStatus.NOT_NEEDED and not reason:
        raise ValidationError({"reason": _("「不要」にするときは理由を入力してください。")})
    if status == ProcedureStatus.ELSEWHERE:
        target = to_counter or procedure.counter
        if target is None:
            raise ValidationError({"to_counter": _("「他窓口へ」のときは担当窓口を選んでください。")})
        procedure.counter = target
    if len(reason) > 400:
        raise ValidationError({"reason": _("理由は400文字以内で入力してください。")})
    previous = procedure.status
    procedure.status = status
    procedure.status_reason = reason
    procedure.updated_by = actor
    procedure.save()
    record(
        actor=actor,
        action="update",
        target_type="case_procedure",
        target_id=procedure.pk,
        area=procedure.area,
        details={
            "case": case.pk,
            "procedure": procedure.procedure_code,
            "from": previous,
            "to": status,
            "reason": reason,
        },
    )
    return procedure


@transaction.atomic
def case_handoff(
    *, actor: User, counter: Counter | None, case: Case, to_counter: Counter, note: str = ""
) -> CaseHandoff:
    """Send the case to ``to_counter``'s queue with a note; every answer and status stays (R2.4)."""
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    if to_counter is None or not to_counter.is_active:
        raise ValidationError({"to_counter": _("引継ぎ先の窓口を選んでください。")})
    if to_counter.pk == case.current_counter_id:
        raise ValidationError({"to_counter": _("今の窓口とは別の窓口を選んでください。")})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": _("引継ぎメモは%(n)d文字以内で入力してください。") % {"n": MAX_NOTE}})
    handoff = CaseHandoff.objects.create(
        case=case, from_counter=case.current_counter, to_counter=to_counter, note=note, sent_by=actor
    )
    case.current_counter = to_counter
    case.queue_state = QueueState.WAITING
    case.handling_by = None
    case.queued_at = timezone.now()
    case.save(update_fields=["current_counter", "queue_state", "handling_by", "queued_at", "updated_at"])
    record(
        actor=actor,
        action="handoff",
        target_type="case",
        target_id=case.pk,
        details={"from_counter": handoff.from_counter_id, "to_counter": to_counter.pk, "handoff": handoff.pk},
    )
    return handoff


@transaction.atomic
def case_resume(*, actor: User, counter: Counter | None, case: Case) -> Case:
    """Take a waiting case from this counter's queue and continue it here."""
    _require_staff(actor)
    counter = _require_counter(counter, actor=actor)
    case = _locked(case)
    if not case.is_open:
        raise ValidationError(_("受付 %(label)s は完了しています。") % {"label": case.label}, code="closed")
    if case.current_counter_id != counter.pk:
        raise PermissionDenied(_("受付 %(label)s はこの窓口の待ち一覧にありません。") % {"label": case.label})
    if case.queue_state != QueueState.WAITING:
        raise ValidationError(_("受付 %(label)s はすでに対応中です。") % {"label": case.label}, code="serving")
    case.queue_state = QueueState.SERVING
    case.handling_by = actor
    case.save(update_fields=["queue_state", "handling_by", "updated_at"])
    handoff = case.handoffs.filter(to_counter=counter, resumed_at__isnull=True).order_by("-sent_at").first()
    if handoff is not None:
        handoff.resumed_by = actor
        handoff.resumed_at = timezone.now()
        handoff.save(update_fields=["resumed_by", "resumed_at"])
    record(
        actor=actor,
        action="resume",
        target_type="case",
        target_id=case.pk,
        details={"counter": counter.pk, "handoff": getattr(handoff, "pk", None)},
    )
    return case


def unresolved_procedures(*, case: Case) -> list[CaseProcedure]:
    return list(
        case.procedures.filter(determined=True)
        .exclude(status__in=[ProcedureStatus.DONE, ProcedureStatus.NOT_NEEDED])
        .select_related("person")
    )


def pending_questions(*, case: Case) -> list[dict]:
    """Interview questions the last determination still had open (their answers could add procedures)."""
    if not case.events:
        return []
    return list((case.determination or {}).get("questions") or [])


@transaction.atomic
def case_close(
    *, actor: User, counter: Counter | None, case: Case, override_reason: str = "", close_reason: str = ""
) -> Case:
    """Close the case. Refused while a determined procedure is unresolved (「漏れなく」), unless a
    supervisor overrides with a reason — the override is audited as ``override``.

    Completed procedures mapped to an export kind are handed back to the core systems in the same
    transaction (``navigation.cases.handback``); a refused payload keeps the case open."""
    case = _locked(case)
    _require_serving_here(actor=actor, case=case, counter=counter)
    close_reason = (close_reason or "").strip()
    if not case.events and not case_purposes(case) and not close_reason:
        raise ValidationError({"close_reason": _(
            "ライフイベントも証明書の交付請求もない受付です。完了する理由（相談のみ、書類の不備で出直し など）を"
            "入力してください。")})
    if len(close_reason) > 1000:
        raise ValidationError({"close_reason": _("完了する理由は1000文字以内で入力してください。")})
    case.close_reason = close_reason
    open_items = unresolved_procedures(case=case)
    pending = pending_questions(case=case)
    override_reason = (override_reason or "").strip()
    if (open_items or pending) and not override_reason:
        parts = [
            f"{p.person.name if p.person else _('世帯')}：{p.name}（{p.get_status_display()}）" for p in open_items
        ]
        if pending:
            parts.append(_("聞き取りが終わっていません（確認すること %(n)d 件）") % {"n": len(pending)})
        raise CaseCloseRefused(
            _("未完了の手続があるため受付を完了できません：%(items)s") % {"items": "、".join(parts)},
            unresolved=open_items,
        )
    if open_items or pending:
        if not actor.is_supervisor:
            raise PermissionDenied(_("未完了の手続があるまま完了できるのは窓口責任者だけです。"))
        case.close_override_reason = override_reason
        record(
            actor=actor,
            action="override",
            target_type="case",
            target_id=case.pk,
            details={
                "reason": override_reason,
                "unresolved": [
                    {
                        "person": p.person.key if p.person else None,
                        "procedure": p.procedure_code,
                        "status": p.status,
                    }
                    for p in open_items
                ],
                "pending_questions": len(pending),
            },
        )
    for check in handback.CLOSE_CHECKS:  # other apps' conditions (raise to keep the case open)
        check(case=case)
    # Hand-back to the core systems (R3.2) in this transaction: a refused payload raises, nothing is kept.
    summary = handback.case_handback(actor=actor, case=case)
    case.status = CaseStatus.CLOSED
    case.closed_at = timezone.now()
    case.closed_by = actor
    case.handling_by = None
    case.save(
        update_fields=[
            "status",
            "closed_at",
            "closed_by",
            "handling_by",
            "close_override_reason",
            "close_reason",
            "updated_at",
        ]
    )
    record(
        actor=actor,
        action="close",
        target_type="case",
        target_id=case.pk,
        details={
            "label": case.label,
            "override": bool(open_items or pending),
            "handback_records": len(summary.get("records") or []),
            **({"close_reason": close_reason} if close_reason else {}),
        },
    )
    return case


@transaction.atomic
def case_handback_correct(*, actor: User, case: Case, field: str, value: str, reason: str) -> HandbackCorrection:
    """訂正: correct a value a closed case handed back to the core system (the case stays closed, its procedures
    and determination unchanged). Who: the staff who could have closed it or a 窓口責任者, handling the kind's
    area. Sends one correction record per affected hand-back record through the same export registry (outbox /
    PULL), each naming the original; see ``handback.handback_correct``. Refused with messages naming the field,
    nothing stored or sent: empty reason, unchanged or invalid value, a value the export layout cannot hold, a case
    not closed or without hand-back records."""
    _require_staff(actor)
    case = _locked(case)
    return handback.handback_correct(actor=actor, case=case, field_code=field, value=value, reason=reason)


@transaction.atomic
def case_correction_signature_received(*, actor: User, case: Case, correction_id: int) -> CorrectionSignatureReceipt:
    """The resident signed the document re-issued after a correction again (on paper) and staff received it: the
    case's 「署名を取り直してください」 for that correction ends. Audited; once per correction; the same people as
    for the correction."""
    _require_staff(actor)
    case = _locked(case)
    return handback.correction_signature_received(actor=actor, case=case, correction_id=correction_id)


# ---------------------------------------------------------------------------------------------
# Memos
# ---------------------------------------------------------------------------------------------
def _clean_memo(body: str, visibility: str, actor: User) -> tuple[str, str]:
    body = (body or "").strip()
    errors = {}
    if not body:
        errors["body"] = _("メモを入力してください。")
    elif len(body) > MAX_MEMO:
        errors["body"] = _("メモは%(n)d文字以内で入力してください。") % {"n": MAX_MEMO}
    if visibility not in MemoVisibility.values:
        errors["visibility"] = _("公開範囲を選んでください。")
    elif visibility == MemoVisibility.DEPARTMENT and actor.department_id is None:
        errors["visibility"] = _("部署に所属していないため「自分の部署のみ」は選べません。")
    if errors:
        raise ValidationError(errors)
    return body, visibility


@transaction.atomic
def memo_create(
    *,
    actor: User,
    counter: Counter | None,
    body: str,
    visibility: str = MemoVisibility.ALL,
    atena_no: str = "",
    case: Case | None = None,
) -> Memo:
    """A memo on a person (宛名番号) and/or a case."""
    _require_staff(actor)
    body, visibility = _clean_memo(body, visibility, actor)
    atena_no = (atena_no or "").strip()
    if not atena_no and case is None:
        raise ValidationError(_("メモの対象（住民または受付）がありません。"))
    if atena_no and not Resident.objects.filter(atena_no=atena_no).exists():
        raise ValidationError(_("宛名番号 %(no)s の住民が見つかりません。") % {"no": atena_no})
    memo = Memo.objects.create(
        atena_no=atena_no,
        case=case,
        body=body,
        visibility=visibility,
        department_id=actor.department_id,
        author=actor,
        counter=counter if counter_usable_by(actor=actor, counter=counter) else None,
    )
    record(
        actor=actor,
        action="create",
        target_type="memo",
        target_id=memo.pk,
        details={"atena_no": atena_no, "case": getattr(case, "pk", None), "visibility": visibility},
        residents=[atena_no] if atena_no else [],
    )
    return memo


@transaction.atomic
def memo_update(*, actor: User, memo: Memo, body: str, visibility: str) -> Memo:
    """Edit a memo (author only); the previous text is kept as a MemoRevision."""
    _require_staff(actor)
    memo = Memo.objects.select_for_update().get(pk=memo.pk)
    if memo.author_id != actor.pk:
        raise PermissionDenied(_("メモを編集できるのは作成者だけです。"))
    body, visibility = _clean_memo(body, visibility, actor)
    if body == memo.body and visibility == memo.visibility:
        return memo
    MemoRevision.objects.create(
        memo=memo,
        body=memo.body,
        visibility=memo.visibility,
        edited_by=actor,
        written_by=memo.updated_by or memo.author,
        written_at=memo.updated_at if memo.revision_count else memo.created_at,
    )
    memo.body = body
    memo.visibility = visibility
    memo.updated_by = actor
    memo.revision_count += 1
    if visibility == MemoVisibility.DEPARTMENT:
        memo.department_id = actor.department_id
    memo.save()
    record(
        actor=actor,
        action="update",
        target_type="memo",
        target_id=memo.pk,
        details={"revision": memo.revision_count, "visibility": visibility},
    )
    return memo
