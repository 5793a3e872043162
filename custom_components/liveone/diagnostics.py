"""Diagnostics of a LiveOne system, with everything secret redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_EMAIL, CONF_LATITUDE, CONF_LONGITUDE, CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .registry import get_source
from .runtime import LiveOneConfigEntry

TO_REDACT = frozenset(
    {
        CONF_API_KEY,
        CONF_EMAIL,
        CONF_PASSWORD,
        CONF_LATITUDE,
        CONF_LONGITUDE,
        "access_token",
        "refresh_token",
        "token",
        "location",
        "owner_clerk_user_id",
        "serial",
    }
)
"""What every kind's diagnostics hide; a kind adds its own secrets (``SourceKind.redact``)."""


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: LiveOneConfigEntry
) -> dict[str, Any]:
    """Return what helps to debug a system: its entry, store rows and newest reading."""
    runtime = entry.runtime_data
    coordinator = runtime.coordinator
    store = coordinator.store
    to_redact = TO_REDACT | get_source(coordinator.vendor).redact
    system = await store.async_get_system(coordinator.system_id)
    polling = await store.async_polling_status(coordinator.system_id)
    data = coordinator.data
    return {
        "entry": async_redact_data({"title": entry.title, "data": dict(entry.data)}, to_redact),
        "store": {"url": store.url, "system_id": coordinator.system_id},
        "system": async_redact_data(system or {}, to_redact),
        "polling_status": polling,
        "last_update_success": coordinator.last_update_success,
        "statistics": None if runtime.statistics is None else runtime.statistics.async_diagnostics(),
        "newest_reading": None
        if data is None
        else {
            **asdict(data.reading),
            "received_time": data.received_time.isoformat(),
        },
    }
