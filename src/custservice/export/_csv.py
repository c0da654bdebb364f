"""Exports as CSV: a header row, then one row per record, written as they are read."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from ..storage.protocols import Store
from ._columns import ExportKind
from ._rows import as_text, layout

__all__ = ["write_csv"]


def write_csv(
    source: Store | Iterable[Any],
    out: TextIO,
    *,
    kind: ExportKind,
    personal_data: bool = False,
    attributes: Mapping[str, type] | None = None,
) -> int:
    """Write :func:`export_rows` as CSV (RFC 4180, with a header row) to ``out``.

    Cells are text: ``None`` is an empty cell, ``True``/``False`` are
    ``true``/``false``, floats are written so they read back exactly,
    instants are ISO 8601 in UTC (``2026-03-02T08:00:00+00:00``) and dates
    ISO 8601 (``1990-12-10``). Open a file for it with ``newline=""`` and
    an encoding that holds every character, such as UTF-8.

    Args:
        source: a store, or an iterable of records of ``kind``.
        out: where to write: an open text file, ``sys.stdout``, ...
        kind: ``"cases"``, ``"interactions"`` or ``"customers"``.
        personal_data: include the personal columns.
        attributes: the attribute columns, or ``None`` to find them in a first
            pass, as for :func:`export_rows`.

    Returns:
        How many records were written (the header is not counted).

    Raises:
        ValidationError: as :func:`export_rows`.
    """
    plan, records = layout(source, kind, personal_data, attributes)
    writer = csv.writer(out)
    writer.writerow(plan.columns)
    written = 0
    for row in plan.rows(records):
        writer.writerow(["" if v is None else as_text(v) for v in row.values()])
        written += 1
    return written
