"""Measure determination for a five-person household with the full default catalogue.

    .venv/bin/python bench/navigation_determination.py [ROUNDS]

Prints p50/p95/max of
- ``determine`` alone (compiled catalogue cached per version, as on the server);
- the whole server-side work of one API determination except HTTP and the database: person facts
  from JSON, answer normalisation, determination and JSON serialisation;
- one step of the interview (``next_questions``) at its start;
and the number of interview questions asked in the family-of-five 国保 scenario (answers: no employee
insurance, no seal registration, no public servant), plus the cold compile time of the catalogue.
No database needed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")

import django  # noqa: E402

django.setup()

from navigation.determination import (  # noqa: E402
    answers_normalize,
    catalogue_compiled,
    compile_catalogue,
    determine,
    interview_simulate,
    next_questions,
)
from navigation.facts import person_facts_from_dict  # noqa: E402
from navigation.services import default_catalogue  # noqa: E402
from tenants.areas import ALL_AREAS  # noqa: E402

ON = date(2026, 6, 1)
FAMILY = [
    {"key": "father", "name": "父", "birth_date": "1984-05-10", "relationship": "世帯主"},
    {"key": "mother", "name": "母", "birth_date": "1986-08-20", "relationship": "妻"},
    {"key": "teen", "name": "長女", "birth_date": "2010-01-15", "relationship": "子"},
    {"key": "pupil", "name": "長男", "birth_date": "2016-09-01", "relationship": "子"},
    {"key": "toddler", "name": "次男", "birth_date": "2022-03-03", "relationship": "子"},
]
ANSWERS = {"case": {"any_employee_insurance": False, "inkan_wish_any": False, "parent_public_servant": False},
           "persons": {}}


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {samples[-1] * 1000:.2f} ms"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    data = default_catalogue()
    start = time.perf_counter()
    compile_catalogue(data)
    cold = time.perf_counter() - start
    catalogue = catalogue_compiled(data)
    persons = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY)]
    areas = list(ALL_AREAS)
    engine, full, interview_step = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        determine(version=catalogue, events=["tennyu"], persons=persons, answers=ANSWERS, on=ON, areas=areas)
        engine.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        people = [person_facts_from_dict(p, index=i) for i, p in enumerate(FAMILY)]
        answers, problems = answers_normalize(version=catalogue, answers=ANSWERS, person_keys=[p.key for p in people])
        assert not problems
        result = determine(version=catalogue, events=["tennyu"], persons=people, answers=answers, on=ON, areas=areas)
        json.dumps(result.as_dict(), ensure_ascii=False)
        full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        next_questions(version=catalogue, events=["tennyu"], persons=persons, answers={}, on=ON, areas=areas)
        interview_step.append(time.perf_counter() - t0)
    final, asked = interview_simulate(version=catalogue, events=["tennyu"], persons=persons, on=ON, areas=areas,
                                      respond=lambda q: ANSWERS["case"][q.code])
    print(f"catalogue: {len(catalogue.procedures)} procedures, {sum(map(len, catalogue.rules_by_procedure.values()))}"
          f" rules, {len(catalogue.questions)} questions; cold compile {cold * 1000:.1f} ms")
    print(f"determine (5 persons, 転入, all 9 areas), {rounds} rounds: {percentiles(engine)}")
    print(f"API server work without HTTP/DB (facts + answers + determine + JSON): {percentiles(full)}")
    print(f"next_questions at interview start: {percentiles(interview_step)}")
    print(f"family of five (国保) moving in: {len(asked)} interview questions asked "
          f"({', '.join(q.code for q in asked)}); {len(final.required)} procedures determined")


if __name__ == "__main__":
    main()
