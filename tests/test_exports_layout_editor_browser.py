"""Export layouts without JSON (issue 17 item 9), in Chromium: a municipal admin builds a layout from lists in
Japanese, the JSON view follows (and the other way round), a refusal names the field and keeps the work, and the
saved layout is what the download writes."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import axe_violations, browser_login, in_tenant
from tests.test_exports_services import JUKI

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def _raw(page) -> dict:  # noqa: ANN001
    return json.loads(page.locator("#id_definition").input_value())


def test_admin_builds_an_export_layout_visually_and_the_download_follows_it(live_server_mt, page, fresh_municipality,
                                                                           django_db_blocker):
    from integration.exports.services import export_record_submit

    city = fresh_municipality(areas="juki")
    with django_db_blocker.unblock(), in_tenant(city):
        record = export_record_submit(kind="juki_idou", payload={**JUKI, "name": "転入 一郎"}, source="navigation",
                                      source_id="C-1", area="juki")
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None)
    browser_login(page, live_server_mt, city.slug, "admin")
    page.wait_for_load_state()
    page.goto(live_server_mt.url(city.slug, "/linkage/exports/layouts/"))
    page.get_by_role("link", name="住民異動届のレイアウトを作る").click()
    page.get_by_role("heading", name="レイアウトの作成（住民異動届）").wait_for()
    page.wait_for_load_state()  # the editor's deferred script has run
    page.locator("#id_definition").wait_for(state="hidden")  # JSON is the advanced view, closed by default
    assert page.get_by_role("heading", name="基本設定").is_visible()
    assert axe_violations(page) == []

    page.get_by_label("コード", exact=True).fill("city_a")
    page.get_by_label("名称", exact=True).fill("A市住基（和暦）")
    page.get_by_label("日付の形式").select_option(label="和暦 漢字（令和6年4月1日）")
    # Start from an empty list of columns, then add 受付連番, 異動事由 (mapped to the core system's codes), 氏名.
    first_remove = page.get_by_role("button", name=re.compile(r"^1列目（.*） 削除$"))
    while first_remove.count():
        first_remove.click()
    assert _raw(page)["columns"] == []
    for item in ("受付連番", "異動事由", "氏名"):
        page.get_by_label("追加する項目").select_option(label=item)
        page.get_by_role("button", name="列を追加").click()
    page.get_by_label("2列目 見出し").fill("異動区分")
    page.locator("summary", has_text="値の対応").click()
    page.get_by_label("2列目 「転入」（tennyu）を出力する値").fill("11")
    page.get_by_role("button", name="3列目（氏名） 上へ").click()
    assert _raw(page)["columns"] == [{"item": "_id"}, {"item": "name"},
                                     {"item": "idou_jiyu", "header": "異動区分", "map": {"tennyu": "11"}}]
    assert _raw(page)["date_style"] == "wareki_kanji"
    # The item's meaning is shown beside it, in Japanese.
    assert "異動者の氏名" in page.get_by_role("row", name="2列目").inner_text()

    # The advanced view edits the same layout: a change there rebuilds the visual editor.
    page.get_by_role("button", name="高度な表示（JSON）").click()
    changed = {**_raw(page), "columns": [*_raw(page)["columns"], {"item": "idou_date", "header": "異動年月日"}]}
    page.locator("#id_definition").fill(json.dumps(changed, ensure_ascii=False))
    assert page.get_by_label("4列目 見出し").input_value() == "異動年月日"
    page.locator("#id_definition").fill("{broken")
    assert "JSONとして読めない" in page.get_by_role("alert").first.inner_text()
    page.locator("#id_definition").fill(json.dumps(changed, ensure_ascii=False))
    page.get_by_role("button", name="高度な表示（JSON）").click()

    # Bad input: a fixed-width file needs widths. The refusal names the columns in Japanese, marks the controls
    # and keeps everything typed.
    page.get_by_label("ファイルの形式").select_option("fixed")
    assert page.get_by_label("1行目に見出し行を付ける").is_disabled()
    page.get_by_label("1列目 幅（バイト）").fill("10")
    page.get_by_role("button", name="保存", exact=True).click()
    summary = page.locator("#layout-problems-summary")
    assert "保存できませんでした" in summary.inner_text()
    expected = "2列目（氏名）の幅（バイト）（columns[1].width）: 固定長では幅（バイト数）を1〜1000の整数"
    assert expected in summary.inner_text()
    assert page.get_by_label("2列目 幅（バイト）").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("1列目 幅（バイト）").get_attribute("aria-invalid") is None
    assert page.get_by_label("3列目 見出し").input_value() == "異動区分"
    assert axe_violations(page) == []

    # Back to CSV (widths dropped) and save: the download writes what was built.
    page.get_by_label("ファイルの形式").select_option("csv")
    assert "width" not in json.dumps(_raw(page)["columns"])
    page.get_by_label("1行目に見出し行を付ける").check()
    page.get_by_role("button", name="保存", exact=True).click()
    page.wait_for_url("**/linkage/exports/layouts/")
    assert "レイアウト「A市住基（和暦）」を保存しました。" in page.locator(".messages").inner_text()
    assert page.get_by_role("link", name=re.compile(r"^編集.*A市住基（和暦）")).is_visible()
    assert axe_violations(page) == []

    page.goto(live_server_mt.url(city.slug, "/linkage/exports/juki_idou/"))
    page.get_by_label("レイアウト").first.select_option("city_a")
    with page.expect_download() as info:
        page.get_by_role("button", name="ダウンロード").click()
    lines = open(info.value.path(), encoding="utf-8", newline="").read().split("\r\n")
    assert lines[0] == "受付連番,氏名,異動区分,異動年月日"
    assert lines[1] == f"{record.pk},転入 一郎,11,令和6年3月30日"
    assert not [text for text in console if "Content Security Policy" in text or "Uncaught" in text]
