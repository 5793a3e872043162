"""The config flow: vendor menu, the demo step, duplicates and bad names."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest

from custom_components.liveone.config_flow import standard_offset_minutes
from custom_components.liveone.const import DOMAIN

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")


async def test_user_menu_then_demo_creates_entry(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["selectronic", "enphase", "demo"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "demo"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "demo"
    assert result["errors"] == {}

    with patch("custom_components.liveone.async_setup_entry", return_value=True) as setup_entry:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "  Beach House ", "backfill_days": 3.0}
        )
        await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Beach House"
    assert result["result"].unique_id == "demo_beach_house"
    assert result["data"] == {
        "vendor": "demo",
        "site_id": "beach_house",
        "backfill_days": 3,
        "timezone_offset_min": standard_offset_minutes(),
        "latitude": hass.config.latitude,
        "longitude": hass.config.longitude,
    }
    assert len(setup_entry.mock_calls) == 1


async def test_duplicate_system_aborts(hass: HomeAssistant) -> None:
    with patch("custom_components.liveone.async_setup_entry", return_value=True):
        for expected in (FlowResultType.CREATE_ENTRY, FlowResultType.ABORT):
            result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"next_step_id": "demo"}
            )
            result = await hass.config_entries.flow.async_configure(
                result["flow_id"], {"name": "Demo Home", "backfill_days": 0}
            )
            assert result["type"] is expected
    assert result["reason"] == "already_configured"


async def test_name_without_letters_is_refused_then_corrected(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "demo"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": " !! ", "backfill_days": 0}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": "invalid_name"}
    with patch("custom_components.liveone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "Shed", "backfill_days": 0}
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("zone", "moment", "expected"),
    [
        ("Australia/Melbourne", "2025-01-15T00:00:00+00:00", 600),  # summer: AEDT is +11, standard +10
        ("Australia/Melbourne", "2025-07-15T00:00:00+00:00", 600),
        ("America/Los_Angeles", "2025-07-15T00:00:00+00:00", -480),
        ("Asia/Kolkata", "2025-07-15T00:00:00+00:00", 330),
        ("UTC", "2025-07-15T00:00:00+00:00", 0),
    ],
)
async def test_standard_offset_ignores_daylight_saving(
    hass: HomeAssistant, zone: str, moment: str, expected: int
) -> None:
    await hass.config.async_set_time_zone(zone)
    assert standard_offset_minutes(dt_util.parse_datetime(moment)) == expected
