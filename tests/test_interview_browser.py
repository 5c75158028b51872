"""Browser (real Chromium, Japanese, 1366×768): the interview at the counter.

- An address question is answered in the interview (町字 from the municipality's 町字 master, 番地 and 方書 typed);
  the forms page then shows the 住民異動届 filled with it, nothing typed twice (issue 12 item 1).
- Each question says which procedures its answer decides, and the radio labels (はい／いいえ) stay on one line
  each in the side column (issue 17 item 4).
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, provisioned_counter

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def _setup(city, django_db_blocker) -> int:  # noqa: ANN001
    from forms_builder.models import AddressArea
    from forms_builder.services import templates_install_defaults
    from navigation.cases.services import case_open
    from navigation.services import catalogue_install_default
    from tenants.accounts.services import staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        counter = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1, location="1階")
        user = staff_create(actor=None, username="uketsuke", password=PASSWORD, display_name="受付 一郎",
                            areas="juki,kokuho", department=counter.department)
        catalogue_install_default()
        templates_install_defaults()
        AddressArea.objects.create(code="0001001", name="山下町", kana="ヤマシタチョウ", postcode="8920816")
        AddressArea.objects.create(code="0001002", name="東千石町", kana="ヒガシセンゴクチョウ", postcode="8920842")
        case = case_open(actor=user, counter=counter, events=["tennyu"], event_date=date(2026, 6, 1), newcomers=[
            {"name": "転入 一子", "name_kana": "テンニュウ イチコ", "birth_date": date(1990, 4, 10), "sex": "2",
             "relationship": "世帯主"}])
        return case.pk


LINES_OF = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
  const style = getComputedStyle(el);
  return {lines: tops.size, height: range.getBoundingClientRect().height, font: parseFloat(style.fontSize)};
}"""


def test_the_interview_asks_the_address_once_and_the_forms_print_it(live_server_mt, page, fresh_municipality,
                                                                    django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    case_pk = _setup(city, django_db_blocker)
    server = live_server_mt
    browser_login(page, server, city.slug, "uketsuke")
    page.wait_for_url("**/accounts/counter/**")
    page.get_by_label("総合窓口 1番").check()
    page.get_by_role("button", name="この窓口で開始").click()
    page.wait_for_url(server.url(city.slug, "/navi/cases/"))
    page.goto(server.url(city.slug, f"/navi/cases/{case_pk}/"))
    interview = page.locator("#interview")

    # what each answer decides, under the question
    decides = interview.locator('[data-decides="case:any_employee_insurance"]')
    assert "この回答で要否が決まる手続" in decides.inner_text() and "国民健康保険の加入" in decides.inner_text()

    # いいえ on one line at 1366×768 (it wrapped one character per line in the side column)
    for text in ("はい", "いいえ"):
        label = interview.locator("label", has_text=re.compile(f"^\\s*{text}\\s*$")).first
        measured = label.evaluate(LINES_OF)
        assert measured["lines"] == 1, (text, measured)
        assert measured["height"] < measured["font"] * 2, (text, measured)

    interview.get_by_label("いいえ").first.check()
    interview.get_by_label("新しい住所（この市区町村内）（町字）").select_option(label="山下町（〒8920816）")
    interview.get_by_label("新しい住所（この市区町村内）（番地）").fill("11番1号")
    interview.get_by_label("新しい住所（この市区町村内）（方書）").fill("みなみ荘 203")
    interview.get_by_label("転入前の住所").fill("東京都千代田区霞が関1丁目1番1号")
    assert axe_violations(page) == []
    interview.get_by_role("button", name="回答を保存して判定").click()
    page.wait_for_load_state()
    answered = page.locator('[data-answer="case:new_address"]').text_content().strip()
    assert answered == "〒892-0816 山下町11番1号 みなみ荘 203"
    # the answers list beside a long question keeps いいえ on one line too (it was squeezed by the label)
    page.locator("details.cases-answers-box").evaluate("d => { d.open = true; }")
    no = page.locator('[data-answer="case:any_employee_insurance"]')
    assert no.text_content().strip() == "いいえ"
    measured = no.evaluate(LINES_OF)
    assert measured["lines"] == 1, measured
    # the answer stays editable in the interview, with what was typed
    assert interview.get_by_label("新しい住所（この市区町村内）（番地）").input_value() == "11番1号"

    page.get_by_role("link", name="申請書（空欄の確認・印刷）").click()
    page.wait_for_url(re.compile(r".*/forms/cases/\d+/$"))
    address = page.locator("fieldset.forms-address").first
    assert "山下町11番1号 みなみ荘 203" in address.locator("legend").inner_text()  # typed once, in the interview
    assert page.get_by_label("番地").first.input_value() == "11番1号"
    assert page.get_by_label("転入前の住所").input_value() == "東京都千代田区霞が関1丁目1番1号"
    idou = page.locator("table.forms-docs tr", has=page.get_by_role("rowheader", name=re.compile("住民異動届")))
    assert "新しい住所" not in idou.inner_text() and "転入前の住所" not in idou.inner_text()
    with django_db_blocker.unblock(), in_tenant(city):
        from forms_builder.models import CaseEntry
        from forms_builder.selectors import case_plans
        from navigation.cases.models import Case
        from tenants.accounts.models import User

        case = Case.objects.get(pk=case_pk)
        assert CaseEntry.objects.get(case=case, key="new_address").value["banchi"] == "11番1号"
        plan = next(p for p in case_plans(actor=User.objects.get(username="uketsuke"), case=case)
                    if p.template_code == "juki_idou")
        printed = " ".join(r.value for r in plan.results)
        assert "山下町" in printed and "11番1号" in printed
