"""Measure form rendering (issue 12): one A4 form warm (median) and cold (first in a fresh process), the family
bundle (10 documents of a family of five moving in with 国保), and the peak memory of a process rendering it.

    .venv/bin/python bench/forms_bench.py [--runs 30]

Pure rendering with the shipped default templates (no database): binding, fitting and WeasyPrint. Each cold
figure and the peak memory come from a fresh child process (``VmHWM`` = peak resident set size).
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


def _versions() -> dict[str, SimpleNamespace]:
    result = {}
    for item in defaults.definitions():
        template = SimpleNamespace(code=item["code"], name=item["name"], scope=item["scope"])
        result[item["code"]] = SimpleNamespace(pk=None, number=1, template=template, page_size="A4",
                                               orientation="portrait", background_id=None, fields=item["fields"],
                                               html=item["html"])
    return result


def _plans(codes: list[tuple[str, int | None]]) -> list[render.DocumentPlan]:
    people = _people()
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


def _timed(codes: list) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    _pdf, pages = render.render_pdf(_plans(codes))
    return time.perf_counter() - started, time.process_time() - cpu, pages


def _run_child(mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall time includes waiting for a CPU; CPU time is this process's own work)")
    cold = _run_child("one")
    print(f"one A4 form, cold (first render in a fresh process): wall {cold['seconds'] * 1000:.0f} ms, "
          f"CPU {cold['cpu'] * 1000:.0f} ms")
    _timed(ONE)
    runs = [_timed(ONE) for _ in range(args.runs)]
    walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    p90 = cpus[int(len(cpus) * 0.9) - 1]
    print(f"one A4 form, warm over {args.runs} runs: median wall {statistics.median(walls) * 1000:.0f} ms, "
          f"median CPU {statistics.median(cpus) * 1000:.0f} ms (p90 CPU {p90 * 1000:.0f} ms)")
    bundle_runs = [_timed(BUNDLE) for _ in range(max(3, args.runs // 5))]
    print(f"family bundle ({len(BUNDLE)} documents, {bundle_runs[0][2]} pages), warm: median wall "
          f"{statistics.median(r[0] for r in bundle_runs):.2f} s, "
          f"median CPU {statistics.median(r[1] for r in bundle_runs):.2f} s")
    bundle = _run_child("bundle")
    print(f"family bundle in a fresh process: wall {bundle['seconds']:.2f} s, CPU {bundle['cpu']:.2f} s, "
          f"peak RSS {bundle['peak_mb']:.0f} MB ({bundle['pages']} pages, {bundle['bytes'] / 1024:.0f} KB)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
