"""How the coordinator handles vendor errors: recorded, entities unavailable, recovery, reauth."""

from __future__ import annotations

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
from custom_components.liveone.vendors.model import (
    AuthError,
    Batch,
    ConnectError,
    InvalidResponse,
    RateLimited,
)

from .conftest import NOON_LOCAL, async_next_poll

SOLAR = "sensor.demo_home_solar_power"


async def _polling_status(entry: MockConfigEntry) -> tuple[object, ...]:
    def _read() -> tuple[object, ...]:
        with entry.runtime_data.coordinator.store.engine.connect() as conn:
            return tuple(
                conn.execute(
                    sa.text(
                        "SELECT total_polls, successful_polls, consecutive_errors, last_error FROM polling_status"
                    )
                ).one()
            )

    return await entry.runtime_data.coordinator.store.async_run(_read)


async def test_vendor_errors_are_recorded_and_recovered(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    with patch.object(DemoClient, "async_get_readings", side_effect=ConnectError("503 Service Unavailable")):
        await async_next_poll(hass, freezer, 2)
        assert hass.states.get(SOLAR).state == STATE_UNAVAILABLE
    assert await _polling_status(init_integration) == (3, 1, 2, "ConnectError: 503 Service Unavailable")
    coordinator = init_integration.runtime_data.coordinator
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
    coordinator = init_integration.runtime_data.coordinator
    with (
        patch.object(coordinator.client, "async_get_readings", side_effect=error),
        pytest.raises(expected),
    ):
        await coordinator._async_update_data()


async def test_failed_poll_is_still_counted_when_the_store_also_fails(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    with (
        patch.object(coordinator.client, "async_get_readings", side_effect=ConnectError("timeout")),
        patch.object(coordinator.store, "async_record_batch", side_effect=StoreError("locked")),
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
        "custom_components.liveone.sources.demo.DemoCoordinator._async_fetch", AsyncMock(return_value=Batch())
    ):
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_repeated_reading_keeps_the_data(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A vendor that sends the same inverter time again is 'no new data', not an error."""
    coordinator = init_integration.runtime_data.coordinator
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
    coordinator = init_integration.runtime_data.coordinator
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
    stored = mock_config_entry.runtime_data.coordinator.data.reading
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    with patch(
        "custom_components.liveone.sources.demo.DemoCoordinator._async_fetch", AsyncMock(return_value=Batch())
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.runtime_data.coordinator.data.reading == stored
    assert hass.states.get(SOLAR).state == str(stored.solar_w)


async def test_store_failure_reading_the_stored_data_is_not_ready(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data.coordinator
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
