"""Sensors of a LiveOne system: power, battery state of charge, energy totals and diagnostics."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import LiveOneCoordinator
from .descriptions import LiveOneSensorEntityDescription
from .entity import LiveOneEntity
from .registry import get_source
from .runtime import LiveOneConfigEntry
from .vendors.model import FLOWS

# Entities only read the coordinator's data; updates come from the coordinator alone.
PARALLEL_UPDATES = 0


def _power(key: str, field: str, *, enabled: bool = True) -> LiveOneSensorEntityDescription:
    return LiveOneSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        entity_registry_enabled_default=enabled,
        value_fn=lambda data: getattr(data.reading, field),
        has_fn=lambda data: getattr(data.reading, field) is not None,
    )


def _energy(key: str) -> LiveOneSensorEntityDescription:
    """Describe the lifetime energy sensor ``<flow name>_energy`` of one of the store's flows."""
    field = next(flow.total_column for flow in FLOWS if f"{flow.name}_energy" == key)
    return LiveOneSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda data: getattr(data.reading, field),
        has_fn=lambda data: getattr(data.reading, field) is not None,
    )


SENSORS: tuple[LiveOneSensorEntityDescription, ...] = (
    _power("solar_power", "solar_w"),
    _power("solar_inverter_power", "solar_inverter_w", enabled=False),
    _power("shunt_power", "shunt_w", enabled=False),
    _power("load_power", "load_w"),
    _power("battery_power", "battery_w"),
    _power("grid_power", "grid_w"),
    LiveOneSensorEntityDescription(
        key="battery_soc",
        translation_key="battery_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=1,
        value_fn=lambda data: data.reading.battery_soc,
        has_fn=lambda data: data.reading.battery_soc is not None,
    ),
    # One per flow of the store (vendors.model.FLOWS), named after the flow.
    _energy("solar_energy"),
    _energy("load_energy"),
    _energy("battery_charge_energy"),
    _energy("battery_discharge_energy"),
    _energy("grid_import_energy"),
    _energy("grid_export_energy"),
    LiveOneSensorEntityDescription(
        key="fault_code",
        translation_key="fault_code",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.reading.fault_code,
        has_fn=lambda data: data.reading.fault_code is not None,
    ),
    LiveOneSensorEntityDescription(
        key="last_reading",
        translation_key="last_reading",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.inverter_time,
    ),
    LiveOneSensorEntityDescription(
        key="reading_delay",
        translation_key="reading_delay",
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.delay_seconds,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LiveOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors whose values the system provides, and later those it starts to provide.

    A sensor appears once the data has its value: at setup for what the first data holds, later for a
    push or derived system's first data, or for a monitoring point that shows up after setup.
    """
    coordinator = entry.runtime_data.coordinator
    kind = get_source(coordinator.vendor)
    added: set[str] = set()

    def _descriptions() -> Iterable[LiveOneSensorEntityDescription]:
        # A kind's description with a shared key replaces the shared one (same entity, its own value).
        own = [*kind.sensors, *(kind.sensors_fn(coordinator) if kind.sensors_fn is not None else ())]
        replaced = {description.key for description in own}
        yield from (description for description in SENSORS if description.key not in replaced)
        yield from own

    @callback
    def _add_new() -> None:
        data = coordinator.data
        if data is None:
            return
        new = [
            description
            for description in _descriptions()
            if description.key not in added and (description.has_fn is None or description.has_fn(data))
        ]
        added.update(description.key for description in new)
        if new:
            async_add_entities(LiveOneSensor(coordinator, description) for description in new)

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


class LiveOneSensor(LiveOneEntity, SensorEntity):
    """A sensor showing one value of the newest reading."""

    entity_description: LiveOneSensorEntityDescription

    def __init__(self, coordinator: LiveOneCoordinator, description: LiveOneSensorEntityDescription) -> None:
        """Create the sensor for one description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description
        if description.device_info is not None:
            self._attr_device_info = description.device_info

    @property
    def native_value(self) -> StateType | datetime:
        """Return the sensor's value from the newest reading."""
        data = self.coordinator.data
        return None if data is None else self.entity_description.value_fn(data)
