"""Staging (phase 1 of the importer): the file streamed through the row builder into a staging table with
COPY, in this process or by the parallel workers."""

from __future__ import annotations

import io
import time
from typing import BinaryIO

from django.db import connection

from integration import bulkswap
from integration.importer import parallel
from integration.importer.records import BATCH, PROGRESS_EVERY, feed
from integration.parsers import SNIFF_BYTES, FileRejected, parser_for, utf8_instead

# Full snapshots of these targets, from files of SWAP_MIN_BYTES, are staged in a load table that replaces the
# live table when most rows change (integration.bulkswap); the 世帯 table is derived alongside.
SWAP_TARGETS = {"residents"}
SWAP_MIN_BYTES = 16 * 1024 * 1024


class StagingMixin:
    """Phase 1 of ``Importer``: parse, validate, stage."""

    def validate_and_stage(self, stream: BinaryIO) -> None:
        started = time.perf_counter()
        self._check_encoding(stream)
        columns = ["line_no", "op", *self.target.columns]
        if self._swap_candidate(stream):
            self.loaded = True
            self.stage_table = bulkswap.load_name(self.load_key, self.target.table)
            self.load_tables.append(self.stage_table)
            bulkswap.create_load_table(live=self.target.table, load=self.stage_table,
                                       extra_columns="ADD COLUMN line_no integer, ADD COLUMN op text")
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
            resume = self._stage_parallel(stream, raw, copy_sql) if parallel.parallel_worth(stream) else (None, 0, None)
            if resume is not None:
                self._stage_sequential(stream, raw, copy_sql, *resume)
        finally:
            raw.close()
        self.timings["validate_stage"] = round(time.perf_counter() - started, 3)

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
