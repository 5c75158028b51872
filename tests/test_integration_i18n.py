"""User-facing Japanese text of ``integration`` goes through gettext (docs/development.md, Conventions: Text).

1. Static: every string literal under ``integration/`` with Japanese characters is the message of a gettext
   call, a docstring, or data on the explicit allowlist below (with the reason).
2. Behaviour: with a catalogue for another language installed at test time, import errors, model and target
   field labels come out translated, data (file headers, code tables, 和暦 text) does not, and everything that
   goes to JSON, the database or another process is a plain ``str``.
"""

from __future__ import annotations

import ast
import json
import re
import struct
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.utils import translation
from django.utils.translation import gettext as _

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "integration"

# Hiragana, katakana, CJK ideographs (with extensions and compatibility forms), CJK and full-width punctuation.
JAPANESE = re.compile("[\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                      "\uff00-\uffef\U00020000-\U0003134f]")
GETTEXT = frozenset({"_", "gettext", "gettext_lazy", "_lazy", "pgettext", "pgettext_lazy", "ngettext",
                     "ngettext_lazy"})

# Whole files (or folders, ending in "/") that hold nothing but data.
ALLOWED_FILES = {
    "integration/generator.py": "synthetic core-system data: surnames, given names, kana, towns, 続柄, codes",
    "integration/vendorfiles.py": "example vendor files (tests, bench): the 続柄 value 世帯主 of synthetic data",
    "integration/migrations/": "historical migration state (never edited; verbose names compare as strings)",
    "integration/exports/migrations/": "historical migration state (never edited; verbose names compare as strings)",
}

# Data inside otherwise translated modules: (file, where) → reason. ``where`` is a module-level constant
# (``NAME``), a class attribute (``Class.attr``), a function or method (``func``, ``Class.method``), or an
# argument of a call in that file: ``Callee(#1)`` (second positional argument) or ``Callee(codes=)``.
ALLOWED = {
    ("integration/importer/rows.py", "STRIP"): "characters stripped from values (the ideographic space U+3000)",
    ("integration/importer/rows.py", "HALFWIDTH"): "character range of a column rule (half-width katakana)",
    ("integration/importer/rows.py", "CHAR_CLASSES"): "character ranges of the column rules (kana, full width)",
    ("integration/importer/kinds.py", "PAD"): "padding stripped from header and trailer values (U+3000)",
    ("integration/importer/rows.py", "TRUE_VALUES"): "values a file may hold for yes (有・あり・する)",
    ("integration/importer/rows.py", "FALSE_VALUES"): "values a file may hold for no (無・なし・しない)",
    ("integration/importer/apply.py", "_household_insert"): "SQL comparing the stored 続柄 value 世帯主",
    ("integration/selectors.py", "household_members"): "the stored 続柄 value 世帯主 orders the members",
    ("integration/targets.py", "RELATIONSHIP_TERMS"): "続柄 values of the 住民記録 standard, to validate files",
    ("integration/targets.py", "is_valid_relationship"): "続柄 values and the 「の」 that chains them",
    ("integration/models.py", "DEFAULT_METHOD"): "default value of a stored field (LinkageLayout.method)",
    ("integration/gaiji.py", "LOCAL_HEADERS"): "header names of the 外字 table file (file contents)",
    ("integration/gaiji.py", "OTHER_HEADERS"): "header names of the 外字 table file (file contents)",
    ("integration/gaiji.py", "_SJIS_PREFIX"): "regular expression accepting a full-width colon in SJIS：F040",
    ("integration/parsers.py", "_shown"): "「＊」 masks the digits of a 個人番号 quoted in a message",
    ("integration/dates.py", "_KANJI_RE"): "regular expression for 「令和6年4月1日」",
    ("integration/dates.py", "_looks_like"): "「年」 recognises a 和暦 kanji date",
    ("integration/dates.py", "parse_wareki_kanji"): "「元」 (first year of an era) as written in files",
    ("integration/dates.py", "to_wareki"): "和暦 text written into files (generator, exports)",
    ("integration/search.py", "_KATAKANA"): "regular expression (katakana and the long vowel mark)",
    ("integration/search.py", "_WAREKI"): "regular expression for 和暦 dates typed by staff",
    ("integration/search.py", "_SEIREKI"): "regular expression for 西暦 dates typed by staff",
    ("integration/search.py", "parse_birth_date"): "「元」 (first year of an era) as typed",
    ("integration/normalize.py", "_VARIANTS"): "old and variant character forms folded for search",
    ("integration/normalize.py", "normalize_name"): "「・」 removed from names for search",
    ("integration/normalize.py", "normalize_kana"): "「・」 removed from kana for search",
    ("integration/normalize.py", "normalize_address"): "dash variants unified in addresses for search",
    ("integration/exports/wareki.py", "format_date"): "和暦 text written into files",
    ("integration/exports/render.py", "CP932_EQUIVALENTS"): "character mapping for the CP932 encoder",
    ("integration/exports/layouts.py", "DEFAULT_REPLACEMENT"): "replacement character written into files",
    ("integration/exports/registry.py", "META_LABELS"): "headers of the shipped export layouts (file contents)",
    ("integration/exports/registry.py", "ADDRESS_LABEL"): "words of item labels that name an address (a check)",
    ("integration/exports/render.py", "MASK_TEXT"): "written into files in place of a protected address (data)",
    ("integration/exports/kinds.py", "ExportItem(#1)"): "item labels: the headers of the shipped export layouts",
    ("integration/exports/kinds.py", "ExportItem(codes=)"): "code tables of the export items (values in files)",
    ("integration/exports/kinds.py", "SEX"): "code table of the export items (values in files)",
    ("integration/exports/api.py", "OpenApiExample(value=)"): "example payload in the API schema (sample data)",
}


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                found.add(id(first.value))
    return found


def japanese_literals(tree: ast.Module) -> Iterator[tuple[ast.Constant, frozenset[str]]]:
    """Every string constant with Japanese characters that is neither a docstring nor the message of a gettext
    call, with the places it is in (``where`` names, see ``ALLOWED``). F-string parts count (an f-string is
    never a gettext message: makemessages cannot extract it)."""
    docstrings = _docstrings(tree)

    def visit(node: ast.AST, tags: frozenset[str], prefix: str, top: bool) -> Iterator:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and JAPANESE.search(node.value) and id(node) not in docstrings:
                yield node, tags
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            qualified = f"{prefix}.{node.name}" if prefix else node.name
            for child in ast.iter_child_nodes(node):
                yield from visit(child, tags | {qualified}, qualified, isinstance(node, ast.ClassDef))
            return
        if isinstance(node, ast.Assign | ast.AnnAssign) and top:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {f"{prefix}.{t.id}" if prefix else t.id for t in targets if isinstance(t, ast.Name)}
            for child in ast.iter_child_nodes(node):
                yield from visit(child, tags | names, prefix, False)
            return
        if isinstance(node, ast.Call):
            callee = _callee(node)
            yield from visit(node.func, tags, prefix, False)
            for index, arg in enumerate(node.args):
                if callee in GETTEXT and isinstance(arg, ast.Constant):
                    continue  # a message (or context) makemessages extracts
                yield from visit(arg, tags | {f"{callee}(#{index})"}, prefix, False)
            for keyword in node.keywords:
                yield from visit(keyword.value, tags | {f"{callee}({keyword.arg}=)"}, prefix, False)
            return
        for child in ast.iter_child_nodes(node):
            yield from visit(child, tags, prefix, isinstance(node, ast.Module))

    yield from visit(tree, frozenset(), "", True)


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _whole_file_reason(rel: str) -> str | None:
    return next((reason for name, reason in ALLOWED_FILES.items()
                 if rel == name or (name.endswith("/") and rel.startswith(name))), None)


def test_japanese_text_in_integration_goes_through_gettext():
    offenders, used = [], set()
    for rel, tree in _sources():
        if _whole_file_reason(rel):
            continue
        for node, tags in japanese_literals(tree):
            allowed = {(rel, tag) for tag in tags} & ALLOWED.keys()
            if allowed:
                used |= allowed
                continue
            offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not offenders, (
        "Japanese text outside gettext: wrap it in _() (gettext, at call time) or _lazy() (gettext_lazy, at import "
        "time) with %(name)s placeholders; if it is data, add it to ALLOWED in tests/test_integration_i18n.py "
        "with the reason.\n" + "\n".join(offenders))
    assert not ALLOWED.keys() - used, f"allowlist entries that match nothing: {sorted(ALLOWED.keys() - used)}"


def test_allowlisted_files_exist_and_the_checker_finds_what_it_should():
    for name in ALLOWED_FILES:
        assert (ROOT / name).exists(), name
    sample = ast.parse('"""ドキュメント"""\nA = _("訳す")\nB = f"{x}件"\nC = _(f"{x}件")\nD = pgettext("sep", "・")\n'
                       'E = ExportItem("c", "見出し", _lazy("意味"), codes=(("1", "男"),))\n'
                       'def f():\n    return "未翻訳"\n')
    found = sorted((node.lineno, node.value, sorted(tags)) for node, tags in japanese_literals(sample))
    assert found == [  # both f-strings are flagged (even inside _()); the docstring and the messages are not
        (3, "件", ["B"]), (4, "件", ["C", "_(#0)"]),
        (6, "男", ["E", "ExportItem(codes=)"]), (6, "見出し", ["E", "ExportItem(#1)"]), (8, "未翻訳", ["f"])]


# ---------------------------------------------------------------------------------------------
# Behaviour: a catalogue for English, built at test time
# ---------------------------------------------------------------------------------------------
CATALOGUE = {
    "必須項目が空です": "A required value is empty",
    "必須項目「%(label)s」がレイアウトにありません": "The required field \u201c%(label)s\u201d is not in the layout",
    "日付「%(value)s」を読み取れません（使用できる形式: %(formats)s）":
        "Cannot read the date \u201c%(value)s\u201d (formats: %(formats)s)",
    "西暦8桁（20240401）": "8-digit Western date (20240401)",
    "%(count)s 件のエラーがあるため取り込みませんでした（データは変更していません）":
        "%(count)s errors: nothing was imported (no data changed)",
    "エラー": "Failed",
    "住民": "Resident",
    "宛名番号": "Atena number",
    "氏名": "Name",
    "男": "Male",
}


def write_mo(path: Path, messages: dict[str, str]) -> None:
    """A GNU MO file (what msgfmt writes): header, the two tables of (length, offset), then the strings."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}
    keys = sorted(entries)
    originals = [key.encode() for key in keys]
    translations = [entries[key].encode() for key in keys]
    count = len(keys)
    data_at = 28 + 16 * count
    table, data = [], b""
    for text in (*originals, *translations):
        table.append(struct.pack("<2I", len(text), data_at + len(data)))
        data += text + b"\0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, data_at)
                     + b"".join(table) + data)


@pytest.fixture
def english(tmp_path):
    """Activate English with the test catalogue. Changing LOCALE_PATHS makes Django drop its translation caches
    (``trans_real._translations``, ``_default``, ``_active``: django.test.signals.language_changed) on the way
    in and again on the way out, so the catalogue is gone afterwards."""
    write_mo(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.mo", CATALOGUE)
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]), translation.override("en"):
        yield
    from django.utils.translation import trans_real

    assert trans_real._translations == {}  # the next test loads the real catalogues again
    assert _("必須項目が空です") == "必須項目が空です"


def _layout(**overrides: object) -> object:
    from integration.models import LinkageLayout

    columns = [{"field": "atena_no", "label": "宛名番号"}, {"field": "household_no", "label": "世帯番号"},
               {"field": "name", "label": "氏名"}, {"field": "birth_date", "label": "生年月日"},
               {"field": "sex", "label": "性別"}]
    values = {"key": "i18n", "target": "residents", "format": "csv", "encoding": "utf-8", "delimiter": ",",
              "mode": "full", "columns": columns, "key_fields": ["atena_no"], "date_formats": ["yyyymmdd"],
              "code_tables": {}, "op_codes": {}, "options": {}}
    return LinkageLayout(**{**values, **overrides})


def test_validation_errors_are_translated_at_run_time_and_plain_strings(english):
    from integration.checkdigits import with_check_digit
    from integration.importer import RowBuilder, layout_problems
    from integration.targets import target_for

    layout = _layout()
    builder = RowBuilder(layout=layout, target=target_for("residents"), tenant=SimpleNamespace(
        code="462012", name="テストA市"), gaiji={})
    row, errors = builder.build(2, [with_check_digit("000000001"), with_check_digit("000900000"), "", "2024/99", "1"])
    assert row is None
    assert [(e["column"], e["message"]) for e in errors] == [
        ("氏名", "A required value is empty"),  # the column is the layout's own header (data)
        ("生年月日", "Cannot read the date \u201c2024/99\u201d (formats: 8-digit Western date (20240401))"),
    ]
    problems = layout_problems(_layout(columns=[c for c in layout.columns if c["field"] != "name"]))
    assert problems == ["The required field \u201cName\u201d is not in the layout"]
    # What is stored in JSON, pickled to a worker or sent to Celery is a str, never a lazy object.
    assert all(type(e["message"]) is str for e in errors) and all(type(p) is str for p in problems)
    json.dumps([errors, problems])


def test_model_and_target_field_labels_are_translated_data_is_not(english):
    from integration.dates import to_wareki
    from integration.exports import kinds
    from integration.exports.layouts import default_spec
    from integration.models import ImportRun, Resident, Sex
    from integration.targets import target_for

    assert str(Resident._meta.verbose_name) == "Resident"
    assert str(Resident._meta.get_field("atena_no").verbose_name) == "Atena number"
    assert Resident(sex=Sex.MALE).get_sex_display() == "Male"
    assert str(ImportRun.Status.FAILED.label) == "Failed"
    target = target_for("residents")
    assert target.label == "Resident"
    spec = target.field("atena_no")
    assert spec.label == "Atena number" and type(spec.label) is str
    # Data keeps its Japanese whatever the UI language: a new layout's default header, the shipped export
    # layout's header, code tables, 和暦 dates written into files.
    assert spec.default_header == "宛名番号"
    headers = {column.item: column.header for column in default_spec(kinds.JUKI_IDOU).columns}
    assert headers["atena_no"] == "宛名番号" and headers["name"] == "氏名"
    assert dict(kinds.SEX)["1"] == "男"
    assert to_wareki(date(2024, 4, 1), style="kanji") == "令和6年4月1日"


def test_an_import_run_stores_translated_messages(english, in_a):
    from integration.models import ImportRun, LinkageLayout
    from integration.services import import_submit, layouts_ensure_shipped
    from madoguchi.principals import SYSTEM
    from tests.test_integration_import import person, std_csv

    layouts_ensure_shipped()
    layout = LinkageLayout.objects.get(key="juki_standard_csv")
    run = import_submit(layout=layout, source=std_csv([person(1, name="")]), file_name="juki.csv",
                        run_async=False, actor=SYSTEM)
    stored = ImportRun.objects.get(pk=run.pk)
    assert stored.status == ImportRun.Status.FAILED and stored.get_status_display() == "Failed"
    assert stored.message == "1 errors: nothing was imported (no data changed)"
    assert [e["message"] for e in stored.errors] == ["A required value is empty"]
