"""Write rows in a layout (CSV or fixed-width, any of the layout encodings).

Used by the synthetic data generator, the benchmarks and the tests, so the files they produce are the
files a core system would deliver for that layout definition — no second description of the format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import BinaryIO

from integration.dates import to_wareki


def _date_text(value: date, fmt: str) -> str:
    if fmt == "yyyymmdd":
        return value.strftime("%Y%m%d")
    if fmt == "yyyy-mm-dd":
        return value.isoformat()
    if fmt == "yyyy/mm/dd":
        return value.strftime("%Y/%m/%d")
    return to_wareki(value, style={"wareki_letter": "letter", "wareki_digit": "digit"}.get(fmt, "kanji"))


class LayoutWriter:
    """``write(rows)`` where each row maps field name → value (str, date, bool or None)."""

    def __init__(self, layout: dict, *, municipality_code: str, stream: BinaryIO, newline: str = "\r\n",
                 file_kind: str | None = None) -> None:
        self.layout = layout
        # Record kinds (``layout["records"]``): ``write`` puts a header before the data and a trailer after.
        self.records = layout.get("records") or {}
        self.file_kind = file_kind or layout.get("mode", "full")
        self.header_values: dict[str, object] = {}
        self.columns = layout["columns"]
        self.code = municipality_code
        self.stream = stream
        self.newline = newline
        self.encoding = "utf-8" if layout["encoding"] == "utf-8-sig" else layout["encoding"]
        self.date_format = (layout.get("date_formats") or ["yyyymmdd"])[0]
        tables = layout.get("code_tables") or {}
        self.reverse = {name: {v: k for k, v in table.items()} for name, table in tables.items()}
        target = layout["target"]
        self.kind_table = ("eligibility_kind" if target.startswith("eligibility:")
                           else "support_kind" if target == "support_measures" else "kind")
        self.op_codes = {v: k for k, v in (layout.get("op_codes") or {}).items()}
        if layout["encoding"] == "utf-8-sig":
            stream.write(b"\xef\xbb\xbf")
        if layout["format"] == "csv":
            self.buffer = io.StringIO()
            self.csv = csv.writer(self.buffer, delimiter=layout.get("delimiter") or ",", lineterminator=newline)
            if layout.get("has_header"):
                self.csv.writerow([c.get("label", "") for c in self.columns])
                self._flush()

    def _flush(self) -> None:
        self.stream.write(self.buffer.getvalue().encode(self.encoding))
        self.buffer.seek(0)
        self.buffer.truncate()

    def text(self, field: str, value: object, row: dict) -> str:
        if field == "municipality_code":
            return self.code
        if field == "op":
            if self.records.get("file_kinds") and self.file_kind == "full":
                return ""  # a full file of a layout that serves both: no 処理区分 in the records
            return self.op_codes.get(row.get("op", "add"), "")
        if field == "record_type":
            return str((self.records.get("data") or {}).get("code") or "")
        if field == "support_indicator":
            return self.reverse.get("support_indicator", {}).get(value or "", str(value or ""))
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, date):
            return _date_text(value, self.date_format)
        coded = ("sex", "status", "relationship", "area")
        table_name = self.kind_table if field == "kind" else field if field in coded else ""
        if table_name and table_name in self.reverse:
            return self.reverse[table_name].get(value, str(value))
        return str(value)

    def cell(self, field: str, row: dict, column: dict | None = None) -> str:
        if field.startswith("details."):
            return str((row.get("details") or {}).get(field[8:], ""))
        text = self.text(field, row.get(field), row)
        if not text and column and column.get("none_values"):
            return column["none_values"][0]  # the layout's "not set" value (0000000 for a date)
        return text

    def write(self, rows: Iterable[dict], *, reference_date: date | None = None, created_on: date | None = None,
              record_count: int | None = None) -> int:
        """Write the records (with the layout's header and trailer, if it declares them); the trailer's count
        is the records written unless ``record_count`` says otherwise (to write a wrong one on purpose)."""
        header, trailer = self.records.get("header"), self.records.get("trailer")
        if header:
            kinds = {v: k for k, v in (self.records.get("file_kinds") or {}).items()}
            self._frame(header, {"record_type": header.get("code", ""), "municipality_code": self.code,
                                 "file_kind": kinds.get(self.file_kind, ""),
                                 "reference_date": reference_date or date.today(),
                                 "created_on": created_on or date.today()})
        count = self._write(rows)
        if trailer:
            self._frame(trailer, {"record_type": trailer.get("code", ""),
                                  "record_count": count if record_count is None else record_count})
        return count

    def _frame(self, spec: dict, values: dict) -> None:
        """One header or trailer record."""
        columns = spec.get("columns") or []
        texts = []
        for column in columns:
            value = values.get(column["field"], "")
            if isinstance(value, date):
                value = _date_text(value, self.date_format)
            if column["field"] == "record_count" and self.layout["format"] == "fixed":
                value = str(value).zfill(column["length"])
            texts.append(str(value))
        if self.layout["format"] == "csv":
            self.csv.writerow(texts)
            self._flush()
            return
        line = bytearray(b" " * (self.layout.get("record_length") or 0))
        for column, text in zip(columns, texts, strict=True):
            raw = text.encode(self.encoding)[:column["length"]]
            start = column["start"] - 1
            line[start:start + column["length"]] = raw + b" " * (column["length"] - len(raw))
        self.stream.write(bytes(line) + self.newline.encode())

    def _write(self, rows: Iterable[dict]) -> int:
        count = 0
        if self.layout["format"] == "csv":
            writerow = self.csv.writerow
            for row in rows:
                writerow([self.cell(c["field"], row, c) for c in self.columns])
                count += 1
                if count % 5000 == 0:
                    self._flush()
            self._flush()
            return count
        newline = self.newline.encode()
        encoding = self.encoding
        out = []
        for row in rows:
            parts = []
            for c in self.columns:
                raw = self.cell(c["field"], row, c).encode(encoding)
                length = c["length"]
                if len(raw) > length:
                    cut = raw[:length]
                    while True:  # never split a double-byte character
                        try:
                            cut.decode(encoding)
                            break
                        except UnicodeDecodeError:
                            cut = cut[:-1]
                    raw = cut
                parts.append(raw + b" " * (length - len(raw)))
            out.append(b"".join(parts) + newline)
            count += 1
            if len(out) >= 5000:
                self.stream.write(b"".join(out))
                out.clear()
        self.stream.write(b"".join(out))
        return count
