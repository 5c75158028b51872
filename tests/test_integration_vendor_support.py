"""The vendor's 支援措置台帳 file, keyed by 宛名番号 alone (docs/vendor-spec.md §4,
docs/vendor/minato_shien_daicho_csv.json).

The vendor keeps one measure per person and sends no period key. The key is declared in the layout
(``key_fields: ["atena_no"]``), not in the target, and the rule of issue 15 holds: only the support-measure file
or an admin ends a measure, and a protection never vanishes unseen — a full file that no longer lists a live
measure ends it (終了日 = the day before its 基準日; the row stays as history) and the run names it.
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest

from integration.importer import layout_problems
from integration.models import ImportRun, LinkageLayout, SupportMeasure
from integration.services import layout_import_json
from integration.vendorfiles import VENDOR_DIR, write_vendor_file
from integration.writer import LayoutWriter
from madoguchi.principals import SYSTEM
from tests import test_integration_vendor as base
from tests.test_integration_vendor import BASE, refused, run

# The vendor's layouts and the clean 住基 load of tests/test_integration_vendor.py, as fixtures here too.
vendor, people, loaded = base.vendor, base.people, base.loaded

KEY = "minato_shien_daicho_csv"
NEXT = BASE + timedelta(days=1)


def daicho(tenant: object, rows: list[dict], *, file_kind: str, reference_date: date = NEXT) -> bytes:
    return write_vendor_file(KEY, rows, municipality_code=tenant.code, file_kind=file_kind,
                             reference_date=reference_date)


def measure(person: dict, **values: object) -> dict:
    return {"atena_no": person["atena_no"], "kind": "dv", "start_date": BASE, "end_date": None,
            "restrict_address": True, **values}


def measures() -> list[tuple]:
    return sorted(SupportMeasure.objects.values_list("atena_no", "kind", "start_date", "end_date"))


@pytest.fixture
def flagged(loaded, people):
    """The residents whose 住基 record carries the 支援措置区分: the full load gave each a live DV measure."""
    chosen = [p for p in people if p["support_indicator"]]
    assert len(chosen) >= 2 and SupportMeasure.objects.count() == len(chosen)
    return chosen


def test_the_key_is_declared_in_the_layout_not_in_the_target():
    data = json.loads((VENDOR_DIR / f"{KEY}.json").read_text(encoding="utf-8"))
    assert data["target"] == "support_measures" and data["key_fields"] == ["atena_no"]
    layout = LinkageLayout(**{k: v for k, v in data.items() if k != "schedule"})
    assert layout_problems(layout) == []
    layout.key_fields = ["kind"]  # a key the target does not offer
    (problem,) = layout_problems(layout)
    assert "宛名番号・種別・開始日、宛名番号" in problem


def test_clean_full_file_applies(vendor, flagged, people, in_a):
    newcomer = next(p for p in people if not p["support_indicator"] and p["status"] == "resident")
    rows = [measure(p) for p in flagged] + [measure(newcomer, kind="stalker", end_date=date(2027, 3, 31))]
    result = run(vendor[KEY], daicho(in_a, rows, file_kind="full"), name="SHIENDAICHO.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert (result.added, result.changed, result.deleted, result.unchanged) == (1, 0, 0, len(flagged))
    assert result.file_kind == "full" and not result.warnings
    stored = SupportMeasure.objects.get(atena_no=newcomer["atena_no"])
    assert (stored.kind, stored.start_date, stored.end_date) == ("stalker", BASE, date(2027, 3, 31))


def test_delta_rows_act_on_the_persons_current_measure(vendor, flagged, people, in_a):
    """変更 updates the current measure in place (same row, even its 措置区分 corrected: no key but the person's);
    追加 after an ended measure is a new period and the old one stays as history; 削除 deletes the current measure
    only, never the person's history."""
    extended, removed = flagged[0], flagged[1]
    kept_id = SupportMeasure.objects.get(atena_no=extended["atena_no"]).pk
    again = next(p for p in people if not p["support_indicator"] and p["status"] == "resident")
    for person in (again, removed):
        SupportMeasure.objects.create(atena_no=person["atena_no"], kind="dv", start_date=date(2024, 4, 1),
                                      end_date=date(2025, 3, 31))
    rows = [measure(extended, op="change", kind="child_abuse", end_date=date(2027, 3, 31)),
            measure(again, op="add", start_date=NEXT),
            measure(removed, op="delete")]
    result = run(vendor[KEY], daicho(in_a, rows, file_kind="delta"), name="SHIENDAICHO.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert (result.added, result.changed, result.deleted) == (1, 1, 1)
    kept = SupportMeasure.objects.get(atena_no=extended["atena_no"])
    assert (kept.pk, kept.kind, kept.end_date) == (kept_id, "child_abuse", date(2027, 3, 31))
    assert sorted(SupportMeasure.objects.filter(atena_no=again["atena_no"]).values_list("start_date", "end_date")) \
        == [(date(2024, 4, 1), date(2025, 3, 31)), (NEXT, None)]
    assert list(SupportMeasure.objects.filter(atena_no=removed["atena_no"]).values_list("start_date", "end_date")) \
        == [(date(2024, 4, 1), date(2025, 3, 31))]


def test_a_measure_omitted_from_a_full_file_is_ended_and_reported(vendor, flagged, in_a):
    """The full 支援措置台帳 is the vendor's whole set, and the support-measure file may end a measure: the one it
    no longer lists ends the day before the 基準日 (kept as history, not deleted) and the run names it."""
    dropped, listed = flagged[0], flagged[1:]
    old = SupportMeasure.objects.create(atena_no=listed[0]["atena_no"], kind="other", start_date=date(2020, 4, 1),
                                        end_date=date(2021, 3, 31))  # already ended: history, left alone
    result = run(vendor[KEY], daicho(in_a, [measure(p) for p in listed], file_kind="full"), name="SHIENDAICHO.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    ended = SupportMeasure.objects.get(atena_no=dropped["atena_no"])
    assert ended.end_date == NEXT - timedelta(days=1) and not ended.is_active(NEXT)
    assert SupportMeasure.objects.get(pk=old.pk).end_date == date(2021, 3, 31)
    assert (result.changed, result.deleted) == (1, 0)
    (warning,) = result.warnings
    assert warning["column"] == "宛名番号" and dropped["atena_no"] in warning["message"]
    assert "全件の支援措置ファイルに載っていないため" in warning["message"]
    assert "2026-04-01 で終了しました" in warning["message"]
    assert "確認事項が 1 件あります" in result.message


def test_a_delta_file_never_ends_what_it_does_not_list(vendor, flagged, in_a):
    before = measures()
    rows = [measure(flagged[0], op="change", end_date=date(2027, 3, 31))]
    result = run(vendor[KEY], daicho(in_a, rows, file_kind="delta"), name="SHIENDAICHO.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    assert [m for m in measures() if m[0] != flagged[0]["atena_no"]] == \
        [m for m in before if m[0] != flagged[0]["atena_no"]]
    assert not result.warnings


def test_unknown_atena_number_is_refused_with_line_and_field(vendor, flagged, in_a):
    from integration.checkdigits import with_check_digit

    stranger = {**measure(flagged[0]), "atena_no": with_check_digit("999999999")}
    data = daicho(in_a, [measure(p) for p in flagged] + [stranger], file_kind="full")
    result = refused(vendor[KEY], data)
    (problem,) = result.errors
    assert problem["line"] == len(flagged) + 2  # the header is line 1
    assert problem["column"] == "宛名番号"
    assert problem["message"] == f"宛名番号「{stranger['atena_no']}」は住民記録にありません"


def test_the_same_person_twice_is_refused(vendor, flagged, in_a):
    rows = [measure(p) for p in flagged] + [measure(flagged[0], kind="stalker")]
    result = refused(vendor[KEY], daicho(in_a, rows, file_kind="full"))
    assert result.errors[0]["column"] == "宛名番号" and "重複" in result.errors[0]["message"]


def test_a_delete_of_a_person_without_a_measure_is_refused(vendor, flagged, people, in_a):
    nobody = next(p for p in people if not p["support_indicator"])
    result = refused(vendor[KEY], daicho(in_a, [measure(nobody, op="delete")], file_kind="delta"))
    assert result.errors[0]["line"] == 2 and "削除対象の宛名番号" in result.errors[0]["message"]


def test_the_other_municipality_is_not_touched(vendor, flagged, in_a, tenant_b):
    """City B holds a live measure for the same 宛名番号 city A's full file drops: B's stays as it was."""
    from tests.conftest import in_tenant

    with in_tenant(tenant_b):
        SupportMeasure.objects.create(atena_no=flagged[0]["atena_no"], kind="dv", start_date=BASE)
    with in_tenant(in_a):
        result = run(vendor[KEY], daicho(in_a, [measure(p) for p in flagged[1:]], file_kind="full"),
                     name="SHIENDAICHO.CSV")
        assert result.status == ImportRun.Status.SUCCEEDED, result.errors
        assert SupportMeasure.objects.get(atena_no=flagged[0]["atena_no"]).end_date is not None
    with in_tenant(tenant_b):
        assert SupportMeasure.objects.get(atena_no=flagged[0]["atena_no"]).end_date is None


def test_a_full_file_under_the_targets_own_key_ends_instead_of_deleting(vendor, flagged, in_a):
    """The same rule without the layout key: a full support-measure file (宛名番号・種別・開始日) ends the live
    measure it no longer lists and reports it; it deletes nothing."""
    data = json.loads((VENDOR_DIR / "minato_support_csv.json").read_text(encoding="utf-8"))
    data.update(key="support_full_example", mode="full", op_codes={}, options={},
                key_fields=["atena_no", "kind", "start_date"],
                columns=[c for c in data["columns"] if c["field"] != "op"])
    layout = layout_import_json(actor=SYSTEM, data=json.dumps(data, ensure_ascii=False).encode())
    out = io.BytesIO()
    LayoutWriter(data, municipality_code=in_a.code, stream=out).write([measure(p) for p in flagged[1:]])
    result = run(layout, out.getvalue(), name="SHIEN_ALL.CSV")
    assert result.status == ImportRun.Status.SUCCEEDED, result.errors
    # changed: the listed measures (their 備考 is now the file's, empty) and the one ended; nothing deleted
    assert (result.added, result.changed, result.deleted, result.unchanged) == (0, len(flagged), 0, 0)
    assert len(result.warnings) == 1
    assert SupportMeasure.objects.get(atena_no=flagged[0]["atena_no"]).end_date == date.today() - timedelta(days=1)


# -- what the admin reads and edits ------------------------------------------------------------------------------
def test_layout_page_and_editor_show_code_tables_by_meaning(vendor, admin_a):
    """Code tables read as code → meaning in Japanese (with the stored value beside), not as stored 「1=resident」."""
    row = "<td><code>1</code></td><td>住民</td><td><code>resident</code></td>"
    for url in ("/linkage/layouts/minato_juki_fixed/", "/linkage/layouts/minato_juki_fixed/edit/"):
        page = admin_a.get(url).content.decode()
        assert row in page, url
        assert "住民状態（<code>status</code>）" in page and "支援措置区分（<code>support_indicator</code>）" in page
        assert "<td><code>0</code></td><td>なし（支援措置の区分なし）</td>" in page
        assert "<td><code>01</code></td><td>世帯主</td>" in page  # 続柄: the stored term is its own meaning
        assert "1=resident" not in page.split("layout-code_tables")[0]  # (the editor's text box keeps its syntax)
    shikaku = admin_a.get("/linkage/layouts/minato_shikaku_csv/").content.decode()
    assert "<td><code>02</code></td><td>介護保険</td><td><code>kaigo</code></td>" in shikaku
    daicho = admin_a.get(f"/linkage/layouts/{KEY}/").content.decode()
    assert "<dt>キー項目</dt><dd>宛名番号</dd>" in daicho
    assert "<td><code>1</code></td><td>DV</td><td><code>dv</code></td>" in daicho


def test_the_editor_declares_the_key_of_a_support_measure_layout(vendor, admin_a, in_a):
    from integration.services import layout_to_dict
    from tests.test_integration_layout_editor import editor_post

    layout = vendor["minato_support_csv"]
    before = layout_to_dict(layout=layout)
    assert before["key_fields"] == ["atena_no"]  # the urgent file is keyed by 宛名番号 (docs/vendor-spec.md §3)
    page = admin_a.get("/linkage/layouts/minato_support_csv/edit/").content.decode()
    assert "キー項目" in page and "宛名番号・種別・開始日" in page
    assert "<dt>キー項目</dt><dd>宛名番号</dd>" in admin_a.get("/linkage/layouts/minato_support_csv/").content.decode()
    refused = admin_a.post("/linkage/layouts/minato_support_csv/edit/", {
        **editor_post(before), "layout-key_fields": "kind"})
    assert refused.status_code == 400 and "正しく選択してください" in refused.content.decode()
    layout.refresh_from_db()
    assert layout.key_fields == ["atena_no"]
    saved = admin_a.post("/linkage/layouts/minato_support_csv/edit/", {
        **editor_post(before), "layout-key_fields": "atena_no,kind,start_date"})
    assert saved.status_code == 302
    layout.refresh_from_db()
    assert layout.key_fields == ["atena_no", "kind", "start_date"]
    assert "<dt>キー項目</dt><dd>宛名番号・種別・開始日</dd>" in admin_a.get(
        "/linkage/layouts/minato_support_csv/").content.decode()
