"""The base entity of LiveOne: one device per system, names from translations."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import LiveOneCoordinator
from .registry import get_source
from .vendors.model import system_key


def device_identifier(vendor: str, site_id: str) -> tuple[str, str]:
    """Return the device registry identifier of a system."""
    return (DOMAIN, system_key(vendor, site_id))


class LiveOneEntity(CoordinatorEntity[LiveOneCoordinator]):
    """An entity of one LiveOne system."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: LiveOneCoordinator, key: str) -> None:
        """Attach the entity to its system's device."""
        super().__init__(coordinator)
        identifier = device_identifier(coordinator.vendor, coordinator.site_id)
        self._attr_unique_id = f"{identifier[1]}_{key}"
        self._key = key
        info = coordinator.info
        self._attr_device_info = DeviceInfo(
            identifiers={identifier},
            name=coordinator.config_entry.title,
            manufacturer=get_source(coordinator.vendor).manufacturer,
            model=info.model,
            serial_number=info.serial,
        )

    @property
    def available(self) -> bool:
        """Whether the entity shows a value.

        Not while the last update failed, before a push or derived system's first data, nor while the
        data says this entity's value cannot be known (``LiveOneData.unavailable``).
        """
        data = self.coordinator.data
        return super().available and data is not None and self._key not in data.unavailable
