"""A Selectronic system end to end in Home Assistant, against a fake Select.Live on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion

from custom_components.liveone.const import DOMAIN

from ..helpers.fakes.selectlive import EMAIL, PASSWORD, SYSTEM, FakeSelectLive, load_hfdata, serve_selectlive
from ..test_energy import assert_energy_dashboard_valid

T0 = 1755437287  # the first real body's inverter time: 2025-08-17 13:28:07 UTC
SOLAR = "sensor.daylesford_home_solar_power"
SOC = "sensor.daylesford_home_battery_state_of_charge"
DETAILS = {
    "model": "SPMC482-AU",
    "serial": "221452",
    "ratings": "7.5kW, 48V",
    "solar_size": "9 kW",
    "battery_size": "14.3 kWh",
}


@pytest.fixture
async def selectlive(socket_enabled: None) -> AsyncIterator[FakeSelectLive]:
    """A fake Select.Live, with LiveOne pointed at it."""
    state = FakeSelectLive()
    async with serve_selectlive(state) as base_url:
        with patch("custom_components.liveone.sources.selectronic.SELECTLIVE_BASE_URL", base_url):
            yield state


def selectronic_entry(number: str = SYSTEM, password: str = PASSWORD) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Daylesford Home",
        unique_id=f"selectronic_{number}",
        data={
            "vendor": "selectronic",
            "site_id": number,
            "email": EMAIL,
            "password": password,
            "timezone_offset_min": 600,
            "details": DETAILS,
        },
    )


def _advance_inverter(state: FakeSelectLive, seconds: int = 60) -> None:
    state.systems[SYSTEM]["items"]["timestamp"] += seconds


async def _poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, state: FakeSelectLive, advance: bool = True
) -> None:
    if advance:
        _advance_inverter(state)
    freezer.tick(timedelta(minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _rows(entry: MockConfigEntry, sql: str) -> list[tuple[Any, ...]]:
    store = entry.runtime_data.coordinator.store

    def _read() -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    return await store.async_run(_read)


@pytest.fixture
async def selectronic(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, selectlive: FakeSelectLive
) -> MockConfigEntry:
    freezer.move_to("2025-08-17T13:28:10+00:00")
    entry = selectronic_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


# The config flow.


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "selectronic"})


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_flow_discovers_and_adds_a_system(hass: HomeAssistant, selectlive: FakeSelectLive) -> None:
    result = await _start(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "selectronic")

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "selectronic_system")
    options = result["data_schema"].schema["system_number"].config["options"]
    assert options == [
        {"value": "1586", "label": "Daylesford Home (1586)"},
        {"value": "2047", "label": "2047"},
    ]
    with patch("custom_components.liveone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "1586"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Daylesford Home"
    assert result["result"].unique_id == "selectronic_1586"
    assert result["data"]["details"] == DETAILS
    assert (result["data"]["email"], result["data"]["password"], result["data"]["site_id"]) == (
        EMAIL,
        PASSWORD,
        "1586",
    )

    # The same system again: aborted.
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "1586"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_flow_with_no_discovered_systems_takes_a_typed_number(
    hass: HomeAssistant, selectlive: FakeSelectLive
) -> None:
    selectlive.dashboard_html = "<html><body>No systems here</body></html>"
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    assert result["step_id"] == "selectronic_system"
    assert result["description_placeholders"] == {"count": "0"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "15a"})
    assert result["errors"] == {"system_number": "invalid_system_number"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "999"})
    assert result["errors"] == {"base": "system_unreadable"}  # the fake has no system 999 (404)
    with patch("custom_components.liveone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"system_number": " 1586 "}
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Selectronic 1586"


@pytest.mark.usefixtures("enable_custom_integrations")
@pytest.mark.parametrize(
    ("failure", "error"),
    [(503, "cannot_connect"), ("hang", "cannot_connect")],
)
async def test_flow_connection_errors(
    hass: HomeAssistant, selectlive: FakeSelectLive, failure: int | str, error: str
) -> None:
    result = await _start(hass)
    selectlive.fail_next.append(failure)
    with patch("custom_components.liveone.sources.selectronic.new_account", wraps=_short_timeout):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"email": EMAIL, "password": PASSWORD}
        )
    selectlive.released.set()
    assert result["errors"] == {"base": error}


def _short_timeout(hass: HomeAssistant, email: str, password: str) -> Any:
    from custom_components.liveone.http_session import async_get_session
    from custom_components.liveone.sources import selectronic as selectronic_source
    from custom_components.liveone.vendors.selectronic import SelectLiveAccount

    return SelectLiveAccount(
        async_get_session(hass), email, password, base_url=selectronic_source.SELECTLIVE_BASE_URL, timeout=0.1
    )


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_flow_unexpected_error_and_auth_lost_while_picking(
    hass: HomeAssistant, selectlive: FakeSelectLive
) -> None:
    result = await _start(hass)
    with patch(
        "custom_components.liveone.vendors.selectronic.SelectLiveAccount.async_login",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"email": EMAIL, "password": PASSWORD}
        )
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    selectlive.accounts[EMAIL] = "changed meanwhile"
    selectlive.expire_sessions()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "1586"})
    assert result["errors"] == {"base": "invalid_auth"}


async def test_second_system_of_the_account_reuses_its_session(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
) -> None:
    selectlive.systems["2047"] = load_hfdata()
    logins = selectlive.logins
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "2047"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    for _ in range(5):
        selectlive.systems["2047"]["items"]["timestamp"] += 60
        await _poll(hass, freezer, selectlive)
    assert selectlive.logins == logins + 1  # the flow's own login test, then nothing: both systems share it
    second = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, "selectronic_2047")
    assert second is not None
    assert second.runtime_data.coordinator.account is selectronic.runtime_data.coordinator.account


# Reauthentication and reconfiguration.


async def test_wrong_password_starts_reauth_and_stores_nothing(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
) -> None:
    readings_before = await _rows(selectronic, "SELECT count(*) FROM readings")
    selectlive.accounts[EMAIL] = "new password"
    selectlive.expire_sessions()
    await _poll(hass, freezer, selectlive)
    assert await _rows(selectronic, "SELECT count(*) FROM readings") == readings_before
    flows = hass.config_entries.flow.async_progress()
    assert [(f["context"]["source"], f["step_id"]) for f in flows] == [(SOURCE_REAUTH, "selectronic_reauth")]
    flow_id = flows[0]["flow_id"]
    assert flows[0]["context"]["entry_id"] == selectronic.entry_id

    result = await hass.config_entries.flow.async_configure(flow_id, {"password": "still wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"password": "new password"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    await hass.async_block_till_done()
    assert selectronic.data["password"] == "new password"
    assert selectronic.state is ConfigEntryState.LOADED
    await _poll(hass, freezer, selectlive)
    assert hass.states.get(SOLAR).state != STATE_UNAVAILABLE


async def test_reconfigure_to_another_system(
    hass: HomeAssistant, selectronic: MockConfigEntry, selectlive: FakeSelectLive
) -> None:
    selectlive.systems["2047"] = load_hfdata()
    result = await selectronic.start_reconfigure_flow(hass)
    assert result["step_id"] == "selectronic_reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": "nope"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "2047"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    await hass.async_block_till_done()
    assert selectronic.unique_id == "selectronic_2047"
    assert selectronic.data["site_id"] == "2047"


async def test_reconfigure_onto_a_configured_system_aborts(
    hass: HomeAssistant, selectronic: MockConfigEntry, selectlive: FakeSelectLive
) -> None:
    selectlive.systems["2047"] = load_hfdata()
    other = selectronic_entry("2047")
    other.add_to_hass(hass)
    result = await selectronic.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "2047"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    # Keeping the same system is fine.
    result = await selectronic.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system_number": "1586"})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()  # the reload it scheduled


async def test_demo_systems_cannot_be_reconfigured(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await init_integration.start_reconfigure_flow(hass)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_not_supported")


# Polling.


async def test_twenty_polls_one_login_and_every_reading_stored(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
) -> None:
    for _ in range(20):
        await _poll(hass, freezer, selectlive)
    assert selectlive.logins == 1
    assert await _rows(
        selectronic, "SELECT count(*), min(inverter_time), max(inverter_time) FROM readings"
    ) == [(21, T0, T0 + 20 * 60)]
    status = await _rows(
        selectronic, "SELECT total_polls, successful_polls, last_response IS NOT NULL FROM polling_status"
    )
    assert status == [(21, 21, 1)]
    assert float(hass.states.get(SOC).state) == 24.4


async def test_repeated_inverter_time_stores_nothing_and_is_not_an_error(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
) -> None:
    for _ in range(3):
        await _poll(hass, freezer, selectlive, advance=False)
    assert await _rows(selectronic, "SELECT count(*) FROM readings") == [(1,)]
    assert await _rows(
        selectronic, "SELECT total_polls, successful_polls, consecutive_errors FROM polling_status"
    ) == [(4, 4, 0)]
    assert selectronic.runtime_data.coordinator.last_update_success


async def test_transient_errors_keep_the_last_reading_for_five_polls(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    selectlive.fail_next.extend([500, 503, 504, 503, 500])
    for _ in range(5):
        await _poll(hass, freezer, selectlive)
        assert hass.states.get(SOLAR).state != STATE_UNAVAILABLE
    assert not hass.config_entries.flow.async_progress()  # never a reauth
    selectlive.fail_next.extend([503, 503])
    await _poll(hass, freezer, selectlive)
    assert hass.states.get(SOLAR).state == STATE_UNAVAILABLE
    await _poll(hass, freezer, selectlive)
    assert caplog.text.count("Error fetching liveone Daylesford Home data") == 1
    status = await _rows(
        selectronic,
        "SELECT total_polls, successful_polls, consecutive_errors, last_error FROM polling_status",
    )
    assert status[0][:3] == (8, 1, 7)
    assert "503" in status[0][3]

    await _poll(hass, freezer, selectlive)
    assert hass.states.get(SOLAR).state != STATE_UNAVAILABLE
    assert caplog.text.count("Fetching liveone Daylesford Home data recovered") == 1
    assert await _rows(selectronic, "SELECT consecutive_errors FROM polling_status") == [(0,)]
    assert selectlive.logins == 1


@pytest.mark.parametrize("knob", ["html_instead_of_json", "truncate_json"])
async def test_malformed_body_is_an_error_and_stores_nothing(
    hass: HomeAssistant,
    selectronic: MockConfigEntry,
    selectlive: FakeSelectLive,
    freezer: FrozenDateTimeFactory,
    knob: str,
) -> None:
    setattr(selectlive, knob, True)
    await _poll(hass, freezer, selectlive)
    assert await _rows(selectronic, "SELECT count(*) FROM readings") == [(1,)]
    error = (await _rows(selectronic, "SELECT last_error FROM polling_status"))[0][0]
    assert error.startswith("InvalidResponse")
    assert "JSON" in error


# What users see: entity states and the Energy dashboard.


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "setup_liveone", "selectlive")
@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR])
async def test_entity_states_snapshot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """The first real body (2025-08-17 23:28 local: the battery covering the evening load) as entities."""
    freezer.move_to("2025-08-17T13:28:10+00:00")
    entry = selectronic_entry()
    entry.add_to_hass(hass)
    with patch("custom_components.liveone.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_energy_dashboard_validation_passes_for_selectronic(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    selectlive: FakeSelectLive,
) -> None:
    freezer.move_to("2025-08-17T13:28:10+00:00")
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = selectronic_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for _ in range(3):
        await _poll(hass, freezer, selectlive)
    await assert_energy_dashboard_valid(hass, "daylesford_home")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_system_details_reach_the_store_and_the_device(
    hass: HomeAssistant, selectronic: MockConfigEntry
) -> None:
    assert await _rows(
        selectronic,
        "SELECT vendor_type, vendor_site_id, display_name, model, serial, ratings, solar_size, battery_size FROM systems",
    ) == [
        ("selectronic", "1586", "Daylesford Home", "SPMC482-AU", "221452", "7.5kW, 48V", "9 kW", "14.3 kWh")
    ]
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "selectronic_1586")})
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number) == (
        "Selectronic",
        "SPMC482-AU",
        "221452",
    )
