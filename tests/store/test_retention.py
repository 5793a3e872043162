"""Raw-reading retention: the purge deletes old readings in short steps, never an aggregate."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import Store, retention
from custom_components.liveone.store.aggregate import day_bounds, rebuild
from custom_components.liveone.store.retention import PurgedRangeError
from custom_components.liveone.store.schema import readings
from custom_components.liveone.store.systems import SystemInfo
from custom_components.liveone.vendors.model import Reading

from .conftest import LATER, MIDNIGHT, add_system, new_engine, rows_1d, rows_5m, write

FIRST = date(2025, 8, 17)  # MIDNIGHT's local day (UTC+10)
DAYS = 6


def _minute_readings(days: int = DAYS) -> list[Reading]:
    """One reading a minute from FIRST 00:01 for ``days`` days, with a rising solar total."""
    return [
        Reading(
            inverter_time=MIDNIGHT + 60 * n,
            solar_w=1000 + n % 300,
            load_w=500,
            battery_w=-100 + n % 50,
            battery_soc=50.0,
            solar_kwh_total=100 + n * 0.016,
        )
        for n in range(1, days * 1440 + 1)
    ]


async def _store_with_readings(url: str) -> tuple[Store, int]:
    """Open a store at ``url`` holding one system with :func:`_minute_readings`; return both."""
    store = await Store.async_open(url)
    system_id = await store.async_ensure_system(
        SystemInfo(vendor_type="demo", vendor_site_id="x", display_name="x", timezone_offset_min=600)
    )
    await store.async_write_readings(system_id, _minute_readings(), received_time=LATER)
    return store, system_id


def _times(engine: Engine, system_id: int) -> list[int]:
    with engine.connect() as conn:
        query = sa.select(readings.c.inverter_time).where(readings.c.system_id == system_id)
        return sorted(int(t) for t in conn.execute(query).scalars())


async def test_purge_deletes_old_readings_in_steps_and_keeps_every_aggregate(store_url: str) -> None:
    engine = new_engine(store_url)
    with engine.begin() as conn:
        system_id = add_system(conn)
        other = add_system(conn, site="2")
    write(engine, system_id, _minute_readings())
    write(engine, other, _minute_readings(2))
    with engine.connect() as conn:
        before_5m, before_1d = rows_5m(conn, system_id), rows_1d(conn, system_id)
    engine.dispose()
    assert len(before_1d) == DAYS

    store = await Store.async_open(store_url)
    try:
        today = FIRST + timedelta(days=DAYS)  # the day after the data: every day has its row
        # A tiny step target makes the steps as small as allowed: many transactions, none large.
        result = await retention.async_purge(store.async_transaction, system_id, 2, today, step_seconds=1e-9)
    finally:
        await store.async_close()

    cutoff = day_bounds(today - timedelta(days=2), 600)[0]  # the last 2 local days stay
    assert result.cutoff == cutoff
    assert result.deleted == (DAYS - 2) * 1440
    assert result.steps > 1
    engine = new_engine(store_url)
    kept = _times(engine, system_id)
    assert kept[0] == cutoff + 60
    assert len(kept) == 2 * 1440
    assert len(_times(engine, other)) == 2 * 1440  # another system's readings are untouched
    with engine.connect() as conn:
        assert rows_5m(conn, system_id) == before_5m
        assert rows_1d(conn, system_id) == before_1d
    engine.dispose()


async def test_purge_waits_for_the_daily_rows_and_refuses_nonsense(store_url: str) -> None:
    engine = new_engine(store_url)
    with engine.begin() as conn:
        system_id = add_system(conn)
    # Written "today": the last day is open, and the days before it have their rows.
    today = FIRST + timedelta(days=DAYS - 1)
    now = day_bounds(today, 600)[0] + 3600
    write(engine, system_id, [r for r in _minute_readings() if r.inverter_time <= now], now=now)
    with engine.begin() as conn:
        # With keep_days 1 the cutoff would be the start of yesterday; the newest daily row is
        # for the day before today, so it holds.
        assert (
            retention.purge_cutoff(conn, system_id, 1, today) == day_bounds(today - timedelta(days=1), 600)[0]
        )
        # Ten days into the future: the cutoff is capped at the end of the newest aggregated day.
        later = today + timedelta(days=10)
        assert (
            retention.purge_cutoff(conn, system_id, 1, later) == day_bounds(today - timedelta(days=1), 600)[1]
        )
        with pytest.raises(ValueError, match="at least 1"):
            retention.purge_cutoff(conn, system_id, 0, today)
        fresh = add_system(conn, site="fresh")
        write_result = retention.purge_cutoff(conn, fresh, 3, today)
    assert write_result is None  # no daily row yet: nothing may go
    store = await Store.async_open(store_url)
    try:
        nothing = await store.async_purge_raw(fresh, 3, today)
    finally:
        await store.async_close()
    assert nothing == retention.PurgeResult(0, None, 0, 0.0)
    engine.dispose()


async def test_sqlite_purge_hands_the_space_back(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    store, system_id = await _store_with_readings(url)
    try:
        await store.async_run(store.engine.dispose)
        full = path.stat().st_size
        result = await store.async_purge_raw(system_id, 1, FIRST + timedelta(days=DAYS))

        def freelist() -> int:
            with store.engine.connect() as conn:
                return int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)

        assert await store.async_run(freelist) == 0
    finally:
        await store.async_close()
    assert result.deleted == (DAYS - 1) * 1440
    assert result.pages_freed > 0
    assert path.stat().st_size < full * 0.8


async def test_rebuild_of_purged_days_is_refused_with_the_first_day_that_can_be(store_url: str) -> None:
    engine = new_engine(store_url)
    with engine.begin() as conn:
        system_id = add_system(conn)
    write(engine, system_id, _minute_readings())
    engine.dispose()
    store = await Store.async_open(store_url)
    try:
        # Before any purge every day can be rebuilt.
        intervals, days = await store.async_rebuild(system_id, FIRST, FIRST, now=LATER)
        assert (intervals, days) == (289, 2)  # the day, and the first interval after it (its segment)
        await store.async_purge_raw(system_id, 3, FIRST + timedelta(days=DAYS))
        kept_from = FIRST + timedelta(days=DAYS - 3)  # readings from its 00:01 on
        with pytest.raises(PurgedRangeError) as caught:
            await store.async_rebuild(
                system_id, FIRST + timedelta(days=1), FIRST + timedelta(days=5), now=LATER
            )
        message = str(caught.value)
        assert "were purged" in message
        # The first kept day's first segment starts at the purged 00:00 reading: it cannot be rebuilt
        # either; the day after it can.
        assert f"rebuild from {(kept_from + timedelta(days=1)).isoformat()} or later" in message
        with pytest.raises(PurgedRangeError):
            await store.async_rebuild(system_id, kept_from, kept_from, now=LATER)
        assert await store.async_rebuild(
            system_id, kept_from + timedelta(days=1), kept_from + timedelta(days=2), now=LATER
        ) == (576, 2)  # the last two days: no row after them
    finally:
        await store.async_close()


def test_raw_floor_with_every_reading_gone(engine: Engine) -> None:
    with engine.begin() as conn:
        system_id = add_system(conn)
    write(engine, system_id, _minute_readings(1))
    with engine.begin() as conn:
        assert retention.raw_floor(conn, system_id) is None
        conn.execute(readings.delete())
        newest = max(row["interval_end"] for row in rows_5m(conn, system_id))
        assert retention.raw_floor(conn, system_id) == newest + 1
        with pytest.raises(PurgedRangeError):
            retention.check_rebuild(conn, system_id, FIRST)
        # A system that never had readings has nothing purged.
        empty = add_system(conn, site="empty")
        assert retention.raw_floor(conn, empty) is None
        assert rebuild(conn, empty, FIRST, FIRST, now=LATER) == (0, 0)


async def test_every_delete_and_vacuum_step_is_followed_by_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write-ahead log is copied back after each step, so no step's commit runs SQLite's own checkpoint."""
    monkeypatch.setattr(retention, "VACUUM_STEP_PAGES", 10)  # several vacuum steps for this small file
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store, system_id = await _store_with_readings(url)
    try:
        jobs: list[tuple[str, Any]] = []

        async def transaction(func: Any, *args: Any) -> Any:
            result = await store.async_transaction(func, *args)
            jobs.append((func.__name__, result))
            return result

        today = FIRST + timedelta(days=DAYS)
        result = await retention.async_purge(transaction, system_id, 1, today, step_seconds=1e-9)
    finally:
        await store.async_close()
    names = [name for name, _ in jobs]
    assert names[0] == "purge_cutoff"
    work = names[1:]
    assert work.count("delete_step") == result.steps > 1
    assert work.count("vacuum_step") > 1  # the smallest vacuum steps: several of them
    assert work[0::2] == [name for name in work if name != "checkpoint_step"]
    assert set(work[1::2]) == {"checkpoint_step"}
    # Each checkpoint copied the frames the step before it wrote.
    assert all(frames > 0 for name, frames in jobs if name == "checkpoint_step")
    assert sum(pages for name, pages in jobs if name == "vacuum_step") == result.pages_freed > 0


def test_a_vacuum_step_hands_back_the_pages_asked_for(tmp_path: Path) -> None:
    engine = new_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        system_id = add_system(conn)
    write(engine, system_id, _minute_readings(2))
    with engine.begin() as conn:
        conn.execute(readings.delete())
    with engine.begin() as conn:
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        assert free > 30
        # SQLite frees one page per step of the statement: all 25 asked for, not the first one only.
        assert retention.vacuum_step(conn, 25) == 25
        assert retention.vacuum_step(conn, free) == free - 25
        assert retention.vacuum_step(conn, 10) == 0
        assert int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0) == 0
    engine.dispose()


def test_checkpoint_step_only_acts_on_an_sqlite_log(store_url: str, tmp_path: Path) -> None:
    engine = new_engine(store_url)
    with engine.begin() as conn:
        add_system(conn)
    with engine.connect() as conn:
        copied = retention.checkpoint_step(conn)
    engine.dispose()
    if not store_url.startswith("sqlite"):
        assert copied == 0  # the server keeps its own log
        return
    assert copied > 0
    # A file not in WAL mode has no log to copy.
    plain = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with plain.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    with plain.connect() as conn:
        assert retention.checkpoint_step(conn) == 0
    plain.dispose()


def test_steps_are_sized_for_the_slowest_rate_seen() -> None:
    sizer = retention._Sizer(0.03, 100, 50_000)
    assert sizer.next(1000) == 1500  # nothing seen yet: grows by half
    sizer.seen(1000, 0.01)  # 10 µs a row: 3,000 rows would take 30 ms, but growth is at most half
    assert sizer.next(1000) == 1500
    assert sizer.next(2800) == 3000
    sizer.seen(3000, 0.09)  # one slow range: 30 µs a row
    assert sizer.next(3000) == 1000
    sizer.seen(1000, 0.001)  # a fast one does not undo it: sized for the worst seen
    assert sizer.next(1000) == 1000
    sizer.seen(100, 1.0)  # very slow: never below the floor
    assert sizer.next(1000) == 100
