"""Browser (real Chromium, Japanese UI): 訂正 of a closed case's hand-back.

A 窓口職員 closed a 転入 case whose new address went to the core system. The resident calls: the room number
(方書) was wrong. She opens the closed case, 「訂正」, picks 新住所の方書, types the new 方書 and the reason, saves,
sees 訂正を送信しました and the correction in the history; the core system gets one correction record per person
naming the original record, and the original is unchanged.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import PASSWORD, axe_violations, in_tenant, provisioned_counter
from tests.test_cases_browser import _login_at

pytestmark = [pytest.mark.browser, pytest.mark.schema]

NEW_KATAGAKI = "みなみ荘 302"
REASON = "本人から電話で部屋番号の誤りの申出"


def _setup(city, django_db_blocker) -> int:
    """Counter, a 窓口職員, a 転入 of two newcomers with the new address typed, closed — committed."""
    from forms_builder.models import AddressArea
    from forms_builder.services import case_entries_save, templates_install_defaults
    from navigation.cases.services import case_open
    from navigation.services import catalogue_install_default
    from tenants.accounts.services import staff_create
    from tests.test_handback import _answer_all, _complete_and_close

    with django_db_blocker.unblock(), in_tenant(city):
        counter = provisioned_counter("総合窓口", name="総合窓口 1番", sort_order=1)
        clerk = staff_create(actor=None, username="madoguchi1", password=PASSWORD, display_name="窓口 三郎",
                             areas="juki", department=counter.department)
        catalogue_install_default()
        templates_install_defaults()
        AddressArea.objects.create(code="4620100001", name="山下町", kana="ヤマシタチョウ", postcode="8920816")
        people = {"staff1": clerk, "A": counter}
        case = case_open(actor=clerk, counter=counter, event_date=date.today(), events=["tennyu"], newcomers=[
            {"name": "転入 一郎", "name_kana": "テンニュウ イチロウ", "birth_date": date(1985, 4, 2), "sex": "1",
             "relationship": "世帯主"},
            {"name": "転入 花子", "name_kana": "テンニュウ ハナコ", "birth_date": date(1987, 7, 7), "sex": "2",
             "relationship": "妻"}])
        case = _answer_all(case, people)
        case_entries_save(actor=clerk, counter=counter, case=case, values={
            ("new_address", ""): {"code": "4620100001", "banchi": "11番1号", "katagaki": "みなみ荘 203"},
            ("previous_address", ""): "東京都千代田区霞が関1丁目1番1号"})
        _complete_and_close(case, people)
    return case.pk


def test_a_clerk_corrects_the_katagaki_of_a_closed_case(live_server_mt, page, fresh_municipality,
                                                       django_db_blocker):
    city = fresh_municipality(areas="juki")
    case_pk = _setup(city, django_db_blocker)
    with django_db_blocker.unblock(), in_tenant(city):
        from integration.exports.models import ExportRecord

        originals = {r.pk: r.payload for r in ExportRecord.objects.filter(kind="juki_idou")}
    assert len(originals) == 2
    server = live_server_mt

    _login_at(page, server, city, "madoguchi1", "総合窓口 1番")
    page.goto(server.url(city.slug, f"/navi/cases/{case_pk}/"))
    page.get_by_role("link", name="訂正", exact=True).click()
    page.wait_for_url(f"**/navi/cases/{case_pk}/corrections/")
    assert page.get_by_role("heading", level=1).inner_text().endswith("の訂正")
    page.get_by_label("訂正する項目").select_option(value="new_address.katagaki")
    page.get_by_label("訂正後の値").fill(NEW_KATAGAKI)
    page.get_by_role("button", name="訂正を送信する").click()
    # the reason is mandatory: refused, named, nothing sent
    assert "訂正の理由を入力してください" in page.locator("#correction-form").inner_text()
    page.get_by_label("訂正の理由").fill(REASON)
    page.get_by_label("訂正後の値").fill(NEW_KATAGAKI)
    page.get_by_role("button", name="訂正を送信する").click()
    page.get_by_text("訂正を送信しました").wait_for()
    history = page.locator("#corrections").inner_text()
    assert "新住所の方書" in history and "みなみ荘 203 → " + NEW_KATAGAKI in history and REASON in history
    assert axe_violations(page) == []

    with django_db_blocker.unblock(), in_tenant(city):
        from integration.exports.models import ExportRecord
        from navigation.cases.models import Case

        records = list(ExportRecord.objects.filter(kind="juki_idou").order_by("id"))
        corrections = [r for r in records if r.corrects_id]
        assert len(records) == 4 and sorted(r.corrects_id for r in corrections) == sorted(originals)
        assert all(r.payload == {**originals[r.corrects_id], "new_katagaki": NEW_KATAGAKI} for r in corrections)
        assert all(r.payload == originals[r.pk] for r in records if not r.corrects_id)
        assert Case.objects.get(pk=case_pk).status == "closed"
