"""The SQL schema as users see it: described completely, identical on every engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from custservice import open_store
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


RECORD_TABLES = ("customers", "interactions", "cases")


def test_the_tenant_leads_every_key_and_index_of_the_record_tables() -> None:
    """A PostgreSQL engine sharded by tenant distributes these tables by ``tenant``: every
    primary key, unique constraint, foreign key and index must hold it, and lead with it."""
    tables = metadata().tables
    for name in RECORD_TABLES:
        table = tables[name]
        assert table.primary_key.columns.keys() == ["tenant", "id"], name
        for index in table.indexes:
            assert index.columns.keys()[0] == "tenant", (name, index.name)
        for constraint in table.constraints:
            if isinstance(constraint, sa.UniqueConstraint | sa.ForeignKeyConstraint):
                assert "tenant" in constraint.columns, (name, constraint.name)
            if isinstance(constraint, sa.ForeignKeyConstraint):
                referred = [element.column.name for element in constraint.elements]
                assert referred[0] == "tenant", (name, constraint.name)
    feed = tables["events"]
    for index in feed.indexes:  # the feed's key is its one global order; see the guide
        assert index.columns.keys()[0] == "tenant", index.name


@pytest.mark.postgres
def test_a_postgresql_schema_has_no_key_that_omits_the_tenant(pg_admin: Any, pg_url: str) -> None:
    """Read from PostgreSQL's own catalog: every unique index and foreign key of the record
    tables holds ``tenant``, as a sharded engine requires of distributed tables."""
    schema = pg_url.rsplit("schema=", 1)[1]
    with open_store(pg_url):
        pass
    uniques = pg_admin.execute(
        """
        SELECT t.relname, i.relname, array_agg(a.attname::text)
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
        WHERE n.nspname = %s AND x.indisunique AND t.relname = ANY(%s)
        GROUP BY t.relname, i.relname
        """,
        (schema, list(RECORD_TABLES)),
    ).fetchall()
    assert {table for table, _, _ in uniques} == set(RECORD_TABLES)
    for table, index, columns in uniques:
        assert "tenant" in columns, (table, index)
    keys = pg_admin.execute(
        """
        SELECT c.conname, array_agg(a.attname::text)
        FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE n.nspname = %s AND c.contype = 'f'
        GROUP BY c.conname
        """,
        (schema,),
    ).fetchall()
    assert len(keys) == 2  # interactions' and cases' customer
    for name, columns in keys:
        assert "tenant" in columns, name
