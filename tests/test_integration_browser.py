"""Browser (real Chromium): a municipal admin uploads linkage files and reads the result in Japanese."""

from __future__ import annotations

import pytest

from tests.conftest import axe_violations, browser_login, in_tenant
from tests.test_integration_import import person, std_csv

pytestmark = [pytest.mark.browser, pytest.mark.schema, pytest.mark.worker]


def test_admin_uploads_a_file_and_sees_the_result(live_server_mt, page, fresh_municipality, django_db_blocker,
                                                  celery_worker_process, tmp_path):
    city = fresh_municipality(areas="juki,kokuho")
    server = live_server_mt
    bad = tmp_path / "juki_bad.csv"
    bad.write_bytes(std_csv([person(1, municipality_code=city.code), person(2, municipality_code=city.code,
                                                                              birth_date="令和0年4月1日")]))
    good = tmp_path / "juki_20260401.csv"
    good.write_bytes(std_csv([person(n, municipality_code=city.code) for n in range(1, 6)]))

    browser_login(page, server, city.slug, "admin")
    page.goto(server.url(city.slug, "/"))
    page.get_by_role("link", name="基幹系連携").first.click()
    page.wait_for_url("**/linkage/")
    assert page.get_by_role("heading", name="ファイルを取り込む").is_visible()
    assert axe_violations(page) == []

    page.get_by_label("レイアウト").select_option(label="住民記録（標準CSV・全件）")
    page.get_by_label("連携ファイル").set_input_files(str(bad))
    page.get_by_role("button", name="取り込む").click()
    page.wait_for_url("**/linkage/runs/**")
    errors = page.locator("#run-errors")
    errors.wait_for(timeout=30000)  # htmx polls the progress, then the page shows the result
    assert "取り込みませんでした" in page.content()
    row = errors.locator("tbody tr").first
    assert row.locator("td").nth(0).inner_text() == "3"
    assert row.locator("td").nth(1).inner_text() == "生年月日"
    assert "令和0年は存在しません" in row.locator("td").nth(2).inner_text()
    assert axe_violations(page) == []
    # the list to send to the core-system vendor
    with page.expect_download() as caught:
        page.get_by_role("link", name="エラー一覧をCSVでダウンロード").click()
    download = caught.value
    assert download.suggested_filename.startswith("linkage-run-") and download.suggested_filename.endswith(".csv")
    lines = open(download.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "行,項目,内容" and lines[1].startswith("3,生年月日,") and "令和0年は存在しません" in lines[1]

    page.goto(server.url(city.slug, "/linkage/"))
    page.get_by_label("レイアウト").select_option(label="住民記録（標準CSV・全件）")
    page.get_by_label("連携ファイル").set_input_files(str(good))
    page.get_by_role("button", name="取り込む").click()
    page.wait_for_url("**/linkage/runs/**")
    page.get_by_text("5 行を取り込みました（追加 5・変更 0・削除 0）").wait_for(timeout=30000)

    from integration.models import Resident

    with django_db_blocker.unblock(), in_tenant(city):
        assert Resident.objects.count() == 5
