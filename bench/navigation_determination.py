"""Measure determination for the largest counter scenario with the full default catalogue.

    .venv/bin/python bench/navigation_determination.py [ROUNDS] [--db]

Scenario: a household of six moving in (転入) — parents 42/39, children 16/9/4 and a grandmother of 72 —
with every interview question answered (the end of the interview): 国保 for everybody, two My Number card
holders, two seal registrations, the grandmother certified for care. Prints p50/p95/max of
- ``determine`` alone (compiled catalogue cached per version, as on the server);
- the whole server-side work of one API determination except HTTP and the database (facts from JSON,
  answer normalisation, determination, JSON);
- one step of the interview (``next_questions``) at its start;
the interview questions asked in the family-of-five 国保 scenario and the cold compile time.

With ``--db``: also ``case_determine`` (``navigation.cases.services``) including its writes, on a throw-away
database ``bench_madoguchi_navigation`` (created and migrated if missing; one municipality ``benchnavi``):
the first determination (every procedure row inserted), a re-determination with nothing changed (no row
written), and a re-determination after one answer changed (only the affected rows written).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "bench_madoguchi_navigation"
SLUG = "benchnavi"
CODE = "112186"  # 深谷市's code (valid check digit), only inside the bench database

ON = date(2026, 6, 1)
FAMILY = [
    {"key": "father", "name": "父", "birth_date": "1984-05-10", "relationship": "世帯主"},
    {"key": "mother", "name": "母", "birth_date": "1986-08-20", "relationship": "妻"},
    {"key": "teen", "name": "長女", "birth_date": "2010-01-15", "relationship": "子"},
    {"key": "pupil", "name": "長男", "birth_date": "2016-09-01", "relationship": "子"},
    {"key": "toddler", "name": "次男", "birth_date": "2022-03-03", "relationship": "子"},
    {"key": "grandma", "name": "祖母", "birth_date": "1954-01-05", "relationship": "母"},
]
ANSWERS = {
    "case": {"any_employee_insurance": False, "care_certified_any": False, "inkan_wish_any": True,
             "card_holding_any": True, "parent_public_servant": False},
    "persons": {"father": {"inkan_wish": True, "card_holding": True}, "mother": {"inkan_wish": False,
                                                                                 "card_holding": False},
                "teen": {"inkan_wish": True, "card_holding": True}, "pupil": {"card_holding": False},
                "toddler": {"card_holding": False},
                "grandma": {"inkan_wish": False, "card_holding": False, "disability_certified": False,
                            "care_certified": True}},
}
FIVE = ANSWERS["case"] | {"inkan_wish_any": False, "card_holding_any": False}


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[max(int(len(samples) * 0.95) - 1, 0)]
    return f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {samples[-1] * 1000:.2f} ms"


def setup_django(*, database: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")
    if database:
        base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/madoguchi")
        parsed = urlparse(base)
        import psycopg

        with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{DB_NAME}"))
    import django

    django.setup()


def engine_bench(rounds: int) -> None:
    from navigation.determination import (
        answers_normalize,
        catalogue_compiled,
        compile_catalogue,
        determine,
        interview_simulate,
        next_questions,
    )
    from navigation.facts import person_facts_from_dict
    from navigation.services import default_catalogue
    from tenants.areas import ALL_AREAS

    data = default_catalogue()
    start = time.perf_counter()
    compile_catalogue(data)
    cold = time.perf_counter() - start
    catalogue = catalogue_compiled(data)
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY)]
    areas = list(ALL_AREAS)
    engine, engine_cpu, full, interview_step = [], [], [], []
    result = None
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.thread_time()
        result = determine(version=catalogue, events=["tennyu"], persons=persons, answers=ANSWERS, on=ON,
                           areas=areas)
        engine.append(time.perf_counter() - t0)
        engine_cpu.append(time.thread_time() - c0)
        t0 = time.perf_counter()
        people = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY)]
        answers, problems = answers_normalize(version=catalogue, answers=ANSWERS, person_keys=[p.key for p in people])
        assert not problems, problems
        full_result = determine(version=catalogue, events=["tennyu"], persons=people, answers=answers, on=ON,
                                areas=areas)
        json.dumps(full_result.as_dict(), ensure_ascii=False)
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        next_questions(version=catalogue, events=["tennyu"], persons=persons, answers={}, on=ON, areas=areas)
        interview_step.append(time.perf_counter() - t0)
    assert result is not None and result.complete, [q.code for q in result.questions]
    five = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY[:5])]
    final, asked = interview_simulate(version=catalogue, events=["tennyu"], persons=five, on=ON, areas=areas,
                                      respond=lambda q: FIVE[q.code])
    print(f"catalogue: {len(catalogue.procedures)} procedures, {sum(map(len, catalogue.rules_by_procedure.values()))}"
          f" rules, {len(catalogue.questions)} questions; cold compile {cold * 1000:.1f} ms")
    print(f"largest scenario: {len(FAMILY)} persons, {len(result.required)} procedures at the end of the interview")
    print(f"determine (end of the interview, 転入, all 9 areas), {rounds} rounds: {percentiles(engine)}")
    print(f"  the same, CPU time of the thread (what the machine's other load cannot inflate): "
          f"{percentiles(engine_cpu)}")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"API server work without HTTP/DB (facts + answers + determine + JSON): {percentiles(full)}")
    print(f"next_questions at interview start: {percentiles(interview_step)}")
    print(f"family of five (国保) moving in: {len(asked)} interview questions asked "
          f"({', '.join(q.code for q in asked)}); {len(final.required)} procedures determined")


def db_bench(rounds: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from navigation.cases.models import CaseProcedure
    from navigation.cases.services import case_determine, case_open
    from navigation.services import catalogue_install_default
    from tenants.accounts.models import Counter, Role, User
    from tenants.accounts.services import staff_create
    from tenants.areas import ALL_AREAS
    from tenants.models import Municipality
    from tenants.services import municipality_provision

    call_command("migrate_schemas", verbosity=0)
    municipality = Municipality.objects.filter(slug=SLUG).first()
    if municipality is None:
        municipality = municipality_provision(code=CODE, slug=SLUG, name="ナビベンチ市", areas=",".join(ALL_AREAS),
                                              admin_password="Bench-only-2026-x").municipality
    connection.set_tenant(municipality)
    catalogue_install_default(effective_from=date(2026, 1, 1))
    staff = User.objects.filter(username="bench").first() or staff_create(
        actor=None, username="bench", password="Bench-only-2026-x", display_name="ベンチ", role=Role.STAFF,
        areas=list(ALL_AREAS))
    counter = Counter.objects.filter(is_active=True).order_by("pk").first()
    counter.staff.add(staff)  # a staff member works only at their department's or assigned counters
    newcomers = [{"name": p["name"], "birth_date": date.fromisoformat(p["birth_date"]),
                  "relationship": p["relationship"]} for p in FAMILY]
    first, unchanged, one_change, queries, change_queries = [], [], [], [], []
    unchanged_cpu, one_change_cpu = [], []
    from django.db import reset_queries
    from django.test.utils import CaptureQueriesContext

    for _round in range(rounds):
        case = case_open(actor=staff, counter=counter, event_date=ON, newcomers=newcomers)
        keys = {p.name: p.key for p in case.persons.all()}
        by_name = {p["key"]: p["name"] for p in FAMILY}
        case.events = ["tennyu"]
        case.answers = {"case": dict(ANSWERS["case"]),
                        "persons": {keys[by_name[k]]: dict(v) for k, v in ANSWERS["persons"].items()}}
        case.save(update_fields=["events", "answers"])
        t0 = time.perf_counter()
        case_determine(actor=staff, case=case)
        first.append(time.perf_counter() - t0)
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            t0, c0 = time.perf_counter(), time.thread_time()
            case_determine(actor=staff, case=case)
            unchanged.append(time.perf_counter() - t0)
            unchanged_cpu.append(time.thread_time() - c0)
        queries.append(len(captured.captured_queries))
        # 長女 no longer wants a seal registration: one procedure removed, the rows after it renumbered
        case.answers["persons"][keys["長女"]]["inkan_wish"] = False
        case.save(update_fields=["answers"])
        with CaptureQueriesContext(connection) as captured:
            t0, c0 = time.perf_counter(), time.thread_time()
            case_determine(actor=staff, case=case)
            one_change.append(time.perf_counter() - t0)
            one_change_cpu.append(time.thread_time() - c0)
        change_queries.append(len(captured.captured_queries))
    rows = CaseProcedure.objects.filter(case=case).count()
    print(f"case_determine, {rounds} cases of {len(FAMILY)} newcomers ({rows} procedure rows each):")
    print(f"  first determination (every row inserted): {percentiles(first)}")
    print(f"  re-determination, nothing changed (no row written; {statistics.median(queries):.0f} queries, "
          f"BEGIN/COMMIT included): {percentiles(unchanged)}")
    print(f"    CPU time of this process: {percentiles(unchanged_cpu)}")
    print(f"  re-determination after one answer changed (only the affected rows written; "
          f"{statistics.median(change_queries):.0f} queries): {percentiles(one_change)}")
    print(f"    CPU time of this process: {percentiles(one_change_cpu)}")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    database = "--db" in sys.argv
    rounds = int(args[0]) if args else 2000
    setup_django(database=database)
    engine_bench(rounds)
    if database:
        db_bench(min(rounds, 200))


if __name__ == "__main__":
    main()
