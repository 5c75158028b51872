"""Staging (phase 1 of the importer): the file streamed through the row builder into a staging table with
COPY, in this process or by the parallel workers."""

from __future__ import annotations

import copy
import io
import time
from typing import BinaryIO

from django.db import connection
from django.utils.translation import gettext as _

from integration import bulkswap
from integration.importer import kinds, parallel
from integration.importer.records import BATCH, PROGRESS_EVERY, feed
from integration.parsers import SNIFF_BYTES, FileRejected, error, parser_for, utf8_instead

# Full snapshots of these targets, from files of SWAP_MIN_BYTES, are staged in a load table that replaces the
# live table when most rows change (integration.bulkswap); the 世帯 table is derived alongside.
SWAP_TARGETS = {"residents"}
SWAP_MIN_BYTES = 16 * 1024 * 1024


class StagingMixin:
    """Phase 1 of ``Importer``: parse, validate, stage."""

    def validate_and_stage(self, stream: BinaryIO) -> None:
        started = time.perf_counter()
        if self._empty_means_no_change(stream):
            self.empty_no_change = True
            self.timings["validate_stage"] = round(time.perf_counter() - started, 3)
            return
        self._check_encoding(stream)
        whole = stream
        if self.frame_reader is not None:
            self.frame = self.frame_reader.read(stream)
            self._apply_frame(self.frame)
            stream = kinds.Region(stream, self.frame.start, self.frame.end)
            self.start_line = self.frame.start_line
        columns = ["line_no", "op", *self.target.columns]
        if self._swap_candidate(stream):
            self.loaded = True
            self.stage_table = bulkswap.load_name(self.load_key, self.target.table)
            self.load_tables.append(self.stage_table)
            bulkswap.create_load_table(live=self.target.table, load=self.stage_table, staging=True)
        else:
            with connection.cursor() as cursor:  # sets the tenant's search_path on the session
                cursor.execute(
                    f'CREATE TEMP TABLE "{self.stage_table}" AS SELECT {", ".join(self.target.columns)} '
                    f'FROM "{self.target.table}" WITH NO DATA'
                )
                cursor.execute(f'ALTER TABLE "{self.stage_table}" ADD COLUMN line_no integer, ADD COLUMN op text')
        raw = connection.connection.cursor()
        copy_sql = f'COPY "{self.stage_table}" ({", ".join(columns)}) FROM STDIN'
        self.builder.prepare_fast_path()
        try:
            resume = (self._stage_parallel(stream, raw, copy_sql) if parallel.parallel_worth(stream)
                      else (None, self.start_line, None))
            if resume is not None:
                self._stage_sequential(stream, raw, copy_sql, *resume)
        finally:
            raw.close()
        if self.validate_pids:
            self.timings["validate_processes"] = len(self.validate_pids)
        if self.frame is not None and self.frame.has_trailer:
            self._check_trailer(whole)
        self.timings["validate_stage"] = round(time.perf_counter() - started, 3)

    def _empty_means_no_change(self, stream: BinaryIO) -> bool:
        """A 0-byte file where the layout says an empty file means "no change" (an urgent delta inbox)."""
        if not (self.layout.options or {}).get("empty_file_no_change"):
            return False
        try:
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            return False
        return size == 0

    def _apply_frame(self, frame: kinds.Frame) -> None:
        """The header's file kind decides full or delta for this file (one layout, one inbox for both)."""
        if frame.file_kind is None:
            return
        self.layout = copy.copy(self.layout)
        self.layout.mode = frame.file_kind
        self.builder.layout = self.layout
        self.builder.delta = frame.file_kind == "delta"
        self.builder.file_kind = frame.file_kind

    def _check_trailer(self, stream: BinaryIO) -> None:
        """The trailer's record count must equal the data records read."""
        frame, reader = self.frame, self.frame_reader
        if "record_count" not in frame.trailer or "record_count" not in reader.checks:
            return
        label = reader.field_label("trailer", "record_count")
        written = frame.trailer["record_count"]
        count = int(written) if written.isascii() and written.isdigit() else None
        if count == self.rows:
            frame.record_count = count
            return
        line = reader.count_lines(stream, 0, frame.end) + 1
        where = _("トレーラ（%(line)s行目）") % {"line": line}  # a line number, as an editor shows it: no comma
        if count is None:
            message = _("%(where)s%(field)s: 「%(value)s」は数字ではありません") % {
                "where": where, "field": label, "value": written}
        else:
            message = _("%(where)s%(field)s: %(written)s 件と書かれていますが、データは %(actual)s 件です") % {
                "where": where, "field": label, "written": f"{count:,}", "actual": f"{self.rows:,}"}
        self.add_error(error(line, label, message))

    def _check_encoding(self, stream: BinaryIO) -> None:
        """A UTF-8 file sent to a layout of another encoding is rejected before any record is read."""
        if self.layout.encoding.startswith("utf-8"):
            return
        try:
            if not stream.seekable() or stream.tell() != 0:
                return
            head = stream.read(SNIFF_BYTES)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            return
        rejected = utf8_instead(head, self.layout.encoding)
        if rejected is not None:
            raise rejected

    def _swap_candidate(self, stream: BinaryIO) -> bool:
        """A big full snapshot of a swappable target, outside any transaction (the load table must be
        committed for the index builds on other connections)."""
        if (self.load_key is None or self.layout.mode != "full" or self.target.key not in SWAP_TARGETS
                or self.target.scope_column or connection.in_atomic_block):
            return False
        try:
            size = stream.seek(0, io.SEEK_END)
            stream.seek(0)
        except (OSError, AttributeError, ValueError):
            return False
        return size >= SWAP_MIN_BYTES and bulkswap.can_swap(self.target.table)

    def _stage_sequential(self, stream: BinaryIO, raw: object, copy_sql: str, offset: int | None,
                          start_line: int, header_pending: bool | None) -> None:
        """Stream the file (from ``offset``, a line boundary, if given) through the builder in this process."""
        if offset is not None:
            stream.seek(offset)
        records = parser_for(self.layout).records(stream, start_line=start_line, header_pending=header_pending)
        sink: list = [None]
        # Batches continue the alignment of the records already staged (counts at a rejection stay the same).
        batches = feed(self, records, self.good % BATCH, lambda text: sink[0].write(text))
        rejected: FileRejected | None = None
        done = False
        while not done:
            since_progress = 0
            # Errors must not escape the COPY block: a failed COPY would abort the caller's transaction.
            with raw.copy(copy_sql) as copy:
                sink[0] = copy
                try:
                    for count in batches:
                        since_progress += count
                        if since_progress >= PROGRESS_EVERY:
                            break
                    else:
                        done = True
                except FileRejected as exc:
                    rejected, done = exc, True
            self.progress("validated", self.rows)
        if rejected is not None:
            raise rejected

    def _stage_parallel(self, stream: BinaryIO, raw: object, copy_sql: str) -> tuple | None:
        """Validate parts of the file in worker processes (``parallel.stage_parallel``)."""
        return parallel.stage_parallel(self, stream, raw, copy_sql)
