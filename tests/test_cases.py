"""Cases (受付): determination stored per person, interview, hand-off/resume, closing rules, memos, audit."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import in_tenant, staff_client
from tests.test_search import make_resident, make_support_measure

HH = "800000019"


@pytest.fixture
def catalogue(in_a):
    from navigation.services import catalogue_install_default

    return catalogue_install_default().published


@pytest.fixture
def people(in_a):
    from tenants.accounts.models import Counter, User

    people = {
        "staff1": User.objects.get(username="staff1"),  # 市民課: counter A is theirs
        "staff2": User.objects.get(username="staff2"),  # 保険年金課: counter B is theirs
        "leader": User.objects.get(username="leader"),
        "admin": User.objects.get(username="admin"),
        "A": Counter.objects.get(name="総合窓口 1番"),
        "B": Counter.objects.get(name="保険年金窓口"),
    }
    people["B"].staff.add(people["leader"])  # the 市民課 supervisor also covers 保険年金窓口
    return people


@pytest.fixture
def family(in_a):
    """A household of three in the mirror: head with 国保, spouse, a child receiving 児童手当."""
    from integration.models import Eligibility

    head = make_resident(name="窓口 太郎", kana="マドグチ タロウ", birth=date(1980, 5, 1), household_no=HH)
    wife = make_resident(name="窓口 花子", kana="マドグチ ハナコ", birth=date(1982, 6, 1), household_no=HH,
                         relationship="妻", sex="2")
    kid = make_resident(name="窓口 一郎", kana="マドグチ イチロウ", birth=date(2015, 6, 1), household_no=HH,
                        relationship="子")
    Eligibility.objects.create(atena_no=head.atena_no, area="kokuho", kind="被保険者")
    Eligibility.objects.create(atena_no=kid.atena_no, area="jidou_teate", kind="受給者")
    return head, wife, kid


def _codes(case) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for proc in case.procedures.select_related("person"):
        result.setdefault(proc.person.atena_no if proc.person else "", set()).add(proc.procedure_code)
    return result


# ---------------------------------------------------------------------------------------------
# Opening, numbering, determination
# ---------------------------------------------------------------------------------------------
def test_case_numbers_count_up_per_day(people, family, catalogue):
    from navigation.cases.services import case_open

    first = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no])
    second = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[1].atena_no])
    assert second.number == first.number + 1 and second.day == first.day
    assert first.catalogue_version_id == catalogue.pk
    assert first.persons.get().is_visitor


def test_open_needs_a_counter_and_known_persons(people, family):
    from navigation.cases.models import Case
    from navigation.cases.services import case_open

    with pytest.raises(ValidationError):
        case_open(actor=people["staff1"], counter=None, atena_nos=[family[0].atena_no])
    with pytest.raises(ValidationError):
        case_open(actor=people["staff1"], counter=people["A"], atena_nos=["9999999999"])
    with pytest.raises(ValidationError):
        case_open(actor=people["staff1"], counter=people["A"], newcomers=[{"name": "", "birth_date": None}])
    assert not Case.objects.exists()


def test_determination_is_stored_per_person_with_counters(people, family, catalogue):
    from navigation.cases.services import case_events_set, case_open

    head, wife, kid = family
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no])
    case = case_events_set(actor=people["staff1"], counter=people["A"], case=case, events=["tenkyo"])
    codes = _codes(case)
    # Staff picked only the head; the household members came in through the household facts and were
    # added as non-subjects only where they need something — here nobody else moves, so only the head.
    assert "juki_tenkyo" in codes[head.atena_no] and "kokuho_jusho_henkou" in codes[head.atena_no]
    kokuho = case.procedures.get(procedure_code="kokuho_jusho_henkou")
    assert kokuho.counter == people["B"] and kokuho.reasons and kokuho.status == "todo"
    assert case.determination["version"]["id"] == catalogue.pk


def test_whole_family_moving_gets_child_procedures(people, family, catalogue):
    from navigation.cases.services import case_answers_update, case_open

    head, wife, kid = family
    case = case_open(actor=people["staff1"], counter=people["A"],
                     atena_nos=[head.atena_no, wife.atena_no, kid.atena_no], events=["tenkyo"])
    codes = _codes(case)
    assert {"juki_tenkyo"} <= codes[wife.atena_no]
    # 学校教育法施行令第6条: a move within the city changes school only when the school district changes.
    assert {"juki_tenkyo", "jt_jusho_henkou"} <= codes[kid.atena_no] and "gak_tennyu" not in codes[kid.atena_no]
    case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                               answers={"case:school_district_changes": "はい"})
    assert "gak_tennyu" in _codes(case)[kid.atena_no]


def test_interview_answers_are_validated_and_change_the_result(people, family, catalogue):
    from navigation.cases import navi
    from navigation.cases.services import case_answers_update, case_events_set, case_open

    head = family[0]
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no])
    case = case_events_set(actor=people["staff1"], counter=people["A"], case=case, events=["tenshutsu"])
    questions = navi.questions_for_case(case=case, persons=list(case.persons.all()))
    # 納税管理人 (地方税法第300条) depends on the destination and on a tax liability after leaving
    assert [q.key for q in questions] == ["case:moving_destination", f"{head.atena_no}:tax_liability_abroad"]
    with pytest.raises(ValidationError):
        case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                            answers={"case:moving_destination": "mars"})
    case.refresh_from_db()
    assert case.answers == {} or not case.answers.get("case")
    value = questions[0].choices[0][0]
    case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                               answers={"case:moving_destination": value})
    assert case.answers["case"]["moving_destination"] == value
    assert navi.questions_for_case(case=case, persons=list(case.persons.all())) == []


def test_newcomer_case_for_a_person_moving_in(people, catalogue):
    from navigation.cases import navi
    from navigation.cases.services import case_events_set, case_newcomer_add, case_open

    case = case_open(actor=people["staff1"], counter=people["A"],
                     newcomers=[{"name": "転入 一子", "birth_date": date(1990, 2, 3), "relationship": "世帯主"}])
    kid = case_newcomer_add(actor=people["staff1"], counter=people["A"], case=case, name="転入 二郎",
                            birth_date=date(2016, 8, 8), relationship="子")
    case = case_events_set(actor=people["staff1"], counter=people["A"], case=case, events=["tennyu"])
    codes = _codes(case)
    assert "juki_tennyu" in codes[""] or any("juki_tennyu" in c for c in codes.values())
    assert kid.key.startswith("new-")
    assert navi.questions_for_case(case=case, persons=list(case.persons.all()))  # 国保 etc. must be asked


# ---------------------------------------------------------------------------------------------
# Procedure statuses and closing (「漏れなく」)
# ---------------------------------------------------------------------------------------------
def test_not_needed_requires_a_reason(people, family, catalogue):
    from navigation.cases.services import case_open, case_procedure_set_status

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    proc = case.procedures.first()
    with pytest.raises(ValidationError):
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=proc, status="not_needed")
    proc = case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=proc,
                                     status="not_needed", reason="本人が後日来庁")
    assert proc.status == "not_needed" and proc.status_reason == "本人が後日来庁"


def test_close_is_refused_while_a_procedure_is_open_and_allowed_when_done(people, family, catalogue):
    from navigation.cases.services import (
        CaseCloseRefused,
        case_answers_update,
        case_close,
        case_open,
        case_procedure_set_status,
    )

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    # the mirror has no card status: the interview asks whether anybody holds a My Number card
    case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                               answers={"case:card_holding_any": "いいえ"})
    with pytest.raises(CaseCloseRefused) as refused:
        case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert refused.value.unresolved and "未完了" in refused.value.messages[0]
    case.refresh_from_db()
    assert case.status == "open"
    for proc in case.procedures.all():
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=proc, status="done")
    closed = case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert closed.status == "closed" and closed.closed_by == people["staff1"]


def test_elsewhere_is_not_resolved(people, family, catalogue):
    from navigation.cases.services import CaseCloseRefused, case_close, case_open, case_procedure_set_status

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    for proc in case.procedures.all():
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=proc,
                                  status="elsewhere" if proc.area == "kokuho" else "done")
    with pytest.raises(CaseCloseRefused):
        case_close(actor=people["staff1"], counter=people["A"], case=case)


def test_staff_cannot_override_supervisor_can_and_it_is_audited(people, family, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.services import case_close, case_handoff, case_open, case_resume

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    with pytest.raises(PermissionDenied):
        case_close(actor=people["staff1"], counter=people["A"], case=case, override_reason="急ぎのため")
    case_handoff(actor=people["staff1"], counter=people["A"], case=case, to_counter=people["B"], note="責任者へ")
    case_resume(actor=people["leader"], counter=people["B"], case=case)
    closed = case_close(actor=people["leader"], counter=people["B"], case=case,
                        override_reason="来庁者の体調不良のため後日対応")
    assert closed.status == "closed" and closed.close_override_reason == "来庁者の体調不良のため後日対応"
    event = AuditEvent.objects.filter(action="override", target_type="case", target_id=str(case.pk)).get()
    assert event.actor == "leader" and event.details["reason"] == "来庁者の体調不良のため後日対応"
    assert {item["procedure"] for item in event.details["unresolved"]} >= {"juki_tenkyo"}


def test_unanswered_interview_blocks_closing(people, family, catalogue):
    from navigation.cases.services import CaseCloseRefused, case_close, case_open, case_procedure_set_status

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenshutsu"])
    for proc in case.procedures.all():
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=proc, status="done")
    with pytest.raises(CaseCloseRefused) as refused:
        case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert "聞き取り" in refused.value.messages[0]


# ---------------------------------------------------------------------------------------------
# Hand-off and resume (R2.4)
# ---------------------------------------------------------------------------------------------
def test_handoff_keeps_every_answer_and_status_and_resumes_at_the_other_counter(people, family, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.selectors import case_queue
    from navigation.cases.services import (
        case_answers_update,
        case_handoff,
        case_open,
        case_procedure_set_status,
        case_resume,
    )

    head = family[0]
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no], events=["tenshutsu"])
    case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                               answers={"case:moving_destination": "domestic"})
    juki = case.procedures.get(procedure_code="juki_tenshutsu")
    case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=juki, status="done")
    answers_before = dict(case.answers)
    statuses_before = {p.procedure_code: p.status for p in case.procedures.all()}

    case_handoff(actor=people["staff1"], counter=people["A"], case=case, to_counter=people["B"],
                 note="国保の喪失をお願いします")
    # Counter A can no longer change it; it waits in B's queue.
    with pytest.raises(PermissionDenied):
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=juki, status="todo")
    queue = case_queue(actor=people["staff2"], counter=people["B"])
    assert [row.case.pk for row in queue] == [case.pk] and queue[0].waiting
    assert queue[0].last_handoff.note == "国保の喪失をお願いします"
    assert case_queue(actor=people["staff1"], counter=people["A"]) == []

    resumed = case_resume(actor=people["staff2"], counter=people["B"], case=case)
    assert resumed.queue_state == "serving" and resumed.handling_by == people["staff2"]
    resumed.refresh_from_db()
    assert resumed.answers == answers_before
    assert {p.procedure_code: p.status for p in resumed.procedures.all()} == statuses_before
    handoff = resumed.handoffs.get()
    assert handoff.resumed_by == people["staff2"] and handoff.from_counter == people["A"]
    assert AuditEvent.objects.filter(action="handoff", target_id=str(case.pk)).exists()
    assert AuditEvent.objects.filter(action="resume", target_id=str(case.pk)).exists()


def test_resume_only_at_the_target_counter(people, family, catalogue):
    from navigation.cases.services import case_handoff, case_open, case_resume

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no])
    with pytest.raises(ValidationError):
        case_handoff(actor=people["staff1"], counter=people["A"], case=case, to_counter=people["A"])
    case_handoff(actor=people["staff1"], counter=people["A"], case=case, to_counter=people["B"])
    with pytest.raises(PermissionDenied):
        case_resume(actor=people["staff1"], counter=people["A"], case=case)


# ---------------------------------------------------------------------------------------------
# Memos (R2.5)
# ---------------------------------------------------------------------------------------------
def test_memo_visibility_all_staff_and_own_department(people, family):
    from navigation.cases.selectors import memos_for_persons
    from navigation.cases.services import memo_create

    head = family[0]
    memo_create(actor=people["staff1"], counter=people["A"], atena_no=head.atena_no, body="全員向け")
    memo_create(actor=people["staff1"], counter=people["A"], atena_no=head.atena_no, body="市民課だけ",
                visibility="department")
    # staff1 and leader are 市民課, staff2 is 保険年金課.
    assert {m.body for m in memos_for_persons(actor=people["leader"], atena_nos=[head.atena_no])[head.atena_no]} == {
        "全員向け", "市民課だけ"}
    assert [m.body for m in memos_for_persons(actor=people["staff2"], atena_nos=[head.atena_no])[head.atena_no]] == [
        "全員向け"]


def test_memo_edit_keeps_history_and_only_the_author_edits(people, family):
    from navigation.cases.selectors import memo_history
    from navigation.cases.services import memo_create, memo_update

    memo = memo_create(actor=people["staff1"], counter=people["A"], atena_no=family[0].atena_no, body="初版")
    with pytest.raises(PermissionDenied):
        memo_update(actor=people["staff2"], memo=memo, body="書き換え", visibility="all")
    memo = memo_update(actor=people["staff1"], memo=memo, body="第2版", visibility="department")
    memo = memo_update(actor=people["staff1"], memo=memo, body="第3版", visibility="all")
    memo, revisions = memo_history(actor=people["staff2"], memo_id=memo.pk)
    assert memo.body == "第3版" and memo.revision_count == 2
    assert [(r.body, r.visibility) for r in revisions] == [("第2版", "department"), ("初版", "all")]
    with pytest.raises(ValidationError):
        memo_update(actor=people["staff1"], memo=memo, body="   ", visibility="all")


def test_memo_reads_and_writes_are_audited(people, family):
    from audit.models import AuditEvent
    from navigation.cases.selectors import memos_for_persons
    from navigation.cases.services import memo_create

    head = family[0]
    memo = memo_create(actor=people["staff1"], counter=people["A"], atena_no=head.atena_no, body="監査される")
    memos_for_persons(actor=people["staff2"], atena_nos=[head.atena_no])
    assert AuditEvent.objects.filter(action="create", target_type="memo", target_id=str(memo.pk)).exists()
    read = AuditEvent.objects.filter(action="view", target_type="memo").latest("seq")
    assert read.actor == "staff2" and read.details["memo_ids"] == [memo.pk]


def test_case_memo_and_person_memo_on_the_case(people, family, catalogue):
    from navigation.cases.selectors import case_detail
    from navigation.cases.services import case_open, memo_create

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no])
    memo_create(actor=people["staff1"], counter=people["A"], case=case, body="受付についてのメモ")
    memo_create(actor=people["staff2"], counter=people["B"], atena_no=family[0].atena_no, body="人についてのメモ")
    detail = case_detail(actor=people["staff2"], case_id=case.pk)
    assert [m.body for m in detail.memos] == ["受付についてのメモ"]
    assert [m.body for m in detail.person_memos[family[0].atena_no]] == ["人についてのメモ"]


# ---------------------------------------------------------------------------------------------
# DV on the case and person screens
# ---------------------------------------------------------------------------------------------
def test_case_and_person_view_withhold_a_restricted_address(people, tenant_a, catalogue):
    from navigation.cases.services import case_open

    protected = make_resident(name="保護 受付", kana="ホゴ ウケツケ", address="鹿児島市極秘町3-3")
    make_support_measure(protected.atena_no)
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[protected.atena_no])
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    case_html = client.get(f"/navi/cases/{case.pk}/").content.decode()
    person_html = client.get(f"/navi/cases/persons/{protected.atena_no}/").content.decode()
    for html in (case_html, person_html):
        assert "支援措置対象者" in html and "極秘町" not in html


# ---------------------------------------------------------------------------------------------
# Screens and audit of case views
# ---------------------------------------------------------------------------------------------
def test_screens_flow_through_http(people, family, tenant_a, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.models import Case

    head = family[0]
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    assert "窓口受付" in client.get("/navi/cases/").content.decode()
    response = client.post("/navi/cases/new/", {"atena_no": [head.atena_no]})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/navi/cases/{case.pk}/"
    client.post(f"/navi/cases/{case.pk}/events/", {"events": ["tenshutsu"], "event_date": "2026-04-01"})
    html = client.get(f"/navi/cases/{case.pk}/").content.decode()
    assert "転出先はどこですか" in html and "国内の他の市区町村" in html
    client.post(f"/navi/cases/{case.pk}/answers/", {"case:moving_destination": "domestic"})
    case.refresh_from_db()
    assert case.answers["case"]["moving_destination"] == "domestic"
    summary = client.post(f"/navi/cases/{case.pk}/close/", {}).content.decode()
    assert "この受付で行ったこと" in summary and "完了を確定する" in summary  # a summary first, nothing closed
    refused = client.post(f"/navi/cases/{case.pk}/close/", {"confirm": "1"}, follow=True).content.decode()
    assert "未完了の手続があるため受付を完了できません" in refused
    assert AuditEvent.objects.filter(action="view", target_type="case", target_id=str(case.pk)).exists()
    queue = client.get("/navi/cases/queue/").content.decode()
    assert case.label in queue and "窓口 太郎" in queue and "転出" in queue  # the visitor and the event
    home = client.get("/").content.decode()
    assert "窓口業務" in home and "/navi/cases/" in home


def test_another_municipality_sees_none_of_it(people, family, tenant_a, tenant_b, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.models import Case, Memo
    from navigation.cases.services import case_open, memo_create

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no])
    memo_create(actor=people["staff1"], counter=people["A"], atena_no=family[0].atena_no, body="A市だけのメモ")
    with in_tenant(tenant_b):
        assert not Case.objects.exists() and not Memo.objects.exists()
        assert not AuditEvent.objects.filter(target_type__in=["case", "memo", "person_search"]).exists()
    client_b = staff_client(tenant_b, "staff1")
    assert client_b.get(f"/navi/cases/{case.pk}/").status_code == 404
    assert client_b.get(f"/navi/cases/persons/{family[0].atena_no}/").status_code == 404
    html = client_b.get("/navi/cases/search/", {"q": "窓口太郎"}).content.decode()
    assert "A市だけのメモ" not in html and "窓口 太郎" not in html


def test_death_of_the_head_with_the_spouse_as_household_member(people, family, catalogue):
    """Only the deceased is the subject; the spouse and child come in through the household facts."""
    from navigation.cases.services import case_open, case_person_add, case_person_set_subject

    head, wife, kid = family
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no], events=["shibou"])
    codes = _codes(case)
    assert "koseki_shibou" in codes[head.atena_no]
    assert "koseki_shibou" not in codes.get(wife.atena_no, set())
    # Adding the spouse makes her a subject (as if she died too) until staff says otherwise.
    spouse = case_person_add(actor=people["staff1"], counter=people["A"], case=case, atena_no=wife.atena_no)
    assert "koseki_shibou" in _codes(case)[wife.atena_no]
    case_person_set_subject(actor=people["staff1"], counter=people["A"], case=case, person=spouse, subject=False)
    assert "koseki_shibou" not in _codes(case).get(wife.atena_no, set())
    with pytest.raises(ValidationError):
        case_person_set_subject(actor=people["staff1"], counter=people["A"], case=case,
                                person=case.persons.get(atena_no=head.atena_no), subject=False)


def test_the_same_case_id_and_atena_no_in_both_cities_stay_apart(people, family, tenant_a, tenant_b, catalogue):
    """B has a case with the same id and a resident with the same 宛名番号 as A: each city's staff see and
    change only their own, and each audit trail names only its own residents."""
    from audit.models import AuditEvent
    from navigation.cases.models import Case, CasePerson, Memo
    from navigation.cases.services import case_open, memo_create
    from tenants.accounts.models import Counter, User

    head = family[0]
    case_a = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no])
    memo_create(actor=people["staff1"], counter=people["A"], atena_no=head.atena_no, body="A市だけのメモ")
    with in_tenant(tenant_b):
        resident_b = make_resident(name="別区 花子", kana="ベック ハナコ", atena_no=head.atena_no,
                                   household_no=head.household_no)
        staff_b = User.objects.get(username="staff1")
        case_b = Case.objects.create(pk=case_a.pk, day=case_a.day, number=case_a.number, event_date=case_a.day,
                                     current_counter=Counter.objects.first(), created_by=staff_b)
        CasePerson.objects.create(case=case_b, atena_no=resident_b.atena_no, name=resident_b.name,
                                  birth_date=resident_b.birth_date, is_visitor=True)
        memo_create(actor=staff_b, counter=None, atena_no=resident_b.atena_no, body="B区だけのメモ")
    client_a, client_b = staff_client(tenant_a, "staff1"), staff_client(tenant_b, "staff1")
    page_b = client_b.get(f"/navi/cases/{case_a.pk}/").content.decode()
    assert "別区 花子" in page_b and "窓口 太郎" not in page_b and "A市だけのメモ" not in page_b
    page_a = client_a.get(f"/navi/cases/{case_a.pk}/").content.decode()
    assert "窓口 太郎" in page_a and "別区 花子" not in page_a and "B区だけのメモ" not in page_a
    person_b = client_b.get(f"/navi/cases/persons/{head.atena_no}/").content.decode()
    assert "別区 花子" in person_b and "窓口 花子" not in person_b and "A市だけのメモ" not in person_b
    person_a = client_a.get(f"/navi/cases/persons/{head.atena_no}/").content.decode()
    assert "窓口 太郎" in person_a and "B区だけのメモ" not in person_a
    with in_tenant(tenant_b):
        assert Memo.objects.get().body == "B区だけのメモ"
        viewed = AuditEvent.objects.filter(target_type="person", target_id=head.atena_no).last()
        assert viewed.residents == [head.atena_no]  # B's household is B's resident alone
    with in_tenant(tenant_a):
        viewed = AuditEvent.objects.filter(target_type="person", target_id=head.atena_no).last()
        assert set(viewed.residents) == {m.atena_no for m in family}
        assert Case.objects.get(pk=case_a.pk).persons.get().name == "窓口 太郎"


def test_a_case_without_event_or_other_purpose_closes_only_with_a_reason(people, family, catalogue):
    from navigation.cases import purposes
    from navigation.cases.services import case_close, case_open

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no])
    with pytest.raises(ValidationError) as refused:
        case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert "完了する理由" in refused.value.message_dict["close_reason"][0]
    case.refresh_from_db()
    assert case.status == "open"
    closed = case_close(actor=people["staff1"], counter=people["A"], case=case, close_reason="相談のみ（国保税の納付）")
    assert closed.status == "closed" and closed.close_reason == "相談のみ（国保税の納付）"
    # Another app's purpose (a certificate request) is enough, without a reason.
    other = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[1].atena_no])
    purposes.register("test", lambda c: ["住民票の写し 1通"] if c.pk == other.pk else [])
    try:
        assert case_close(actor=people["staff1"], counter=people["A"], case=other).status == "closed"
    finally:
        purposes._providers.pop("test")


def test_close_summary_lists_done_not_needed_and_handed_off(people, family, tenant_a, catalogue):
    from navigation.cases.services import case_open, case_procedure_set_status

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    procedures = list(case.procedures.filter(determined=True))
    case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=procedures[0], status="done")
    case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=procedures[1],
                              status="not_needed", reason="本人が後日来庁")
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    html = client.post(f"/navi/cases/{case.pk}/close/", {}).content.decode()
    assert procedures[0].name in html[html.index('id="close-done"'):]
    assert "本人が後日来庁" in html[html.index('id="close-not-needed"'):] and "転居" in html
    bare = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[1].atena_no])
    page = client.post(f"/navi/cases/{bare.pk}/close/", {}).content.decode()
    assert "ライフイベントも証明書の交付請求もありません" in page and 'name="close_reason"' in page
    refused = client.post(f"/navi/cases/{bare.pk}/close/", {"confirm": "1"})
    assert refused.status_code == 400 and "完了する理由" in refused.content.decode()
    done = client.post(f"/navi/cases/{bare.pk}/close/", {"confirm": "1", "close_reason": "相談のみ"})
    assert done.status_code == 302


def test_a_status_change_from_htmx_answers_the_row_with_its_message(people, family, tenant_a, catalogue):
    from navigation.cases.services import case_open

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[family[0].atena_no],
                     events=["tenkyo"])
    proc = case.procedures.filter(determined=True).first()
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    url = f"/navi/cases/{case.pk}/procedures/{proc.pk}/"
    row = client.post(url, {"status": "done", "reason": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert row.lstrip().startswith("<tr") and "<html" not in row and f"「{proc.name}」を「完了」にしました" in row
    proc.refresh_from_db()
    assert proc.status == "done"
    refused = client.post(url, {"status": "not_needed", "reason": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="alert"' in refused and '<option value="not_needed" selected>' in refused
    proc.refresh_from_db()
    assert proc.status == "done"  # nothing changed
    # Another counter's staff cannot change it, from htmx either.
    other = staff_client(tenant_a, "staff2", counter=people["B"])
    denied = other.post(url, {"status": "todo"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="alert"' in denied and "<select" not in denied
    proc.refresh_from_db()
    assert proc.status == "done"


def test_one_action_completes_a_persons_or_a_counters_procedures(people, family, tenant_a, catalogue):
    from navigation.cases.services import case_open, case_procedures_complete

    head, wife, _kid = family
    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no, wife.atena_no],
                     events=["tenkyo"])
    wife_row = case.persons.get(atena_no=wife.atena_no)
    head_row = case.persons.get(atena_no=head.atena_no)
    client = staff_client(tenant_a, "staff1", counter=people["A"])
    html = client.post(f"/navi/cases/{case.pk}/procedures/complete/", {"person": wife_row.pk},
                       HTTP_HX_REQUEST="true").content.decode()
    assert 'id="persons-message"' in html and "件の手続を「完了」にしました" in html
    assert not case.procedures.filter(person=wife_row, determined=True, status__in=["todo", "doing"]).exists()
    assert case.procedures.filter(person=head_row, determined=True, status="todo").exists()  # untouched
    done = case_procedures_complete(actor=people["staff1"], counter=people["A"], case=case, only_this_counter=True)
    assert all(p.counter_id == people["A"].pk for p in done)
    with pytest.raises(PermissionDenied):
        case_procedures_complete(actor=people["staff2"], counter=people["B"], case=case, person_id=head_row.pk)
    with pytest.raises(ValidationError):
        case_procedures_complete(actor=people["staff1"], counter=people["A"], case=case, person_id=10**9)


# ---------------------------------------------------------------------------------------------
# Facts a newcomer carries (issue 16): 在留資格・入国年月日, 支援措置; card holding; legal basis shown
# ---------------------------------------------------------------------------------------------
def test_newcomer_form_carries_residence_status_entry_date_and_support_measure(people, tenant_a, catalogue):
    from navigation.cases.models import Case, CasePerson

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    response = client.post("/navi/cases/new/newcomer/", {
        "name": "Anna Schmidt", "birth_date": "1990-02-03", "relationship": "世帯主", "is_foreign": "on",
        "nationality": "ドイツ", "residence_status": "技術・人文知識・国際業務", "entry_date": "R8.5.20"})
    assert response.status_code == 302
    person = CasePerson.objects.get()
    assert person.residence_status == "技術・人文知識・国際業務" and person.entry_date == date(2026, 5, 20)
    case = Case.objects.get()
    client.post(f"/navi/cases/{case.pk}/events/", {"events": ["tennyu"], "event_date": "2026-06-01"})
    case.refresh_from_db()
    zairyu = case.procedures.get(procedure_code="juki_zairyu_card")
    assert zairyu.reasons == ["Anna Schmidtさんは外国人住民です（在留資格：技術・人文知識・国際業務）。"]
    # a support-measure newcomer: the 申出 procedure, entered at the counter (not only through the API)
    client.post(f"/navi/cases/{case.pk}/persons/newcomer/", {
        "name": "保護 花子", "birth_date": "1992-03-04", "relationship": "同居人", "support_measure": "on"})
    protected = CasePerson.objects.get(name="保護 花子")
    assert protected.support_measure
    assert case.procedures.filter(person=protected, procedure_code="juki_shien_moushide").exists()
    # 在留資格 on a Japanese newcomer, an entry date after the event: refused with the field named
    page = client.post(f"/navi/cases/{case.pk}/persons/newcomer/", {
        "name": "日本 太郎", "birth_date": "1990-01-01", "residence_status": "永住者"}, follow=True).content.decode()
    assert "在留資格・入国年月日は外国人住民のときだけ入力します。" in page
    assert not CasePerson.objects.filter(name="日本 太郎").exists()


def test_newcomer_entry_date_is_checked_by_the_service(people, catalogue):
    from navigation.cases.services import case_newcomer_add, case_open

    case = case_open(actor=people["staff1"], counter=people["A"], event_date=date(2026, 6, 1),
                     newcomers=[{"name": "転入 一子", "birth_date": date(1990, 2, 3)}])
    with pytest.raises(ValidationError) as refused:
        case_newcomer_add(actor=people["staff1"], counter=people["A"], case=case, name="X", birth_date=date(1990, 1, 1),
                          is_foreign=True, residence_status="留学", entry_date=date(2026, 7, 1))
    assert refused.value.message_dict["entry_date"] == ["入国（上陸）年月日が異動日より後になっています。"]
    with pytest.raises(ValidationError):
        case_open(actor=people["staff1"], counter=people["A"], event_date=date(2026, 6, 1),
                  newcomers=[{"name": "Y", "birth_date": date(2000, 1, 1), "is_foreign": True,
                              "entry_date": date(1999, 1, 1)}])


def test_card_read_provider_decides_before_asking_and_the_mirror_before_the_provider(people, family, catalogue):
    from integration.models import Eligibility
    from navigation import cardholding
    from navigation.cases import navi
    from navigation.cases.services import case_open

    head, wife, kid = family
    reads: dict[str, bool] = {wife.atena_no: True}
    cardholding.register_provider("test_reader", lambda *, case, person: reads.get(person.atena_no))
    try:
        case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=[head.atena_no, wife.atena_no],
                         events=["tenkyo"])
        codes = _codes(case)
        assert "juki_card_henkou" in codes[wife.atena_no]  # read at the counter: no question for her
        asked = [(q.code, q.person_key) for q in navi.questions_for_case(case=case, persons=list(case.persons.all()))]
        assert ("card_holding", wife.atena_no) not in asked and ("card_holding", head.atena_no) in asked
        # the mirror's card status (returned card) wins over a read saying otherwise
        Eligibility.objects.create(atena_no=head.atena_no, area="juki", kind="マイナンバーカード",
                                   details={"status": "返納"})
        reads[head.atena_no] = True
        facts, _extras = navi.case_facts(case=case, persons=list(case.persons.all()))
        by_key = {f.key: f for f in facts}
        assert by_key[head.atena_no].card_holding is False and by_key[wife.atena_no].card_holding is True
    finally:
        cardholding.unregister_provider("test_reader")


def test_guidance_shows_the_legal_basis_and_the_rule_source(people, tenant_a, catalogue):
    from navigation.cases.models import Case

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    client.post("/navi/cases/new/newcomer/", {"name": "外国 花子", "birth_date": "2017-07-07", "relationship": "子",
                                             "is_foreign": "on", "residence_status": "家族滞在"})
    case = Case.objects.get()
    client.post(f"/navi/cases/{case.pk}/events/", {"events": ["tennyu"], "event_date": "2026-06-01"})
    proc = case.procedures.get(procedure_code="gak_shugaku_annai")
    assert proc.legal_basis.startswith("学校教育法第17条") and "文部科学省" in proc.rule_source
    html = client.get(f"/navi/cases/{case.pk}/").content.decode()
    assert "根拠法令" in html and "判定の出典" in html and "外国人の子供の就学の促進" in html


def test_divorce_new_recipient_claims_for_the_children_answered_at_the_counter(people, catalogue):
    """手当法第4条・第7条: the mother who keeps the children claims anew, for exactly the children she keeps; the
    children are household members staff did not pick — they are asked, added to the case, and counted in the
    認定請求 record handed back."""
    from integration.models import Eligibility
    from navigation.cases import navi
    from navigation.cases.handback import handback_plan
    from navigation.cases.services import case_answers_update, case_open

    hh = "800000027"
    mother = make_resident(name="離婚 母子", kana="リコン ボコ", birth=date(1985, 5, 5), household_no=hh,
                           relationship="世帯主", sex="2")
    older = make_resident(name="離婚 長男", kana="リコン チョウナン", birth=date(2014, 1, 1), household_no=hh,
                          relationship="子")
    younger = make_resident(name="離婚 次男", kana="リコン ジナン", birth=date(2018, 1, 1), household_no=hh,
                            relationship="子")
    for resident in (mother, older, younger):
        Eligibility.objects.create(atena_no=resident.atena_no, area="kokuho", kind="被保険者")
    staff, counter = people["staff1"], people["A"]
    case = case_open(actor=staff, counter=counter, atena_nos=[mother.atena_no], events=["rikon"],
                     event_date=date(2026, 6, 1))
    case = case_answers_update(actor=staff, counter=counter, case=case, answers={
        f"{mother.atena_no}:surname_change": "いいえ", "case:head_changes": "いいえ",
        f"{mother.atena_no}:jt_new_recipient": "はい"})
    asked = [(q.code, q.person_key) for q in navi.questions_for_case(case=case, persons=list(case.persons.all()))]
    # 児童手当法第17条: a public servant claims from the employer, so that is asked too
    assert asked == [("parent_public_servant", None), ("jt_child_claimed", older.atena_no),
                     ("jt_child_claimed", younger.atena_no)]
    case = case_answers_update(actor=staff, counter=counter, case=case, answers={
        "case:parent_public_servant": "いいえ",
        f"{older.atena_no}:jt_child_claimed": "はい", f"{younger.atena_no}:jt_child_claimed": "はい"})
    codes = _codes(case)
    assert "jt_nintei" in codes[mother.atena_no]
    assert {p.atena_no for p in case.persons.all()} == {mother.atena_no, older.atena_no, younger.atena_no}
    proc = case.procedures.get(procedure_code="jt_nintei")
    assert proc.reasons == ["離婚により、離婚 母子さんが子（離婚 長男、離婚 次男）を養育して児童手当を受けます。"]
    for item in case.procedures.all():
        item.status = "done"
        item.save()
    record = next(r for r in handback_plan(case=case).records if r.kind.code == "jidou_teate_nintei")
    assert record.payload["name"] == "離婚 母子" and record.payload["child_count"] == "2"
    assert record.payload["child_name"] == "離婚 次男"


def test_split_custody_hands_back_one_claim_per_parent_with_only_that_parents_children(people, catalogue):
    """手当法第7条: the one who keeps a child claims for it. Divorced parents who split the children each claim
    for their own — two 認定請求 records, neither listing the other's child (the father is the one the mirror
    records as male; the mother, with no sex recorded, is the head's 妻)."""
    from integration.models import Eligibility
    from navigation.cases import navi
    from navigation.cases.handback import handback_plan
    from navigation.cases.services import case_answers_update, case_open

    hh = "800000031"
    father = make_resident(name="分離 父", kana="ブンリ チチ", birth=date(1985, 5, 5), household_no=hh,
                           relationship="世帯主", sex="1")
    mother = make_resident(name="分離 母", kana="ブンリ ハハ", birth=date(1987, 7, 7), household_no=hh,
                           relationship="妻", sex="")
    son = make_resident(name="分離 長男", kana="ブンリ チョウナン", birth=date(2015, 1, 1), household_no=hh,
                        relationship="子")
    daughter = make_resident(name="分離 長女", kana="ブンリ チョウジョ", birth=date(2017, 1, 1), household_no=hh,
                             relationship="子")
    for resident in (father, mother, son, daughter):
        Eligibility.objects.create(atena_no=resident.atena_no, area="kokuho", kind="被保険者")
    staff, counter = people["staff1"], people["A"]
    case = case_open(actor=staff, counter=counter, atena_nos=[father.atena_no, mother.atena_no], events=["rikon"],
                     event_date=date(2026, 6, 1))
    answers = {"case:head_changes": "いいえ", "case:parent_public_servant": "いいえ"}
    for parent in (father, mother):
        answers |= {f"{parent.atena_no}:surname_change": "いいえ", f"{parent.atena_no}:jt_new_recipient": "はい"}
    case = case_answers_update(actor=staff, counter=counter, case=case, answers=answers)
    for _ in range(4):  # answer whatever the determination still asks, the children's keepers as the parents say
        asked = navi.questions_for_case(case=case, persons=list(case.persons.all()))
        if not asked:
            break
        more = {}
        for question in asked:
            key = f"{question.person_key}:{question.code}" if question.person_key else f"case:{question.code}"
            if question.code == "jt_child_keeper":
                more[key] = "father" if question.person_key == son.atena_no else "mother"
            else:
                more[key] = "いいえ"
        case = case_answers_update(actor=staff, counter=counter, case=case, answers=more)
    codes = _codes(case)
    assert "jt_nintei" in codes[father.atena_no] and "jt_nintei" in codes[mother.atena_no]
    for item in case.procedures.all():
        item.status = "done"
        item.save()
    claims = sorted((r.payload["name"], r.payload["child_count"], r.payload["child_name"])
                    for r in handback_plan(case=case).records if r.kind.code == "jidou_teate_nintei")
    assert claims == [("分離 母", "1", "分離 長女"), ("分離 父", "1", "分離 長男")]


def test_a_changed_answer_rewrites_only_the_changed_rows_in_one_statement(people, catalogue):
    """Removing one procedure renumbers the rows after it: the list stays exactly what a fresh determination gives
    (same procedures, same order, statuses kept) and the renumbering is one UPDATE, not one per row (issue 16)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from navigation.cases.models import CaseProcedure, ProcedureStatus
    from navigation.cases.services import case_answers_update, case_events_set, case_open

    newcomers = [{"name": "転入 一子", "birth_date": date(1980, 2, 3), "relationship": "世帯主"},
                 {"name": "転入 二子", "birth_date": date(1982, 4, 5), "relationship": "妻"},
                 {"name": "転入 三郎", "birth_date": date(2016, 8, 8), "relationship": "子"}]

    def opened(inkan_first: str):  # noqa: ANN202
        case = case_open(actor=people["staff1"], counter=people["A"], event_date=date(2026, 6, 1),
                         newcomers=newcomers)
        case = case_events_set(actor=people["staff1"], counter=people["A"], case=case, events=["tennyu"])
        first, second = (p.key for p in case.persons.order_by("position")[:2])
        return case_answers_update(actor=people["staff1"], counter=people["A"], case=case, answers={
            "case:inkan_wish_any": "はい", f"{first}:inkan_wish": inkan_first, f"{second}:inkan_wish": "はい"})

    def rows(case):  # noqa: ANN001, ANN202
        return [(p.person.position if p.person else None, p.procedure_code, p.sort_order)
                for p in case.procedures.select_related("person").order_by("sort_order")]

    case = opened("はい")
    first = case.persons.order_by("position").first()
    assert case.procedures.filter(person=first, procedure_code="inkan_touroku").exists()
    kept = case.procedures.exclude(person=first, procedure_code="inkan_touroku").order_by("sort_order").last()
    kept.status = ProcedureStatus.DOING
    kept.save(update_fields=["status"])
    with CaptureQueriesContext(connection) as captured:
        case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case,
                                   answers={f"{first.key}:inkan_wish": "いいえ"})
    assert rows(case) == rows(opened("いいえ"))
    assert CaseProcedure.objects.get(pk=kept.pk).status == ProcedureStatus.DOING
    updates = [q["sql"] for q in captured.captured_queries
               if q["sql"].startswith('UPDATE "navigation_cases_caseprocedure"')]
    assert len(updates) == 1, updates
