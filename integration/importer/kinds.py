"""Record kinds: a header and a trailer record around the data records, and the file-level checks they carry.

Core systems frame their files like this: a header record (全国地方公共団体コード, file kind 全件/差分,
基準日, creation date), the data records, a trailer record (record count), each marked by a record-type
column (``1`` header, ``2`` data, ``9`` trailer) or by its position (first and last line). A layout declares
this in ``LinkageLayout.records`` (data, see docs/integration.md “Record kinds”)::

    {"type": {"start": 1, "length": 1}},          # fixed width (bytes); CSV: {"column": 1}
     "header": {"code": "1", "required": true, "columns": [...]},
     "data": {"code": "2"},
     "trailer": {"code": "9", "required": true, "columns": [...]},
     "file_kinds": {"1": "full", "2": "delta"},
     "checks": ["municipality_code", "record_count", "file_kind", "reference_date"]}

A header or trailer without ``code`` is recognised by position (``"position": "first"`` / ``"last"``).

The header and the trailer are read first (``read_frame``: the first and the last non-blank line of the
file); the data records in between are handed to the usual pipeline as a ``Region`` of the stream, so the
one-process path, the parallel workers and the fast batch paths read data records exactly as before.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from integration.dates import make_date_parser
from integration.parsers import BOM, FileRejected, max_line_bytes, record_line, too_long_message

KIND_LABELS = {"header": _lazy("ヘッダ"), "data": _lazy("データ"), "trailer": _lazy("トレーラ")}
FILE_KIND_LABELS = {"full": _lazy("全件"), "delta": _lazy("差分")}
# Fields a header or trailer column may carry (a data record's columns are the target's fields).
FRAME_FIELDS = {
    "header": {"record_type": _lazy("レコード区分"), "municipality_code": _lazy("全国地方公共団体コード"),
               "file_kind": _lazy("ファイル区分"), "reference_date": _lazy("基準日"),
               "created_on": _lazy("作成日"), "ignore": _lazy("（未使用）")},
    "trailer": {"record_type": _lazy("レコード区分"), "record_count": _lazy("件数"), "ignore": _lazy("（未使用）")},
}
# The check → the field it needs (in the header or the trailer).
CHECKS = {"municipality_code": ("header", "municipality_code"), "record_count": ("trailer", "record_count"),
          "file_kind": ("header", "file_kind"), "reference_date": ("header", "reference_date")}
HEAD_BYTES = 1 << 16  # a header or trailer line is looked for within this many bytes of either end
BLANK = b" \t\r\n\x1a"  # around the last line: spaces, line breaks, the DOS end-of-file mark
PAD = " \u3000"  # padding around a header or trailer value (half- and full-width spaces)


def records_problems(layout: object) -> list[str]:
    """What is wrong with a layout's record kinds (empty list = usable, or none declared)."""
    spec = getattr(layout, "records", None) or {}
    if not spec:
        return []
    if not isinstance(spec, dict):
        return [_("レコード種別の定義はJSONのオブジェクトで指定してください")]
    problems: list[str] = []
    unknown = sorted(set(spec) - {"type", "header", "data", "trailer", "file_kinds", "checks"})
    if unknown:
        problems.append(_("レコード種別の定義に未知の設定があります: %(names)s") % {"names": ", ".join(unknown)})
    fixed = layout.format == "fixed"
    by_code = any(isinstance(spec.get(kind), dict) and spec[kind].get("code") not in (None, "")
                  for kind in ("header", "data", "trailer"))
    type_spec = spec.get("type") or {}
    if by_code:
        if fixed and not (_int(type_spec.get("start")) >= 1 and _int(type_spec.get("length")) >= 1):
            problems.append(_("レコード区分の位置（開始位置と長さ、バイト）を指定してください"))
        if not fixed and _int(type_spec.get("column")) < 1:
            problems.append(_("レコード区分の列番号（1から）を指定してください"))
        data_code = str((spec.get("data") or {}).get("code") or "")
        if not data_code:
            problems.append(_("データレコードのレコード区分コードを指定してください"))
        if not any(c.get("field") == "record_type" for c in layout.columns or []):
            problems.append(_("データレコードの項目に「レコード区分」（record_type）がありません"))
    codes: list[str] = []
    for kind in ("header", "trailer"):
        kind_spec = spec.get(kind)
        if kind_spec is None:
            continue
        label = str(KIND_LABELS[kind])
        if not isinstance(kind_spec, dict):
            problems.append(_("%(kind)sの定義が正しくありません") % {"kind": label})
            continue
        code, position = kind_spec.get("code"), kind_spec.get("position")
        want = "first" if kind == "header" else "last"
        if code in (None, "") and position != want:
            problems.append(_("%(kind)sのレコード区分コード、または位置（%(position)s）を指定してください")
                            % {"kind": label, "position": want})
        if code not in (None, ""):
            codes.append(str(code))
        allowed = FRAME_FIELDS[kind]
        for index, column in enumerate(kind_spec.get("columns") or [], start=1):
            name = column.get("field", "")
            if name not in allowed:
                problems.append(_("%(kind)sの%(index)s列目: 項目「%(name)s」は使用できません（%(allowed)s）")
                                % {"kind": label, "index": index, "name": name, "allowed": ", ".join(allowed)})
            if fixed and not (_int(column.get("start")) >= 1 and _int(column.get("length")) >= 1):
                problems.append(_("%(kind)sの%(index)s列目: 固定長の開始位置と長さを指定してください")
                                % {"kind": label, "index": index})
    if spec.get("data") and str(spec["data"].get("code") or "") in codes:
        problems.append(_("データレコードのレコード区分コードがヘッダ・トレーラと同じです"))
    if len(set(codes)) != len(codes):
        problems.append(_("ヘッダとトレーラのレコード区分コードが同じです"))
    file_kinds = spec.get("file_kinds") or {}
    if any(v not in FILE_KIND_LABELS for v in file_kinds.values()):
        problems.append(_("ファイル区分コードの値は full / delta のいずれかにしてください"))
    for check in spec.get("checks") or []:
        if check not in CHECKS:
            problems.append(_("ファイル検査「%(check)s」は使用できません（%(allowed)s）")
                            % {"check": check, "allowed": ", ".join(CHECKS)})
            continue
        kind, name = CHECKS[check]
        if not any(c.get("field") == name for c in (spec.get(kind) or {}).get("columns") or []):
            problems.append(_("ファイル検査「%(check)s」には%(kind)sの項目「%(field)s」が必要です")
                            % {"check": check, "kind": KIND_LABELS[kind], "field": FRAME_FIELDS[kind][name]})
    if "file_kind" in (spec.get("checks") or []):
        if not file_kinds:
            problems.append(_("ファイル区分コード（全件・差分）を指定してください"))
        if not any(c.get("field") == "op" for c in layout.columns or []):
            problems.append(_("ヘッダでファイル区分を判定するには、データレコードに「処理区分」の項目が必要です"))
        if not layout.op_codes:
            problems.append(_("差分ファイルの処理区分コード（追加・変更・削除）を指定してください"))
    if spec.get("header") and layout.has_header:
        problems.append(_("ヘッダレコードを定義したレイアウトでは「見出し行あり」を外してください"))
    return problems


def _int(value: object) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass
class Frame:
    """What the header and the trailer said, and where the data records are."""

    start: int = 0  # byte offset of the first data line
    end: int | None = None  # byte offset after the last data line (None: end of file)
    start_line: int = 0  # lines before the data records
    header: dict[str, str] = field(default_factory=dict)
    header_line: int = 0
    trailer: dict[str, str] = field(default_factory=dict)
    has_trailer: bool = False
    file_kind: str | None = None
    reference_date: date | None = None
    record_count: int | None = None


class Region:
    """A byte range of a seekable stream, read like a stream of its own (offsets relative to its start)."""

    def __init__(self, stream: BinaryIO, start: int, end: int) -> None:
        self.stream, self.start, self.size, self.pos = stream, start, end - start, 0
        stream.seek(start)

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, min(self.size, base + offset))
        self.stream.seek(self.start + self.pos)
        return self.pos

    def read(self, size: int = -1) -> bytes:
        left = self.size - self.pos
        if size is None or size < 0 or size > left:
            size = left
        data = self.stream.read(size) if size else b""
        self.pos += len(data)
        return data


class FrameReader:
    """Reads and checks the header and the trailer of one file for one layout."""

    def __init__(self, *, layout: object, tenant: object, last_reference_date: date | None) -> None:
        self.layout, self.tenant, self.last_reference_date = layout, tenant, last_reference_date
        self.spec = layout.records or {}
        self.codec = "utf-8" if layout.encoding.startswith("utf-8") else layout.encoding
        self.fixed = layout.format == "fixed"
        self.checks = set(self.spec.get("checks") or [])
        self.delimiter = "\t" if layout.delimiter == "\\t" else (layout.delimiter or ",")

    # -- reading ---------------------------------------------------------------------------------
    def record_type(self, raw: bytes) -> str:
        """The record-type value of a line (stripped), '' if the line is too short."""
        spec = self.spec.get("type") or {}
        if self.fixed:
            start, length = _int(spec.get("start")) - 1, _int(spec.get("length"))
            return raw[start:start + length].decode(self.codec, errors="replace").strip()
        values = self._split(raw)
        column = _int(spec.get("column")) - 1
        return values[column].strip() if 0 <= column < len(values) else ""

    def _split(self, raw: bytes) -> list[str]:
        text = raw.decode(self.codec, errors="replace")
        return next(csv.reader([text], delimiter=self.delimiter), [])

    def _is(self, kind: str, raw: bytes) -> bool:
        kind_spec = self.spec.get(kind)
        if not kind_spec:
            return False
        code = kind_spec.get("code")
        if code in (None, ""):
            return True  # by position: the first / last line is it
        return self.record_type(raw) == str(code)

    def values(self, kind: str, raw: bytes, line: int) -> dict[str, str]:
        columns = (self.spec.get(kind) or {}).get("columns") or []
        label = KIND_LABELS[kind]
        if self.fixed:
            end = max((_int(c.get("start")) - 1 + _int(c.get("length")) for c in columns), default=0)
            if len(raw) < end:
                raise FileRejected(_("%(kind)s（%(line)s行目）の長さが足りません（%(end)s バイト必要、実際 "
                                     "%(actual)s バイト）") % {"kind": label, "line": line, "end": end,
                                                             "actual": len(raw)}, line=line)
            out = {}
            for column in columns:
                start = _int(column.get("start")) - 1
                chunk = raw[start:start + _int(column.get("length"))]
                try:
                    out[column["field"]] = chunk.decode(self.codec).strip(PAD)
                except UnicodeDecodeError:
                    raise FileRejected(_("%(kind)s（%(line)s行目）%(field)s: 文字コードが正しくありません")
                                       % {"kind": label, "line": line, "field": self._label(column)},
                                       line=line, column=self._label(column)) from None
            return out
        try:
            raw.decode(self.codec)
        except UnicodeDecodeError:
            raise FileRejected(_("%(kind)s（%(line)s行目）: 文字コードが正しくありません")
                               % {"kind": label, "line": line}, line=line) from None
        values = self._split(raw)
        if len(values) < len(columns):
            raise FileRejected(_("%(kind)s（%(line)s行目）の項目数が足りません（期待 %(expected)s 項目、実際 "
                                 "%(actual)s 項目）") % {"kind": label, "line": line, "expected": len(columns),
                                                        "actual": len(values)}, line=line)
        return {c["field"]: v.strip(PAD) for c, v in zip(columns, values, strict=False)}

    @staticmethod
    def _label(column: dict) -> str:
        return column.get("label") or str(FRAME_FIELDS["header"].get(column.get("field"), "")
                                          or FRAME_FIELDS["trailer"].get(column.get("field"), ""))

    def field_label(self, kind: str, name: str) -> str:
        for column in (self.spec.get(kind) or {}).get("columns") or []:
            if column.get("field") == name:
                return self._label(column)
        return str(FRAME_FIELDS[kind].get(name, name))

    def read(self, stream: BinaryIO) -> Frame:
        """Find the header (first non-blank line) and the trailer (last non-blank line), check them, and
        say where the data records lie. Raises FileRejected for a file that cannot be right."""
        frame = Frame()
        try:
            size = stream.seek(0, 2)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            raise FileRejected(_("ヘッダ・トレーラのあるファイルは、読み直せる形で受け取る必要があります")) from None
        head = stream.read(min(size, HEAD_BYTES))
        offset = 3 if head.startswith(BOM) else 0
        line = 0
        first = None
        while offset < len(head):  # the first non-blank line
            cut = head.find(b"\n", offset)
            end = len(head) if cut < 0 else cut + 1
            line += 1
            raw = head[offset:end].rstrip(b"\r\n")
            if raw.strip():
                first = (offset, end, line, raw)
                break
            offset = end
        if first is None:
            frame.start, frame.end = 0, size
            return frame  # blank or empty: the usual "no data" message
        header_spec = self.spec.get("header")
        if header_spec:
            start, end, line, raw = first
            if self._is("header", raw):
                self._check_length("header", raw, line)
                frame.header = self.values("header", raw, line)
                frame.header_line = line
                frame.start, frame.start_line = end, line
            elif header_spec.get("required"):
                raise FileRejected(self._missing("header", line, raw), line=line,
                                   column=self.field_label("header", "record_type"))
        trailer_spec = self.spec.get("trailer")
        frame.end = size
        if trailer_spec:
            tail_start = max(frame.start, size - HEAD_BYTES)
            stream.seek(tail_start)
            tail = stream.read(size - tail_start)
            body = tail.rstrip(BLANK)
            cut = body.rfind(b"\n") + 1
            raw = body[cut:].rstrip(b"\r")
            last_start = tail_start + cut
            if raw.strip() and last_start >= frame.start and (cut > 0 or tail_start == frame.start) \
                    and self._is("trailer", raw):
                whole = tail[cut:].split(b"\n", 1)[0].split(b"\r", 1)[0]  # (``raw`` lost its trailing blanks)
                if self._too_long(whole):
                    self._check_length("trailer", whole, self.count_lines(stream, 0, last_start) + 1)
                frame.trailer = self.values("trailer", raw, 0)
                frame.has_trailer = True
                frame.end = last_start
            elif trailer_spec.get("required"):
                last_line = self.count_lines(stream, 0, last_start) + 1 if raw.strip() else 0
                raise FileRejected(self._missing("trailer", last_line, raw), line=last_line,
                                   column=self.field_label("trailer", "record_type"))
        stream.seek(0)
        self._check(frame)
        return frame

    def _too_long(self, raw: bytes) -> bool:
        limit = max_line_bytes(self.layout)
        return bool(limit) and len(raw) > limit

    def _check_length(self, kind: str, raw: bytes, line: int) -> None:
        """The layout's byte limit holds for the header and the trailer too (the record is named)."""
        if self._too_long(raw):
            raise FileRejected(_("%(record)s: %(problem)s") % {
                "record": record_line(kind, line),
                "problem": too_long_message(max_line_bytes(self.layout), len(raw))}, line=line)

    def _missing(self, kind: str, line: int, raw: bytes) -> str:
        label = KIND_LABELS[kind]
        if not raw.strip():
            return _("%(kind)sがありません（データレコードがありません）") % {"kind": label}
        code = self.record_type(raw) if (self.spec.get("type") or {}) else ""
        where = _("先頭") if kind == "header" else _("最終行")
        if kind == "trailer":
            return (_("トレーラがありません（%(where)sの %(line)s行目はレコード区分「%(code)s」のレコードです）。"
                      "ファイルが途中で切れている可能性があります")
                    % {"where": where, "line": line, "code": code})
        return (_("ヘッダがありません（%(where)sの %(line)s行目はレコード区分「%(code)s」のレコードです）")
                % {"where": where, "line": line, "code": code})

    @staticmethod
    def count_lines(stream: BinaryIO, start: int, end: int) -> int:
        """Line breaks between two offsets (read in blocks; only when a message needs a line number)."""
        stream.seek(start)
        count = 0
        left = end - start
        while left > 0:
            block = stream.read(min(left, 1 << 22))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
        return count

    # -- checks ----------------------------------------------------------------------------------
    def _check(self, frame: Frame) -> None:
        header, line = frame.header, frame.header_line
        if not header:
            return
        where = _("ヘッダ（%(line)s行目）") % {"line": line}
        if "municipality_code" in self.checks and "municipality_code" in header:
            code = header["municipality_code"]
            if code != self.tenant.code:
                label = self.field_label("header", "municipality_code")
                raise FileRejected(
                    _("%(where)s%(field)s: 「%(code)s」はこの自治体（%(name)s %(tenant_code)s）のコードではありません。"
                      "他の自治体のファイルは取り込めません")
                    % {"where": where, "field": label, "code": code, "name": self.tenant.name,
                       "tenant_code": self.tenant.code}, line=line, column=label)
        if "file_kind" in header and self.spec.get("file_kinds"):
            kinds = {str(k): v for k, v in self.spec["file_kinds"].items()}
            value = header["file_kind"]
            if value not in kinds:
                label = self.field_label("header", "file_kind")
                meanings = ", ".join(f"{k}={FILE_KIND_LABELS[v]}" for k, v in kinds.items())
                raise FileRejected(_("%(where)s%(field)s: 「%(value)s」はファイル区分のコード（%(meanings)s）に"
                                     "ありません") % {"where": where, "field": label, "value": value,
                                                     "meanings": meanings}, line=line, column=label)
            frame.file_kind = kinds[value]
        if "reference_date" in header:
            label = self.field_label("header", "reference_date")
            try:
                frame.reference_date = make_date_parser(self.layout.date_formats or ["yyyymmdd"])(
                    header["reference_date"])
            except ValueError as exc:
                raise FileRejected(_("%(where)s%(field)s: %(problem)s") % {"where": where, "field": label,
                                                                           "problem": exc},
                                   line=line, column=label) from None
            last = self.last_reference_date
            if "reference_date" in self.checks and last is not None and frame.reference_date < last:
                raise FileRejected(
                    _("%(where)s%(field)s: %(date)s は前回取り込んだファイルの基準日（%(last)s）より前です。"
                      "古いファイルは取り込めません")
                    % {"where": where, "field": label, "date": f"{frame.reference_date:%Y-%m-%d}",
                       "last": f"{last:%Y-%m-%d}"}, line=line, column=label)
