"""Record reading: the parser's records handed to the row builder in batches; COPY text and errors out."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from integration.importer.rows import RowBuilder

BATCH = 2_000
PROGRESS_EVERY = 20_000


def feed(state: object, records: Iterator, fill: int, write: Callable[[str], object]) -> Iterator[int]:
    """Records → builder in batches of BATCH records with values (the first batch ``BATCH - fill``); COPY text
    goes to ``write``, errors to ``state.add_error``. Yields the size of each batch flushed; a FileRejected
    (from the parser or the builder) propagates, with the errors before it already added."""
    builder = state.builder
    lines: list[int] = []
    rows: list[list[str]] = []
    limit = BATCH - fill
    for record in records:
        state.rows += 1
        if record.values is None:
            for item in record.errors:
                state.add_error(item)
            continue
        state.good += 1
        lines.append(record.line)
        rows.append(record.values)
        if len(rows) >= limit:
            flush(state, builder, write, lines, rows)
            yield len(rows)
            lines, rows, limit = [], [], BATCH
    if rows:
        flush(state, builder, write, lines, rows)
        yield len(rows)


def flush(state: object, builder: RowBuilder, write: Callable[[str], object], lines: list[int],
           rows: list[list[str]]) -> None:
    text = builder.build_batch(lines, rows)
    if text is not None:
        write(text)
        state.staged += len(rows)
        return
    parts = []
    for line, values in zip(lines, rows, strict=True):  # the row path: precise errors
        row, errors = builder.build(line, values)
        if errors:
            for item in errors:
                state.add_error(item)
            continue
        if row is None:  # a row of a business area outside the plan (multi-area file)
            state.skipped += 1
            continue
        parts.append(builder.row_text(row))
        state.staged += 1
    if parts:
        write("".join(parts))

