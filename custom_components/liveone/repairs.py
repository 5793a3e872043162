"""Repair flows: the fix for a damaged SQLite store.

"Move the damaged store aside and start a new one": every LiveOne entry is unloaded (which closes the
store), the file and its ``-wal`` / ``-shm`` are renamed to ``liveone.db.corrupt.<UTC time>`` (never
deleted), a new store is opened at the same path, and the entries are set up again. LiveOne's history
starts again; the long-term statistics already in Home Assistant's recorder are untouched.
"""

from __future__ import annotations

from homeassistant import data_entry_flow
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import voluptuous as vol

from .const import DOMAIN, LOGGER
from .registry import get_source
from .shared_store import (
    ISSUE_STORE_DAMAGED,
    async_acquire_store,
    async_move_damaged_store_aside,
    async_release_store,
)
from .store import StoreError


class DamagedStoreRepairFlow(RepairsFlow):
    """Confirm, then move the damaged store aside and start a new one."""

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> data_entry_flow.FlowResult:
        """Show what the fix does."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> data_entry_flow.FlowResult:
        """Move the store aside once the user confirms."""
        path = str((self.data or {}).get("path") or "")
        if user_input is None:
            return self.async_show_form(
                step_id="confirm", data_schema=vol.Schema({}), description_placeholders={"path": path}
            )
        hass = self.hass
        entries = hass.config_entries.async_entries(DOMAIN)
        for entry in entries:
            if entry.state is ConfigEntryState.LOADED or entry.state is ConfigEntryState.SETUP_RETRY:
                await hass.config_entries.async_unload(entry.entry_id)
        try:
            moved = await async_move_damaged_store_aside(hass)
        except (OSError, ValueError) as err:
            LOGGER.error("Could not move the damaged LiveOne store aside: %s", err)
            await _async_set_up(hass)
            return self.async_abort(reason="move_failed", description_placeholders={"error": str(err)})
        try:
            # Open the new store before the entries, to say here (not only in the log) if it fails.
            await async_acquire_store(hass)
        except StoreError as err:
            return self.async_abort(reason="open_failed", description_placeholders={"error": str(err)})
        try:
            await _async_set_up(hass)
        finally:
            await async_release_store(hass)
        LOGGER.info(
            "A new LiveOne store was started; the damaged one is kept as %s", moved[0] if moved else ""
        )
        return self.async_create_entry(data={})


async def _async_set_up(hass: HomeAssistant) -> None:
    """Set up every LiveOne entry that is not loaded (they were unloaded for the move)."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.NOT_LOADED and not entry.disabled_by:
            await hass.config_entries.async_setup(entry.entry_id)


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the fix flow of a fixable LiveOne issue: the store's own, or one a kind raised.

    A kind's issue names the kind in its data (``"vendor"``); the kind's ``fix_flow`` makes its flow.
    """
    if issue_id == ISSUE_STORE_DAMAGED:
        return DamagedStoreRepairFlow()
    vendor = (data or {}).get("vendor")
    try:
        make = None if not isinstance(vendor, str) else get_source(vendor).fix_flow
    except KeyError:
        make = None
    if make is None:
        raise ValueError(f"LiveOne has no fix for issue {issue_id!r}")
    return make(hass, issue_id, data)
