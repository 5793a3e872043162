"""The demo system's energy sensors pass Home Assistant's Energy dashboard validation."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy import data as energy_data, validate as energy_validate
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    get_start_time,
)

from custom_components.liveone.const import DOMAIN

from .conftest import NOON_LOCAL, async_next_poll, demo_entry


async def assert_energy_dashboard_valid(hass: HomeAssistant, device: str) -> None:
    """Wire a system's energy sensors into the Energy dashboard and assert HA's validator is happy."""
    sensor = f"sensor.{device}_{{}}_energy".format
    result = await async_validate_energy(
        hass,
        {
            "energy_sources": [
                {"type": "solar", "stat_energy_from": sensor("solar"), "config_entry_solar_forecast": None},
                {
                    "type": "grid",
                    "flow_from": [
                        {
                            "stat_energy_from": sensor("grid_import"),
                            "stat_cost": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "flow_to": [
                        {
                            "stat_energy_to": sensor("grid_export"),
                            "stat_compensation": None,
                            "entity_energy_price": None,
                            "number_energy_price": None,
                        }
                    ],
                    "cost_adjustment_day": 0,
                },
                {
                    "type": "battery",
                    "stat_energy_from": sensor("battery_discharge"),
                    "stat_energy_to": sensor("battery_charge"),
                },
            ],
            "device_consumption": [],
        },
    )
    assert result == {"energy_sources": [[], [], []], "device_consumption": []}


async def async_validate_energy(hass: HomeAssistant, preferences: dict[str, Any]) -> dict[str, Any]:
    """Save Energy dashboard preferences, let the recorder compile statistics, return HA's validation."""
    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(preferences)
    await async_wait_recording_done(hass)
    do_adhoc_statistics(hass, start=get_start_time(dt_util.utcnow()))
    await async_wait_recording_done(hass)
    result: dict[str, Any] = (await energy_validate.async_validate(hass)).as_dict()
    return result


async def test_energy_dashboard_validation_passes(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> None:
    freezer.move_to(NOON_LOCAL)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry(backfill_days=1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await async_next_poll(hass, freezer, 3)

    await assert_energy_dashboard_valid(hass, "demo_home")


async def test_validation_would_catch_a_broken_sensor(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> None:
    """The same check reports a problem for an entity that is not an energy total (so it can fail)."""
    freezer.move_to(NOON_LOCAL)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await async_validate_energy(
        hass,
        {
            "energy_sources": [
                {
                    "type": "solar",
                    "stat_energy_from": "sensor.demo_home_solar_power",
                    "config_entry_solar_forecast": None,
                }
            ]
        },
    )
    assert result["energy_sources"][0] != []
