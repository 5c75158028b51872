"""The layout editor: a municipal admin defines a linkage file on screen (R3.4, R3.6).

Rules of a layout (fixed-width positions, key, delta codes, code tables) are unit-tested; the screens
are tested for a new layout, a copy, an edit, refusals that change nothing, role and city isolation.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from audit.models import AuditEvent
from integration.forms import format_code_tables, parse_code_tables
from integration.importer import layout_problems
from integration.models import LinkageLayout
from integration.services import layout_to_dict, layouts_ensure_shipped
from tests.conftest import in_tenant, staff_client


def fixed_layout(**overrides: object) -> SimpleNamespace:
    data = {"target": "residents", "format": "fixed", "encoding": "cp932", "delimiter": "", "record_length": 40,
            "mode": "full", "op_codes": {}, "key_fields": ["atena_no"], "date_formats": ["wareki_digit"],
            "code_tables": {}, "columns": [
                {"field": "atena_no", "label": "宛名番号", "start": 1, "length": 10},
                {"field": "household_no", "label": "世帯番号", "start": 11, "length": 10},
                {"field": "name", "label": "氏名", "start": 21, "length": 10},
                {"field": "birth_date", "label": "生年月日", "start": 31, "length": 7},
                {"field": "sex", "label": "性別", "start": 38, "length": 1},
            ]}
    data.update(overrides)
    return SimpleNamespace(**data)


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------
def test_a_well_formed_fixed_layout_has_no_problems():
    assert layout_problems(fixed_layout()) == []


def test_fixed_columns_may_not_overlap_or_pass_the_record_end():
    layout = fixed_layout()
    layout.columns[2]["start"] = 18  # 氏名 18–27 overlaps 世帯番号 11–20
    layout.columns[4]["length"] = 5  # 性別 38–42 > 40
    problems = layout_problems(layout)
    assert "3列目「氏名」（18〜27 バイト目）が 2列目「世帯番号」（11〜20 バイト目）と重なっています" in problems
    assert "5列目「性別」: 38〜42 バイト目はレコード長 40 バイトを超えています" in problems
    assert "固定長ファイルのレコード長（バイト）を指定してください" in layout_problems(fixed_layout(record_length=None))


def test_the_key_is_the_targets_and_a_delta_needs_its_op_codes():
    assert "キー項目は取込先「住民」では 宛名番号 です" in layout_problems(fixed_layout(key_fields=["name"]))
    delta = fixed_layout(mode="delta")
    assert "差分ファイルには「処理区分」の項目が必要です" in layout_problems(delta)
    delta.columns.append({"field": "op", "label": "区分", "start": 39, "length": 1})
    delta.columns[4]["length"] = 1
    assert "差分ファイルの処理区分コード（追加・変更・削除）を指定してください" in layout_problems(delta)
    delta.op_codes = {"1": "add", "2": "remove"}
    assert "処理区分コードの値は add / change / delete のいずれかにしてください" in layout_problems(delta)
    delta.op_codes = {"1": "add", "2": "change", "3": "delete"}
    assert layout_problems(delta) == []


def test_csv_needs_a_one_character_delimiter():
    layout = fixed_layout(format="csv", delimiter="", record_length=None)
    assert "CSVの区切り文字を1文字で指定してください" in layout_problems(layout)
    assert layout_problems(fixed_layout(format="csv", delimiter="\t", record_length=None)) == []


def test_code_tables_round_trip_and_bad_lines_are_named():
    tables = {"sex": {"1": "1", "2": "2"}, "status": {"1": "resident", "2": "moved_out"}}
    assert parse_code_tables(format_code_tables(tables)) == tables
    with pytest.raises(Exception) as caught:
        parse_code_tables("1=1\n[sex]\n1=1\n1=2\n2\n[性別]\n1=1\n2=2\n[ok]\n1=1\n")
    messages = caught.value.messages
    assert messages == [
        "1行目: 先に [表の名前] の行を書いてください",
        "4行目: コード「1」が同じ表に二度あります",
        "5行目: 「ファイルの値=取り込む値」の形で書いてください（2）",
        "6行目: 表の名前「性別」は英数字と下線で書いてください",  # (its lines are not reported again)
    ]


# ---------------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def shipped_a(in_a):
    layouts_ensure_shipped()
    return LinkageLayout.objects.get(key="juki_standard_csv")


def editor_post(data: dict, *, key: str | None = None, extra_rows: int = 0) -> dict:
    """The editor's POST for a layout in its JSON shape (what a browser would send)."""
    post = {
        "layout-name": data["name"], "layout-description": data.get("description", ""),
        "layout-format": data["format"], "layout-encoding": data["encoding"],
        "layout-delimiter": data.get("delimiter") or ",", "layout-record_length": data.get("record_length") or "",
        "layout-mode": data["mode"], "layout-date_formats": data["date_formats"],
        "layout-code_tables": format_code_tables(data.get("code_tables") or {}),
        "layout-method": data["method"], "layout-is_active": "on" if data.get("is_active", True) else "",
    }
    if key is not None:
        post["layout-key"] = key
    if data.get("has_header"):
        post["layout-has_header"] = "on"
    for name, op in (("op_add", "add"), ("op_change", "change"), ("op_delete", "delete")):
        post[f"layout-{name}"] = ",".join(c for c, v in (data.get("op_codes") or {}).items() if v == op)
    columns = list(data["columns"]) + [{}] * extra_rows
    post.update({"col-TOTAL_FORMS": str(len(columns)), "col-INITIAL_FORMS": "0", "col-MIN_NUM_FORMS": "0",
                 "col-MAX_NUM_FORMS": "200"})
    for i, column in enumerate(columns):
        post[f"col-{i}-label"] = column.get("label", "")
        post[f"col-{i}-field"] = column.get("field", "")
        post[f"col-{i}-start"] = column.get("start") or ""
        post[f"col-{i}-length"] = column.get("length") or ""
        post[f"col-{i}-ORDER"] = str(i + 1) if column else ""
        if column.get("required"):
            post[f"col-{i}-required"] = "on"
        post[f"col-{i}-chars"] = column.get("chars", "")
        post[f"col-{i}-none_values"] = ",".join(column.get("none_values") or [])
        if column.get("exists_in"):
            post[f"col-{i}-exists_in"] = "on"
        if column.get("allow_formula"):
            post[f"col-{i}-allow_formula"] = "on"
    if data.get("records"):
        post["layout-records"] = json.dumps(data["records"], ensure_ascii=False)
    if data.get("target") == "support_measures":  # the target offers two keys: the editor asks which
        post["layout-key_fields"] = ",".join(data.get("key_fields") or ["atena_no", "kind", "start_date"])
    return {k: v for k, v in post.items() if v != ""}


def test_admin_copies_a_layout_and_renames_a_header(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    page = client.get("/linkage/layouts/new/?copy=juki_standard_csv")
    assert page.status_code == 200
    text = page.content.decode()
    assert "新しいレイアウト" in text and "住民記録（標準CSV・全件）（複製）" in text
    assert "宛名番号（取込先で決まります）" in text

    data = layout_to_dict(layout=shipped_a)
    data["name"] = "住民記録（本市CSV）"
    data["columns"][[c["field"] for c in data["columns"]].index("name")]["label"] = "氏名（漢字）"
    response = client.post("/linkage/layouts/new/?copy=juki_standard_csv", editor_post(data, key="city_csv",
                                                                                        extra_rows=2))
    assert response.status_code == 302, response.content.decode()[:3000]
    with in_tenant(tenant_a):
        created = LinkageLayout.objects.get(key="city_csv")
        assert created.name == "住民記録（本市CSV）" and created.target == "residents"
        assert [c["field"] for c in created.columns] == [c["field"] for c in shipped_a.columns]
        assert "氏名（漢字）" in [c["label"] for c in created.columns]
        assert created.code_tables == shipped_a.code_tables and created.options == shipped_a.options
        assert created.key_fields == ["atena_no"] and not created.shipped
        event = AuditEvent.objects.filter(target_type="linkage_layout", target_id="city_csv").latest("seq")
        assert event.action == "create"
        shipped_a.refresh_from_db()
        assert "氏名（漢字）" not in [c["label"] for c in shipped_a.columns]  # the original is untouched


def test_a_refused_edit_names_the_problem_and_changes_nothing(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    with in_tenant(tenant_a):
        layout = LinkageLayout.objects.get(key="juki_legacy_fixed")
        before = layout_to_dict(layout=layout)
    data = dict(before)
    data["columns"] = [dict(c) for c in before["columns"]]
    data["columns"][2]["start"] = data["columns"][1]["start"] + 2  # 世帯番号 now overlaps 宛名番号
    data["code_tables"] = {**before["code_tables"], "sex": {"1": "1", "2": "female"}}
    response = client.post("/linkage/layouts/juki_legacy_fixed/edit/", editor_post(data))
    assert response.status_code == 400  # refused, the editor shown again with the problem named
    text = response.content.decode()
    assert "保存できませんでした" in text
    assert "3列目「世帯番号」" in text and "重なっています" in text
    assert "コード表「sex」の変換先 [&#x27;female&#x27;] は使用できません" in text
    with in_tenant(tenant_a):
        layout.refresh_from_db()
        assert layout_to_dict(layout=layout) == before


def test_admin_edits_date_formats_and_delta_codes(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    with in_tenant(tenant_a):
        data = layout_to_dict(layout=LinkageLayout.objects.get(key="juki_delta_csv"))
        schedules = list(LinkageLayout.objects.get(key="juki_delta_csv").schedules.values())
    data["date_formats"] = ["wareki_kanji", "yyyymmdd"]
    data["op_codes"] = {"A": "add", "1": "add", "C": "change", "D": "delete"}
    response = client.post("/linkage/layouts/juki_delta_csv/edit/", editor_post(data, key="renamed"))
    assert response.status_code == 302
    with in_tenant(tenant_a):
        layout = LinkageLayout.objects.get(key="juki_delta_csv")  # the key cannot be changed by the editor
        assert set(layout.date_formats) == {"wareki_kanji", "yyyymmdd"}
        assert layout.op_codes == {"A": "add", "1": "add", "C": "change", "D": "delete"}
        assert not LinkageLayout.objects.filter(key="renamed").exists()
        assert list(layout.schedules.values()) == schedules  # the schedule has its own form

    data["op_codes"] = {"A": "add", "B": "change"}
    post = editor_post(data)
    post["layout-op_delete"] = "A"
    response = client.post("/linkage/layouts/juki_delta_csv/edit/", post)
    assert "コード「A」は別の処理区分にも指定されています" in response.content.decode()


def test_a_new_layout_cannot_take_an_existing_key(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    with in_tenant(tenant_a):
        before = layout_to_dict(layout=LinkageLayout.objects.get(key="juki_legacy_fixed"))
    data = layout_to_dict(layout=shipped_a)
    response = client.post("/linkage/layouts/new/?target=residents", editor_post(data, key="juki_legacy_fixed"))
    assert "識別子「juki_legacy_fixed」は既に使われています" in response.content.decode()
    response = client.post("/linkage/layouts/new/?target=residents", editor_post(data, key="new"))
    assert "識別子「new」は画面のアドレスに使われているため使えません" in response.content.decode()
    with in_tenant(tenant_a):
        assert layout_to_dict(layout=LinkageLayout.objects.get(key="juki_legacy_fixed")) == before


def test_new_layout_for_a_target_starts_with_its_required_fields(tenant_a, shipped_a):
    client = staff_client(tenant_a, "admin")
    text = client.get("/linkage/layouts/new/?target=eligibility:kaigo").content.decode()
    assert "資格情報（介護保険）" in text
    assert 'value="atena_no" selected' in text and 'value="kind" selected' in text


def test_only_municipal_admins_and_only_subscribed_targets(tenant_a, tenant_b, shipped_a):
    staff = staff_client(tenant_a, "staff1")
    assert staff.get("/linkage/layouts/new/?target=residents").status_code == 403
    assert staff.get("/linkage/layouts/juki_standard_csv/edit/").status_code == 403
    assert staff.post("/linkage/layouts/juki_standard_csv/edit/", {}).status_code == 403

    with in_tenant(tenant_b):
        layouts_ensure_shipped()
    admin_b = staff_client(tenant_b, "admin")
    refused = admin_b.get("/linkage/layouts/new/?target=eligibility:kaigo", follow=True)  # B has juki + kokuho
    assert "取込先を選んでください（契約している業務の取込先のみ選べます）" in refused.content.decode()
    assert "eligibility:kaigo" not in admin_b.get("/linkage/layouts/").content.decode()


def test_another_city_cannot_see_or_change_a_citys_layout(tenant_a, tenant_b, shipped_a):
    admin_a = staff_client(tenant_a, "admin")
    data = layout_to_dict(layout=shipped_a)
    assert admin_a.post("/linkage/layouts/new/?copy=juki_standard_csv",
                        editor_post(data, key="a_only")).status_code == 302
    admin_b = staff_client(tenant_b, "admin")
    assert admin_b.get("/linkage/layouts/a_only/edit/").status_code == 404
    assert admin_b.post("/linkage/layouts/a_only/edit/", editor_post(data)).status_code == 404
    assert admin_b.get("/linkage/layouts/new/?copy=a_only").status_code == 404
    with in_tenant(tenant_b):
        assert not LinkageLayout.objects.filter(key="a_only").exists()


# ---------------------------------------------------------------------------------------------
# Browser (real Chromium): copy a layout, rename a header, fix a refused save, import with it
# ---------------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.schema
@pytest.mark.worker
def test_admin_defines_a_layout_on_screen_and_imports_with_it(live_server_mt, page, fresh_municipality,
                                                              django_db_blocker, celery_worker_process, tmp_path):
    import csv
    import io
    import re

    from integration.models import Resident
    from tests.conftest import axe_violations, browser_login
    from tests.test_integration_import import FIELDS, HEADER, person

    city = fresh_municipality(areas="juki,kokuho")
    server = live_server_mt
    browser_login(page, server, city.slug, "admin")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(server.url(city.slug, "/linkage/layouts/"))
    page.get_by_role("link", name=re.compile(r"^複製して作成\s*（住民記録（標準CSV・全件））$")).click()
    page.wait_for_url("**/linkage/layouts/new/?copy=juki_standard_csv")
    assert page.get_by_role("heading", name="新しいレイアウト").is_visible()
    assert axe_violations(page) == []

    page.get_by_label("識別子").fill("city_csv")
    page.get_by_label(re.compile(r"^名称")).fill("住民記録（本市CSV）")
    name_row = HEADER.index("氏名") + 1
    page.get_by_label(f"{name_row}行目の見出し・名称", exact=True).fill("氏名（漢字）")
    # Rows beyond the three spare ones: 「行を追加」 adds one at a time, focused, announced.
    shown = len(HEADER) + 3
    assert page.locator("#layout-columns tbody tr").count() == shown
    add = page.get_by_role("button", name="行を追加")
    add.click()
    add.click()
    extra = shown + 2
    assert page.locator("#layout-columns tbody tr").count() == extra
    assert page.locator("#layout-add-column-status").inner_text() == f"{extra}行目を追加しました"
    assert page.evaluate("document.activeElement.id") == f"id_col-{extra - 1}-label"
    assert page.get_by_label(f"{extra}行目の順序", exact=True).input_value() == str(len(HEADER) + 2)
    assert axe_violations(page) == []
    # A mistake first: a second column also mapped to 氏名 — refused, the rows as typed are kept.
    page.get_by_label(f"{extra}行目の見出し・名称", exact=True).fill("氏名2")
    page.get_by_label(f"{extra}行目の取り込む項目", exact=True).select_option(label="氏名")
    page.get_by_role("button", name="保存").click()
    alert = page.locator("#layout-errors")
    assert "保存できませんでした" in alert.inner_text()
    assert f"{len(HEADER) + 1}列目: 項目「氏名」が重複しています" in alert.inner_text()
    assert page.get_by_label(f"{name_row}行目の見出し・名称", exact=True).input_value() == "氏名（漢字）"
    assert page.get_by_label(f"{extra}行目の見出し・名称", exact=True).input_value() == "氏名2"
    assert axe_violations(page) == []

    page.get_by_label(f"{extra}行目を削除", exact=True).check()
    page.get_by_role("button", name="保存").click()
    page.get_by_text("レイアウト「住民記録（本市CSV）」を作成しました。").wait_for()
    assert page.get_by_role("cell", name="氏名（漢字）").is_visible()

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["氏名（漢字）" if label == "氏名" else label for label in HEADER])
    for n in range(1, 4):
        row = person(n, municipality_code=city.code)
        writer.writerow([row[f] for f in FIELDS])
    upload = tmp_path / "city_20261204.csv"
    upload.write_bytes(buffer.getvalue().encode("utf-8"))

    page.goto(server.url(city.slug, "/linkage/"))
    page.get_by_label("レイアウト").select_option(label="住民記録（本市CSV）")
    page.get_by_label("連携ファイル").set_input_files(str(upload))
    page.get_by_role("button", name="取り込む").click()
    page.wait_for_url("**/linkage/runs/**")
    page.get_by_text("3 行を取り込みました（追加 3・変更 0・削除 0）").wait_for(timeout=30000)
    with django_db_blocker.unblock(), in_tenant(city):
        assert Resident.objects.count() == 3


def test_the_same_layout_key_in_both_cities_is_edited_only_where_it_is(tenant_a, tenant_b, shipped_a):
    """Both cities have ``juki_standard_csv`` (shipped): an edit at A changes A's row only, and B's editor
    shows and saves B's own row under the same key."""
    data_a = layout_to_dict(layout=shipped_a)
    with in_tenant(tenant_b):
        layouts_ensure_shipped()
        before_b = layout_to_dict(layout=LinkageLayout.objects.get(key="juki_standard_csv"))
    admin_a, admin_b = staff_client(tenant_a, "admin"), staff_client(tenant_b, "admin")
    assert admin_a.post("/linkage/layouts/juki_standard_csv/edit/",
                        editor_post({**data_a, "name": "A市だけの名前"})).status_code == 302
    with in_tenant(tenant_b):
        assert layout_to_dict(layout=LinkageLayout.objects.get(key="juki_standard_csv")) == before_b
    editor_b = admin_b.get("/linkage/layouts/juki_standard_csv/edit/")
    assert editor_b.status_code == 200 and "A市だけの名前" not in editor_b.content.decode()
    assert admin_b.post("/linkage/layouts/juki_standard_csv/edit/",
                        editor_post({**before_b, "name": "B区だけの名前"})).status_code == 302
    with in_tenant(tenant_a):
        assert LinkageLayout.objects.get(key="juki_standard_csv").name == "A市だけの名前"
        assert not AuditEvent.objects.filter(details__icontains="B区だけの名前").exists()
    with in_tenant(tenant_b):
        assert LinkageLayout.objects.get(key="juki_standard_csv").name == "B区だけの名前"


def test_every_shipped_and_vendor_layout_opens_and_saves_unchanged(tenant_a, shipped_a):
    """Opened in the editor and saved as it is, each layout — details.* columns, record kinds, file checks and
    column rules included — is exactly what it was (the eligibility layout could not be saved before)."""
    from integration.services import layout_import_json
    from integration.vendorfiles import VENDOR_DIR
    from madoguchi.principals import SYSTEM

    for path in sorted(VENDOR_DIR.glob("*.json")):
        layout_import_json(actor=SYSTEM, data=path.read_bytes())
    client = staff_client(tenant_a, "admin")
    keys = list(LinkageLayout.objects.order_by("key").values_list("key", flat=True))
    assert "elig_kokuho_csv" in keys and "minato_juki_fixed" in keys and "minato_shikaku_csv" in keys
    for key in keys:
        before = layout_to_dict(layout=LinkageLayout.objects.get(key=key))
        page = client.get(f"/linkage/layouts/{key}/edit/")
        assert page.status_code == 200, key
        response = client.post(f"/linkage/layouts/{key}/edit/", editor_post(before))
        assert response.status_code == 302, (key, response.content.decode()[-3000:])
        assert layout_to_dict(layout=LinkageLayout.objects.get(key=key)) == before, key


def test_the_editor_changes_record_kinds_and_refuses_bad_ones(tenant_a, shipped_a):
    from integration.services import layout_import_json
    from integration.vendorfiles import VENDOR_DIR
    from madoguchi.principals import SYSTEM

    layout_import_json(actor=SYSTEM, data=(VENDOR_DIR / "minato_juki_fixed.json").read_bytes())
    client = staff_client(tenant_a, "admin")
    data = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    data["records"]["checks"] = ["municipality_code", "record_count"]  # the admin drops two checks
    assert client.post("/linkage/layouts/minato_juki_fixed/edit/", editor_post(data)).status_code == 302
    assert LinkageLayout.objects.get(key="minato_juki_fixed").records["checks"] == ["municipality_code",
                                                                                    "record_count"]
    broken = editor_post(data)
    broken["layout-records"] = '{"checks": ["record_count"],'
    page = client.post("/linkage/layouts/minato_juki_fixed/edit/", broken).content.decode()
    assert "JSONとして読めません" in page
    data["records"]["checks"] = ["no_such_check"]
    page = client.post("/linkage/layouts/minato_juki_fixed/edit/", editor_post(data)).content.decode()
    assert "ファイル検査「no_such_check」は使用できません" in page
    assert LinkageLayout.objects.get(key="minato_juki_fixed").records["checks"] == ["municipality_code",
                                                                                    "record_count"]
