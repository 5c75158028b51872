"""JsonLogic evaluator (incl. three-valued evaluation), legal age, school grade and 高校生年代."""

from __future__ import annotations

from datetime import date

import pytest

from navigation.facts import person_context, person_facts_new
from navigation.jsonlogic import (
    RuleError,
    Unknown,
    apply,
    calendar_age,
    compile_rule,
    legal_age,
    school_grade,
    validate,
)


@pytest.mark.parametrize(("rule", "data", "expected"), [
    ({"var": "a.b"}, {"a": {"b": 3}}, 3),
    ({"var": ["x", 7]}, {}, 7),
    ({"var": "list.1"}, {"list": [5, 6]}, 6),
    ({"==": [1, "1"]}, None, True),
    ({"===": [1, "1"]}, None, False),
    ({"!=": [1, 2]}, None, True),
    ({"<": [1, 2, 3]}, None, True),
    ({"<=": [1, 1]}, None, True),
    ({">": ["2026-06-01", "2026-05-31"]}, None, True),
    ({">=": [None, 1]}, None, False),
    ({"and": [True, 1, "x"]}, None, "x"),
    ({"or": [False, 0, []]}, None, []),
    ({"!": [[]]}, None, True),
    ({"!!": ["0"]}, None, True),
    ({"if": [False, 1, True, 2, 3]}, None, 2),
    ({"if": [False, 1, 3]}, None, 3),
    ({"in": ["b", ["a", "b"]]}, None, True),
    ({"in": ["国保", "国保加入"]}, None, True),
    ({"+": [1, "2", 3]}, None, 6),
    ({"-": [5]}, None, -5),
    ({"*": [2, 3]}, None, 6),
    ({"/": [7, 2]}, None, 3.5),
    ({"/": [1, 0]}, None, None),
    ({"%": [7, 3]}, None, 1),
    ({"min": [3, 1, 2]}, None, 1),
    ({"max": [3, 1, 2]}, None, 3),
    ({"cat": ["第", 2, "版"]}, None, "第2版"),
    ({"merge": [[1], 2, [3]]}, None, [1, 2, 3]),
    ({"missing": ["a", "b"]}, {"a": 1}, ["b"]),
    ({"missing_some": [1, ["a", "b"]]}, {"a": 1}, []),
    ({"some": [{"var": "xs"}, {">": [{"var": "age"}, 64]}]}, {"xs": [{"age": 10}, {"age": 70}]}, True),
    ({"all": [{"var": "xs"}, {">": [{"var": "age"}, 64]}]}, {"xs": [{"age": 10}, {"age": 70}]}, False),
    ({"all": [{"var": "xs"}, True]}, {"xs": []}, False),
    ({"none": [{"var": "xs"}, {">": [{"var": "age"}, 80]}]}, {"xs": [{"age": 10}]}, True),
    ({"count": [{"var": "xs"}, {"<": [{"var": "age"}, 18]}]}, {"xs": [{"age": 10}, {"age": 17}, {"age": 30}]}, 2),
    ({"filter": [{"var": "xs"}, {"<": [{"var": ""}, 2]}]}, {"xs": [1, 2, 3]}, [1]),
    ({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}, {"xs": [1, 2]}, [2, 4]),
    ({"age_on": ["1961-06-02", "2026-06-01"]}, None, 65),
    ({"school_grade": ["2020-04-01", "2026-06-01"]}, None, 1),
])
def test_operators(rule, data, expected):  # noqa: ANN001
    assert apply(rule, data) == expected


def test_three_valued_evaluation_keeps_only_the_deciding_unknowns() -> None:
    rule = compile_rule({"and": [{"var": "person.subject"},
                                 {"or": [{"<": [{"var": "person.age"}, 65]}, {"var": "answer.disability"}]},
                                 {"==": [{"var": "answer.employee"}, False]}]})
    young = {"person": {"subject": True, "age": 40}, "answer": {}}
    old = {"person": {"subject": True, "age": 70}, "answer": {}}
    assert rule(young) == Unknown({"answer.employee"})
    assert rule(old) == Unknown({"answer.employee", "answer.disability"})
    assert rule({"person": {"subject": False, "age": 70}, "answer": {}}) is False
    assert rule({**old, "answer": {"employee": True}}) is False
    assert rule({**old, "answer": {"employee": False, "disability": True}}) is True
    # `if` with an unknown condition but equal branches is known
    assert apply({"if": [{"var": "answer.x"}, 1, 1]}, {"answer": {}}) == 1
    assert apply({"if": [{"var": "answer.x"}, 1, 2]}, {"answer": {}}) == Unknown({"answer.x"})
    # `some` is true as soon as one known element is true
    assert apply({"some": [{"var": "xs"}, {"var": "answer.q"}]}, {"xs": [1]}) is not True  # element scope
    assert apply({"some": [[1, 2], {">": [{"var": ""}, 1]}]}, {}) is True


def test_and_then_reports_only_the_first_unknown_step() -> None:
    """``and_then``: the later operands' questions are not asked while an earlier one is unknown (a sensitive
    question such as the DV certificate comes only after the answers that make it relevant)."""
    rule = compile_rule({"and_then": [{"==": [{"var": "answer.employee"}, True]},
                                      {"==": [{"var": "answer.dv"}, True]}]})
    plain = compile_rule({"and": [{"==": [{"var": "answer.employee"}, True]}, {"==": [{"var": "answer.dv"}, True]}]})
    assert plain({"answer": {}}) == Unknown({"answer.employee", "answer.dv"})
    assert rule({"answer": {}}) == Unknown({"answer.employee"})
    assert rule({"answer": {"employee": False}}) is False
    assert rule({"answer": {"employee": True}}) == Unknown({"answer.dv"})
    assert rule({"answer": {"employee": True, "dv": True}}) is True
    assert validate({"and_then": [True]}).problems == []


def test_validate_reports_problems_with_paths_and_never_evaluates() -> None:
    problems = validate({"and": [{"var": "person.agee"}, {"eval": ["__import__('os')"]}, {"!": [1, 2]}]},
                        is_known_var=lambda name: name in {"person.age"}).problems
    assert "$.and[0].var: 未知の変数「person.agee」" in problems
    assert "$.and[1].eval: 未知の演算子「eval」" in problems
    assert any(p.startswith("$.and[2].!: 引数の数") for p in problems)
    with pytest.raises(RuleError):
        compile_rule({"__class__": []})
    with pytest.raises(RuleError):
        compile_rule({"a": 1, "b": 2})
    # element scope: variables inside some/all over household.members are person fields
    ok = validate({"some": [{"var": "household.members"}, {">=": [{"var": "age"}, 65]}]},
                  is_known_var=lambda n: n == "household.members",
                  element_vars={"household.members": lambda n: n == "age"})
    assert ok.problems == []


@pytest.mark.parametrize(("birth", "on", "legal", "calendar"), [
    (date(1961, 6, 2), date(2026, 6, 1), 65, 64),  # one is older from the day before the birthday
    (date(1961, 6, 2), date(2026, 5, 31), 64, 64),
    (date(2000, 2, 29), date(2025, 2, 27), 24, 24),
    (date(2000, 2, 29), date(2025, 2, 28), 25, 24),  # common year: Feb 28 is the day before "Mar 1"
    (date(2000, 2, 29), date(2025, 3, 1), 25, 25),
    (date(2000, 2, 29), date(2024, 2, 28), 24, 23),  # leap year: day before Feb 29
    (date(2000, 2, 29), date(2024, 2, 29), 24, 24),
    (date(2000, 3, 1), date(2025, 2, 28), 25, 24),
    (date(2026, 5, 20), date(2026, 6, 1), 0, 0),
])
def test_legal_and_calendar_age(birth, on, legal, calendar):  # noqa: ANN001
    assert legal_age(birth, on) == legal and calendar_age(birth, on) == calendar


@pytest.mark.parametrize(("birth", "on", "grade"), [
    (date(2019, 4, 1), date(2025, 4, 1), 1),  # April 1 birthday: the EARLIER grade (早生まれ)
    (date(2019, 4, 2), date(2025, 4, 1), 0),
    (date(2019, 4, 2), date(2026, 4, 1), 1),
    (date(2020, 3, 31), date(2026, 4, 1), 1),
    (date(2016, 2, 29), date(2026, 6, 1), 5),
    (date(2013, 4, 1), date(2026, 3, 31), 7),  # still 中1 until March 31
    (date(2013, 4, 1), date(2026, 4, 1), 8),
])
def test_school_grade(birth, on, grade):  # noqa: ANN001
    assert school_grade(birth, on) == grade


@pytest.mark.parametrize(("birth", "on", "upto_hs"), [
    (date(2008, 4, 1), date(2026, 3, 31), True),  # turns 18 on 3/31: that very March 31 is the last day
    (date(2008, 4, 1), date(2026, 4, 1), False),
    (date(2008, 4, 2), date(2026, 4, 1), True),  # turns 18 on 4/1 → until the next March 31
    (date(2008, 4, 2), date(2027, 3, 31), True),
    (date(2008, 4, 2), date(2027, 4, 1), False),
    (date(2008, 2, 29), date(2026, 3, 31), True),
    (date(2008, 2, 29), date(2026, 4, 1), False),
])
def test_high_school_age_until_first_march_31_after_turning_18(birth, on, upto_hs):  # noqa: ANN001
    ctx = person_context(person_facts_new(key="x", birth_date=birth), on=on)
    assert ctx["upto_high_school"] is upto_hs
    if upto_hs is False:
        # equivalently: the first March 31 on or after the day of turning 18 has passed
        assert ctx["age"] >= 18


def test_person_context_stages_and_unknown_birth_date() -> None:
    ctx = person_context(person_facts_new(key="x", birth_date=date(2020, 4, 2)), on=date(2026, 6, 1))
    assert ctx["school_stage"] == "preschool_last" and ctx["school_age"] is False
    ctx = person_context(person_facts_new(key="x", birth_date=date(2012, 1, 1)), on=date(2026, 6, 1))
    assert ctx["school_stage"] == "junior_high" and ctx["school_age"] is True and ctx["insurance"] == "unknown"
