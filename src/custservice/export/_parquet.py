"""Exports as Parquet, through pyarrow (the ``arrow`` extra), one row group per batch."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from typing import IO, Any

from ..errors import CustServiceError, ValidationError
from ..storage.protocols import Store
from ._columns import ExportKind
from ._rows import layout

__all__ = ["write_parquet"]

_INSTALL = 'Parquet export needs pyarrow: pip install "custservice[arrow]"'


def _arrow() -> tuple[Any, Any]:
    # Imported here: pyarrow is an optional extra, and slow to import.
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise CustServiceError(_INSTALL) from exc
    return pyarrow, pyarrow.parquet


def _arrow_type(pa: Any, kind: type) -> Any:
    return {
        str: pa.string(),
        int: pa.int64(),
        float: pa.float64(),
        bool: pa.bool_(),
        dt.date: pa.date32(),
        dt.datetime: pa.timestamp("us", tz="UTC"),
    }[kind]


def write_parquet(
    source: Store | Iterable[Any],
    out: str | os.PathLike[str] | IO[bytes],
    *,
    kind: ExportKind,
    personal_data: bool = False,
    attributes: Mapping[str, type] | None = None,
    batch_size: int = 10_000,
) -> int:
    """Write :func:`export_rows` as a Parquet file, ``batch_size`` rows at a time.

    Columns are typed from :func:`export_columns`: text ``string``, whole
    numbers ``int64``, floats ``double``, ``bool``, dates ``date32`` and
    instants ``timestamp[us, tz=UTC]``; every column is nullable. Each batch
    is one row group, so memory holds one batch, however many records there
    are. Needs pyarrow: ``pip install "custservice[arrow]"``.

    Args:
        source: a store, or an iterable of records of ``kind``.
        out: a path, or a binary file open for writing (it need not seek,
            so a pipe does).
        kind: ``"cases"``, ``"interactions"`` or ``"customers"``.
        personal_data: include the personal columns.
        attributes: the attribute columns, or ``None`` to find them in a first
            pass, as for :func:`export_rows`.
        batch_size: rows per row group.

    Returns:
        How many records were written.

    Raises:
        ValidationError: as :func:`export_rows`, or ``batch_size`` is not a
            positive whole number.
        CustServiceError: pyarrow is not installed.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValidationError("expected a positive whole number", field="batch_size")
    plan, rows = layout(source, kind, personal_data, attributes)
    pa, pq = _arrow()
    columns = plan.columns
    schema = pa.schema([pa.field(name, _arrow_type(pa, t)) for name, t in columns.items()])
    written = 0
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[list[Any]] = [[] for _ in columns]
        for row in rows:
            for values, value in zip(batch, row.values(), strict=True):
                values.append(value)
            written += 1
            if len(batch[0]) == batch_size:
                writer.write_batch(pa.record_batch(batch, schema=schema))
                batch = [[] for _ in columns]
        if batch[0]:
            writer.write_batch(pa.record_batch(batch, schema=schema))
    return written
