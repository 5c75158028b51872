"""Parallel validation: parts of a big file validated by worker processes running the same parser and
row builder; the importer stages their COPY text in file order."""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from integration.importer.records import BATCH, PROGRESS_EVERY, feed, flush
from integration.importer.rows import RowBuilder
from integration.parsers import FileRejected, NotPlain, parser_for

# Big files are validated in worker processes, parts of about CHUNK_BYTES at a time (IN_FLIGHT queued).
WORKERS = int(os.environ.get("MADOGUCHI_IMPORT_WORKERS", min(2, os.cpu_count() or 1)))
PARALLEL_MIN_BYTES = int(os.environ.get("MADOGUCHI_IMPORT_PARALLEL_MIN_BYTES", 16 * 1024 * 1024))
CHUNK_BYTES = int(os.environ.get("MADOGUCHI_IMPORT_CHUNK_BYTES", 4 * 1024 * 1024))
IN_FLIGHT = WORKERS + 1


class _PartHasErrors(Exception):
    pass


class _PartState:
    """Counts of one part of the file in a worker process. A part with an error is given up at once: the
    one-process path does it again, so that errors come in exactly its order."""

    def __init__(self, builder: RowBuilder) -> None:
        self.builder = builder
        self.rows = self.staged = self.good = self.skipped = 0

    def add_error(self, item: dict) -> None:
        raise _PartHasErrors


_WORKER_BUILDER: RowBuilder | None = None  # set while the pool forks; the workers inherit it


@contextmanager
def _children_allowed() -> Iterator[None]:
    """Let a daemonic process start the validation pool.

    The deployed worker (``celery -A madoguchi worker``, prefork) runs tasks in daemonic child processes, and
    ``multiprocessing`` refuses to start children from a daemonic process ("daemonic processes are not allowed
    to have children"), so the pool used to fail there and every file was validated in one process. The rule
    guards against orphans of a process that is killed; our pool's workers are daemonic themselves, are
    closed or terminated in ``stage_parallel``'s ``finally``, and exit on their own when the task pipe of a
    killed parent reaches end of file. The flag is restored at once: nothing else in the task may fork.
    """
    process = multiprocessing.current_process()
    daemonic = process._config.get("daemon", False)  # noqa: SLF001 - the flag Process.start() checks
    if daemonic:
        process._config["daemon"] = False  # noqa: SLF001
    try:
        yield
    finally:
        if daemonic:
            process._config["daemon"] = True  # noqa: SLF001


def _stage_part(part: bytes, start_line: int, header_pending: bool) -> tuple:
    """In a worker: one part of the file (whole lines) → counts and its COPY text (UTF-8), or None if the
    part has an error or rejects the file (the one-process path then takes over from this part)."""
    gc.disable()  # millions of short-lived lists and no cycles: the collector's passes are pure cost here
    try:
        return _stage_part_now(part, start_line, header_pending)
    finally:
        gc.enable()


def _stage_part_now(part: bytes, start_line: int, header_pending: bool) -> tuple | None:
    builder = _WORKER_BUILDER
    builder.indicated = []  # this part's 支援措置 indicators (the forked builder serves many parts)
    state = _PartState(builder)
    parser = parser_for(builder.layout)
    if not header_pending:
        batches = parser.fast_batches(part, start_line, BATCH)
        if batches is not None:  # plain lines: split (or sliced) a batch at a time, no per-record parsing
            outcome = _stage_batches(builder, batches)
            if outcome is not None:
                return outcome
    chunks: list[str] = []
    try:
        for _count in feed(state, parser.records(io.BytesIO(part), start_line=start_line,
                                                  header_pending=header_pending), 0, chunks.append):
            pass
    except (FileRejected, _PartHasErrors):
        return None
    return (state.rows, state.staged, state.good, "".join(chunks).encode(), parser.header_pending, state.skipped,
            os.getpid(), builder.indicated)


def _stage_batches(builder: RowBuilder, batches: Iterator) -> tuple | None:
    """A plain part, batch by batch like ``feed`` (a batch the fast builder cannot take goes row by row;
    an error, or a line that is not a plain record, gives the part up, as in ``_stage_part``)."""
    state = _PartState(builder)
    chunks: list[str] = []
    try:
        for lines, rows, columns in batches:
            state.rows += len(lines)
            state.good += len(lines)
            text = builder.build_batch(lines, rows, columns)
            if text is None:
                flush(state, builder, chunks.append, lines,
                       rows if rows is not None else [list(row) for row in zip(*columns, strict=True)])
            else:
                chunks.append(text)
                state.staged += len(lines)
    except (_PartHasErrors, NotPlain):
        return None
    return (state.rows, state.staged, state.good, "".join(chunks).encode(), False, state.skipped, os.getpid(),
            builder.indicated)


def parallel_worth(stream: BinaryIO) -> bool:
    """Worker processes pay off for big files read from the start of a seekable stream."""
    if WORKERS < 2:
        return False
    try:
        if not stream.seekable() or stream.tell() != 0:
            return False
        size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
    except (OSError, AttributeError, ValueError):
        return False
    return size >= PARALLEL_MIN_BYTES


def stage_parallel(importer: object, stream: BinaryIO, raw: object, copy_sql: str) -> tuple | None:
    """Validate parts of the file in worker processes; stage their COPY text here, in file order.

    The file is cut at line breaks into parts of about CHUNK_BYTES; a worker runs the very same parser
    and builder on its part, so rows and COPY text are those of the sequential path. From the first part
    that has an error or cannot be validated on its own (a CSV part with a quote character — a quoted
    field may span lines —, no line break for long, a header not yet seen, a rejected file) the rest of
    the file goes through the sequential path (with the same batch alignment), so errors, their order
    and the counts at a rejection are exactly the sequential ones: the returned (offset, line, header).
    """
    global _WORKER_BUILDER
    _WORKER_BUILDER = importer.builder
    try:
        with _children_allowed():
            pool = multiprocessing.get_context("fork").Pool(WORKERS)
    except (OSError, ValueError, AssertionError):  # e.g. not allowed to fork here: one process
        return None, importer.start_line, None
    finally:
        _WORKER_BUILDER = None
    importer.timings["validate_pool"] = WORKERS  # the processes started (which of them takes a part is the pool's)
    is_csv = importer.layout.format == "csv"
    header = bool(importer.layout.has_header)
    pending: deque = deque()  # (offset, first line, header pending, async result)
    offset, line = 0, importer.start_line
    rest = b""
    eof = False
    since_progress = 0
    try:
        while True:
            while not eof and len(pending) < IN_FLIGHT:
                block = stream.read(CHUNK_BYTES)
                if not block:
                    eof = True
                    part, rest = rest, b""
                else:
                    data = rest + block if rest else block
                    cut = data.rfind(b"\n") + 1
                    if not cut:
                        if len(data) > 2 * CHUNK_BYTES:  # no line break for long: sequential from here
                            eof, rest = True, b""
                            pending.append((offset, line, header if offset == 0 else False, None))
                        else:
                            rest = data
                        continue
                    part, rest = data[:cut], data[cut:]
                if not part:
                    break
                part_header = header if offset == 0 else False
                if is_csv and b'"' in part:  # quoted fields may span lines: sequential from here
                    eof, rest = True, b""
                    pending.append((offset, line, part_header, None))
                    break
                pending.append((offset, line, part_header,
                                pool.apply_async(_stage_part, (part, line, part_header))))
                offset += len(part)
                line += part.count(b"\n") + part.count(b"\r") - part.count(b"\r\n")
            if not pending:
                return None
            part_offset, part_line, part_header, result = pending.popleft()
            if result is None:
                return part_offset, part_line, part_header
            outcome = result.get()
            if outcome is None:  # errors: the one-process path reports them, in its order, from here
                return part_offset, part_line, part_header
            rows, staged, good, text, header_left, skipped, pid, indicated = outcome
            importer.builder.indicated += indicated
            importer.rows += rows
            importer.staged += staged
            importer.good += good
            importer.skipped += skipped
            importer.validate_pids.add(pid)
            if text:
                with raw.copy(copy_sql) as copy:
                    copy.write(text)
            since_progress += rows
            if since_progress >= PROGRESS_EVERY:
                importer.progress("validated", importer.rows)
                since_progress = 0
            if header_left and part_header:  # only blank lines so far: the header is still to come
                return (pending[0][0], pending[0][1], True) if pending else None
    finally:
        # Let the parts already handed out finish before closing: terminating a worker while it reads a
        # part from the pipe leaves the queue's lock taken and Pool.terminate() waiting for ever.
        handed_out = [result for *_part, result in pending if result is not None]
        for result in handed_out:
            result.wait(60)
        if all(result.ready() for result in handed_out):
            pool.close()
        else:
            pool.terminate()
        pool.join()
        if since_progress:
            importer.progress("validated", importer.rows)

