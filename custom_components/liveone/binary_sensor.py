"""Binary sensors of a LiveOne system: an active fault and a running generator."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import LiveOneCoordinator
from .descriptions import LiveOneBinarySensorEntityDescription
from .entity import LiveOneEntity
from .registry import get_source
from .runtime import LiveOneConfigEntry

PARALLEL_UPDATES = 0


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
    """Add the binary sensors the system provides, and later those it starts to provide."""
    coordinator = entry.runtime_data.coordinator
    descriptions = (*BINARY_SENSORS, *get_source(coordinator.vendor).binary_sensors)
    added: set[str] = set()

    @callback
    def _add_new() -> None:
        data = coordinator.data
        if data is None:
            return
        new = [d for d in descriptions if d.key not in added and d.has_fn(data)]
        added.update(description.key for description in new)
        if new:
            async_add_entities(LiveOneBinarySensor(coordinator, description) for description in new)

    _add_new()
    entry.async_on_unload(coordinator.async_add_listener(_add_new))


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
    def is_on(self) -> bool | None:
        """Return whether the condition holds in the newest reading."""
        data = self.coordinator.data
        return None if data is None else self.entity_description.is_on_fn(data)
