"""Binary sensors of a LiveOne system: an active fault and a running generator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import LiveOneConfigEntry, LiveOneCoordinator, LiveOneData
from .entity import LiveOneEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LiveOneBinarySensorEntityDescription(BinarySensorEntityDescription):
    """How one binary sensor reads the newest reading."""

    is_on_fn: Callable[[LiveOneData], bool]
    has_fn: Callable[[LiveOneData], bool]


BINARY_SENSORS: tuple[LiveOneBinarySensorEntityDescription, ...] = (
    LiveOneBinarySensorEntityDescription(
        key="fault",
        translation_key="fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda data: bool(data.reading.fault_code),
        has_fn=lambda data: data.reading.fault_code is not None,
    ),
    LiveOneBinarySensorEntityDescription(
        key="generator_running",
        translation_key="generator_running",
        device_class=BinarySensorDeviceClass.RUNNING,
        is_on_fn=lambda data: bool(data.reading.generator_status),
        has_fn=lambda data: data.reading.generator_status is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: LiveOneConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors the system provides."""
    coordinator = entry.runtime_data
    async_add_entities(
        LiveOneBinarySensor(coordinator, description)
        for description in BINARY_SENSORS
        if description.has_fn(coordinator.data)
    )


class LiveOneBinarySensor(LiveOneEntity, BinarySensorEntity):
    """A binary sensor of one system."""

    entity_description: LiveOneBinarySensorEntityDescription

    def __init__(
        self, coordinator: LiveOneCoordinator, description: LiveOneBinarySensorEntityDescription
    ) -> None:
        """Create the binary sensor for one description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool:
        """Return whether the condition holds in the newest reading."""
        return self.entity_description.is_on_fn(self.coordinator.data)
