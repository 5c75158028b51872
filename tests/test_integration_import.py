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


def run_file(layout: LinkageLayout, data: bytes, name: str = "juki.csv", actor: object = None) -> ImportRun:
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

