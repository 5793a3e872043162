"""An automation on the battery's state of charge fires when the simulated SOC crosses its threshold."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.liveone.vendors.demo import DemoSystem

from .conftest import async_next_poll

SOC = "sensor.demo_home_battery_state_of_charge"


async def test_numeric_state_trigger_on_battery_soc(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    now_reading = coordinator.data.reading
    # Predict the SOC of the coming minutes with an independent simulation of the same site.
    twin = DemoSystem(coordinator.client.system.site)
    twin.advance_to(now_reading.inverter_time)
    future = [twin.advance_to(now_reading.inverter_time + 60 * k) for k in range(1, 31)]
    changed_at = next(
        k for k, reading in enumerate(future, start=1) if reading.battery_soc != now_reading.battery_soc
    )
    start_soc = now_reading.battery_soc
    next_soc = future[changed_at - 1].battery_soc
    assert start_soc is not None
    assert next_soc is not None
    threshold = (start_soc + next_soc) / 2
    direction = "above" if next_soc > start_soc else "below"

    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "alias": "battery threshold",
                "trigger": {"platform": "numeric_state", "entity_id": SOC, direction: threshold},
                "action": {
                    "event": "liveone_soc_crossed",
                    "event_data": {"soc": "{{ trigger.to_state.state }}"},
                },
            }
        },
    )
    events = async_capture_events(hass, "liveone_soc_crossed")

    await async_next_poll(hass, freezer, changed_at - 1)
    assert events == []  # not yet crossed
    assert float(hass.states.get(SOC).state) == start_soc

    await async_next_poll(hass, freezer)
    assert len(events) == 1
    assert float(events[0].data["soc"]) == next_soc
