"""A safe JsonLogic evaluator with three-valued (partial) evaluation — no ``eval``, no attribute access.

Rules are JSON (https://jsonlogic.com) compiled once into Python closures. Besides ordinary evaluation
the engine supports *unknown* values: a variable whose value is not known yet (an interview question
that has not been answered) evaluates to ``Unknown(deps)``; operators propagate it with short-circuit
semantics (``and`` with one known false operand is false whatever the unknowns are), so the result of
a rule is either a known value or ``Unknown`` carrying exactly the variables it still depends on.
That is what lets the interview ask only questions whose answer can still change a result.

Supported operators: ``var missing missing_some == != === !== < <= > >= ! !! and or if ?: in
+ - * / % min max cat merge some all none filter map count`` and the custom operators
``and_then [a, b, …]`` (like ``and``, but in order: while ``a`` is unknown only ``a``'s variables are reported, so
the interview asks ``b``'s questions only once ``a`` is known to be true — a sensitive question such as a DV
certificate comes only after the answers that make it relevant),
``age_on [birth, on]`` (legal age, 年齢計算ニ関スル法律) and ``school_grade [birth, on]``
(学年: 1–6 小学校, 7–9 中学校, 10–12 高校生年代; 0 = 就学前年).

``validate(rule, ...)`` reports unknown operators, wrong arity and unknown variable names with a path
such as ``$.and[2].var``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

Data = Any
Compiled = Callable[[Data], Any]


class Unknown:
    """A value not known yet; ``deps`` are the variable paths it depends on."""

    __slots__ = ("deps",)

    def __init__(self, deps: Iterable[str] = ()) -> None:
        self.deps: frozenset[str] = frozenset(deps)

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.deps)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.deps == self.deps

    def __hash__(self) -> int:
        return hash(self.deps)


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def _merge(values: Iterable[Any]) -> Unknown:
    deps: set[str] = set()
    for value in values:
        if isinstance(value, Unknown):
            deps |= value.deps
    return Unknown(deps)


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: empty arrays are falsy, "0" is truthy (JavaScript semantics)."""
    if isinstance(value, list | tuple):
        return len(value) > 0
    return bool(value)


class RuleError(ValueError):
    """Raised when a rule cannot be compiled; ``problems`` lists every problem with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# ------------------------------------------------------------------------------------------------
# Date helpers (also used by navigation.facts)
# ------------------------------------------------------------------------------------------------
def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _anniversary(birth: date, year: int) -> date:
    """The birthday in ``year``; 2月29日 counts as 3月1日 in common years (民法143条2項ただし書)."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def legal_age(birth: date, on: date) -> int:
    """Age under 年齢計算ニ関スル法律: one becomes a year older at the end of the day before the birthday.

    So on the day before the birthday the new age already applies. A 2月29日 birthday ages on 2月28日.
    """
    reference = date.fromordinal(on.toordinal() + 1)
    years = reference.year - birth.year
    if reference < _anniversary(birth, reference.year):
        years -= 1
    return years


def calendar_age(birth: date, on: date) -> int:
    """Age counted from the birthday itself (used where a law says 「誕生日から」, e.g. 後期高齢者医療)."""
    years = on.year - birth.year
    if on < _anniversary(birth, on.year):
        years -= 1
    return years


def school_year(on: date) -> int:
    """The school year (4月1日–翌年3月31日) that ``on`` falls in, named by its starting calendar year."""
    return on.year if on.month >= 4 else on.year - 1


def school_grade(birth: date, on: date) -> int:
    """Grade in school year terms: 1 = 小学1年 … 9 = 中学3年, 10–12 = 高校生年代, ≤ 0 before school.

    A child enters 小学校 on the first 4月1日 after turning 6 (legal age). Children born 4月2日–翌年4月1日
    form one grade; a 4月1日 birthday turns 6 on 3月31日 and so belongs to the EARLIER grade (早生まれ).
    """
    cohort = birth.year if (birth.month, birth.day) >= (4, 2) else birth.year - 1
    return school_year(on) - cohort - 6


# ------------------------------------------------------------------------------------------------
# Variable lookup
# ------------------------------------------------------------------------------------------------
_MISSING = object()


def _lookup(data: Any, parts: tuple[str, ...]) -> Any:
    current = data
    for part in parts:
        if isinstance(current, Unknown):
            return current
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list | tuple):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


@dataclass
class Options:
    """Which variables are *askable*: a missing value under one of these prefixes is Unknown, not null."""

    unknown_prefixes: tuple[str, ...] = ("answer.",)


DEFAULT_OPTIONS = Options()


# ------------------------------------------------------------------------------------------------
# Compiler
# ------------------------------------------------------------------------------------------------
def _const(value: Any) -> Compiled:
    return lambda data: value


def _num(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    if value is None:
        return 0
    return None


def _loose_eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, int | float | bool) or isinstance(b, int | float | bool):
        na, nb = _num(a), _num(b)
        if na is not None and nb is not None:
            return na == nb
    return a == b


def _compare(a: Any, b: Any, op: str) -> bool:
    if a is None or b is None:
        return False
    if not (isinstance(a, str) and isinstance(b, str)):
        na, nb = _num(a), _num(b)
        if na is None or nb is None:
            return False
        a, b = na, nb
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


class _Compiler:
    def __init__(self, options: Options) -> None:
        self.options = options

    def compile(self, node: Any) -> Compiled:
        if isinstance(node, list):
            items = [self.compile(item) for item in node]

            def _array(data: Data) -> Any:
                values = [item(data) for item in items]
                return values

            return _array
        if not isinstance(node, dict):
            return _const(node)
        if len(node) != 1:
            raise RuleError([f"演算子のオブジェクトはキーが1つでなければなりません: {sorted(node)}"])
        op, raw_args = next(iter(node.items()))
        handler = getattr(self, "op_" + _OP_NAMES.get(op, "_unknown"), None)
        if handler is None or op not in _OP_NAMES:
            raise RuleError([f"未知の演算子: {op}"])
        if op in ("some", "all", "none", "filter", "map", "count"):
            args = raw_args if isinstance(raw_args, list) else [raw_args]
            return handler(args)
        args = raw_args if isinstance(raw_args, list) else [raw_args]
        if op in ("var", "missing", "missing_some"):
            return handler(args)
        return handler([self.compile(arg) for arg in args])

    # -- data access --------------------------------------------------------------------------
    def op_var(self, args: list[Any]) -> Compiled:
        path_node = args[0] if args else ""
        default = self.compile(args[1]) if len(args) > 1 else None
        if isinstance(path_node, dict | list):
            path_fn = self.compile(path_node)
        else:
            path_fn = None
        prefixes = self.options.unknown_prefixes

        def resolve(data: Data, path: Any) -> Any:
            if isinstance(path, Unknown):
                return path
            if path is None or path == "":
                return data
            text = str(path)
            value = _lookup(data, tuple(text.split(".")))
            if value is _MISSING or value is None:
                if default is not None:
                    return default(data)
                if value is _MISSING and text.startswith(prefixes):
                    return Unknown((text,))
                return None
            return value

        if path_fn is not None:
            return lambda data: resolve(data, path_fn(data))
        text = "" if path_node is None else str(path_node)
        parts = tuple(text.split(".")) if text else ()
        is_askable = bool(text) and text.startswith(prefixes)
        unknown = Unknown((text,)) if is_askable else None

        def _var(data: Data) -> Any:
            if not parts:
                return data
            value = _lookup(data, parts)
            if value is _MISSING or value is None:
                if default is not None:
                    return default(data)
                return unknown if (value is _MISSING and is_askable) else None
            return value

        return _var

    def op_missing(self, args: list[Any]) -> Compiled:
        keys = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        paths = [tuple(str(key).split(".")) for key in keys]

        def _missing(data: Data) -> Any:
            return [".".join(p) for p in paths if _lookup(data, p) in (_MISSING, None, "")]

        return _missing

    def op_missing_some(self, args: list[Any]) -> Compiled:
        if len(args) != 2 or not isinstance(args[1], list):
            raise RuleError(["missing_some には [必要数, [変数名…]] を指定します"])
        need = int(args[0])
        inner = self.op_missing([args[1]])

        def _missing_some(data: Data) -> Any:
            missing = inner(data)
            return [] if len(args[1]) - len(missing) >= need else missing

        return _missing_some

    # -- logic --------------------------------------------------------------------------------
    def op_and(self, args: list[Compiled]) -> Compiled:
        def _and(data: Data) -> Any:
            unknowns = []
            value: Any = True
            for arg in args:
                value = arg(data)
                if isinstance(value, Unknown):
                    unknowns.append(value)
                elif not truthy(value):
                    return value
            return _merge(unknowns) if unknowns else value

        return _and

    def op_and_then(self, args: list[Compiled]) -> Compiled:
        def _and_then(data: Data) -> Any:
            value: Any = True
            for arg in args:
                value = arg(data)
                if isinstance(value, Unknown) or not truthy(value):
                    return value
            return value

        return _and_then

    def op_or(self, args: list[Compiled]) -> Compiled:
        def _or(data: Data) -> Any:
            unknowns = []
            value: Any = False
            for arg in args:
                value = arg(data)
                if isinstance(value, Unknown):
                    unknowns.append(value)
                elif truthy(value):
                    return value
            return _merge(unknowns) if unknowns else value

        return _or

    def op_not(self, args: list[Compiled]) -> Compiled:
        arg = args[0] if args else _const(None)

        def _not(data: Data) -> Any:
            value = arg(data)
            return value if isinstance(value, Unknown) else not truthy(value)

        return _not

    def op_notnot(self, args: list[Compiled]) -> Compiled:
        arg = args[0] if args else _const(None)

        def _notnot(data: Data) -> Any:
            value = arg(data)
            return value if isinstance(value, Unknown) else truthy(value)

        return _notnot

    def op_if(self, args: list[Compiled]) -> Compiled:
        def _evaluate(data: Data, start: int) -> Any:
            i = start
            while i + 1 < len(args):
                condition = args[i](data)
                if isinstance(condition, Unknown):
                    then = args[i + 1](data)
                    rest = _evaluate(data, i + 2)
                    if not isinstance(then, Unknown) and not isinstance(rest, Unknown) and then == rest:
                        return then
                    return _merge([condition, then, rest])
                if truthy(condition):
                    return args[i + 1](data)
                i += 2
            return args[i](data) if i < len(args) else None

        return lambda data: _evaluate(data, 0)

    # -- comparison ---------------------------------------------------------------------------
    def _binary(self, args: list[Compiled], fn: Callable[[Any, Any], Any]) -> Compiled:
        left = args[0] if args else _const(None)
        right = args[1] if len(args) > 1 else _const(None)

        def _bin(data: Data) -> Any:
            a, b = left(data), right(data)
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                return _merge([a, b])
            return fn(a, b)

        return _bin

    def op_eq(self, args: list[Compiled]) -> Compiled:
        return self._binary(args, _loose_eq)

    def op_ne(self, args: list[Compiled]) -> Compiled:
        return self._binary(args, lambda a, b: not _loose_eq(a, b))

    def op_seq(self, args: list[Compiled]) -> Compiled:
        return self._binary(args, lambda a, b: type(a) is type(b) and a == b)

    def op_sne(self, args: list[Compiled]) -> Compiled:
        return self._binary(args, lambda a, b: not (type(a) is type(b) and a == b))

    def _ordered(self, args: list[Compiled], op: str) -> Compiled:
        if len(args) == 3:  # between: a < b < c
            a_fn, b_fn, c_fn = args

            def _between(data: Data) -> Any:
                a, b, c = a_fn(data), b_fn(data), c_fn(data)
                if any(isinstance(v, Unknown) for v in (a, b, c)):
                    return _merge([a, b, c])
                return _compare(a, b, op) and _compare(b, c, op)

            return _between
        return self._binary(args, lambda a, b: _compare(a, b, op))

    def op_lt(self, args: list[Compiled]) -> Compiled:
        return self._ordered(args, "<")

    def op_le(self, args: list[Compiled]) -> Compiled:
        return self._ordered(args, "<=")

    def op_gt(self, args: list[Compiled]) -> Compiled:
        return self._ordered(args, ">")

    def op_ge(self, args: list[Compiled]) -> Compiled:
        return self._ordered(args, ">=")

    def op_in(self, args: list[Compiled]) -> Compiled:
        def _in(a: Any, b: Any) -> bool:
            if isinstance(b, list | tuple):
                if any(isinstance(item, Unknown) for item in b):
                    found = any(not isinstance(item, Unknown) and _loose_eq(a, item) for item in b)
                    return found or _merge(b)
                return any(_loose_eq(a, item) for item in b)
            if isinstance(b, str) and isinstance(a, str):
                return a in b
            return False

        return self._binary(args, _in)

    # -- arithmetic ---------------------------------------------------------------------------
    def _nary(self, args: list[Compiled], fn: Callable[[list[Any]], Any]) -> Compiled:
        def _apply(data: Data) -> Any:
            values = [arg(data) for arg in args]
            if any(isinstance(v, Unknown) for v in values):
                return _merge(values)
            return fn(values)

        return _apply

    def op_add(self, args: list[Compiled]) -> Compiled:
        def _add(values: list[Any]) -> Any:
            nums = [_num(v) for v in values]
            return None if any(n is None for n in nums) else sum(nums)  # type: ignore[arg-type]

        return self._nary(args, _add)

    def op_sub(self, args: list[Compiled]) -> Compiled:
        def _sub(values: list[Any]) -> Any:
            nums = [_num(v) for v in values]
            if any(n is None for n in nums) or not nums:
                return None
            return -nums[0] if len(nums) == 1 else nums[0] - nums[1]  # type: ignore[operator]

        return self._nary(args, _sub)

    def op_mul(self, args: list[Compiled]) -> Compiled:
        def _mul(values: list[Any]) -> Any:
            result: Any = 1
            for value in values:
                n = _num(value)
                if n is None:
                    return None
                result *= n
            return result

        return self._nary(args, _mul)

    def op_div(self, args: list[Compiled]) -> Compiled:
        def _div(values: list[Any]) -> Any:
            if len(values) != 2:
                return None
            a, b = _num(values[0]), _num(values[1])
            if a is None or not b:
                return None
            return a / b

        return self._nary(args, _div)

    def op_mod(self, args: list[Compiled]) -> Compiled:
        def _mod(values: list[Any]) -> Any:
            if len(values) != 2:
                return None
            a, b = _num(values[0]), _num(values[1])
            if a is None or not b:
                return None
            return a % b

        return self._nary(args, _mod)

    def op_min(self, args: list[Compiled]) -> Compiled:
        return self._nary(args, lambda v: min((_num(x) for x in v), default=None)  # type: ignore[type-var]
                          if all(_num(x) is not None for x in v) else None)

    def op_max(self, args: list[Compiled]) -> Compiled:
        return self._nary(args, lambda v: max((_num(x) for x in v), default=None)  # type: ignore[type-var]
                          if all(_num(x) is not None for x in v) else None)

    def op_cat(self, args: list[Compiled]) -> Compiled:
        return self._nary(args, lambda v: "".join("" if x is None else str(x) for x in v))

    def op_merge(self, args: list[Compiled]) -> Compiled:
        def _merge_arrays(values: list[Any]) -> list[Any]:
            result: list[Any] = []
            for value in values:
                if isinstance(value, list | tuple):
                    result.extend(value)
                else:
                    result.append(value)
            return result

        return self._nary(args, _merge_arrays)

    # -- custom -------------------------------------------------------------------------------
    def op_age_on(self, args: list[Compiled]) -> Compiled:
        def _age(values: list[Any]) -> Any:
            birth, on = (_as_date(values[0]), _as_date(values[1])) if len(values) == 2 else (None, None)
            return None if birth is None or on is None else legal_age(birth, on)

        return self._nary(args, _age)

    def op_school_grade(self, args: list[Compiled]) -> Compiled:
        def _grade(values: list[Any]) -> Any:
            birth, on = (_as_date(values[0]), _as_date(values[1])) if len(values) == 2 else (None, None)
            return None if birth is None or on is None else school_grade(birth, on)

        return self._nary(args, _grade)

    # -- arrays -------------------------------------------------------------------------------
    def _array_op(self, args: list[Any], kind: str) -> Compiled:
        if len(args) != 2:
            raise RuleError([f"{kind} には [配列, 条件] を指定します"])
        source = self.compile(args[0])
        predicate = self.compile(args[1])

        def _run(data: Data) -> Any:
            items = source(data)
            if isinstance(items, Unknown):
                return items
            if not isinstance(items, list | tuple):
                items = []
            results = [predicate(item) for item in items]
            unknowns = [r for r in results if isinstance(r, Unknown)]
            known = [truthy(r) for r in results if not isinstance(r, Unknown)]
            if kind == "some":
                if any(known):
                    return True
                return _merge(unknowns) if unknowns else False
            if kind == "none":
                if any(known):
                    return False
                return _merge(unknowns) if unknowns else True
            if kind == "all":
                if not items or (known and not all(known)):
                    return False
                return _merge(unknowns) if unknowns else True
            if unknowns:
                return _merge(unknowns)
            if kind == "filter":
                return [item for item, r in zip(items, results, strict=True) if truthy(r)]
            if kind == "count":
                return sum(1 for r in results if truthy(r))
            return results  # map

        return _run

    def op_some(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "some")

    def op_all(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "all")

    def op_none(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "none")

    def op_filter(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "filter")

    def op_map(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "map")

    def op_count(self, args: list[Any]) -> Compiled:
        return self._array_op(args, "count")


_OP_NAMES = {
    "var": "var", "missing": "missing", "missing_some": "missing_some",
    "and": "and", "and_then": "and_then", "or": "or", "!": "not", "!!": "notnot", "if": "if", "?:": "if",
    "==": "eq", "!=": "ne", "===": "seq", "!==": "sne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
    "in": "in", "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "min": "min", "max": "max",
    "cat": "cat", "merge": "merge", "age_on": "age_on", "school_grade": "school_grade",
    "some": "some", "all": "all", "none": "none", "filter": "filter", "map": "map", "count": "count",
}
OPERATORS: tuple[str, ...] = tuple(_OP_NAMES)

# (min, max) number of arguments; None = unbounded
_ARITY: dict[str, tuple[int, int | None]] = {
    "var": (0, 2), "missing_some": (2, 2), "!": (1, 1), "!!": (1, 1), "if": (1, None), "?:": (3, 3),
    "==": (2, 2), "!=": (2, 2), "===": (2, 2), "!==": (2, 2), "<": (2, 3), "<=": (2, 3), ">": (2, 2),
    ">=": (2, 2), "in": (2, 2), "/": (2, 2), "%": (2, 2), "-": (1, 2), "and": (1, None), "and_then": (1, None),
    "or": (1, None),
    "age_on": (2, 2), "school_grade": (2, 2), "some": (2, 2), "all": (2, 2), "none": (2, 2),
    "filter": (2, 2), "map": (2, 2), "count": (2, 2),
}
_ARRAY_OPS = ("some", "all", "none", "filter", "map", "count")


def compile_rule(rule: Any, *, options: Options = DEFAULT_OPTIONS) -> Compiled:
    """Compile a JsonLogic rule to a function ``data -> value | Unknown``. Raises RuleError."""
    return _Compiler(options).compile(rule)


def apply(rule: Any, data: Any = None, *, options: Options = DEFAULT_OPTIONS) -> Any:
    """Evaluate a rule once (compiles each time — prefer ``compile_rule`` for repeated use)."""
    return compile_rule(rule, options=options)(data)


@dataclass
class Analysis:
    problems: list[str] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)


def validate(
    rule: Any,
    *,
    is_known_var: Callable[[str], bool] | None = None,
    element_vars: dict[str, Callable[[str], bool]] | None = None,
) -> Analysis:
    """Check a rule without running it: unknown operators, arity, variable names (with a path).

    ``is_known_var(path)`` says whether a top-level variable exists; ``element_vars`` maps an array
    variable (e.g. ``household.members``) to the checker used for ``var`` inside ``some``/``all``/…
    predicates over it. Variables inside predicates over other arrays are not checked.
    """
    analysis = Analysis()

    def visit(node: Any, path: str, checker: Callable[[str], bool] | None, top: bool) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, f"{path}[{i}]", checker, top)
            return
        if not isinstance(node, dict):
            return
        if len(node) != 1:
            keys = ", ".join(map(str, node))
            analysis.problems.append(f"{path}: 演算子のオブジェクトはキーが1つでなければなりません（{keys}）")
            return
        op, args = next(iter(node.items()))
        here = f"{path}.{op}"
        if op not in _OP_NAMES:
            analysis.problems.append(f"{here}: 未知の演算子「{op}」")
            return
        arg_list = args if isinstance(args, list) else [args]
        low, high = _ARITY.get(op, (0, None))
        if len(arg_list) < low or (high is not None and len(arg_list) > high):
            expected = f"{low}" if low == high else f"{low}〜{high if high is not None else ''}"
            analysis.problems.append(
                f"{here}: 引数の数が正しくありません（{len(arg_list)}個、期待 {expected}個）")
        if op == "var":
            name = arg_list[0] if arg_list else ""
            if isinstance(name, dict | list):
                visit(name, f"{here}[0]", checker, top)
            elif name not in ("", None):
                text = str(name)
                if top:
                    analysis.variables.add(text)
                if checker is not None and not checker(text):
                    analysis.problems.append(f"{here}: 未知の変数「{text}」")
            for i, item in enumerate(arg_list[1:], start=1):
                visit(item, f"{here}[{i}]", checker, top)
            return
        if op in ("missing", "missing_some"):
            names = arg_list[1] if op == "missing_some" and len(arg_list) > 1 else arg_list
            if op == "missing" and len(arg_list) == 1 and isinstance(arg_list[0], list):
                names = arg_list[0]
            for name in names if isinstance(names, list) else []:
                if isinstance(name, str):
                    if top:
                        analysis.variables.add(name)
                    if checker is not None and not checker(name):
                        analysis.problems.append(f"{here}: 未知の変数「{name}」")
            return
        if op in _ARRAY_OPS and len(arg_list) == 2:
            visit(arg_list[0], f"{here}[0]", checker, top)
            source = arg_list[0]
            inner: Callable[[str], bool] | None = None
            if isinstance(source, dict) and "var" in source and element_vars:
                src_name = source["var"][0] if isinstance(source["var"], list) else source["var"]
                inner = element_vars.get(str(src_name))
            visit(arg_list[1], f"{here}[1]", inner, False)
            return
        for i, item in enumerate(arg_list):
            visit(item, f"{here}[{i}]", checker, top)

    visit(rule, "$", is_known_var, True)
    if not analysis.problems:
        try:
            compile_rule(rule)
        except RuleError as exc:
            analysis.problems.extend(f"$: {p}" for p in exc.problems)
    return analysis
