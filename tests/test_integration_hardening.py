"""Linkage import hardening: 個人番号 never shown, 外字 never dropped, fixed width, duplicates, plan, parallel path.

Every bad input is rejected with a message naming its line and field, and the database (a wide snapshot
of every mirror table) is unchanged.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit.services import is_personal_number
from integration import importer
from integration.models import Eligibility, GaijiMapping, Household, ImportRun, LinkageLayout, Resident, SupportMeasure
from integration.parsers import SNIFF_BYTES
from integration.services import SHIPPED_DIR, import_execute, import_submit, layouts_ensure_shipped
from integration.writer import LayoutWriter
from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant, staff_client
from tests.test_integration_import import (
    FIELDS,
    atena,
    messages,
    person,
    rejected,
    run_file,
    snapshot,
    std_csv,
)


def my_number(body: str) -> str:
    """A 個人番号 with its check digit (domain-facts.md: Q_n = n+1 for n ≤ 6, n−5 above, from the right)."""
    assert len(body) == 11 and body.isdigit()
    total = sum(int(body[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    remainder = total % 11
    number = body + str(0 if remainder <= 1 else 11 - remainder)
    assert is_personal_number(number)
    return number


def wide_snapshot() -> tuple:
    """Every column a file can change (the shared ``snapshot()`` plus dates, 世帯番号, 個人番号 hash, details)."""
    return (
        sorted(Resident.objects.values_list("atena_no", "household_no", "name", "name_kana", "birth_date", "sex",
                                            "relationship", "address", "status", "personal_no_hash",
                                            "search_name", "search_address")),
        sorted(Household.objects.values_list("household_no", "head_atena_no", "address")),
        sorted(Eligibility.objects.values_list("atena_no", "area", "kind", "number", "start_date", "end_date",
                                               "details")),
        sorted(SupportMeasure.objects.values_list("atena_no", "kind", "start_date", "end_date", "restrict_address",
                                                  "note")),
    )


def state() -> tuple:
    return snapshot(), wide_snapshot()


def refused(layout: object, data: bytes, before: tuple) -> ImportRun:
    """``rejected()`` with the wide snapshot compared as well."""
    run = rejected(layout, data, before[0])
    assert wide_snapshot() == before[1], "a failing file must change nothing"
    return run


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def shipped(key: str) -> dict:
    return json.loads((SHIPPED_DIR / f"{key}.json").read_text(encoding="utf-8"))


def fixed_person(n: int, **overrides: object) -> dict:
    """A person as the legacy fixed-width writer takes it (dates as dates, codes as stored values)."""
    row: dict = {**person(n), "birth_date": date(1980, 4, 1), "status": "resident"}
    row.update(overrides)
    return row


def fixed_file(rows: list[dict], *, encoding: str | None = None) -> bytes:
    layout = shipped("juki_legacy_fixed")
    if encoding:
        layout["encoding"] = encoding
    stream = io.BytesIO()
    LayoutWriter(layout, municipality_code="462012", stream=stream).write(rows)
    return stream.getvalue()


@pytest.fixture
def layouts(in_a):
    layouts_ensure_shipped()
    return {layout.key: layout for layout in LinkageLayout.objects.all()}


@pytest.fixture
def admin_user(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="admin")


@pytest.fixture
def base(layouts, admin_user):
    """Residents 1–3, 国保 資格 of 1 and 2, a DV 支援措置 of 1: every table the layouts write holds rows."""
    residents = run_file(layouts["juki_standard_csv"], std_csv([person(1), person(2), person(3)]), name="base.csv",
                         actor=admin_user)
    assert residents.status == ImportRun.Status.SUCCEEDED, residents.errors
    kokuho = run_file(layouts["elig_kokuho_csv"], csv_bytes([KOKUHO_HEADER, kokuho_row(1), kokuho_row(2)]),
                      name="kokuho.csv", actor=admin_user)
    assert kokuho.status == ImportRun.Status.SUCCEEDED, kokuho.errors
    support = run_file(layouts["support_measures_csv"], csv_bytes([SUPPORT_HEADER, support_row(1)]),
                       name="dv.csv", actor=admin_user)
    assert support.status == ImportRun.Status.SUCCEEDED, support.errors
    before = state()
    assert all(before[1]), "the baseline must hold rows in every table"
    return before


KOKUHO_HEADER = [c["label"] for c in shipped("elig_kokuho_csv")["columns"]]
SUPPORT_HEADER = [c["label"] for c in shipped("support_measures_csv")["columns"]]


def kokuho_row(n: int, *, kind: str = "1", start: str = "R060401", end: str = "", code: str = "462012") -> list[str]:
    return [code, atena(n), kind, f"記号{n}", start, end, "1"]


def support_row(n: int, *, op: str = "A", kind: str = "1", start: str = "20240401", end: str = "",
                restrict: str = "1") -> list[str]:
    return [op, "462012", atena(n), kind, start, end, restrict, f"備考{n}"]


# ---------------------------------------------------------------------------------------------
# 1. 個人番号: stored encrypted, never shown in full
# ---------------------------------------------------------------------------------------------
def _api_client(municipality: object) -> object:
    from django.test import Client

    from tenants.accounts.models import User
    from tenants.accounts.services import api_client_create

    with in_tenant(municipality):
        admin = User.objects.get(username="admin")
        token = api_client_create(actor=admin, name="住基システム（検証）", scopes=["linkage:write"]).token
    return Client(HTTP_HOST=f"{municipality.slug}.{settings.BASE_DOMAIN}", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_personal_number_never_appears_on_screens_api_audit_or_search(layouts, admin_user, tenant_a):
    from audit.models import AuditEvent
    from integration.search import person_search
    from integration.selectors import person_get

    number = my_number("31415926535")
    run = run_file(layouts["juki_standard_csv"], std_csv([person(1, personal_no=number), person(2)]),
                   actor=admin_user)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    stored = Resident.objects.get(atena_no=atena(1))
    assert stored.personal_no_hash and number not in stored.personal_no_hash
    assert number.encode() not in bytes(stored.personal_no_encrypted)

    page = staff_client(tenant_a, "admin").get(f"/linkage/runs/{run.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert run.message == "2 行を取り込みました（追加 2・変更 0・削除 0）" and run.message in body
    assert number not in body

    api = _api_client(tenant_a).get(f"/api/v1/integration/imports/{run.pk}/")
    assert api.status_code == 200 and api.json()["status"] == "succeeded"
    assert number not in api.content.decode()

    with in_tenant(tenant_a):
        found = person_search(actor=admin_user, query="山田")
        assert atena(1) in [view.atena_no for view in found]
        assert number not in repr(found)
        assert number not in repr(person_get(atena_no=atena(1)))
        assert number not in repr(person_search(actor=admin_user, atena_no=atena(1)))
        events = list(AuditEvent.objects.values_list("details", flat=True))
    assert events and all(number not in json.dumps(d, ensure_ascii=False) for d in events)


def test_bad_personal_number_names_line_and_column(layouts, base):
    good = my_number("12345678901")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not is_personal_number(bad)
    run = refused(layouts["juki_standard_csv"], std_csv([person(4, personal_no=bad), person(5)]), base)
    assert messages(run) == ["2:個人番号:個人番号の形式またはチェックデジットが正しくありません"]
    assert bad not in json.dumps(run.errors, ensure_ascii=False) and bad not in run.message


def test_pua_inside_a_personal_number_does_not_echo_it(layouts, base):
    number = my_number("16180339887")
    run = refused(layouts["juki_standard_csv"], std_csv([person(4, personal_no=number[:6] + "\ue000" + number[6:])]),
                  base)
    found = messages(run)
    assert [m.split(":")[:2] for m in found] == [["2", "個人番号"], ["2", "個人番号"]], found
    assert found[0] == "2:個人番号:外字 U+E000 は外字変換表にありません"
    assert number not in json.dumps(run.errors, ensure_ascii=False).replace("\ue000", "")


def test_a_file_without_its_header_line_does_not_echo_the_personal_number(layouts, base, tenant_a):
    """The first data line is read as the header: its values are quoted in the messages, never a 個人番号."""
    number = my_number("27182818284")
    run = refused(layouts["juki_standard_csv"], std_csv([person(4, personal_no=number), person(5)], header=False),
                  base)
    found = messages(run)
    assert "1:1列目:見出し「462012」はレイアウトの「全国地方公共団体コード」と一致しません" in found, found
    assert "1:5列目:見出しがレイアウトの「個人番号」と一致しません（値は表示しません）" in found, found
    assert number not in json.dumps(run.errors, ensure_ascii=False)
    body = staff_client(tenant_a, "admin").get(f"/linkage/runs/{run.pk}/").content.decode()
    assert "個人番号" in body and number not in body
    api = _api_client(tenant_a).get(f"/api/v1/integration/imports/{run.pk}/")
    assert api.json()["status"] == "failed" and number not in api.content.decode()


# ---------------------------------------------------------------------------------------------
# 2. 外字: an unknown PUA character is reported with line and column, never dropped
# ---------------------------------------------------------------------------------------------
def test_unknown_pua_in_name_and_address_is_reported(layouts, base):
    GaijiMapping.objects.create(local_code="\ue000", ucs="髙")  # a table exists: only U+E0xx unmapped fail
    rows = [person(4, name="\ue000橋 一郎"), person(5, name="山\ue0a1 花子", address="鹿児島市\ue0a2町1番地")]
    before = state()
    run = refused(layouts["juki_standard_csv"], std_csv(rows), before)
    assert messages(run) == [
        "3:氏名:外字 U+E0A1 は外字変換表にありません（「山\ue0a1 花子」）",
        "3:住所:外字 U+E0A2 は外字変換表にありません（「鹿児島市\ue0a2町1番地」）",
    ]


def test_cp932_user_defined_character_in_fixed_width_is_reported_not_dropped(layouts, base):
    data = fixed_file([fixed_person(4), fixed_person(5, name="斎\ue000 次郎")])
    assert b"\xf0\x40" in data  # CP932 user-defined area → U+E000
    run = refused(layouts["juki_legacy_fixed"], data, base)
    assert messages(run) == ["2:氏名:外字 U+E000 は外字変換表にありません（「斎\ue000 次郎」）"]
    # once the character is in the 外字 table, the same file imports it converted
    GaijiMapping.objects.create(local_code="\ue000", ucs="藤")
    ok = run_file(layouts["juki_legacy_fixed"], data)
    assert ok.status == ImportRun.Status.SUCCEEDED, ok.errors
    assert Resident.objects.get(atena_no=atena(5)).name == "斎藤 次郎"


# ---------------------------------------------------------------------------------------------
# 3. Fixed width: wrong record length, truncated last record
# ---------------------------------------------------------------------------------------------
def test_fixed_width_record_one_byte_short(layouts, base):
    lines = fixed_file([fixed_person(n) for n in (4, 5, 6)]).split(b"\r\n")
    lines[2] = lines[2][:-1]  # line 3 (no header in this layout)
    run = refused(layouts["juki_legacy_fixed"], b"\r\n".join(lines), base)
    assert messages(run) == ["3::レコード長が正しくありません（期待 340 バイト、実際 339 バイト）。"]


def test_fixed_width_truncated_last_record(layouts, base):
    data = fixed_file([fixed_person(n) for n in (4, 5, 6)])
    run = refused(layouts["juki_legacy_fixed"], data[:-100], base)
    assert messages(run) == ["3::レコード長が正しくありません（期待 340 バイト、実際 242 バイト）。"
                             "最終行が途中で切れている可能性があります。"]


# ---------------------------------------------------------------------------------------------
# 4. The same file twice is a no-op
# ---------------------------------------------------------------------------------------------
def test_same_full_file_twice_changes_nothing(layouts, base):
    data = std_csv([person(1), person(2, address="鹿児島市新町1"), person(4)])
    first = run_file(layouts["juki_standard_csv"], data)
    assert first.status == ImportRun.Status.SUCCEEDED and (first.added, first.changed, first.deleted) == (1, 1, 1)
    after_first = state()
    second = run_file(layouts["juki_standard_csv"], data, name="resent.csv")
    assert second.status == ImportRun.Status.DUPLICATE
    assert f"履歴番号 {first.pk}" in second.message and "何も変更していません" in second.message
    assert (second.added, second.changed, second.deleted) == (0, 0, 0)
    assert state() == after_first


def test_older_snapshot_redelivered_after_a_newer_one_is_applied(layouts, base):
    """A, then B, then A again. Only a re-delivery of the *last* file applied is skipped (docs/integration.md
    “Same file twice”): A after B is applied and the mirror follows the file received last — as it would for an
    older snapshot that differs from A by one byte, so skipping A would only make the result depend on whether
    the bytes happened to repeat. (A layout with a header refuses an older 基準日 instead.)"""
    a = std_csv([person(1), person(2), person(3)], newline="\n")
    b = std_csv([person(1, address="鹿児島市新町1"), person(2), person(4)], newline="\n")
    run_a = run_file(layouts["juki_standard_csv"], a, name="a.csv")
    after_a = state()
    run_b = run_file(layouts["juki_standard_csv"], b, name="b.csv")
    assert (run_a.status, run_b.status) == (ImportRun.Status.SUCCEEDED, ImportRun.Status.SUCCEEDED)
    again = run_file(layouts["juki_standard_csv"], a, name="a.csv")
    assert again.status == ImportRun.Status.SUCCEEDED, again.message
    assert (again.added, again.changed, again.deleted) == (1, 1, 1)
    assert state() == after_a
    assert Resident.objects.get(atena_no=atena(1)).address == person(1)["address"]
    assert Resident.objects.filter(atena_no=atena(3)).exists() and not Resident.objects.filter(
        atena_no=atena(4)).exists()


def test_delta_sent_twice_is_applied_again_but_never_deletes_twice(layouts, base):
    """A delta equal to the last file applied: its 追加・変更 rows write the same values (nothing changes), but its
    削除 rows are refused (deleting again is never a no-op) and the whole file changes nothing."""
    header = ["処理区分", *[c["label"] for c in shipped("juki_delta_csv")["columns"][1:]]]
    fields = [c["field"] for c in shipped("juki_delta_csv")["columns"][1:]]
    assert fields == FIELDS

    def line(op: str, row: dict) -> list[str]:
        return [op, *[row[f] for f in fields]]

    delta = csv_bytes([header, line("1", person(8)), line("2", person(1, address="変更後住所")),
                       line("3", person(3))])
    first = run_file(layouts["juki_delta_csv"], delta)
    assert first.status == ImportRun.Status.SUCCEEDED, first.errors
    assert (first.added, first.changed, first.deleted) == (1, 1, 1)
    after_first = state()
    second = refused(layouts["juki_delta_csv"], delta, after_first)
    assert [(e["line"], e["column"]) for e in second.errors][:1] == [(4, "宛名番号")]
    assert f"前回取り込んだ差分ファイル（履歴番号 {first.pk}）と同じ内容です" in second.errors[0]["message"]
    # a delta without 削除 sent twice: applied again, nothing changes
    dv = csv_bytes([SUPPORT_HEADER, support_row(2, start="20240501")])
    assert run_file(layouts["support_measures_csv"], dv).status == ImportRun.Status.SUCCEEDED
    after_dv = state()
    again = run_file(layouts["support_measures_csv"], dv, name="again.csv")
    assert again.status == ImportRun.Status.SUCCEEDED, again.errors
    assert (again.added, again.changed, again.deleted, again.unchanged) == (0, 0, 0, 1)
    assert state() == after_dv


# ---------------------------------------------------------------------------------------------
# 5. Only areas in the municipality's plan are imported
# ---------------------------------------------------------------------------------------------
def _drop_area(municipality: object, area: str) -> object:
    """Change the plan as the platform does (inside this test's transaction); return the stored copy."""
    from tenants.models import Municipality
    from tenants.services import municipality_update

    stored = Municipality.objects.get(pk=municipality.pk)
    municipality_update(municipality=stored, actor=SYSTEM, name=stored.name, name_kana=stored.name_kana,
                        areas=[a for a in stored.areas if a != area], contract_start=stored.contract_start,
                        contract_end=stored.contract_end)
    fresh = Municipality.objects.get(pk=municipality.pk)
    assert not fresh.has_area(area)
    return fresh


def test_file_for_an_unsubscribed_area_with_a_valid_row_is_rejected(layouts, base, tenant_a):
    kaigo = layouts["elig_kaigo_csv"]
    data = csv_bytes([[c["label"] for c in kaigo.columns],
                      ["462012", atena(1), "1", "K0000001", "20240401", "", "要介護1"]])
    subscribed = _outcome(kaigo, data)  # while subscribed, the very same file imports (then rolled back)
    assert subscribed[0] == ImportRun.Status.SUCCEEDED and subscribed[4][0] == 1, subscribed[1]
    fresh = _drop_area(tenant_a, "kaigo")
    with in_tenant(fresh):
        run = refused(kaigo, data, base)
    assert "kaigo" in run.message and "契約" in run.message
    assert run.errors[0]["line"] == 0 and "契約されていません" in run.errors[0]["message"]
    assert not Eligibility.objects.filter(area="kaigo").exists()


def test_run_queued_before_the_area_left_the_plan_fails_and_writes_nothing(layouts, base, tenant_a):
    kokuho = layouts["elig_kokuho_csv"]
    data = csv_bytes([KOKUHO_HEADER, kokuho_row(1, start="R060501"), kokuho_row(3)])
    queued = import_submit(layout=kokuho, source=data, file_name="kokuho.csv", run_async=True, actor=SYSTEM)
    assert queued.status == ImportRun.Status.QUEUED
    fresh = _drop_area(tenant_a, "kokuho")
    with in_tenant(fresh):  # as the worker does: the municipality read from the database
        run = import_execute(run_id=queued.pk, actor=SYSTEM)
        assert run.status == ImportRun.Status.FAILED
        assert "kokuho" in run.message and run.errors and "契約されていません" in run.errors[0]["message"]
        assert state() == base


# ---------------------------------------------------------------------------------------------
# 6. Bad input for 支援措置 (DV) and 資格 files: the existing rows stay as they are
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rows,expected", [
    ([support_row(2, start="20240501", end="20240401")],
     ["2:終了日:終了日（2024-04-01）が開始日（2024-05-01）より前です"]),
    ([support_row(2), support_row(3, kind="7")], ["3:措置種別:コード「7」はコード表（support_kind）にありません"]),
    ([support_row(2, op="X")], ["2:処理区分:処理区分「X」は使用できません（A, C, D）"]),
    ([support_row(2), support_row(3, start="20240231")], None),
    ([support_row(1, op="D"), support_row(2, op="D")],
     [f"3:宛名番号:削除対象の宛名番号「{atena(2)}」・種別「dv」・開始日「2024-04-01」が登録されていません"]),
    ([support_row(2), support_row(2)], None),
    ([support_row(2, restrict="たぶん")], ["2:住所非表示:値「たぶん」は 1（はい）/ 0（いいえ）のいずれでもありません"]),
])
def test_bad_support_measure_file_changes_nothing(layouts, base, rows, expected):
    run = refused(layouts["support_measures_csv"], csv_bytes([SUPPORT_HEADER, *rows]), base)
    found = messages(run)
    if expected is None:
        assert len(found) == 1 and found[0].startswith("3:"), found
        assert ("存在しない" in found[0] and "開始日" in found[0]) or "重複" in found[0], found
    else:
        assert found == expected
    assert SupportMeasure.objects.get(atena_no=atena(1)).note == "備考1"


@pytest.mark.parametrize("rows,expected", [
    ([kokuho_row(3, start="R060230")], ["2:資格取得日:令和6年2月30日は存在しない日付です"]),
    ([kokuho_row(3, kind="5")], ["2:資格区分:コード「5」はコード表（eligibility_kind）にありません"]),
    ([kokuho_row(1), kokuho_row(3, code="131041")], None),
    ([kokuho_row(1), kokuho_row(1)], None),
    ([kokuho_row(1, start="R060401", end="R060301")],
     ["2:資格喪失日:終了日（2024-03-01）が開始日（2024-04-01）より前です"]),
])
def test_bad_eligibility_file_changes_nothing(layouts, base, rows, expected):
    run = refused(layouts["elig_kokuho_csv"], csv_bytes([KOKUHO_HEADER, *rows]), base)
    found = messages(run)
    if expected is None:
        assert len(found) == 1 and found[0].startswith(("3:全国地方公共団体コード:", "3:宛名番号:")), found
        assert "他の自治体" in found[0] or "重複" in found[0], found
    else:
        assert found == expected
    assert Eligibility.objects.filter(area="kokuho").count() == 2


# ---------------------------------------------------------------------------------------------
# 7. Encoding
# ---------------------------------------------------------------------------------------------
def test_stray_cp932_byte_in_a_utf8_file_names_its_line(layouts, base):
    lines = std_csv([person(4), person(5), person(6), person(7)]).split(b"\r\n")
    assert "山田 太郎6".encode() in lines[3]
    lines[3] = lines[3].replace("山田 太郎6".encode(), "山田 ".encode() + "太".encode("cp932") + b"6")
    run = refused(layouts["juki_standard_csv"], b"\r\n".join(lines), base)
    found = messages(run)
    assert len(found) == 1 and found[0].startswith("4::UTF-8として読めないバイトがあります"), found
    assert "0x91" in found[0] and "文字コードを確認してください" in found[0]


def test_utf8_file_sent_to_a_cp932_layout_is_a_clear_error(layouts, base):
    rows = [fixed_person(4, name="鈴木 一郎", address="鹿児島市山下町11番地"),
            fixed_person(5, name="高橋 花子", address="鹿児島市名山町2番地")]
    data = fixed_file(rows, encoding="utf-8")  # byte widths right, bytes UTF-8
    run = refused(layouts["juki_legacy_fixed"], data, base)
    found = messages(run)
    assert len(found) == 1 and found[0].startswith("1::") and "UTF-8のファイルではありませんか" in found[0], found


def test_utf8_file_whose_bytes_happen_to_decode_as_cp932_is_not_imported_as_mojibake(layouts, base):
    # 「佐藤」「サトウ」「鹿児島」 in UTF-8 are also valid CP932 byte sequences (菴占陸, 繧ｵ繝医え, …)
    rows = [fixed_person(n, name="佐藤", name_kana="サトウ", address="鹿児島") for n in (4, 5)]
    data = fixed_file(rows, encoding="utf-8")
    for line in data.split(b"\r\n")[:2]:
        for column in shipped("juki_legacy_fixed")["columns"]:
            line[column["start"] - 1:column["start"] - 1 + column["length"]].decode("cp932")  # no error
    run = refused(layouts["juki_legacy_fixed"], data, base)
    assert messages(run) == ["1::1行目がUTF-8の文字として読めます。このレイアウトの文字コードはShift_JIS（CP932）です。"
                             "UTF-8のファイルではありませんか。文字コードを確認してください"]
    # a genuine CP932 file with the same names imports them as written
    ok = run_file(layouts["juki_legacy_fixed"], fixed_file(rows))
    assert ok.status == ImportRun.Status.SUCCEEDED, ok.errors
    assert Resident.objects.get(atena_no=atena(5)).name_kana == "サトウ"


def test_utf8_csv_sent_to_a_cp932_layout_is_a_clear_error(layouts, base):
    run = refused(layouts["juki_legacy_fixed"], std_csv([person(4)]), base)
    found = messages(run)
    assert len(found) == 1 and found[0].startswith("1::1行目がUTF-8の文字として読めます"), found
    assert "UTF-8のファイルではありませんか" in found[0]


def _cp932_csv_layout(layouts: dict) -> LinkageLayout:
    """The standard resident CSV layout, as a municipality whose system writes it in CP932."""
    layout = layouts["juki_standard_csv"]
    layout.pk, layout.key, layout.encoding, layout.shipped = None, "juki_csv_cp932", "cp932", False
    layout.save()
    return layout


def _utf8_line_message(line: int) -> str:
    return (f"{line}:{line}行目がUTF-8の文字として読めます。このレイアウトの文字コードはShift_JIS（CP932）です。"
            "UTF-8のファイルではありませんか。文字コードを確認してください")


def test_utf8_lines_after_the_first_megabyte_of_a_cp932_fixed_file_are_reported(layouts, base, parallel):
    """Two files joined by a careless script: the start is CP932 (so the file is accepted as CP932), two
    records further down are UTF-8 of the right byte length, which CP932 would read as mojibake."""
    layout = layouts["juki_legacy_fixed"]
    rows = [fixed_person(n, name="佐藤", name_kana="サトウ", address="鹿児島") for n in range(4, 3304)]
    lines = fixed_file(rows).split(b"\r\n")
    utf8 = fixed_file([rows[0]], encoding="utf-8").split(b"\r\n")[0]
    assert len(utf8) == len(lines[0]) and utf8 != lines[0]
    lines[3150] = lines[3290] = utf8
    data = b"\r\n".join(lines)
    assert data.index(utf8) > SNIFF_BYTES  # beyond the start that is sniffed before any record is read
    expected = [_utf8_line_message(3151).replace(":", "::", 1), _utf8_line_message(3291).replace(":", "::", 1)]
    for workers in (1, 2):  # the single-process path and the parallel one (parts sliced in the workers)
        parallel(workers)
        run = refused(layout, data, base)
        assert messages(run) == expected, (workers, messages(run)[:3])


def test_utf8_line_in_a_cp932_csv_names_its_line_and_the_good_file_imports(layouts, base, parallel):
    layout = _cp932_csv_layout(layouts)
    # no カナ or 続柄: the mojibake of a UTF-8 line would pass every field check but the encoding one
    people = [person(n, name=f"佐藤 {n}", name_kana="", relationship="", address=f"鹿児島 {n}") for n in range(4, 94)]
    good = std_csv(people, encoding="cp932")
    lines = good.split(b"\r\n")
    lines[60] = lines[60].decode("cp932").encode("utf-8")  # line 61 (the header is line 1)
    lines[60].decode("cp932")  # no error: CP932 alone would read it as 「菴占陸 64」
    bad = b"\r\n".join(lines)
    for workers in (1, 2):
        parallel(workers)
        run = refused(layout, bad, base)
        assert messages(run) == [_utf8_line_message(61).replace(":", "::", 1)], messages(run)
    ok = run_file(layout, good)
    assert ok.status == ImportRun.Status.SUCCEEDED, ok.errors
    assert Resident.objects.get(atena_no=atena(64)).name == "佐藤 64"


# ---------------------------------------------------------------------------------------------
# 8. The parallel validation path gives exactly the single-process results
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def parallel(monkeypatch):
    """Small thresholds (read by the importer at run time) so a file of a few KB is cut into ~2 KB parts."""
    spied: list = []
    original = importer.Importer._stage_parallel

    def spy(self, *args):  # noqa: ANN001,ANN202
        result = original(self, *args)
        spied.append(result)
        return result

    monkeypatch.setattr(importer.Importer, "_stage_parallel", spy)
    monkeypatch.setattr(importer.parallel, "PARALLEL_MIN_BYTES", 4 * 1024)
    monkeypatch.setattr(importer.parallel, "CHUNK_BYTES", 2 * 1024)

    def use(workers: int) -> list:
        monkeypatch.setattr(importer.parallel, "WORKERS", workers)
        monkeypatch.setattr(importer.parallel, "IN_FLIGHT", workers + 1)
        spied.clear()
        return spied

    return use


def _outcome(layout: object, data: bytes) -> tuple:
    """Run ``data`` and roll back: (status, errors, error count, rows, counts, mirror after)."""
    sid = transaction.savepoint()
    try:
        run = run_file(layout, data)
        return (run.status, run.errors, run.error_count, run.rows_total,
                (run.added, run.changed, run.deleted, run.unchanged), state())
    finally:
        transaction.savepoint_rollback(sid)


def messages_of(errors: list[dict]) -> list[str]:
    return [f"{e['line']}:{e['column']}:{e['message']}" for e in errors]


def _many(count: int, bad: dict[int, dict]) -> bytes:
    return std_csv([person(n, **bad.get(n, {})) for n in range(1, count + 1)])


def test_parallel_validation_reports_exactly_the_sequential_errors(layouts, base, parallel):
    layout = layouts["juki_standard_csv"]
    bad = {40: {"sex": "3"}, 41: {"birth_date": "2024-02-30"}, 75: {"name": ""}, 76: {"kind": "9"},
           110: {"relationship": "孫"}, 111: {"name": "山\ue0a1"}, 140: {"postcode": "8" * 9}}
    data = _many(150, bad)
    assert len(data) > 8 * 2048  # several parts
    parallel(1)
    sequential = _outcome(layout, data)
    spied = parallel(2)
    in_parallel = _outcome(layout, data)
    assert len(spied) == 1 and spied[0] is not None and spied[0][0] > 0, spied  # parts before line 40 were staged
    assert in_parallel[:5] == sequential[:5]
    status, errors, count, rows, _counts, mirror = in_parallel
    assert status == ImportRun.Status.FAILED and mirror == base
    assert count == 7 and rows == 150
    found = [f"{e['line']}:{e['column']}" for e in errors]
    assert found == ["41:性別", "42:生年月日", "76:氏名", "77:住民種別", "111:続柄", "112:氏名", "141:郵便番号"], found


def test_parallel_duplicate_keys_across_parts_are_found(layouts, base, parallel):
    layout = layouts["juki_standard_csv"]
    data = _many(150, {130: {"atena_no": atena(5)}})
    parallel(1)
    sequential = _outcome(layout, data)
    spied = parallel(2)
    in_parallel = _outcome(layout, data)
    assert spied == [None], spied  # every part was validated in the workers
    assert in_parallel[:5] == sequential[:5]
    assert [f"{e['line']}:{e['column']}" for e in in_parallel[1]] == ["131:宛名番号"]
    assert "6行目と同じキー" in in_parallel[1][0]["message"]


def test_parallel_import_gives_the_same_mirror(layouts, base, parallel, tenant_a):
    from tenants.crypto import decrypt

    layout = layouts["juki_standard_csv"]
    rows = [person(n, personal_no=my_number(f"{n:011d}") if n % 10 == 0 else "",
                   name=f"\ue000橋 {n}" if n % 17 == 0 else f"山田 {n}") for n in range(1, 181)]
    GaijiMapping.objects.create(local_code="\ue000", ucs="髙")
    data = std_csv(rows)
    parallel(1)
    sequential = _outcome(layout, data)
    spied = parallel(2)
    in_parallel = _outcome(layout, data)
    assert spied == [None], spied
    assert sequential[0] == ImportRun.Status.SUCCEEDED, sequential[1]
    assert in_parallel == sequential
    assert in_parallel[4] == (177, 3, 0, 0)  # 1–3 renamed
    # and the mirror really holds what the parallel run wrote
    run_file(layout, data)
    assert Resident.objects.get(atena_no=atena(17)).name == "髙橋 17"
    r = Resident.objects.get(atena_no=atena(20))
    assert decrypt(tenant_a, r.personal_no_encrypted, purpose="personal_no") == my_number(f"{20:011d}")
    assert connection.tenant.schema_name == tenant_a.schema_name


def test_parallel_fixed_width_matches_the_single_process_path(layouts, base, parallel):
    """CP932 fixed width: parts are sliced column by column in the workers (``FixedParser.fast_batches``)."""
    layout = layouts["juki_legacy_fixed"]
    rows = [fixed_person(n, name=f"鈴木 {n}", address=f"鹿児島市山下町{n}番地") for n in range(1, 61)]
    good = fixed_file(rows)[:-2]  # the last record without its line break
    assert len(good) > 8 * 2048
    parallel(1)
    sequential = _outcome(layout, good)
    spied = parallel(2)
    in_parallel = _outcome(layout, good)
    assert spied == [None], spied
    assert sequential[0] == ImportRun.Status.SUCCEEDED, sequential[1]
    assert in_parallel == sequential and in_parallel[4] == (57, 3, 0, 0)

    lines = fixed_file(rows).split(b"\r\n")
    lines[29] = lines[29][:-1]  # line 30: one byte short
    lines[44] = lines[44].replace("鈴木".encode("cp932"), b"\xf0\x40\x96\xd8")  # line 45: an unknown 外字
    bad = b"\r\n".join(lines)
    parallel(1)
    sequential = _outcome(layout, bad)
    spied = parallel(2)
    in_parallel = _outcome(layout, bad)
    assert spied and spied[0] is not None and spied[0][0] > 0, spied
    assert in_parallel[:5] == sequential[:5] and in_parallel[5] == base
    assert messages_of(in_parallel[1]) == [
        "30::レコード長が正しくありません（期待 340 バイト、実際 339 バイト）。",
        "45:氏名:外字 U+E000 は外字変換表にありません（「\ue000木 45」）"]
