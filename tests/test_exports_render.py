"""Rendering of export files (pure functions): CSV/fixed, encodings, 和暦, CSV injection, line endings."""

import csv
import io
from datetime import UTC, date, datetime

import pytest

from integration.exports import registry
from integration.exports.layouts import LayoutError, builtin_layouts, default_spec, spec_from_dict
from integration.exports.render import ExportRenderError, RenderRow, neutralise, render
from integration.exports.wareki import WarekiError, format_date

RECEIVED = datetime(2024, 4, 1, 0, 30, tzinfo=UTC)  # 09:30 in Japan


def row(record_id=1, **payload):
    base = {"idou_jiyu": "tennyu", "idou_date": "2024-03-30", "todokede_date": "2024-04-01", "name": "窓口 太郎",
            "name_kana": "マドグチ タロウ", "birth_date": "1990-05-01", "sex": "1"}
    base.update(payload)
    return RenderRow(id=record_id, kind="juki_idou", created_at=RECEIVED, source="navigation", source_id="C-1",
                     payload={k: v for k, v in base.items() if v is not None})


def layout(**overrides):
    data = {"kind": "juki_idou", "code": "t", "name": "テスト", "format": "csv", "encoding": "utf-8",
            "header": True, "line_ending": "crlf", "date_style": "yyyymmdd",
            "columns": [{"item": "_id"}, {"item": "name"}, {"item": "idou_date"}, {"item": "sex"}]}
    data.update(overrides)
    return spec_from_dict(data)


def test_default_csv_has_japanese_headers_crlf_and_seireki_dates():
    spec = default_spec(registry.get("juki_idou"))
    out = render([row(1), row(2, name="窓口 花子")], spec, municipality_code="462012")
    text = out.content.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0].startswith("受付連番,受付日,受付元番号,異動事由,異動日,届出日,宛名番号,世帯番号,"
                               "氏名,フリガナ,生年月日,性別")
    assert lines[1].startswith("1,20240401,C-1,tennyu,20240330,20240401,,,窓口 太郎,マドグチ タロウ,19900501,1")
    assert "窓口 花子" in lines[2]
    assert lines[-1] == "" and "\n" not in text.replace("\r\n", "")
    assert out.count == 2 and len(out.sha256) == 64


def test_lf_line_ending_and_no_header():
    out = render([row(1), row(2)], layout(line_ending="lf", header=False))
    assert out.content == "1,窓口 太郎,20240330,1\n2,窓口 太郎,20240330,1\n".encode()


def test_utf8_sig_starts_with_bom():
    out = render([row(1)], layout(encoding="utf-8-sig"))
    assert out.content.startswith(b"\xef\xbb\xbf\xe5\x8f\x97")  # BOM + 受


def test_cp932_encodes_shift_jis_and_maps_wave_dash():
    out = render([row(1, name="髙橋 ①〜")], layout(encoding="cp932"))
    assert "髙橋 ①～".encode("cp932") in out.content
    assert out.content.decode("cp932").startswith("受付連番,氏名")


def test_cp932_unencodable_character_is_an_error_naming_record_and_item():
    with pytest.raises(ExportRenderError) as info:
        render([row(7, name="𠮷田 太郎"), row(8, name="葛\U000e0100城")], layout(encoding="cp932"))
    messages = info.value.messages
    assert len(messages) == 2
    assert "受付連番 7" in messages[0] and "「氏名」" in messages[0] and "U+20BB7" in messages[0]
    assert "Shift_JIS" in messages[0]
    assert "受付連番 8" in messages[1] and "U+E0100" in messages[1]


def test_cp932_replace_policy_substitutes_and_reports():
    out = render([row(7, name="𠮷田 太郎")], layout(encoding="cp932", unencodable="replace", replacement="〓"))
    assert "〓田 太郎".encode("cp932") in out.content
    assert len(out.warnings) == 1 and "受付連番 7" in out.warnings[0] and "置き換えました" in out.warnings[0]


@pytest.mark.parametrize(
    ("style", "value", "expected"),
    [
        ("yyyymmdd", date(2024, 4, 1), "20240401"),
        ("yyyy/mm/dd", date(2024, 4, 1), "2024/04/01"),
        ("wareki_letter", date(2024, 4, 1), "R060401"),
        ("wareki_digit", date(2024, 4, 1), "5060401"),
        ("wareki_kanji", date(2024, 4, 1), "令和6年4月1日"),
        ("wareki_kanji", date(2019, 5, 1), "令和元年5月1日"),
        ("wareki_letter", date(2019, 4, 30), "H310430"),
        ("wareki_letter", date(1989, 1, 7), "S640107"),
        ("wareki_letter", date(1989, 1, 8), "H010108"),
        ("wareki_digit", date(1926, 12, 24), "2151224"),
        ("wareki_letter", date(1912, 7, 29), "M450729"),
    ],
)
def test_wareki_and_seireki_formats(style, value, expected):
    assert format_date(value, style) == expected


def test_date_before_meiji_is_reported():
    with pytest.raises(WarekiError):
        format_date(date(1850, 1, 1), "wareki_letter")
    with pytest.raises(ExportRenderError) as info:
        render([row(3, idou_date="1850-01-01")], layout(date_style="wareki_kanji"))
    assert "受付連番 3" in info.value.messages[0] and "異動日" in info.value.messages[0]


def test_wareki_dates_in_csv():
    out = render([row(1)], layout(date_style="wareki_kanji", header=False))
    assert out.content.decode() == "1,窓口 太郎,令和6年3月30日,1\r\n"


@pytest.mark.parametrize("value", ["=1+1", "+81-3", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_neutralise_formula_prefixes(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["窓口 太郎", "1-2-3", "", "a=b", "'quoted"])
def test_neutralise_leaves_ordinary_values(value):
    assert neutralise(value) == value


def test_injection_is_neutralised_in_rendered_csv():
    spec = layout(columns=[{"item": "name"}, {"item": "new_katagaki"}, {"item": "relationship"},
                           {"item": "head_name"}, {"item": "notifier_name"}], header=False)
    out = render([row(1, name="=HYPERLINK(\"http://x\")", new_katagaki="+1", relationship="-子",
                      head_name="@cmd", notifier_name="\t=1")], spec)
    cells = next(csv.reader(io.StringIO(out.content.decode())))
    assert cells == ["'=HYPERLINK(\"http://x\")", "'+1", "'-子", "'@cmd", "'\t=1"]


def test_header_labels_are_neutralised_too():
    spec = layout(columns=[{"item": "name", "header": "=氏名"}])
    assert render([row(1)], spec).content.decode().startswith("'=氏名\r\n")


def test_value_map_translates_codes():
    spec = layout(columns=[{"item": "idou_jiyu", "map": {"tennyu": "11"}}, {"item": "sex", "map": {"1": "男"}}],
                  header=False)
    assert render([row(1)], spec).content.decode() == "11,男\r\n"


def test_fixed_width_cp932_counts_bytes_and_pads():
    spec = spec_from_dict({
        "kind": "juki_idou", "code": "fx", "name": "固定長", "format": "fixed", "encoding": "cp932",
        "header": False, "line_ending": "crlf", "date_style": "wareki_letter",
        "columns": [{"item": "_id", "width": 6, "align": "right", "pad": "0"}, {"item": "name", "width": 12},
                    {"item": "idou_date", "width": 7}, {"item": "sex", "width": 1}],
    })
    out = render([row(42, name="窓口 太郎")], spec)
    expected = b"000042" + "窓口 太郎".encode("cp932") + b"   " + b"R060330" + b"1" + b"\r\n"
    assert out.content == expected
    assert len(out.content) == 6 + 12 + 7 + 1 + 2


def test_fixed_width_overflow_and_newline_are_reported():
    spec = spec_from_dict({
        "kind": "juki_idou", "code": "fx", "name": "固定長", "format": "fixed", "encoding": "cp932",
        "header": False, "columns": [{"item": "name", "width": 4}, {"item": "new_katagaki", "width": 10}],
    })
    with pytest.raises(ExportRenderError) as info:
        render([row(5, name="窓口太郎", new_katagaki="A\nB")], spec)
    text = "\n".join(info.value.messages)
    assert "受付連番 5" in text and "8 バイト" in text and "4 バイト" in text
    assert "改行" in text


def test_shipped_legacy_fixed_layout_renders_at_fixed_length():
    spec = next(s for s in builtin_layouts(registry.get("juki_idou")) if s.format == "fixed")
    out = render([row(1), row(2, name="長い名前の住民")], spec)
    lines = out.content.split(b"\r\n")[:-1]
    width = sum(c.width for c in spec.columns)
    assert [len(line) for line in lines] == [width, width]
    assert lines[0][10:12] == b"11" and b"R060330" in lines[0]


def test_layout_validation_reports_every_problem():
    with pytest.raises(LayoutError) as info:
        spec_from_dict({"kind": "juki_idou", "code": "Bad Code", "name": "", "format": "fixed", "encoding": "sjis",
                        "header": True, "date_style": "showa",
                        "columns": [{"item": "unknown"}, {"item": "name", "width": 0}]})
    text = "\n".join(info.value.errors)
    for fragment in ("code:", "name:", "encoding:", "date_style:", "header:", "columns[0].item", "columns[0].width",
                     "columns[1].width"):
        assert fragment in text


def test_layout_json_round_trip():
    for kind in registry.registered():
        for spec in builtin_layouts(kind):
            again = spec_from_dict(spec.to_dict(), builtin=True)
            assert again == spec


def test_payload_validation_names_each_item():
    kind = registry.get("juki_idou")
    errors = kind.validate_payload({"idou_jiyu": "xx", "idou_date": "2024-02-30", "unknown": "1", "sex": 1})
    text = "\n".join(errors)
    assert "「unknown」" in text and "異動事由" in text and "異動日" in text and "「届出日」" in text
    assert "「氏名」" in text and "性別" in text
