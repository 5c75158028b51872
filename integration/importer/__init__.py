"""The import engine: validate every row, stage with COPY, check the staged set, apply in one transaction.

``services.import_execute`` drives it; this package knows nothing about runs or requests. All rows are
validated before anything is applied; rows are streamed (never the whole file in memory) into a
temporary table, cross-row checks (duplicate keys, deletes of missing keys) run in SQL, and the
set-based apply is a handful of statements inside one transaction.

One module per responsibility, each readable alone:

- ``layout``   — is a layout usable (``layout_problems``, ``LayoutInvalid``);
- ``rows``     — row building: one record's raw values → a staging row (``RowBuilder``), per-field checks,
                 the column-wise fast path, the derived search columns;
- ``records``  — record reading: the parser's records to the builder in batches (``feed``);
- ``parallel`` — parts of a big file validated by worker processes;
- ``staging``  — phase 1: the staging table and the COPY (``StagingMixin``);
- ``checks``   — phase 2: file-level checks on the staged set (``ChecksMixin``);
- ``apply``    — phase 3: the apply and the bulk replacement (``ApplyMixin``);
- ``engine``   — ``Importer``, which holds the state of one file and composes the phases.
"""

from integration.importer.engine import Importer
from integration.importer.layout import LayoutInvalid, layout_problems
from integration.importer.rows import RowBuilder, clear_normalisation_caches

__all__ = ["Importer", "LayoutInvalid", "RowBuilder", "clear_normalisation_caches", "layout_problems"]
