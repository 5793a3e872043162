"""Schema versioning and in-place migrations.

A new database is created at :data:`~.schema.SCHEMA_VERSION` directly. An older one is upgraded one
step at a time, each step in its own transaction, and never loses rows: steps only add tables,
columns and indexes (and fill them). A database newer than this code is refused rather than touched.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .dialect import upsert
from .schema import SCHEMA_VERSION, build_metadata, metadata

_LOGGER = logging.getLogger(__name__)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer LiveOne; this version must not touch it."""


def _add_missing_columns(conn: Connection, target: sa.MetaData, table_name: str) -> None:
    """Add the columns ``table_name`` has in ``target`` but not in the database (all nullable)."""
    existing = {column["name"] for column in sa.inspect(conn).get_columns(table_name)}
    preparer = conn.dialect.identifier_preparer
    for column in target.tables[table_name].columns:
        if column.name in existing:
            continue
        column_type = column.type.compile(dialect=conn.dialect)
        conn.execute(
            sa.text(
                f"ALTER TABLE {preparer.quote(table_name)} "
                f"ADD COLUMN {preparer.quote(column.name)} {column_type}"
            )
        )


def _upgrade_1_to_2(conn: Connection) -> None:
    """Add interval energies (5-minute and pushed) and the point 5-minute aggregates."""
    target = build_metadata(2)
    _add_missing_columns(conn, target, "readings_agg_5m")
    _add_missing_columns(conn, target, "readings")
    target.create_all(conn, tables=[target.tables["point_readings_agg_5m"]], checkfirst=True)


UPGRADES: dict[int, Callable[[Connection], None]] = {1: _upgrade_1_to_2}
"""Step ``n`` upgrades a version-``n`` database to version ``n + 1``."""


def get_version(conn: Connection) -> int | None:
    """Return the database's schema version, or ``None`` for an empty database."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("schema_version"):
        return 1 if inspector.has_table("systems") else None
    row = conn.execute(sa.text("SELECT version FROM schema_version WHERE id = 1")).first()
    return int(row[0]) if row else 1


def _set_version(conn: Connection, version: int) -> None:
    row = {"id": 1, "version": version, "updated_at": int(time.time())}
    upsert(conn, metadata.tables["schema_version"], [row], keys=["id"])


def create_at_version(engine: Engine, version: int) -> None:
    """Create every table of an older schema version (for tests of the upgrade path)."""
    old = build_metadata(version)
    with engine.begin() as conn:
        old.create_all(conn)
        _set_version(conn, version)


def migrate(engine: Engine) -> int:
    """Bring the database to the current schema version and return the version it started at (0 = new)."""
    if engine.dialect.name == "sqlite":
        _incremental_vacuum_when_new(engine)
    with engine.begin() as conn:
        found = get_version(conn)
        if found is None:
            metadata.create_all(conn)
            _set_version(conn, SCHEMA_VERSION)
            return 0
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"the store is at schema version {found}, newer than this LiveOne supports ({SCHEMA_VERSION})"
        )
    for version in range(found, SCHEMA_VERSION):
        _LOGGER.info("Upgrading the LiveOne store from schema version %s to %s", version, version + 1)
        with engine.begin() as conn:
            UPGRADES[version](conn)
            _set_version(conn, version + 1)
    # Tables added to the current version without a version bump never exist in old files.
    with engine.begin() as conn:
        metadata.create_all(conn, checkfirst=True)
        _create_missing_indexes(conn)
    return found


def _incremental_vacuum_when_new(engine: Engine) -> None:
    """Make a new SQLite file with incremental auto-vacuum, before its first table.

    Pages the retention purge frees can then be handed back to the file system a few at a time
    (``PRAGMA incremental_vacuum``, see retention.py). The mode can only change on an empty file (or
    with a full ``VACUUM``); the connection settings have already written the file's first page, so
    the empty file is vacuumed once, which is instant.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if sa.inspect(conn).get_table_names():
            return
        if conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() != 2:
            conn.exec_driver_sql("PRAGMA auto_vacuum = INCREMENTAL")
            conn.exec_driver_sql("VACUUM")


def _create_missing_indexes(conn: Connection) -> None:
    """Create the current schema's indexes an existing file lacks (added without a version bump).

    The history indexes on ``readings_agg_5m`` and ``readings_agg_1d`` (:data:`~.schema.HISTORY_INDEX`,
    :data:`~.schema.HISTORY_1D_INDEX`) came this way: building one reads its table once (seconds for a
    store of many system-years), at the first start after the upgrade.
    """
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        existing = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in sorted(table.indexes, key=lambda found: str(found.name)):
            if index.name not in existing:
                _LOGGER.info("Creating index %s on the LiveOne store's %s", index.name, table.name)
                index.create(conn)
