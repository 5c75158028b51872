"""Browser (real Chromium, two staff at two counters): interview at A, hand-off, arrival at B without reload,
resume with the answers intact, closing refused while a procedure is open, memo from A visible in B's search.
The counter screens change pages by htmx (hx-boost), so assertions wait for what they expect."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, provisioned_counter

pytestmark = [pytest.mark.browser, pytest.mark.schema]

ALL_AREAS = "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo"


def _setup_city(city, django_db_blocker) -> str:
    """Counters, two staff, a one-person household with 国保, the default catalogue — committed."""
    from integration.checkdigits import with_check_digit
    from integration.models import Eligibility, Resident
    from integration.normalize import normalize_address, normalize_kana, normalize_name
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter
    from tenants.accounts.services import staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        # provisioning created 総合窓口 (市民課) and 保険年金窓口 (保険年金課), mapped to the catalogue's counters
        shimin = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1).department
        hoken = provisioned_counter("保険年金窓口", sort_order=2).department
        assert Counter.objects.get(name="保険年金窓口").kind == Counter.Kind.BUSINESS
        staff_create(actor=None, username="uketsuke", password=PASSWORD, display_name="受付 一郎", areas=ALL_AREAS,
                     department=shimin)
        staff_create(actor=None, username="hoken", password=PASSWORD, display_name="保険 花子", areas=ALL_AREAS,
                     department=hoken)
        atena_no, household_no = with_check_digit("10000001"), with_check_digit("20000001")
        name, kana, address = "転出 予定子", "テンシュツ ヨテイコ", "テスト市本町1-2-3"
        Resident.objects.create(
            atena_no=atena_no, household_no=household_no, name=name, name_kana=kana, birth_date=date(1985, 7, 7),
            sex="2", relationship="世帯主", address=address, search_name=normalize_name(name),
            search_kana=normalize_kana(kana), search_address=normalize_address(address),
        )
        Eligibility.objects.create(atena_no=atena_no, area="kokuho", kind="被保険者")
        catalogue_install_default()
    return atena_no


def _login_at(page, server, city, username: str, counter: str) -> None:
    browser_login(page, server, city.slug, username)
    page.wait_for_url("**/accounts/counter/**")
    page.get_by_label(counter).check()
    page.get_by_role("button", name="この窓口で開始").click()
    page.wait_for_url(server.url(city.slug, "/navi/cases/"))  # straight to 窓口受付


def test_interview_handoff_resume_close_and_memo(live_server_mt, browser, page, fresh_municipality,
                                                 django_db_blocker):
    city = fresh_municipality(areas=ALL_AREAS)
    atena_no = _setup_city(city, django_db_blocker)
    server = live_server_mt

    # Counter B opens its queue first: the case must arrive there without a reload.
    context_b = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    context_b.set_default_timeout(15000)
    page_b = context_b.new_page()
    try:
        _login_at(page_b, server, city, "hoken", "保険年金窓口")
        page_b.goto(server.url(city.slug, "/navi/cases/"))
        expect(page_b.get_by_text("この窓口の受付はありません。")).to_be_visible()

        # Counter A: search by half-width kana, open a case, interview.
        _login_at(page, server, city, "uketsuke", "総合窓口 1番")
        search = page.get_by_role("search")
        search.get_by_label("氏名・フリガナ").fill("ﾃﾝｼｭﾂ ﾖﾃｲｺ")
        search.get_by_label("生年月日").fill("S60.7.7")
        search.get_by_role("button", name="検索").click()
        page.get_by_label(re.compile("転出 予定子")).check()
        page.get_by_role("button", name="受付を開始").click()
        page.wait_for_url(re.compile(r".*/navi/cases/\d+/$"))
        case_url = page.url
        label = page.get_by_role("heading", level=1).inner_text().replace("受付", "").strip()
        page.get_by_label("転出", exact=True).check()
        page.get_by_role("button", name="イベントを保存して判定").click()
        page.get_by_label("国内の他の市区町村").check()
        page.get_by_role("button", name="回答を保存して判定").click()
        expect(page.get_by_text("確認することはありません（聞き取り完了）。")).to_be_visible()
        expect(page.locator('[data-answer="case:moving_destination"]')).to_have_text("国内の他の市区町村")
        assert axe_violations(page) == []
        # A status changes in place (htmx): choosing it is enough, the message appears beside the row.
        loads = []
        page.on("load", lambda _page: loads.append(1))
        juki = page.locator('tr[data-code="juki_tenshutsu"]')
        juki.locator("select").focus()  # as a keyboard user would be
        juki.locator("select").select_option("done")
        status = page.locator('tr[data-code="juki_tenshutsu"] .cases-proc__status')
        status.filter(has_text="完了").wait_for()
        message = page.locator('tr[data-code="juki_tenshutsu"] [role="status"]').inner_text()
        assert "「転出届」を「完了」にしました" in message
        assert loads == []  # no page reload
        assert page.locator('tr[data-code="juki_tenshutsu"] select').evaluate("e => e === document.activeElement")
        # 「不要」 without a reason is refused beside the row, keeping what was chosen.
        other = page.locator("tr.cases-proc--todo").first
        code = other.get_attribute("data-code")
        other.locator("select").select_option("not_needed")
        row = page.locator(f'tr[data-code="{code}"]')
        row.locator('[role="alert"]').wait_for()
        assert row.locator("select").input_value() == "not_needed" and loads == []

        # A memo on the person, written at A.
        page.goto(server.url(city.slug, f"/navi/cases/persons/{atena_no}/"))
        page.get_by_role("textbox", name="メモ 必須").fill("年金の相談もしたいとのこと（A窓口より）")
        page.get_by_role("button", name="メモを保存").click()
        expect(page.get_by_text("年金の相談もしたいとのこと（A窓口より）")).to_be_visible()

        # Hand-off to B.
        page.goto(case_url)
        page.get_by_label("引継ぎ先の窓口").select_option(label="保険年金窓口")
        page.get_by_label("引継ぎメモ").fill("国保の資格喪失をお願いします")
        page.get_by_role("button", name="引き継ぐ").click()
        expect(page.get_by_text(re.compile("保険年金窓口」に引き継ぎました"))).to_be_visible()

        # B: the case appears in the queue by polling (no reload), then resume.
        row = page_b.locator(f'tr[data-case="{label}"]')
        row.wait_for(state="visible", timeout=15000)
        assert "国保の資格喪失をお願いします" in row.inner_text()
        row.get_by_role("button", name=f"{label} を再開").click()
        page_b.wait_for_url(case_url)
        expect(page_b.locator('[data-answer="case:moving_destination"]')).to_have_text("国内の他の市区町村")
        expect(page_b.locator('tr[data-code="juki_tenshutsu"] .cases-proc__status')).to_have_text("完了")

        # Closing with an open procedure is refused (after the summary, at the confirmation).
        page_b.get_by_role("button", name="受付を完了する").click()
        page_b.get_by_role("button", name="完了を確定する").click()
        expect(page_b.get_by_text(re.compile("未完了の手続があるため受付を完了できません"))).to_be_visible()
        # Complete the remaining ones in one action, without a reload.
        page_b.get_by_role("button", name=re.compile("転出 予定子 さんの手続 \\d+ 件をすべて完了")).click()
        page_b.locator("#persons-message").wait_for()
        assert "件の手続を「完了」にしました" in page_b.locator("#persons-message").inner_text()
        expect(page_b.locator("tr.cases-proc--todo")).to_have_count(0)  # once the panel is swapped in
        page_b.get_by_role("button", name="受付を完了する").click()
        expect(page_b.get_by_role("heading", name=f"受付 {label} を完了します")).to_be_visible()
        expect(page_b.locator("#close-purpose")).to_contain_text("転出")
        assert "転出届" in page_b.locator("#close-done").inner_text()
        assert axe_violations(page_b) == []
        page_b.get_by_role("button", name="完了を確定する").click()
        expect(page_b.get_by_text(re.compile(f"受付 {label} を完了しました"))).to_be_visible()

        # B searches the person: A's memo is there.
        page_b.goto(server.url(city.slug, "/navi/cases/search/"))
        page_b.get_by_label("氏名・フリガナ").fill("転出予定子")
        page_b.get_by_role("button", name="検索").click()
        expect(page_b.get_by_text("年金の相談もしたいとのこと（A窓口より）")).to_be_visible()
    finally:
        context_b.close()
