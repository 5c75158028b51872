"""Browser (real Chromium, Japanese): staff open a case's forms, type what no system knows once (町字 from the
list, 番地, 方書 …), see no blank left for the resident, and print one PDF of every form — audited."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, provisioned_counter

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def _setup(city, django_db_blocker) -> int:
    from forms_builder.models import AddressArea
    from forms_builder.services import templates_install_defaults
    from navigation.cases.services import case_answers_update, case_open
    from navigation.services import catalogue_install_default
    from tenants.accounts.services import staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        counter = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1, location="1階")
        shimin = counter.department
        user = staff_create(actor=None, username="uketsuke", password=PASSWORD, display_name="受付 一郎",
                            areas="juki,kokuho", department=shimin)
        catalogue_install_default()
        templates_install_defaults()
        AddressArea.objects.create(code="0001001", name="山下町", kana="ヤマシタチョウ", postcode="8920816")
        AddressArea.objects.create(code="0001002", name="東千石町", kana="ヒガシセンゴクチョウ", postcode="8920842")
        case = case_open(actor=user, counter=counter, events=["tennyu"], newcomers=[
            {"name": "髙橋 𠮷子", "name_kana": "タカハシ ヨシコ", "birth_date": date(1990, 4, 10), "sex": "2",
             "relationship": "世帯主"}])
        # 国保法第116条: a lone newcomer is asked the 修学中の特例 too (catalogue 2026.12.2)
        case_answers_update(actor=user, counter=counter, case=case, answers={
            "case:any_employee_insurance": "no", "case:inkan_wish_any": "no",
            f"{case.persons.get().key}:student_special": "no"})
        return case.pk


def test_staff_fill_the_inputs_once_and_print_every_form(live_server_mt, page, fresh_municipality,
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
    page.get_by_role("link", name="申請書（空欄の確認・印刷）").click()
    page.wait_for_url(re.compile(r".*/forms/cases/\d+/$"))
    summary = page.locator("#forms-summary")
    assert "本人が書く空欄 0 か所" not in summary.inner_text()
    assert page.get_by_text("聞き取りの回答・職員の入力がまだありません").first.is_visible()

    page.get_by_label("町字を絞り込む").fill("ヤマシタ")
    assert page.locator("#in\\:new_address\\:-filter-status").inner_text() == "1 件"
    page.get_by_label("町字", exact=True).select_option(label="山下町（〒8920816）")
    page.get_by_label("番地").fill("11番1号")
    page.get_by_label("方書（建物名・部屋番号）").fill("みなみ荘 203")
    page.get_by_label("転入前の住所").fill("東京都千代田区霞が関1丁目1番1号")
    page.get_by_label("転入前の世帯主").fill("髙橋 𠮷子")
    page.get_by_label("連絡先の電話番号").fill("099-000-1234")
    page.get_by_role("button", name="入力を保存").click()
    page.wait_for_load_state()
    assert "本人が書く空欄 0 か所" in page.locator("#forms-summary").inner_text()
    assert axe_violations(page) == []

    with page.context.expect_page() as opened:
        page.get_by_role("button", name="すべてを1つの PDF で印刷").click()
    pdf_page = opened.value
    pdf_page.wait_for_load_state()
    with django_db_blocker.unblock(), in_tenant(city):
        from audit.models import AuditEvent
        from forms_builder.models import IssuedDocument

        document = IssuedDocument.objects.get(case_id=case_pk)
        assert document.channel == "print" and document.pages >= 3
        event = AuditEvent.objects.get(target_type="form_document", target_id=str(document.pk))
        assert event.action == "print" and event.actor == "uketsuke" and event.details["sha256"] == document.sha256
