"""Hand-back of closed cases to the core systems (R3.2): navigation.cases.handback → integration.exports."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.conftest import CITY_A, CITY_B, in_tenant
from tests.test_search import make_resident, make_support_measure

HH = "800000027"
PULL = "/api/v1/integration/exports/juki_idou/"
EVENT = date(2026, 4, 1)


@pytest.fixture
def catalogue(in_a):
    from navigation.services import catalogue_install_default

    return catalogue_install_default().published


@pytest.fixture
def people(in_a):
    from tenants.accounts.models import Counter, User

    return {
        "staff1": User.objects.get(username="staff1"),
        "admin": User.objects.get(username="admin"),
        "A": Counter.objects.get(name="総合窓口 1番"),
    }


def _answer_all(case, people, values: dict[str, str] | None = None):
    """Answer every open interview question (yes/no default いいえ, choices their first value)."""
    from navigation.cases import navi
    from navigation.cases.services import case_answers_update

    values = values or {}
    for _round in range(10):
        questions = navi.questions_for_case(case=case, persons=list(case.persons.all()))
        if not questions:
            return case
        answers = {q.key: values.get(q.code, q.choices[0][0] if q.kind == "choice" else "いいえ") for q in questions}
        case = case_answers_update(actor=people["staff1"], counter=people["A"], case=case, answers=answers)
    raise AssertionError("interview does not end")


def _complete_and_close(case, people):
    from navigation.cases.services import case_close, case_procedure_set_status

    for procedure in case.procedures.all():
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=procedure, status="done")
    return case_close(actor=people["staff1"], counter=people["A"], case=case)


def _open(people, *, atena_nos=None, newcomers=None, events, answers=None):
    from navigation.cases.services import case_open

    case = case_open(actor=people["staff1"], counter=people["A"], atena_nos=atena_nos, newcomers=newcomers,
                     event_date=EVENT, events=events)
    return _answer_all(case, people, answers)


def _records(kind=None):
    from integration.exports.models import ExportRecord

    qs = ExportRecord.objects.filter(source="navigation.case").order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


FAMILY = [
    {"name": "転入 一郎", "name_kana": "テンニュウ イチロウ", "birth_date": date(1985, 4, 2), "sex": "1",
     "relationship": "世帯主"},
    {"name": "転入 花子", "name_kana": "テンニュウ ハナコ", "birth_date": date(1987, 7, 7), "sex": "2",
     "relationship": "妻"},
    {"name": "転入 次郎", "name_kana": "テンニュウ ジロウ", "birth_date": date(2018, 1, 15), "sex": "1",
     "relationship": "子"},
]


# ---------------------------------------------------------------------------------------------
# 転入: one juki_idou record per person
# ---------------------------------------------------------------------------------------------
def test_tennyu_family_yields_one_juki_idou_record_per_person(people, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.handback import source_id_for

    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    case = _complete_and_close(case, people)
    records = _records("juki_idou")
    assert len(records) == 3
    assert {r.source_id for r in records} == {source_id_for(case)} == {f"{case.day:%Y%m%d}-{case.number:03d}"}
    assert {r.area for r in records} == {"juki"}
    by_name = {r.payload["name"]: r.payload for r in records}
    head = by_name["転入 一郎"]
    assert head == {
        "idou_jiyu": "tennyu", "idou_date": "2026-04-01", "todokede_date": timezone.localdate().isoformat(),
        "name": "転入 一郎", "name_kana": "テンニュウ イチロウ", "birth_date": "1985-04-02", "sex": "1",
        "relationship": "世帯主", "is_head": "1", "head_name": "転入 一郎",
        "notifier_name": "転入 一郎", "notifier_relation": "本人",
    }
    child = by_name["転入 次郎"]
    assert child["relationship"] == "子" and child["is_head"] == "0" and child["head_name"] == "転入 一郎"
    assert child["notifier_relation"] == "世帯主" and child["birth_date"] == "2018-01-15"
    # What the case cannot know is left empty, not invented: 宛名番号/世帯番号 of newcomers, addresses.
    for payload in by_name.values():
        assert not {"atena_no", "household_no", "new_address", "old_address"} & set(payload)
    # The case keeps what was handed back; the audit trail has the hand-back and each record.
    case.refresh_from_db()
    assert case.status == "closed" and len(case.handback["records"]) == len(_records())
    event = AuditEvent.objects.get(action="update", target_type="case", target_id=str(case.pk),
                                   details__change="handback")
    assert {r["kind"] for r in event.details["records"]} >= {"juki_idou", "kokuho_shikaku", "jidou_teate_nintei"}
    assert AuditEvent.objects.filter(action="create", target_type="export_record").count() == len(_records())
    close = AuditEvent.objects.get(action="close", target_type="case", target_id=str(case.pk))
    assert close.details["handback_records"] == len(_records())


def test_kokuho_kanyu_yields_kokuho_shikaku_and_jidou_teate_one_claimant(people, catalogue):
    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    _complete_and_close(case, people)
    kokuho = _records("kokuho_shikaku")
    assert len(kokuho) == 3
    assert {r.area for r in kokuho} == {"kokuho"}
    first = kokuho[0].payload
    assert first["idou_kubun"] == "shutoku" and first["idou_jiyu"] == "tennyu"
    assert first["idou_date"] == "2026-04-01" and first["head_name"] == "転入 一郎"
    assert "hokensha_name" not in first  # 前保険者 is not asked at the counter
    (jt,) = _records("jidou_teate_nintei")
    assert jt.area == "jidou_teate"
    assert jt.payload["name"] == "転入 一郎" and jt.payload["jiyu"] == "tennyu"
    assert jt.payload["child_count"] == "1" and jt.payload["child_name"] == "転入 次郎"
    assert jt.payload["child_birth_date"] == "2018-01-15"


# ---------------------------------------------------------------------------------------------
# 転出 with a registered seal, 転居 with a support measure
# ---------------------------------------------------------------------------------------------
def test_tenshutsu_with_registered_seal_yields_inkan_haishi(people, catalogue):
    from integration.models import Eligibility

    head = make_resident(name="転出 太郎", kana="テンシュツ タロウ", birth=date(1970, 3, 3), household_no=HH)
    Eligibility.objects.create(atena_no=head.atena_no, area="inkan", kind="印鑑登録", number="IN-004711")
    case = _open(people, atena_nos=[head.atena_no], events=["tenshutsu"])
    _complete_and_close(case, people)
    (inkan,) = _records("inkan_haishi")
    assert inkan.area == "inkan"
    assert inkan.payload == {
        "haishi_jiyu": "tenshutsu", "haishi_date": "2026-04-01", "todokede_date": timezone.localdate().isoformat(),
        "touroku_no": "IN-004711", "atena_no": head.atena_no, "household_no": HH, "name": "転出 太郎",
        "name_kana": "テンシュツ タロウ", "birth_date": "1970-03-03", "sex": "1",
    }
    (juki,) = _records("juki_idou")
    assert juki.payload["idou_jiyu"] == "tenshutsu" and juki.payload["atena_no"] == head.atena_no
    assert "new_address" not in juki.payload  # 転出先 is not asked in the interview


def test_tenkyo_hands_back_the_true_old_address_of_a_restricted_person(people, catalogue):
    from audit.models import AuditEvent

    person = make_resident(name="支援 措置子", birth=date(1990, 1, 1), household_no=HH,
                           address="鹿児島市秘密町1-2-3")
    make_support_measure(person.atena_no)
    case = _open(people, atena_nos=[person.atena_no], events=["tenkyo"])
    _complete_and_close(case, people)
    (juki,) = _records("juki_idou")
    assert juki.payload["idou_jiyu"] == "tenkyo" and juki.payload["old_address"] == "鹿児島市秘密町1-2-3"
    view = AuditEvent.objects.get(action="view", target_type="case", target_id=str(case.pk),
                                  details__purpose="handback")
    assert view.details["restricted_address"] == [person.atena_no]
    assert view.residents == [person.atena_no]  # the restricted read names the resident (one query finds it)
    assert juki.protected


def test_hand_back_of_a_protected_households_member_is_protected_and_masked_for_staff(people, catalogue,
                                                                                       settings, tmp_path):
    """The member is not under a measure himself, but the address is the household's: his record is
    protected, the read is logged with him named, a 窓口職員's download masks it and the outbox does not."""
    from audit.models import AuditEvent
    from audit.selectors import events_for_resident
    from integration.exports.services import export_download, outbox_export

    settings.LINKAGE_ROOT = tmp_path
    protected = make_resident(name="支援 措置子", birth=date(1990, 1, 1), household_no=HH,
                              address="鹿児島市秘密町1-2-3")
    member = make_resident(name="支援 同居人", birth=date(1960, 1, 1), household_no=HH, relationship="父",
                           address="鹿児島市秘密町1-2-3")
    make_support_measure(protected.atena_no, start=EVENT, end=EVENT)  # the event date is the measure's only day
    case = _open(people, atena_nos=[member.atena_no], events=["tenkyo"])
    _complete_and_close(case, people)
    (juki,) = _records("juki_idou")
    assert juki.protected and juki.payload["old_address"] == "鹿児島市秘密町1-2-3"
    read = AuditEvent.objects.get(action="view", target_type="case", target_id=str(case.pk),
                                  details__purpose="handback")
    assert read.residents == [member.atena_no]
    assert read.pk in {e.pk for e in events_for_resident(atena_no=member.atena_no)}
    staff_file = export_download(actor=people["staff1"], municipality=case_tenant(), kind_code="juki_idou")
    assert "秘密町" not in staff_file.content.decode("utf-8") and staff_file.filename.endswith("_masked.csv")
    from integration.exports.models import ExportWatermark

    ExportWatermark.objects.filter(kind="juki_idou").update(last_record_id=0)
    batch = outbox_export(municipality=case_tenant(), kind_code="juki_idou")
    written = (tmp_path / case_tenant().schema_name / "outbox" / batch.filename).read_text("utf-8")
    assert "鹿児島市秘密町1-2-3" in written


def case_tenant():
    from django.db import connection

    return connection.tenant


# ---------------------------------------------------------------------------------------------
# Plan, failure, retry
# ---------------------------------------------------------------------------------------------
def test_kind_outside_the_plan_is_skipped_and_recorded(people, catalogue, tenant_a):
    from audit.models import AuditEvent

    case = _open(people, newcomers=FAMILY[:1], events=["tennyu"])
    assert case.procedures.filter(procedure_code="kokuho_kanyu").exists()
    # The plan changes while the case is open: 国保 is no longer contracted.
    tenant_a.areas = [a for a in tenant_a.areas if a != "kokuho"]
    tenant_a.save(update_fields=["areas"])
    case = _complete_and_close(case, people)
    assert _records("kokuho_shikaku") == []
    assert len(_records("juki_idou")) == 1
    case.refresh_from_db()
    assert {(s["procedure"], s["kind"], s["reason"]) for s in case.handback["skipped"]} == {
        ("kokuho_kanyu", "kokuho_shikaku", "not_in_plan")}
    event = AuditEvent.objects.get(action="update", target_type="case", target_id=str(case.pk),
                                   details__change="handback")
    assert event.details["skipped"][0]["reason"] == "not_in_plan"


def test_municipality_without_kokuho_gets_no_kokuho_records(people, catalogue, tenant_a):
    tenant_a.areas = [a for a in tenant_a.areas if a != "kokuho"]
    tenant_a.save(update_fields=["areas"])
    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    _complete_and_close(case, people)
    assert _records("kokuho_shikaku") == [] and len(_records("juki_idou")) == 3


def test_failing_payload_keeps_the_case_open_and_writes_nothing(people, catalogue):
    from audit.models import AuditEvent
    from navigation.cases.models import CasePerson
    from navigation.cases.services import case_close

    newcomer = {**FAMILY[0], "relationship": "世帯主の配偶者の父母の兄弟姉妹の子の配偶者"}  # 21 characters > 20
    case = _open(people, newcomers=[newcomer], events=["tennyu"])
    with pytest.raises(ValidationError) as caught:
        _complete_and_close(case, people)
    text = " ".join(caught.value.messages)
    assert "転入 一郎" in text and "続柄" in text and "住民異動届" in text
    case.refresh_from_db()
    assert case.status == "open" and case.handback == {}
    assert _records() == []
    assert not AuditEvent.objects.filter(target_type="export_record").exists()
    assert not AuditEvent.objects.filter(action="close", target_id=str(case.pk)).exists()
    # Staff correct the person; closing again hands back once, and a further close changes nothing.
    CasePerson.objects.filter(case=case).update(relationship="世帯主")
    case_close(actor=people["staff1"], counter=people["A"], case=case)
    count = len(_records())
    assert len(_records("juki_idou")) == 1 and count >= 2
    with pytest.raises(ValidationError):
        case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert len(_records()) == count


def test_hand_back_is_never_repeated_for_the_same_case(people, catalogue):
    from navigation.cases.handback import case_handback

    case = _open(people, newcomers=FAMILY[:1], events=["tennyu"])
    case = _complete_and_close(case, people)
    count = len(_records())
    summary = case_handback(actor=people["staff1"], case=case)
    assert len(_records()) == count and len(summary["records"]) == count


def test_not_completed_procedures_are_not_handed_back(people, catalogue):
    from navigation.cases.services import case_close, case_procedure_set_status

    case = _open(people, newcomers=FAMILY[:1], events=["tennyu"])
    for procedure in case.procedures.all():
        status = "done" if procedure.procedure_code == "juki_tennyu" else "not_needed"
        case_procedure_set_status(actor=people["staff1"], counter=people["A"], procedure=procedure, status=status,
                                  reason="" if status == "done" else "本人が別途手続")
    case_close(actor=people["staff1"], counter=people["A"], case=case)
    assert [r.kind for r in _records()] == ["juki_idou"]


# ---------------------------------------------------------------------------------------------
# Tenancy and the PULL API
# ---------------------------------------------------------------------------------------------
def test_city_b_sees_none_of_as_records(people, catalogue, tenant_b):
    from integration.exports.models import ExportRecord
    from tenants.accounts.models import User
    from tenants.accounts.services import api_client_create

    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    _complete_and_close(case, people)
    assert len(_records()) > 0
    with in_tenant(tenant_b):
        assert not ExportRecord.objects.exists()
        issued = api_client_create(actor=User.objects.get(username="admin"), name="B区基幹", scopes=["linkage:read"])
    body = Client(HTTP_HOST=CITY_B.host, HTTP_AUTHORIZATION=f"Bearer {issued.token}").get(PULL).json()
    assert body["records"] == []


def test_pull_api_returns_the_records_of_a_closed_case(people, catalogue):
    from navigation.cases.handback import source_id_for
    from tenants.accounts.services import api_client_create

    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    case = _complete_and_close(case, people)
    issued = api_client_create(actor=people["admin"], name="住民記録システム", scopes=["linkage:read"])
    response = Client(HTTP_HOST=CITY_A.host, HTTP_AUTHORIZATION=f"Bearer {issued.token}").get(PULL, {"after": 0})
    assert response.status_code == 200
    records = response.json()["records"]
    assert len(records) == 3
    assert {r["source"] for r in records} == {"navigation.case"}
    assert {r["source_id"] for r in records} == {source_id_for(case)}
    assert sorted(r["payload"]["name"] for r in records) == sorted(p["name"] for p in FAMILY)


def test_case_screen_shows_what_was_handed_back(people, catalogue, tenant_a):
    from tests.conftest import staff_client

    case = _open(people, newcomers=FAMILY, events=["tennyu"])
    case = _complete_and_close(case, people)
    page = staff_client(tenant_a, "staff1").get(f"/navi/cases/{case.pk}/").content.decode()
    assert "基幹系への連携" in page and "住民異動届 3件" in page and "国保資格取得・喪失届 3件" in page


# ---------------------------------------------------------------------------------------------
# The mapping is catalogue data
# ---------------------------------------------------------------------------------------------
def test_upgrade_from_a_catalogue_without_mappings_adds_them(in_a):
    from navigation.models import Procedure
    from navigation.services import catalogue_install_default, default_catalogue

    old = default_catalogue()
    for item in old["procedures"]:
        item.pop("export", None)
    catalogue_install_default(data=old)
    assert not Procedure.objects.get(code="juki_tennyu").export
    report = catalogue_install_default()
    assert "procedures:juki_tennyu" in report.updated and "procedures:inkan_haishi" in report.updated
    assert not report.kept_modified
    snapshot = {p["code"]: p for p in report.published.snapshot["procedures"]}
    assert snapshot["juki_tennyu"]["export"] == {"kind": "juki_idou", "items": {"idou_jiyu": "tennyu"}}
    assert "export" not in snapshot["koseki_shussei"]


def test_admin_edits_the_mapping_and_bad_mappings_are_refused(in_a):
    from navigation import selectors
    from navigation.models import Procedure
    from navigation.services import catalogue_install_default, catalogue_item_save
    from tenants.accounts.models import User

    catalogue_install_default()
    admin = User.objects.get(username="admin")
    procedure = Procedure.objects.get(code="juki_tennyu")
    bad = copy.deepcopy(selectors.procedure_dict(procedure))
    bad["export"] = {"kind": "juki_idou", "items": {"idou_jiyu": "moving", "new_address": "@answer.unknown"}}
    with pytest.raises(ValidationError) as caught:
        catalogue_item_save(actor=admin, section="procedures", instance=procedure, data=bad)
    problems = " ".join(caught.value.message_dict["export"])
    assert "moving" in problems and "unknown" in problems
    good = {**selectors.procedure_dict(procedure), "export": {}}
    catalogue_item_save(actor=admin, section="procedures", instance=procedure, data=good)
    procedure.refresh_from_db()
    assert procedure.export == {} and "export" not in selectors.procedure_dict(procedure)
