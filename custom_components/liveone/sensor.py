"""Sensors of a LiveOne system: power, battery state of charge, energy totals and diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import LiveOneConfigEntry, LiveOneCoordinator, LiveOneData
from .entity import LiveOneEntity

# Entities only read the coordinator's data; updates come from the coordinator alone.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LiveOneSensorEntityDescription(SensorEntityDescription):
    """How one sensor gets its value from the newest reading."""

    value_fn: Callable[[LiveOneData], StateType | datetime]
    has_fn: Callable[[LiveOneData], bool] | None = None


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


def _energy(key: str, field: str) -> LiveOneSensorEntityDescription:
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
    _energy("solar_energy", "solar_kwh_total"),
    _energy("load_energy", "load_kwh_total"),
    _energy("battery_charge_energy", "battery_in_kwh_total"),
    _energy("battery_discharge_energy", "battery_out_kwh_total"),
    _energy("grid_import_energy", "grid_in_kwh_total"),
    _energy("grid_export_energy", "grid_out_kwh_total"),
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
    """Add the sensors whose values the system provides."""
    coordinator = entry.runtime_data
    async_add_entities(
        LiveOneSensor(coordinator, description)
        for description in SENSORS
        if description.has_fn is None or description.has_fn(coordinator.data)
    )


class LiveOneSensor(LiveOneEntity, SensorEntity):
    """A sensor showing one value of the newest reading."""

    entity_description: LiveOneSensorEntityDescription

    def __init__(self, coordinator: LiveOneCoordinator, description: LiveOneSensorEntityDescription) -> None:
        """Create the sensor for one description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> StateType | datetime:
        """Return the sensor's value from the newest reading."""
        return self.entity_description.value_fn(self.coordinator.data)
