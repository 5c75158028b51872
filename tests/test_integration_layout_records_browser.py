"""Record kinds in the layout editor, in Chromium (Japanese UI): a municipal admin adds the trailer of the vendor's
fixed-width 住基 file (docs/vendor-spec.md §1: レコード区分 9, 件数 in bytes 2–10) and turns on the count check by
clicking and typing — no JSON — sees a refusal named by record kind and field, saves, and the layout page shows it;
the JSON view follows the fields and the other way round; the same key in another municipality is untouched."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import axe_violations, browser_login, in_tenant

pytestmark = [pytest.mark.browser, pytest.mark.schema]


def vendor_without_trailer() -> bytes:
    from integration.vendorfiles import vendor_layout

    spec = vendor_layout("minato_juki_fixed")
    del spec["records"]["trailer"]
    spec["records"]["checks"].remove("record_count")
    return json.dumps(spec, ensure_ascii=False).encode()


def test_admin_adds_a_trailer_with_its_count_check_by_clicking_and_typing(live_server_mt, page, fresh_municipality,
                                                                         django_db_blocker):
    from integration.models import ImportRun, LinkageLayout
    from integration.services import import_submit, layout_import_json, layout_to_dict
    from integration.vendorfiles import vendor_layout, vendor_people, write_vendor_file
    from madoguchi.principals import SYSTEM

    city, other = fresh_municipality(areas="juki"), fresh_municipality(areas="juki")
    with django_db_blocker.unblock():
        for municipality in (city, other):
            with in_tenant(municipality):
                layout_import_json(actor=SYSTEM, data=vendor_without_trailer())
        with in_tenant(other):
            other_before = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None)
    browser_login(page, live_server_mt, city.slug, "admin")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live_server_mt.url(city.slug, "/linkage/layouts/minato_juki_fixed/edit/"))
    assert page.get_by_role("heading", name="レコード種別とファイル検査").is_visible()
    assert not page.locator("#id_layout-records").is_visible()  # the JSON is the advanced view, closed
    trailer = page.get_by_role("group", name="トレーラレコード")
    assert not trailer.get_by_label("トレーラのレコード区分の値").is_visible()  # no trailer yet: nothing to fill
    assert page.get_by_label("レコード区分の開始位置（固定長、バイト）").input_value() == "1"
    assert not page.get_by_label("レコード区分の列番号（CSV、1から）").is_visible()  # a fixed-width file
    assert axe_violations(page) == []

    trailer.get_by_label("あり（必ずある）").check()
    assert trailer.get_by_label("レコード区分の値で見分ける").is_checked()
    trailer.get_by_label("トレーラのレコード区分の値").fill("9")
    page.get_by_label("トレーラ 1行目の項目の意味", exact=True).select_option(label="レコード区分")
    page.get_by_label("トレーラ 1行目の見出し・名称", exact=True).fill("レコード区分")
    page.get_by_label("トレーラ 1行目の開始位置", exact=True).fill("1")
    page.get_by_label("トレーラ 1行目の長さ", exact=True).fill("1")
    # A third row (two spare rows are shown): added, focused, announced.
    trailer.get_by_role("button", name="トレーラの行を追加").click()
    assert page.locator("#record-columns-trailer tbody tr").count() == 3
    assert page.evaluate("document.activeElement.id") == "id_tcol-2-field"
    assert page.locator("#record-columns-trailer-status").inner_text() == "トレーラの3行目を追加しました"
    page.get_by_label("トレーラ 3行目の項目の意味", exact=True).select_option(label="件数")
    page.get_by_label("トレーラ 3行目の見出し・名称", exact=True).fill("件数")
    page.get_by_label("トレーラ 3行目の開始位置", exact=True).fill("2")
    page.get_by_label("トレーラの件数がデータレコードの件数と同じであること").check()

    # The JSON view follows the fields …
    page.get_by_text("JSONで編集（上級者向け）").click()
    records = json.loads(page.locator("#id_layout-records").input_value())
    assert records["trailer"] == {"code": "9", "required": True, "columns": [
        {"field": "record_type", "label": "レコード区分", "start": 1, "length": 1},
        {"field": "record_count", "label": "件数", "start": 2}]}
    assert records["checks"] == ["municipality_code", "record_count", "file_kind", "reference_date"]
    # … and the fields follow the JSON.
    records["trailer"]["code"] = "8"
    page.locator("#id_layout-records").fill(json.dumps(records, ensure_ascii=False))
    assert trailer.get_by_label("トレーラのレコード区分の値").input_value() == "8"
    # (the rows are the JSON's columns in order: the count is now on the second row, the third is empty)
    assert page.get_by_label("トレーラ 2行目の項目の意味", exact=True).input_value() == "record_count"
    assert page.get_by_label("トレーラ 3行目の開始位置", exact=True).input_value() == ""
    assert page.locator("#records-json-status").inner_text() == "JSONの内容を画面の項目に反映しました。"
    page.locator("#id_layout-records").fill("{broken")
    assert "JSONとして読めない" in page.locator("#records-json-status").inner_text()
    assert trailer.get_by_label("トレーラのレコード区分の値").is_disabled()
    page.locator("#id_layout-records").fill(json.dumps(records, ensure_ascii=False))
    trailer.get_by_label("トレーラのレコード区分の値").fill("9")
    assert json.loads(page.locator("#id_layout-records").input_value())["trailer"]["code"] == "9"
    page.get_by_text("JSONで編集（上級者向け）").click()

    # Saved without the count's length: refused, the record kind and field named, everything typed kept.
    page.get_by_role("button", name="保存", exact=True).click()
    alert = page.locator("#layout-errors")
    assert "保存できませんでした" in alert.inner_text()
    assert "トレーラ: 件数の長さ（バイト）を指定してください" in alert.inner_text()
    length = page.get_by_label("トレーラ 2行目の長さ", exact=True)
    assert length.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("トレーラ 2行目の開始位置", exact=True).input_value() == "2"
    assert page.get_by_label("トレーラの件数がデータレコードの件数と同じであること").is_checked()
    assert axe_violations(page) == []
    with django_db_blocker.unblock(), in_tenant(city):
        assert "trailer" not in LinkageLayout.objects.get(key="minato_juki_fixed").records

    length.fill("9")
    page.get_by_role("button", name="保存", exact=True).click()
    page.get_by_text("レイアウト「住民記録（ミナト情報システム 固定長・全件/差分）」を保存しました。").wait_for()
    summary = page.get_by_role("region", name="レコード種別とファイル検査")
    assert "レコード区分「9」（必ずある）" in summary.get_by_role("row", name=re.compile("^トレーラ")).inner_text()
    assert "件数 2〜10 バイト目" in summary.get_by_role("row", name=re.compile("^トレーラ")).inner_text()
    assert summary.get_by_text("トレーラの件数がデータレコードの件数と同じであること").is_visible()
    assert axe_violations(page) == []
    assert not [text for text in console if "Content Security Policy" in text or "Uncaught" in text]

    with django_db_blocker.unblock():
        with in_tenant(city):
            layout = LinkageLayout.objects.get(key="minato_juki_fixed")
            assert layout.records == vendor_layout("minato_juki_fixed")["records"]  # the vendor's specification
            people = vendor_people(residents=6, seed=5)
            data = write_vendor_file("minato_juki_fixed", people, municipality_code=city.code, file_kind="full")
            run = import_submit(layout=layout, source=data, file_name="JUKI.DAT", run_async=False, actor=SYSTEM)
            assert run.status == ImportRun.Status.SUCCEEDED, run.errors
            assert run.rows_total == len(people)  # the trailer is read as the trailer, not as a resident
        with in_tenant(other):  # the same key elsewhere: unchanged
            assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == other_before
    browser_login(page, live_server_mt, other.slug, "admin")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(live_server_mt.url(other.slug, "/linkage/layouts/minato_juki_fixed/edit/"))
    assert not page.get_by_role("group", name="トレーラレコード").get_by_label("あり（必ずある）").is_checked()
