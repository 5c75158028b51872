"""Gaps a review found in the vendor import (issue 15, docs/vendor-spec.md), each with the behaviour the issue and
the vendor's specification ask for:

1. a file equal to an earlier one is skipped only as the re-delivery of the LAST full file applied; the urgent
   support-measure file (no header, no creation date: the same bytes recur) add → delete → the same add leaves the
   measure live; empty urgent files are "no change", never 「取込済み」;
2. a value starting like a spreadsheet formula after a TAB or a CR (read as LF in a quoted CSV field) is refused;
3. the byte limit of a line holds for the header and the trailer;
4. the parallel path's CSV batches allow exactly the limit on LF-only lines;
6. the urgent support-measure file is keyed by 宛名番号 (its layout says so);
7. messages quote the trailer's line like an editor shows it, and the layout's own label of the 処理区分 column;
8. an optional trailer, a header found by position, the character rules, and a framed file on the parallel path.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from integration import importer
from integration.importer import rows as rows_module
from integration.models import ImportRun, SupportMeasure
from integration.parsers import CsvParser
from integration.selectors import runs_needing_attention
from integration.services import layout_import_json
from integration.vendorfiles import vendor_layout, vendor_people, write_vendor_file
from madoguchi.principals import SYSTEM
from tests import test_integration_vendor as base
from tests.test_integration_vendor import BASE, joined, juki, lines_of, mirror_bytes, refused, run

vendor, people, loaded = base.vendor, base.people, base.loaded

NEXT = BASE + timedelta(days=1)
SHIEN = "minato_support_csv"
DAICHO = "minato_shien_daicho_csv"


def shien(tenant: object, rows: list[dict]) -> bytes:
    return write_vendor_file(SHIEN, rows, municipality_code=tenant.code)


def measure_row(person: dict, op: str, **values: object) -> dict:
    return {"op": op, "atena_no": person["atena_no"], "kind": "dv", "start_date": BASE, "end_date": None,
            "restrict_address": True, "note": "", **values}


def unprotected(people: list[dict], n: int = 0) -> dict:
    """A living resident whose 住基 record carries no 支援措置区分 (the full load gave them no measure)."""
    return [p for p in people if not p["support_indicator"] and p["status"] == "resident"][n]


def live(atena_no: str) -> list[tuple]:
    return sorted(SupportMeasure.objects.filter(atena_no=atena_no, end_date__isnull=True)
                  .values_list("kind", "start_date"))


@pytest.fixture
def admin(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="admin")


# ---------------------------------------------------------------------------------------------------------------
# 1. Same file twice: only the re-delivery of the last full file applied is skipped
# ---------------------------------------------------------------------------------------------------------------
def test_urgent_add_delete_and_the_same_add_again_leaves_the_measure_live(vendor, loaded, people, in_a, admin):
    """SHIEN.CSV has no header and no creation date: the second 追加 has the bytes of the first. It is an
    instruction, not a re-delivery (a 削除 was applied in between), and the DV measure must be live after it."""
    victim = unprotected(people)
    add = shien(in_a, [measure_row(victim, "add")])
    first = run(vendor[SHIEN], add, name="SHIEN.CSV")
    assert first.status == ImportRun.Status.SUCCEEDED, first.errors
    assert live(victim["atena_no"]) == [("dv", BASE)]
    removed = run(vendor[SHIEN], shien(in_a, [measure_row(victim, "delete")]), name="SHIEN.CSV")
    assert removed.status == ImportRun.Status.SUCCEEDED, removed.errors
    assert live(victim["atena_no"]) == []
    again = run(vendor[SHIEN], add, name="SHIEN.CSV")
    assert again.sha256 == first.sha256
    assert again.status == ImportRun.Status.SUCCEEDED, again.message
    assert (again.added, again.changed, again.deleted) == (1, 0, 0)
    assert live(victim["atena_no"]) == [("dv", BASE)]
    assert again not in runs_needing_attention(actor=admin)


def test_two_empty_urgent_files_are_both_no_change_and_raise_no_alert(vendor, loaded, in_a, admin):
    before = mirror_bytes()
    runs = [run(vendor[SHIEN], b"", name="SHIEN.CSV") for _ in range(2)]
    for result in runs:
        assert result.status == ImportRun.Status.SUCCEEDED, result.message
        assert result.message == "空のファイルを受信しました（変更なし）"
    assert mirror_bytes() == before
    assert not set(runs) & set(runs_needing_attention(actor=admin))


def test_an_older_full_file_delivered_again_after_another_is_applied(vendor, loaded, people, in_a):
    """A (applied), B (applied), A again: A is not the last file applied, so it is applied — the mirror follows the
    file received last, as it would for an older snapshot that differs by one byte."""
    moved = [{**p, "address": "鹿児島県鹿児島市新しい町1番地"} if p is people[0] else p for p in people]
    other = run(vendor["minato_juki_fixed"], juki(in_a, moved, file_kind="full", reference_date=BASE))
    assert other.status == ImportRun.Status.SUCCEEDED, other.errors
    from integration.models import Resident

    assert Resident.objects.get(atena_no=people[0]["atena_no"]).address == "鹿児島県鹿児島市新しい町1番地"
    again = run(vendor["minato_juki_fixed"], juki(in_a, people, file_kind="full", reference_date=BASE))
    assert again.sha256 == loaded.sha256
    assert again.status == ImportRun.Status.SUCCEEDED, again.message
    assert (again.added, again.changed, again.deleted) == (0, 1, 0)
    assert Resident.objects.get(atena_no=people[0]["atena_no"]).address == people[0]["address"]


def test_the_last_full_file_delivered_again_is_skipped_and_alerted_only_for_support_measures(
        vendor, loaded, people, in_a, admin):
    resent = run(vendor["minato_juki_fixed"], juki(in_a, people, file_kind="full", reference_date=BASE))
    assert resent.status == ImportRun.Status.DUPLICATE
    assert f"履歴番号 {loaded.pk}" in resent.message and "何も変更していません" in resent.message
    assert resent not in runs_needing_attention(actor=admin)

    flagged = [p for p in people if p["support_indicator"]]
    rows = [{"atena_no": p["atena_no"], "kind": "dv", "start_date": BASE, "end_date": None,
             "restrict_address": True} for p in flagged]
    daicho = write_vendor_file(DAICHO, rows, municipality_code=in_a.code, file_kind="full", reference_date=NEXT)
    first = run(vendor[DAICHO], daicho, name="SHIENDAICHO.CSV")
    assert first.status == ImportRun.Status.SUCCEEDED, first.errors
    SupportMeasure.objects.filter(atena_no=flagged[0]["atena_no"]).update(end_date=BASE)  # an admin ends one
    before = mirror_bytes()
    skipped = run(vendor[DAICHO], daicho, name="SHIENDAICHO.CSV")
    assert skipped.status == ImportRun.Status.DUPLICATE
    assert "支援措置が正しいか確認してください" in skipped.message
    assert mirror_bytes() == before
    assert skipped in runs_needing_attention(actor=admin)


def test_an_urgent_add_sent_twice_is_applied_again_and_changes_nothing(vendor, loaded, people, in_a, admin):
    victim = unprotected(people)
    add = shien(in_a, [measure_row(victim, "add")])
    assert run(vendor[SHIEN], add, name="SHIEN.CSV").status == ImportRun.Status.SUCCEEDED
    before = mirror_bytes()
    again = run(vendor[SHIEN], add, name="SHIEN.CSV")
    assert again.status == ImportRun.Status.SUCCEEDED, again.errors
    assert (again.added, again.changed, again.deleted, again.unchanged) == (0, 0, 0, 1)
    assert mirror_bytes() == before
    assert again not in runs_needing_attention(actor=admin)


def test_a_run_keyed_by_person_leaves_no_table_behind_in_the_callers_transaction(vendor, loaded, people, in_a):
    """The plan table of a by-person apply was ON COMMIT DROP only: inside a caller's transaction (a test, a
    command) it stayed, and a later run whose importer got the same id() failed with 「処理を中断しました」."""
    from django.db import connection

    result = run(vendor[SHIEN], shien(in_a, [measure_row(unprotected(people), "add")]), name="SHIEN.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'linkage\\_%%' AND relpersistence = 't'")
        assert cursor.fetchall() == []


def test_an_urgent_delete_sent_twice_is_refused_and_keeps_the_history(vendor, loaded, people, in_a, admin):
    """Keyed by 宛名番号 alone, a 削除 deletes the person's current measure: applied a second time it would delete
    the older measure (history) instead. A delta equal to the last file applied never deletes again."""
    victim = unprotected(people)
    SupportMeasure.objects.create(atena_no=victim["atena_no"], kind="stalker", start_date=date(2020, 4, 1),
                                  end_date=date(2021, 3, 31))
    assert run(vendor[SHIEN], shien(in_a, [measure_row(victim, "add")]), name="SHIEN.CSV").status == \
        ImportRun.Status.SUCCEEDED
    delete = shien(in_a, [measure_row(victim, "delete")])
    first = run(vendor[SHIEN], delete, name="SHIEN.CSV")
    assert first.status == ImportRun.Status.SUCCEEDED and first.deleted == 1, first.errors
    history = list(SupportMeasure.objects.filter(atena_no=victim["atena_no"]).values_list("kind", "start_date"))
    assert history == [("stalker", date(2020, 4, 1))]
    again = refused(vendor[SHIEN], delete)
    (problem,) = again.errors
    assert problem["line"] == 2 and problem["column"] == "宛名番号"
    assert problem["message"].startswith(f"前回取り込んだ差分ファイル（履歴番号 {first.pk}）と同じ内容です。削除の行を")
    assert again in runs_needing_attention(actor=admin)


# ---------------------------------------------------------------------------------------------------------------
# 2. A formula after a TAB or a CR
# ---------------------------------------------------------------------------------------------------------------
FORMULA_CHARS = [("=", "="), ("+", "+"), ("-", "-"), ("@", "@"), ("\t", "TAB"), ("\r", "CR/LF")]


@pytest.mark.parametrize(("char", "shown"), FORMULA_CHARS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_a_formula_start_is_refused_in_a_fixed_width_name(vendor, loaded, people, in_a, char, shown):
    rows = [{**p, "op": "change"} for p in people[:3]]
    rows[1]["name"] = f"{char}ＨＹＰＥＲＬＩＮＫ（）"
    data = juki(in_a, rows, file_kind="delta", reference_date=NEXT)
    result = refused(vendor["minato_juki_fixed"], data)
    if char == "\r":
        # A CR is a line break in every layout (CR, LF and CRLF are read alike): the record is cut in two and
        # refused by its length before any value is read.
        assert result.errors[0]["line"] == 3 and "レコード長が正しくありません" in result.errors[0]["message"]
        return
    formula = [e for e in result.errors if "先頭が" in e["message"]]
    assert [(e["line"], e["column"]) for e in formula] == [(3, "氏名")], result.errors
    assert formula[0]["message"].startswith(f"先頭が「{shown}」の値は取り込めません")


@pytest.mark.parametrize(("char", "shown"), FORMULA_CHARS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_a_formula_start_is_refused_in_a_csv_note(vendor, loaded, people, in_a, char, shown):
    rows = [measure_row(unprotected(people, 0), "add"),
            measure_row(unprotected(people, 1), "add", note=f'{char}HYPERLINK("http://example.invalid")')]
    result = refused(vendor[SHIEN], shien(in_a, rows))
    (problem,) = result.errors
    assert (problem["line"], problem["column"]) == (3, "備考")
    assert problem["message"].startswith(f"先頭が「{shown}」の値は取り込めません")


@pytest.mark.parametrize(("char", "shown"), FORMULA_CHARS, ids=["eq", "plus", "minus", "at", "tab", "cr"])
def test_a_column_that_allows_formulas_takes_them(vendor, loaded, people, in_a, char, shown):
    data = vendor_layout(SHIEN)
    data["key"] = "shien_formula_allowed"
    for column in data["columns"]:
        if column["field"] == "note":
            column["allow_formula"] = True
    layout = layout_import_json(actor=SYSTEM, data=json.dumps(data, ensure_ascii=False).encode())
    victim = unprotected(people)
    text = f"{char}SUM(A1:A9)"
    out = write_vendor_file(SHIEN, [measure_row(victim, "add", note=text)], municipality_code=in_a.code)
    result = run(layout, out, name="SHIEN.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert SupportMeasure.objects.get(atena_no=victim["atena_no"]).note.endswith("SUM(A1:A9)")


def test_the_batch_path_hands_a_formula_after_a_tab_to_the_row_path(vendor, in_a):
    """The column-wise fast path must not accept what the row path refuses (it used to look at the values after
    the TAB was stripped)."""
    from integration.checkdigits import with_check_digit
    from integration.targets import target_for

    layout = vendor[SHIEN]
    builder = rows_module.RowBuilder(layout=layout, target=target_for(layout.target).keyed(layout.key_fields),
                                     tenant=in_a, gaiji={})
    builder.prepare_fast_path()
    note = next(i for i, c in enumerate(layout.columns) if c["field"] == "note")
    good = ["1", with_check_digit("123456789"), "1", "20260401", "", "1", "メモ"]
    other = [*good[:1], with_check_digit("123456780"), *good[2:]]
    assert builder.build_batch([2, 3], [good, other]) is not None  # the fast path takes plain rows
    for value in ("\t=1+1", " \t@x", "\u3000-1", "=1", "\tメモ"):
        bad = list(other)
        bad[note] = value
        assert builder.build_batch([2, 3], [good, bad]) is None, value
        assert builder.build_batch([2, 3], [bad, good]) is None, value


def test_the_batch_path_hands_a_full_width_name_after_a_tab_to_the_row_path(vendor, people, in_a):
    """氏名 has a character rule too (全角): the formula check must still see the TAB the rule's values lost."""
    from integration.parsers import FixedParser
    from integration.targets import target_for

    layout = vendor["minato_juki_fixed"]
    builder = rows_module.RowBuilder(layout=layout, target=target_for(layout.target), tenant=in_a, gaiji={})
    builder.file_kind = "delta"
    builder.prepare_fast_path()
    part = b"".join(line + b"\n" for line in lines_of(juki(in_a, [{**p, "op": "change"} for p in people[:2]],
                                                             file_kind="delta", reference_date=NEXT))[1:-1])
    ((line_numbers, _rows, columns),) = FixedParser(layout).fast_batches(part, 1, 100)
    assert builder.build_batch(line_numbers, None, columns) is not None  # the fast path takes plain records
    name = next(i for i, c in enumerate(layout.columns) if c["field"] == "name")
    for value in ("\t山田　太郎", "  \t＝ＳＵＭ", "＝ＳＵＭ"):
        changed = list(columns)
        changed[name] = (columns[name][0], value)
        result = builder.build_batch(line_numbers, None, changed)
        assert (result is None) == value.lstrip(" ").startswith("\t"), value


# ---------------------------------------------------------------------------------------------------------------
# 3. The byte limit holds for the header and the trailer; 7. the data record is named
# ---------------------------------------------------------------------------------------------------------------
def test_a_header_over_the_byte_limit_is_refused(vendor, loaded, people, in_a):
    lines = lines_of(juki(in_a, people[:3], file_kind="full", reference_date=NEXT))
    lines[0] += b" "
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    (problem,) = result.errors
    assert problem["line"] == 1
    assert problem["message"] == ("ヘッダ（1行目）: 1行の長さがレイアウトの上限（320 バイト）を超えています"
                                  "（321 バイト）")


def test_a_trailer_over_the_byte_limit_is_refused(vendor, loaded, people, in_a):
    lines = lines_of(juki(in_a, people[:3], file_kind="full", reference_date=NEXT))
    lines[-1] += b"   "  # trailing blanks count: they are bytes of the line
    result = refused(vendor["minato_juki_fixed"], joined(lines))
    (problem,) = result.errors
    assert problem["line"] == 5
    assert problem["message"] == ("トレーラ（5行目）: 1行の長さがレイアウトの上限（320 バイト）を超えています"
                                  "（323 バイト）")


def test_a_csv_header_over_the_byte_limit_is_refused(vendor, loaded, people, in_a):
    rows = [{"area": "kokuho", "atena_no": people[0]["atena_no"], "kind": "一般被保険者", "number": "国1",
             "start_date": BASE}]
    lines = lines_of(write_vendor_file("minato_shikaku_csv", rows, municipality_code=in_a.code,
                                       reference_date=BASE))
    lines[0] += b"," * 600
    result = refused(vendor["minato_shikaku_csv"], joined(lines))
    assert result.errors[0]["line"] == 1
    assert result.errors[0]["message"].startswith("ヘッダ（1行目）: 1行の長さがレイアウトの上限（512 バイト）")


# ---------------------------------------------------------------------------------------------------------------
# 4. The parallel path's CSV batches: exactly the limit on LF-only lines
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_fast_csv_batches_allow_exactly_the_byte_limit(newline):
    from types import SimpleNamespace

    layout = SimpleNamespace(columns=[{"field": "a"}, {"field": "b"}], delimiter=",", encoding="utf-8",
                             options={"max_line_bytes": 20}, has_header=False, records={})
    parser = CsvParser(layout)
    at_limit = b"a," + b"x" * 18  # 20 bytes
    over = b"a," + b"x" * 19  # 21 bytes
    accepted = parser.fast_batches(at_limit + newline + b"b,y" + newline, 0, 10)
    assert accepted is not None and [rows for _lines, rows, _c in accepted] == [[["a", "x" * 18], ["b", "y"]]]
    assert parser.fast_batches(over + newline + b"b,y" + newline, 0, 10) is None
    assert parser.fast_batches(b"b,y" + newline + over + newline, 0, 10) is None


# ---------------------------------------------------------------------------------------------------------------
# 6. The urgent support-measure file is keyed by 宛名番号
# ---------------------------------------------------------------------------------------------------------------
def test_the_urgent_file_is_keyed_by_atena_number_in_its_layout(vendor, loaded, people, in_a):
    assert vendor_layout(SHIEN)["key_fields"] == ["atena_no"]
    victim = unprotected(people)
    assert run(vendor[SHIEN], shien(in_a, [measure_row(victim, "add")]), name="SHIEN.CSV").status == \
        ImportRun.Status.SUCCEEDED
    # A correction of the 措置区分 and 開始日 is the same person's measure, changed in place (no new period).
    corrected = run(vendor[SHIEN], shien(in_a, [measure_row(victim, "change", kind="stalker",
                                                            start_date=BASE + timedelta(days=2))]),
                    name="SHIEN.CSV")
    assert corrected.status == ImportRun.Status.SUCCEEDED, corrected.errors
    assert (corrected.added, corrected.changed) == (0, 1)
    assert live(victim["atena_no"]) == [("stalker", BASE + timedelta(days=2))]
    twice = refused(vendor[SHIEN], shien(in_a, [measure_row(victim, "change"),
                                                measure_row(victim, "change", kind="other")]))
    assert twice.errors[0]["line"] == 3 and "重複" in twice.errors[0]["message"]


def test_an_urgent_row_for_an_unknown_atena_number_is_refused(vendor, loaded, people, in_a):
    from integration.checkdigits import with_check_digit

    stranger = {"atena_no": with_check_digit("888888888")}
    result = refused(vendor[SHIEN], shien(in_a, [measure_row(unprotected(people), "add"),
                                                 measure_row(stranger, "add")]))
    (problem,) = result.errors
    assert (problem["line"], problem["column"]) == (3, "宛名番号")
    assert problem["message"] == f"宛名番号「{stranger['atena_no']}」は住民記録にありません"


# ---------------------------------------------------------------------------------------------------------------
# 7. Messages
# ---------------------------------------------------------------------------------------------------------------
def test_trailer_count_message_is_the_issues_wording(vendor, in_a):
    many = vendor_people(residents=1202, seed=7, gaiji_rate=0)
    assert len(many) == 1202
    data = juki(in_a, many, file_kind="full", reference_date=BASE, record_count=1203)
    result = refused(vendor["minato_juki_fixed"], data)
    assert len(result.errors) == 1, result.errors[:5]
    (problem,) = result.errors
    assert (problem["line"], problem["column"]) == (1204, "件数")
    assert problem["message"] == "トレーラ（1204行目）件数: 1,203 件と書かれていますが、データは 1,202 件です"


def test_kind_mismatch_messages_use_the_layouts_label(vendor, loaded, people, in_a):
    """The vendor's 住基 file calls its 処理区分 column 「異動区分」: the messages say so."""
    lines = lines_of(juki(in_a, [{**people[0], "op": "change"}], file_kind="delta", reference_date=NEXT))
    lines[0] = lines[0][:7] + b"1" + lines[0][8:]  # the header says 全件
    full = refused(vendor["minato_juki_fixed"], joined(lines))
    assert full.errors[0]["message"] == ("ヘッダのファイル区分は全件ですが、異動区分「2」があります。"
                                         "全件ファイルのレコードに異動区分は書けません")
    lines = lines_of(juki(in_a, people[:1], file_kind="full", reference_date=NEXT))
    lines[0] = lines[0][:7] + b"2" + lines[0][8:]  # the header says 差分
    delta = refused(vendor["minato_juki_fixed"], joined(lines))
    assert delta.errors[0]["message"] == "ヘッダのファイル区分は差分ですが、異動区分が空です"
    lines = lines_of(juki(in_a, [{**people[0], "op": "change"}], file_kind="delta", reference_date=NEXT))
    lines[1] = lines[1][:1] + b"7" + lines[1][2:]
    unknown = refused(vendor["minato_juki_fixed"], joined(lines))
    assert unknown.errors[0]["column"] == "異動区分"
    assert unknown.errors[0]["message"] == "異動区分「7」は使用できません（1, 2, 3）"


# ---------------------------------------------------------------------------------------------------------------
# 8. Untested until now: optional trailer, header by position, character rules, the parallel path
# ---------------------------------------------------------------------------------------------------------------
def _variant(key: str, new_key: str, change: object) -> object:
    data = vendor_layout(key)
    data["key"] = new_key
    change(data)
    return layout_import_json(actor=SYSTEM, data=json.dumps(data, ensure_ascii=False).encode())


def test_an_optional_trailer_may_be_left_out(loaded, people, in_a):
    def optional(data: dict) -> None:
        data["records"]["trailer"]["required"] = False

    layout = _variant("minato_juki_fixed", "juki_optional_trailer", optional)
    rows = [{**people[0], "op": "change", "address": "鹿児島県鹿児島市末尾なし町1番地"}]
    data = juki(in_a, rows, file_kind="delta", reference_date=NEXT)
    without = run(layout, joined(lines_of(data)[:-1]))
    assert without.status == ImportRun.Status.SUCCEEDED, without.errors
    assert without.rows_total == 1 and without.changed == 1
    # present, it is still checked
    wrong = juki(in_a, rows, file_kind="delta", reference_date=NEXT, record_count=2)
    result = refused(layout, wrong)
    assert result.errors[0]["column"] == "件数" and "2 件と書かれていますが、データは 1 件です" in \
        result.errors[0]["message"]


def test_a_header_and_trailer_found_by_position(loaded, people, in_a):
    """Without a record-type code the first line is the header and the last the trailer."""
    def by_position(data: dict) -> None:
        data["records"]["header"].pop("code")
        data["records"]["header"]["position"] = "first"
        data["records"]["trailer"].pop("code")
        data["records"]["trailer"]["position"] = "last"

    layout = _variant("minato_juki_fixed", "juki_by_position", by_position)
    rows = [{**people[0], "op": "change", "address": "鹿児島県鹿児島市位置町1番地"}]
    result = run(layout, juki(in_a, rows, file_kind="delta", reference_date=NEXT))
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert result.reference_date == NEXT and result.file_kind == "delta" and result.changed == 1
    other = refused(layout, write_vendor_file("minato_juki_fixed", rows, municipality_code="131041",
                                              file_kind="delta", reference_date=NEXT))
    assert other.errors[0]["line"] == 1 and other.errors[0]["column"] == "市町村コード"


CHAR_CASES = [
    ("halfwidth", "ﾔﾏﾀﾞ ﾀﾛｳ", "山ﾀﾞ", "半角文字のみの項目に半角でない文字「山」があります"),
    ("digits", "0123456789", "01２3", "数字のみの項目に数字でない文字「２」があります"),
    ("kana", "ヤマダ　タロウ", "ヤマダ　たろう", "カタカナのみの項目にカタカナでない文字「た」があります"),
    ("fullwidth", "山田　太郎", "山田 太郎", "全角文字のみの項目に全角でない文字「 」があります"),
]


@pytest.mark.parametrize(("chars", "good", "bad", "message"), CHAR_CASES, ids=[c[0] for c in CHAR_CASES])
def test_character_rules(loaded, people, in_a, chars, good, bad, message):
    """The 方書 column of the vendor's file, given each character rule in turn."""
    def rule(data: dict) -> None:
        next(c for c in data["columns"] if c["field"] == "address_katagaki")["chars"] = chars

    layout = _variant("minato_juki_fixed", f"juki_chars_{chars}", rule)
    accepted = run(layout, juki(in_a, [{**people[0], "op": "change", "address_katagaki": good}],
                                file_kind="delta", reference_date=NEXT))
    assert accepted.status == ImportRun.Status.SUCCEEDED, accepted.errors
    result = refused(layout, juki(in_a, [{**people[1], "op": "change", "address_katagaki": bad}],
                                  file_kind="delta", reference_date=NEXT))
    (problem,) = result.errors
    assert (problem["line"], problem["column"], problem["message"]) == (2, "方書", message)


@pytest.fixture
def parallel(monkeypatch):
    """Two validation processes from a few KB on (the deployed threshold is 16 MB), parts of ~2 KB."""
    spied: list = []
    original = importer.Importer._stage_parallel

    def spy(self, *args):  # noqa: ANN001,ANN202
        result = original(self, *args)
        spied.append((result, set(self.validate_pids)))
        return result

    monkeypatch.setattr(importer.Importer, "_stage_parallel", spy)
    monkeypatch.setattr(importer.parallel, "PARALLEL_MIN_BYTES", 4 * 1024)
    monkeypatch.setattr(importer.parallel, "CHUNK_BYTES", 2 * 1024)
    monkeypatch.setattr(importer.parallel, "WORKERS", 2)
    monkeypatch.setattr(importer.parallel, "IN_FLIGHT", 3)
    return spied


def test_a_framed_vendor_file_on_the_parallel_path(vendor, in_a, parallel):
    many = vendor_people(residents=120, seed=13, gaiji_rate=0)
    data = juki(in_a, many, file_kind="full", reference_date=BASE)
    assert len(data) > 8 * 2048
    accepted = run(vendor["minato_juki_fixed"], data)
    assert accepted.status == ImportRun.Status.SUCCEEDED, accepted.errors
    (outcome, pids), = parallel
    assert outcome is None and len(pids) >= 1, parallel  # every part validated in the workers
    assert accepted.timings.get("validate_processes", 0) >= 1
    assert (accepted.added, accepted.rows_total, accepted.reference_date) == (len(many), len(many), BASE)

    parallel.clear()
    lines = lines_of(juki(in_a, [{**p, "op": "change"} for p in many], file_kind="delta", reference_date=NEXT))
    name = 22  # 氏名 starts at byte 23
    lines[90] = lines[90][:name] + b"@" + lines[90][name + 1:]  # line 91: a formula, and not full width
    lines[-1] = lines[-1][:1] + f"{len(many) + 5:09d}".encode() + lines[-1][10:]  # the trailer's count is wrong
    before = mirror_bytes()
    result = run(vendor["minato_juki_fixed"], joined(lines))
    assert result.status == ImportRun.Status.FAILED
    assert mirror_bytes() == before
    assert parallel and parallel[0][0] is not None  # the parts before line 91 were staged by the workers
    found = [(e["line"], e["column"], e["message"][:8]) for e in result.errors]
    assert (91, "氏名", "全角文字のみの項") in found and (91, "氏名", "先頭が「@」の値") in found
    assert result.errors[-1]["message"] == (f"トレーラ（{len(many) + 2}行目）件数: {len(many) + 5:,} 件と"
                                            f"書かれていますが、データは {len(many):,} 件です")
