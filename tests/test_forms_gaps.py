"""Issue 12 review: what each default form must show in the counter's everyday cases beyond the family of five.

Every test runs the real interview and the real ``document_issue`` (or preview), and checks what the form must
print — who appears in which block, which rows a table has, nothing left for the resident to write — from what
the procedure is (the law's and the counter's view), not from what the code happens to print.
"""

# ruff: noqa: F811  (the ``setup`` fixture is imported from the family test and used as an argument)
from __future__ import annotations

import io
from datetime import date, timedelta

import pdfplumber
import pytest

import tests.test_forms_family as fam
from tests.test_forms_family import STAFF_INPUTS, interview, setup  # noqa: F401  (fixture)

MM = 72 / 25.4
POSTCODE = "8920816"


def resident(name, kana, birth, hh, *, relationship="世帯主", sex="1", address="テストA市山下町2番2号"):
    from tests.test_search import make_resident

    person = make_resident(name=name, kana=kana, birth=birth, household_no=hh, relationship=relationship, sex=sex,
                           address=address)
    person.postcode = POSTCODE
    person.save(update_fields=["postcode"])
    return person


def elig(atena_no, area, number="12345678"):
    from integration.models import Eligibility

    Eligibility.objects.create(atena_no=atena_no, area=area, kind=area, number=number, start_date=date(2000, 1, 1))


def plans_of(setup, case):
    from forms_builder import selectors

    return {(p.template_code, p.person_name): p for p in
            selectors.case_plans(actor=setup["staff"], case=case, counter=setup["counter"])}


def values(plan, label, *, rows=False):
    found = [r for r in plan.results if r.label == label]
    return [r.value for r in sorted(found, key=lambda r: (r.row or 0))] if rows else found[0].value


def save(setup, case, inputs):
    from forms_builder import services

    services.case_entries_save(actor=setup["staff"], counter=setup["counter"], case=case, values=inputs)


def no_blanks_no_problems(plans):
    blanks = [(p.template_code, r.label, r.reason) for p in plans.values() for r in p.resident_blanks]
    assert blanks == []
    assert [p.problems for p in plans.values() if p.problems] == []


def chars_in(page, box, *, pad=0.6):
    x, y, w, h = box
    return [c for c in page.chars if (x - pad) * MM <= c["x0"] and c["x1"] <= (x + w + pad) * MM
            and (y - pad) * MM <= c["top"] and c["bottom"] <= (y + h + pad) * MM]


def text_of(chars):
    return "".join(c["text"] for c in chars).replace(" ", "")


DEATH_INPUTS = {("phone", ""): "099-000-1234", ("bank_account", ""): "みなみ銀行 本店 普通 1234567",
                ("funeral_date", ""): (date.today() - timedelta(days=1)).isoformat()}


def open_death(setup, monkeypatch, deceased, others):
    from navigation.cases.services import case_open

    monkeypatch.setattr(fam, "ANSWERS", {"funeral_held": "yes"})
    case = case_open(actor=setup["staff"], counter=setup["counter"],
                     atena_nos=[p.atena_no for p in others + [deceased]], events=["shibou"],
                     event_date=date.today() - timedelta(days=3))
    case.persons.exclude(atena_no=deceased.atena_no).update(is_subject=False)
    case.persons.filter(atena_no=others[0].atena_no).update(is_visitor=True)
    case.persons.exclude(atena_no=others[0].atena_no).update(is_visitor=False)
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    return case


def choose_new_head(setup, case, person):
    """Answer the interview's 「new_head」 for ``person`` (yes) and everyone else it asks (no), then the rest."""
    from navigation.cases import navi
    from navigation.cases.services import case_answers_update

    asked = [q for q in navi.questions_for_case(case=case, persons=list(case.persons.all())) if q.code == "new_head"]
    mine = next(p.key for p in case.persons.all() if p.atena_no == person.atena_no)
    case_answers_update(actor=setup["staff"], counter=setup["counter"], case=case, answers={
        q.key: "yes" if q.person_key == mine else "no" for q in asked} or {f"{mine}:new_head": "yes"})
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()


# ---------------------------------------------------------------------------------------------
# 1, 2: the recipient of 児童手当 and the 世帯主 on the death of the head
# ---------------------------------------------------------------------------------------------
def test_recipient_dies_the_forms_print_him_as_recipient_and_head_and_his_child_as_the_only_child(setup, monkeypatch):
    hh = "800000035"
    wife = resident("遺族 妻", "イゾク ツマ", date(1987, 1, 1), hh, relationship="妻", sex="2")
    husband = resident("遺族 夫", "イゾク オット", date(1985, 1, 1), hh)
    child = resident("遺族 子", "イゾク コ", date(2015, 1, 1), hh, relationship="子")
    for person, number in ((husband, "01-000111"), (wife, "01-000111"), (child, "01-000111")):
        elig(person.atena_no, "kokuho", number)
    elig(husband.atena_no, "jidou_teate")
    # At home, not at the counter: a second child (a 児童) and the eldest son, 26, who is no 児童 any more.
    resident("遺族 次子", "イゾク ジシ", date(2020, 6, 1), hh, relationship="子", sex="2")
    resident("遺族 長男", "イゾク チョウナン", date(2000, 1, 1), hh, relationship="子")
    case = open_death(setup, monkeypatch, husband, [wife, child])
    # The wife and the adult son at home remain (two aged 15+): staff note the wife as the new 世帯主.
    choose_new_head(setup, case, wife)
    save(setup, case, DEATH_INPUTS)
    plans = plans_of(setup, case)
    assert {"jt_shoumetsu", "kokuho_soushitsu", "kokuho_sousaihi"} <= {code for code, _n in plans}
    shoumetsu = plans[("jt_shoumetsu", "")]
    # 受給者 = the recipient (the procedure's person), who died; the table = his 児童 only (the one at the
    # counter, then the one at home from the mirror; not the wife, not the adult son).
    assert values(shoumetsu, "受給者の氏名") == "遺族 夫"
    assert values(shoumetsu, "受給者のフリガナ") == "イゾク オット"
    assert values(shoumetsu, "児童：氏名", rows=True) == ["遺族 子", "遺族 次子"]
    assert values(shoumetsu, "消滅の理由") == "shibou"
    # 国保 資格喪失届: the 世帯主 on the day of death is the deceased; his household's 記号番号.
    soushitsu = plans[("kokuho_soushitsu", "")]
    assert values(soushitsu, "世帯主の氏名") == "遺族 夫"
    assert values(soushitsu, "記号番号") == "01-000111"
    assert values(soushitsu, "喪失する人：氏名", rows=True) == ["遺族 夫"]
    assert values(soushitsu, "届出人") == "遺族 妻"
    sousaihi = plans[("kokuho_sousaihi", "")]
    assert values(sousaihi, "亡くなった方の世帯主") == "遺族 夫"
    no_blanks_no_problems(plans)


def test_family_moves_out_the_recipient_father_is_printed_and_only_the_child_in_the_table(setup, monkeypatch):
    from navigation.cases.services import case_open

    monkeypatch.setattr(fam, "ANSWERS", {"moving_destination": "domestic"})
    hh = "800000043"
    father = resident("転出 父", "テンシュツ チチ", date(1985, 1, 1), hh, address="テストA市山下町3番3号")
    mother = resident("転出 母", "テンシュツ ハハ", date(1987, 1, 1), hh, relationship="妻", sex="2",
                      address="テストA市山下町3番3号")
    child = resident("転出 子", "テンシュツ コ", date(2016, 1, 1), hh, relationship="子",
                     address="テストA市山下町3番3号")
    for person in (father, mother, child):
        elig(person.atena_no, "kokuho")
    elig(father.atena_no, "jidou_teate")
    # The mother comes to the counter (the visitor), the father is the recipient.
    case = case_open(actor=setup["staff"], counter=setup["counter"],
                     atena_nos=[mother.atena_no, father.atena_no, child.atena_no], events=["tenshutsu"],
                     event_date=date.today() + timedelta(days=3))
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    save(setup, case, {("phone", ""): "099-000-1234", ("destination_address", ""): "福岡県福岡市中央区天神1丁目8番1号",
                       ("destination_postcode", ""): "810-0001"})
    plans = plans_of(setup, case)
    # The 転出届 (住民異動届) carries the destination with its postcode, typed once by staff: nothing left to write.
    idou = plans[("juki_idou", "")]
    assert values(idou, "新しい住所") == "福岡県福岡市中央区天神1丁目8番1号"
    assert values(idou, "郵便番号") == "810-0001"
    assert idou.resident_blanks == []
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="転出先の郵便番号：郵便番号は7桁の数字"):
        save(setup, case, {("destination_postcode", ""): "81000"})
    shoumetsu = plans[("jt_shoumetsu", "")]
    assert values(shoumetsu, "受給者の氏名") == "転出 父"
    assert values(shoumetsu, "続柄") == "世帯主"
    assert values(shoumetsu, "住所") == "テストA市山下町3番3号"
    assert values(shoumetsu, "児童：氏名", rows=True) == ["転出 子"]
    assert shoumetsu.resident_blanks == [] and shoumetsu.problems == []
    assert plans[("kokuho_soushitsu", "")].resident_blanks == []


def test_pseudo_head_not_in_kokuho_is_the_head_and_the_number_is_the_members(setup, monkeypatch):
    """擬制世帯主: the 世帯主 is in 社保 (no 国保 record); his wife in 国保 dies. The form names him as 世帯主
    and carries the household's 記号番号 (the members'), which his own record does not have."""
    hh = "800000050"
    head = resident("擬制 世帯主", "ギセイ セタイヌシ", date(1950, 1, 1), hh)
    wife = resident("擬制 妻", "ギセイ ツマ", date(1952, 1, 1), hh, relationship="妻", sex="2")
    elig(wife.atena_no, "kokuho", "07-123456")
    case = open_death(setup, monkeypatch, wife, [head])
    save(setup, case, DEATH_INPUTS)
    plans = plans_of(setup, case)
    soushitsu = plans[("kokuho_soushitsu", "")]
    assert values(soushitsu, "世帯主の氏名") == "擬制 世帯主"
    assert values(soushitsu, "記号番号") == "07-123456"
    assert values(soushitsu, "喪失する人：氏名", rows=True) == ["擬制 妻"]
    assert values(plans[("kokuho_sousaihi", "")], "亡くなった方の世帯主") == "擬制 世帯主"
    assert values(plans[("kokuho_sousaihi", "")], "氏名") == "擬制 妻"
    no_blanks_no_problems(plans)


# ---------------------------------------------------------------------------------------------
# 3: a member of the household who is not at the counter
# ---------------------------------------------------------------------------------------------
def open_birth(setup, monkeypatch, hh="800000051"):
    from navigation.cases.services import case_open

    monkeypatch.setattr(fam, "ANSWERS", {"mother_kokuho": "yes"})
    father = resident("出生 父", "シュッセイ チチ", date(1985, 1, 1), hh, address="テストA市山下町4番4号")
    mother = resident("出生 母", "シュッセイ ハハ", date(1990, 1, 1), hh, relationship="妻", sex="2",
                      address="テストA市山下町4番4号")
    for person in (father, mother):
        elig(person.atena_no, "kokuho")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[mother.atena_no], events=["shussei"],
                     event_date=date.today() - timedelta(days=5),
                     newcomers=[{"name": "出生 赤子", "name_kana": "シュッセイ アカゴ",
                                 "birth_date": date.today() - timedelta(days=5), "sex": "1", "relationship": "子"}])
    case.persons.filter(atena_no=mother.atena_no).update(is_subject=False, is_visitor=True)
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    save(setup, case, {("phone", ""): "099-000-1234", ("bank_account", ""): "みなみ銀行 本店 普通 1234567"})
    return case, father, mother


def test_birth_with_the_head_at_home_prints_him_and_the_household_address(setup, monkeypatch):
    case, father, _mother = open_birth(setup, monkeypatch)
    plans = plans_of(setup, case)
    assert {"kokuho_shutoku", "jt_nintei", "kodomo_iryou"} <= {code for code, _n in plans}
    shutoku = plans[("kokuho_shutoku", "")]
    assert values(shutoku, "世帯主の氏名") == "出生 父"
    assert values(shutoku, "世帯主のフリガナ") == "シュッセイ チチ"
    assert values(shutoku, "加入する人：氏名", rows=True) == ["出生 赤子"]
    for code in ("kokuho_shutoku", "jt_nintei", "kodomo_iryou"):
        assert values(plans[(code, "")], "住所") == "テストA市山下町4番4号", code
        assert values(plans[(code, "")], "郵便番号") == "892-0816", code
    assert values(plans[("jt_nintei", "")], "請求者の氏名") == "出生 母"
    assert values(plans[("jt_nintei", "")], "児童：氏名", rows=True) == ["出生 赤子"]
    no_blanks_no_problems(plans)
    # The head printed from the mirror is named in the audit of the issued bundle.
    from audit.models import AuditEvent
    from forms_builder import services

    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                     codes=["kokuho_shutoku"])
    event = AuditEvent.objects.get(target_type="form_document", target_id=str(issued.document.pk))
    assert father.atena_no in event.details["atena_nos"]


def test_birth_in_a_protected_household_keeps_the_address_withheld(setup, monkeypatch):
    from tests.test_search import make_support_measure

    hh = "800000069"
    case, father, _mother = open_birth(setup, monkeypatch, hh=hh)
    make_support_measure(father.atena_no)
    plans = plans_of(setup, case)
    shutoku = plans[("kokuho_shutoku", "")]
    address = next(r for r in shutoku.results if r.label == "住所")
    assert address.value == "" and address.reason == "restricted"
    assert values(shutoku, "世帯主の氏名") == "出生 父"


# ---------------------------------------------------------------------------------------------
# 4: 続紙 for a household bigger than the table
# ---------------------------------------------------------------------------------------------
TEN = ["太郎", "次郎", "三郎", "四郎", "五郎", "六郎", "七郎", "八郎", "九郎", "十郎"]


def test_household_of_ten_is_issued_with_a_continuation_sheet(setup):
    from audit.models import AuditEvent
    from forms_builder import services
    from navigation.cases.services import case_open

    members = [{"name": f"大家 {n}", "name_kana": "オオヤ タロウ", "birth_date": date(1980 + i, 1, 1), "sex": "1",
                "relationship": "世帯主" if i == 0 else "子"} for i, n in enumerate(TEN)]
    case = case_open(actor=setup["staff"], counter=setup["counter"], events=["tennyu"], event_date=date.today(),
                     newcomers=members)
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    save(setup, case, STAFF_INPUTS)
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                     codes=["juki_idou"])
    (plan,) = issued.plans
    assert plan.problems == [] and plan.resident_blanks == []
    assert issued.document.pages == 2  # the form (6 rows) and one 続紙 (4 rows)
    event = AuditEvent.objects.get(target_type="form_document", target_id=str(issued.document.pk))
    assert event.details["pages"] == 2
    names = sorted((r for r in plan.results if r.label == "異動する人：氏名"), key=lambda r: r.row)
    assert [r.row for r in names] == list(range(10))
    assert [r.page for r in names] == [0] * 6 + [1] * 4
    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        printed = [text_of(chars_in(pdf.pages[r.page], r.box)) for r in names]
        second = pdf.pages[1].extract_text()
    assert printed == [f"大家{n}" for n in TEN]
    assert "続紙1/1" in second.replace(" ", "") and case.label in second and "住民異動届" in second


def test_a_template_without_continuation_still_refuses(setup):
    from types import SimpleNamespace

    from forms_builder import defaults, render
    from forms_builder import sources as src

    fields = next(d for d in defaults.definitions() if d["code"] == "juki_idou")["fields"]
    for spec in fields:
        if spec.get("type") == "rows":
            spec["continuation"] = False
    people = [SimpleNamespace(pk=i, key=f"n{i}", atena_no="", name=f"大家 {n}", name_kana="", birth_date=None, sex="",
                              relationship="子", is_visitor=i == 0, is_subject=True) for i, n in enumerate(TEN)]
    version = SimpleNamespace(template=SimpleNamespace(code="juki_idou", name="住民異動届", scope="case"), pk=None,
                              number=1, page_size="A4", orientation="portrait", background_id=None, html="",
                              fields=fields)
    ctx = src.BindingContext(case=None, persons=people, doc_persons=people, person=people[0])
    plan = render.plan_document(version=version, ctx=ctx)
    assert any("10人分の行が必要" in p for p in plan.problems)
    assert plan.html.count("<section") == 1


# ---------------------------------------------------------------------------------------------
# 5: long alphabet names
# ---------------------------------------------------------------------------------------------
LONG = "HERNANDEZ GONZALEZ MARIA GUADALUPE ALEJANDRA"
LONG_KANA = "エルナンデス ゴンサレス マリア グアダルーペ アレハンドラ"


def test_a_long_alphabet_name_prints_whole_on_two_lines_broken_between_words(setup):
    from forms_builder import services
    from navigation.cases.services import case_open

    case = case_open(actor=setup["staff"], counter=setup["counter"], events=["tennyu"], event_date=date.today(),
                     newcomers=[{"name": LONG, "name_kana": LONG_KANA, "birth_date": date(1990, 5, 5), "sex": "2",
                                 "relationship": "世帯主"},
                                {"name": "NGUYEN THI THANH HUONG", "name_kana": "グエン ティ タン フォン",
                                 "birth_date": date(2018, 5, 5), "sex": "2", "relationship": "子"}])
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    inputs = dict(STAFF_INPUTS)
    from forms_builder import selectors

    for item, person in selectors.needed_inputs(case=case):
        if item.key == "previous_school":
            inputs[("previous_school", person.key)] = "千代田区立麹町小学校"
    save(setup, case, inputs)
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                     codes=["juki_idou"])
    (plan,) = issued.plans
    assert plan.problems == []
    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        page = pdf.pages[0]
        for label, expected in (("異動する人：氏名", LONG), ("異動する人：フリガナ", LONG_KANA),
                                ("新しい世帯主", LONG)):
            result = next(r for r in plan.results if r.label == label and r.row in (None, 0))
            chars = chars_in(page, result.box)
            assert text_of(chars) == expected.replace(" ", ""), label
            tops = sorted({round(c["top"]) for c in chars})
            assert len(tops) == 2, (label, tops)
            # Broken at a space: each line is whole words of the name.
            lines = ["".join(c["text"] for c in chars if round(c["top"]) == top).strip() for top in tops]
            words = expected.split(" ")
            first = lines[0].replace(" ", "")
            assert any("".join(words[:n]) == first for n in range(1, len(words))), (label, lines)
    # The whole bundle issues too (every form with a name or kana box).
    services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print")


def test_wrap_keeps_latin_words_whole_and_breaks_japanese_anywhere():
    from forms_builder import render

    lines = render._wrap(LONG, 40, 8, "mincho")
    assert len(lines) >= 2 and " ".join(lines) == LONG
    assert all(word in LONG.split(" ") for line in lines for word in line.split(" "))
    japanese = render._wrap("東京都千代田区霞が関一丁目一番一号中央合同庁舎", 20, 10, "mincho")
    assert "".join(japanese) == "東京都千代田区霞が関一丁目一番一号中央合同庁舎" and len(japanese) >= 2
    # A word alone wider than the line is broken between its letters (never dropped).
    assert "".join(render._wrap("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10, 10, "mincho")) == "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# ---------------------------------------------------------------------------------------------
# 6: the preview is marked
# ---------------------------------------------------------------------------------------------
def test_every_preview_page_is_watermarked_and_the_issued_pdf_is_not(setup):
    from forms_builder import services

    case = fam.open_family_case(setup)
    save(setup, case, STAFF_INPUTS)
    preview = services.case_preview(actor=setup["staff"], case=case, counter=setup["counter"],
                                    codes=["guidance", "juki_idou"])
    mark = "プレビュー（提出不可）"
    with pdfplumber.open(io.BytesIO(preview)) as pdf:
        assert len(pdf.pages) >= 2
        for page in pdf.pages:
            assert mark in "".join(c["text"] for c in page.chars)
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                     codes=["guidance", "juki_idou"])
    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        assert all("プレビュー" not in "".join(c["text"] for c in page.chars) for page in pdf.pages)


# ---------------------------------------------------------------------------------------------
# 7: a circle filled on screen
# ---------------------------------------------------------------------------------------------
def test_staff_choose_a_printed_option_for_a_blank_circle(setup, tenant_a):
    from django.core.exceptions import ValidationError

    from forms_builder import selectors, services
    from forms_builder.models import CaseEntry
    from navigation.cases.services import case_open
    from tests.conftest import staff_client

    case = case_open(actor=setup["staff"], counter=setup["counter"],
                     newcomers=[{"name": "外部 太郎", "name_kana": "ガイブ タロウ", "birth_date": date(1970, 1, 1)}])
    services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case,
                                     template_code="cert_koseki", kind="tohon", copies="1", purpose="相続")
    (plan,) = selectors.case_plans(actor=setup["staff"], case=case)
    sex = next(r for r in plan.resident_blanks if r.label == "性別")
    assert sex.choices == [("1", "男"), ("2", "女")]
    client = staff_client(tenant_a, "staff1", counter=setup["counter"])
    page = client.get(f"/forms/cases/{case.pk}/").content.decode()
    assert '<option value="1">男</option>' in page and '<option value="2">女</option>' in page
    with pytest.raises(ValidationError) as bad:
        services.case_field_fill(actor=setup["staff"], counter=setup["counter"], case=case,
                                 template_code="cert_koseki", field_key=sex.key, person_key=plan.person_key or "",
                                 value="M")
    assert "性別" in bad.value.messages[0] and "男、女" in bad.value.messages[0]
    assert not CaseEntry.objects.filter(case=case, key__startswith="field:").exists()
    response = client.post(f"/forms/cases/{case.pk}/fill/", {"template": "cert_koseki", "field": sex.key,
                                                             "person": plan.person_key or "", "value": "男"})
    assert response.status_code == 302
    assert CaseEntry.objects.get(case=case, key=f"field:cert_koseki:{sex.key}").value == "1"
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print")
    (plan,) = issued.plans
    assert plan.problems == [] and "性別" not in [r.label for r in plan.resident_blanks]
    option = next(o for f in issued.plans[0].results if f.label == "性別" for o in [f])
    version = selectors.version_in_force(template=__import__("forms_builder.models", fromlist=["x"]).FormTemplate
                                         .objects.get(code="cert_koseki"))
    spec = next(f for f in version.fields if f.get("key") == option.key)
    man = next(o for o in spec["options"] if o["value"] == "1")
    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        curves = [c for c in pdf.pages[0].curves
                  if abs((c["top"] + c["bottom"]) / 2 / MM - (man["y"] + man["h"] / 2)) < 3]
    assert curves, "no circle drawn on the row of 性別"
    centre = (min(c["x0"] for c in curves) + max(c["x1"] for c in curves)) / 2 / MM
    assert abs(centre - (man["x"] + man["w"] / 2)) < 2


# ---------------------------------------------------------------------------------------------
# 8: the 手続き案内票 lists what is still to do
# ---------------------------------------------------------------------------------------------
def test_guidance_lists_each_persons_procedures_counters_and_documents_without_the_unneeded(setup):
    from forms_builder import services
    from navigation.cases.services import case_procedure_set_status

    case = fam.open_family_case(setup)
    save(setup, case, STAFF_INPUTS)
    for item in case.procedures.filter(procedure_code="kodomo_iryou"):
        case_procedure_set_status(actor=setup["staff"], counter=setup["counter"], procedure=item,
                                  status="not_needed", reason="既に受給中")
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print",
                                     codes=["guidance"])
    def clean(cell):
        return (cell or "").replace("\n", "").replace(" ", "")

    with pdfplumber.open(io.BytesIO(issued.pdf)) as pdf:
        text = clean("".join((p.extract_text() or "") for p in pdf.pages))
        assert len(pdf.pages[0].images) >= 1  # the QR of the case number
        rows = [[clean(c) for c in row] for p in pdf.pages for table in p.extract_tables() for row in table]
    for member in fam.FAMILY:
        assert member["name"].replace(" ", "") + "さん" in text
    location = setup["counter"].location.replace(" ", "")
    by_procedure = {row[0]: row for row in rows if row[0] != "手続き"}
    assert by_procedure["転入届"][1] == f"総合窓口1番（{location}）" and "転出証明書" in by_procedure["転入届"][2]
    assert by_procedure["国民健康保険の加入"][1].startswith("保険年金窓口")
    assert "本人確認書類" in by_procedure["国民健康保険の加入"][2]
    assert "預金口座" in by_procedure["児童手当の認定請求"][2]
    assert sum(1 for row in rows if row[0] == "転入届") == len(fam.FAMILY)  # each person's procedures
    assert not any("子ども医療" in row[0] for row in rows) and "子ども医療" not in text  # 不要


# ---------------------------------------------------------------------------------------------
# 9: the other default forms, each in the scenario that produces it
# ---------------------------------------------------------------------------------------------
def scenario_inkan(setup, monkeypatch):
    from navigation.cases.services import case_open

    monkeypatch.setattr(fam, "ANSWERS", {"inkan_wish_any": "yes", "inkan_wish": "yes",
                                         "any_employee_insurance": "yes"})
    case = case_open(actor=setup["staff"], counter=setup["counter"], events=["tennyu"], event_date=date.today(),
                     newcomers=[{"name": "印鑑 一郎", "name_kana": "インカン イチロウ", "birth_date": date(1990, 5, 5),
                                 "sex": "1", "relationship": "世帯主"}])
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    save(setup, case, STAFF_INPUTS)
    return case, {("inkan_touroku", "印鑑 一郎"): {"登録する方の氏名": "印鑑 一郎", "住所": "テストA市山下町11番1号"}}


def scenario_okuyami_elderly(setup, monkeypatch):
    hh = "800000027"
    son = resident("故人 息子", "コジン ムスコ", date(1976, 3, 3), hh, relationship="子")
    head = resident("故人 太郎", "コジン タロウ", date(1946, 1, 1), hh)
    wife = resident("故人 花子", "コジン ハナコ", date(1948, 2, 2), hh, relationship="妻", sex="2")
    for person in (head, wife):
        elig(person.atena_no, "kouki", "K" + person.atena_no[-6:])
        elig(person.atena_no, "kaigo", "0000" + person.atena_no[-6:])
    case = open_death(setup, monkeypatch, head, [wife, son])
    # Two members aged 15+ remain: the 世帯主変更届 is due (住基法第25条) and staff note who heads the household now.
    choose_new_head(setup, case, wife)
    save(setup, case, DEATH_INPUTS)
    return case, {("juki_idou", ""): {"届出の種類": "setainushi_henkou", "新しい世帯主": "故人 花子",
                                      "前の世帯主": "故人 太郎"},
                  ("kaigo_soushitsu", "故人 太郎"): {"本人の氏名": "故人 太郎", "届出人": "故人 花子",
                                                 "被保険者番号": "0000" + head.atena_no[-6:]},
                  ("kouki_sousaihi", ""): {"氏名": "故人 太郎", "被保険者番号": "K" + head.atena_no[-6:],
                                           "亡くなった方の世帯主": "故人 太郎"}}


def scenario_elderly_newcomers(setup, monkeypatch):
    from navigation.cases.services import case_open

    case = case_open(actor=setup["staff"], counter=setup["counter"], events=["tennyu"], event_date=date.today(),
                     newcomers=[{"name": "高齢 一郎", "name_kana": "コウレイ イチロウ", "birth_date": date(1948, 5, 5),
                                 "sex": "1", "relationship": "世帯主"},
                                {"name": "高齢 花子", "name_kana": "コウレイ ハナコ", "birth_date": date(1958, 5, 5),
                                 "sex": "2", "relationship": "妻"}])
    interview(case, setup["staff"], setup["counter"])
    case.refresh_from_db()
    save(setup, case, STAFF_INPUTS)
    return case, {("kouki_todoke", "高齢 一郎"): {"本人の氏名": "高齢 一郎",
                                                "前の住所": "東京都千代田区霞が関1丁目1番1号"},
                  ("kaigo_todoke", "高齢 花子"): {"本人の氏名": "高齢 花子", "住所": "テストA市山下町11番1号"},
                  ("kaigo_todoke", "高齢 一郎"): {"本人の氏名": "高齢 一郎"}}


def scenario_certificates(setup, monkeypatch):
    from forms_builder import services
    from navigation.cases.services import case_open

    person = resident("証明 次郎", "ショウメイ ジロウ", date(1975, 3, 3), "800000077", address="テストA市山下町5番6号")
    case = case_open(actor=setup["staff"], counter=setup["counter"], atena_nos=[person.atena_no])
    for code, kind in (("cert_koseki", "tohon"), ("cert_zei", "kazei"), ("cert_inkan", "inkan")):
        services.certificate_request_set(actor=setup["staff"], counter=setup["counter"], case=case, template_code=code,
                                         kind=kind, copies="2", purpose="提出")
    save(setup, case, {("phone", ""): "099-000-1234"})
    expected = {"請求者の氏名": "証明 次郎", "住所": "テストA市山下町5番6号", "通数": "2", "使用目的": "提出"}
    return case, {(code, "証明 次郎"): {**expected, "必要な証明": kind}
                  for code, kind in (("cert_koseki", "tohon"), ("cert_zei", "kazei"), ("cert_inkan", "inkan"))}


@pytest.mark.parametrize("scenario", [scenario_inkan, scenario_okuyami_elderly, scenario_elderly_newcomers,
                                      scenario_certificates], ids=lambda f: f.__name__)
def test_default_forms_of_each_scenario(setup, monkeypatch, scenario):
    from forms_builder import services

    case, expected = scenario(setup, monkeypatch)
    plans = plans_of(setup, case)
    assert set(expected) <= set(plans), sorted(plans)
    for key, roles in expected.items():
        for label, value in roles.items():
            assert values(plans[key], label) == value, (key, label)
    no_blanks_no_problems(plans)
    issued = services.document_issue(actor=setup["staff"], counter=setup["counter"], case=case, channel="print")
    assert {item["template"] for item in issued.document.items} >= {code for code, _n in expected}


# ---------------------------------------------------------------------------------------------
# 10: every form the catalogue names is one of ours or marked as paper
# ---------------------------------------------------------------------------------------------
def test_catalogue_form_codes_resolve_to_a_template_or_are_marked_paper():
    from forms_builder import defaults
    from navigation.services import default_catalogue

    templates = {d["code"] for d in defaults.definitions()}
    served = {code for d in defaults.definitions() for code in d["procedures"]}
    catalogue = default_catalogue()
    unresolved = [(p["code"], f) for p in catalogue["procedures"] for f in p.get("forms") or []
                  if f not in templates and not (f.startswith("paper:") and len(f) > len("paper:"))]
    assert unresolved == []
    # A template that says it serves a procedure is also in that procedure's list (one place to read).
    listed = {(p["code"], f) for p in catalogue["procedures"] for f in p.get("forms") or []}
    for d in defaults.definitions():
        for code in d["procedures"]:
            assert (code, d["code"]) in listed, (code, d["code"])
    assert served <= {p["code"] for p in catalogue["procedures"]}



def test_the_editors_sample_household_never_reads_a_real_household_or_record(setup):
    """The sample household's made-up 世帯番号 and 宛名番号 may be a real resident's: the roles that read the mirror
    (a recipient's children, the head on the event date, a member's eligibility) must not reach them."""
    from types import SimpleNamespace

    from forms_builder import defaults, render, sample

    real_child = resident("実在 子", "ジツザイ コ", date(2019, 1, 1), sample.SAMPLE_HOUSEHOLD_NO, relationship="子")
    household = sample.household(staff=setup["staff"], counter=setup["counter"])
    third = household.persons[2].atena_no
    from integration.models import Resident

    Resident.objects.filter(pk=real_child.pk).update(atena_no=third + "9")
    elig(third, "kokuho", "REAL-0001")
    for code in ("jt_shoumetsu", "kokuho_soushitsu"):
        definition = next(d for d in defaults.definitions() if d["code"] == code)
        version = SimpleNamespace(template=SimpleNamespace(code=code, name=definition["name"], scope="case"),
                                  pk=None, number=1, page_size="A4", orientation="portrait", background_id=None,
                                  html="", fields=definition["fields"])
        plan = render.plan_document(version=version, ctx=household.ctx)
        printed = [r.value for r in plan.results]
        assert "実在 子" not in printed and "REAL-0001" not in printed, code
