"""Render export records into bytes following a :class:`LayoutSpec` (pure functions, no database).

- Every problem (an impossible date, a character the encoding cannot hold, a value wider than its
  fixed-width column) is collected with the record and item it belongs to, and nothing is produced:
  :class:`ExportRenderError` lists them all. With ``unencodable="replace"`` a character that cannot be
  encoded becomes the layout's replacement character and is reported as a warning instead.
- CSV cells that a spreadsheet would run as a formula (``= + - @``, tab, CR first) get a leading ``'``.
- A row with ``masked`` (a household under a support measure, handed to a person without 「支援措置の閲覧」)
  carries ``MASK_TEXT`` in every item its kind declares ``address=True`` (clipped to a fixed-width column, whose
  other masked bytes are the pad), and ``1`` in a ``_masked`` column where the layout has one.
- A correction row (``corrects_id``) is refused by a layout that lacks the ``_correction`` and ``_corrects_id``
  columns: the core system would otherwise take it for a second new record.
- CP932: characters that JIS X 0208 has under another Unicode mapping (WAVE DASH 〜, MINUS SIGN −, …)
  are mapped to the CP932 code point of the same character before encoding (no information lost).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from integration.exports import registry
from integration.exports.layouts import ENCODINGS, LINE_ENDING_CHARS, Column, LayoutSpec
from integration.exports.wareki import WarekiError, format_date

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A layout that carries corrections must declare both (a correction row is refused by a layout without them).
CORRECTION_ITEMS = frozenset({"_correction", "_corrects_id"})
# Written into a file in place of a protected address: data (the core system's operators read it), not UI text.
MASK_TEXT = "（支援措置対象のため非表示）"
# Same JIS X 0208 character, different Unicode mapping (JIS vs Microsoft): map to the CP932 side.
CP932_EQUIVALENTS = str.maketrans({
    "\u301c": "\uff5e",  # WAVE DASH -> FULLWIDTH TILDE
    "\u2016": "\u2225",  # DOUBLE VERTICAL LINE -> PARALLEL TO
    "\u2212": "\uff0d",  # MINUS SIGN -> FULLWIDTH HYPHEN-MINUS
    "\u00a2": "\uffe0",  # CENT SIGN
    "\u00a3": "\uffe1",  # POUND SIGN
    "\u00ac": "\uffe2",  # NOT SIGN
    "\u2014": "\u2015",  # EM DASH -> HORIZONTAL BAR
})


@dataclass(frozen=True)
class RenderRow:
    id: int
    kind: str
    created_at: datetime
    source: str
    source_id: str
    payload: dict
    masked: bool = False  # address items are replaced by MASK_TEXT
    corrects_id: int | None = None  # a correction (訂正) of this record id


@dataclass(frozen=True)
class Problem:
    record_id: int | None
    item: str
    message: str

    def __str__(self) -> str:
        if self.record_id is None:
            return _("見出し「%(item)s」: %(message)s") % {"item": self.item, "message": self.message}
        return _("受付連番 %(id)s の項目「%(item)s」: %(message)s") % {
            "id": self.record_id, "item": self.item, "message": self.message}


class ExportRenderError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @property
    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass
class Rendered:
    content: bytes
    count: int
    warnings: list[str] = field(default_factory=list)
    masked: int = 0  # rows whose address items carry MASK_TEXT

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def neutralise(value: str) -> str:
    """Prefix ``'`` to a CSV cell that a spreadsheet would otherwise evaluate (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def spreadsheet_csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """A CSV for people to open in spreadsheet software: UTF-8 with BOM, CRLF, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(cell)) for cell in header])
    writer.writerows([neutralise(str(cell)) for cell in row] for row in rows)
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _codec(spec: LayoutSpec) -> str:
    return "utf-8" if spec.encoding == "utf-8-sig" else spec.encoding


@lru_cache(maxsize=8192)
def _format_iso(text: str, style: str) -> str:
    return format_date(date.fromisoformat(text), style)


def _cell_text(row: RenderRow, column: Column, is_date: bool, spec: LayoutSpec, municipality_code: str,
               problems: list[Problem], label: str, is_address: bool = False) -> str:
    item = column.item
    if row.masked and is_address:
        return MASK_TEXT
    if item == "_masked":
        return "1" if row.masked else "0"
    if item == "_correction":
        return "1" if row.corrects_id else "0"
    if item == "_corrects_id":
        return str(row.corrects_id or "")
    if item == "_id":
        return str(row.id)
    if item == "_kind":
        return row.kind
    if item == "_source":
        return row.source
    if item == "_source_id":
        return row.source_id
    if item == "_municipality_code":
        return municipality_code
    if item in ("_received_at", "_received_date"):
        local = timezone.localtime(row.created_at)
        text = format_date(local.date(), spec.date_style) if item == "_received_date" else local.strftime(
            "%Y%m%d%H%M%S" if spec.date_style == "yyyymmdd" else "%Y-%m-%d %H:%M:%S")
        return text
    value = row.payload.get(item)
    if value is None:
        return ""
    text = str(value)
    if is_date and text:
        try:
            text = _format_iso(text, spec.date_style)
        except WarekiError as exc:
            problems.append(Problem(row.id, label, str(exc)))
            return ""
        except ValueError:
            problems.append(Problem(row.id, label, _("日付「%(value)s」が正しくありません。") % {"value": text}))
            return ""
    if column.map:
        text = column.map.get(text, text)
    return text


def _encodable(text: str, spec: LayoutSpec, record_id: int | None, label: str, problems: list[Problem],
               warnings: list[str], codec: str) -> str:
    if text.isascii():
        return text
    if codec == "cp932":
        text = text.translate(CP932_EQUIVALENTS)
    try:
        text.encode(codec)
        return text
    except UnicodeEncodeError:
        pass
    bad: list[str] = []
    out = []
    for char in text:
        try:
            char.encode(codec)
            out.append(char)
        except UnicodeEncodeError:
            bad.append(char)
            out.append(spec.replacement)
    shown = pgettext("separator", "、").join(_("「%(char)s」（%(code)s）") % {"char": c, "code": f"U+{ord(c):04X}"}
                                            for c in dict.fromkeys(bad))
    problem = Problem(record_id, label, _("文字 %(chars)s は %(enc)s で表せません。")
                      % {"chars": shown, "enc": ENCODINGS[spec.encoding]})
    if spec.unencodable == "replace":
        warnings.append(str(problem) + _("「%(r)s」に置き換えました。") % {"r": spec.replacement})
        return "".join(out)
    problems.append(problem)
    return text


def render(rows: Iterable[RenderRow], spec: LayoutSpec, *, municipality_code: str = "") -> Rendered:
    """Render rows into the bytes of one file; raises ExportRenderError listing every problem."""
    kind = registry.get(spec.kind)
    labels = [kind.label_for(c.item) if kind else c.item for c in spec.columns]
    dates = [bool(kind and kind.item(c.item) and kind.item(c.item).type == "date") for c in spec.columns]
    # A kind unknown here masks nothing it cannot name: services refuse unknown kinds before rendering.
    addresses = [bool(kind and c.item in kind.address_items) for c in spec.columns]
    codec = _codec(spec)
    is_csv = spec.format == "csv"
    plan = list(zip(spec.columns, labels, dates, addresses, strict=True))
    problems: list[Problem] = []
    warnings: list[str] = []
    lines: list[list[str]] = []
    masked_rows: set[int] = set()
    count = 0
    declared = {c.item for c in spec.columns}
    for row in rows:
        count += 1
        if row.corrects_id and not CORRECTION_ITEMS <= declared:
            # Without these columns the core system would take a correction for a second new record.
            problems.append(Problem(row.id, registry.META_LABELS["_correction"], _(
                "訂正の記録ですが、このレイアウトに「訂正区分」と「訂正元受付連番」の列がありません。"
                "レイアウトに2つの列を加えてください。")))
        cells = []
        if row.masked:
            masked_rows.add(row.id)
        for column, label, is_date, is_address in plan:
            text = _cell_text(row, column, is_date, spec, municipality_code, problems, label, is_address)
            if is_csv:
                text = neutralise(text)
            cells.append(_encodable(text, spec, row.id, label, problems, warnings, codec))
        lines.append([str(row.id), *cells])
    newline = LINE_ENDING_CHARS[spec.line_ending]
    if spec.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline,
                            quoting=csv.QUOTE_ALL if spec.quoting == "all" else csv.QUOTE_MINIMAL)
        if spec.header:
            writer.writerow([_encodable(neutralise(c.header), spec, None, c.header, problems, warnings, codec)
                             for c in spec.columns])
        for line in lines:
            writer.writerow(line[1:])
        if problems:
            raise ExportRenderError(problems)
        return Rendered(content=buffer.getvalue().encode(spec.encoding), count=count, warnings=warnings,
                        masked=len(masked_rows))
    out = io.BytesIO()
    if spec.encoding == "utf-8-sig":
        out.write("\ufeff".encode())
    for line in lines:
        record_id = int(line[0])
        for column, label, text, is_address in zip(spec.columns, labels, line[1:], addresses, strict=True):
            if "\n" in text or "\r" in text or "\t" in text:
                problems.append(Problem(record_id, label, _("固定長の値に改行・タブは含められません。")))
                continue
            width = column.width or 0
            if is_address and record_id in masked_rows:
                text = _clip(text, width, codec)
            data = text.encode(codec, errors="replace")
            if len(data) > width:
                # The value itself is not repeated: messages reach screens, schedules and logs.
                message = _("値が %(n)d バイトあり、桁数 %(w)d バイトを超えます。")
                problems.append(Problem(record_id, label, message % {"n": len(data), "w": width}))
                continue
            filler = column.pad.encode(codec) * (width - len(data))
            out.write(data + filler if column.align == "left" else filler + data)
        out.write(newline.encode(codec))
    if problems:
        raise ExportRenderError(problems)
    return Rendered(content=out.getvalue(), count=count, warnings=warnings, masked=len(masked_rows))


def _clip(text: str, width: int, codec: str) -> str:
    """The longest head of ``text`` that fits ``width`` bytes (a mask never makes a fixed-width file fail)."""
    out = ""
    for char in text:
        if len((out + char).encode(codec, errors="replace")) > width:
            break
        out += char
    return out
