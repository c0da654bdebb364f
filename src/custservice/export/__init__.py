"""Exports: a store's cases, interactions or customers as flat rows, CSV or Parquet.

For BI tools, spreadsheets and data warehouses: one row per record, with
ids, instants in UTC, enum values, the desk's fields, lifecycle positions,
feedback and the durations service is judged by. No personal data leaves
unless asked for (``personal_data=True``).

- :func:`export_rows`: the rows, as Python values, streaming.
- :func:`export_columns`: their columns, in order, with their types.
- :func:`write_csv` and :func:`write_parquet`: the rows written as a file
  (Parquet through the ``arrow`` extra: ``pip install "custservice[arrow]"``).

``custservice export --store URL --kind cases --format csv`` runs them from
the command line.
"""

from ._columns import ExportKind, Scalar
from ._csv import write_csv
from ._parquet import write_parquet
from ._rows import export_columns, export_rows

__all__ = [
    "ExportKind",
    "Scalar",
    "export_columns",
    "export_rows",
    "write_csv",
    "write_parquet",
]
