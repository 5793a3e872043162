"""Where the supported databases differ, in one place.

The rest of the store writes portable SQLAlchemy Core; what is not portable lives here:

* :func:`upsert`: insert rows, or update the row that already has their unique key. SQLite and
  PostgreSQL spell it ``INSERT ... ON CONFLICT (key) DO UPDATE``, MySQL and MariaDB
  ``INSERT ... ON DUPLICATE KEY UPDATE``.
* :func:`reset_sequence`: after rows were inserted with explicit ids (``liveone-store copy``),
  PostgreSQL's ``SERIAL`` sequence must be moved past them or the next insert collides. SQLite takes
  ``max(rowid) + 1`` and MySQL/MariaDB raise ``AUTO_INCREMENT`` by themselves.

* :func:`bucket_end`: the end of the fixed-length time bucket holding a Unix time, as SQL integer
  arithmetic: ``/`` on two integers divides whole on SQLite and PostgreSQL, MySQL and MariaDB need
  ``FLOOR`` (SQLAlchemy's ``//`` spells each). The 30-minute history roll-up groups by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert

MYSQL_FAMILY = frozenset({"mysql", "mariadb"})


def upsert_statement(
    dialect_name: str,
    table: sa.Table,
    columns: Sequence[str],
    keys: Sequence[str],
    insert_only: Sequence[str] = (),
) -> Insert:
    """Build the upsert of ``columns`` into ``table`` for one database.

    Args:
        dialect_name: the SQLAlchemy dialect (``conn.dialect.name``).
        table: the table.
        columns: the columns every row gives.
        keys: the columns of the unique index (or primary key) that identifies a row.
        insert_only: columns written only when the row is new (``created_at``).

    Raises:
        ValueError: a database the store does not support.

    """
    updated = [name for name in columns if name not in keys and name not in insert_only]
    if dialect_name in ("sqlite", "postgresql"):
        if dialect_name == "sqlite":
            lite = sqlite.insert(table)
            return lite.on_conflict_do_update(
                index_elements=[table.c[name] for name in keys],
                set_={name: lite.excluded[name] for name in updated},
            )
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(
            index_elements=[table.c[name] for name in keys],
            set_={name: pg.excluded[name] for name in updated},
        )
    if dialect_name in MYSQL_FAMILY:
        my_stmt = mysql.insert(table)
        return my_stmt.on_duplicate_key_update({name: my_stmt.inserted[name] for name in updated})
    raise ValueError(f"no upsert for database {dialect_name!r}")


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    keys: Sequence[str],
    insert_only: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (all with the same columns), updating those whose ``keys`` already exist.

    One statement (``executemany`` for several rows); existing rows keep their id and the
    ``insert_only`` columns.
    """
    if not rows:
        return
    stmt = upsert_statement(conn.dialect.name, table, list(rows[0]), keys, insert_only)
    conn.execute(stmt, list(rows))


def reset_sequence(conn: Connection, table: sa.Table) -> None:
    """Make the next generated ``id`` of ``table`` follow its largest id (PostgreSQL only; see above)."""
    if conn.dialect.name != "postgresql":
        return
    id_column = table.c.id
    # pg_get_serial_sequence is NULL for a column without a sequence, and setval(NULL, ...) does nothing.
    sequence = sa.func.pg_get_serial_sequence(table.name, id_column.name)
    largest = sa.select(sa.func.max(id_column)).scalar_subquery()
    # setval(seq, n, false) makes n the next value; an empty table starts again at 1.
    conn.execute(sa.select(sa.func.setval(sequence, sa.func.coalesce(largest, 0) + 1, sa.false())))


def bucket_end(column: sa.ColumnElement[int], seconds: int) -> sa.ColumnElement[int]:
    """Return the end of the ``seconds``-long bucket holding ``column``: buckets are ``(k*s, (k+1)*s]``.

    A time exactly on a boundary belongs to the bucket ending there, as a 5-minute interval ending at
    12:30 belongs to the 30-minute slot ending 12:30. Only for positive times (Unix seconds).
    """
    return ((column - 1) // seconds + 1) * seconds
