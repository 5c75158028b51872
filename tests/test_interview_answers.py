"""Interview answers typed by staff (issue 12 item 1) and what each answer decides (issue 17 item 4).

Text and address questions: an address is the 町字 picked from the municipality's 町字 master (forms_builder's
AddressArea, read through its selectors) plus 番地 and 方書 typed by hand. A question whose code is one of the
forms' case inputs (``new_address`` …) is that input: the answer is stored once (``CaseEntry``) and every form
prints it; a value typed on the forms page is the interview's answer too.
"""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from navigation import determination as engine
from navigation.facts import known_variable, person_facts_new
from tests.conftest import in_tenant

NEWCOMER = {"name": "転入 一子", "birth_date": date(1990, 2, 3), "relationship": "世帯主"}
ADDRESS = "case:new_address"


@pytest.fixture
def setup(in_a):
    from forms_builder.models import AddressArea
    from forms_builder.services import templates_install_defaults
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter, User

    catalogue_install_default()
    templates_install_defaults()
    AddressArea.objects.create(code="4620100001", name="山下町", kana="ヤマシタチョウ", postcode="8920816")
    return {"staff": User.objects.get(username="staff1"), "counter": Counter.objects.get(name="総合窓口 1番")}


def _case(setup, events=("tennyu",)):  # noqa: ANN001, ANN202
    from navigation.cases.services import case_open

    return case_open(actor=setup["staff"], counter=setup["counter"], newcomers=[NEWCOMER], events=list(events),
                     event_date=date(2026, 6, 1))


def _answer(setup, case, answers):  # noqa: ANN001, ANN202
    from navigation.cases.services import case_answers_update

    return case_answers_update(actor=setup["staff"], counter=setup["counter"], case=case, answers=answers)


# ---------------------------------------------------------------------------------------------
# The engine's vocabulary
# ---------------------------------------------------------------------------------------------
def _question(kind: str) -> engine.QuestionInfo:
    return engine.QuestionInfo(code="q", text="新しい住所", help="", kind=kind, scope="case", choices=(), order=0)


def test_text_answers_are_one_line_of_at_most_200_characters():
    address = "東京都千代田区霞が関1丁目1番1号"
    assert engine.answer_normalize(_question("text"), f"  {address} ") == address
    for bad in ("", "   ", "一行目\n二行目", "あ" * 201, {"town": "x"}, True):
        with pytest.raises(ValueError, match="新しい住所"):
            engine.answer_normalize(_question("text"), bad)
    assert engine.answer_normalize(_question("text"), "あ" * 200) == "あ" * 200


def test_address_answers_need_the_town_and_the_banchi():
    value = {"code": "4620100001", "town": "山下町", "banchi": "11番1号", "katagaki": "", "postcode": "892-0816"}
    assert engine.answer_normalize(_question("address"), value) == {
        "code": "4620100001", "town": "山下町", "banchi": "11番1号", "katagaki": "", "postcode": "8920816",
        "prefix": ""}
    for bad, part in (({"code": "", "town": "", "banchi": "1"}, "町字"), ({"code": "1", "town": "山下町"}, "番地"),
                      ({**value, "postcode": "89208"}, "郵便番号"), ({**value, "floor": "3"}, "未知の項目"),
                      ("山下町11番1号", "町字を一覧から")):
        with pytest.raises(ValueError, match=part):
            engine.answer_normalize(_question("address"), bad)


def test_rules_may_read_an_address_by_its_town_code_and_the_catalogue_knows_what_each_answer_decides():
    """A rule on ``answer.new_address.code`` (e.g. a school district by 町字) is valid and asks the question when
    it is unanswered; the compiled catalogue lists, per question, the procedures its answer decides."""
    from navigation.services import default_catalogue

    assert known_variable("answer.new_address.code", events=set(), questions={"new_address"})
    assert known_variable("answer.new_address", events=set(), questions={"new_address"})
    assert not known_variable("answer.new_address.floor", events=set(), questions={"new_address"})
    data = copy.deepcopy(default_catalogue())
    rule = next(r for r in data["rules"] if r["procedure"] == "gak_tennyu")
    rule["condition"] = {"and": [rule["condition"], {"==": [{"var": "answer.new_address.code"}, "4620100001"]}]}
    assert engine.catalogue_validate(data) == []
    compiled = engine.compile_catalogue(data)
    assert "gak_tennyu" in compiled.question_procedures["new_address"]
    assert "kokuho_kanyu" in compiled.question_procedures["any_employee_insurance"]
    assert "new_address" not in engine.compile_catalogue(default_catalogue()).question_procedures
    pupil = [person_facts_new(key="p", name="児童", birth_date=date(2016, 9, 1), relationship="子")]
    unanswered = engine.determine(version=compiled, events=["tennyu"], on=date(2026, 6, 1), areas=["gakureibo"],
                                  persons=pupil, answers={})
    assert "new_address" in [q.code for q in unanswered.questions]
    assert "gak_tennyu" not in [i.procedure.code for i in unanswered.items if i.status == "required"]
    for code, required in (("4620100001", True), ("4620100002", False)):
        answered = engine.determine(
            version=compiled, events=["tennyu"], on=date(2026, 6, 1), areas=["gakureibo"], persons=pupil,
            answers={"case": {"new_address": {"code": code, "town": "山下町", "banchi": "1"}}})
        assert "new_address" not in [q.code for q in answered.questions]
        assert ("gak_tennyu" in [i.procedure.code for i in answered.items if i.status == "required"]) is required


# ---------------------------------------------------------------------------------------------
# The interview: asked when a form needs it, stored once, the forms print it
# ---------------------------------------------------------------------------------------------
def test_an_address_answered_in_the_interview_is_the_forms_input(setup):
    from forms_builder.models import CaseEntry
    from forms_builder.selectors import case_plans, needed_inputs
    from navigation.cases import navi

    case = _case(setup)
    persons = list(case.persons.all())
    asked = {q.key: q for q in navi.interview_questions(case=case, persons=persons)}
    assert asked[ADDRESS].kind == "address" and asked[ADDRESS].for_forms and asked[ADDRESS].current is None
    assert "case:previous_address" in asked and "case:destination_address" not in asked  # 転出 only
    assert ADDRESS not in {q.key for q in navi.questions_for_case(case=case, persons=persons)}  # never blocks closing
    _answer(setup, case, {ADDRESS: "4620100001", f"{ADDRESS}|banchi": "11番1号", f"{ADDRESS}|katagaki": "みなみ荘 203",
                          "case:previous_address": "東京都千代田区霞が関1丁目1番1号"})
    entry = CaseEntry.objects.get(case=case, key="new_address", person_key="")
    assert entry.value == {"code": "4620100001", "town": "山下町", "banchi": "11番1号", "katagaki": "みなみ荘 203",
                           "postcode": "8920816", "prefix": entry.value["prefix"]}
    case.refresh_from_db()
    assert "new_address" not in (case.answers.get("case") or {})  # one value: the forms' input
    asked = {q.key: q for q in navi.interview_questions(case=case, persons=persons)}
    assert asked[ADDRESS].current["banchi"] == "11番1号"
    rows = {key: value for key, _label, value in navi.answer_rows(case=case, persons=persons)}
    assert rows[ADDRESS] == "〒892-0816 山下町11番1号 みなみ荘 203"
    assert {(item.key, getattr(p, "key", None)) for item, p in needed_inputs(case=case)} >= {("new_address", None)}
    plans = {plan.template_code: plan for plan in case_plans(actor=setup["staff"], case=case, counter=setup["counter"])}
    idou = plans["juki_idou"]  # 住民異動届
    printed = " ".join(r.value for r in idou.results)
    assert "山下町" in printed and "11番1号" in printed and "東京都千代田区霞が関1丁目1番1号" in printed
    assert not [r.key for r in idou.blanks if "address" in r.binding]


def test_a_value_typed_on_the_forms_page_is_the_interviews_answer(setup):
    from forms_builder.services import case_entries_save
    from navigation.cases import navi

    case = _case(setup)
    case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case,
                      values={("new_address", ""): {"code": "4620100001", "banchi": "3-2-1"}})
    asked = {q.key: q for q in navi.interview_questions(case=case, persons=list(case.persons.all()))}
    assert asked[ADDRESS].current["banchi"] == "3-2-1"


def test_a_town_outside_the_master_or_a_missing_banchi_is_refused_and_nothing_changes(setup):
    from forms_builder.models import CaseEntry

    case = _case(setup)
    before = case.answers
    with pytest.raises(ValidationError, match="町字コード 9999999 は町字の一覧にありません"):
        _answer(setup, case, {ADDRESS: "9999999", f"{ADDRESS}|banchi": "1", "case:any_employee_insurance": "no"})
    with pytest.raises(ValidationError, match="新しい住所.*番地を入力してください"):
        _answer(setup, case, {ADDRESS: "4620100001", "case:any_employee_insurance": "no"})
    case.refresh_from_db()
    assert case.answers == before and not CaseEntry.objects.filter(case=case).exists()


def test_each_question_shows_the_procedures_its_answer_decides(setup):
    from navigation.cases import navi

    case = _case(setup)
    asked = {q.code: q for q in navi.interview_questions(case=case, persons=list(case.persons.all()))}
    assert "国民健康保険の加入" in "、".join(asked["any_employee_insurance"].decides)
    assert asked["new_address"].decides == ()


def test_b_sees_none_of_as_answers_for_the_same_case_id(setup, tenant_a, tenant_b):  # noqa: ANN001
    """B has a case with the same id as A's: A's address answer (a CaseEntry) is neither B's answer nor on B's
    case page, and B's own answer does not touch A's."""
    from forms_builder.models import AddressArea, CaseEntry
    from navigation.cases import navi
    from navigation.cases.models import Case, CasePerson
    from navigation.services import catalogue_install_default
    from tests.conftest import staff_client

    case = _case(setup)
    _answer(setup, case, {ADDRESS: "4620100001", f"{ADDRESS}|banchi": "11番1号"})
    with in_tenant(tenant_b):
        from tenants.accounts.models import Counter, User

        catalogue_install_default()
        AddressArea.objects.create(code="4620100001", name="B町", kana="ビーチョウ", postcode="0000000")
        case_b = Case.objects.create(pk=case.pk, day=case.day, number=case.number, event_date=case.day,
                                     events=["tennyu"], current_counter=Counter.objects.first(),
                                     created_by=User.objects.get(username="staff1"))
        CasePerson.objects.create(case=case_b, name="別区 花子", birth_date=date(1990, 1, 1), is_visitor=True,
                                  is_newcomer=True)
        assert not CaseEntry.objects.filter(case_id=case.pk).exists()
        rows = navi.answer_rows(case=case_b, persons=list(case_b.persons.all()))
        assert "case:new_address" not in {key for key, _label, _value in rows}
        CaseEntry.objects.create(case=case_b, key="new_address", value={"code": "4620100001", "town": "B町",
                                                                         "banchi": "9-9"})
    page_a = staff_client(tenant_a, "staff1").get(f"/navi/cases/{case.pk}/").content.decode()
    assert "山下町11番1号" in page_a and "B町" not in page_a
    assert CaseEntry.objects.get(case=case, key="new_address").value["banchi"] == "11番1号"


# ---------------------------------------------------------------------------------------------
# The admin's question editor and rule vocabulary
# ---------------------------------------------------------------------------------------------
def test_admin_adds_an_address_question_and_a_rule_reads_its_town_code(tenant_a):  # noqa: ANN001
    import json

    from navigation.models import Question, Rule
    from navigation.selectors import rule_vocabulary
    from navigation.services import catalogue_install_default
    from tests.conftest import staff_client

    with in_tenant(tenant_a):
        catalogue_install_default()
    admin = staff_client(tenant_a, "admin")
    form = {"code": "school_address", "text": "通学先の住所", "help": "", "kind": "address", "scope": "case",
            "choices": "", "order": 95}
    page = admin.get("/navi/admin/questions/new/").content.decode()
    assert "住所（町字の一覧から選び、番地・方書を入力）" in page and "文字（1行）" in page
    refused = admin.post("/navi/admin/questions/new/", {**form, "choices": "a:A"})
    assert refused.status_code == 400 and "選択肢は回答の種類が「選択」のときだけ指定します" in refused.content.decode()
    assert admin.post("/navi/admin/questions/new/", form).status_code == 302
    with in_tenant(tenant_a):
        assert Question.objects.get(code="school_address").kind == "address"
        codes = {v["code"] for group in rule_vocabulary()["groups"] for v in group["vars"]}
        assert {"answer.school_address", "answer.school_address.code", "answer.school_address.town"} <= codes
        rule = Rule.objects.get(code="kaigo_shutoku.age65")
    rule_form = {"code": rule.code, "procedure": "kaigo_shutoku", "scope": "person", "order": 1,
                 "reason": "{person.name}さんは65歳以上です。",
                 "condition": json.dumps({"==": [{"var": "answer.school_address.code"}, "4620100001"]})}
    assert admin.post(f"/navi/admin/rules/{rule.pk}/", rule_form).status_code == 302
    bad = admin.post(f"/navi/admin/rules/{rule.pk}/", {**rule_form, "condition": json.dumps(
        {"==": [{"var": "answer.school_address.floor"}, "3"]})})
    assert bad.status_code == 400 and "answer.school_address.floor" in bad.content.decode()
