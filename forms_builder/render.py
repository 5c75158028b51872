"""Rendering templates to PDF with WeasyPrint (R2.6, R5.6).

A positioned template is a page (size, orientation, optional background image) with fields in mm. Each field
is resolved through the binding sources, fitted into its box (shrunk down to its minimum size, never clipped:
what still does not fit is reported as an overflow), and drawn at its position:

- ``text``: one line, or ``lines`` > 1 wrapped by us (so what we measured is what prints), or ``vertical``
  (縦書き, one glyph under the other);
- ``boxes``: one glyph per 枡目 (個人番号, 郵便番号, dates), ``cells`` of them, filled from the left or right;
- ``circle`` / ``check``: an ellipse around, or a 「レ」 on, the printed option whose ``value`` matches;
- ``signature``: the box the resident signs in (listed, never counted as a blank);
- ``qr``: a QR code of the bound value (the case number);
- ``label`` / ``frame``: text and lines drawn by us on a blank page (our default 様式 have no background);
- ``rows``: ``columns`` repeated over the document's persons, ``rows`` of them, ``row_h`` mm apart.

Names and addresses print in IPAmj明朝 first (``forms_builder.fonts``); the municipality's 外字 (private-use
code points) are mapped through its 外字 table before printing. The renderer fetches nothing: backgrounds and
QR images come from memory through ``_Fetcher``.
"""

from __future__ import annotations

import atexit
import base64
import io
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape
from django.utils.translation import gettext as _

from forms_builder import fonts
from forms_builder import sources as src

# WeasyPrint logs every layout step at INFO; one line per step and page of every form is noise in the JSON log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

PAGE_MM = {"A4": (210, 297), "A3": (297, 420), "B4": (257, 364), "B5": (182, 257)}
FIELD_TYPES = ("text", "boxes", "circle", "check", "signature", "qr", "label", "frame", "rows")
BOUND_TYPES = ("text", "boxes", "circle", "check", "qr")
DEFAULT_SIZE = 10.5
DEFAULT_MIN = 6.0
SINGLE_LINE_FLOOR = 7.0  # a field of several lines shrinks on one line down to this, then wraps
PAD_MM = 0.8


def page_mm(page_size: str, orientation: str) -> tuple[float, float]:
    width, height = PAGE_MM.get(page_size, PAGE_MM["A4"])
    return (height, width) if orientation == "landscape" else (width, height)


# ---------------------------------------------------------------------------------------------
# Validation of a template's fields (bad input names the field)
# ---------------------------------------------------------------------------------------------
def _num(spec: dict, name: str) -> float | None:
    value = spec.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def validate_fields(fields: Any, *, page_size: str = "A4", orientation: str = "portrait") -> list[str]:
    """Every problem of a field list, each naming the field; empty when the template can be published."""
    if not isinstance(fields, list):
        return [_("項目の定義はリストで指定してください。")]
    width, height = page_mm(page_size, orientation)
    problems: list[str] = []
    seen: set[str] = set()

    def check(spec: Any, where: str, *, area: tuple[float, float], in_rows: bool = False) -> None:
        if not isinstance(spec, dict):
            problems.append(_("%(where)s：項目の定義が正しくありません。") % {"where": where})
            return
        key = str(spec.get("key") or "")
        name = f"{where}「{spec.get('label') or key or '?'}」"
        kind = spec.get("type", "text")
        if kind not in FIELD_TYPES or (in_rows and kind == "rows"):
            problems.append(_("%(name)s：種類「%(kind)s」は使えません。") % {"name": name, "kind": kind})
            return
        parts = (
            ("x", "w") if in_rows and kind != "frame" else ("x", "y", "w") if kind == "rows" else ("x", "y", "w", "h")
        )
        for part in parts:
            if _num(spec, part) is None:
                problems.append(_("%(name)s：%(part)s（mm）を数値で指定してください。") % {"name": name, "part": part})
                return
        x, y = _num(spec, "x"), _num(spec, "y") or 0.0
        w, h = _num(spec, "w"), _num(spec, "h") or 1.0
        if w <= 0 or h <= 0:
            problems.append(_("%(name)s：幅と高さは0より大きくしてください。") % {"name": name})
        elif x < 0 or y < 0 or x + w > area[0] + 0.01 or y + h > area[1] + 0.01:
            problems.append(
                _("%(name)s：用紙（%(w)s×%(h)s mm）の外にはみ出しています。")
                % {"name": name, "w": f"{area[0]:g}", "h": f"{area[1]:g}"}
            )
        if kind in BOUND_TYPES:
            binding = str(spec.get("binding") or "")
            if not binding:
                problems.append(_("%(name)s：データの出どころ（binding）を指定してください。") % {"name": name})
            else:
                source_key = src.parse_binding(binding)[0]
                if source_key == "row" and not in_rows:
                    problems.append(_("%(name)s：「row.」は一覧（rows）の中でだけ使えます。") % {"name": name})
                message = src.check_binding(binding)
                if message:
                    problems.append(f"{name}：{message}")
        if kind in ("text", "label"):
            size = spec.get("size", DEFAULT_SIZE)
            minimum = spec.get("min_size", DEFAULT_MIN)
            if not isinstance(size, int | float) or not 4 <= size <= 72:
                problems.append(_("%(name)s：文字の大きさは4〜72ポイントで指定してください。") % {"name": name})
            elif not isinstance(minimum, int | float) or not 4 <= minimum <= size:
                problems.append(
                    _("%(name)s：最小の大きさは4ポイント以上、文字の大きさ以下にしてください。") % {"name": name}
                )
        if kind == "boxes":
            cells = spec.get("cells")
            if not isinstance(cells, int) or not 1 <= cells <= 40:
                problems.append(_("%(name)s：枡目の数（cells）は1〜40で指定してください。") % {"name": name})
        if kind in ("circle", "check"):
            options = spec.get("options")
            if not isinstance(options, list) or not options:
                problems.append(_("%(name)s：選択肢（options）を指定してください。") % {"name": name})
            else:
                for index, option in enumerate(options, start=1):
                    if not isinstance(option, dict) or any(_num(option, p) is None for p in ("x", "y", "w", "h")):
                        problems.append(
                            _("%(name)s：選択肢%(n)dの位置（x, y, w, h）を数値で指定してください。")
                            % {"name": name, "n": index}
                        )
                    elif not in_rows and (
                        option["x"] < 0 or option["y"] < 0 or option["x"] + option["w"] > width + 0.01
                        or option["y"] + option["h"] > height + 0.01
                    ):
                        problems.append(
                            _("%(name)s：選択肢%(n)dが用紙の外にはみ出しています。") % {"name": name, "n": index}
                        )
        if kind == "label" and not str(spec.get("text") or ""):
            problems.append(_("%(name)s：文字を入力してください。") % {"name": name})
        if kind in ("label", "frame") and spec.get("text"):
            missing = fonts.check_text(str(spec.get("text") or ""), stack=spec.get("font", "gothic"))
            if missing:
                problems.append(
                    _("%(name)s：%(chars)s を印字できるフォントがありません。")
                    % {"name": name, "chars": "、".join(fonts.describe(c) for c in missing)}
                )
        if kind == "rows":
            rows, row_h = spec.get("rows"), _num(spec, "row_h")
            if not isinstance(rows, int) or not 1 <= rows <= 30 or row_h is None or row_h <= 0:
                problems.append(
                    _("%(name)s：行数（rows 1〜30）と行の高さ（row_h）を指定してください。") % {"name": name}
                )
                return
            if y + rows * row_h > area[1] + 0.01:
                problems.append(_("%(name)s：行が用紙の外にはみ出しています。") % {"name": name})
            columns = spec.get("columns")
            if not isinstance(columns, list) or not columns:
                problems.append(_("%(name)s：列（columns）を指定してください。") % {"name": name})
                return
            for column in columns:
                check(column, name, area=(w, row_h), in_rows=True)
        if key:
            if key in seen and not in_rows:
                problems.append(_("%(name)s：キー「%(key)s」が重複しています。") % {"name": name, "key": key})
            seen.add(key)

    for index, spec in enumerate(fields, start=1):
        check(spec, _("項目%(n)d") % {"n": index}, area=(width, height))
    return problems


# ---------------------------------------------------------------------------------------------
# Planning one document: values, fitting, blanks
# ---------------------------------------------------------------------------------------------
@dataclass
class FieldResult:
    key: str
    label: str
    value: str
    reason: str = ""
    staff_typed: bool = False
    writer: str = ""  # "resident": the resident writes (signs) it by law
    optional: bool = False
    overflow: bool = False
    missing_glyphs: list[str] = field(default_factory=list)
    row: int | None = None
    size: float = 0.0
    box: tuple[float, float, float, float] = (0, 0, 0, 0)  # x, y, w, h in mm on the page
    binding: str = ""
    page: int = 0  # 0: the form's page; 1…: its 続紙 (continuation sheets)
    choices: list[tuple[str, str]] = field(default_factory=list)  # circle/check: (value, printed label)

    @property
    def blank(self) -> bool:
        """A field left for someone to write by hand (an optional field with nothing to say is not)."""
        return not self.value and not self.optional and self.writer != "resident"


@dataclass
class DocumentPlan:
    template_code: str
    template_name: str
    version_id: int | None
    version_number: int
    person_key: str | None
    person_name: str
    page_size: str
    orientation: str
    background_id: int | None
    html: str = ""
    results: list[FieldResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)  # 宛名番号 (newcomers: case person keys), for the audit
    # Set by ``selectors.case_plans`` for the staff member asking: the business areas the document belongs to
    # and, when they may not issue it, why (a Japanese sentence naming the form and the missing area).
    areas: list[str] = field(default_factory=list)
    refusal: str = ""

    @property
    def blanks(self) -> list[FieldResult]:
        return [r for r in self.results if r.blank]

    @property
    def resident_blanks(self) -> list[FieldResult]:
        """Blanks the resident would have to write (everything but the signature, which is by law)."""
        return self.blanks

    @property
    def signatures(self) -> list[FieldResult]:
        return [r for r in self.results if r.writer == "resident"]

    @property
    def staff_typed(self) -> list[FieldResult]:
        return [r for r in self.results if r.staff_typed and r.value]

    @property
    def overflows(self) -> list[FieldResult]:
        return [r for r in self.results if r.overflow]


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _map_gaiji(text: str, table: dict[str, str]) -> str:
    if not any(0xE000 <= ord(c) <= 0xF8FF or 0xF0000 <= ord(c) for c in text):
        return text
    return "".join(table.get(c, c) for c in text)


def _glyph_html(text: str, stack: str) -> str:
    """The text's HTML. Graphemes IPAmj明朝 draws go to the small font derived from it that holds them
    (``fonts.mj_part``: the common font, or the slice of a rare MJ character or of any IVS sequence), unless the
    stack's first font is another one that draws them as themselves."""
    out = []
    mincho_first = fonts.STACKS[stack][0] == "IPAmjMincho"
    for grapheme in fonts.graphemes(text):
        if fonts.needs_mj(grapheme, stack) or (mincho_first and fonts.family_for(grapheme, stack) == "IPAmjMincho"):
            part = fonts.mj_part(grapheme)
            if part or not mincho_first:
                out.append(f'<span class="mj{part}">{escape(grapheme)}</span>')
                continue
        out.append(escape(grapheme))
    return "".join(out)


def _is_word(word: str) -> bool:
    """A word kept whole on a line: Latin letters (ASCII, Latin-1/Extended, full-width Latin) or kana only (a
    foreign name and its フリガナ: 「GUADALUPE」「グアダルーペ」). Text with kanji breaks between any graphemes."""
    return all(c < "\u0250" or "\uff01" <= c <= "\uff5e" or "\u1e00" <= c <= "\u1eff"
               or "\u3041" <= c <= "\u30ff" or "\uff66" <= c <= "\uff9f" for c in word)


def _wrap(text: str, width_mm: float, size: float, stack: str) -> list[str]:
    """Greedy line breaking by our own measurement. A Latin or kana word is kept whole and lines break at the
    spaces between words (a space at a break is dropped); text with kanji breaks between any two graphemes; a
    word that alone is wider than the line is broken between graphemes."""
    units: list[tuple[str, bool]] = []  # (text, a space before it)
    for index, word in enumerate(text.split(" ")):
        if not word:
            continue
        space = index > 0
        if _is_word(word):
            units.append((word, space))
        else:
            units.extend((g, space and n == 0) for n, g in enumerate(fonts.graphemes(word)))
    lines, current = [], ""

    def fits(candidate: str) -> bool:
        return fonts.text_width_mm(candidate, size, stack=stack) <= width_mm

    for unit, space in units:
        joined = current + (" " if space and current else "") + unit
        if not current or fits(joined):
            if current or fits(unit):
                current = joined
                continue
        if current:
            lines.append(current)
            current = ""
        if fits(unit):
            current = unit
            continue
        for grapheme in fonts.graphemes(unit):  # a word wider than the line
            if current and not fits(current + grapheme):
                lines.append(current)
                current = grapheme
            else:
                current += grapheme
    if current:
        lines.append(current)
    return lines


def _fit_text(text: str, spec: dict, w: float, h: float) -> tuple[float, list[str], bool]:
    """(size, lines, overflow): the largest size from ``size`` down to ``min_size`` in 0.5 pt steps that fits."""
    stack = spec.get("font", "mincho")
    size = float(spec.get("size", DEFAULT_SIZE))
    minimum = float(spec.get("min_size", DEFAULT_MIN))
    max_lines = int(spec.get("lines", 1) or 1)
    inner_w, inner_h = max(w - 2 * PAD_MM, 0.5), max(h - 0.4, 0.5)
    vertical = bool(spec.get("vertical"))
    if max_lines > 1 and not vertical:
        # One line while it stays readable (down to 7 pt or the minimum); only then wrap (a long name).
        floor = max(minimum, min(SINGLE_LINE_FLOOR, size))
        one = size
        while one >= floor - 1e-9:
            if fonts.text_width_mm(text, one, stack=stack) <= inner_w and one * fonts.PT_TO_MM <= inner_h + 0.01:
                return one, [text], False
            one -= 0.5
    while True:
        size_mm = size * fonts.PT_TO_MM
        if vertical:
            count = len(fonts.graphemes(text))
            fits = count * size_mm * 1.02 <= inner_h + 0.01 and size_mm <= inner_w + 0.01
            lines = fonts.graphemes(text)
        elif max_lines == 1:
            fits = fonts.text_width_mm(text, size, stack=stack) <= inner_w and size_mm <= inner_h + 0.01
            lines = [text]
        else:
            lines = _wrap(text, inner_w, size, stack)
            fits = len(lines) <= max_lines and len(lines) * size_mm * 1.15 <= inner_h + 0.01
        if fits:
            return size, lines, False
        if size - 0.5 < minimum - 1e-9:
            return size, lines, True
        size -= 0.5


@dataclass
class _Page:
    parts: list[str] = field(default_factory=list)


def _style(x: float, y: float, w: float, h: float, extra: str = "") -> str:
    return f"left:{x:.2f}mm;top:{y:.2f}mm;width:{w:.2f}mm;height:{h:.2f}mm;{extra}"


FRAME_MM = 0.25  # a frame's line
CELL_MM = 0.2  # a 枡目's line


class _Lines:
    """The ruled lines of a page (frames, 枡目) as one SVG image in mm, drawn where the CSS borders were: a
    border lies inside its box, so a stroke (centred on its path) is inset by half its width. One ``<path>`` per
    line width: WeasyPrint's SVG drawing costs per element, not per segment."""

    def __init__(self) -> None:
        self.paths: dict[float, list[str]] = {}

    def rect(self, x: float, y: float, w: float, h: float, width: float) -> None:
        half = width / 2
        self.paths.setdefault(width, []).append(
            f"M{x + half:.3f} {y + half:.3f}h{max(w - width, 0):.3f}v{max(h - width, 0):.3f}"
            f"h{-max(w - width, 0):.3f}z"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float) -> None:
        self.paths.setdefault(width, []).append(f"M{x1:.3f} {y1:.3f}L{x2:.3f} {y2:.3f}")

    def html(self, width: float, height: float) -> str:
        if not self.paths:
            return ""
        paths = "".join(f'<path stroke-width="{w}" d="{"".join(d)}"/>' for w, d in self.paths.items())
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
               f'viewBox="0 0 {width} {height}"><g fill="none" stroke="#000">{paths}</g></svg>')
        return f'<img class="lines" alt="" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'


class _Planner:
    def __init__(self, ctx: src.BindingContext, plan: DocumentPlan, overrides: dict[str, Any]) -> None:
        self.ctx = ctx
        self.plan = plan
        self.overrides = overrides
        self.parts: list[str] = []
        self.gaiji: dict[str, str] = ctx.extra.get("gaiji", {})
        self.lines = _Lines()
        self.page = 0  # 0: the form's page; n: its n-th 続紙
        self.continued: list[tuple[dict, list[Any], int]] = []  # (rows spec, persons left, first row index)

    def value(self, spec: dict, *, row: Any, row_index: int | None) -> src.Resolved:
        key = str(spec.get("key") or "")
        override_key = f"{key}#{row_index}" if row_index is not None else key
        if override_key in self.overrides:
            return src.Resolved(self.overrides[override_key], staff_typed=True)
        binding = str(spec.get("binding") or "")
        if spec.get("type") == "signature":
            return src.Resolved(None, src.BY_LAW)
        return src.resolve_binding(self.ctx, binding, row=row) if binding else src.Resolved(None, src.NO_DATA)

    def field(
        self,
        spec: dict,
        *,
        dx: float = 0.0,
        dy: float = 0.0,
        row: Any = None,
        row_index: int | None = None,
        row_h: float | None = None,
    ) -> None:
        kind = spec.get("type", "text")
        x, y = float(spec["x"]) + dx, float(spec.get("y", 0) or 0) + dy
        w, h = float(spec["w"]), float(spec.get("h", row_h) or row_h or 5)
        label = str(spec.get("label") or spec.get("key") or "")
        if kind == "label":
            self._label(spec, x, y, w, h)
            return
        if kind == "frame":
            self._frame(spec, x, y, w, h)
            return
        if kind == "rows":
            self._rows(spec, x, y, w)
            return
        resolved = self.value(spec, row=row, row_index=row_index)
        text = _map_gaiji(_text_of(resolved.value), self.gaiji)
        result = FieldResult(
            key=str(spec.get("key") or ""),
            label=label,
            value=text,
            reason="" if text else (resolved.reason or src.NO_DATA),
            staff_typed=resolved.staff_typed,
            writer=str(spec.get("writer") or ""),
            optional=bool(spec.get("optional")),
            row=row_index,
            box=(x, y, w, h),
            binding=str(spec.get("binding") or ""),
            page=self.page,
            choices=[(str(o.get("value")), str(o.get("label") or o.get("value")))
                     for o in spec.get("options") or [] if isinstance(o, dict)] if kind in ("circle", "check") else [],
        )
        if kind == "signature":
            result.writer = "resident"
            self.parts.append(
                f'<div class="frame all sig" style="{_style(x, y, w, h)}">'
                f'<span class="sig-label">{escape(spec.get("text") or "")}</span></div>'
            )
        elif kind == "qr":
            if text:
                self.parts.append(f'<img class="qr" alt="" src="{_qr_uri(text)}" style="{_style(x, y, w, h)}">')
        elif kind in ("circle", "check"):
            self._options(spec, result, text)
        elif kind == "boxes":
            self._boxes(spec, result, text, x, y, w, h)
        else:
            self._text(spec, result, text, x, y, w, h)
        self.plan.results.append(result)

    def _frame(self, spec: dict, x: float, y: float, w: float, h: float) -> None:
        """A frame's lines go to the page's line drawing (one SVG image instead of a box per frame: the boxes
        were a third of a page's layout time); its caption stays text, where the frame's padding box put it."""
        border = spec.get("border", "all")
        inset = FRAME_MM if border == "all" else 0.0
        if border == "all":
            self.lines.rect(x, y, w, h, FRAME_MM)
        elif border == "bottom":
            self.lines.line(x, y + h - FRAME_MM / 2, x + w, y + h - FRAME_MM / 2, FRAME_MM)
        caption = str(spec.get("text") or "")
        if caption:
            center = spec.get("align") == "center"
            self.parts.append(
                f'<div class="cap{" center" if center else ""}" style="left:{x + inset + 0.8:.2f}mm;'
                f'top:{y + inset + (1.2 if center else 0.5):.2f}mm;width:{w - 2 * inset - 1.6:.2f}mm">'
                f"{_glyph_html(caption, 'gothic')}</div>"
            )

    def _label(self, spec: dict, x: float, y: float, w: float, h: float) -> None:
        stack = spec.get("font", "gothic")
        text = str(spec.get("text") or "")
        size, lines, _over = _fit_text(text, {**spec, "font": stack, "lines": spec.get("lines", 3)}, w, h)
        body = "<br>".join(_glyph_html(line, stack) for line in lines)
        align = spec.get("align", "left")
        cls = "lbl" + (" bold" if spec.get("bold") else "") + (" vert" if spec.get("vertical") else "")
        self.parts.append(
            f'<div class="{cls} {stack}" style="{_style(x, y, w, h)}font-size:{size}pt;'
            f'text-align:{escape(align)}">{body}</div>'
        )

    def _check_glyphs(self, result: FieldResult, text: str, stack: str) -> None:
        missing = fonts.check_text(text, stack=stack)
        if missing:
            result.missing_glyphs = missing
            self.plan.problems.append(
                _("「%(label)s」：%(chars)s を印字できるフォントがありません。外字の対応表を確認してください。")
                % {"label": result.label, "chars": "、".join(fonts.describe(c) for c in missing)}
            )

    def _text(self, spec: dict, result: FieldResult, text: str, x: float, y: float, w: float, h: float) -> None:
        stack = spec.get("font", "mincho")
        if not text:
            return
        self._check_glyphs(result, text, stack)
        size, lines, overflow = _fit_text(text, spec, w, h)
        result.size = size
        if overflow:
            result.overflow = True
            self.plan.problems.append(
                _(
                    "「%(label)s」：%(n)d文字が欄に収まりません（最小 %(min)s ポイントでも）。"
                    "短く書き換えるか様式の欄を広げてください。"
                )
                % {"label": result.label, "n": len(fonts.graphemes(text)), "min": spec.get("min_size", DEFAULT_MIN)}
            )
        align = spec.get("align", "left")
        size_mm = size * fonts.PT_TO_MM
        if spec.get("vertical"):
            body = "".join(f'<div class="vl">{_glyph_html(g, stack)}</div>' for g in lines)
            top = y + max((h - len(lines) * size_mm * 1.02) / 2, 0)
            self.parts.append(
                f'<div class="fld vert {stack}{" over" if overflow else ""}" style="'
                f'{_style(x, top, w, h - (top - y))}font-size:{size}pt">{body}</div>'
            )
            return
        line_h = size_mm * (1.15 if len(lines) > 1 else 1.0)
        top = y + max((h - len(lines) * line_h) / 2, 0)
        body = "<br>".join(_glyph_html(line, stack) for line in lines)
        self.parts.append(
            f'<div class="fld {stack}{" over" if overflow else ""}" style="'
            f"{_style(x + PAD_MM, top, w - 2 * PAD_MM, h - (top - y))}font-size:{size}pt;"
            f'line-height:{line_h:.2f}mm;text-align:{escape(align)}">{body}</div>'
        )

    def _boxes(self, spec: dict, result: FieldResult, text: str, x: float, y: float, w: float, h: float) -> None:
        cells = int(spec.get("cells", 1))
        cell_w = w / cells
        if spec.get("draw", True):
            for index in range(cells):
                self.lines.rect(x + index * cell_w, y, cell_w, h, CELL_MM)
        if not text:
            return
        stack = spec.get("font", "mincho")
        self._check_glyphs(result, text, stack)
        glyphs = fonts.graphemes(text)
        if len(glyphs) > cells:
            result.overflow = True
            self.plan.problems.append(
                _("「%(label)s」：%(n)d文字ありますが枡目は%(cells)d個です。")
                % {"label": result.label, "n": len(glyphs), "cells": cells}
            )
            glyphs = glyphs[:cells] if spec.get("align") != "right" else glyphs[-cells:]
        start = cells - len(glyphs) if spec.get("align") == "right" else 0
        size = min(float(spec.get("size", DEFAULT_SIZE)), (min(cell_w, h) - 0.8) / fonts.PT_TO_MM)
        result.size = size
        size_mm = size * fonts.PT_TO_MM
        for index, grapheme in enumerate(glyphs):
            cx = x + (start + index) * cell_w
            self.parts.append(
                f'<div class="fld box {stack}" style="{_style(cx, y + (h - size_mm) / 2, cell_w, size_mm)}'
                f'font-size:{size:.2f}pt;line-height:{size_mm:.2f}mm">{_glyph_html(grapheme, stack)}</div>'
            )

    def _options(self, spec: dict, result: FieldResult, text: str) -> None:
        chosen = None
        for option in spec.get("options") or []:
            if str(option.get("value")) == text:
                chosen = option
        if text and chosen is None:
            result.reason = src.NO_DATA
            self.plan.problems.append(
                _("「%(label)s」：「%(value)s」は印字された選択肢にありません。")
                % {"label": result.label, "value": text}
            )
            result.value = ""
            return
        if chosen is None:
            return
        ox, oy, ow, oh = (float(chosen[p]) for p in ("x", "y", "w", "h"))
        if spec.get("type") == "circle":
            self.parts.append(f'<div class="circle" style="{_style(ox, oy, ow, oh)}"></div>')
        else:
            size = min(oh, ow) / fonts.PT_TO_MM * 0.9
            self.parts.append(
                f'<div class="fld check gothic" style="{_style(ox, oy, ow, oh)}font-size:{size:.1f}pt;'
                f'line-height:{oh:.2f}mm">レ</div>'
            )

    def _row_persons(self, spec: dict) -> list[Any]:
        """The persons of a table: the document's (``exclude: claimant`` leaves the claimant out), or with
        ``rows_of: children`` the children of the document's person (a 児童手当 recipient's 児童)."""
        if spec.get("rows_of") == "children":
            return self.ctx.children_of(self.ctx.person)
        persons = list(self.ctx.doc_persons)
        if spec.get("exclude") == "claimant" and self.ctx.claimant is not None:
            persons = [p for p in persons if p.pk != self.ctx.claimant.pk]
        return persons

    def _rows(self, spec: dict, x: float, y: float, w: float) -> None:
        rows, row_h = int(spec["rows"]), float(spec["row_h"])
        persons = self._row_persons(spec)
        if len(persons) > rows and spec.get("continuation") is not False:
            # The rest go on 続紙: the same table on further pages (``plan_document``).
            self.continued.append((spec, persons[rows:], rows))
        elif len(persons) > rows:
            self.plan.problems.append(
                _(
                    "「%(label)s」：%(n)d人分の行が必要ですが様式には%(rows)d行しかありません。"
                    "続紙を作るか様式の行を増やしてください。"
                )
                % {"label": spec.get("label") or spec.get("key"), "n": len(persons), "rows": rows}
            )
            self.plan.results.append(
                FieldResult(
                    key=str(spec.get("key")),
                    label=str(spec.get("label") or ""),
                    value="",
                    reason=src.OVERFLOW,
                    overflow=True,
                )
            )
        for index, person in enumerate(persons[:rows]):
            for column in spec.get("columns") or []:
                self.field(column, dx=x, dy=y + index * row_h, row=person, row_index=index, row_h=row_h)

    def continuation(self, spec: dict, persons: list[Any], start: int, *, y: float, rows: int) -> None:
        """One 続紙 page's table: the header (the columns' titles) and ``rows`` rows from ``persons``."""
        x, row_h = float(spec["x"]), float(spec["row_h"])
        label = str(spec.get("label") or "")
        for column in spec.get("columns") or []:
            cx, cw = x + float(column["x"]), float(column["w"])
            title = str(column.get("label") or "").removeprefix(f"{label}：") or str(column.get("key") or "")
            self._frame({"text": title, "align": "center"}, cx, y, cw, 5)
            for index in range(rows):
                self._frame({}, cx, y + 5 + index * row_h, cw, row_h)
        for index, person in enumerate(persons[:rows]):
            for column in spec.get("columns") or []:
                self.field(column, dx=x, dy=y + 5 + index * row_h, row=person, row_index=start + index, row_h=row_h)


_QR_CACHE: dict[str, str] = {}


def _qr_uri(text: str) -> str:
    if text not in _QR_CACHE:
        import segno

        if len(_QR_CACHE) > 256:  # case numbers change all day; keep the cache small
            _QR_CACHE.clear()
        _QR_CACHE[text] = segno.make(text, error="m", micro=False).png_data_uri(scale=6, border=0)
    return _QR_CACHE[text]


def plan_document(*, version: Any, ctx: src.BindingContext, overrides: dict[str, Any] | None = None) -> DocumentPlan:
    """Resolve and fit every field of ``version`` for ``ctx``; the HTML of its page is in ``plan.html``."""
    template = version.template
    person = ctx.person if template.scope == "person" else None
    plan = DocumentPlan(
        template_code=template.code,
        template_name=template.name,
        version_id=version.pk,
        version_number=version.number,
        person_key=getattr(person, "key", None),
        person_name=getattr(person, "name", ""),
        page_size=version.page_size,
        orientation=version.orientation,
        background_id=version.background_id,
    )
    planner = _Planner(ctx, plan, overrides or {})
    if version.html:
        plan.html = _flow_html(version, ctx, plan)
        return plan
    for spec in version.fields or []:
        planner.field(spec)
    width, height = page_mm(version.page_size, version.orientation)
    background = f'<img class="bg" alt="" src="bg:{version.background_id}">' if version.background_id else ""
    plan.html = (
        f'<section class="page" style="width:{width}mm;height:{height}mm;page:{version.page_size}_'
        f'{version.orientation}">{background}{planner.lines.html(width, height)}{"".join(planner.parts)}</section>'
    )
    plan.html += _continuation_pages(planner, template, ctx, width, height)
    return plan


CONTINUATION_TOP = 34.0  # mm: where a 続紙's table starts (below its title and case number)


def _continuation_pages(planner: _Planner, template: Any, ctx: src.BindingContext, width: float,
                        height: float) -> str:
    """続紙: the persons a table has no rows for, in the same table (same columns and row height) on further
    blank pages, each headed with the form's title, 「続紙 n/m」 and the case number. The form's page is
    unchanged; row numbers go on from it (a blank filled on screen in row 8 is ``key#7`` wherever it prints)."""
    pages: list[tuple[dict, list[Any], int, int]] = []  # (spec, persons, first index, rows on the page)
    for spec, persons, start in planner.continued:
        per_page = max(1, min(30, int((height - CONTINUATION_TOP - 12 - 5) // float(spec["row_h"]))))
        for offset in range(0, len(persons), per_page):
            chunk = persons[offset:offset + per_page]
            pages.append((spec, chunk, start + offset, len(chunk)))  # only the rows it fills: none to add by hand
    html = []
    label = getattr(ctx.case, "label", "") or ""
    for number, (spec, persons, start, rows) in enumerate(pages, start=1):
        page = _Planner(ctx, planner.plan, planner.overrides)
        page.page = number
        page._label({"text": template.name, "size": 14, "bold": True, "align": "center", "lines": 1},
                    12, 14, 150, 9)
        sheet = _("続紙 %(n)d/%(m)d") % {"n": number, "m": len(pages)}
        page._label({"text": sheet, "size": 10, "align": "right", "lines": 1}, width - 62, 12, 50, 6)
        if label:
            page._label({"text": _("受付番号 %(label)s") % {"label": label}, "size": 8, "align": "right",
                         "lines": 1}, width - 62, 19, 50, 5)
        page._label({"text": str(spec.get("label") or ""), "size": 9, "bold": True, "lines": 1},
                    float(spec["x"]), CONTINUATION_TOP - 6.5, 100, 5.5)
        page.continuation(spec, persons, start, y=CONTINUATION_TOP, rows=rows)
        html.append(
            f'<section class="page cont" style="width:{width}mm;height:{height}mm;'
            f'page:{planner.plan.page_size}_{planner.plan.orientation}">'
            f'{page.lines.html(width, height)}{"".join(page.parts)}</section>'
        )
    return "".join(html)


def _flow_html(version: Any, ctx: src.BindingContext, plan: DocumentPlan) -> str:
    """A flowing document (手続き案内票): a Django template string with ``value`` lookups and the case."""
    from django.template import Context, Engine

    engine = Engine(autoescape=True)
    width, height = page_mm(version.page_size, version.orientation)

    class _Values:
        def __getitem__(self, binding: str) -> str:
            return _map_gaiji(
                _text_of(src.resolve_binding(ctx, binding.replace(":", ".")).value), ctx.extra.get("gaiji", {})
            )

    procedures = ctx.extra.get("procedures", [])
    by_person: dict[str, list] = {}
    for item in procedures:
        by_person.setdefault(item.person.name if item.person else _("世帯"), []).append(item)
    qr = _qr_uri(ctx.case.label) if ctx.case is not None else ""
    body = engine.from_string(version.html).render(
        Context(
            {
                "v": _Values(),
                "case": ctx.case,
                "by_person": by_person,
                "qr": qr,
                "municipality": getattr(ctx.municipality, "name", ""),
                "counter": ctx.counter,
            }
        )
    )
    body = _route_flow(body, gaiji=ctx.extra.get("gaiji", {}), plan=plan)
    return (
        f'<section class="page flow" style="width:{width}mm;min-height:{height}mm;page:{version.page_size}_'
        f'{version.orientation}">{body}</section>'
    )


FLOW_STACK = "gothic"  # ``section.flow``'s font-family in FIELD_CSS: IPAexゴシック, then IPAmj明朝


def _route_flow(body: str, *, gaiji: dict[str, str], plan: DocumentPlan) -> str:
    """The rendered flowing document with every text node sent through the glyph routing of positioned fields
    (``_glyph_html``): 外字 mapped, an IVS sequence or an MJ character the gothic font does not draw as itself
    wrapped in ``<span class="mjN">`` for the derived IPAmj明朝 font that holds it. Markup is copied as it was
    (tags, attributes — the QR's data URI — comments, ``<style>``); text is parsed (entities decoded) and escaped
    again grapheme by grapheme, so the template's autoescaping holds and a value cannot become markup. Characters
    no font draws are listed as problems (issuing is refused), as for positioned fields."""
    from html.parser import HTMLParser

    out: list[str] = []
    missing: list[str] = []

    class _Router(HTMLParser):
        raw: str | None = None  # inside <style>/<script> the text is CSS, not printed

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            out.append(self.get_starttag_text() or "")
            if tag in ("style", "script"):
                self.raw = tag

        def handle_startendtag(self, tag: str, attrs: Any) -> None:
            out.append(self.get_starttag_text() or "")

        def handle_endtag(self, tag: str) -> None:
            out.append(f"</{tag}>")
            if tag == self.raw:
                self.raw = None

        def handle_data(self, data: str) -> None:
            if self.raw:
                out.append(data)
                return
            text = _map_gaiji(data, gaiji)
            missing.extend(c for c in fonts.check_text(text, stack=FLOW_STACK) if c not in missing)
            out.append(_glyph_html(text, FLOW_STACK))

        def handle_comment(self, data: str) -> None:
            out.append(f"<!--{data}-->")

        def handle_decl(self, decl: str) -> None:
            out.append(f"<!{decl}>")

        def handle_pi(self, data: str) -> None:
            out.append(f"<?{data}>")

        def unknown_decl(self, data: str) -> None:
            out.append(f"<![{data}]>")

    router = _Router(convert_charrefs=True)
    router.feed(body)
    router.close()
    if missing:
        plan.problems.append(
            _("本文：%(chars)s を印字できるフォントがありません。外字の対応表を確認してください。")
            % {"chars": "、".join(fonts.describe(c) for c in missing)}
        )
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------------------------
FIELD_CSS = """
body { margin: 0; }
section.page { position: relative; overflow: hidden; break-after: page; margin: 0; }
section.page:last-child { break-after: auto; }
section.flow { overflow: visible; padding: 15mm 18mm; box-sizing: border-box;
  font-family: "IPAexGothic", "MadoguchiMj00", "IPAmjMincho";
  font-size: 10.5pt; line-height: 1.6; }
section.flow h1 { font-size: 16pt; margin: 0 0 4mm; }
section.flow h2 { font-size: 12pt; margin: 5mm 0 2mm; border-bottom: 0.3mm solid #000; }
section.flow table { border-collapse: collapse; width: 100%; }
section.flow th, section.flow td { border: 0.2mm solid #000; padding: 1mm 2mm; text-align: left; vertical-align: top; }
section.flow .qr-flow { width: 25mm; height: 25mm; float: right; }
img.bg, img.lines { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.fld, .lbl, .frame, .circle, img.qr { position: absolute; box-sizing: border-box; }
.fld { white-space: nowrap; overflow: visible; color: #000; }
.lbl { line-height: 1.15; overflow: visible; color: #000; }
.lbl.bold { font-weight: bold; }
.mincho { font-family: "MadoguchiMj00", "IPAmjMincho", "IPAexMincho"; }
.gothic { font-family: "IPAexGothic", "IPAmjMincho"; }
.mj { font-family: "IPAmjMincho"; }
.fld.vert { white-space: normal; }
.fld.vert .vl { text-align: center; line-height: 1.02; }
.fld.box { text-align: center; }
.fld.check { text-align: center; }
.fld.over { outline: 0.4mm dashed #c00; }
.frame.all { border: 0.25mm solid #000; }
.cap { position: absolute; font-family: "IPAexGothic", "IPAmjMincho"; font-size: 6.5pt; line-height: 1;
  white-space: nowrap; }
.cap.center { text-align: center; font-size: 7pt; }
.frame.sig .sig-label { position: absolute; left: 1mm; top: 0.5mm; font-family: "IPAexGothic"; font-size: 6pt; }
img.sig-img { position: absolute; box-sizing: border-box; object-fit: contain; }
.circle { border: 0.3mm solid #000; border-radius: 50%; }
.watermark { position: fixed; left: 10mm; top: 128mm; width: 190mm; height: 40mm; text-align: center;
  font-family: "IPAexGothic"; font-size: 40pt; line-height: 40mm; color: #000; opacity: 0.13;
  transform: rotate(-35deg); white-space: nowrap; z-index: 10; }
"""


def _fetcher(backgrounds: dict[int, bytes]) -> Any:
    """Serves backgrounds (``bg:<id>``) and QR images (``data:``) from memory; refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _Fetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            if url.startswith("bg:"):
                return URLFetcherResponse(url, backgrounds[int(url[3:])], {"Content-Type": "image/png"})
            if url.startswith("data:image/png;base64,"):
                return URLFetcherResponse(url, base64.b64decode(url.split(",", 1)[1]), {"Content-Type": "image/png"})
            if url.startswith("data:image/svg+xml;base64,"):  # our ruled lines (``_Lines``)
                return URLFetcherResponse(url, base64.b64decode(url.split(",", 1)[1]),
                                          {"Content-Type": "image/svg+xml"})
            raise ValueError(_("外部リソースは読み込みません: %(url)s") % {"url": url[:80]})

    return _Fetcher(allowed_protocols=())


def _page_rules() -> str:
    rules = [f"@page {size}_{orientation} {{ size: {size} {orientation}; margin: 0; }}"
             for size in PAGE_MM for orientation in ("portrait", "landscape")]
    return "\n".join(rules) + "\n@page { size: A4 portrait; margin: 0; }"


class _Engine:
    """WeasyPrint's font configuration and our parsed stylesheet, kept per thread and reused across renders.

    A fresh ``FontConfiguration`` per PDF reloads fontconfig and Pango's font map (and their glyph caches) every
    time; reusing it saves about a fifth of a bundle. The stylesheet registers the small fonts derived from
    IPAmj明朝 (``fonts.derived_fonts``) with ``@font-face``, so it is bound to this configuration. Pango's
    font map is not thread-safe, hence one per thread; it is renewed after ``RENEW_AFTER`` renders so its caches
    (one entry per font size used) cannot grow without bound.
    """

    RENEW_AFTER = 500

    def __init__(self) -> None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        self.font_config = FontConfiguration()
        self.renders = 0
        try:
            files = {fonts.derived_family(part): path for part, path in enumerate(fonts.derived_fonts())}
        except Exception:  # the full IPAmj明朝 (the fallback of every derived family) prints everything, slower
            logging.getLogger(__name__).warning("derived fonts unavailable; printing with the full IPAmj明朝",
                                                exc_info=True)
            files = {}
        faces = "".join(f'@font-face {{ font-family: "{family}"; src: url("{_FONT_URL}{family}"); }}\n'
                        for family in files)
        self.stylesheet = CSS(string=faces + _page_rules() + FIELD_CSS + _derived_css(), font_config=self.font_config,
                              url_fetcher=_font_fetcher(files))


def _derived_css() -> str:
    """``.mj<part>``: a grapheme in the derived font ``part``, the full IPAmj明朝 behind it."""
    return "".join(f'.mj{part} {{ font-family: "{fonts.derived_family(part)}", "IPAmjMincho"; }}\n'
                   for part in range(fonts.derived_count()))


_FONT_URL = "madoguchi-font:"
_ENGINES = threading.local()
# Drop the engine before the interpreter tears modules down (FontConfiguration.__del__ removes its folder).
atexit.register(lambda: _ENGINES.__dict__.clear())


def _font_fetcher(files: dict[str, Any]) -> Any:
    """Serves the derived fonts to the stylesheet's ``@font-face`` rules from disk; refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _Fetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            family = url.removeprefix(_FONT_URL)
            if url.startswith(_FONT_URL) and family in files:
                return URLFetcherResponse(url, files[family].read_bytes(), {"Content-Type": "font/ttf"})
            raise ValueError(_("外部リソースは読み込みません: %(url)s") % {"url": url[:80]})

    return _Fetcher(allowed_protocols=())


def _engine() -> _Engine:
    engine = getattr(_ENGINES, "engine", None)
    if engine is None or engine.renders >= _Engine.RENEW_AFTER:
        engine = _ENGINES.engine = _Engine()
    engine.renders += 1
    return engine


def _stylesheet() -> Any:
    """The page rules and field styles, parsed once per thread (not on every render)."""
    return _engine().stylesheet


def embed_signature(plans: list[DocumentPlan], png: bytes) -> None:
    """Put the resident's signature image (PNG, from the tablet) into every signature box of ``plans``."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    for plan in plans:
        boxes = [r.box for r in plan.signatures if r.box[2] > 0 and r.box[3] > 0]
        end = plan.html.find("</section>")  # the form's page (its 続紙 follow it)
        if not boxes or end < 0:
            continue
        images = "".join(
            f'<img class="sig-img" alt="" src="{uri}" '
            f'style="{_style(x + 0.5, y + min(2.5, h / 4), w - 1, h - min(3.0, h / 3))}">'
            for x, y, w, h in boxes)
        plan.html = plan.html[:end] + images + plan.html[end:]


PREVIEW_MARK = "プレビュー（提出不可）"


def html_document(plans: list[DocumentPlan], *, watermark: str = "") -> str:
    pages = "".join(p.html for p in plans)
    # A fixed element is drawn on every page by WeasyPrint (flowing documents of several pages included).
    mark = f'<div class="watermark">{escape(watermark)}</div>' if watermark else ""
    return f'<!doctype html><html lang="ja"><head><meta charset="utf-8"></head><body>{mark}{pages}</body></html>'


def render_pdf(plans: list[DocumentPlan], *, backgrounds: dict[int, bytes] | None = None,
               watermark: str = "") -> tuple[bytes, int]:
    """One PDF of every plan's pages (a bundle when several); returns (bytes, page count). ``watermark``
    (the on-screen preview: ``PREVIEW_MARK``) is printed diagonally, light, across every page."""
    from weasyprint import HTML

    engine = _engine()
    document = HTML(string=html_document(plans, watermark=watermark),
                    url_fetcher=_fetcher(backgrounds or {})).render(
        stylesheets=[engine.stylesheet], font_config=engine.font_config)
    buffer = io.BytesIO()
    document.write_pdf(target=buffer)
    return buffer.getvalue(), len(document.pages)
