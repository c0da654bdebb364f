"""The tables of a custservice database, as SQLAlchemy Core metadata.

Every SQL engine keeps the same tables. Each record is stored twice over, in
one row: ``data`` holds its lossless stored form (the ``to_json`` text), and
typed columns hold every field a user or the analytics filters or groups by,
so plain SQL and BI tools can read them. Instants are whole microseconds
since 1970-01-01 UTC (``BIGINT``); durations are whole microseconds; enum
members are their string values. The typed columns are derived from
``data`` on every write and never read back into a record.

Tenants: every record table's rows carry the ``tenant`` they belong to
(``''`` for the records of no tenant), and the tenant leads every key,
foreign key and index of those tables, so a PostgreSQL engine sharded by
tenant can distribute them by that column. ``tenants`` lists the tenants
that have records (``''`` always), which lets a lookup by id alone still
seek an index. The change feed ``events`` keeps one global order: its key is
the position alone, with the tenant leading its other indexes.

A host application that manages its own migrations (Alembic) gets these
tables from :func:`metadata`; the store checks, when it joins an existing
connection, that the schema version recorded there is this one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from ...enums import Factor
from .._common import TENANT_LENGTH

__all__ = ["VERSION", "metadata"]

VERSION = 7
"""The schema version this library writes: 1 was the first release's, with ``data`` only;
2 added the typed columns; 3 the desk's (priority, channel, assignee, team); 4 tenants; 5 a
case's ``merged_into``; 6 a case's ``first_reply``, ``resolution``, ``reopens`` and
``status_changed_at``, and the ``tags`` of cases and interactions; 7 keeps in ``data``
only what the columns do not hold (no id, customer's id or version; no field at its
default)."""

_ID = sa.String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql")
"""A UUID: native on PostgreSQL, its 36-character text elsewhere."""
_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_NAME = sa.String(200)
"""A short name (a channel, an agent id, a segment) that can be indexed on every engine."""
_INSTANT = sa.BigInteger()
_MYSQL: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_engine": "InnoDB",
}
"""On MySQL and MariaDB: any Unicode text, compared exactly (as on the other engines)."""
_LEVELS = ("low", "high", "adequate", "desired")
"""The levels of a feedback's ``ScoreScale``, each a typed column of interactions."""
_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""SQLite's ``INTEGER PRIMARY KEY`` is the row id itself: the cheapest key it has."""
NO_TENANT = ""
"""The ``tenant`` of the records of no tenant (a key column cannot be NULL)."""
RECORD_TABLES = ("customers", "interactions", "cases")


def owner_column(table: sa.Table) -> sa.Column[Any]:
    """The column of a record table holding the id of the customer a row belongs to: a
    customer's own id on ``customers``."""
    return table.c.id if table.name == "customers" else table.c.customer_id


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant",
        sa.String(TENANT_LENGTH),
        nullable=False,
        server_default=NO_TENANT,
        comment="the tenant the record belongs to; '' for none",
    )


def metadata(schema: str | None = None) -> sa.MetaData:
    """The tables of a custservice database, for SQLAlchemy or Alembic.

    Args:
        schema: the database schema the tables live in (PostgreSQL), or
            ``None`` for the connection's default.

    Returns:
        A new ``MetaData`` holding ``customers``, ``interactions``, ``cases``,
        the change feed ``events`` with its counter ``events_head``,
        ``tenants``, and ``custservice_meta`` (the application marker and
        schema version).

    Examples:
        >>> sorted(metadata().tables)  # doctest: +NORMALIZE_WHITESPACE
        ['cases', 'customers', 'custservice_meta', 'events', 'events_head',
         'interactions', 'tenants']
    """
    md = sa.MetaData(schema=schema)
    prefix = f"{schema}." if schema else ""
    sa.Table(
        "custservice_meta",
        md,
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
        **_MYSQL,
    )
    sa.Table(
        "tenants",
        md,
        sa.Column("tenant", sa.String(TENANT_LENGTH), primary_key=True),
        comment="every tenant with records, and '' (no tenant)",
        **_MYSQL,
    )
    sa.Table(
        "customers",
        md,
        _tenant(),
        sa.Column("id", _ID, nullable=False),
        # Named: a table rebuilt by an upgrade must not take its predecessor's key name.
        sa.PrimaryKeyConstraint("tenant", "id", name="customers_key"),
        sa.Column("opened_at", _INSTANT, nullable=False, comment="created_at"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", _TEXT, nullable=False),
        sa.Column("stage", _NAME),
        sa.Column("segment", _NAME),
        sa.Column("preferred_channel", _NAME),
        sa.Index("customers_opened", "tenant", "opened_at", "id"),
        **_MYSQL,
    )
    _linked(
        md,
        prefix,
        "interactions",
        sa.Column("channel", _NAME),
        sa.Column("agent", _NAME),
        sa.Column("stage", _NAME),
        sa.Column("root_cause", _NAME),
        sa.Column("case_id", _ID),
        sa.Column("resolved_at", _INSTANT),
        sa.Column("queue_wait", _INSTANT, comment="microseconds from opening to receive"),
        sa.Column("handoffs", sa.Integer),
        sa.Column("first_contact", sa.Boolean),
        sa.Column("feedback_score", sa.Integer),
        sa.Column("feedback_scale", _NAME),
        # The scale's levels: with its name they say which scale it is (names may repeat).
        *(sa.Column(f"feedback_scale_{level}", sa.BigInteger) for level in _LEVELS),
        sa.Column("feedback_verdict", _NAME),
        sa.Column("feedback_at", _INSTANT),
        # The verdict of each factor's rating, on the feedback's own scale.
        *(sa.Column(f"{factor.value}_verdict", _NAME) for factor in Factor),
        sa.Column("team", _NAME),
        sa.Column("tags", _TEXT, comment="a JSON array of the tags, sorted; NULL for none"),
    )
    _linked(
        md,
        prefix,
        "cases",
        sa.Column("status", _NAME),
        sa.Column("root_cause", _NAME),
        sa.Column("promised_by", _INSTANT),
        sa.Column("resolved_at", _INSTANT, comment="the latest solve, if solved now"),
        sa.Column("priority", _NAME),
        sa.Column("channel", _NAME),
        sa.Column("assignee", _NAME),
        sa.Column("team", _NAME),
        sa.Column("merged_into", _ID, comment="the case it is merged into, if it is"),
        sa.Column("first_reply", _INSTANT, comment="microseconds from opening to first reply"),
        sa.Column("resolution", _INSTANT, comment="microseconds from opening to resolution"),
        sa.Column("reopens", sa.Integer, comment="times reopened after being solved or closed"),
        sa.Column("status_changed_at", _INSTANT, comment="the latest change of status or merge"),
        sa.Column("tags", _TEXT, comment="a JSON array of the tags, sorted; NULL for none"),
        # A desk's queues: an agent's open cases, a team's by priority, everything urgent.
        sa.Index("cases_assignee", "tenant", "assignee", "status"),
        sa.Index("cases_team", "tenant", "team", "status", "priority"),
        sa.Index("cases_priority", "tenant", "priority", "status"),
        # The cases merged into a case.
        sa.Index("cases_merged_into", "tenant", "merged_into"),
    )
    sa.Table(
        "events",
        md,
        sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
        sa.Column("kind", _NAME, nullable=False),
        sa.Column("action", _NAME, nullable=False),
        sa.Column("record_id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=False),
        sa.Column("version", sa.Integer),
        _tenant(),
        # forget finds a customer's entries by their records' ids: ids are
        # time-ordered, so this index grows at its end.
        sa.Index("events_tenant_record", "tenant", "record_id"),
        sa.Index("events_tenant", "tenant", "position"),  # a tenant's feed
        **_MYSQL,
    )
    sa.Table(
        "events_head",
        md,
        sa.Column("singleton", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        comment="the change feed's counter: one row, updated first by every writer",
        **_MYSQL,
    )
    return md


def _linked(md: sa.MetaData, prefix: str, name: str, *typed: sa.Column[Any] | sa.Index) -> sa.Table:
    """A table of records that belong to a customer (interactions, cases)."""
    return sa.Table(
        name,
        md,
        _tenant(),
        sa.Column("id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "id", name=f"{name}_key"),
        sa.Column("customer_id", _ID, nullable=False),
        # A record's customer is of its own tenant.
        sa.ForeignKeyConstraint(
            ["tenant", "customer_id"],
            [f"{prefix}customers.tenant", f"{prefix}customers.id"],
            name=f"{name}_customer_key",
        ),
        sa.Column("opened_at", _INSTANT, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", _TEXT, nullable=False),
        *typed,
        sa.Index(f"{name}_customer", "tenant", "customer_id", "opened_at", "id"),
        sa.Index(f"{name}_opened", "tenant", "opened_at", "id"),
        **_MYSQL,
    )
