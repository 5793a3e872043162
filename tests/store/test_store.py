"""The Store facade: its worker thread, its transactions, and what a database error leaves behind."""

from __future__ import annotations

import asyncio
from pathlib import Path
import threading

import pytest
import sqlalchemy as sa

from custom_components.liveone.store import (
    BatchResult,
    Caller,
    NoAccessError,
    NotPermittedError,
    OwnerRequiredError,
    PointWriteResult,
    Store,
    StoreError,
    SystemInfo,
    SystemNotFoundError,
    WriteResult,
    redact_url,
)
from custom_components.liveone.store.engine import default_url
from custom_components.liveone.vendors.model import Batch, Interval, PointReading, Reading

T0 = 1_755_404_100  # 2025-08-17 04:15:00 UTC, on a 5-minute mark

# A trigger that makes every insert into sessions fail, as a database error in the middle of a poll.
FAILING_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER fail_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_sessions() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$",
        "CREATE TRIGGER fail_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION fail_sessions()",
    ],
    "mysql": [
        "CREATE TRIGGER fail_sessions BEFORE INSERT ON sessions FOR EACH ROW "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk on fire'"
    ],
}
DROP_TRIGGER = {
    "sqlite": "DROP TRIGGER fail_sessions",
    "postgresql": "DROP TRIGGER fail_sessions ON sessions",
    "mysql": "DROP TRIGGER fail_sessions",
}


def _store_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("liveone_store")]


def _count(store: Store, sql: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


async def test_open_and_close_join_the_worker(store_url: str) -> None:
    store = await Store.async_open(store_url)
    await store.async_run(lambda: None)
    assert len(_store_threads()) == 1
    await store.async_close()
    assert store.closed
    assert _store_threads() == []
    await store.async_close()  # closing twice is harmless
    with pytest.raises(StoreError, match="closed"):
        await store.async_run(lambda: None)


async def test_work_runs_on_the_worker_thread(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        name = await store.async_run(lambda: threading.current_thread().name)
        assert name.startswith("liveone_store")
        assert name != threading.current_thread().name
    finally:
        await store.async_close()


async def test_unopenable_database_is_a_clear_error_without_a_leaked_thread(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises((StoreError, OSError)):
        await Store.async_open(f"sqlite:///{blocker}/sub/liveone.db")
    assert _store_threads() == []


async def test_garbage_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "liveone.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        await Store.async_open(f"sqlite:///{path}")
    assert _store_threads() == []


def test_urls() -> None:
    assert (
        redact_url("postgresql://user:s3cret@db.example/liveone")
        == "postgresql://user:***@db.example/liveone"
    )
    assert default_url("/config") == "sqlite:////config/liveone/liveone.db"


async def test_systems_registry(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        info = SystemInfo(vendor_type="demo", vendor_site_id="home", display_name="Home", owner_user_id="u1")
        system_id = await store.async_ensure_system(info)
        again = await store.async_ensure_system(
            SystemInfo(
                vendor_type="demo",
                vendor_site_id="home",
                display_name="Renamed",
                model="X",
                location={"lat": 1},
            )
        )
        assert again == system_id
        row = await store.async_get_system(system_id)
        assert row is not None
        assert (row["display_name"], row["model"], row["location"], row["owner_clerk_user_id"]) == (
            "Renamed",
            "X",
            '{"lat": 1}',
            "u1",
        )
        assert await store.async_find_system("demo", "home") == system_id
        assert await store.async_find_system("demo", "other") is None
        await store.async_ensure_system(info)  # the owner row is not duplicated
        assert _count(store, "SELECT count(*) FROM user_systems WHERE role = 'owner'") == 1

        await store.async_set_status(system_id, "removed")
        assert (await store.async_get_system(system_id) or {})["status"] == "removed"
        await store.async_ensure_system(info)  # adding it again brings it back
        assert (await store.async_get_system(system_id) or {})["status"] == "active"
        with pytest.raises(ValueError, match="unknown system status"):
            await store.async_set_status(system_id, "gone")
        assert await store.async_get_system(999) is None
    finally:
        await store.async_close()


async def test_record_poll_stores_readings_status_and_session(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="a"))
        assert await store.async_latest_reading(system_id) is None
        assert await store.async_polling_status(system_id) is None
        readings = [
            Reading(inverter_time=T0 + 60 * i, solar_w=1000.4 + i, battery_soc=50.04) for i in range(3)
        ]
        result = await store.async_record_batch(
            system_id, "demo", Batch(readings=tuple(readings)), started=T0 + 170, now=T0 + 180
        )
        assert result.rows_written == 3
        latest = await store.async_latest_reading(system_id)
        assert latest is not None
        assert latest.reading.inverter_time == T0 + 120
        assert latest.reading.solar_w == 1002  # stored whole watts
        assert latest.reading.battery_soc == 50.0
        assert (latest.received_time, latest.delay_seconds) == (T0 + 180, 60)
        status = await store.async_polling_status(system_id)
        assert status is not None
        assert (status["total_polls"], status["successful_polls"], status["consecutive_errors"]) == (1, 1, 0)
        assert _count(store, "SELECT duration_ms FROM sessions") == 10_000
        assert _count(store, "SELECT rows_written FROM sessions") == 3
    finally:
        await store.async_close()


async def test_database_error_mid_write_stores_nothing(store_url: str) -> None:
    """A failure in the last statement of a poll rolls back its readings and aggregates too."""
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="a"))
        with store.engine.begin() as conn:
            for statement in FAILING_TRIGGER[conn.dialect.name]:
                conn.exec_driver_sql(statement)
        readings = [Reading(inverter_time=T0 + 60 * i, solar_w=500) for i in range(5)]
        with pytest.raises(StoreError, match="disk on fire"):
            await store.async_record_batch(
                system_id, "demo", Batch(readings=tuple(readings)), started=T0, now=T0 + 300
            )
        for table in ("readings", "readings_agg_5m", "polling_status", "sessions"):
            assert _count(store, f"SELECT count(*) FROM {table}") == 0, table

        with store.engine.begin() as conn:
            conn.exec_driver_sql(DROP_TRIGGER[conn.dialect.name])
        result = await store.async_record_batch(
            system_id, "demo", Batch(readings=tuple(readings)), started=T0, now=T0 + 300
        )
        assert result.rows_written == 5
        assert _count(store, "SELECT count(*) FROM readings") == 5
    finally:
        await store.async_close()


async def test_in_memory_store_keeps_one_database() -> None:
    """``sqlite://`` (in memory) shares one connection, or each transaction would see an empty database."""
    store = await Store.async_open("sqlite://")
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="m"))
        assert await store.async_find_system("demo", "m") == system_id
    finally:
        await store.async_close()


async def test_store_newer_than_the_code_is_refused(store_url: str) -> None:
    store = await Store.async_open(store_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = version + 1"))
    await store.async_close()
    with pytest.raises(StoreError, match=r"cannot open the store at .*newer than this LiveOne supports"):
        await Store.async_open(store_url)
    assert _store_threads() == []


async def test_record_batch_stores_everything_in_one_call(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="b"))
        batch = Batch(
            readings=(
                Reading(inverter_time=T0 + 60, solar_w=100),
                Reading(inverter_time=T0 + 120, solar_w=300),
            ),
            intervals=(
                Interval(interval_end=T0 + 3600, solar_wh=40),
                Interval(interval_end=T0 + 3300, solar_wh=25),
            ),
            points=(
                PointReading(
                    point_id="p1",
                    point_sub_id="power",
                    name="Pool pump",
                    metric_type="power",
                    metric_unit="W",
                    measurement_time_ms=(T0 + 30) * 1000,
                    value=750.0,
                ),
            ),
            raw='{"body": 1}',
        )
        result = await store.async_record_batch(system_id, "demo", batch, started=T0 + 3590, now=T0 + 3600)
        assert isinstance(result, BatchResult)
        assert result.rows_written == 4  # two readings, two vendor intervals
        assert result.intervals == (T0 + 300, T0 + 3300, T0 + 3600)
        assert result.days == ()  # the day is still running
        assert result.points == PointWriteResult(values_written=1, points_created=1, intervals=1)
        assert result.write_result == WriteResult(4, result.intervals, ())
        assert _count(store, "SELECT count(*) FROM readings") == 2
        assert (
            _count(
                store, "SELECT solar_kwh_total_last * 1000 FROM readings_agg_5m WHERE solar_interval_wh = 40"
            )
            == 65
        )
        assert _count(store, "SELECT count(*) FROM point_readings") == 1
        assert _count(store, "SELECT rows_written FROM sessions") == 5  # every row stored, points too
        assert _count(store, "SELECT duration_ms FROM sessions") == 10_000
        with store.engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT last_response FROM polling_status")).scalar_one()
                == '{"body": 1}'
            )
        # A failed poll stores an empty batch: the status counts it and keeps the last body.
        failed = await store.async_record_batch(
            system_id, "demo", Batch(), started=T0 + 3660, error="timeout", now=T0 + 3661
        )
        assert failed == BatchResult(0, (), (), None, failed.session_id)
        status = await store.async_polling_status(system_id)
        assert status is not None
        assert (status["total_polls"], status["consecutive_errors"], status["last_error"]) == (
            2,
            1,
            "timeout",
        )
        with store.engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT last_response FROM polling_status")).scalar_one()
                == '{"body": 1}'
            )
    finally:
        await store.async_close()


async def test_a_failing_part_of_a_batch_stores_nothing(store_url: str) -> None:
    """A bad vendor interval after good readings, or a database error at the session, rolls back all."""
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="c"))
        readings = tuple(Reading(inverter_time=T0 + 60 * i, solar_w=500) for i in range(5))
        bad = Batch(
            readings=readings, intervals=(Interval(interval_end=T0 + 3600, solar_w_avg=1e12),), raw="x"
        )
        with pytest.raises(StoreError, match="outside the column's range"):
            await store.async_record_batch(system_id, "demo", bad, started=T0, now=T0 + 300)
        with store.engine.begin() as conn:
            for statement in FAILING_TRIGGER[conn.dialect.name]:
                conn.exec_driver_sql(statement)
        good = Batch(readings=readings, intervals=(Interval(interval_end=T0 + 3600, solar_wh=1),), raw="y")
        with pytest.raises(StoreError, match="disk on fire"):
            await store.async_record_batch(system_id, "demo", good, started=T0, now=T0 + 300)
        for table in ("readings", "readings_agg_5m", "readings_agg_1d", "polling_status", "sessions"):
            assert _count(store, f"SELECT count(*) FROM {table}") == 0, table
    finally:
        await store.async_close()


async def test_write_intervals_without_a_poll(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="d"))
        result = await store.async_write_intervals(
            system_id, [Interval(interval_end=T0 + 300, solar_wh=7)], now=T0 + 400
        )
        assert result == WriteResult(1, (T0 + 300,), ())
        assert _count(store, "SELECT created_at FROM readings_agg_5m") == T0 + 400
        assert _count(store, "SELECT count(*) FROM sessions") == 0
    finally:
        await store.async_close()


async def test_check_and_grant_is_one_store_call(store_url: str) -> None:
    """A revoke of the granter queued before the grant makes the grant refused, not half-checked.

    The old two-call form (check, then grant) passed its check before the revoke ran and granted after it.
    """
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(
            SystemInfo(vendor_type="demo", vendor_site_id="g", owner_user_id="olga")
        )
        olga, adam = Caller(user_id="olga", is_admin=False), Caller(user_id="adam", is_admin=False)
        assert await store.async_grant(olga, system_id, "adam", "admin") is True
        assert (await store.async_lookup(adam, system_id, manage=True)).role == "admin"
        revoked, granted = await asyncio.gather(
            store.async_revoke(olga, system_id, "adam"),
            store.async_grant(adam, system_id, "ann", "admin"),
            return_exceptions=True,
        )
        assert revoked == "admin"
        assert isinstance(granted, SystemNotFoundError)
        assert _count(store, "SELECT count(*) FROM user_systems WHERE clerk_user_id = 'ann'") == 0
        await store.async_grant(olga, system_id, "adam", "admin")
        with pytest.raises(OwnerRequiredError):
            await store.async_grant(adam, system_id, "ann", "owner")
    finally:
        await store.async_close()


async def test_access_methods(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(
            SystemInfo(vendor_type="demo", vendor_site_id="h", owner_user_id="olga")
        )
        olga, vera = Caller(user_id="olga", is_admin=False), Caller(user_id="vera", is_admin=False)
        await store.async_grant(olga, system_id, "vera", "viewer")
        with pytest.raises(NotPermittedError):
            await store.async_lookup(vera, system_id, manage=True)
        with pytest.raises(NoAccessError):
            await store.async_revoke(olga, system_id, "nobody")
        assert [s.role for s in await store.async_visible_systems(vera)] == ["viewer"]
        await store.async_record_batch(
            system_id,
            "demo",
            Batch(readings=(Reading(inverter_time=T0 + 60, solar_w=5),)),
            started=T0,
            now=T0 + 70,
        )
        answer = await store.async_history(vera, system_id, "5m", last="1h", now=T0 + 70)
        assert answer["data"]
        with pytest.raises(SystemNotFoundError):
            await store.async_history(Caller(user_id="zed", is_admin=False), system_id, "5m", last="1h")
        assert await store.async_revoke_all(system_id) == 2
        assert await store.async_visible_systems(vera) == []
    finally:
        await store.async_close()
