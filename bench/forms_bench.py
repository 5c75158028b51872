"""Measure form rendering (issue 12): one A4 form warm (median) and cold (first in a fresh process), the family
bundle (10 documents of a family of five moving in with 国保), and the peak memory of a process rendering it.

    .venv/bin/python bench/forms_bench.py [--runs 30]

Pure rendering with the shipped default templates (no database): binding, fitting and WeasyPrint. The template
definitions are built once (on the server they come from the database). Each cold figure and the peak memory
come from a fresh child process (``VmHWM`` = peak resident set size of the rendering process). The family's head
is 薩摩 𠮷男 (𠮷 is in the small common font); the "rare" figure prints a name with an MJ character outside it
and an IVS variant (葛󠄂), which go to the slices derived from IPAmj明朝 (``forms_builder.fonts``).

Wall time includes waiting for a CPU on a shared machine; CPU time is the process's own work. The load average
is printed before and after: compare figures only with the load they were taken at.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")

import django  # noqa: E402

django.setup()
import logging  # noqa: E402

logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)

from forms_builder import defaults, render  # noqa: E402
from forms_builder import sources as src  # noqa: E402

FAMILY = [("薩摩 𠮷男", "サツマ ヨシオ", date(1984, 5, 10), "1", "世帯主"),
          ("薩摩 花子", "サツマ ハナコ", date(1986, 8, 20), "2", "妻"),
          ("薩摩 一郎", "サツマ イチロウ", date(2014, 1, 15), "1", "子"),
          ("薩摩 次郎", "サツマ ジロウ", date(2016, 9, 1), "1", "子"),
          ("薩摩 桜", "サツマ サクラ", date(2022, 3, 3), "2", "子")]
ENTRIES = {("", "new_address"): {"code": "1", "town": "山下町", "banchi": "11番1号", "katagaki": "みなみ荘 203",
                                 "postcode": "8920816", "prefix": "みなみデモ市"},
           ("", "previous_address"): "東京都千代田区霞が関1丁目1番1号", ("", "previous_head"): "薩摩 𠮷男",
           ("", "phone"): "099-000-1234", ("", "bank_account"): "みなみ銀行 本店 普通 1234567",
           ("new-3", "previous_school"): "千代田区立麹町中学校", ("new-4", "previous_school"): "千代田区立麹町小学校",
           ("", "cert_kind:cert_juminhyo"): "juminhyo", ("", "cert_copies:cert_juminhyo"): 2,
           ("", "cert_purpose:cert_juminhyo"): "勤務先への提出"}


def _people() -> list[SimpleNamespace]:
    return [SimpleNamespace(pk=i, key=f"new-{i}", atena_no="", name=n, name_kana=k, birth_date=b, sex=s,
                            relationship=r, is_visitor=i == 1, is_subject=True, position=i, person_id=i)
            for i, (n, k, b, s, r) in enumerate(FAMILY, start=1)]


_VERSIONS: dict[str, SimpleNamespace] = {}


def _versions() -> dict[str, SimpleNamespace]:
    if _VERSIONS:
        return _VERSIONS
    result = _VERSIONS
    for item in defaults.definitions():
        template = SimpleNamespace(code=item["code"], name=item["name"], scope=item["scope"])
        result[item["code"]] = SimpleNamespace(pk=None, number=1, template=template, page_size="A4",
                                               orientation="portrait", background_id=None, fields=item["fields"],
                                               html=item["html"])
    return result


def _plans(codes: list[tuple[str, int | None]], *, head: str | None = None) -> list[render.DocumentPlan]:
    people = _people()
    if head:
        people[0].name = head
    case = SimpleNamespace(label="1206-001", day=date.today(), event_date=date.today(), events=["tennyu"],
                           answers={"case": {"parent_public_servant": False}})
    procedures = [SimpleNamespace(name="転入届", person=p, person_id=p.pk, counter=None, documents=["本人確認書類"])
                  for p in people]
    municipality = SimpleNamespace(name="みなみデモ市")
    versions = _versions()
    plans = []
    for code, index in codes:
        rows = [people[index]] if index is not None else (people[2:] if code in ("jt_nintei", "kodomo_iryou")
                                                           else people)
        ctx = src.BindingContext(case=case, persons=people, doc_persons=rows, person=rows[0],
                                 municipality=municipality, template_code=code, entries=ENTRIES,
                                 extra={"gaiji": {}, "procedures": procedures})
        plans.append(render.plan_document(version=versions[code], ctx=ctx))
    return plans


ONE = [("juki_idou", None)]
RARE_HEAD = "薩摩 葛\U000E0102𩸽"  # an IVS variant of 葛 and ほっけ: both outside the common font
BUNDLE = [("guidance", None), ("juki_idou", None), ("kokuho_shutoku", None), ("jt_nintei", None),
          ("kodomo_iryou", None), ("gak_tennyugaku", 2), ("gak_tennyugaku", 3), ("inkan_touroku", 0),
          ("inkan_touroku", 1), ("cert_juminhyo", 0)]


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(mode: str) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    pdf, pages = render.render_pdf(_plans(ONE if mode == "one" else BUNDLE))
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "pages": pages,
                      "bytes": len(pdf), "peak_mb": _peak_kb() / 1024}))


def _timed(codes: list, *, head: str | None = None) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    _pdf, pages = render.render_pdf(_plans(codes, head=head))
    return time.perf_counter() - started, time.process_time() - cpu, pages


def _run_child(mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _medians(runs: list[tuple[float, float, int]]) -> tuple[float, float, float]:
    cpus = sorted(r[1] for r in runs)
    return statistics.median(r[0] for r in runs), statistics.median(cpus), cpus[max(int(len(cpus) * 0.9) - 1, 0)]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from forms_builder import fonts

    print(f"load average (1, 5, 15 min) before: {_load()} on {os.cpu_count()} CPUs")
    started = time.perf_counter()
    files = fonts.derived_fonts()
    print(f"derived fonts: {len(files)} files, {sum(f.stat().st_size for f in files) / 2**20:.0f} MB in "
          f"{files[0].parent} (ready with the font tables in {time.perf_counter() - started:.1f} s; "
          "built once per machine)")
    cold = _run_child("one")
    _timed(ONE)
    one = _medians([_timed(ONE) for _ in range(args.runs)])
    _timed(ONE, head=RARE_HEAD)
    rare = _medians([_timed(ONE, head=RARE_HEAD) for _ in range(max(5, args.runs // 2))])
    bundle_runs = [_timed(BUNDLE) for _ in range(max(3, args.runs // 5))]
    bundle = _medians(bundle_runs)
    fresh = _run_child("bundle")
    print(f"load average after: {_load()}")
    print()
    print(f"{'measure':<58} {'wall':>9} {'CPU':>9}  target")
    print(f"{'one A4 form (juki_idou), warm median of ' + str(args.runs):<58} {one[0] * 1000:>6.0f} ms "
          f"{one[1] * 1000:>6.0f} ms  <= 150 ms   (p90 CPU {one[2] * 1000:.0f} ms)")
    print(f"{'one A4 form, cold (first render in a fresh process)':<58} {cold['seconds'] * 1000:>6.0f} ms "
          f"{cold['cpu'] * 1000:>6.0f} ms  reported")
    print(f"{'one A4 form, rare MJ character + IVS in the name, warm':<58} {rare[0] * 1000:>6.0f} ms "
          f"{rare[1] * 1000:>6.0f} ms")
    print(f"{f'family bundle ({len(BUNDLE)} documents, {bundle_runs[0][2]} pages, one PDF), warm median':<58} "
          f"{bundle[0]:>7.2f} s {bundle[1]:>7.2f} s  <= 1.5 s")
    print(f"{'family bundle in a fresh process':<58} {fresh['seconds']:>7.2f} s {fresh['cpu']:>7.2f} s")
    print(f"{'peak RSS of the process rendering the bundle (VmHWM)':<58} {fresh['peak_mb']:>6.0f} MB {'':>9}  "
          f"<= 300 MB   ({fresh['bytes'] / 1024:.0f} KB PDF)")


if __name__ == "__main__":
    main()
