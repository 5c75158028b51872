"""Linkage import: layouts, the pipeline, and every kind of bad input (message names line/field, DB unchanged)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from integration.checkdigits import with_check_digit
from integration.models import Eligibility, Household, ImportRun, LinkageLayout, Resident, SupportMeasure
from integration.services import SHIPPED_DIR, import_submit, layouts_ensure_shipped
from madoguchi.principals import SYSTEM

STD = json.loads((SHIPPED_DIR / "juki_standard_csv.json").read_text(encoding="utf-8"))
FIELDS = [c["field"] for c in STD["columns"]]
HEADER = [c["label"] for c in STD["columns"]]


def atena(n: int) -> str:
    return with_check_digit(f"{n:09d}")


def person(n: int, **overrides: str) -> dict[str, str]:
    row = {f: "" for f in FIELDS}
    row.update({
        "municipality_code": "462012", "atena_no": atena(n), "household_no": atena(900000 + n // 3),
        "name": f"山田 太郎{n}", "name_kana": f"ヤマダ タロウ{n}", "birth_date": "1980-04-01", "sex": "1",
        "relationship": "世帯主", "address": f"鹿児島県鹿児島市山下町{n}番地", "postcode": "892-8677",
        "status": "1", "kind": "1",
    })
    row.update(overrides)
    return row


def std_csv(rows: list[dict], *, header: bool = True, newline: str = "\r\n", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    if header:
        writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row[f] for f in FIELDS])
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def layouts(in_a, django_user_model):
    layouts_ensure_shipped()
    return {layout.key: layout for layout in LinkageLayout.objects.all()}


@pytest.fixture
def admin_user(in_a):
    from tenants.accounts.models import User

    return User.objects.get(username="admin")


def run_file(layout: LinkageLayout, data: bytes, name: str = "juki.csv", actor: object = SYSTEM) -> ImportRun:
    return import_submit(layout=layout, source=data, file_name=name, run_async=False, actor=actor)


def snapshot() -> tuple:
    return (
        sorted(Resident.objects.values_list("atena_no", "name", "address", "status")),
        sorted(Household.objects.values_list("household_no", "head_atena_no")),
        sorted(Eligibility.objects.values_list("atena_no", "area", "kind")),
        sorted(SupportMeasure.objects.values_list("atena_no", "kind", "start_date")),
    )


def test_full_import_adds_residents_households_and_search_columns(layouts, admin_user):
    rows = [person(1), person(2, relationship="妻", name="山田 花子", sex="2"), person(3, name="髙橋 一郎")]
    run = run_file(layouts["juki_standard_csv"], std_csv(rows), actor=admin_user)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    assert (run.added, run.changed, run.deleted) == (3, 0, 0)
    r = Resident.objects.get(atena_no=atena(3))
    assert r.search_name == "高橋一郎"
    assert r.birth_date == date(1980, 4, 1)
    assert Household.objects.count() == 2
    assert {"validate_stage", "check", "apply", "total"} <= set(run.timings)



def test_same_file_twice_is_a_noop(layouts, admin_user):
    data = std_csv([person(1), person(2)])
    first = run_file(layouts["juki_standard_csv"], data, actor=admin_user)
    second = run_file(layouts["juki_standard_csv"], data, name="again.csv", actor=admin_user)
    assert first.status == ImportRun.Status.SUCCEEDED
    assert second.status == ImportRun.Status.DUPLICATE
    assert "取込済み" in second.message
    assert ImportRun.objects.count() == 2


def test_full_import_replaces_and_counts_changes(layouts, admin_user):
    run_file(layouts["juki_standard_csv"], std_csv([person(1), person(2), person(3)]), actor=admin_user)
    run = run_file(layouts["juki_standard_csv"], std_csv([person(1), person(2, address="鹿児島市新町1"),
                                                          person(4)]), actor=admin_user)
    assert (run.added, run.changed, run.deleted, run.unchanged) == (1, 1, 1, 1)
    assert sorted(Resident.objects.values_list("atena_no", flat=True)) == sorted([atena(1), atena(2), atena(4)])


def test_import_is_audited(layouts, admin_user):
    from audit.models import AuditEvent

    run = run_file(layouts["juki_standard_csv"], std_csv([person(1)]), actor=admin_user)
    event = AuditEvent.objects.filter(action="import", target_type="linkage_run", target_id=str(run.pk)).get()
    assert event.details["added"] == 1 and event.actor == "admin"


def test_personal_number_is_encrypted_and_hashed(layouts, admin_user, tenant_a):
    from tenants.crypto import decrypt, lookup_hash

    run = run_file(layouts["juki_standard_csv"], std_csv([person(1, personal_no="123456789018")]), actor=admin_user)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    r = Resident.objects.get(atena_no=atena(1))
    assert b"123456789018" not in bytes(r.personal_no_encrypted)
    assert decrypt(tenant_a, r.personal_no_encrypted, purpose="personal_no") == "123456789018"
    assert r.personal_no_hash == lookup_hash(tenant_a, "123456789018", purpose="personal_no")
    # unchanged number on re-import: no change counted, ciphertext kept
    again = run_file(layouts["juki_standard_csv"], std_csv([person(1, personal_no="123456789018")]) + b"\r\n",
                     actor=admin_user)
    assert again.changed == 0
    bad = run_file(layouts["juki_standard_csv"], std_csv([person(1, personal_no="123456789012")]), actor=admin_user)
    assert bad.status == ImportRun.Status.FAILED
    assert "123456789012" not in json.dumps(bad.errors)


# ---------------------------------------------------------------------------------------------
# Bad input: each is rejected with a message naming line and field; nothing changes.
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def baseline(layouts, admin_user):
    run = run_file(layouts["juki_standard_csv"], std_csv([person(1), person(2), person(3)]), name="base.csv",
                   actor=admin_user)
    assert run.status == ImportRun.Status.SUCCEEDED
    return snapshot()


def rejected(layout: LinkageLayout, data: bytes, before: tuple, actor: object = SYSTEM) -> ImportRun:
    run = run_file(layout, data, name="bad.csv", actor=actor)
    assert run.status == ImportRun.Status.FAILED, run.message
    assert run.errors, "a failed run must say why"
    assert snapshot() == before, "a failing file must change nothing"
    return run


def messages(run: ImportRun) -> list[str]:
    return [f"{e['line']}:{e['column']}:{e['message']}" for e in run.errors]


def test_wrong_encoding(layouts, baseline):
    data = std_csv([person(4, name="鈴木 一郎")], encoding="cp932")
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert any(m.startswith("1::") and "UTF-8として読めない" in m for m in messages(run)), messages(run)
    assert any("Shift_JIS" in m for m in messages(run))


def test_truncated_last_line(layouts, baseline):
    data = std_csv([person(4), person(5)])
    run = rejected(layouts["juki_standard_csv"], data[:-40], baseline)
    assert any(m.startswith("3::") and "項目数" in m and "途中で切れて" in m for m in messages(run)), messages(run)


def test_truncated_inside_quotes(layouts, baseline):
    data = std_csv([person(4), person(5, address="鹿児島市, 山下町")])
    cut = data[: data.rindex("山下町".encode())]
    run = rejected(layouts["juki_standard_csv"], cut, baseline)
    assert any(m.startswith("3::") and "引用符" in m for m in messages(run)), messages(run)


def test_wrong_column_count(layouts, baseline):
    data = std_csv([person(4)]) + b"462012,1,2\r\n"
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert any(m.startswith("3::") and "期待 30 項目、実際 3 項目" in m for m in messages(run)), messages(run)


def test_wrong_header(layouts, baseline):
    data = std_csv([person(4)]).replace("氏名_フリガナ".encode(), "カナ".encode(), 1)
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert any(m.startswith("1:7列目:") and "氏名_フリガナ" in m for m in messages(run)), messages(run)


@pytest.mark.parametrize("value,needle", [
    ("令和0年4月1日", "令和0年は存在しません"),
    ("令和6年2月30日", "存在しない日付"),
    ("2024-02-30", "存在しない"),
    ("平成31年5月1日", "期間外"),
    ("昭和元年1月1日", "開始"),
])
def test_impossible_dates(layouts, baseline, value, needle):
    run = rejected(layouts["juki_standard_csv"], std_csv([person(4), person(5, birth_date=value)]), baseline)
    assert any(m.startswith("3:生年月日:") and needle in m for m in messages(run)), messages(run)


def test_bad_check_digit(layouts, baseline):
    good = atena(4)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    run = rejected(layouts["juki_standard_csv"], std_csv([person(4, atena_no=bad)]), baseline)
    assert messages(run) == [f"2:宛名番号:「{bad}」のチェックデジットが正しくありません"]


def test_duplicate_keys(layouts, baseline):
    run = rejected(layouts["juki_standard_csv"], std_csv([person(4), person(5), person(4, name="別人")]), baseline)
    assert any(m.startswith("4:宛名番号:") and "重複" in m and "2行目" in m for m in messages(run)), messages(run)


def test_unknown_code_values(layouts, baseline):
    run = rejected(layouts["juki_standard_csv"], std_csv([person(4, sex="3"), person(5, status="x")]), baseline)
    assert any(m.startswith("2:性別:") and "コード「3」" in m for m in messages(run)), messages(run)
    assert any(m.startswith("3:住民状態:") and "コード「x」" in m for m in messages(run)), messages(run)


def test_every_error_is_reported_not_just_the_first(layouts, baseline):
    rows = [person(4, sex="3"), person(5, birth_date="2024-13-01", name=""), person(6, relationship="孫")]
    run = rejected(layouts["juki_standard_csv"], std_csv(rows), baseline)
    found = messages(run)
    assert any(m.startswith("2:性別") for m in found)
    assert any(m.startswith("3:生年月日") for m in found) and any(m.startswith("3:氏名:必須") for m in found)
    assert any(m.startswith("4:続柄") for m in found)
    assert run.error_count == 4


def test_file_for_another_municipality(layouts, baseline):
    run = rejected(layouts["juki_standard_csv"], std_csv([person(4, municipality_code="131041")]), baseline)
    assert run.errors[0]["line"] == 2 and run.errors[0]["column"] == "全国地方公共団体コード"
    assert "他の自治体" in run.errors[0]["message"]


@pytest.mark.parametrize("data", [b"", std_csv([]), b"\r\n\r\n"])
def test_empty_file(layouts, baseline, data):
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert "空のファイル" in run.errors[0]["message"]


def test_bom_is_accepted_for_utf8(layouts, baseline):
    data = b"\xef\xbb\xbf" + std_csv([person(1), person(2), person(3), person(4)])
    run = run_file(layouts["juki_standard_csv"], data)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    assert run.added == 1


def test_bom_on_a_cp932_layout_is_rejected(layouts, baseline):
    fixed = layouts["juki_legacy_fixed"]
    run = rejected(fixed, b"\xef\xbb\xbf" + b"462012" + b" " * 334 + b"\r\n", baseline)
    assert run.errors[0]["line"] == 1 and "BOM" in run.errors[0]["message"]


def test_mixed_line_endings(layouts, baseline):
    body = std_csv([person(4)], newline="\r\n") + std_csv([person(5)], header=False, newline="\n")
    body += std_csv([person(6)], header=False, newline="\r")
    run = run_file(layouts["juki_standard_csv"], body)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    assert run.added == 3 and run.deleted == 3


def test_ten_megabyte_single_line(layouts, baseline):
    data = std_csv([person(4)]) + b"x" * (10 * 1024 * 1024) + b"\r\n" + std_csv([person(5)], header=False)
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert any(m.startswith("3::") and "上限" in m for m in messages(run)), messages(run)
    assert len(json.dumps(run.errors)) < 10_000


def test_delta_deleting_a_missing_key(layouts, baseline):
    delta = layouts["juki_delta_csv"]
    header = ["処理区分", *HEADER]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(["2", *[person(1, address="変更後住所")[f] for f in FIELDS]])
    writer.writerow(["3", *[person(77)[f] for f in FIELDS]])
    run = rejected(delta, buffer.getvalue().encode(), baseline)
    assert messages(run) == [f"3:宛名番号:削除対象の宛名番号「{atena(77)}」が登録されていません"]


def test_delta_applies_add_change_delete(layouts, baseline):
    delta = layouts["juki_delta_csv"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["処理区分", *HEADER])
    writer.writerow(["1", *[person(8)[f] for f in FIELDS]])
    writer.writerow(["2", *[person(1, address="変更後住所")[f] for f in FIELDS]])
    writer.writerow(["3", *[person(2, name="", birth_date="")[f] for f in FIELDS]])
    run = run_file(delta, buffer.getvalue().encode())
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    assert (run.added, run.changed, run.deleted) == (1, 1, 1)
    assert Resident.objects.get(atena_no=atena(1)).address == "変更後住所"
    assert not Resident.objects.filter(atena_no=atena(2)).exists()


def test_failure_during_apply_changes_nothing_and_rerun_completes(layouts, baseline, monkeypatch, admin_user):
    from integration import importer
    from integration.services import import_retry

    original = importer.Importer._derive_households

    def crash(self, cursor):  # noqa: ANN001
        original(self, cursor)  # the residents are already written inside the transaction …
        raise OSError("worker lost")  # … when the process dies

    monkeypatch.setattr(importer.Importer, "_derive_households", crash)
    data = std_csv([person(1), person(5)])
    run = rejected(layouts["juki_standard_csv"], data, baseline)
    assert "障害" in run.message
    monkeypatch.setattr(importer.Importer, "_derive_households", original)
    again = import_retry(run=run, actor=admin_user, run_async=False)
    assert again.status == ImportRun.Status.SUCCEEDED, again.errors
    assert (again.added, again.deleted) == (1, 2)


def test_unsubscribed_area_is_rejected(tenant_b, django_user_model):
    from tests.conftest import in_tenant

    with in_tenant(tenant_b):
        layouts_ensure_shipped()
        assert not LinkageLayout.objects.filter(target="eligibility:kaigo").exists()
        data = json.loads((SHIPPED_DIR / "elig_kaigo_csv.json").read_text(encoding="utf-8"))
        layout = LinkageLayout.objects.create(**{k: v for k, v in data.items() if k != "schedule"})
        run = run_file(layout, "全国地方公共団体コード,宛名番号\n".encode())
        assert run.status == ImportRun.Status.FAILED
        assert "介護" in run.message or "kaigo" in run.message
        assert not Eligibility.objects.exists()


def test_households_follow_a_full_import(layouts, baseline):
    # baseline: residents 1, 2 (household of 1 and 2) and 3 (its own household)
    assert Household.objects.count() == 2
    run = run_file(layouts["juki_standard_csv"], std_csv([person(1, relationship="妻"), person(2)]))
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors
    household = Household.objects.get()
    assert household.household_no == atena(900000) and household.head_atena_no == atena(2)


def test_only_admins_or_the_explicit_system_principal_may_import(layouts, baseline):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from audit.models import AuditEvent
    from madoguchi.principals import SystemPrincipal
    from tenants.accounts.models import User

    clerk = User.objects.get(username="staff1")
    for nobody in (None, AnonymousUser(), clerk):  # a view that lost its user is not "the system"
        with pytest.raises(PermissionDenied):
            run_file(layouts["juki_standard_csv"], std_csv([person(4)]), actor=nobody)
    assert snapshot() == baseline
    run = run_file(layouts["juki_standard_csv"], std_csv([person(1), person(2), person(3), person(4)]),
                   actor=SystemPrincipal("api:基幹系"))
    assert run.status == ImportRun.Status.SUCCEEDED and run.requested_by == "api:基幹系"
    event = AuditEvent.objects.filter(target_type="linkage_run", target_id=str(run.pk)).last()
    assert event.actor == "api:基幹系" and event.actor_id is None
