"""The SQL schema as users see it: described completely, identical on every engine."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from custservice.storage.sql import metadata

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "sql-schema.md"


def test_the_schema_page_describes_every_table_and_column() -> None:
    """A column added to the schema without a line on the page fails here."""
    text = PAGE.read_text(encoding="utf-8")
    described = set(re.findall(r"`([a-z_]+)`", text))
    for table in metadata().tables.values():
        assert table.name in described, table.name
        for column in table.columns:
            assert column.name in described, f"{table.name}.{column.name}"


def test_the_tables_compile_for_every_engine() -> None:
    """One schema: it renders as DDL for each engine the library supports."""
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    for dialect in (sqlite.dialect(), postgresql.dialect(), mysql.dialect()):
        for table in metadata("tenant_a").tables.values():
            ddl = str(sa.schema.CreateTable(table).compile(dialect=dialect))
            assert table.name in ddl
