"""Synthetic data: deterministic, consistent, and importable through the real pipeline (incl. 外字, CP932)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from integration.generator import CoreDataGenerator, write_files
from integration.models import Eligibility, GaijiMapping, ImportRun, LinkageLayout, Resident, SupportMeasure
from integration.services import SHIPPED_DIR, gaiji_upload, import_submit, layouts_ensure_shipped
from integration.targets import is_valid_relationship
from madoguchi.principals import SYSTEM

AREAS = ["juki", "inkan", "zei", "kokuho", "kaigo", "kouki", "jidou_teate", "gakureibo"]


def _digest(folder) -> dict[str, str]:  # noqa: ANN001
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_deterministic_by_seed(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_files(out=tmp_path / name, municipality_code="462012", areas=AREAS, residents=300, seed=seed,
                    layouts_dir=SHIPPED_DIR)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_households_and_ages_are_consistent():
    people = CoreDataGenerator(residents=2000, seed=3).generate()
    today = date(2026, 4, 1)
    households: dict[str, list] = {}
    for p in people:
        households.setdefault(p.household_no, []).append(p)
        assert is_valid_relationship(p.relationship), p.relationship
    for members in households.values():
        head = members[0]
        assert head.relationship == "世帯主"
        assert sum(1 for m in members if m.relationship == "世帯主") == 1
        for m in members:
            if m.relationship == "子":
                assert m.birth_date > head.birth_date.replace(year=head.birth_date.year + 15) or m.birth_date > date(
                    head.birth_date.year + 15, 1, 1)
            assert m.birth_date <= today
    assert any(p.kind == "foreign" for p in people)


def test_generated_files_import_through_the_pipeline(in_a, tmp_path):
    written = write_files(out=tmp_path, municipality_code="462012", areas=AREAS, residents=400, seed=11,
                          layouts_dir=SHIPPED_DIR)
    layouts_ensure_shipped()
    gaiji_upload(actor=SYSTEM, data=written.pop("gaiji").read_bytes())
    assert GaijiMapping.objects.count() == 4
    for key in ["juki_standard_csv", "elig_kokuho_csv", "elig_kaigo_csv", "elig_kouki_csv", "elig_jidou_teate_csv",
                "elig_gakureibo_csv", "elig_inkan_csv", "elig_zei_csv", "support_measures_csv"]:
        layout = LinkageLayout.objects.get(key=key)
        run = import_submit(actor=SYSTEM, layout=layout, source=written[key].read_bytes(), file_name=written[key].name,
                            run_async=False)
        assert run.status == ImportRun.Status.SUCCEEDED, (key, run.errors[:5])
    assert Resident.objects.count() == 400
    today = date(2026, 4, 1)
    for e in Eligibility.objects.filter(area="kouki").select_related():
        born = Resident.objects.get(atena_no=e.atena_no).birth_date
        assert today.year - born.year >= 75
    assert Eligibility.objects.filter(area="gakureibo").exists()
    # Every support measure in the file arrived, as written (宛名番号, start, 住所非表示), for an adult resident.
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(written["support_measures_csv"].read_text("utf-8-sig"))))
    assert rows, "seed 11 writes at least one support measure"
    expected = {(r["宛名番号"], date(int(r["開始日"][:4]), int(r["開始日"][4:6]), int(r["開始日"][6:])),
                 r["住所非表示"] == "1") for r in rows}
    stored = {(m.atena_no, m.start_date, m.restrict_address) for m in SupportMeasure.objects.all()}
    assert stored == expected and SupportMeasure.objects.count() == len(rows)
    for measure in SupportMeasure.objects.all():
        person = Resident.objects.get(atena_no=measure.atena_no)
        assert person.status == "resident" and measure.end_date is None
        born = person.birth_date
        assert today.year - born.year - ((today.month, today.day) < (born.month, born.day)) >= 18  # adults only
    # the CP932 fixed-width legacy file yields the same residents (no changes after the CSV)
    fixed = import_submit(actor=SYSTEM, layout=LinkageLayout.objects.get(key="juki_legacy_fixed"),
                          source=written["juki_legacy_fixed"].read_bytes(), file_name="legacy.dat", run_async=False)
    assert fixed.status == ImportRun.Status.SUCCEEDED, fixed.errors[:5]
    assert fixed.added == 0 and fixed.deleted == 0


@pytest.mark.parametrize("seed", [5])
def test_gaiji_in_names_are_converted_on_import(in_a, tmp_path, seed):
    generator = CoreDataGenerator(residents=50, seed=seed, gaiji_rate=0.5)
    generator.generate()
    assert generator.used_gaiji
    written = write_files(out=tmp_path, municipality_code="462012", areas=["juki"], residents=50, seed=seed,
                          layouts_dir=SHIPPED_DIR, gaiji_rate=0.5)
    layouts_ensure_shipped()
    layout = LinkageLayout.objects.get(key="juki_standard_csv")
    data = written["juki_standard_csv"].read_bytes()
    missing = import_submit(actor=SYSTEM, layout=layout, source=data, file_name="r.csv", run_async=False)
    assert missing.status == ImportRun.Status.FAILED
    assert all("外字 U+E" in e["message"] and e["column"] in ("氏名", "世帯主氏名", "筆頭者") for e in missing.errors)
    gaiji_upload(actor=SYSTEM, data=written["gaiji"].read_bytes())
    run = import_submit(actor=SYSTEM, layout=layout, source=data, file_name="r.csv", run_async=False)
    assert run.status == ImportRun.Status.SUCCEEDED, run.errors[:3]
    assert not Resident.objects.filter(name__regex="[\ue000-\uf8ff]").exists()
