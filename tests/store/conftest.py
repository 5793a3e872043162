"""Helpers shared by the store tests: a migrated store on each backend, systems, readings and row dumps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from custom_components.liveone.store import writer
from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.migrations import migrate
from custom_components.liveone.store.schema import readings_agg_1d, readings_agg_5m, systems
from custom_components.liveone.vendors.model import Reading

# 2025-08-17 00:00 at UTC+10 (offset 600 min), as Unix seconds.
MIDNIGHT = 1755352800
NOON = MIDNIGHT + 12 * 3600
DAY = 86400
# Far after every test's data: every day in the tests is finished.
LATER = MIDNIGHT + 30 * DAY

STAMP_COLUMNS = ("id", "created_at", "updated_at")


def new_engine(url: str) -> Engine:
    """Create and migrate a store."""
    engine = create_engine(url)
    migrate(engine)
    return engine


def add_system(conn: Connection, offset: int = 600, site: str = "1", vendor: str = "selectronic") -> int:
    """Register a system and return its id."""
    result = conn.execute(
        systems.insert().values(vendor_type=vendor, vendor_site_id=site, timezone_offset_min=offset)
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    """A fresh, migrated store: an SQLite file and a PostgreSQL database (each test runs on both)."""
    eng = new_engine(store_url)
    yield eng
    eng.dispose()


@pytest.fixture
def system_id(engine: Engine) -> int:
    """A system at UTC+10."""
    with engine.begin() as conn:
        return add_system(conn)


def write(
    engine: Engine, system_id: int, readings: Sequence[Reading], *, now: int = LATER
) -> writer.WriteResult:
    """Write readings in one transaction, received and stamped at ``now``."""
    with engine.begin() as conn:
        return writer.write_readings(conn, system_id, readings, received_time=now, now=now)


def _strip(row: sa.RowMapping) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in STAMP_COLUMNS}


def rows_5m(conn: Connection, system_id: int) -> list[dict[str, Any]]:
    """The system's 5-minute rows, oldest first, without ids and stamps."""
    agg = readings_agg_5m
    result = conn.execute(sa.select(agg).where(agg.c.system_id == system_id).order_by(agg.c.interval_end))
    return [_strip(row) for row in result.mappings()]


def rows_1d(conn: Connection, system_id: int) -> list[dict[str, Any]]:
    """The system's daily rows, oldest first, without ids and stamps."""
    daily = readings_agg_1d
    result = conn.execute(sa.select(daily).where(daily.c.system_id == str(system_id)).order_by(daily.c.day))
    return [_strip(row) for row in result.mappings()]


def row_5m(engine: Engine, system_id: int, interval_end: int) -> dict[str, Any]:
    """One 5-minute row (it must exist)."""
    with engine.connect() as conn:
        (row,) = [r for r in rows_5m(conn, system_id) if r["interval_end"] == interval_end]
    return row


def day_row(engine: Engine, system_id: int, day: str) -> dict[str, Any] | None:
    """One daily row, or ``None``."""
    with engine.connect() as conn:
        found = [r for r in rows_1d(conn, system_id) if r["day"] == day]
    return found[0] if found else None


ENERGY_COLUMNS = (
    "solar_interval_wh",
    "load_wh_interval",
    "battery_in_wh_interval",
    "battery_out_wh_interval",
    "grid_in_wh_interval",
    "grid_out_wh_interval",
)


def energies(row: dict[str, Any]) -> tuple[Any, ...]:
    """A 5-minute row's six interval energies, in ENERGY_FLOWS order."""
    return tuple(row[column] for column in ENERGY_COLUMNS)
