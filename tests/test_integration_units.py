"""Pure functions of the linkage side: 和暦, 外字 table parsing and code points, check digits, parsers."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

import pytest

from integration.checkdigits import is_valid_atena_no, with_check_digit
from integration.dates import make_date_parser, to_wareki
from integration.gaiji import GaijiConverter, code_points, parse_gaiji_csv
from integration.parsers import CsvParser, FixedParser, iter_raw_lines
from integration.targets import is_valid_relationship


@pytest.mark.parametrize("raw,expected", [
    ("R060401", date(2024, 4, 1)), ("r060401", date(2024, 4, 1)), ("H310430", date(2019, 4, 30)),
    ("S640107", date(1989, 1, 7)), ("M450729", date(1912, 7, 29)), ("T150101", date(1926, 1, 1)),
    ("5060401", date(2024, 4, 1)), ("3551225", date(1980, 12, 25)),
    ("令和6年4月1日", date(2024, 4, 1)), ("令和元年5月1日", date(2019, 5, 1)), ("平成元年1月8日", date(1989, 1, 8)),
    ("令和６年４月１日", date(2024, 4, 1)),
])
def test_wareki_dates(raw, expected):
    parse = make_date_parser(["wareki_letter", "wareki_digit", "wareki_kanji"])
    assert parse(raw) == expected


@pytest.mark.parametrize("raw,needle", [
    ("R000401", "令和0年"), ("令和0年4月1日", "令和0年"), ("令和6年2月30日", "存在しない"), ("R060230", "存在しない"),
    ("H310501", "期間外"), ("R010430", "開始"), ("6060401", "形式"), ("X060401", "読み取れません"),
    ("昭和64年1月8日", "期間外"),
])
def test_impossible_wareki(raw, needle):
    parse = make_date_parser(["wareki_letter", "wareki_digit", "wareki_kanji"])
    with pytest.raises(ValueError, match=needle):
        parse(raw)


def test_western_dates_and_round_trip():
    parse = make_date_parser(["yyyy-mm-dd", "yyyymmdd"])
    assert parse("2024-02-29") == date(2024, 2, 29) and parse("20240229") == date(2024, 2, 29)
    with pytest.raises(ValueError):
        parse("2023-02-29")
    with pytest.raises(ValueError):
        parse("2024/02/01")
    for day in (date(1926, 12, 25), date(1989, 1, 8), date(2019, 5, 1), date(2024, 4, 1)):
        for style, fmt in (("letter", "wareki_letter"), ("digit", "wareki_digit"), ("kanji", "wareki_kanji")):
            assert make_date_parser([fmt])(to_wareki(day, style=style)) == day


def test_check_digits():
    assert with_check_digit("123456789") == "1234567892"  # 174 mod 11 = 9 → 2
    assert is_valid_atena_no("1234567892") and not is_valid_atena_no("1234567890")
    assert not is_valid_atena_no("１２３") and not is_valid_atena_no("")


def test_relationship_grammar():
    for ok in ("世帯主", "妻", "子", "子の子", "子の妻", "妻の父", "夫(未届)", "縁故者", "同居人"):
        assert is_valid_relationship(ok), ok
    for bad in ("孫", "祖父", "友人", "子の", ""):
        assert not is_valid_relationship(bad), bad


def test_gaiji_csv_and_code_points():
    rows, errors = parse_gaiji_csv("外字コード,UCS,MJ文字図形名,備考\nU+E000,U+20BB7,MJ000000,\n\ue001,葛\U000e0102,,\n"
                                   "U+0041,A,,\nU+E002,U+E003,,\nU+E004,X,MJ12,\nU+E000,吉,,\n".encode())
    assert [(r.local_code, r.ucs) for r in rows] == [("\ue000", "\U00020bb7"), ("\ue001", "葛\U000e0102")]
    assert [(e["line"], e["column"]) for e in errors] == [(4, "外字コード"), (5, "UCS"), (6, "MJ文字図形名"),
                                                           (7, "外字コード")]
    converted, unknown = GaijiConverter({"\ue000": "\U00020bb7"}).convert("\ue000田\ue005")
    assert converted == "\U00020bb7田\ue005" and unknown == ["\ue005"]
    points = code_points("葛\U000e0102\ue000")
    assert [p["label"] for p in points] == ["U+845B U+E0102", "U+E000"]
    assert points[0]["ivs"] and points[1]["pua"]


def test_line_splitting_handles_every_ending_and_chunk_boundaries():
    data = b"a\r\nb\nc\rd\r\n\r\ne"
    for size in (1, 2, 3, 64):
        lines = list(iter_raw_lines(io.BytesIO(data), chunk_size=size))
        assert [(n, t) for n, t, _ in lines] == [(1, b"a"), (2, b"b"), (3, b"c"), (4, b"d"), (5, b""), (6, b"e")]
        assert lines[-1][2] is False and lines[0][2] is True


def test_csv_quoted_newline_and_fixed_cp932():
    layout = SimpleNamespace(columns=[{"label": "a"}, {"label": "b"}], delimiter=",", encoding="utf-8",
                             has_header=True)
    records = list(CsvParser(layout).records(io.BytesIO(b'a,b\n1,"x\ny"\n2,z\n')))
    assert [(r.line, r.values) for r in records] == [(2, ["1", "x\ny"]), (4, ["2", "z"])]
    fixed = SimpleNamespace(columns=[{"field": "a", "label": "a", "start": 1, "length": 4},
                                     {"field": "b", "label": "b", "start": 5, "length": 2}],
                            encoding="cp932", has_header=False, record_length=6)
    data = "山田".encode("cp932") + b"12\r\n" + b"\x8eR" + b"\x93c1234\r\n"
    records = list(FixedParser(fixed).records(io.BytesIO(data)))
    assert records[0].values == ["山田", "12"]
    assert records[1].values is None and "レコード長" in records[1].errors[0]["message"]


def test_atena_check_digits_from_bytes_and_by_column_agree_with_the_reference():
    import random

    from integration.checkdigits import is_valid_atena_digits

    rng = random.Random(7)
    values = [str(rng.randrange(10 ** rng.randint(1, 26))) for _ in range(20_000)]
    values += [with_check_digit(f"{n:014d}") for n in range(0, 10_000_000, 997)]
    for value in values:
        assert is_valid_atena_digits(value) == is_valid_atena_no(value), value
    # a whole column at once: one bad check digit anywhere is found, whatever the lengths
    from integration.checkdigits import all_valid_atena_digits

    for length in range(1, 22):
        column = [with_check_digit(str(rng.randrange(10 ** length)).zfill(length)) for _ in range(300)]
        assert all_valid_atena_digits(column)
        bad = column.copy()
        spot = rng.randrange(len(bad))
        bad[spot] = bad[spot][:-1] + str((int(bad[spot][-1]) + 1 + rng.randrange(9)) % 10)
        assert all_valid_atena_digits(bad) == is_valid_atena_no(bad[spot])
        assert all_valid_atena_digits([*column, "0000000016"[: max(2, length)]]) == all(
            map(is_valid_atena_no, [*column, "0000000016"[: max(2, length)]]))


def _records(parser, data: bytes, start: int = 0) -> list[tuple[int, list[str]]]:  # noqa: ANN001
    return [(r.line, list(r.values)) for r in parser.records(io.BytesIO(data), start_line=start,
                                                              header_pending=False)]


def _fast(parser, data: bytes, start: int = 0, size: int = 2) -> list[tuple[int, list[str]]] | None:  # noqa: ANN001
    from integration.parsers import NotPlain

    batches = parser.fast_batches(data, start, size)
    if batches is None:
        return None
    out = []
    try:
        for lines, rows, columns in batches:
            rows = rows if rows is not None else [list(r) for r in zip(*columns, strict=True)]
            out += [(line, list(row)) for line, row in zip(lines, rows, strict=True)]
    except NotPlain:
        return None
    return out


def test_fast_batches_read_plain_parts_exactly_like_records_and_refuse_the_rest():
    layout = SimpleNamespace(columns=[{"label": "a"}, {"label": "b"}, {"label": "c"}], delimiter=",",
                             encoding="utf-8", has_header=False)
    csv_parser = CsvParser(layout)
    plain = "1,山田 太郎, x \r\n2,髙橋,\r\n3, ,𠮷\n".encode()
    assert _fast(csv_parser, plain, start=40) == _records(csv_parser, plain, start=40)
    assert _fast(csv_parser, plain)[0] == (1, ["1", "山田 太郎", " x "])  # stripping is the builder's job
    for not_plain in (b"1,2,3\n\n4,5,6\n", b"1,2,3\r4,5,6\n", b"1,2\n", b'1,"2",3\n', b"1,2,3",
                      b"1,\xff,3\n", b"\xef\xbb\xbf1,2,3\n", b"1,2,3\n   \n", b"1,2,\x003\n"):
        assert _fast(csv_parser, not_plain) is None, not_plain
    fixed = SimpleNamespace(columns=[{"field": "a", "label": "a", "start": 1, "length": 4},
                                     {"field": "b", "label": "b", "start": 5, "length": 6}],
                            encoding="cp932", has_header=False, record_length=10)
    fixed_parser = FixedParser(fixed)
    data = "0001山田太\r\n0002ｱｲｳ   \r\n0003髙橋  \r\n".encode("cp932")
    assert _fast(fixed_parser, data, start=7) == _records(fixed_parser, data, start=7)
    split_char = b"0001\x8eR\x93c\x91\xbe\n"  # fields cut inside no character: plain
    assert _fast(fixed_parser, split_char) == _records(fixed_parser, split_char)
    for not_plain in (b"0001abc\n", b"          \n", b"0001\x81abcde\n"[:0] + b"000\x81abcdef\n",
                      b"0001abcdef\n\n", b"0001abcdef"):
        assert _fast(fixed_parser, not_plain) is None, not_plain


def test_gaiji_table_names_its_code_system():
    """F040 is the vendor's CP932 外字 code of U+E000: the table must say which code system a bare code is in."""
    sjis, errors = parse_gaiji_csv("外字コード(SJIS),UCS,MJ文字図形名\nF040,U+20BB7,MJ000000\nF041,吉,\n".encode())
    assert not errors and [r.local_code for r in sjis] == ["\ue000", "\ue001"]
    prefixed, errors = parse_gaiji_csv("外字コード,UCS\nSJIS:F040,U+20BB7\nU+E001,吉\n".encode())
    assert not errors and [r.local_code for r in prefixed] == ["\ue000", "\ue001"]
    unicode_rows, errors = parse_gaiji_csv("外字コード（Unicode）,UCS\nE000,U+20BB7\n".encode())
    assert not errors and unicode_rows[0].local_code == "\ue000"
    rows, errors = parse_gaiji_csv("外字コード,UCS\nU+E000,U+20BB7\nF040,吉\n".encode())  # bare: which system?
    assert [(e["line"], e["column"]) for e in errors] == [(3, "外字コード")]
    assert "「F040」はどの文字コードの番号か分かりません" in errors[0]["message"]
    rows, errors = parse_gaiji_csv("外字コード(SJIS),UCS\n889F,亜\n".encode())  # 亜: not the user-defined area
    assert errors[0]["line"] == 2 and "F040〜F9FC" in errors[0]["message"]


def test_gaiji_table_refuses_columns_it_does_not_understand():
    rows, errors = parse_gaiji_csv("外字コード,UCS,読み\nU+E000,U+20BB7,よし\n".encode())
    assert rows == [] and [(e["line"], e["column"]) for e in errors] == [(1, "3列目")]
    assert "見出し「読み」は外字変換表の項目ではありません" in errors[0]["message"]
    rows, errors = parse_gaiji_csv("コード,変換先\nU+E000,U+20BB7\n".encode())
    assert rows == [] and {e["line"] for e in errors} == {1}
    rows, errors = parse_gaiji_csv("UCS,外字コード\nU+20BB7,U+E000\n".encode())  # the code must come first
    assert rows == [] and errors
