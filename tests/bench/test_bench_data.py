"""The benchmark's data (bench/data.py) stays valid: what it generates and copies is what the store writes."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import data
from custom_components.liveone.store import aggregate, writer
from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.schema import readings, readings_agg_1d, readings_agg_5m

DAYS = 2
LATER = data.YEAR_START + 10 * data.DAY  # every day of the data is finished


def _rows(conn: sa.Connection, table: sa.Table, system_id: int | str) -> list[dict[str, Any]]:
    order = table.c.interval_end if "interval_end" in table.c else table.c.day
    found = conn.execute(sa.select(table).where(table.c.system_id == system_id).order_by(order)).mappings()
    return [
        {k: v for k, v in row.items() if k not in ("id", "system_id", "created_at", "updated_at")}
        for row in found
    ]


def test_generated_readings_copy_to_many_systems_as_the_store_would_write_them(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    data.create_store_file(template, 1)
    batches = list(data.demo_batches(DAYS, 1000))
    assert sum(len(batch) for batch in batches) == DAYS * 1440
    assert all(
        b.inverter_time - a.inverter_time == 60 for batch in batches for a, b in itertools.pairwise(batch)
    )
    engine = create_engine(f"sqlite:///{template}")
    try:
        with engine.begin() as conn:
            for batch in batches:
                assert batch == [reading.normalized() for reading in batch]  # at the store's precision
                writer.write_readings(conn, 1, batch, received_time=LATER, now=LATER)
        with engine.connect() as conn:
            stored = [
                tuple(row) for row in conn.execute(sa.select(*(readings.c[n] for n in data.READING_COLUMNS)))
            ]
            assert len(conn.execute(sa.select(readings_agg_5m.c.id)).all()) == DAYS * 288
            assert len(conn.execute(sa.select(readings_agg_1d.c.id)).all()) == DAYS
    finally:
        engine.dispose()
    # The plain-sqlite3 side of the ingest figure inserts exactly the rows the store wrote.
    plain = [row for batch in batches for row in data.reading_rows(1, batch, LATER, LATER)]
    assert plain == stored

    big = tmp_path / "big.db"
    data.replicate(template, big, 3)
    engine = create_engine(f"sqlite:///{big}")
    try:
        with engine.connect() as conn:
            copied = {table.name: _rows(conn, table, 2) for table in (readings_agg_5m, readings_agg_1d)}
            assert copied["readings_agg_5m"] == _rows(conn, readings_agg_5m, 3)
            times = conn.execute(sa.select(readings.c.system_id).order_by(readings.c.id).limit(6)).scalars()
            assert list(times) == [1, 2, 3, 1, 2, 3]  # time-major, as a live store fills up
        with engine.begin() as conn:
            # The copied aggregates are the ones the store computes from the copied readings.
            aggregate.rebuild(
                conn, 2, data.local_date(data.YEAR_START), data.local_date(LATER - data.DAY), now=LATER
            )
            rebuilt = {table.name: _rows(conn, table, 2) for table in (readings_agg_5m, readings_agg_1d)}
    finally:
        engine.dispose()
    assert rebuilt == copied
    assert len(copied["readings_agg_1d"]) == DAYS
