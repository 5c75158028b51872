"""File formats behind a registry: each parser turns a byte stream into (line, values) records.

Lines are split on CR, LF or CRLF (mixed endings are fine), decoded one by one so that a wrong
encoding is reported with its line and byte, and never held in memory all at once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_LINE_CHARS = 65_536  # a longer line is reported, not parsed
MAX_LINE_BYTES = 16 * 1024 * 1024  # a "line" longer than this aborts the file
BOM = b"\xef\xbb\xbf"
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp932": gettext_lazy("Shift_JIS（CP932）")}
SNIFF_BYTES = 1 << 20  # the start of a file read to recognise UTF-8 sent to a layout of another encoding
_LONG_DIGITS = re.compile(r"\d{12,}")  # a 個人番号 (12 digits) is never echoed in a message


class FileRejected(Exception):
    """The whole file is unusable (one message, line given if known)."""

    def __init__(self, message: str, *, line: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class NotPlain(Exception):
    """A part of a file is not plain records: the record-by-record parser has to read it."""


@dataclass(slots=True)
class Record:
    line: int
    values: list[str] | None
    errors: list[dict] = field(default_factory=list)
    last: bool = False


def error(line: int, column: str, message: str) -> dict:
    return {"line": line, "column": column, "message": message}


def iter_raw_lines(stream: BinaryIO, *, chunk_size: int = 1 << 20, start_line: int = 0
                   ) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without terminator, had terminator) for each line (numbered after ``start_line``)."""
    rest = b""
    line_no = start_line
    while True:
        block = stream.read(chunk_size)
        if not block:
            break
        data = rest + block if rest else block
        lines = data.splitlines(keepends=True)
        tail = lines.pop() if lines else b""
        if tail.endswith(b"\n"):
            lines.append(tail)
            tail = b""
        for raw in lines:
            line_no += 1
            yield line_no, raw.rstrip(b"\r\n"), True
        rest = tail
        if len(rest) > MAX_LINE_BYTES:
            limit = MAX_LINE_BYTES // 1024 // 1024
            raise FileRejected(_("%(line)s行目が長すぎます（%(limit)sMBを超えても改行がありません）")
                               % {"line": line_no + 1, "limit": limit}, line=line_no + 1)
    if rest:
        for raw in rest.splitlines(keepends=True):
            line_no += 1
            stripped = raw.rstrip(b"\r\n")
            yield line_no, stripped, stripped != raw


def _bom_message(encoding: str) -> str:
    return _("ファイルの先頭にUTF-8のBOMがあります。このレイアウトの文字コードは%(encoding)sです。"
             "文字コードを確認してください") % {"encoding": ENCODING_LABELS.get(encoding, encoding)}


def _decode_error(line: int, raw: bytes, encoding: str, exc: UnicodeDecodeError) -> dict:
    bad = raw[exc.start:exc.start + 2].hex(" ").upper()
    hint = ""
    if encoding.startswith("utf-8"):
        try:
            raw.decode("cp932")
            hint = _("Shift_JIS（CP932）のファイルではありませんか。")
        except UnicodeDecodeError:
            pass
    elif raw.startswith(BOM) or _is_utf8(raw):
        hint = _("UTF-8のファイルではありませんか。")
    return error(line, "", _("%(encoding)sとして読めないバイトがあります（%(byte)sバイト目: 0x%(hex)s）。"
                             "%(hint)s文字コードを確認してください")
                 % {"encoding": ENCODING_LABELS.get(encoding, encoding), "byte": exc.start + 1, "hex": bad,
                    "hint": hint})


def utf8_instead(head: bytes, encoding: str) -> FileRejected | None:
    """For a layout that is not UTF-8: the rejection if the start of the file (``head``) is UTF-8 text.

    Japanese in UTF-8 is often also a valid CP932 byte sequence (「佐藤」 reads as 「菴占陸」), so a UTF-8
    file would otherwise be imported as mojibake. The first line with non-ASCII bytes decides (a line
    with a UTF-8 character of three or more bytes cannot be CP932 text in practice); the file as a
    whole, before any record is read, so the answer does not depend on how the file is validated.
    """
    if encoding.startswith("utf-8") or head.startswith(BOM) or head.isascii():
        return None  # (a BOM is reported by the parser)
    lines = head.splitlines(keepends=True)
    if len(head) >= SNIFF_BYTES and lines and not lines[-1].endswith((b"\n", b"\r")):
        lines.pop()  # cut off: not a whole line
    for line_no, raw in enumerate(lines, start=1):
        if not raw.isascii():  # the first line with non-ASCII bytes decides
            return FileRejected(_utf8_message(line_no, encoding), line=line_no) if reads_as_utf8(raw) else None
    return None


def reads_as_utf8(raw: bytes) -> bool:
    """A line of a file that is not UTF-8 which is UTF-8 text with a character of three or more bytes
    (Japanese in UTF-8): never CP932 text in practice, though CP932 would decode it as mojibake."""
    if raw.isascii():
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return max(text) >= "\u0800"


def _utf8_message(line: int, encoding: str) -> str:
    return _("%(line)s行目がUTF-8の文字として読めます。このレイアウトの文字コードは%(encoding)sです。"
             "UTF-8のファイルではありませんか。文字コードを確認してください") % {
        "line": line, "encoding": ENCODING_LABELS.get(encoding, encoding)}


def _shown(value: str) -> str:
    """A value quoted in a message: digit runs as long as a 個人番号 masked, long values shortened."""
    value = _LONG_DIGITS.sub(lambda m: "＊" * len(m.group()), value.strip())
    return value if len(value) <= 40 else value[:40] + "…"


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not raw.isascii()


def too_long_message(limit: int, actual: int) -> str:
    return (_("1行の長さがレイアウトの上限（%(limit)s バイト）を超えています（%(actual)s バイト）")
            % {"limit": f"{limit:,}", "actual": f"{actual:,}"})


def record_line(kind: str, line: int) -> str:
    """「データ（3行目）」: a record of a layout with record kinds, named in a message."""
    from integration.importer.kinds import KIND_LABELS

    return _("%(kind)s（%(line)s行目）") % {"kind": KIND_LABELS[kind], "line": line}


def _too_long(line: int, limit: int, actual: int, *, named: bool = False) -> dict:
    """A line over the layout's byte limit; ``named``: the layout has record kinds, so the line is a data record."""
    message = too_long_message(limit, actual)
    if named:
        message = _("%(record)s: %(problem)s") % {"record": record_line("data", line), "problem": message}
    return error(line, "", message)


def max_line_bytes(layout: object) -> int:
    """The longest line a layout allows, in bytes of its encoding (0: no limit but MAX_LINE_CHARS)."""
    return int((getattr(layout, "options", None) or {}).get("max_line_bytes") or 0)


def has_records(layout: object) -> bool:
    """The layout declares record kinds (header, data, trailer): every line a parser reads is a data record."""
    return bool(getattr(layout, "records", None))


def iter_text_lines(stream: BinaryIO, encoding: str, errors_out: dict[int, dict], start_line: int = 0,
                    max_bytes: int = 0, *, named: bool = False) -> Iterator[tuple[int, str, bool]]:
    """Decoded lines; undecodable lines are put in ``errors_out`` and yielded as replaced text."""
    codec = "utf-8" if encoding.startswith("utf-8") else encoding
    for line_no, raw, terminated in iter_raw_lines(stream, start_line=start_line):
        if line_no == 1 and raw.startswith(BOM):
            if codec != "utf-8":
                raise FileRejected(_bom_message(encoding), line=1)
            raw = raw[3:]
        if max_bytes and len(raw) > max_bytes:
            errors_out[line_no] = _too_long(line_no, max_bytes, len(raw), named=named)
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            errors_out[line_no] = _decode_error(line_no, raw, encoding, exc)
            text = raw.decode(codec, errors="replace")
        else:
            if codec != "utf-8" and reads_as_utf8(raw):
                errors_out[line_no] = error(line_no, "", _utf8_message(line_no, encoding))
        yield line_no, text, terminated


class CsvParser:
    """Delimited text. Quoted fields may contain the delimiter and line breaks."""

    def __init__(self, layout: object) -> None:
        self.layout = layout
        self.width = len(layout.columns)
        self.delimiter = layout.delimiter or ","
        if self.delimiter == "\\t":
            self.delimiter = "\t"

    def records(self, stream: BinaryIO, *, start_line: int = 0, header_pending: bool | None = None
                ) -> Iterator[Record]:
        """Records of ``stream``; a stream cut at a line boundary continues at ``start_line`` (the parallel
        validation gives each worker a part of the file without quotes, so every line is one record)."""
        decode_errors: dict[int, dict] = {}
        state = {"line": start_line, "terminated": True}

        def lines() -> Iterator[str]:
            for line_no, text, terminated in iter_text_lines(stream, self.layout.encoding, decode_errors,
                                                             start_line, max_line_bytes(self.layout),
                                                             named=has_records(self.layout)):
                state["line"], state["terminated"] = line_no, terminated
                if len(text) > MAX_LINE_CHARS:
                    decode_errors[line_no] = error(
                        line_no, "", _("1行の長さが上限（%(limit)s文字）を超えています（%(length)s文字）")
                        % {"limit": f"{MAX_LINE_CHARS:,}", "length": f"{len(text):,}"})
                    text = ""
                yield text + "\n"

        reader = csv.reader(lines(), delimiter=self.delimiter, quotechar='"', strict=True)
        self.header_pending = self.layout.has_header if header_pending is None else header_pending
        while True:
            start = state["line"] + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Record(start, None, [error(start, "", _("CSVの形式が正しくありません（%(reason)s）")
                                                 % {"reason": _csv_reason(exc)})])
                continue
            line = start
            if line in decode_errors:
                self.header_pending = False
                yield Record(line, None, [decode_errors.pop(line)])
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # blank line
            if self.header_pending:
                self.header_pending = False
                yield from self._check_header(line, values)
                continue
            record = Record(line, values, last=not state["terminated"])
            if len(values) != self.width:
                truncated = _("最終行が途中で切れている可能性があります。") if not state["terminated"] else ""
                message = _("項目数が正しくありません（期待 %(expected)s 項目、実際 %(actual)s 項目）。"
                            "%(truncated)s") % {"expected": self.width, "actual": len(values), "truncated": truncated}
                record = Record(line, None, [error(line, "", message)])
            yield record

    def fast_batches(self, part: bytes, start_line: int, size: int) -> Iterator[tuple[list[int], list, list]] | None:
        """A part of whole lines (no header, no quotes) in batches of ``size`` records — (line numbers, rows,
        None) — without per-record parsing, or None unless the part is plain text lines: decodable, ending
        with a line break, no NUL, no lone CR. The batches raise NotPlain at the first line that is not a
        plain record (wrong number of fields, blank, too long): ``records`` then does it line by line with
        its exact messages. Where they answer, the values are those of ``records``."""
        if (self.width < 2 or not part.endswith(b"\n") or b'"' in part or b"\x00" in part
                or part.startswith(BOM)):
            return None  # (a one-column line of spaces is a blank line for ``records``)
        codec = "utf-8" if self.layout.encoding.startswith("utf-8") else self.layout.encoding
        limit = max_line_bytes(self.layout)
        if limit:  # a line's bytes without its terminator: a CR before the LF does not count, a last byte does
            lines = part.split(b"\n")
            if max(map(len, lines)) > limit and any(len(line) - line.endswith(b"\r") > limit for line in lines):
                return None
        try:
            text = part.decode(codec)
        except UnicodeDecodeError:
            return None
        if codec != "utf-8" and not part.isascii() and any(map(reads_as_utf8, part.split(b"\n"))):
            return None  # ``records`` reports the UTF-8 lines
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        lines = text.split("\n")
        lines.pop()  # after the final line break
        return self._batches(lines, start_line, size)

    def _batches(self, lines: list[str], start_line: int, size: int) -> Iterator[tuple[list[int], list, list]]:
        delimiter, width = self.delimiter, {self.width}
        for start in range(0, len(lines), size):
            batch = lines[start:start + size]
            if max(map(len, batch)) > MAX_LINE_CHARS:
                raise NotPlain
            rows = [line.split(delimiter) for line in batch]
            if set(map(len, rows)) != width:
                raise NotPlain
            first = start_line + 1 + start
            yield list(range(first, first + len(rows))), rows, None

    def _check_header(self, line: int, values: list[str]) -> Iterator[Record]:
        labels = [c.get("label", "") for c in self.layout.columns]
        if len(values) != len(labels):
            yield Record(line, None, [error(
                line, "", _("見出し行の項目数が正しくありません（期待 %(expected)s 項目、実際 %(actual)s 項目）")
                % {"expected": len(labels), "actual": len(values)})])
            return
        # A file without its header line has data here: a 個人番号 in it is never echoed.
        secret = {i for i, c in enumerate(self.layout.columns) if c.get("field") == "personal_no"}
        problems = [
            error(line, _("%(index)s列目") % {"index": index + 1},
                  _("見出しがレイアウトの「%(want)s」と一致しません（値は表示しません）") % {"want": want}
                  if index in secret else
                  _("見出し「%(got)s」はレイアウトの「%(want)s」と一致しません") % {"got": _shown(got), "want": want})
            for index, (got, want) in enumerate(zip(values, labels, strict=True))
            if want and got.strip() != want
        ]
        if problems:
            yield Record(line, None, problems)


def _csv_reason(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return _("項目が長すぎます")
    if "unexpected end of data" in text or "EOF" in text:
        return _("引用符が閉じられていません。最終行が途中で切れている可能性があります")
    if "quotechar" in text or "delimiter" in text:
        return _("引用符の使い方が正しくありません")
    return text


class FixedParser:
    """Fixed-width records, one per line; start/length are in bytes of the layout's encoding."""

    def __init__(self, layout: object) -> None:
        self.layout = layout
        self.codec = "utf-8" if layout.encoding.startswith("utf-8") else layout.encoding
        self.slices = [slice(c["start"] - 1, c["start"] - 1 + c["length"]) for c in layout.columns]
        self.record_length = layout.record_length or max(s.stop for s in self.slices)

    def records(self, stream: BinaryIO, *, start_line: int = 0, header_pending: bool | None = None
                ) -> Iterator[Record]:
        codec, slices, length = self.codec, self.slices, self.record_length
        labels = [c.get("label") or c.get("field") for c in self.layout.columns]
        utf8_check = codec != "utf-8"
        limit = max_line_bytes(self.layout)
        named = has_records(self.layout)
        self.header_pending = self.layout.has_header if header_pending is None else header_pending
        for line_no, raw, terminated in iter_raw_lines(stream, start_line=start_line):
            if line_no == 1 and raw.startswith(BOM):
                if codec != "utf-8":
                    raise FileRejected(_bom_message(self.layout.encoding), line=1)
                raw = raw[3:]
            if not raw.strip():
                continue
            if limit and len(raw) > limit:
                yield Record(line_no, None, [_too_long(line_no, limit, len(raw), named=named)])
                continue
            if self.header_pending:
                self.header_pending = False
                continue
            if utf8_check and reads_as_utf8(raw):
                yield Record(line_no, None, [error(line_no, "", _utf8_message(line_no, self.layout.encoding))])
                continue
            if len(raw) != length:
                truncated = _("最終行が途中で切れている可能性があります。") if not terminated else ""
                message = _("レコード長が正しくありません（期待 %(expected)s バイト、実際 %(actual)s バイト）。"
                            "%(truncated)s") % {"expected": length, "actual": len(raw), "truncated": truncated}
                yield Record(line_no, None, [error(line_no, "", message)])
                continue
            try:
                values = [raw[s].decode(codec) for s in slices]
            except UnicodeDecodeError:
                problems = []
                values = []
                for label, s in zip(labels, slices, strict=True):
                    try:
                        values.append(raw[s].decode(codec))
                    except UnicodeDecodeError as exc:
                        problems.append(_decode_error(line_no, raw[s], self.layout.encoding, exc) | {"column": label})
                yield Record(line_no, None, problems)
                continue
            yield Record(line_no, values, last=not terminated)


    def fast_batches(self, part: bytes, start_line: int, size: int) -> Iterator[tuple[list[int], list, list]] | None:
        """Like ``CsvParser.fast_batches``, as columns (None, columns): each column of a batch decoded in one
        call (its fields joined by NUL, which no record holds)."""
        if not part.endswith(b"\n") or b"\x00" in part or part.startswith(BOM):
            return None
        if b"\r" not in part:
            lines = part.split(b"\n")
        elif part.count(b"\r\n") == part.count(b"\n") == part.count(b"\r"):  # every line ends in CR LF
            lines = part.split(b"\r\n")  # (no copy of the part without its CRs first)
        else:
            part = part.replace(b"\r\n", b"\n")
            if b"\r" in part:
                return None
            lines = part.split(b"\n")
        lines.pop()
        return self._batches(lines, start_line, size)

    def _batches(self, lines: list[bytes], start_line: int, size: int) -> Iterator[tuple[list[int], list, list]]:
        length, codec = {self.record_length}, self.codec
        utf8_check = codec != "utf-8"
        getter = itemgetter(*self.slices) if len(self.slices) > 1 else None
        for start in range(0, len(lines), size):
            batch = lines[start:start + size]
            if set(map(len, batch)) != length or any(not line.strip() for line in batch):
                raise NotPlain  # (a blank line is skipped by ``records``)
            if utf8_check and any(map(reads_as_utf8, batch)):
                raise NotPlain
            fields = list(map(getter, batch)) if getter else [(line[self.slices[0]],) for line in batch]
            columns = []
            for raw in zip(*fields, strict=True):
                try:
                    values = b"\x00".join(raw).decode(codec).split("\x00")
                except UnicodeDecodeError:
                    raise NotPlain from None
                if len(values) != len(batch):
                    raise NotPlain
                columns.append(values)
            first = start_line + 1 + start
            yield list(range(first, first + len(batch))), None, columns


PARSERS: dict[str, Callable[[object], object]] = {"csv": CsvParser, "fixed": FixedParser}


def parser_for(layout: object) -> CsvParser | FixedParser:
    try:
        factory = PARSERS[layout.format]
    except KeyError:
        raise FileRejected(_("未対応のファイル形式です（%(format)s）") % {"format": layout.format}) from None
    return factory(layout)
