"""Browser (two Chromium contexts: the staff screen and the resident's tablet): pair by code, push the filled
form, sign on the canvas with the mouse, staff see 署名済み without reload, the signed PDF carries the
signature; a change after signing clears 署名済み; after the case closes the shared tablet's back button and
reload show nothing of it."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant, provisioned_counter

pytestmark = [pytest.mark.browser, pytest.mark.schema]
NAME = "髙橋 𠮷子"


def _setup(city, django_db_blocker) -> int:
    from forms_builder.services import templates_install_defaults
    from navigation.cases.services import case_answers_update, case_open
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Desk
    from tenants.accounts.services import desk_sit, staff_create

    with django_db_blocker.unblock(), in_tenant(city):
        counter = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1, location="1階")  # provisioned
        shimin = counter.department
        user = staff_create(actor=None, username="uketsuke", password=PASSWORD, display_name="受付 一郎",
                            areas="juki,kokuho", department=shimin)
        desk = Desk.objects.create(counter=counter, name="1番席")
        desk_sit(actor=user, desk_id=desk.pk)
        catalogue_install_default()
        templates_install_defaults()
        case = case_open(actor=user, counter=counter, events=["tennyu"], newcomers=[
            {"name": NAME, "name_kana": "タカハシ ヨシコ", "birth_date": date(1990, 4, 10), "sex": "2",
             "relationship": "世帯主"}])
        # 国保法第116条: a lone newcomer is asked the 修学中の特例 too (catalogue 2026.12.2)
        case_answers_update(actor=user, counter=counter, case=case, answers={
            "case:any_employee_insurance": "no", "case:inkan_wish_any": "no",
            f"{case.persons.get().key}:student_special": "no"})
        return case.pk


def _staff(page, server, city) -> None:  # noqa: ANN001
    browser_login(page, server, city.slug, "uketsuke")
    page.wait_for_url("**/accounts/counter/**")
    page.get_by_label("総合窓口 1番").check()
    page.get_by_role("button", name="この窓口で開始").click()
    page.wait_for_url(server.url(city.slug, "/navi/cases/"))


def _pair(page, tablet, server, city, *, check_a11y: bool = False) -> None:  # noqa: ANN001
    page.goto(server.url(city.slug, "/tablet/desk/"))
    page.get_by_role("button", name="ペアリングコードを発行").click()
    code = page.locator("#pairing-code").inner_text().strip()
    assert re.fullmatch(r"\d{6,}", code)
    if check_a11y:
        assert axe_violations(page) == []
    tablet.goto(server.url(city.slug, "/tablet/"))
    tablet.get_by_label(re.compile("ペアリングコード")).fill(code)
    tablet.get_by_role("button", name="接続する").click()
    tablet.get_by_role("heading", name="お待ちください").wait_for()


def _sign(tablet) -> None:  # noqa: ANN001
    tablet.wait_for_function("() => [...document.images].every(i => i.complete)")
    canvas = tablet.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    tablet.mouse.move(box["x"] + 40, box["y"] + box["height"] * 0.6)
    tablet.mouse.down()
    for step in range(1, 25):
        tablet.mouse.move(box["x"] + 40 + step * 18, box["y"] + box["height"] * (0.6 - 0.3 * ((step % 6) / 6)))
    tablet.mouse.up()
    tablet.get_by_role("button", name="署名する").click()


def test_push_sign_and_staff_see_signed_without_reload(live_server_mt, browser, page, fresh_municipality,
                                                       django_db_blocker):
    import pdfplumber

    city = fresh_municipality(areas="juki,kokuho")
    case_pk = _setup(city, django_db_blocker)
    server = live_server_mt
    tablet_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", has_touch=True)
    tablet_context.set_default_timeout(60000)  # a wait cap for a machine shared by several suites, not a target
    page.set_default_timeout(60000)
    tablet = tablet_context.new_page()
    try:
        _staff(page, server, city)
        _pair(page, tablet, server, city, check_a11y=True)
        tablet_navigations: list[str] = []
        tablet.on("framenavigated", lambda frame: tablet_navigations.append(frame.url))

        page.goto(server.url(city.slug, f"/forms/cases/{case_pk}/"))
        page.get_by_role("button", name="すべてを1つの PDF でタブレットで確認・署名").click()
        page.get_by_text("タブレットに送りました").wait_for()
        page.locator("#tablet-state", has_text="署名待ち").wait_for()

        # the tablet shows the form without reload, large, with the correction button
        tablet.get_by_role("heading", name="申請書の内容をご確認ください").wait_for()
        assert tablet.locator("img.tablet-page").count() >= 1
        assert tablet.get_by_role("button", name="訂正を依頼").is_visible()
        assert axe_violations(tablet) == []
        # 「訂正を依頼」: the resident's question appears on the staff screen without reload
        tablet.get_by_role("button", name="訂正を依頼").click()
        tablet.get_by_label(re.compile("どこが違うか")).fill("生年月日が違います")
        tablet.get_by_role("button", name="職員に知らせる").click()
        tablet.get_by_text("職員にお知らせしました").wait_for()
        page.get_by_text("「生年月日が違います」").wait_for()
        tablet.get_by_role("button", name="署名する").click()  # nothing drawn yet
        assert "署名がありません" in tablet.locator("#sign-error").inner_text()

        staff_navigations: list[str] = []
        page.on("framenavigated", lambda frame: staff_navigations.append(frame.url))
        _sign(tablet)
        page.locator("#tablet-state", has_text="署名済み").wait_for()
        tablet.get_by_role("heading", name="お待ちください").wait_for()
        assert staff_navigations == [] and tablet_navigations == []
        assert tablet.locator("img.tablet-page").count() == 0

        # the signed PDF (rendered by a worker, or now on demand: no worker runs here)
        with page.context.expect_page() as opened:
            page.get_by_role("button", name="署名済みの申請書を印刷").click()
        opened.value.wait_for_load_state()
        opened.value.close()
        with django_db_blocker.unblock(), in_tenant(city):
            from forms_builder.services import decrypt_pdf
            from forms_builder.tablet.models import Signature

            signature = Signature.objects.get(case_id=case_pk)
            assert signature.stroke_count == 1 and signature.point_count > 5
            signed = pdfplumber.open(io.BytesIO(decrypt_pdf(signature.signed_document.pdf_encrypted)))
            unsigned = pdfplumber.open(io.BytesIO(decrypt_pdf(signature.document.pdf_encrypted)))
            assert (sum(len(p.images) for p in signed.pages) > sum(len(p.images) for p in unsigned.pages))

        # a staff-typed value changes after signing: 署名済み is gone
        page.get_by_label("連絡先の電話番号").fill("099-000-9999")
        page.get_by_role("button", name="入力を保存").click()
        page.wait_for_load_state()
        page.locator("#tablet-state", has_text="署名の後に内容が変わりました").wait_for()
        assert "署名済み" not in page.locator("#tablet-state").inner_text()
    finally:
        page.goto("about:blank")  # stop the staff screen's polling before the municipality is dropped
        tablet_context.close()


def test_after_the_case_closes_the_shared_tablet_shows_nothing_of_it(live_server_mt, browser, page,
                                                                     fresh_municipality, django_db_blocker):
    city = fresh_municipality(areas="juki,kokuho")
    case_pk = _setup(city, django_db_blocker)
    server = live_server_mt
    tablet_context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", has_touch=True)
    tablet_context.set_default_timeout(60000)  # a wait cap for a machine shared by several suites, not a target
    page.set_default_timeout(60000)
    tablet = tablet_context.new_page()
    try:
        _staff(page, server, city)
        _pair(page, tablet, server, city)
        page.goto(server.url(city.slug, f"/forms/cases/{case_pk}/"))
        page.get_by_role("button", name="すべてを1つの PDF でタブレットで確認・署名").click()
        tablet.get_by_role("heading", name="申請書の内容をご確認ください").wait_for()
        image_url = tablet.locator("img.tablet-page").first.evaluate("img => img.src")
        assert tablet.evaluate("() => performance.getEntriesByType('resource').length") >= 1
        with django_db_blocker.unblock(), in_tenant(city):
            from navigation.cases.models import Case, CaseStatus

            Case.objects.filter(pk=case_pk).update(status=CaseStatus.CLOSED)  # the case's close
        tablet.get_by_role("heading", name="お待ちください").wait_for()
        assert NAME not in tablet.content() and tablet.locator("img.tablet-page").count() == 0

        status, cache_control = tablet.evaluate(
            "url => fetch(url).then(r => [r.status, r.headers.get('cache-control')])", image_url)
        assert status == 404 and "no-store" in cache_control
        tablet.reload()
        tablet.get_by_role("heading", name="お待ちください").wait_for()
        assert "tablet-page" not in tablet.content()
        tablet.go_back()
        tablet.wait_for_load_state()
        assert "tablet-page" not in tablet.content() and NAME not in tablet.content()
        assert "/push/" not in tablet.url
        # nothing in the HTTP cache either: the image was served no-store
        tablet.goto(server.url(city.slug, "/tablet/"))
        tablet.get_by_role("heading", name="お待ちください").wait_for()
    finally:
        page.goto("about:blank")  # stop the staff screen's polling before the municipality is dropped
        tablet_context.close()
