"""The entity descriptions of LiveOne: how an entity reads its value from the newest data.

Shared by the sensor and binary-sensor platforms and by the kinds that add entities of their own
(:attr:`.registry.SourceKind.sensors`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.typing import StateType

from .coordinator import LiveOneData


@dataclass(frozen=True, kw_only=True)
class LiveOneSensorEntityDescription(SensorEntityDescription):
    """How one sensor gets its value from the newest reading."""

    value_fn: Callable[[LiveOneData], StateType | datetime]
    has_fn: Callable[[LiveOneData], bool] | None = None
    """Whether the system provides the value (``None``: always); the entity is added once it does."""
    device_info: DeviceInfo | None = None
    """The entity's own device (a monitoring point's, ``via_device`` the system's); ``None``: the system's."""


@dataclass(frozen=True, kw_only=True)
class LiveOneBinarySensorEntityDescription(BinarySensorEntityDescription):
    """How one binary sensor reads the newest reading."""

    is_on_fn: Callable[[LiveOneData], bool]
    has_fn: Callable[[LiveOneData], bool]
