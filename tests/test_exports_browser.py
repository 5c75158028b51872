"""Browser (real Chromium): a counter staff member downloads the CSV of pending 住民異動届 in the Japanese UI."""

import pytest

from tests.conftest import PASSWORD, axe_violations, browser_login, in_tenant
from tests.test_exports_services import JUKI

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def test_staff_downloads_pending_juki_idou_csv(live_server_mt, page, fresh_municipality, django_db_blocker):
    from integration.exports.services import export_record_submit
    from tenants.accounts.services import staff_create

    city = fresh_municipality(areas="juki")  # committed, dropped afterwards
    with django_db_blocker.unblock(), in_tenant(city):
        staff_create(actor=None, username="madoguchi1", password=PASSWORD, display_name="窓口 三郎", areas="juki")
        for index, name in enumerate(("転入 一郎", "=転入 二郎")):
            export_record_submit(kind="juki_idou", payload={**JUKI, "name": name}, source="navigation",
                                 source_id=f"C-{index}", area="juki")

    browser_login(page, live_server_mt, city.slug, "madoguchi1")
    page.wait_for_url(live_server_mt.url(city.slug, "/"))
    page.get_by_role("link", name="受付データの出力").click()
    page.wait_for_url("**/linkage/exports/")
    assert page.get_by_role("heading", name="受付データの出力").is_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name="住民異動届", exact=True).click()
    assert page.get_by_role("heading", name="住民異動届の出力").is_visible()
    assert page.locator("#pending-summary").inner_text() == "未出力の受付データ: 2件"
    assert page.get_by_label("未出力分（まだ基幹系にファイルで渡していないもの）").is_checked()
    assert axe_violations(page) == []

    with page.expect_download() as info:
        page.get_by_role("button", name="ダウンロード").click()
    download = info.value
    assert download.suggested_filename.startswith(f"juki_idou_{city.code}_")
    text = open(download.path(), encoding="utf-8", newline="").read()
    lines = text.split("\r\n")
    assert lines[0].startswith("受付連番,受付日,受付元番号,異動事由,異動日,届出日")
    assert "転入 一郎" in lines[1] and "'=転入 二郎" in lines[2] and lines[3] == ""

    page.reload()
    assert page.locator("#pending-summary").inner_text() == "未出力の受付データ: 0件"
    history = page.get_by_role("heading", name="出力履歴").locator("xpath=..").inner_text()
    assert "画面からダウンロード" in history and "madoguchi1" in history
