"""Record kinds and file checks in the layout editor as fields (issue 15 item 8).

A municipality configures a vendor's real files — header, data and trailer records, the header's file-kind codes,
the file-level checks — through the editor's fields, without writing JSON. Written from docs/vendor-spec.md (the
vendor's specification) and docs/integration.md “Record kinds”: the fields compose the same ``records`` JSON the
engine reads (one truth with the JSON view), every shipped and vendor layout opens and saves byte-identical, every
refusal names the record kind and the field, and nothing is saved on an error.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from integration.forms import format_code_tables
from integration.importer.kinds import CHECKS, FRAME_FIELDS
from integration.models import ImportRun, LinkageLayout, Resident
from integration.records_editor import (
    RecordKindsForm,
    blank_state,
    compose,
    decompose,
    state_problems,
)
from integration.services import import_submit, layout_import_json, layout_to_dict, layouts_ensure_shipped
from integration.vendorfiles import VENDOR_DIR, vendor_layout, vendor_people, write_vendor_file
from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant, staff_client

SHIPPED_DIR = VENDOR_DIR.parent.parent / "integration" / "layouts"
ALL_FILES = sorted(SHIPPED_DIR.glob("*.json")) + sorted(VENDOR_DIR.glob("*.json"))


# ---------------------------------------------------------------------------------------------
# The page's form as a browser would send it (no JavaScript)
# ---------------------------------------------------------------------------------------------
class FormReader(HTMLParser):
    """The successful controls of the layout editor's form (what a browser posts), outside <template>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.in_form = self.template = 0
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.option: list | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form" and "layout-editor" in (a.get("class") or ""):
            self.in_form = 1
        if not self.in_form:
            return
        if tag == "template":
            self.template += 1
        if self.template or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "selected" in a, ""]
            self.options.append(self.option)
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)
        if self.option is not None:
            self.option[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = 0
        if not self.in_form:
            return
        if tag == "template":
            self.template -= 1
        elif tag == "select" and self.select is not None:
            chosen = [o for o in self.options if o[1]] or self.options[:1]
            for value, _selected, text in chosen:
                self.fields.append((self.select, value if value is not None else text))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            self.fields.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "option":
            self.option = None


def page_form(html: str) -> dict[str, list[str]]:
    reader = FormReader()
    reader.feed(html)
    form: dict[str, list[str]] = {}
    for name, value in reader.fields:
        form.setdefault(name, []).append(value)
    return form


def choose(form: dict, name: str, value: object) -> None:
    """Type or choose a value (a checkbox: True/False)."""
    if value is True:
        form[name] = ["on"]
    elif value is False or value is None:
        form.pop(name, None)
    else:
        form[name] = [str(value)]


def fill_rows(form: dict, prefix: str, rows: list[dict]) -> None:
    """Fill the first rows of a header/trailer column table (more rows than shown: as 「行を追加」 does)."""
    total = int(form[f"{prefix}-TOTAL_FORMS"][0])
    form[f"{prefix}-TOTAL_FORMS"] = [str(max(total, len(rows)))]
    for i, row in enumerate(rows):
        for name in ("field", "label", "start", "length"):
            choose(form, f"{prefix}-{i}-{name}", row.get(name, ""))


def canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# JSON ⇄ fields: one truth
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_every_shipped_and_vendor_layout_is_shown_by_the_fields_and_composed_byte_identical(path):
    layout = json.loads(path.read_text(encoding="utf-8"))
    records = layout.get("records") or {}
    state = decompose(records, fixed=layout["format"] == "fixed")
    assert state is not None, "the fields can show this layout's record kinds"
    assert canonical(compose(state, fixed=layout["format"] == "fixed")) == canonical(records)


def test_the_vendor_fixed_width_spec_read_as_fields():
    """docs/vendor-spec.md §1: record type at byte 1, 1 header / 2 data / 9 trailer, both required."""
    state = decompose(vendor_layout("minato_juki_fixed")["records"], fixed=True)
    assert (state["type_start"], state["type_length"], state["data_code"]) == (1, 1, "2")
    assert state["header"]["presence"] == "required" and state["header"]["code"] == "1"
    assert [(c["field"], c["start"], c["length"]) for c in state["header"]["columns"]] == [
        ("record_type", 1, 1), ("municipality_code", 2, 6), ("file_kind", 8, 1), ("reference_date", 9, 7),
        ("created_on", 16, 7)]
    assert [(c["field"], c["start"], c["length"]) for c in state["trailer"]["columns"]] == [
        ("record_type", 1, 1), ("record_count", 2, 9)]
    assert (state["full_codes"], state["delta_codes"]) == (["1"], ["2"])
    assert state["checks"] == ["municipality_code", "record_count", "file_kind", "reference_date"]


def test_what_the_fields_cannot_show_exactly_is_left_to_the_json_view():
    good = vendor_layout("minato_shikaku_csv")["records"]
    assert decompose(good, fixed=False) is not None
    for broken in (
        {**good, "type": {"column": "1"}},  # a number written as text
        {**good, "comment": "x"},  # a key the engine does not know
        {**good, "header": {**good["header"], "required": 1}},  # not true/false
        {**good, "header": {**good["header"], "code": 1}},
        {**good, "checks": ["record_count", "municipality_code"]},  # another order
        {**good, "trailer": {**good["trailer"], "columns": [{"field": "record_count", "start": 2}]}},  # CSV start
        {"type": {"start": 1, "length": 1}},  # fixed-width position on a CSV layout
        ["not", "an", "object"],
    ):
        assert decompose(broken, fixed=False) is None, broken
    assert decompose({}, fixed=False) == blank_state() and compose(blank_state(), fixed=False) == {}


def test_every_check_and_field_of_the_engine_has_its_control():
    form = RecordKindsForm()
    for check in CHECKS:  # a check added to the engine without a field here fails this test
        assert f"check_{check}" in form.fields and str(form.fields[f"check_{check}"].label)
    from integration.records_editor import RecordColumnForm

    for kind, fields in FRAME_FIELDS.items():
        offered = [value for value, _label in RecordColumnForm(kind=kind).fields["field"].choices if value]
        assert offered == list(fields)


# ---------------------------------------------------------------------------------------------
# Checks of the fields, each naming the record kind and the field
# ---------------------------------------------------------------------------------------------
def vendor_state() -> dict:
    return decompose(vendor_layout("minato_juki_fixed")["records"], fixed=True)


def vendor_columns() -> list[dict]:
    return vendor_layout("minato_juki_fixed")["columns"]


def messages(state: dict, **kwargs: object) -> list[str]:
    context = {"fixed": True, "record_length": 320, "has_header": False, "op_codes": {"1": "add"},
               "data_columns": vendor_columns(), **kwargs}
    return [message for _where, _name, message in state_problems(state, **context)]


def test_the_vendor_state_has_no_problem():
    assert messages(vendor_state()) == []


def test_a_trailer_count_column_without_a_position_is_named():
    state = vendor_state()
    state["trailer"]["columns"][1]["start"] = None
    assert messages(state) == ["トレーラ: 件数の開始位置を指定してください"]
    state["trailer"]["columns"][1].update(start=0, length=None)
    assert messages(state) == ["トレーラ: 件数の開始位置は1以上にしてください",
                               "トレーラ: 件数の長さ（バイト）を指定してください"]


def test_the_count_check_needs_the_trailers_count_column():
    state = vendor_state()
    del state["trailer"]["columns"][1]
    assert messages(state) == ["トレーラ: 「件数」の項目がありません（検査「件数の確認」に必要です）"]
    state["trailer"]["presence"] = ""
    state["trailer"]["columns"] = []
    assert messages(state) == ["トレーラ: 検査「件数の確認」にはトレーラレコードが必要です。"
                               "「トレーラ」を「あり」にして「件数」の項目を加えてください"]
    state["checks"].remove("record_count")
    assert messages(state) == []


def test_overlapping_record_type_values_are_refused():
    state = vendor_state()
    state["trailer"]["code"] = "1"
    assert messages(state) == ["トレーラ: レコード区分の値「1」はヘッダと同じです。"
                               "レコードの種類ごとに違う値にしてください"]
    state = vendor_state()
    state["header"]["code"] = "2"
    assert messages(state) == ["ヘッダ: レコード区分の値「2」はデータと同じです。"
                               "レコードの種類ごとに違う値にしてください"]
    state = vendor_state()
    state["trailer"]["code"] = "99"  # two bytes in a one-byte record type
    assert messages(state) == ["トレーラ: レコード区分の値「99」はレコード区分の長さ（1 バイト）に入りません"]


def test_columns_of_a_header_that_overlap_or_pass_the_record_end_are_named():
    state = vendor_state()
    state["header"]["columns"][4]["start"] = 12  # 作成日 12–18 overlaps 基準日 9–15
    assert messages(state) == ["ヘッダ: 作成日（12〜18 バイト目）が基準日（9〜15 バイト目）と重なっています"]
    state = vendor_state()
    state["trailer"]["columns"][1]["length"] = 400
    assert messages(state) == ["トレーラ: 件数（2〜401 バイト目）はレコード長 320 バイトを超えています"]
    state = vendor_state()
    state["header"]["columns"].append({"field": "reference_date", "label": "基準日2", "start": 30, "length": 7})
    assert messages(state) == ["ヘッダ: 「基準日2」は基準日と同じ項目（基準日）です"]


def test_the_record_type_must_be_where_the_record_type_is_read():
    state = vendor_state()
    state["trailer"]["columns"][0].update(start=2, length=1)
    state["trailer"]["columns"][1]["start"] = 3
    assert messages(state) == ["トレーラ: レコード区分（2〜2 バイト目）がレコード区分の位置（1〜1 バイト目）と違います"]
    columns = vendor_columns()
    columns[0]["start"] = 320  # the data record's record type elsewhere
    assert messages(vendor_state(), data_columns=columns) == [
        "データ: 「項目（列）」の1列目「レコード区分」（320〜320 バイト目）がレコード区分の位置"
        "（1〜1 バイト目）と違います"]
    no_type = [c for c in vendor_columns() if c["field"] != "record_type"]
    assert messages(vendor_state(), data_columns=no_type) == [
        "データ: 「項目（列）」に「レコード区分」の項目がありません（データレコードのレコード区分の列を"
        "加えてください）"]
    state = vendor_state()
    state["type_start"] = None
    assert messages(state) == ["レコード区分: 固定長では開始位置と長さ（バイト）を指定してください"
                               "（レコードをレコード区分の値で見分けるため）"]


def test_csv_record_kinds_are_checked_by_column_order():
    records = vendor_layout("minato_shikaku_csv")["records"]
    state = decompose(records, fixed=False)
    columns = vendor_layout("minato_shikaku_csv")["columns"]
    context = {"fixed": False, "data_columns": columns, "op_codes": {}}
    assert [m for _w, _n, m in state_problems(state, **context)] == []
    state["trailer"]["columns"].reverse()  # 件数 first, レコード区分 second
    assert [m for _w, _n, m in state_problems(state, **context)] == [
        "トレーラ: レコード区分は2列目ですが、レコード区分の列は1列目です"]
    state = decompose(records, fixed=False)
    state["type_column"] = None
    assert [m for _w, _n, m in state_problems(state, **context)] == [
        "レコード区分: CSVでは列番号（1から）を指定してください（レコードをレコード区分の値で見分けるため）"]


def test_the_file_kind_check_needs_codes_and_a_change_column():
    state = vendor_state()
    state["full_codes"], state["delta_codes"] = [], []
    assert messages(state) == ["ファイル区分: 全件・差分を表すヘッダの値を指定してください"
                               "（検査「ファイル区分の確認」に必要です）"]
    state["full_codes"], state["delta_codes"] = ["1"], ["1", "2"]
    assert messages(state) == ["ファイル区分: 値「1」が全件と差分の両方にあります"]
    no_op = [c for c in vendor_columns() if c["field"] != "op"]
    assert messages(vendor_state(), data_columns=no_op, op_codes={}) == [
        "データ: 「項目（列）」に「処理区分」の項目がありません（検査「ファイル区分の確認」に必要です）",
        "データ: 差分の処理区分コード（追加・変更・削除）を指定してください（検査「ファイル区分の確認」に必要です）"]


def test_a_kind_marked_none_with_columns_and_a_header_with_a_column_name_line():
    state = vendor_state()
    state["trailer"]["presence"] = ""
    state["checks"].remove("record_count")
    assert messages(state) == ["トレーラ: 「なし」になっていますが項目が書かれています。"
                               "トレーラがあるファイルなら「あり」を選び、ないファイルなら項目の行を削除してください"]
    assert messages(vendor_state(), has_header=True) == [
        "ヘッダ: ヘッダレコードのあるファイルでは、ファイルの設定の「1行目は見出し行」を外してください"]
    state = vendor_state()
    state["header"]["code"] = ""
    assert messages(state) == ["ヘッダ: レコード区分の値を指定してください（「位置で見分ける」こともできます）"]


# ---------------------------------------------------------------------------------------------
# Screens
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def vendor_a(in_a):
    layouts_ensure_shipped()
    for path in sorted(VENDOR_DIR.glob("*.json")):
        layout_import_json(actor=SYSTEM, data=path.read_bytes())
    return in_a


def test_every_layout_opened_and_saved_unchanged_through_the_fields_is_byte_identical(vendor_a, tenant_a):
    client = staff_client(tenant_a, "admin")
    keys = list(LinkageLayout.objects.order_by("key").values_list("key", flat=True))
    assert {"juki_legacy_fixed", "minato_juki_fixed", "minato_shikaku_csv", "minato_shien_daicho_csv"} <= set(keys)
    for key in keys:
        before = layout_to_dict(layout=LinkageLayout.objects.get(key=key))
        page = client.get(f"/linkage/layouts/{key}/edit/")
        assert page.status_code == 200, key
        form = page_form(page.content.decode())
        assert form.get("rec-structured") == ["1"], f"{key}: the record kinds are shown as fields"
        response = client.post(f"/linkage/layouts/{key}/edit/", form)
        assert response.status_code == 302, (key, response.content.decode()[-3000:])
        after = layout_to_dict(layout=LinkageLayout.objects.get(key=key))
        assert canonical(after["records"]) == canonical(before["records"]), key
        assert after == before, key


def test_the_vendor_layout_page_shows_its_record_kinds_as_fields(vendor_a, tenant_a):
    text = staff_client(tenant_a, "admin").get("/linkage/layouts/minato_juki_fixed/edit/").content.decode()
    form = page_form(text)
    assert form["rec-header"] == ["required"] and form["rec-header_code"] == ["1"]
    assert form["rec-trailer"] == ["required"] and form["rec-trailer_code"] == ["9"]
    assert form["tcol-1-field"] == ["record_count"] and form["tcol-1-start"] == ["2"]
    assert form["rec-check_record_count"] == ["on"] and form["rec-full_codes"] == ["1"]
    assert "JSONで編集（上級者向け）" in text and "トレーラの件数がデータレコードの件数と同じであること" in text
    assert "<details class=\"records-editor__json\" id=\"records-json\">" in text  # closed
    layout_page = staff_client(tenant_a, "admin").get("/linkage/layouts/minato_juki_fixed/").content.decode()
    for words in ("レコード区分「1」（必ずある）", "レコード区分「9」（必ずある）", "件数 2〜10 バイト目",
                  "1: 全件、2: 差分", "トレーラの件数がデータレコードの件数と同じであること"):
        assert words in layout_page, words


def blank_residents_form(client: object) -> dict:
    """The editor of a new 住民 layout, as first shown (the target's required fields as rows)."""
    page = client.get("/linkage/layouts/new/?target=residents")
    assert page.status_code == 200
    form = page_form(page.content.decode())
    assert form["rec-header"] == [""] and form["rec-trailer"] == [""]
    return form


def vendor_settings(form: dict, spec: dict, *, key: str) -> None:
    """The file settings and data columns of the vendor layout typed into the form (no record kinds)."""
    choose(form, "layout-key", key)
    choose(form, "layout-name", spec["name"])
    form["layout-format"] = [spec["format"]]
    form["layout-encoding"] = [spec["encoding"]]
    form.pop("layout-has_header", None)
    choose(form, "layout-record_length", spec["record_length"])
    form["layout-mode"] = [spec["mode"]]
    for name, op in (("op_add", "add"), ("op_change", "change"), ("op_delete", "delete")):
        choose(form, f"layout-{name}", ",".join(c for c, v in spec["op_codes"].items() if v == op))
    form["layout-date_formats"] = list(spec["date_formats"])
    form["layout-code_tables"] = [format_code_tables(spec["code_tables"])]
    for name in [n for n in form if n.startswith("col-")]:
        del form[name]
    columns = spec["columns"]
    form.update({"col-TOTAL_FORMS": [str(len(columns))], "col-INITIAL_FORMS": ["0"], "col-MIN_NUM_FORMS": ["0"],
                 "col-MAX_NUM_FORMS": ["200"]})
    for i, column in enumerate(columns):
        form[f"col-{i}-ORDER"] = [str(i + 1)]
        for name in ("label", "field", "start", "length", "chars"):
            choose(form, f"col-{i}-{name}", column.get(name, ""))
        choose(form, f"col-{i}-none_values", ",".join(column.get("none_values") or []))
        choose(form, f"col-{i}-required", bool(column.get("required")))
        choose(form, f"col-{i}-exists_in", bool(column.get("exists_in")))


def vendor_record_kinds(form: dict) -> None:
    """docs/vendor-spec.md §1 typed into the record-kind fields, as an admin reads it off the specification."""
    choose(form, "rec-type_start", 1)
    choose(form, "rec-type_length", 1)
    choose(form, "rec-data_code", "2")
    choose(form, "rec-header", "required")
    choose(form, "rec-header_by", "code")
    choose(form, "rec-header_code", "1")
    fill_rows(form, "hcol", [
        {"field": "record_type", "label": "レコード区分", "start": 1, "length": 1},
        {"field": "municipality_code", "label": "市町村コード", "start": 2, "length": 6},
        {"field": "file_kind", "label": "ファイル区分", "start": 8, "length": 1},
        {"field": "reference_date", "label": "基準日", "start": 9, "length": 7},
        {"field": "created_on", "label": "作成日", "start": 16, "length": 7}])
    choose(form, "rec-trailer", "required")
    choose(form, "rec-trailer_by", "code")
    choose(form, "rec-trailer_code", "9")
    fill_rows(form, "tcol", [
        {"field": "record_type", "label": "レコード区分", "start": 1, "length": 1},
        {"field": "record_count", "label": "件数", "start": 2, "length": 9}])
    choose(form, "rec-full_codes", "1")
    choose(form, "rec-delta_codes", "2")
    for check in ("municipality_code", "record_count", "file_kind", "reference_date"):
        choose(form, f"rec-check_{check}", True)
    choose(form, "rec-max_line_bytes", 320)


def test_admin_configures_the_vendor_fixed_width_file_with_fields_only_and_it_imports(tenant_a, in_a):
    layouts_ensure_shipped()
    client = staff_client(tenant_a, "admin")
    spec = vendor_layout("minato_juki_fixed")
    form = blank_residents_form(client)
    vendor_settings(form, spec, key="city_juki")

    # A first try without the trailer's count column: refused, named, nothing saved.
    vendor_record_kinds(form)
    fill_rows(form, "tcol", [{"field": "record_type", "label": "レコード区分", "start": 1, "length": 1},
                             {"field": "", "label": "", "start": "", "length": ""}])
    form.pop("layout-records", None), form.pop("rec-shown", None)  # no JSON at all: the fields only
    response = client.post("/linkage/layouts/new/?target=residents", form)
    assert response.status_code == 400
    text = response.content.decode()
    assert "保存できませんでした" in text
    assert "トレーラ: 「件数」の項目がありません（検査「件数の確認」に必要です）" in text
    assert not LinkageLayout.objects.filter(key="city_juki").exists()

    vendor_record_kinds(form)
    response = client.post("/linkage/layouts/new/?target=residents", form)
    assert response.status_code == 302, response.content.decode()[-4000:]
    layout = LinkageLayout.objects.get(key="city_juki")
    sort = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)  # noqa: E731  (jsonb orders keys)
    assert sort(layout.records) == sort(spec["records"])  # what the vendor's JSON file says
    assert layout.options == {"max_line_bytes": 320}
    assert layout.columns == spec["columns"] and layout.record_length == 320

    people = vendor_people(residents=12, seed=3)
    data = write_vendor_file("minato_juki_fixed", people, municipality_code=tenant_a.code, file_kind="full")
    run = import_submit(layout=layout, source=data, file_name="JUKI.DAT", run_async=False, actor=SYSTEM)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    assert run.file_kind == "full" and Resident.objects.count() == len(people)
    # The trailer configured on screen is read: a wrong count is refused, naming the trailer's field.
    lines = data.split(b"\r\n")
    lines[-2] = lines[-2][:1] + b"%09d" % (len(people) + 5) + lines[-2][10:]
    wrong = import_submit(layout=layout, source=b"\r\n".join(lines), file_name="JUKI2.DAT", run_async=False,
                          actor=SYSTEM)
    assert wrong.status == ImportRun.Status.FAILED
    expected = f"件数: {len(people) + 5:,} 件と書かれていますが、データは {len(people):,} 件です"
    assert wrong.errors[0]["message"].startswith("トレーラ（") and expected in wrong.errors[0]["message"]


def test_a_refused_change_of_the_fields_names_the_field_and_changes_nothing(vendor_a, tenant_a):
    client = staff_client(tenant_a, "admin")
    before = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    form = page_form(client.get("/linkage/layouts/minato_juki_fixed/edit/").content.decode())
    choose(form, "tcol-1-start", "")  # the admin clears the count's position
    choose(form, "rec-trailer_code", "1")  # and gives the trailer the header's value
    choose(form, "tcol-1-length", "abc")
    response = client.post("/linkage/layouts/minato_juki_fixed/edit/", form)
    assert response.status_code == 400
    text = response.content.decode()
    assert "トレーラ: 2行目の長さ: 数字で入力してください" in text
    assert re.search(r'<input[^>]*name="tcol-1-length"[^>]*aria-invalid="true"', text)  # marked on the field
    assert not re.search(r'<input[^>]*name="tcol-1-start"[^>]*aria-invalid="true"', text)
    choose(form, "tcol-1-length", "9")
    text = client.post("/linkage/layouts/minato_juki_fixed/edit/", form).content.decode()
    assert "トレーラ: 件数の開始位置を指定してください" in text
    assert "トレーラ: レコード区分の値「1」はヘッダと同じです。レコードの種類ごとに違う値にしてください" in text
    assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == before


def test_the_json_view_and_the_fields_are_one_truth(vendor_a, tenant_a):
    client = staff_client(tenant_a, "admin")
    url = "/linkage/layouts/minato_juki_fixed/edit/"
    original = page_form(client.get(url).content.decode())
    assert json.loads(original["layout-records"][0]) == vendor_layout("minato_juki_fixed")["records"]

    # The JSON changed, the fields left as shown: the JSON is saved (the advanced view works without JavaScript).
    form = {k: list(v) for k, v in original.items()}
    edited = json.loads(form["layout-records"][0])
    edited["checks"] = ["municipality_code", "record_count"]
    form["layout-records"] = [json.dumps(edited, ensure_ascii=False)]
    assert client.post(url, form).status_code == 302
    assert LinkageLayout.objects.get(key="minato_juki_fixed").records["checks"] == ["municipality_code",
                                                                                    "record_count"]
    # The page now shows it as fields.
    form = page_form(client.get(url).content.decode())
    assert "rec-check_file_kind" not in form and form["rec-check_record_count"] == ["on"]

    # Both changed and saying different things: refused, nothing saved.
    before = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    both = {k: list(v) for k, v in form.items()}
    choose(both, "rec-trailer_code", "8")
    edited = json.loads(both["layout-records"][0])
    edited["trailer"]["code"] = "7"
    both["layout-records"] = [json.dumps(edited, ensure_ascii=False)]
    text = client.post(url, both).content.decode()
    assert "レコード種別: 画面の項目とJSONの両方が変更されていて、内容が違います" in text
    assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == before
    # Both changed to the same (what the page's script does): saved.
    edited["trailer"]["code"] = "8"
    both["layout-records"] = [json.dumps(edited, ensure_ascii=False)]
    assert client.post(url, both).status_code == 302
    assert LinkageLayout.objects.get(key="minato_juki_fixed").records["trailer"]["code"] == "8"

    # A field changed: the fields are composed, and the refused page's JSON view shows what they said.
    form = page_form(client.get(url).content.decode())
    choose(form, "rec-trailer_code", "9")
    choose(form, "rec-data_code", "9")
    text = client.post(url, form).content.decode()
    assert "トレーラ: レコード区分の値「9」はデータと同じです" in text
    shown = page_form(text)
    assert json.loads(shown["layout-records"][0])["data"] == {"code": "9"}
    assert json.loads(shown["rec-shown"][0]) == json.loads(shown["layout-records"][0])


def test_a_layout_the_fields_cannot_show_is_edited_as_json_and_saved_unchanged(vendor_a, tenant_a):
    layout = LinkageLayout.objects.get(key="minato_shikaku_csv")
    layout.records = {**layout.records, "checks": ["record_count", "municipality_code", "reference_date"]}
    layout.save()
    before = layout_to_dict(layout=layout)
    client = staff_client(tenant_a, "admin")
    text = client.get("/linkage/layouts/minato_shikaku_csv/edit/").content.decode()
    assert "画面の項目で表せない内容があります" in text
    form = page_form(text)
    assert "rec-structured" not in form and "hcol-TOTAL_FORMS" not in form
    assert client.post("/linkage/layouts/minato_shikaku_csv/edit/", form).status_code == 302
    assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_shikaku_csv")) == before


def test_file_options_are_fields_too(vendor_a, tenant_a):
    client = staff_client(tenant_a, "admin")
    url = "/linkage/layouts/minato_support_csv/edit/"
    form = page_form(client.get(url).content.decode())
    assert form["rec-empty_file_no_change"] == ["on"] and form["rec-max_line_bytes"] == ["512"]
    choose(form, "rec-max_line_bytes", 600)
    assert client.post(url, form).status_code == 302
    options = LinkageLayout.objects.get(key="minato_support_csv").options
    assert options == {"urgent": True, "empty_file_no_change": True, "max_line_bytes": 600}
    # A full file cannot mean "no change" when empty: refused (nothing changed).
    form = page_form(client.get(url).content.decode())
    form["layout-mode"] = ["full"]
    text = client.post(url, form).content.decode()
    assert "空ファイルを「変更なし」とするのは差分ファイルだけです" in text
    assert LinkageLayout.objects.get(key="minato_support_csv").mode == "delta"


def test_staff_without_admin_rights_cannot_open_or_save(vendor_a, tenant_a):
    admin_form = page_form(staff_client(tenant_a, "admin").get("/linkage/layouts/minato_juki_fixed/edit/")
                           .content.decode())
    before = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    staff = staff_client(tenant_a, "staff1")
    assert staff.get("/linkage/layouts/minato_juki_fixed/edit/").status_code == 403
    choose(admin_form, "rec-trailer", "")
    assert staff.post("/linkage/layouts/minato_juki_fixed/edit/", admin_form).status_code == 403
    assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == before


def test_the_same_key_in_another_city_is_neither_changed_nor_shown(tenant_a, tenant_b):
    for city in (tenant_a, tenant_b):
        with in_tenant(city):
            layout_import_json(actor=SYSTEM, data=(VENDOR_DIR / "minato_juki_fixed.json").read_bytes())
    with in_tenant(tenant_b):
        before_b = layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed"))
    admin_a, admin_b = staff_client(tenant_a, "admin"), staff_client(tenant_b, "admin")
    url = "/linkage/layouts/minato_juki_fixed/edit/"
    form = page_form(admin_a.get(url).content.decode())
    choose(form, "rec-trailer_code", "8")
    choose(form, "rec-check_reference_date", False)
    assert admin_a.post(url, form).status_code == 302
    with in_tenant(tenant_a):
        assert LinkageLayout.objects.get(key="minato_juki_fixed").records["trailer"]["code"] == "8"
    with in_tenant(tenant_b):
        assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == before_b
    form_b = page_form(admin_b.get(url).content.decode())
    assert form_b["rec-trailer_code"] == ["9"] and form_b["rec-check_reference_date"] == ["on"]
    assert admin_b.post(url, form_b).status_code == 302  # B saves its own, unchanged
    with in_tenant(tenant_b):
        assert layout_to_dict(layout=LinkageLayout.objects.get(key="minato_juki_fixed")) == before_b
    with in_tenant(tenant_a):
        assert LinkageLayout.objects.get(key="minato_juki_fixed").records["trailer"]["code"] == "8"


def test_the_vendor_eligibility_csv_trailer_removed_and_added_back_through_the_fields(vendor_a, tenant_a):
    """docs/vendor-spec.md §2: a CSV whose trailer is `T`, 件数 — CSV columns are the rows in order, no positions."""
    client = staff_client(tenant_a, "admin")
    url = "/linkage/layouts/minato_shikaku_csv/edit/"
    form = page_form(client.get(url).content.decode())
    assert form["rec-type_column"] == ["1"] and form["rec-data_code"] == ["D"]
    choose(form, "rec-trailer", "")
    choose(form, "rec-check_record_count", False)
    text = client.post(url, form).content.decode()  # なし with its rows still typed: refused, named
    assert "トレーラ: 「なし」になっていますが項目が書かれています" in text
    for i in range(int(form["tcol-TOTAL_FORMS"][0])):
        choose(form, f"tcol-{i}-DELETE", True)
    assert client.post(url, form).status_code == 302
    records = LinkageLayout.objects.get(key="minato_shikaku_csv").records
    assert "trailer" not in records and records["checks"] == ["municipality_code", "reference_date"]

    form = page_form(client.get(url).content.decode())
    choose(form, "rec-trailer", "required")
    choose(form, "rec-trailer_by", "code")
    choose(form, "rec-trailer_code", "T")
    fill_rows(form, "tcol", [{"field": "record_type", "label": "レコード区分"},
                             {"field": "record_count", "label": "件数"}])
    choose(form, "rec-check_record_count", True)
    assert client.post(url, form).status_code == 302
    sort = lambda value: json.dumps(value, ensure_ascii=False, sort_keys=True)  # noqa: E731
    assert sort(LinkageLayout.objects.get(key="minato_shikaku_csv").records) == \
        sort(vendor_layout("minato_shikaku_csv")["records"])
