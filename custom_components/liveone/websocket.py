"""WebSocket commands: ``liveone/systems`` and ``liveone/history`` (docs/access.md#history).

Errors come back as WebSocket errors, never as stack traces:

- ``not_found``: the system does not exist or the caller may not see it (the same message for both);
- ``invalid_format``: a bad, reversed, empty or over-long range, or an unknown interval;
- ``home_assistant_error``: the store could not answer (the database is unreachable).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
import voluptuous as vol

from .access import async_history, async_list_systems, caller_of
from .const import LOGGER
from .store import StoreError
from .store.access import SystemNotFoundError
from .store.history import INTERVALS, HistoryError


@callback
def async_register_websocket_commands(hass: HomeAssistant) -> None:
    """Register the commands (once, from ``async_setup``)."""
    websocket_api.async_register_command(hass, ws_systems)
    websocket_api.async_register_command(hass, ws_history)


@websocket_api.websocket_command({vol.Required("type"): "liveone/systems"})
@websocket_api.async_response
async def ws_systems(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """List the systems the caller may see."""
    try:
        systems = await async_list_systems(hass, caller_of(connection.user))
    except StoreError as err:
        LOGGER.warning("liveone/systems failed: %s", err)
        connection.send_error(
            msg["id"], websocket_api.ERR_HOME_ASSISTANT_ERROR, "The LiveOne store is unavailable"
        )
        return
    connection.send_result(msg["id"], {"systems": systems})


@websocket_api.websocket_command(
    {
        vol.Required("type"): "liveone/history",
        vol.Required("system"): vol.Coerce(int),
        vol.Required("interval"): vol.In(list(INTERVALS)),
        vol.Exclusive("start", "range"): str,
        vol.Optional("end"): str,
        vol.Exclusive("last", "range"): str,
    }
)
@websocket_api.async_response
async def ws_history(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer one system's history in the OpenNEM-style envelope."""
    try:
        answer = await async_history(
            hass,
            caller_of(connection.user),
            system_id=msg["system"],
            interval=msg["interval"],
            start=msg.get("start"),
            end=msg.get("end"),
            last=msg.get("last"),
        )
    except SystemNotFoundError as err:
        connection.send_error(msg["id"], websocket_api.ERR_NOT_FOUND, f"Unknown system {err.system_id}")
        return
    except HistoryError as err:
        connection.send_error(msg["id"], websocket_api.ERR_INVALID_FORMAT, str(err))
        return
    except StoreError as err:
        LOGGER.warning("liveone/history failed: %s", err)
        connection.send_error(
            msg["id"], websocket_api.ERR_HOME_ASSISTANT_ERROR, "The LiveOne store is unavailable"
        )
        return
    connection.send_result(msg["id"], answer)
