"""A core-system vendor's files, configured only through layout JSON (docs/vendor-spec.md, docs/vendor/*.json).

The vendor specification (ミナト情報システム「住民記録連携仕様 第3版」) is written from how Japanese core systems
frame their files — header, data and trailer records marked by a record-type column — not from our code. Each
file is written by ``integration.vendorfiles`` from that specification's layout JSON, imported through the real
pipeline, and every refused file leaves the mirror byte-for-byte as it was (every column of every mirror table,
read with COPY).
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.db import connection

from integration.models import ImportRun, LinkageLayout, Resident
from integration.services import import_submit, layout_import_json
from integration.vendorfiles import VENDOR_DIR, vendor_layout, vendor_people, write_vendor_file
from madoguchi.principals import SYSTEM

BASE = date(2026, 4, 1)
MIRROR = ("integration_resident", "integration_household", "integration_eligibility", "integration_supportmeasure")


def mirror_bytes() -> bytes:
    """Every row and column of the mirror tables, as PostgreSQL writes them (ordered by id)."""
    out = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for table in MIRROR:
            with raw.copy(f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT") as copy:
                for block in copy:
                    out.write(bytes(block))
            out.write(b"\0")
    return out.getvalue()


@pytest.fixture
def vendor(in_a):
    """The vendor's layouts, imported as the municipality's admin would: the JSON files, no code."""
    layouts = {}
    for path in sorted(VENDOR_DIR.glob("*.json")):
        layout = layout_import_json(actor=SYSTEM, data=path.read_bytes())
        layouts[layout.key] = layout
    return layouts


@pytest.fixture
def people():
    return vendor_people(residents=40, seed=11)


def run(layout: LinkageLayout, data: bytes, name: str = "JUKI.DAT") -> ImportRun:
    return import_submit(layout=layout, source=data, file_name=name, run_async=False, actor=SYSTEM)


def juki(tenant: object, rows: list[dict], **kwargs: object) -> bytes:
    return write_vendor_file("minato_juki_fixed", rows, municipality_code=tenant.code, **kwargs)


@pytest.fixture
def loaded(vendor, people, in_a):
    """A clean full file applied (基準日 BASE): the mirror the refusals must leave unchanged."""
    first = run(vendor["minato_juki_fixed"], juki(in_a, people, file_kind="full", reference_date=BASE))
    assert first.status == ImportRun.Status.SUCCEEDED, first.errors
    return first


def refused(layout: LinkageLayout, data: bytes) -> ImportRun:
    before = mirror_bytes()
    result = run(layout, data)
    assert result.status == ImportRun.Status.FAILED, result.message
    assert mirror_bytes() == before, "a refused file must leave the mirror byte-for-byte unchanged"
    return result


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[:-1]


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


# -- accepted ---------------------------------------------------------------------------------------------------
def test_clean_full_file_with_header_and_trailer_is_imported(loaded, people):
    assert (loaded.added, loaded.changed, loaded.deleted) == (len(people), 0, 0)
    assert loaded.file_kind == "full" and loaded.reference_date == BASE
    assert loaded.rows_total == len(people)  # the header and the trailer are not residents
    removed = [p for p in people if p.get("removed_on")]
    assert removed, "the generator writes some residents with a 消除日"
    stored = Resident.objects.get(atena_no=removed[0]["atena_no"])
    assert stored.removed_on == removed[0]["removed_on"] and stored.status != "resident"
    living = next(p for p in people if not p.get("removed_on"))
    assert Resident.objects.get(atena_no=living["atena_no"]).removed_on is None  # 0000000 = not set


def test_clean_delta_file_through_the_same_layout(vendor, loaded, people, in_a):
    moved = {**people[0], "op": "change", "address": "鹿児島県鹿児島市新しい町1番地"}
    gone = {**people[1], "op": "delete"}
    newcomer = vendor_people(residents=45, seed=11)[-1] | {"op": "add"}
    data = juki(in_a, [moved, gone, newcomer], file_kind="delta", reference_date=BASE + timedelta(days=1))
    result = run(vendor["minato_juki_fixed"], data)
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert result.file_kind == "delta"
    assert (result.added, result.changed, result.deleted) == (1, 1, 1)
    assert Resident.objects.get(atena_no=moved["atena_no"]).address == "鹿児島県鹿児島市新しい町1番地"
    assert Resident.objects.count() == len(people)


def test_a_file_of_the_same_reference_date_is_not_old(vendor, loaded, people, in_a):
    again = [{**people[0], "op": "change", "address": "鹿児島県鹿児島市同じ日町2番地"}]
    result = run(vendor["minato_juki_fixed"], juki(in_a, again, file_kind="delta", reference_date=BASE))
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors


def test_empty_urgent_file_means_no_change(vendor, loaded, in_a):
    before = mirror_bytes()
    result = run(vendor["minato_support_csv"], b"", name="SHIEN.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert result.message == "空のファイルを受信しました（変更なし）"
    assert mirror_bytes() == before


def test_an_empty_file_is_still_an_error_where_the_layout_does_not_say_so(vendor, loaded):
    result = refused(vendor["minato_juki_fixed"], b"")
    assert result.error_count >= 1


# -- refused, with the record and field named -------------------------------------------------------------------
def test_wrong_municipality_code_in_header(vendor, loaded, people, in_a):
    data = write_vendor_file("minato_juki_fixed", people, municipality_code="131041", file_kind="full",
                             reference_date=BASE + timedelta(days=1))
    result = refused(vendor["minato_juki_fixed"], data)
    (problem,) = result.errors
    assert problem["line"] == 1 and problem["column"] == "市町村コード"
    assert problem["message"].startswith("ヘッダ（1行目）市町村コード: 「131041」はこの自治体")


def test_wrong_trailer_count(vendor, loaded, people, in_a):
    data = juki(in_a, people, file_kind="full", reference_date=BASE + timedelta(days=1),
                record_count=len(people) + 1)
    result = refused(vendor["minato_juki_fixed"], data)
    (problem,) = result.errors
    trailer_line = len(people) + 2
    assert problem["line"] == trailer_line and problem["column"] == "件数"
    assert problem["message"] == (f"トレーラ（{trailer_line}行目）件数: {len(people) + 1} 件と書かれていますが、"
                                  f"データは {len(people)} 件です")


def test_missing_trailer(vendor, loaded, people, in_a):
    data = joined(lines_of(juki(in_a, people, file_kind="full", reference_date=BASE + timedelta(days=1)))[:-1])
    result = refused(vendor["minato_juki_fixed"], data)
    (problem,) = result.errors
    assert problem["line"] == len(people) + 1 and problem["column"] == "レコード区分"
    assert "トレーラがありません" in problem["message"] and "レコード区分「2」" in problem["message"]


def test_missing_header(vendor, loaded, people, in_a):
    data = joined(lines_of(juki(in_a, people, file_kind="full", reference_date=BASE + timedelta(days=1)))[1:])
    result = refused(vendor["minato_juki_fixed"], data)
    assert result.errors[0]["line"] == 1 and "ヘッダがありません" in result.errors[0]["message"]


def test_header_full_but_records_carry_change_codes(vendor, loaded, people, in_a):
    data = juki(in_a, [{**p, "op": "change"} for p in people], file_kind="delta",
                reference_date=BASE + timedelta(days=1))
    lines = lines_of(data)
    lines[0] = lines[0][:7] + b"1" + lines[0][8:]  # the header now says 全件
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    assert result.error_count == len(people)
    assert result.errors[0]["line"] == 2 and result.errors[0]["column"] == "異動区分"
    assert "ヘッダのファイル区分は全件ですが、異動区分「2」があります" in result.errors[0]["message"]


def test_header_delta_but_records_have_no_change_codes(vendor, loaded, people, in_a):
    data = juki(in_a, people, file_kind="full", reference_date=BASE + timedelta(days=1))
    lines = lines_of(data)
    lines[0] = lines[0][:7] + b"2" + lines[0][8:]  # the header now says 差分
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    assert result.errors[0]["line"] == 2 and result.errors[0]["column"] == "異動区分"
    assert result.errors[0]["message"] == "ヘッダのファイル区分は差分ですが、異動区分が空です"


def test_old_reference_date(vendor, loaded, people, in_a):
    data = juki(in_a, [{**people[0], "op": "change", "address": "古い住所"}], file_kind="delta",
                reference_date=BASE - timedelta(days=1))
    result = refused(vendor["minato_juki_fixed"], data)
    (problem,) = result.errors
    assert problem["line"] == 1 and problem["column"] == "基準日"
    assert problem["message"].startswith(
        "ヘッダ（1行目）基準日: 2026-03-31 は前回取り込んだファイルの基準日（2026-04-01）より前")


def test_formula_in_a_name(vendor, loaded, people, in_a):
    rows = [{**p, "op": "change"} for p in people[:3]]
    rows[1]["name"] = "=HYPERLINK(\"http://example.invalid\")"
    result = refused(vendor["minato_juki_fixed"], juki(in_a, rows, file_kind="delta",
                                                        reference_date=BASE + timedelta(days=1)))
    formula = [e for e in result.errors if "数式" in e["message"]]
    assert formula and formula[0]["line"] == 3 and formula[0]["column"] == "氏名"
    assert formula[0]["message"].startswith("先頭が「=」の値は取り込めません")


def test_formula_in_a_text_column_of_a_csv(vendor, loaded, people, in_a):
    rows = [{"op": "add", "atena_no": people[2]["atena_no"], "kind": "dv", "start_date": BASE,
             "restrict_address": True, "note": "@SUM(A1:A9)"}]
    data = write_vendor_file("minato_support_csv", rows, municipality_code=in_a.code)
    result = refused(vendor["minato_support_csv"], data)
    (problem,) = result.errors
    assert problem["line"] == 2 and problem["column"] == "備考" and "先頭が「@」" in problem["message"]


def test_half_width_character_in_a_full_width_column(vendor, loaded, people, in_a):
    rows = [{**people[0], "op": "change", "name": "山田 太郎"}]  # a half-width space between the names
    result = refused(vendor["minato_juki_fixed"], juki(in_a, rows, file_kind="delta",
                                                        reference_date=BASE + timedelta(days=1)))
    (problem,) = result.errors
    assert problem["line"] == 2 and problem["column"] == "氏名"
    assert problem["message"] == "全角文字のみの項目に全角でない文字「 」があります"


def test_eligibility_row_for_an_unknown_atena_number(vendor, loaded, people, in_a):
    from integration.checkdigits import with_check_digit
    from integration.models import Eligibility

    # A clean file first: a refused full file must leave these rows (a wrongful deletion would show).
    clean = write_vendor_file("minato_shikaku_csv", shikaku_rows(people), municipality_code=in_a.code,
                              reference_date=BASE)
    applied = run(vendor["minato_shikaku_csv"], clean, name="SHIKAKU.CSV")
    assert applied.status == ImportRun.Status.SUCCEEDED, applied.errors
    assert Eligibility.objects.count() == 12
    stranger = with_check_digit("777777777")
    rows = [{"area": "kokuho", "atena_no": people[0]["atena_no"], "kind": "一般被保険者", "number": "国1",
             "start_date": BASE},
            {"area": "kokuho", "atena_no": stranger, "kind": "一般被保険者", "number": "国2", "start_date": BASE}]
    data = write_vendor_file("minato_shikaku_csv", rows, municipality_code=in_a.code, reference_date=BASE)
    result = refused(vendor["minato_shikaku_csv"], data)
    (problem,) = result.errors
    assert problem["line"] == 3 and problem["column"] == "宛名番号"
    assert problem["message"] == f"宛名番号「{stranger}」は住民記録にありません"


def test_line_over_the_declared_byte_limit(vendor, loaded, people, in_a):
    data = juki(in_a, [{**p, "op": "change"} for p in people[:3]], file_kind="delta",
                reference_date=BASE + timedelta(days=1))
    lines = lines_of(data)
    lines[2] += b" "  # 321 bytes
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    (problem,) = result.errors
    assert problem["line"] == 3
    assert problem["message"] == ("データ（3行目）: 1行の長さがレイアウトの上限（320 バイト）を超えています"
                                  "（321 バイト）")


def test_a_trailer_in_the_middle_is_named(vendor, loaded, people, in_a):
    data = juki(in_a, [{**p, "op": "change"} for p in people[:3]], file_kind="delta",
                reference_date=BASE + timedelta(days=1))
    lines = lines_of(data)
    lines.insert(2, lines[-1])  # a second trailer after the first data record
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    assert result.errors[0]["line"] == 3 and result.errors[0]["column"] == "レコード区分"
    assert "トレーラ" in result.errors[0]["message"]


def test_the_layouts_are_the_vendor_files_and_nothing_else():
    """The vendor is configured by its JSON alone: every key of every file is a layout setting."""
    from integration.services import LAYOUT_FIELDS

    for key in ("minato_juki_fixed", "minato_shikaku_csv", "minato_support_csv", "minato_shien_daicho_csv"):
        assert set(vendor_layout(key)) <= {*LAYOUT_FIELDS, "schedule"}
    assert {p.stem for p in VENDOR_DIR.glob("*.json")} == {"minato_juki_fixed", "minato_shikaku_csv",
                                                          "minato_shien_daicho_csv", "minato_support_csv"}


# -- several business areas in one file ------------------------------------------------------------------------
def shikaku_rows(people: list[dict]) -> list[dict]:
    return [{"area": area, "atena_no": p["atena_no"], "kind": kind, "number": f"{area[:2]}{n}", "start_date": BASE}
            for n, p in enumerate(people[:6])
            for area, kind in (("kokuho", "一般被保険者"), ("kaigo", "第1号被保険者"))]


def test_multi_area_file_routes_each_row_to_its_area(vendor, loaded, people, in_a):
    from integration.models import Eligibility

    Eligibility.objects.create(atena_no=people[7]["atena_no"], area="kouki", kind="被保険者")  # covered: removed
    Eligibility.objects.create(atena_no=people[7]["atena_no"], area="kokuho", kind="古い資格")  # covered: removed
    data = write_vendor_file("minato_shikaku_csv", shikaku_rows(people), municipality_code=in_a.code,
                             reference_date=BASE)
    result = run(vendor["minato_shikaku_csv"], data, name="SHIKAKU.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert (result.added, result.deleted, result.skipped) == (12, 2, 0)
    assert sorted(Eligibility.objects.values_list("area", flat=True).distinct()) == ["kaigo", "kokuho"]
    assert Eligibility.objects.get(atena_no=people[0]["atena_no"], area="kaigo").number == "ka0"


def test_rows_of_areas_outside_the_plan_are_skipped_and_counted(tenant_a, tenant_b):
    """City B subscribes to 国保 but not 介護: its 介護 rows are counted, never stored. City A has the same layout
    key and the same 宛名番号 and sees none of it."""
    from integration.models import Eligibility
    from tests.conftest import in_tenant

    people = vendor_people(residents=20, seed=5)
    results = {}
    for city in (tenant_a, tenant_b):
        with in_tenant(city):
            for key in ("minato_juki_fixed", "minato_shikaku_csv"):
                layout_import_json(actor=SYSTEM, data=(VENDOR_DIR / f"{key}.json").read_bytes())
    with in_tenant(tenant_b):
        layouts = {layout.key: layout for layout in LinkageLayout.objects.all()}
        assert run(layouts["minato_juki_fixed"], juki(tenant_b, people, file_kind="full",
                                                      reference_date=BASE)).status == ImportRun.Status.SUCCEEDED
        data = write_vendor_file("minato_shikaku_csv", shikaku_rows(people), municipality_code=tenant_b.code,
                                 reference_date=BASE)
        results["b"] = run(layouts["minato_shikaku_csv"], data, name="SHIKAKU.CSV")
        assert results["b"].status == ImportRun.Status.SUCCEEDED, results["b"].errors
        assert (results["b"].added, results["b"].skipped) == (6, 6)
        assert "契約外の業務の 6 行は取り込んでいません" in results["b"].message
        assert set(Eligibility.objects.values_list("area", flat=True)) == {"kokuho"}
    with in_tenant(tenant_a):
        assert not Eligibility.objects.exists() and not Resident.objects.exists()
        assert not ImportRun.objects.filter(file_name="SHIKAKU.CSV").exists()


def test_reference_dates_and_header_codes_are_per_municipality(tenant_a, tenant_b):
    """City A applied a newer file; city B's older one is not 'old' for B. A's file is refused in B."""
    from tests.conftest import in_tenant

    people = vendor_people(residents=10, seed=3)
    layouts = {}
    for city in (tenant_a, tenant_b):
        with in_tenant(city):
            layouts[city.pk] = layout_import_json(actor=SYSTEM,
                                                  data=(VENDOR_DIR / "minato_juki_fixed.json").read_bytes())
    with in_tenant(tenant_a):
        newer = run(layouts[tenant_a.pk], juki(tenant_a, people, file_kind="full", reference_date=BASE))
        assert newer.status == ImportRun.Status.SUCCEEDED, newer.errors
    with in_tenant(tenant_b):
        own_older = run(layouts[tenant_b.pk], juki(tenant_b, people, file_kind="full",
                                                   reference_date=BASE - timedelta(days=10)))
        assert own_older.status == ImportRun.Status.SUCCEEDED, own_older.errors
        before = mirror_bytes()
        foreign = run(layouts[tenant_b.pk], juki(tenant_a, people, file_kind="full", reference_date=BASE))
        assert foreign.status == ImportRun.Status.FAILED and foreign.errors[0]["column"] == "市町村コード"
        assert mirror_bytes() == before


# -- the 支援措置 indicator of the resident record ------------------------------------------------------------------
def test_full_load_sets_measures_from_the_indicator(loaded, people):
    from integration.models import SupportMeasure

    flagged = sorted(p["atena_no"] for p in people if p["support_indicator"])
    assert flagged, "the generator flags some residents"
    assert sorted(SupportMeasure.objects.values_list("atena_no", flat=True)) == flagged
    measure = SupportMeasure.objects.get(atena_no=flagged[0])
    assert (measure.kind, measure.start_date, measure.end_date, measure.restrict_address) == ("dv", BASE, None, True)
    assert f"支援措置を {len(flagged)} 件追加しました" in loaded.message


def test_a_full_load_without_the_flag_never_ends_a_measure(vendor, loaded, people, in_a):
    """The nightly file omits the flag of a protected resident: the measure stays, the run reports it."""
    from integration.models import SupportMeasure

    protected = next(p for p in people if p["support_indicator"])
    before = sorted(SupportMeasure.objects.values_list("atena_no", "kind", "start_date", "end_date"))
    nightly = [{**p, "support_indicator": ""} if p is protected else p for p in people]
    result = run(vendor["minato_juki_fixed"], juki(in_a, nightly, file_kind="full",
                                                    reference_date=BASE + timedelta(days=1)))
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert sorted(SupportMeasure.objects.values_list("atena_no", "kind", "start_date", "end_date")) == before
    (warning,) = result.warnings
    assert warning["column"] == "支援措置区分" and protected["atena_no"] in warning["message"]
    assert "支援措置は終了していません" in warning["message"]
    assert "確認事項が 1 件あります" in result.message


def test_a_resident_removed_from_a_full_file_keeps_the_measure(vendor, loaded, people, in_a):
    from integration.models import SupportMeasure

    protected = next(p for p in people if p["support_indicator"])
    others = [p for p in people if p is not protected]
    result = run(vendor["minato_juki_fixed"], juki(in_a, others, file_kind="full",
                                                    reference_date=BASE + timedelta(days=1)))
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert not Resident.objects.filter(atena_no=protected["atena_no"]).exists()
    assert SupportMeasure.objects.get(atena_no=protected["atena_no"]).end_date is None


def test_an_unknown_indicator_code_is_refused(vendor, loaded, people, in_a):
    data = juki(in_a, [{**people[0], "op": "change"}], file_kind="delta", reference_date=BASE + timedelta(days=1))
    lines = lines_of(data)
    lines[1] = lines[1][:307] + b"7" + lines[1][308:]
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    (problem,) = result.errors
    assert problem["line"] == 2 and problem["column"] == "支援措置区分"
    assert problem["message"].startswith("支援措置区分「7」はコード表")


# -- what the admin reads ---------------------------------------------------------------------------------------
def test_run_and_layout_pages_say_what_keys_mean_and_show_no_server_path(vendor, loaded, people, admin_a, in_a):
    from django.conf import settings

    nightly = [{**p, "support_indicator": ""} for p in people]
    result = run(vendor["minato_juki_fixed"], juki(in_a, nightly, file_kind="full",
                                                    reference_date=BASE + timedelta(days=1)))
    page = admin_a.get(f"/linkage/runs/{result.pk}/").content.decode()
    assert "読み込み・検査・一時保存" in page and "validate_stage" not in page
    assert "ファイル区分・基準日" in page and "全件・2026/4/2" in page
    assert "確認事項（" in page and "支援措置は終了していません" in page
    layout_page = admin_a.get("/linkage/layouts/minato_juki_fixed/").content.decode()
    assert "1: 追加" in layout_page and "1=add" not in layout_page
    assert "和暦（元号数字＋YYMMDD：5060401）" in layout_page and "wareki_digit" not in layout_page
    assert "inbox/minato_juki_fixed/" in layout_page and str(settings.LINKAGE_ROOT) not in layout_page
