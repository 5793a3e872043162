"""How the coordinator handles vendor errors: recorded, entities unavailable, recovery, reauth."""

from __future__ import annotations

from dataclasses import replace
import math
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import sqlalchemy as sa

from custom_components.liveone.store import StoreError
from custom_components.liveone.vendors.demo import DemoClient
from custom_components.liveone.vendors.model import AuthError, ConnectError, InvalidResponse, RateLimited

from .conftest import NOON_LOCAL, async_next_poll

SOLAR = "sensor.demo_home_solar_power"


async def _polling_status(entry: MockConfigEntry) -> tuple[object, ...]:
    def _read() -> tuple[object, ...]:
        with entry.runtime_data.store.engine.connect() as conn:
            return tuple(
                conn.execute(
                    sa.text(
                        "SELECT total_polls, successful_polls, consecutive_errors, last_error FROM polling_status"
                    )
                ).one()
            )

    return await entry.runtime_data.store.async_run(_read)


async def test_vendor_errors_are_recorded_and_recovered(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    with patch.object(DemoClient, "async_get_readings", side_effect=ConnectError("503 Service Unavailable")):
        await async_next_poll(hass, freezer, 2)
        assert hass.states.get(SOLAR).state == STATE_UNAVAILABLE
    assert await _polling_status(init_integration) == (3, 1, 2, "ConnectError: 503 Service Unavailable")
    coordinator = init_integration.runtime_data
    assert isinstance(coordinator.last_exception, UpdateFailed)

    await async_next_poll(hass, freezer)
    assert hass.states.get(SOLAR).state != STATE_UNAVAILABLE
    assert await _polling_status(init_integration) == (4, 2, 0, "ConnectError: 503 Service Unavailable")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AuthError("bad password"), ConfigEntryAuthFailed),
        (InvalidResponse("truncated JSON"), UpdateFailed),
        (RateLimited("429", retry_after=60), UpdateFailed),
    ],
)
async def test_error_types_map_to_ha_errors(
    hass: HomeAssistant, init_integration: MockConfigEntry, error: Exception, expected: type[Exception]
) -> None:
    coordinator = init_integration.runtime_data
    with (
        patch.object(coordinator.client, "async_get_readings", side_effect=error),
        pytest.raises(expected),
    ):
        await coordinator._async_update_data()


async def test_failed_poll_is_still_counted_when_the_store_also_fails(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data
    with (
        patch.object(coordinator.client, "async_get_readings", side_effect=ConnectError("timeout")),
        patch.object(coordinator.store, "async_record_poll", side_effect=StoreError("locked")),
        pytest.raises(UpdateFailed),
    ):
        await coordinator._async_update_data()


async def test_no_reading_at_first_poll_retries_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    with patch(
        "custom_components.liveone.coordinator.DemoCoordinator._async_fetch", AsyncMock(return_value=[])
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_repeated_reading_keeps_the_data(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A vendor that sends the same inverter time again is 'no new data', not an error."""
    coordinator = init_integration.runtime_data
    first = coordinator.data
    with patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[first.reading])):
        await async_next_poll(hass, freezer)
    assert coordinator.last_update_success
    assert coordinator.data is first
    assert await _polling_status(init_integration) == (2, 2, 0, None)


async def test_store_unavailable_while_registering_retries_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.liveone.store.Store.async_ensure_system", side_effect=StoreError("locked")):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_remove_entry_survives_a_store_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    with patch("custom_components.liveone.store.Store.async_set_status", side_effect=StoreError("readonly")):
        assert await hass.config_entries.async_remove(init_integration.entry_id)
    assert "Could not mark Demo Home removed in the LiveOne store: readonly" in caplog.text


async def test_store_failure_while_preparing_retries_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    with patch(
        "custom_components.liveone.store.Store.async_latest_reading", side_effect=StoreError("locked")
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "Unexpected error" not in caplog.text


async def test_poll_clock_drift_neither_repeats_nor_skips_minutes(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """HA's refresh fires near the minute boundary, a little early or late; every minute is stored once."""
    coordinator = init_integration.runtime_data
    for moment in (
        "2025-08-17T02:00:59.8+00:00",
        "2025-08-17T02:02:00.3+00:00",
        "2025-08-17T02:02:59.9+00:00",
    ):
        freezer.move_to(moment)
        await coordinator.async_refresh()

    def _times() -> list[int]:
        with coordinator.store.engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT inverter_time FROM readings ORDER BY 1")).scalars())

    assert await coordinator.store.async_run(_times) == [1755396000, 1755396060, 1755396120]
    assert coordinator.data.reading.inverter_time == 1755396120


async def test_first_poll_without_new_data_shows_the_stored_reading(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
) -> None:
    """After a restart, an inverter that has not moved on still shows its last stored reading."""
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    stored = mock_config_entry.runtime_data.data.reading
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    with patch(
        "custom_components.liveone.coordinator.DemoCoordinator._async_fetch", AsyncMock(return_value=[])
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.runtime_data.data.reading == stored
    assert hass.states.get(SOLAR).state == str(stored.solar_w)


async def test_store_failure_reading_the_stored_data_is_not_ready(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data
    coordinator.data = None  # as at a first poll
    with (
        patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[])),
        patch.object(coordinator.store, "async_latest_reading", side_effect=StoreError("locked")),
        pytest.raises(UpdateFailed),
    ):
        await coordinator._async_update_data()


def test_base_coordinator_knows_no_vendor_details(mock_config_entry: MockConfigEntry) -> None:
    """A vendor without a details page adds a system with just its identity."""
    from custom_components.liveone.coordinator import LiveOneCoordinator

    assert LiveOneCoordinator.system_details(mock_config_entry) == {}
    info = LiveOneCoordinator.system_info(mock_config_entry)
    assert (info.vendor_type, info.vendor_site_id, info.model, info.serial) == (
        "demo",
        "demo_home",
        None,
        None,
    )


# ------------------------------------------------------------------------------------------------
# Bad vendor values (issue 16): the rest of the poll is stored, the poll's session says what was not


async def _query(entry: MockConfigEntry, sql: str) -> list[tuple[object, ...]]:
    def _read() -> list[tuple[object, ...]]:
        with entry.runtime_data.store.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]

    return await entry.runtime_data.store.async_run(_read)


BAD_VALUES = [
    pytest.param({"solar_w": math.nan}, "solar_w=nan: not a finite number", id="nan"),
    pytest.param({"solar_w": 1e300}, "solar_w=1e+300: outside", id="1e300"),
    pytest.param({"battery_soc": 140.0}, "battery_soc=140.0: outside 0 .. 100", id="soc"),
    pytest.param({"solar_kwh_total": -3.0}, "solar_kwh_total=-3.0: outside", id="negative-total"),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_VALUES)
async def test_bad_value_is_dropped_and_the_rest_of_the_poll_stored(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    bad: dict[str, float],
    reason: str,
) -> None:
    coordinator = init_integration.runtime_data
    first = coordinator.data.reading
    good = replace(first, inverter_time=first.inverter_time + 30)
    broken = replace(first, inverter_time=first.inverter_time + 60, **bad)
    with patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[good, broken])):
        await async_next_poll(hass, freezer)
    assert coordinator.last_update_success
    assert coordinator._pending == []
    (field,) = bad
    rows = await _query(
        init_integration, f"SELECT inverter_time, {field}, load_w FROM readings ORDER BY inverter_time"
    )
    # Both readings are stored; only the broken reading's bad field is NULL, its other values kept.
    assert rows[-2:] == [
        (good.inverter_time, pytest.approx(getattr(good.normalized(), field)), round(first.load_w or 0)),
        (broken.inverter_time, None, round(first.load_w or 0)),
    ]
    # The poll was a success; its session row says which field was dropped and why.
    ((successful, error),) = await _query(
        init_integration, "SELECT successful, error FROM sessions ORDER BY id DESC LIMIT 1"
    )
    assert successful
    assert isinstance(error, str)
    assert f"at {broken.inverter_time} dropped {reason}" in error
    # The entities show the newest reading, without the bad value.
    assert coordinator.data.reading.inverter_time == broken.inverter_time
    assert getattr(coordinator.data.reading, field) is None


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        pytest.param(None, "(milliseconds?)", id="milliseconds"),
        pytest.param(10 * 365 * 86400, "more than a day after it was received", id="ten-years-ahead"),
        pytest.param(-(56 * 365 * 86400), "before 2000-01-01", id="1969"),
    ],
)
async def test_reading_with_an_implausible_time_is_refused_and_the_rest_stored(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    offset: int | None,
    reason: str,
) -> None:
    coordinator = init_integration.runtime_data
    first = coordinator.data.reading
    good = replace(first, inverter_time=first.inverter_time + 60)
    wrong_time = first.inverter_time * 1000 if offset is None else first.inverter_time + offset
    wrong = replace(first, inverter_time=wrong_time, solar_w=1.0)
    with patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[good, wrong])):
        await async_next_poll(hass, freezer)
    assert coordinator.last_update_success
    assert coordinator._pending == []
    times = [t for (t,) in await _query(init_integration, "SELECT inverter_time FROM readings ORDER BY 1")]
    assert times == [first.inverter_time, good.inverter_time]
    ((successful, rows_written, error),) = await _query(
        init_integration, "SELECT successful, rows_written, error FROM sessions ORDER BY id DESC LIMIT 1"
    )
    assert (successful, rows_written) == (True, 1)
    assert isinstance(error, str)
    assert f"reading refused: inverter_time={wrong_time}" in error
    assert reason in error
    # The refused reading never becomes the entities' newest: the next true reading still shows.
    assert coordinator.data.reading.inverter_time == good.inverter_time
    later = replace(first, inverter_time=first.inverter_time + 120, solar_w=777.0)
    with patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[later])):
        await async_next_poll(hass, freezer)
    assert hass.states.get(SOLAR).state == "777"


async def test_driver_failure_keeps_the_pending_readings_for_the_next_poll(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A value error inside the database driver is a StoreError: the poll's readings wait, none lost."""
    coordinator = init_integration.runtime_data
    first = coordinator.data.reading
    kept = replace(first, inverter_time=first.inverter_time + 60)
    with (
        patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[kept])),
        patch(
            "custom_components.liveone.store.writer._insert_readings",
            side_effect=OverflowError("Python int too large to convert to SQLite INTEGER"),
        ),
    ):
        await async_next_poll(hass, freezer)
    assert coordinator.last_update_success  # the vendor's data is good: entities stay available
    assert coordinator._pending == [kept]
    # The next poll brings a NaN too: both the kept reading and the new one are stored.
    nan = replace(first, inverter_time=first.inverter_time + 120, solar_w=math.nan)
    with patch.object(coordinator.client, "async_get_readings", AsyncMock(return_value=[nan])):
        await async_next_poll(hass, freezer)
    assert coordinator._pending == []
    rows = await _query(init_integration, "SELECT inverter_time, solar_w FROM readings ORDER BY 1")
    assert [t for t, _ in rows] == [first.inverter_time, kept.inverter_time, nan.inverter_time]
    assert rows[-1][1] is None
