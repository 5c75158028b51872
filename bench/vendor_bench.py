"""Linkage import of a core-system vendor's files (docs/vendor-spec.md), through the deployed worker command.

    .venv/bin/python bench/vendor_bench.py [--residents 1000000] [--repeat 3] [--baseline COMMIT] [--write-docs]

Measures, in one run on the same machine and database (``bench_madoguchi_vendor``, its own):

1. **Vendor fixed width through the deployed worker**: 1,000,000 residents in the vendor's CP932 fixed-width
   layout with header and trailer (``docs/vendor/minato_juki_fixed.json``, imported as JSON), submitted with
   ``import_submit`` to a worker started with the command of docs/operations.md / docker-compose.yml
   (``celery -A madoguchi worker --concurrency 2``, prefork; only its queue and name are the bench's own).
   Reported: seconds from submit to finished, the run's phases, and the CPU time of each process — the worker's
   main process, the pool child that ran the task, the validation processes it forked, PostgreSQL.
2. **Record kinds' overhead on the shipped CSV**: the shipped ``juki_standard_csv`` file imported by this tree
   and by ``--baseline`` (default 33725bc, the commit before this work), alternating (ABBA), ``--repeat`` times each
   (one process per run, ``run_async=False``, as bench/import_bench.py measures it); medians of the wall time and
   of the Python CPU of the whole child (its process and its validation processes) compared. A baseline from
   before the two database roles runs as the owner role (it creates its load tables itself).
3. **The floor**: the same residents' CSV file ``COPY``ed raw into an unlogged table, a keyed
   ``INSERT … SELECT`` into a copy of the mirror table (its unique key in place; the search columns filled with
   the text they index, not normalised), and its other indexes built on two connections — what any import must at
   least do on this machine today. Measured right before each import (the same load); the import is reported as a
   ratio to it. Once more as first defined (search columns empty: their trigram indexes cost nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import import_bench  # noqa: E402  (setup_django, prepare, reset, the CSV child)

# Its own database and files: the baseline commit runs against the same schema, and other benches are not disturbed.
import_bench.DB_NAME = "bench_madoguchi_vendor"
import_bench.CACHE = Path("/tmp/madoguchi-vendor-bench")

BASE = "2026-04-01"
TICK = os.sysconf("SC_CLK_TCK")


def vendor_file(residents: int, seed: int) -> Path:
    from datetime import date

    from integration.vendorfiles import vendor_people, write_vendor

    # The residents live in the bench municipality (北海道 連携ベンチ市): their addresses start with its own name, as a
    # real municipality's residents' do (until 2026-12-06 07:20 the file carried the demo city's addresses).
    city = import_bench.municipality().name
    path = import_bench.CACHE / f"{residents}-{seed}" / "minato_juki_nogaiji_own.dat"
    if not path.exists():
        started = time.perf_counter()
        # without 外字: PostgreSQL's WIN932 conversion (the floor's raw COPY) has no mapping for the user-defined area
        people = vendor_people(residents=residents, seed=seed, today=date(2026, 4, 1), gaiji_rate=0,
                               municipality_code=import_bench.CODE, city_name=city)
        with path.open("wb") as stream:
            write_vendor("minato_juki_fixed", people, stream, municipality_code=import_bench.CODE, file_kind="full",
                         reference_date=date.fromisoformat(BASE))
        print(f"vendor file: {residents:,} residents in {time.perf_counter() - started:.1f} s → {path}")
    return path


def vendor_layout() -> None:
    from django_tenants.utils import schema_context

    from integration.services import layout_import_json
    from integration.vendorfiles import VENDOR_DIR
    from madoguchi.principals import SYSTEM

    with schema_context(import_bench.municipality().schema_name):
        layout_import_json(actor=SYSTEM, data=(VENDOR_DIR / "minato_juki_fixed.json").read_bytes())


# -- CPU time of processes (from /proc, in seconds) -------------------------------------------------------------
def _stat(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of waited-for children) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(c) for c in task.read_text().split()]
    return found


def _postgres_cpu() -> float:
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "postgres":
                    own, waited = _stat(int(proc.name))
                    total += own + waited
            except (OSError, IndexError):
                continue
    return total


def _bench_backends() -> dict[int, float]:
    """CPU (s) of each PostgreSQL backend connected to this bench's database (its command line names it)."""
    found = {}
    marker = f" {import_bench.DB_NAME} ".encode()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_bytes().strip() == b"postgres" and marker in (proc / "cmdline").read_bytes():
                    found[int(proc.name)] = _stat(int(proc.name))[0]
            except (OSError, IndexError):
                continue
    return found


class Worker:
    """The deployed worker command (prefork, 2 processes) of a source tree, on a queue of its own."""

    def __init__(self, tree: Path = ROOT, name: str = "head") -> None:
        self.tree, self.name = tree, name
        self.queue = f"vendor-bench-{os.getpid()}-{name}"
        self.log_path = import_bench.CACHE / f"vendor-worker-{name}.log"
        env = {**os.environ,
               "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")}
        command = [sys.executable, "-m", "celery", "-A", "madoguchi", "worker", "-l", "INFO", "--concurrency", "2",
                   "-Q", self.queue, "-n", f"{self.queue}@%h", "--without-gossip", "--without-mingle",
                   "--without-heartbeat"]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 90
        while "ready." not in self.log_path.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)

    def run(self, path: Path) -> dict:
        return _worker_import(self.process, self.queue, path, self.name)


def worker_run(path: Path, repeat: int, before_each: object = None, baseline: Path | None = None) -> list[dict]:
    """The vendor file through the deployed worker command, ``repeat`` times (mirror emptied before each); with
    ``baseline`` (a source tree) also through that tree's worker, alternating ABBA (a growing load favours none)."""
    workers = {"head": Worker()}
    results = []
    try:
        if baseline is not None:
            workers["baseline"] = Worker(baseline, "baseline")
        for attempt in range(repeat):
            names = ["head"] if baseline is None else (["baseline", "head"] if attempt % 2 == 0
                                                       else ["head", "baseline"])
            for name in names:
                if before_each is not None:  # the floor, measured right before each import: the same load
                    before_each()
                results.append(workers[name].run(path))
    finally:
        for worker in workers.values():
            worker.stop()
    return results


def _worker_import(worker: subprocess.Popen, queue: str, path: Path, name: str) -> dict:
    from django_tenants.utils import schema_context

    from integration.models import LinkageLayout
    from integration.services import import_submit
    from madoguchi.principals import SYSTEM

    import_bench.reset()
    pids = [worker.pid, *_children(worker.pid)]
    before = {pid: _stat(pid) for pid in pids}
    pg_before = _postgres_cpu()
    # The import's own backends (the task's connection and the index builders'), sampled while it runs: their CPU
    # on this loaded machine, where "every backend" counts the other sessions' too (a backend that exits loses at
    # most its last 0.2 s).
    backends_start = _bench_backends()
    backends_seen = dict(backends_start)
    sampled = 0.0
    with schema_context(import_bench.municipality().schema_name):
        layout = LinkageLayout.objects.get(key="minato_juki_fixed")
        started = time.perf_counter()
        run = import_submit(layout=layout, source=path, file_name=path.name, actor=SYSTEM, queue=queue)
        while True:
            run.refresh_from_db()
            if run.status in ("succeeded", "failed"):
                break
            time.sleep(0.05)
            if time.perf_counter() - sampled > 0.2:
                backends_seen.update(_bench_backends())
                sampled = time.perf_counter()
        seconds = time.perf_counter() - started
        backends_seen.update(_bench_backends())
    if run.status != "succeeded":
        raise SystemExit(f"vendor import failed: {run.message} {run.errors[:3]}")
    after = {pid: _stat(pid) for pid in pids}
    cpu = {"worker_main": round(after[worker.pid][0] - before[worker.pid][0], 1)}
    task_child = max(pids[1:], key=lambda pid: after[pid][0] - before[pid][0])
    cpu["task_process"] = round(after[task_child][0] - before[task_child][0], 1)
    cpu["validation_processes"] = round(after[task_child][1] - before[task_child][1], 1)
    cpu["postgresql_all_backends"] = round(_postgres_cpu() - pg_before, 1)
    cpu["postgresql_import_backends"] = round(sum(v - backends_start.get(pid, 0.0) for pid, v in backends_seen.items()),
                                              1)
    print(f"vendor fixed via worker ({name}): {seconds:.1f} s {cpu} {run.timings} load {os.getloadavg()}",
          flush=True)
    return {"seconds": round(seconds, 2), "rows": run.rows_total, "timings": run.timings, "cpu": cpu,
            "tree": name, "load": os.getloadavg()}


# -- the shipped CSV, this tree against a baseline commit, alternating -------------------------------------------
def baseline_tree(commit: str) -> Path:
    folder = import_bench.CACHE / f"tree-{commit}"
    if not (folder / "bench" / "import_bench.py").exists():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
        archive_path = folder.with_suffix(".tar")
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(folder, filter="data")
        archive_path.unlink()
    return folder


CHILD = """
import json, resource, sys, time
from pathlib import Path
tree = Path(sys.argv[1])
sys.path[:0] = [str(tree), str(tree / "bench")]
import import_bench
import_bench.DB_NAME, import_bench.CACHE = sys.argv[2], Path(sys.argv[3])
sys.argv = ["import_bench.py", "--child", "csv", sys.argv[4]]
setup = import_bench.setup_django

def measured_setup():  # the CPU of import_submit alone (this process and the validation processes it joined)
    setup()
    import integration.services as services
    submit = services.import_submit

    def import_submit(*args, **kwargs):
        own, kids = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            return submit(*args, **kwargs)
        finally:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            print("IMPORT_CPU " + json.dumps({"main": round(time.process_time() - own, 3), "workers": round(
                after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime, 3)}), flush=True)
    services.import_submit = import_submit

import_bench.setup_django = measured_setup
import_bench.main()
"""


def csv_child(tree: Path, path: str) -> dict:
    """bench/import_bench.py's CSV measurement as the given tree has it, on this bench's database. ``cpu_total_s``
    is the Python CPU of the whole child (its process and its validation processes), read here with getrusage the
    same way for both trees (the children's own ``cpu_s`` is rounded to 0.1 s)."""
    env = os.environ.copy()
    if tree != ROOT:  # a baseline from before the two database roles creates its load tables itself: as the owner
        env["DATABASE_URL"] = os.environ["DATABASE_OWNER_URL"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-c", CHILD, str(tree), import_bench.DB_NAME, str(import_bench.CACHE),
                             path], capture_output=True, text=True, cwd=tree, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"CSV child in {tree} failed:\n{result.stderr[-3000:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["cpu_total_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)
    measured = [line for line in result.stdout.splitlines() if line.startswith("IMPORT_CPU ")]
    if measured:  # the import alone, without the child's start-up (Django, the apps, the shipped layouts)
        cpu = json.loads(measured[-1].split(" ", 1)[1])
        out["cpu_import_s"] = round(cpu["main"] + cpu["workers"], 3)
    return out


# -- the floor ---------------------------------------------------------------------------------------------------
STD_DATES = {"birth_date", "became_resident_on", "address_set_on", "notified_on", "residence_period_end", "removed_on"}


def _build_indexes(definitions: list[str], dsn: str) -> None:
    """Index builds on two connections at once (as the importer's bulk replacement does)."""
    import psycopg

    queue = list(definitions)
    lock = threading.Lock()

    def work() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            while True:
                with lock:
                    if not queue:
                        return
                    sql = queue.pop(0)
                conn.execute(sql)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def floor(kind: str, path: Path, *, search: bool | str = True) -> dict:
    """Raw COPY + keyed INSERT … SELECT into a copy of the mirror table + its indexes (seconds each). ``search``:
    True fills the search columns with the text they index, whole (the floor); "local" leaves the municipality's
    prefix out of the address as the mirror stores it since 2026-12-06 (shown beside it); False leaves them empty
    (the floor as first defined)."""
    import psycopg
    from django.conf import settings

    from integration.services import SHIPPED_DIR
    from integration.vendorfiles import vendor_layout as load_vendor_layout

    # As the owner role: the application role creates no table in a municipality's schema (docs/development.md).
    db = getattr(settings, "DATABASE_OWNER", None) or settings.DATABASES["default"]
    dsn = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    schema = import_bench.municipality().schema_name
    timings: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("DROP TABLE IF EXISTS floor_raw, floor_resident")
        conn.execute("SET maintenance_work_mem = '256MB'")
        indexes = [row[0] for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'integration_resident' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%%'", [schema])]
        if kind == "csv":
            layout = json.loads((SHIPPED_DIR / "juki_standard_csv.json").read_text(encoding="utf-8"))
            names = [f"c{i}" for i in range(len(layout["columns"]))]
            conn.execute(f"CREATE UNLOGGED TABLE floor_raw ({', '.join(n + ' text' for n in names)})")
            copy_sql = "COPY floor_raw FROM STDIN (FORMAT csv, HEADER true, ENCODING 'UTF8')"
            select = {c["field"]: (f"NULLIF(c{i}, '')::date" if c["field"] in STD_DATES else f"COALESCE(c{i}, '')")
                      for i, c in enumerate(layout["columns"])}
            source = "floor_raw"
        else:
            layout = load_vendor_layout("minato_juki_fixed")
            conn.execute("CREATE UNLOGGED TABLE floor_raw (line text)")
            copy_sql = "COPY floor_raw FROM STDIN (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01', ENCODING 'WIN932')"

            def piece(column: dict) -> str:
                field = column["field"]
                if field in STD_DATES:  # 和暦 digit + YYMMDD, from the sliced text
                    d = f"NULLIF(NULLIF(p.{field}, ''), '0000000')"
                    return (f"make_date((ARRAY[1867, 1911, 1925, 1988, 2018])[substr({d}, 1, 1)::int] "
                            f"+ substr({d}, 2, 2)::int, substr({d}, 4, 2)::int, substr({d}, 6, 2)::int)")
                return f"p.{field}"
            stored = [c for c in layout["columns"] if c["field"] not in ("ignore", "op", "record_type",
                                                                        "support_indicator")]
            slices = ", ".join(f"rtrim(convert_from(substring(b FROM {c['start']} FOR {c['length']}), 'WIN932')) "
                               f"AS {c['field']}" for c in stored)
            select = {c["field"]: piece(c) for c in stored}
            # one conversion back to bytes per line, each field sliced by bytes and decoded once
            source = (f"floor_raw x0, LATERAL (SELECT {slices} FROM (SELECT convert_to(x0.line, 'WIN932') AS b) "
                      "bytes) p WHERE substr(x0.line, 1, 1) = '2'")
        started = time.perf_counter()
        with conn.cursor().copy(copy_sql) as copy, path.open("rb") as stream:
            while block := stream.read(1 << 20):
                copy.write(block)
        timings["copy_raw"] = round(time.perf_counter() - started, 2)
        conn.execute("CREATE TABLE floor_resident (LIKE integration_resident INCLUDING DEFAULTS INCLUDING IDENTITY)")
        conn.execute("ALTER TABLE floor_resident ADD CONSTRAINT floor_resident_atena_key UNIQUE (atena_no)")
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND "
            "table_name = 'integration_resident' AND column_name NOT IN ('id', 'updated_at') ORDER BY ordinal_position",
            [schema]).fetchall()
        # The search columns carry the text they index (as the mirror does; not normalised): a trigram index over
        # empty strings, as this floor built before, costs nothing and is not the mirror's index.
        if search:
            select.setdefault("search_name", select["name"])
            select.setdefault("search_kana", select["name_kana"])
            katagaki = select.get("address_katagaki", "''")
            whole = f"({select['address']}) || ({katagaki})"
            if search == "local":  # the CSV file's residents live in 北海道みなみデモ市 (generator's default city)
                from integration.generator import DEMO_CITY
                from integration.normalize import LOCAL_MARK, normalize_address
                from tenants.validators import prefecture_for_code

                prefix = normalize_address(prefecture_for_code(import_bench.CODE) + DEMO_CITY)
                whole = (f"CASE WHEN starts_with({whole}, '{prefix}') THEN chr({ord(LOCAL_MARK)}) || "
                         f"substr({whole}, {len(prefix) + 1}) ELSE {whole} END")
            select.setdefault("search_address", whole)
        values = [select[name] if name in select else "''" if kind in ("character varying", "text") else "NULL"
                  for name, kind in columns]
        mark = time.perf_counter()
        conn.execute(f"INSERT INTO floor_resident ({', '.join(name for name, _kind in columns)}, updated_at) "
                     f"SELECT {', '.join(values)}, now() FROM {source}")
        timings["insert_select"] = round(time.perf_counter() - mark, 2)
        mark = time.perf_counter()
        _build_indexes([sql.replace("integration_resident", "floor_resident", 1).replace(
            " INDEX ", " INDEX floor_", 1) for sql in indexes], dsn + f"?options=-csearch_path%3D{schema}")
        timings["indexes"] = round(time.perf_counter() - mark, 2)
        timings["total"] = round(time.perf_counter() - started, 2)
        conn.execute("DROP TABLE floor_raw, floor_resident")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default="33725bc")
    parser.add_argument("--skip", nargs="*", default=[], choices=["worker", "csv", "floor"])
    parser.add_argument("--worker-baseline", help="also import the vendor file through this commit's worker "
                        "(the deployed command in a tree of that commit), alternating ABBA with this tree")
    args = parser.parse_args()
    import_bench.setup_django()
    files = import_bench.prepare(args.residents, args.seed)
    fixed = vendor_file(args.residents, args.seed) if "worker" not in args.skip else None
    vendor_layout()
    report: dict = {"residents": args.residents, "load": os.getloadavg(), "floor": {"csv": []}}

    def one_floor() -> None:
        report["floor"]["csv"].append(floor("csv", Path(files["csv"])))
        print("floor", report["floor"]["csv"][-1], os.getloadavg(), flush=True)

    if "floor" not in args.skip:
        # The fixed-width floor (per-field byte slicing in SQL: convert_to/substring/convert_from) costs far more
        # than any import, so it is no floor; both imports are compared with the CSV floor of the same residents.
        # Once as the floor was first defined (search columns left empty: their trigram indexes cost nothing).
        report["floor"]["csv_empty_search"] = [floor("csv", Path(files["csv"]), search=False)]
        print("floor with empty search columns", report["floor"]["csv_empty_search"], flush=True)
        report["floor"]["csv_local_address"] = [floor("csv", Path(files["csv"]), search="local")]
        print("floor with the address stored as the mirror does (prefix left out)",
              report["floor"]["csv_local_address"], flush=True)
    if "worker" not in args.skip:
        report["worker"] = worker_run(fixed, args.repeat, None if "floor" in args.skip else one_floor,
                                      baseline_tree(args.worker_baseline) if args.worker_baseline else None)
        report["worker_baseline"] = args.worker_baseline
    elif "floor" not in args.skip:
        for _attempt in range(args.repeat):
            one_floor()
    if "csv" not in args.skip:
        tree = baseline_tree(args.baseline)
        runs: dict[str, list[dict]] = {"head": [], "baseline": []}
        for attempt in range(args.repeat):  # baseline-head, head-baseline, …: a load that grows favours neither
            pair = (("baseline", tree), ("head", ROOT))
            for name, where in (pair if attempt % 2 == 0 else pair[::-1]):
                import_bench.reset()
                result = csv_child(where, files["csv"])
                runs[name].append(result)
                print(f"csv {name}: {result['seconds']:.1f} s, CPU {result['cpu_total_s']:.2f} s "
                      f"(import alone {result.get('cpu_import_s')} s)", flush=True)
        report["csv"] = runs
        report["baseline"] = args.baseline
    report["load_after"] = os.getloadavg()
    summary = summarise(report)
    report["summary"] = summary
    out = import_bench.CACHE / "vendor_bench.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    print_figures(report, summary)


def print_figures(report: dict, summary: dict) -> None:
    """The figures issue 15 asks for, as lines to copy into docs/performance.md."""
    n = f"{report['residents']:,}"
    print(f"\n== issue 15 figures, {n} residents; load average before {report['load']}, after {report['load_after']}")
    if "vendor_worker_s" in summary:
        w = summary["vendor_worker_s"]
        print(f"vendor fixed width (header + trailer) via the deployed prefork worker: median {w['median']:.1f} s "
              f"(runs {w['all']}; goal <= 20 s for 1,000,000)")
        for run in report["worker"]:
            print(f"  CPU per process (s): {run['cpu']}; phases {run['timings']}")
    if "vendor_worker_ab" in summary:
        ab = summary["vendor_worker_ab"]
        print(f"  A/B against {ab['baseline']} (ABBA, medians): wall {ab['head_s']:.1f} vs {ab['baseline_s']:.1f} s "
              f"(baseline runs {ab['baseline_all']}); validation CPU {ab['head_validation_processes']} vs "
              f"{ab['baseline_validation_processes']} s; task process {ab['head_task_process']} vs "
              f"{ab['baseline_task_process']} s; PostgreSQL {ab['head_postgresql_all_backends']} vs "
              f"{ab['baseline_postgresql_all_backends']} s (the import's own backends "
              f"{ab['head_postgresql_import_backends']} vs {ab['baseline_postgresql_import_backends']} s); "
              f"validate_stage {ab['head_validate_stage']} vs "
              f"{ab['baseline_validate_stage']} s; apply_index {ab['head_apply_index']} vs "
              f"{ab['baseline_apply_index']} s")
        if "baseline_vs_floor_runs" in summary:
            print(f"  baseline import / floor measured right before it, per run: {summary['baseline_vs_floor_runs']}")
    if summary.get("floor_s", {}).get("csv"):
        print(f"floor (raw COPY + keyed INSERT ... SELECT + indexes, search columns filled): median "
              f"{summary['floor_s']['csv']:.1f} s (runs {[f['total'] for f in report['floor']['csv']]})")
    if summary.get("floor_s", {}).get("csv_local_address"):
        print(f"floor with the address stored as the mirror does (prefix left out): "
              f"{summary['floor_s']['csv_local_address']:.1f} s")
    if summary.get("floor_s", {}).get("csv_empty_search"):
        print(f"floor as first defined (search columns empty): {summary['floor_s']['csv_empty_search']:.1f} s")
    if "vendor_vs_floor" in summary:
        print(f"vendor import / floor: {summary['vendor_vs_floor']}x (median of the per-run ratios "
              f"{summary.get('vendor_vs_floor_runs')}; goal <= 1.5x)")
    if "csv_s" in summary:
        c = summary["csv_s"]
        print(f"shipped CSV, head vs {report.get('baseline')}: wall {c['head']:.1f} vs {c['baseline']:.1f} s "
              f"({c['overhead_percent']:+.1f} %); Python CPU {c['head_cpu']:.2f} vs {c['baseline_cpu']:.2f} s "
              f"({c['overhead_cpu_percent']:+.1f} %; goal <= +3 %); runs head {c['head_all']} / cpu "
              f"{c['head_cpu_all']}, baseline {c['baseline_all']} / cpu {c['baseline_cpu_all']}")
        if "csv_import_cpu_s" in summary:
            i = summary["csv_import_cpu_s"]
            print(f"  the import alone (import_submit: its process + validation processes, no start-up): Python CPU "
                  f"{i['head']:.2f} vs {i['baseline']:.2f} s ({i['overhead_percent']:+.1f} %); runs head "
                  f"{i['head_all']}, baseline {i['baseline_all']}")
        if "csv_vs_floor" in summary:
            print(f"shipped CSV / floor: {summary['csv_vs_floor']}x")


def summarise(report: dict) -> dict:
    summary: dict = {}
    floors = {kind: round(statistics.median(t["total"] for t in runs), 2)
              for kind, runs in report.get("floor", {}).items() if runs}
    summary["floor_s"] = floors
    if "worker" in report:
        head = [r for r in report["worker"] if r.get("tree", "head") == "head"]
        seconds = [r["seconds"] for r in head]
        summary["vendor_worker_s"] = {"median": statistics.median(seconds), "all": seconds}
        if floors.get("csv"):
            summary["vendor_vs_floor"] = round(statistics.median(seconds) / floors["csv"], 2)
            if len(report["floor"]["csv"]) == len(report["worker"]):  # each import with the floor just before it
                summary["vendor_vs_floor_runs"] = [round(r["seconds"] / f["total"], 2) for r, f in zip(
                    report["worker"], report["floor"]["csv"], strict=True) if r.get("tree", "head") == "head"]
        base = [r for r in report["worker"] if r.get("tree") == "baseline"]
        if base and len(report["floor"].get("csv", [])) == len(report["worker"]):
            summary["baseline_vs_floor_runs"] = [round(r["seconds"] / f["total"], 2) for r, f in zip(
                report["worker"], report["floor"]["csv"], strict=True) if r.get("tree") == "baseline"]
        if base:
            def cpu(runs: list[dict], key: str) -> float:
                return statistics.median(r["cpu"][key] for r in runs)

            summary["vendor_worker_ab"] = {
                "baseline": report.get("worker_baseline"),
                "head_s": statistics.median(seconds),
                "baseline_s": statistics.median(r["seconds"] for r in base),
                "baseline_all": [r["seconds"] for r in base],
                **{f"{tree}_{key}": cpu(runs, key) for tree, runs in (("head", head), ("baseline", base))
                   for key in ("validation_processes", "task_process", "postgresql_all_backends",
                               "postgresql_import_backends")},
                **{f"{tree}_{phase}": statistics.median(r["timings"].get(phase, 0) for r in runs)
                   for tree, runs in (("head", head), ("baseline", base))
                   for phase in ("validate_stage", "apply_index", "swap")}}
    if "csv" in report:
        head = statistics.median(r["seconds"] for r in report["csv"]["head"])
        base = statistics.median(r["seconds"] for r in report["csv"]["baseline"])
        head_cpu = statistics.median(r["cpu_total_s"] for r in report["csv"]["head"])
        base_cpu = statistics.median(r["cpu_total_s"] for r in report["csv"]["baseline"])
        if all("cpu_import_s" in r for r in report["csv"]["head"] + report["csv"]["baseline"]):
            head_import = statistics.median(r["cpu_import_s"] for r in report["csv"]["head"])
            base_import = statistics.median(r["cpu_import_s"] for r in report["csv"]["baseline"])
            summary["csv_import_cpu_s"] = {
                "head": head_import, "baseline": base_import,
                "overhead_percent": round((head_import / base_import - 1) * 100, 1),
                "head_all": [r["cpu_import_s"] for r in report["csv"]["head"]],
                "baseline_all": [r["cpu_import_s"] for r in report["csv"]["baseline"]]}
        summary["csv_s"] = {"head": round(head, 2), "baseline": round(base, 2),
                            "overhead_percent": round((head / base - 1) * 100, 1),
                            "head_cpu": head_cpu, "baseline_cpu": base_cpu,
                            "overhead_cpu_percent": round((head_cpu / base_cpu - 1) * 100, 1),
                            "head_all": [round(r["seconds"], 1) for r in report["csv"]["head"]],
                            "baseline_all": [round(r["seconds"], 1) for r in report["csv"]["baseline"]],
                            "head_cpu_all": [r["cpu_total_s"] for r in report["csv"]["head"]],
                            "baseline_cpu_all": [r["cpu_total_s"] for r in report["csv"]["baseline"]]}
        if floors.get("csv"):
            summary["csv_vs_floor"] = round(head / floors["csv"], 2)
    return summary


if __name__ == "__main__":
    main()
