"""Entity states of the demo system, polling into the store, and the 00:05 daily job."""

from __future__ import annotations

from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion

from custom_components.liveone.store import StoreError
from custom_components.liveone.vendors.demo import DemoSystem

from .conftest import NOON_LOCAL, async_next_poll, demo_entry


def _rows(entry: MockConfigEntry, sql: str) -> list[tuple[object, ...]]:
    engine = entry.runtime_data.coordinator.store.engine
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


async def _rows_async(hass: HomeAssistant, entry: MockConfigEntry, sql: str) -> list[tuple[object, ...]]:
    return await entry.runtime_data.coordinator.store.async_run(_rows, entry, sql)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR])
async def test_entity_states_snapshot(
    hass: HomeAssistant,
    platform: Platform,
    enable_custom_integrations: None,
    setup_liveone: str,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A day of simulated history first, so that the energy totals are not all zero."""
    freezer.move_to(NOON_LOCAL)
    entry = demo_entry(backfill_days=1)
    entry.add_to_hass(hass)
    with patch("custom_components.liveone.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_states_follow_the_simulation_every_minute(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Each minute the entities show the reading an independent simulation of the same site gives."""
    coordinator = init_integration.runtime_data.coordinator
    twin = DemoSystem(coordinator.client.system.site)
    start = twin.advance_to(coordinator.data.reading.inverter_time)
    assert start == coordinator.data.reading
    for _ in range(5):
        await async_next_poll(hass, freezer)
        expected = twin.advance_to(int(dt_util.utcnow().timestamp()))
        assert coordinator.data.reading == expected
        soc = hass.states.get("sensor.demo_home_battery_state_of_charge")
        assert float(soc.state) == expected.battery_soc
        assert float(hass.states.get("sensor.demo_home_grid_power").state) == expected.grid_w
        assert float(hass.states.get("sensor.demo_home_solar_energy").state) == expected.solar_kwh_total
    readings = await _rows_async(hass, init_integration, "SELECT count(*) FROM readings")
    assert readings == [(6,)]


async def test_each_poll_writes_readings_status_and_sessions(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await async_next_poll(hass, freezer, 10)
    entry = init_integration
    assert await _rows_async(
        hass, entry, "SELECT count(*), min(inverter_time), max(inverter_time) FROM readings"
    ) == [(11, 1755396000, 1755396600)]
    # 02:00 .. 02:10 UTC: readings at 02:00 (interval ending 02:00) and ten more up to 02:10.
    assert await _rows_async(
        hass, entry, "SELECT interval_end, sample_count FROM readings_agg_5m ORDER BY interval_end"
    ) == [(1755396000, 1), (1755396300, 5), (1755396600, 5)]
    assert await _rows_async(
        hass,
        entry,
        "SELECT total_polls, successful_polls, consecutive_errors, last_error FROM polling_status",
    ) == [(11, 11, 0, None)]
    assert await _rows_async(
        hass, entry, "SELECT count(*), sum(rows_written) FROM sessions WHERE cause='POLL'"
    ) == [(11, 11)]


async def test_store_failure_keeps_readings_and_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A database error mid-write loses nothing: the readings are written on the next good poll."""
    entry = init_integration
    store = entry.runtime_data.coordinator.store
    with patch.object(store, "async_record_batch", side_effect=StoreError("database is locked")):
        await async_next_poll(hass, freezer, 3)
    assert caplog.text.count("Cannot write Demo Home's readings") == 1  # logged once, not per poll
    assert hass.states.get("sensor.demo_home_solar_power").state != STATE_UNAVAILABLE
    assert await _rows_async(hass, entry, "SELECT count(*) FROM readings") == [(1,)]

    await async_next_poll(hass, freezer)
    assert await _rows_async(hass, entry, "SELECT count(*) FROM readings") == [(5,)]
    assert "accepts Demo Home's readings again" in caplog.text


async def test_daily_job_runs_at_0005_local(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    setup_liveone: str,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Set up at 23:50 local with a day of history; at 00:05 the day that just ended is aggregated."""
    freezer.move_to("2025-08-17T13:50:00+00:00")  # 23:50 AEST on the 17th
    entry = demo_entry(backfill_days=1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Setup caught up the finished 16th; the 17th is still running.
    days = await _rows_async(hass, entry, "SELECT day FROM readings_agg_1d ORDER BY day")
    assert days == [("2025-08-16",)]

    # The system goes quiet at 23:50 (no new readings), so no write completes the 17th.
    with patch.object(entry.runtime_data.coordinator.client, "async_get_readings", return_value=[]):
        await async_next_poll(hass, freezer, 14)
        assert await _rows_async(hass, entry, "SELECT max(inverter_time) FROM readings") == [(1755438600,)]
        assert await _rows_async(hass, entry, "SELECT day FROM readings_agg_1d ORDER BY day") == [
            ("2025-08-16",)
        ]
        freezer.move_to("2025-08-17T14:05:00+00:00")  # 00:05 AEST on the 18th: the job runs
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    rows = await _rows_async(
        hass, entry, "SELECT day, interval_count, solar_kwh FROM readings_agg_1d ORDER BY day"
    )
    assert [row[0] for row in rows] == ["2025-08-16", "2025-08-17"]
    # The 17th's intervals ending 23:55 and 00:00 have no readings: 286 of 288.
    assert rows[1][1] == 286
    assert rows[1][2] > 0


async def test_daily_job_fires_only_at_0005_local(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    with patch.object(coordinator, "async_run_daily_aggregation", return_value=[]) as job:
        for moment, calls in (
            ("2025-08-17T14:04:00+00:00", 0),  # 00:04 AEST
            ("2025-08-17T14:05:00+00:00", 1),  # 00:05 AEST
            ("2025-08-18T00:05:00+00:00", 1),  # 00:05 UTC is 10:05 AEST: not the system's midnight
            ("2025-08-18T14:04:00+00:00", 1),
            ("2025-08-18T14:05:00+00:00", 2),
        ):
            freezer.move_to(moment)
            async_fire_time_changed(hass)
            await hass.async_block_till_done(wait_background_tasks=True)
            assert job.call_count == calls, moment


async def test_daily_job_failure_is_logged(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = init_integration.runtime_data.coordinator.store
    with patch.object(store, "async_catch_up_days", side_effect=StoreError("no space left")):
        freezer.move_to("2025-08-17T14:05:00+00:00")
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert "Daily aggregation of Demo Home failed: no space left" in caplog.text
