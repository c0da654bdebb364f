"""Exports as CSV: a header row, then one row per record, written as they are read."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
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
    plan, rows = layout(source, kind, personal_data, attributes)
    columns = plan.columns
    writer = csv.writer(out)
    writer.writerow(columns)
    # Text, whole numbers and floats are written by the csv module as as_text writes them
    # (str(), repr() for a float, None as an empty cell); only the other columns need it.
    converted = [
        (i, _TEXT.get(t, as_text)) for i, t in enumerate(columns.values()) if t not in _AS_IS
    ]
    write = writer.writerow
    written = 0
    for row in rows:
        cells = list(row.values())
        for i, text in converted:
            value = cells[i]
            if value is not None:
                cells[i] = text(value)
        write(cells)
        written += 1
    return written


_AS_IS = (str, int, float)
_TEXT: dict[type, Callable[[Any], str]] = {
    bool: {True: "true", False: "false"}.__getitem__,
    # A row's instants are in UTC already, and its dates plain dates: as_text's own forms.
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
}
