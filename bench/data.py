"""Benchmark data: demo readings, the store's own ingest of them, and a many-system copy.

One system's readings come from the demo vendor (its real physics, a year in a few seconds). They are
ingested through the store's write path, which computes their 5-minute and daily aggregates; that
store file is the *template*. A large store is then made by copying the template's readings and
aggregates once per system with plain SQL, changing only ``system_id``. So every aggregate row in the
large store is one the store itself computed (for identical readings the aggregation is identical;
``tests/bench/test_bench_data.py`` checks this against :func:`~custom_components.liveone.store.aggregate.rebuild`).

Rows are copied time-major (every system's minute before the next minute), as a live installation
writes them, so the ``(system_id, time)`` indexes grow the way they would in use, page splits included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
import sqlite3
from typing import Any

from custom_components.liveone.store import systems as systems_mod
from custom_components.liveone.store.aggregate import local_date_at
from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.migrations import migrate
from custom_components.liveone.store.schema import readings as readings_table
from custom_components.liveone.store.systems import SystemInfo
from custom_components.liveone.vendors.demo import DemoSite, DemoSystem
from custom_components.liveone.vendors.model import Reading

TZ_OFFSET_MIN = 600
# 2025-01-01 00:00 local (UTC+10): the first instant of the benchmark's year.
YEAR_START = int(datetime(2024, 12, 31, 14, 0, tzinfo=UTC).timestamp())
DAY = 86_400
READING_COLUMNS = tuple(column.name for column in readings_table.columns if column.name != "id")
"""The ``readings`` columns a row carries (the id is the database's)."""


def local_date(t: int) -> date:
    """Return the benchmark systems' local date at Unix time ``t``."""
    return local_date_at(t, TZ_OFFSET_MIN)


def bench_site(index: int = 0) -> DemoSite:
    """Return the simulated household number ``index`` (Daylesford, UTC+10, like the tests' demo)."""
    return DemoSite(seed=f"bench-{index}", latitude=-37.35, longitude=144.14, tz_offset_min=TZ_OFFSET_MIN)


def system_info(index: int = 0) -> SystemInfo:
    """Return the store registration of household ``index``."""
    return SystemInfo(
        vendor_type="demo",
        vendor_site_id=f"bench-{index}",
        display_name=f"Bench {index}",
        timezone_offset_min=TZ_OFFSET_MIN,
    )


def demo_batches(
    days: int, batch: int, *, start: int = YEAR_START, index: int = 0
) -> Iterator[list[Reading]]:
    """Yield ``days`` days of one-minute demo readings from ``start``, ``batch`` readings at a time."""
    system = DemoSystem(bench_site(index))
    chunk: list[Reading] = []
    for reading in system.readings_between(start, start + days * DAY):  # (start, end], as intervals are
        chunk.append(reading)
        if len(chunk) >= batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def continue_readings(last: Reading, minutes: int, index: int = 0) -> list[Reading]:
    """Return the ``minutes`` demo readings after ``last`` (for polls on top of stored history)."""
    system = DemoSystem(bench_site(index), resume_from=last)
    return list(system.readings_between(last.inverter_time, last.inverter_time + minutes * 60))


def reading_rows(
    system_id: int, readings: Sequence[Reading], received_time: int, created_at: int
) -> list[tuple[Any, ...]]:
    """Return readings as the ``readings`` rows the store writes, in :data:`READING_COLUMNS` order."""
    rows = []
    for reading in readings:
        values = reading.as_row()
        values.update(
            system_id=system_id,
            received_time=received_time,
            delay_seconds=received_time - reading.inverter_time,
            created_at=created_at,
        )
        rows.append(tuple(values[name] for name in READING_COLUMNS))
    return rows


def create_store_file(path: Path, systems: int = 0) -> None:
    """Create an empty store file with the documented schema and ``systems`` registered systems."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        with engine.begin() as conn:
            for index in range(systems):
                systems_mod.ensure_system(conn, system_info(index), now=YEAR_START)
    finally:
        engine.dispose()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != "id"]


def replicate(template: Path, target: Path, systems: int, template_system: int = 1) -> None:
    """Fill a new store at ``target`` with ``systems`` copies of one template system's data.

    The copies get system ids 1..``systems``. Readings and 5-minute rows are inserted time-major, daily
    rows day-major; every index of the documented schema is in place while they are inserted.
    """
    create_store_file(target, systems)
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        # A build, not a live store: no journal (a crash means rebuilding), a large page cache.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        conn.execute("ATTACH DATABASE ? AS tmpl", (str(template),))
        conn.execute("CREATE TEMP TABLE bench_ids (id INTEGER PRIMARY KEY)")
        conn.execute(
            "INSERT INTO bench_ids SELECT id FROM main.systems WHERE vendor_type = 'demo' ORDER BY id"
        )
        conn.execute("BEGIN")
        for table, key, system_value in (
            ("readings", "inverter_time", "s.id"),
            ("readings_agg_5m", "interval_end", "s.id"),
            ("readings_agg_1d", "day", "CAST(s.id AS TEXT)"),
        ):
            names = [name for name in _columns(conn, table) if name != "system_id"]
            selected = ", ".join(f"t.{name}" for name in names)
            # CROSS JOIN keeps the template (scanned in time order through its index) the outer loop.
            conn.execute(
                f"INSERT INTO main.{table} (system_id, {', '.join(names)}) "
                f"SELECT {system_value}, {selected} FROM "
                f"(SELECT * FROM tmpl.{table} WHERE system_id = ? ORDER BY {key}) AS t "
                "CROSS JOIN bench_ids AS s",
                (template_system if table != "readings_agg_1d" else str(template_system),),
            )
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE tmpl")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
