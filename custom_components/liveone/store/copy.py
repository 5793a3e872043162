"""Copy a whole store from one database to another (``liveone-store copy --from URL --to URL``).

For example from the SQLite file to PostgreSQL when a system outgrows one file, or back. The source is
only read. The destination gets the current schema (created or upgraded), must hold no rows unless
``replace`` is given (then its rows are deleted first), and receives every table in foreign-key order,
in batches, inside one transaction: a failure leaves it as it was. Ids are copied as they are, so
references between tables stay valid; PostgreSQL's id sequences are then moved past them. Finally the
rows of every table are counted on both sides, and any difference is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .dialect import reset_sequence
from .engine import connect, describe_error, redact_url, scrub
from .errors import StoreError
from .migrations import SchemaTooNewError, get_version, migrate
from .schema import SCHEMA_VERSION, metadata

_LOGGER = logging.getLogger(__name__)

BATCH_ROWS = 5000

# schema_version is the destination's own (migrate writes it); every other table is copied.
TABLES: tuple[sa.Table, ...] = tuple(t for t in metadata.sorted_tables if t.name != "schema_version")
"""The tables copied, parents before children (foreign-key order)."""


@dataclass(frozen=True, slots=True)
class TableCount:
    """Rows of one table on both sides after a copy."""

    table: str
    source: int
    destination: int


def count_rows(conn: Connection) -> dict[str, int]:
    """Return the number of rows of every copied table."""
    return {
        table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for table in TABLES
    }


def _check_source(engine: Engine) -> None:
    with engine.connect() as conn:
        version = get_version(conn)
    where = redact_url(engine.url)
    if version is None:
        raise StoreError(f"the source {where} holds no LiveOne store")
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"the source {where} is at schema version {version}, this LiveOne at {SCHEMA_VERSION}; "
            f"upgrade it first with: liveone-store --db <source URL> init"
        )


def _copy_table(source: Connection, target: Connection, table: sa.Table, batch: int) -> int:
    """Copy one table's rows in primary-key order, ``batch`` rows per ``executemany``."""
    query = sa.select(table).order_by(*table.primary_key.columns)
    result = source.execution_options(stream_results=True, yield_per=batch).execute(query)
    copied = 0
    for rows in result.mappings().partitions(batch):
        target.execute(table.insert(), [dict(row) for row in rows])
        copied += len(rows)
    return copied


def copy_store(
    source_url: str,
    target_url: str,
    *,
    replace: bool = False,
    batch: int = BATCH_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> list[TableCount]:
    """Copy every row of the store at ``source_url`` into the one at ``target_url``.

    Args:
        source_url: the store to read (it must be at the current schema version).
        target_url: the store to fill (created or upgraded to the current schema).
        replace: delete the destination's rows first instead of refusing a non-empty destination.
        batch: rows per insert.
        progress: called with each table's name and the rows copied, as tables finish.

    Returns:
        The row counts of every table on both sides (equal, or this raised).

    Raises:
        StoreError: either database cannot be opened, the source is not a current store, the
            destination holds rows (without ``replace``), the copy failed, or the counts differ.

    """
    source = connect(source_url)
    target: Engine | None = None
    try:
        _check_source(source)
        target = connect(target_url)
        if redact_url(source.url) == redact_url(target.url) and source.url.password == target.url.password:
            raise StoreError("--from and --to name the same database")
        migrate(target)
        with target.begin() as dst:
            existing = {name: n for name, n in count_rows(dst).items() if n}
            if existing and not replace:
                listing = ", ".join(f"{name} ({n})" for name, n in existing.items())
                raise StoreError(
                    f"the destination {redact_url(target.url)} already holds rows: {listing}; "
                    "use --replace to delete them first"
                )
            for table in reversed(TABLES):
                dst.execute(table.delete())
            with source.connect() as src:
                for table in TABLES:
                    copied = _copy_table(src, dst, table, batch)
                    reset_sequence(dst, table)
                    if progress is not None:
                        progress(table.name, copied)
        with source.connect() as src, target.connect() as dst:
            before, after = count_rows(src), count_rows(dst)
    except (SQLAlchemyError, SchemaTooNewError) as err:
        reason = scrub(describe_error(err, target_url), source_url)
        raise StoreError(f"the copy failed: {reason}") from err
    finally:
        source.dispose()
        if target is not None:
            target.dispose()
    counts = [TableCount(t.name, before[t.name], after[t.name]) for t in TABLES]
    wrong = [c for c in counts if c.source != c.destination]
    if wrong:
        listing = ", ".join(f"{c.table} {c.source} -> {c.destination}" for c in wrong)
        raise StoreError(f"row counts differ after the copy: {listing}")
    _LOGGER.info("Copied the LiveOne store: %s rows", sum(c.source for c in counts))
    return counts
