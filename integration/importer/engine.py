"""The importer: one file through validate → stage → check → apply (each phase in its own module)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from integration import bulkswap
from integration.importer import kinds
from integration.importer.apply import ApplyMixin
from integration.importer.checks import MAX_ERRORS, ChecksMixin
from integration.importer.layout import LayoutInvalid, layout_problems
from integration.importer.rows import RowBuilder
from integration.importer.staging import StagingMixin
from integration.targets import target_for


class Importer(StagingMixin, ChecksMixin, ApplyMixin):
    """One file through validate → stage → check → apply. Errors are collected, capped at MAX_ERRORS."""

    def __init__(self, *, layout: object, tenant: object, gaiji: dict[str, str],
                 progress: Callable[[str, int], None] | None = None, load_key: str | None = None,
                 last_reference_date: date | None = None) -> None:
        problems = layout_problems(layout)
        if problems:
            raise LayoutInvalid(problems)
        self.layout, self.tenant = layout, tenant
        # The layout may declare another key its target offers (a support-measure file keyed by 宛名番号 alone).
        self.target = target_for(layout.target).keyed(layout.key_fields)
        self.builder = RowBuilder(layout=layout, target=self.target, tenant=tenant, gaiji=gaiji)
        self.progress = progress or (lambda phase, n: None)
        self.errors: list[dict] = []
        self.error_count = 0
        self.rows = 0
        self.staged = 0
        self.good = 0  # records with values (batches of BATCH of them go to the builder)
        self.timings: dict[str, float] = {}
        self.stage_table = f"linkage_stage_{id(self):x}"
        self.load_key = load_key  # run id: names the load tables of a bulk replacement
        self.loaded = False  # staged into a committed load table (may be swapped in) instead of a temp table
        self.swap: list[bulkswap.TableCopy] = []
        self.swap_counts: dict[str, int] = {}
        self.load_tables: list[str] = []
        self.planned: tuple[int, int] | None = None  # (rows to write, rows there) if prepare_apply counted them
        self.changes_table: str | None = None  # line numbers of the staged rows that differ (prepare_apply)
        self.touched_table: str | None = None  # 世帯番号 whose residents were written (with changes_table)
        # Record kinds: the header and trailer (read first), the line the data records start after.
        self.frame_reader = (kinds.FrameReader(layout=layout, tenant=tenant, last_reference_date=last_reference_date)
                             if getattr(layout, "records", None) else None)
        self.frame: kinds.Frame | None = None
        self.start_line = 0
        self.empty_no_change = False  # a 0-byte file that the layout says means "no change"
        self.skipped = 0  # rows of business areas outside the municipality's plan (never stored)
        self.validate_pids: set[int] = set()  # worker processes that validated parts of this file
        self.warnings: list[dict] = []  # to check, not errors (a live 支援措置 the resident record does not flag)
        self.measures_added = 0  # 支援措置 set by the resident records' indicators
        self.measures_ended = 0  # live 支援措置 a full support-measure file no longer lists (ended, each reported)
        self.redelivery_of: int | None = None  # run id of the last file applied, when this file is the same bytes

    def add_error(self, item: dict) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(item)

