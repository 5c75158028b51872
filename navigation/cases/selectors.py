"""Reads for cases and memos. Memo visibility and case-view auditing are enforced here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from audit.services import record
from integration.models import Resident
from integration.selectors import PersonView, household_members, person_views
from navigation.cases.grouping import HouseholdAct, household_acts
from navigation.cases.models import (
    Case,
    CaseHandoff,
    CasePerson,
    CaseProcedure,
    CaseStatus,
    Memo,
    MemoVisibility,
    QueueState,
)
from tenants.accounts.models import Counter, User
from tenants.accounts.selectors import counter_usable_by


def _require_staff(actor: User) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied(_("職員としてログインしてください。"))


# ---------------------------------------------------------------------------------------------
# Memos
# ---------------------------------------------------------------------------------------------
def memos_visible_to(*, actor: User) -> QuerySet[Memo]:
    """Memos ``actor`` may read: all-staff memos, own-department memos of their department, their own."""
    _require_staff(actor)
    condition = Q(visibility=MemoVisibility.ALL) | Q(author_id=actor.pk)
    if actor.department_id is not None:
        condition |= Q(visibility=MemoVisibility.DEPARTMENT, department_id=actor.department_id)
    return Memo.objects.filter(condition).select_related("author", "updated_by", "department", "counter")


def _audit_memo_read(memos: list[Memo], *, actor: User, **details: object) -> None:
    if memos:
        record(
            actor=actor,
            action="view",
            target_type="memo",
            target_id=memos[0].pk if len(memos) == 1 else "",
            details={"memo_ids": [m.pk for m in memos], **details},
            residents=[m.atena_no for m in memos if m.atena_no],
        )


def memos_for_persons(*, actor: User, atena_nos: list[str]) -> dict[str, list[Memo]]:
    """Person memos per 宛名番号 (for search results); the read is audited."""
    if not atena_nos:
        return {}
    memos = list(memos_visible_to(actor=actor).filter(atena_no__in=atena_nos))
    _audit_memo_read(memos, actor=actor, atena_nos=sorted({m.atena_no for m in memos}))
    result: dict[str, list[Memo]] = {}
    for memo in memos:
        result.setdefault(memo.atena_no, []).append(memo)
    return result


def memos_for_case(*, actor: User, case: Case) -> list[Memo]:
    memos = list(memos_visible_to(actor=actor).filter(case=case))
    _audit_memo_read(memos, actor=actor, case=case.pk)
    return memos


def memo_for_edit(*, actor: User, memo_id: int) -> Memo:
    memo = memos_visible_to(actor=actor).filter(pk=memo_id).first()
    if memo is None or memo.author_id != actor.pk:
        raise PermissionDenied(_("このメモは編集できません。"))
    return memo


def memo_history(*, actor: User, memo_id: int) -> tuple[Memo, list]:
    memo = memos_visible_to(actor=actor).filter(pk=memo_id).first()
    if memo is None:
        raise PermissionDenied(_("このメモは表示できません。"))
    revisions = list(memo.revisions.select_related("edited_by", "written_by"))
    _audit_memo_read([memo], actor=actor, revisions=len(revisions))
    return memo, revisions


# ---------------------------------------------------------------------------------------------
# Queue and cases
# ---------------------------------------------------------------------------------------------
@dataclass
class QueueRow:
    case: Case
    waiting: bool
    last_handoff: CaseHandoff | None
    person_count: int
    open_procedures: int
    visitor_name: str = ""  # empty for a case with a person under a support measure: the 受付番号 alone
    protected: bool = False
    event_names: list[str] = field(default_factory=list)
    waiting_minutes: int | None = None
    last_note: str = ""
    last_note_at: object = None


def _queue_names_audited(*, actor: User, rows: list[QueueRow], atena_by_case: dict[int, str]) -> None:
    """The queue polls every 5 seconds: record a visitor's name shown to a staff member once a day, not at
    every poll (``cache.add`` is atomic across processes)."""
    from django.core.cache import cache
    from django.utils import timezone

    day = timezone.localdate().isoformat()
    first_seen = [row for row in rows if row.visitor_name
                  and cache.add(f"queue-shown:{actor.pk}:{row.case.pk}:{day}", 1, timeout=24 * 3600)]
    if first_seen:
        record(actor=actor, action="view", target_type="case_queue", target_id="",
               details={"cases": [row.case.label for row in first_seen]},
               residents=sorted({atena_by_case[row.case.pk] for row in first_seen if atena_by_case.get(row.case.pk)}))


def case_queue(*, actor: User, counter: Counter | None) -> list[QueueRow]:
    """Open cases at ``counter``: waiting hand-offs first (oldest first), then those being served.

    Each row names the visitor, the life events, the minutes since arrival and the last note. A case with a
    person under a support measure shows its 受付番号 alone (the queue is on screens others can see). The
    first showing of a visitor's name to a staff member each day is audited; the 5-second polls are not.
    """
    from django.utils import timezone

    from integration.selectors import protected_among
    from navigation.models import LifeEvent

    _require_staff(actor)
    if counter is None or not counter_usable_by(actor=actor, counter=counter):
        return []
    cases = list(
        Case.objects.filter(current_counter=counter, status=CaseStatus.OPEN)
        .select_related("handling_by", "current_counter")
        .order_by("queued_at", "pk")
    )
    handoffs: dict[int, CaseHandoff] = {}
    for handoff in CaseHandoff.objects.filter(case__in=cases).select_related("from_counter", "sent_by"):
        handoffs[handoff.case_id] = handoff  # ordered by sent_at: the last one wins
    persons: dict[int, list[CasePerson]] = {}
    for person in CasePerson.objects.filter(case__in=cases).order_by("position", "pk"):
        persons.setdefault(person.case_id, []).append(person)
    protected, _households = protected_among(
        atena_nos=[p.atena_no for group in persons.values() for p in group if p.atena_no],
        household_nos=[p.household_no for group in persons.values() for p in group if p.household_no])
    open_counts: dict[int, int] = {}
    for case_id in (
        CaseProcedure.objects.filter(case__in=cases, determined=True)
        .exclude(status__in=["done", "not_needed"])
        .values_list("case_id", flat=True)
    ):
        open_counts[case_id] = open_counts.get(case_id, 0) + 1
    notes: dict[int, Memo] = {}
    for memo in memos_visible_to(actor=actor).filter(case__in=cases).order_by("created_at"):
        notes[memo.case_id] = memo  # the last one wins
    event_names = dict(LifeEvent.objects.values_list("code", "name"))
    now = timezone.now()
    rows, atena_by_case = [], {}
    for c in cases:
        group = persons.get(c.pk, [])
        visitor = next((p for p in group if p.is_visitor), group[0] if group else None)
        is_protected = any((p.atena_no and p.atena_no in protected) or getattr(p, "support_measure", False)
                           for p in group)
        handoff, memo = handoffs.get(c.pk), notes.get(c.pk)
        note, note_at = "", None
        if memo is not None:
            note, note_at = memo.body, memo.created_at
        if handoff is not None and handoff.note and (note_at is None or handoff.sent_at >= note_at):
            note, note_at = handoff.note, handoff.sent_at
        arrived = c.queued_at or c.created_at
        row = QueueRow(
            case=c, waiting=c.queue_state == QueueState.WAITING, last_handoff=handoff, person_count=len(group),
            open_procedures=open_counts.get(c.pk, 0), protected=is_protected,
            visitor_name="" if is_protected or visitor is None else visitor.name,
            event_names=[event_names.get(code, code) for code in c.events or []],
            waiting_minutes=max(0, int((now - arrived).total_seconds() // 60)) if arrived else None,
            last_note=note, last_note_at=note_at,
        )
        rows.append(row)
        if visitor is not None and visitor.atena_no:
            atena_by_case[c.pk] = visitor.atena_no
    _queue_names_audited(actor=actor, rows=rows, atena_by_case=atena_by_case)
    return sorted(rows, key=lambda r: (not r.waiting, r.case.queued_at or r.case.created_at))


@dataclass
class CasePersonRow:
    person: CasePerson
    view: PersonView | None  # DV-aware mirror data (None for newcomers)
    procedures: list[CaseProcedure] = field(default_factory=list)
    # This person's rows inside household acts (shown once for the household, not in ``procedures``).
    in_acts: list[CaseProcedure] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        """What 「…さんの手続をすべて完了」 changes: every open row of the person, their household-act rows too."""
        return sum(1 for p in [*self.procedures, *self.in_acts] if p.determined and p.status in ("todo", "doing"))


@dataclass
class CaseDetail:
    case: Case
    persons: list[CasePersonRow]
    handoffs: list[CaseHandoff]
    memos: list[Memo]
    person_memos: dict[str, list[Memo]]
    household: list[PersonView]
    case_procedures: list[CaseProcedure] = field(default_factory=list)  # for the whole case / household
    pending: list[dict] = field(default_factory=list)  # procedures still depending on an unanswered question
    # Procedures that are one act for several persons (navigation.cases.grouping): shown once, not per person.
    household_acts: list[HouseholdAct] = field(default_factory=list)


def case_get(*, actor: User, case_id: int) -> Case:
    _require_staff(actor)
    case = (
        Case.objects.select_related("current_counter", "created_by", "handling_by", "closed_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Case.DoesNotExist
    return case


def case_detail(*, actor: User, case_id: int, on: date | None = None) -> CaseDetail:
    """Everything the case screen shows; audited as a case view (action ``view``)."""
    case = case_get(actor=actor, case_id=case_id)
    persons = list(case.persons.all())
    views = {
        v.atena_no: v
        for v in person_views(
            list(Resident.objects.filter(atena_no__in=[p.atena_no for p in persons if p.atena_no])), on=on
        )
    }
    procedures = list(case.procedures.select_related("counter", "department", "updated_by", "person"))
    acts = household_acts(procedures)
    grouped = {pk for act in acts for pk in act.ids}
    rows = []
    for person in persons:
        rows.append(
            CasePersonRow(
                person=person,
                view=views.get(person.atena_no),
                procedures=[p for p in procedures if p.person_id == person.pk and p.pk not in grouped],
                in_acts=[p for p in procedures if p.person_id == person.pk and p.pk in grouped],
            )
        )
    household: list[PersonView] = []
    visitor = next((views[p.atena_no] for p in persons if p.atena_no in views), None)
    if visitor is not None:
        in_case = {p.atena_no for p in persons}
        household = [
            m for m in household_members(household_no=visitor.household_no, on=on) if m.atena_no not in in_case
        ]
    record(
        actor=actor,
        action="view",
        target_type="case",
        target_id=case.pk,
        details={"label": case.label, "atena_nos": [p.atena_no for p in persons if p.atena_no]},
        # everyone the screen shows: the case persons and the rest of the visitor's household
        residents=[p.atena_no for p in persons if p.atena_no] + [m.atena_no for m in household],
    )
    return CaseDetail(
        case=case,
        persons=rows,
        handoffs=list(case.handoffs.select_related("from_counter", "to_counter", "sent_by", "resumed_by")),
        memos=memos_for_case(actor=actor, case=case),
        person_memos=memos_for_persons(actor=actor, atena_nos=[p.atena_no for p in persons if p.atena_no]),
        household=household,
        case_procedures=[p for p in procedures if p.person_id is None],
        pending=[item for item in (case.determination or {}).get("procedures", []) if item.get("status") == "pending"],
        household_acts=acts,
    )


def cases_for_person(*, actor: User, atena_no: str, limit: int = 20) -> list[Case]:
    _require_staff(actor)
    return list(
        Case.objects.filter(persons__atena_no=atena_no)
        .select_related("current_counter")
        .order_by("-created_at")[:limit]
    )


@dataclass
class PersonDetail:
    person: PersonView
    household: list[PersonView]
    memos: list[Memo]
    cases: list[Case]


def person_detail(*, actor: User, atena_no: str, on: date | None = None) -> PersonDetail | None:
    """The person view at any counter: DV-aware data, household, visible memos, cases. Audited."""
    _require_staff(actor)
    resident = Resident.objects.filter(atena_no=atena_no).first()
    if resident is None:
        return None
    (person,) = person_views([resident], on=on)
    household = [m for m in household_members(household_no=person.household_no, on=on) if m.atena_no != person.atena_no]
    record(actor=actor, action="view", target_type="person", target_id=atena_no, details={"screen": "person_view"},
           residents=[person.atena_no, *(m.atena_no for m in household)])  # the page shows the whole household
    return PersonDetail(
        person=person,
        household=household,
        memos=memos_for_persons(actor=actor, atena_nos=[atena_no]).get(atena_no, []),
        cases=cases_for_person(actor=actor, atena_no=atena_no),
    )


def counters_for_handoff(*, case: Case) -> list[Counter]:
    return list(Counter.objects.filter(is_active=True).exclude(pk=case.current_counter_id))


@dataclass
class CloseSummary:
    """What closing a case will record (issue 17 item 6): shown before staff confirm."""

    case: Case
    done: list[CaseProcedure] = field(default_factory=list)
    not_needed: list[CaseProcedure] = field(default_factory=list)  # with their reasons
    elsewhere: list[CaseProcedure] = field(default_factory=list)
    unresolved: list[CaseProcedure] = field(default_factory=list)
    handoffs: list[CaseHandoff] = field(default_factory=list)
    event_names: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)

    @property
    def needs_reason(self) -> bool:
        """Neither a life event nor another purpose: closing as 完了 needs a reason."""
        return not self.event_names and not self.purposes


def case_close_summary(*, actor: User, case: Case) -> CloseSummary:
    from navigation.cases.models import RESOLVED_STATUSES, ProcedureStatus
    from navigation.cases.purposes import case_purposes
    from navigation.models import LifeEvent

    _require_staff(actor)
    procedures = list(case.procedures.filter(determined=True).select_related("person", "counter")
                      .order_by("sort_order", "pk"))
    names = dict(LifeEvent.objects.values_list("code", "name"))
    return CloseSummary(
        case=case,
        done=[p for p in procedures if p.status == ProcedureStatus.DONE],
        not_needed=[p for p in procedures if p.status == ProcedureStatus.NOT_NEEDED],
        elsewhere=[p for p in procedures if p.status == ProcedureStatus.ELSEWHERE],
        unresolved=[p for p in procedures if p.status not in RESOLVED_STATUSES
                    and p.status != ProcedureStatus.ELSEWHERE],
        handoffs=list(case.handoffs.select_related("from_counter", "to_counter").order_by("sent_at")),
        event_names=[names.get(code, code) for code in case.events or []],
        purposes=case_purposes(case),
    )


def newcomer_duplicate(*, actor: User, name: str, birth_date: date | None, case: Case | None = None) -> str:
    """Where a newcomer with this name and birth date is already (staff are asked before adding them twice):
    in ``case``, or in another open case. Returns a description for the question, or ''."""
    from integration.normalize import normalize_name

    _require_staff(actor)
    if not name or birth_date is None:
        return ""
    wanted = normalize_name(name)
    people = CasePerson.objects.filter(is_newcomer=True, birth_date=birth_date, case__status=CaseStatus.OPEN)
    if case is not None:
        people = people.filter(case=case)
    for person in people.select_related("case"):
        if normalize_name(person.name) == wanted:
            if case is not None:
                return _("%(name)s さん（%(birth)s生）はこの受付に追加済みです。") % {
                    "name": person.name, "birth": birth_date.isoformat()}
            return _("%(name)s さん（%(birth)s生）は受付 %(label)s で受付中です。") % {
                "name": person.name, "birth": birth_date.isoformat(), "label": person.case.label}
    return ""


def procedures_open_at(*, detail: CaseDetail, counter: Counter | None) -> int:
    """How many procedures of the case this counter can finish now: 未対応・対応中 in its charge, and those sent
    to it (「他窓口へ」 this counter) — what 「この窓口の手続をすべて完了」 changes."""
    if counter is None:
        return 0
    rows = [p for row in detail.persons for p in row.procedures] + list(detail.case_procedures)
    rows += [p for act in detail.household_acts for p in act.procedures]
    return sum(1 for p in rows if p.determined and p.counter_id == counter.pk
               and p.status in ("todo", "doing", "elsewhere"))


@dataclass(frozen=True)
class NextStep:
    key: str  # resume | events | answers | procedures | handoff | close
    label: str
    anchor: str


def case_next_step(*, case: Case, counter: Counter | None, can_edit: bool, can_resume: bool, questions: bool,
                   unresolved: list[CaseProcedure], counter_open: int) -> NextStep | None:
    """The one next step of the case at this counter (its button is the page's only primary one):
    再開 → イベント → 質問に答える → 手続を確認 → 引き継ぐ（他の窓口の手続が残る）/ 受付を完了."""
    if can_resume:
        return NextStep("resume", _("この窓口で再開する"), "main")
    if not can_edit:
        return None
    if not case.events:
        return NextStep("events", _("ライフイベントと異動日を選んで判定する"), "interview")
    if questions:
        return NextStep("answers", _("確認することに答える"), "interview")
    here = getattr(counter, "pk", None)
    if counter_open or any(p.counter_id in (None, here) and p.status in ("todo", "doing") for p in unresolved):
        return NextStep("procedures", _("手続の状態を確認する"), "persons")
    if unresolved:
        return NextStep("handoff", _("残りの手続の窓口へ引き継ぐ"), "handoff")
    return NextStep("close", _("受付を完了する"), "close")
