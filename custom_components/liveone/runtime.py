"""What a loaded config entry holds: its ``runtime_data``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .coordinator import LiveOneCoordinator
    from .statistics import StatisticsImporter


@dataclass(slots=True)
class LiveOneRuntimeData:
    """A loaded system: its coordinator and its statistics importer (``None`` without the recorder).

    Everything else the entry started (timers, listeners, webhooks, shared accounts) is stopped through
    ``entry.async_on_unload``.
    """

    coordinator: LiveOneCoordinator
    statistics: StatisticsImporter | None = None


type LiveOneConfigEntry = ConfigEntry[LiveOneRuntimeData]
