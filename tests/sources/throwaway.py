"""Throw-away kinds of system, written as a new kind is (one module, then ``register``) and nothing else.

- ``meter``: a polling kind with one flow step, one sensor of its own and a fake HA-free client.
- ``pushed``: a push kind; the tests hand it batches as a webhook would.
- ``mirror``: a derived kind that shows half of another system's newest reading.
"""

from __future__ import annotations

from datetime import timedelta
import json
from typing import Any, ClassVar

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_NAME, UnitOfPower
from homeassistant.core import HomeAssistant, callback
import voluptuous as vol

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.coordinator import DerivedCoordinator, PollingCoordinator, PushCoordinator
from custom_components.liveone.descriptions import LiveOneSensorEntityDescription
from custom_components.liveone.flow import LiveOneFlowBase
from custom_components.liveone.registry import SourceKind
from custom_components.liveone.runtime import LiveOneConfigEntry
from custom_components.liveone.store import BatchResult
from custom_components.liveone.vendors.model import Batch, Reading, VendorError


class FakeMeterClient:
    """An HA-free client: a meter whose reading advances a minute per request."""

    def __init__(self, start: int) -> None:
        self.next_time = start
        self.requests = 0
        self.fail_with: VendorError | None = None

    async def async_get_reading(self) -> tuple[Reading, str]:
        self.requests += 1
        if self.fail_with is not None:
            raise self.fail_with
        t = self.next_time
        self.next_time += 60
        body = {"t": t, "pv": 1200 + self.requests, "load": 700, "net": 500 + self.requests}
        reading = Reading(inverter_time=t, solar_w=body["pv"], load_w=body["load"], grid_w=-body["net"])
        return reading, json.dumps(body)


class MeterCoordinator(PollingCoordinator):
    client: FakeMeterClient
    clients: ClassVar[dict[str, FakeMeterClient]] = {}

    async def _async_prepare(self) -> None:
        self.client = self.clients.setdefault(self.site_id, FakeMeterClient(1_755_396_000))

    async def _async_fetch(self) -> Batch:
        reading, body = await self.client.async_get_reading()
        return Batch(readings=(reading,), raw=body)


class MeterFlow(LiveOneFlowBase):
    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            site = user_input[CONF_NAME].strip().lower()
            await self.async_set_system_id("meter", site)
            self._abort_if_unique_id_configured()
            return self.async_create_system_entry("meter", site, title=user_input[CONF_NAME], data={})
        return self.async_show_form(step_id="meter", data_schema=vol.Schema({vol.Required(CONF_NAME): str}))


class MeterOptions(OptionsFlow):
    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="init", data_schema=vol.Schema({vol.Required("scale", default=1): int})
        )


NET_EXPORT = LiveOneSensorEntityDescription(
    key="net_export",
    name="Net export",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    value_fn=lambda data: None if data.reading.grid_w is None else -data.reading.grid_w,
    has_fn=lambda data: data.reading.grid_w is not None,
)

METER = SourceKind(
    vendor="meter",
    manufacturer="Test Meters",
    coordinator=MeterCoordinator,
    flow=MeterFlow,
    sensors=(NET_EXPORT,),
    options_flow=MeterOptions,
)


class PushedCoordinator(PushCoordinator):
    silence: ClassVar[timedelta] = timedelta(minutes=5)


PUSHED = SourceKind(vendor="pushed", manufacturer="Test Pushers", coordinator=PushedCoordinator)


class MirrorCoordinator(DerivedCoordinator):
    """Half of the source system's newest reading (the source's site id is this system's site id)."""

    async def _async_derive(self, source_system_id: int, result: BatchResult) -> Batch:
        stored = await self.store.async_latest_reading(source_system_id)
        if stored is None:
            return Batch()
        solar = stored.reading.solar_w
        return Batch(
            readings=(
                Reading(
                    inverter_time=stored.reading.inverter_time, solar_w=None if solar is None else solar / 2
                ),
            )
        )


async def _async_follow_source(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Subscribe the mirror to its source's writes (the source is the entry named by ``source``)."""
    mirror = entry.runtime_data.coordinator
    assert isinstance(mirror, MirrorCoordinator)
    source = hass.config_entries.async_get_entry(entry.data["source"])
    assert source is not None
    assert source.domain == DOMAIN
    feeder = source.runtime_data.coordinator

    @callback
    def _written(result: BatchResult) -> None:
        entry.async_create_background_task(
            hass, mirror.async_source_written(feeder.system_id, result), "mirror derive"
        )

    entry.async_on_unload(feeder.async_add_write_listener(_written))


MIRROR = SourceKind(
    vendor="mirror",
    manufacturer="Test Mirrors",
    coordinator=MirrorCoordinator,
    async_setup_entry=_async_follow_source,
    in_menu=False,
)
