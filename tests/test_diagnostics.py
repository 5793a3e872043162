"""Diagnostics show what helps debugging and nothing secret."""

from __future__ import annotations

import json

# Imported before the clock is frozen: the diagnostics view imports it lazily, which fails under freezegun.
import aiohasupervisor  # noqa: F401
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props


async def test_diagnostics(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,  # after the clock is frozen, so its token is valid then
    snapshot: SnapshotAssertion,
) -> None:
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    # The store's URL names the test's temporary directory; everything else is stable.
    assert result["store"]["url"].startswith("sqlite:///")
    assert result == snapshot(exclude=props("url", "created_at", "updated_at"))
    text = json.dumps(result)
    for secret in ("-37.35", "144.14"):  # the home's location is redacted
        assert secret not in text
    assert result["entry"]["data"]["latitude"] == "**REDACTED**"
    assert result["polling_status"]["total_polls"] == 1
