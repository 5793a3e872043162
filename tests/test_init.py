"""Setting up, unloading and removing systems; the shared store's life."""

from __future__ import annotations

from pathlib import Path
import threading

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.shared_store import DATA_SHARED_STORE

from .conftest import DEMO_ENTRY_DATA, NOON_LOCAL, query_db


def _store_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("liveone_store")]


async def test_setup_and_unload_leave_nothing_behind(
    hass: HomeAssistant, init_integration: MockConfigEntry, db_url: str
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert len(_store_threads()) == 1
    assert hass.states.get("sensor.demo_home_solar_power") is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert _store_threads() == []  # the last user closed the store
    assert hass.data[DATA_SHARED_STORE].store is None
    assert hass.states.get("sensor.demo_home_solar_power").state == STATE_UNAVAILABLE
    # The system and its first reading are in the file.
    assert query_db(
        db_url, "SELECT vendor_type, vendor_site_id, status, timezone_offset_min FROM systems"
    ) == [("demo", "demo_home", "active", 600)]
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(1,)]


async def test_two_systems_share_one_store(
    hass: HomeAssistant, init_integration: MockConfigEntry, db_url: str
) -> None:
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Shed",
        unique_id="demo_shed",
        data={**DEMO_ENTRY_DATA, "site_id": "shed"},
    )
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    shared = hass.data[DATA_SHARED_STORE]
    assert shared.users == 2
    assert init_integration.runtime_data.coordinator.store is second.runtime_data.coordinator.store
    assert len(_store_threads()) == 1

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert shared.store is not None  # still used by the second entry
    assert await hass.config_entries.async_unload(second.entry_id)
    assert shared.store is None
    assert _store_threads() == []
    assert sorted(query_db(db_url, "SELECT vendor_site_id FROM systems")) == [("demo_home",), ("shed",)]


async def test_device_and_entities(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "demo_demo_home")})
    assert device is not None
    assert device.name == "Demo Home"
    assert device.manufacturer == "LiveOne (simulated)"
    entities = er.async_entries_for_config_entry(er.async_get(hass), init_integration.entry_id)
    assert {e.device_id for e in entities} == {device.id}
    disabled = {e.unique_id for e in entities if e.disabled_by is not None}
    assert disabled == {
        "demo_demo_home_solar_inverter_power",
        "demo_demo_home_shunt_power",
        "demo_demo_home_last_reading",
        "demo_demo_home_reading_delay",
    }


async def test_remove_entry_keeps_history_and_marks_removed(
    hass: HomeAssistant, init_integration: MockConfigEntry, db_url: str
) -> None:
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert _store_threads() == []
    assert query_db(db_url, "SELECT status FROM systems") == [("removed",)]
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(1,)]


async def test_store_closes_when_home_assistant_stops(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert _store_threads() == []
    assert hass.data[DATA_SHARED_STORE].store is None


async def test_unusable_store_retries_setup(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    tmp_path: Path,
) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 200)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": f"sqlite:///{garbage}"}})
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert _store_threads() == []
    assert hass.data[DATA_SHARED_STORE].users == 0


@pytest.mark.usefixtures("setup_liveone")
async def test_default_store_is_a_file_in_the_config_dir(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, mock_config_entry: MockConfigEntry, tmp_path: Path
) -> None:
    hass.data[DATA_SHARED_STORE].url = None
    hass.config.config_dir = str(tmp_path)
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert (tmp_path / "liveone" / "liveone.db").exists()
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("oracle://scott:tiger@db/orcl", "unsupported database 'oracle'"),
        ("postgresql://liveone:tiger@db", "names no database"),
        ("not a url at all tiger", "is not a database URL"),
    ],
)
async def test_invalid_db_url_is_refused_at_startup(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    url: str,
    message: str,
) -> None:
    """A malformed db_url stops LiveOne with one clear log line and a repair issue, without the password."""
    assert not await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": url}})
    issue = issue_registry.async_get_issue(DOMAIN, "invalid_db_url")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert message in issue.translation_placeholders["error"]
    assert message in caplog.text
    assert "tiger" not in caplog.text
    assert "tiger" not in issue.translation_placeholders["error"]


async def test_valid_db_url_clears_the_issue(
    hass: HomeAssistant, enable_custom_integrations: None, issue_registry: ir.IssueRegistry, db_url: str
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        "invalid_db_url",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="invalid_db_url",
    )
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    assert issue_registry.async_get_issue(DOMAIN, "invalid_db_url") is None
