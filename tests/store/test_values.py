"""Values the store cannot hold, on every backend: dropped or refused, the rest stored (issue 16, item 1)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from custom_components.liveone.store import Store, SystemInfo
from custom_components.liveone.vendors.model import Reading

from .conftest import NOON

RECEIVED = NOON + 3600


async def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    def _read() -> list[tuple[object, ...]]:
        with store.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]

    return await store.async_run(_read)


async def test_poll_with_bad_values_stores_the_rest_and_says_what_was_dropped(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="home"))
        batch = [
            Reading(inverter_time=NOON, solar_w=math.nan, load_w=300.0),
            Reading(inverter_time=NOON + 60, solar_w=1e300, battery_soc=250.0, solar_kwh_total=12.5),
            Reading(inverter_time=NOON + 120, grid_w=-math.inf, grid_in_kwh_total=-1.0, fault_code=2**40),
            Reading(inverter_time=NOON * 1000, solar_w=5.0),  # milliseconds
            Reading(inverter_time=-60, solar_w=5.0),  # 1969
            Reading(inverter_time=RECEIVED + 10 * 365 * 86400, solar_w=5.0),  # ten years ahead
            Reading(inverter_time=NOON + 180, solar_w=400.0),
        ]
        result = await store.async_record_poll(system_id, "demo", batch, started=RECEIVED - 1, now=RECEIVED)
        assert result.rows_written == 4
        assert len(result.problems) == 9
        rows = await _rows(
            store,
            "SELECT inverter_time, solar_w, load_w, battery_soc, solar_kwh_total, grid_w, grid_in_kwh_total,"
            " fault_code FROM readings ORDER BY inverter_time",
        )
        assert rows == [
            (NOON, None, 300, None, None, None, None, None),
            (NOON + 60, None, None, None, 12.5, None, None, None),
            (NOON + 120, None, None, None, None, None, None, None),
            (NOON + 180, 400, None, None, None, None, None, None),
        ]
        ((successful, rows_written, error),) = await _rows(
            store, "SELECT successful, rows_written, error FROM sessions"
        )
        assert (bool(successful), rows_written) == (True, 4)
        assert isinstance(error, str)
        assert error.startswith("stored with 9 problem(s): ")
        for expected in (
            f"at {NOON} dropped solar_w=nan: not a finite number",
            f"at {NOON + 60} dropped battery_soc=250.0: outside 0 .. 100",
            f"at {NOON + 120} dropped fault_code={2**40}: outside",
            f"reading refused: inverter_time={NOON * 1000}: more than a day after it was received (milliseconds?)",
            "reading refused: inverter_time=-60: before 2000-01-01",
        ):
            assert expected in error
        # The newest stored reading is the true one, not the one from ten years ahead.
        latest = await store.async_latest_reading(system_id)
        assert latest is not None
        assert latest.reading.inverter_time == NOON + 180
        # The status row counts a successful poll; no error is recorded for it.
        ((last_error, consecutive),) = await _rows(
            store, "SELECT last_error, consecutive_errors FROM polling_status"
        )
        assert (last_error, consecutive) == (None, 0)
    finally:
        await store.async_close()


async def test_backfill_path_applies_the_same_check(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="home"))
        result = await store.async_write_readings(
            system_id,
            [Reading(inverter_time=NOON, solar_w=math.nan), Reading(inverter_time=NOON * 1000)],
            received_time=RECEIVED,
        )
        assert result.rows_written == 1
        assert result.problems == (
            f"at {NOON} dropped solar_w=nan: not a finite number",
            f"reading refused: inverter_time={NOON * 1000}: more than a day after it was received (milliseconds?)",
        )
        assert await _rows(store, "SELECT inverter_time, solar_w FROM readings") == [(NOON, None)]
    finally:
        await store.async_close()
