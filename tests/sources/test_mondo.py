"""A Mondo Power site end to end in Home Assistant, against fake Mondo identity and API servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import json
from typing import Any
from unittest.mock import patch

# Imported before the clock is frozen: the diagnostics view imports it lazily, which fails under freezegun.
import aiohasupervisor  # noqa: F401
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
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
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.sources.mondo import MondoCoordinator
from custom_components.liveone.vendors.mondo import BALANCE_TOLERANCE_W

from ..helpers.fakes.mondo import (
    EMAIL,
    FORBIDDEN_GROUP,
    GROUP,
    OTHER_GROUP,
    PASSWORD,
    FakeMondo,
    serve_mondo,
)
from ..test_energy import assert_energy_dashboard_valid

T_WIDGET = 1789098600  # 2026-09-11T03:50:00Z, the real widget body's lastRecordedUtc
POOL = "77aa0c3e-1f2d-4e5b-9a8c-6d7e8f9a0b1c"
SOC = "sensor.hillcrest_battery_state_of_charge"
LOAD = "sensor.hillcrest_load_power"


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakeMondo]:
    """Fake Mondo servers, with LiveOne pointed at them."""
    state = FakeMondo()
    async with serve_mondo(state) as (identity, api):
        with (
            patch("custom_components.liveone.sources.mondo.MONDO_IDENTITY_URL", identity),
            patch("custom_components.liveone.sources.mondo.MONDO_API_URL", api),
        ):
            yield state


def mondo_entry(group: str = GROUP, password: str = PASSWORD, **options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Hillcrest",
        unique_id=f"mondo_{group}",
        data={
            "vendor": "mondo",
            "site_id": group,
            "email": EMAIL,
            "password": password,
            "timezone_offset_min": 600,
            "organization": "Hillcrest household",
        },
        options=options,
    )


async def _poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, state: FakeMondo, advance: int = 120
) -> None:
    if advance:
        state.move_on(advance)
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _rows(entry: MockConfigEntry, sql: str) -> list[tuple[Any, ...]]:
    store = entry.runtime_data.coordinator.store

    def _read() -> list[tuple[Any, ...]]:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    return await store.async_run(_read)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def mondo(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, fake: FakeMondo
) -> MockConfigEntry:
    freezer.move_to("2026-09-11T03:51:00+00:00")
    return await _setup(hass, mondo_entry())


# The config flow.


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "mondo"})


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_flow_lists_every_group_and_adds_one(hass: HomeAssistant, fake: FakeMondo) -> None:
    result = await _start(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "mondo")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": "wrong"}
    )
    assert result["errors"] == {"base": "mondo_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": f" {EMAIL} ", "password": PASSWORD}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "mondo_group")
    assert result["description_placeholders"] == {"count": "3"}
    options = result["data_schema"].schema["group"].config["options"]
    assert [o["label"] for o in options] == [
        "Hillcrest (Hillcrest household)",
        "Hillcrest shed (Hillcrest household)",
        "Neighbour (Hillcrest household)",
    ]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": FORBIDDEN_GROUP})
    assert result["errors"] == {"base": "mondo_group_forbidden"}
    with patch("custom_components.liveone.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": GROUP})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["title"], result["result"].unique_id) == ("Hillcrest", f"mondo_{GROUP}")
    assert (result["data"]["email"], result["data"]["site_id"], result["data"]["organization"]) == (
        EMAIL,
        GROUP,
        "Hillcrest household",
    )
    assert fake.logins == 1  # the flow's login test; the group read reused its token

    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": GROUP})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")


@pytest.mark.usefixtures("enable_custom_integrations")
async def test_flow_errors(hass: HomeAssistant, fake: FakeMondo) -> None:
    result = await _start(hass)
    fake.fail_next.append(503)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    assert result["errors"] == {"base": "mondo_cannot_connect"}
    with patch(
        "custom_components.liveone.vendors.mondo.MondoAccount.async_list_groups",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"email": EMAIL, "password": PASSWORD}
        )
    assert result["errors"] == {"base": "unknown"}
    fake.groups.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    assert result["errors"] == {"base": "mondo_no_groups"}
    fake.groups["org-1"] = [{"id": GROUP, "name": "Hillcrest"}]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    assert result["step_id"] == "mondo_group"
    fake.fail_next.append(503)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": GROUP})
    assert result["errors"] == {"base": "mondo_cannot_connect"}
    fake.reject_tokens = True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": GROUP})
    assert result["errors"] == {"base": "mondo_invalid_auth"}


async def test_reauth_after_a_changed_password(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    readings = await _rows(mondo, "SELECT count(*) FROM readings")
    fake.accounts[EMAIL] = "new password"
    fake.refuse_refresh = True
    fake.expire_tokens()
    await _poll(hass, freezer, fake)
    assert await _rows(mondo, "SELECT count(*) FROM readings") == readings
    flows = hass.config_entries.flow.async_progress()
    assert [(f["context"]["source"], f["step_id"]) for f in flows] == [(SOURCE_REAUTH, "mondo_reauth")]
    flow_id = flows[0]["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {"password": "still wrong"})
    assert result["errors"] == {"base": "mondo_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"password": "new password"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    await hass.async_block_till_done()
    assert mondo.data["password"] == "new password"
    assert mondo.state is ConfigEntryState.LOADED
    fake.refuse_refresh = False
    await _poll(hass, freezer, fake)
    assert hass.states.get(LOAD).state != STATE_UNAVAILABLE


async def test_reconfigure_to_another_group_and_onto_a_configured_one(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo
) -> None:
    other = mondo_entry(OTHER_GROUP)
    other.add_to_hass(hass)
    result = await mondo.start_reconfigure_flow(hass)
    assert result["step_id"] == "mondo_reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": OTHER_GROUP})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")
    result = await mondo.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": GROUP})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(other.entry_id)
    result = await mondo.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"email": EMAIL, "password": PASSWORD}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"group": OTHER_GROUP})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert (mondo.unique_id, mondo.data["site_id"]) == (f"mondo_{OTHER_GROUP}", OTHER_GROUP)


async def test_options_set_the_stale_limit(hass: HomeAssistant, mondo: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(mondo.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "mondo_options")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"stale_days": 3})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mondo.options == {"stale_days": 3}


# Polling.


async def test_real_body_gives_soc_load_and_the_vendor_time(
    hass: HomeAssistant, mondo: MockConfigEntry
) -> None:
    assert float(hass.states.get(SOC).state) == 74
    assert float(hass.states.get(LOAD).state) == 4350
    assert await _rows(
        mondo, "SELECT inverter_time, battery_soc, load_w, solar_w, battery_w, grid_w FROM readings"
    ) == [(T_WIDGET, 74.0, 4350, 9580, -7520, 2300)]
    assert mondo.runtime_data.coordinator.data.inverter_time.isoformat() == "2026-09-11T03:50:00+00:00"
    points = await _rows(
        mondo,
        "SELECT pi.point_name, pi.point_sub_id, pi.subsystem, pr.measurement_time, pr.value "
        "FROM point_readings pr JOIN point_info pi ON pi.id = pr.point_id WHERE pi.point_name = 'Pool' ORDER BY 2",
    )
    assert points == [
        ("Pool", "energy", "load", T_WIDGET * 1000, 1234567.0),
        ("Pool", "power", "load", T_WIDGET * 1000, 850.0),
    ]
    assert await _rows(mondo, "SELECT count(*) FROM point_info") == [(10,)]
    assert await _rows(mondo, "SELECT count(*) FROM point_readings_agg_5m") == [(10,)]


async def test_twenty_polls_one_login_every_reading_balances(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    night = fake.widgets[GROUP]
    for i in range(20):
        # Vary the flows: discharging at night with some import, then charging and exporting.
        usage = night["liveUsageData"]
        usage["solar"]["value"] = 0.0 if i < 10 else 6.0
        usage["battery"]["value"] = -2.0 if i < 10 else 1.5
        usage["grid"]["value"] = 0.5 if i < 10 else -3.0
        night["demand"] = 2.5 if i < 10 else 1.5
        await _poll(hass, freezer, fake)
    assert (fake.logins, fake.refreshes) == (1, 0)
    rows = await _rows(
        mondo, "SELECT solar_w, battery_w, grid_w, load_w FROM readings ORDER BY inverter_time"
    )
    assert len(rows) == 21
    for solar, battery, grid, load in rows:
        assert abs(solar + battery + grid - load) <= BALANCE_TOLERANCE_W
    assert rows[1] == (0, 2000, 500, 2500)
    assert rows[-1] == (6000, -1500, -3000, 1500)
    totals = await _rows(
        mondo,
        "SELECT battery_out_kwh_total, grid_out_kwh_total, solar_kwh_total FROM readings ORDER BY inverter_time DESC LIMIT 1",
    )
    assert totals[0][0] > 0.5
    assert totals[0][1] > 0.5
    assert totals[0][2] == pytest.approx(18234.567)
    status = await _rows(mondo, "SELECT total_polls, successful_polls FROM polling_status")
    assert status == [(21, 21)]


async def test_expired_token_is_refreshed_and_a_refused_refresh_logs_in_once(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    fake.expire_tokens()
    mondo.runtime_data.coordinator.account._token.expires_at = 0  # type: ignore[attr-defined,union-attr]
    await _poll(hass, freezer, fake)
    assert (fake.logins, fake.refreshes) == (1, 1)
    fake.expire_tokens()
    fake.refuse_refresh = True
    mondo.runtime_data.coordinator.account._token.expires_at = 0  # type: ignore[attr-defined,union-attr]
    await _poll(hass, freezer, fake)
    assert (fake.logins, fake.refreshes) == (2, 1)
    assert hass.states.get(LOAD).state != STATE_UNAVAILABLE


async def test_a_stalled_feed_stores_nothing_new(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    for _ in range(3):
        await _poll(hass, freezer, fake, advance=0)
    assert await _rows(mondo, "SELECT count(*) FROM readings") == [(1,)]
    assert await _rows(mondo, "SELECT count(*) FROM point_readings") == [(10,)]
    assert mondo.runtime_data.coordinator.data.reading.inverter_time == T_WIDGET


async def test_a_second_group_of_the_account_shares_its_login(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    second = await _setup(hass, mondo_entry(OTHER_GROUP))
    for _ in range(3):
        fake.move_on(120, OTHER_GROUP)
        await _poll(hass, freezer, fake)
    assert fake.logins == 1
    assert second.runtime_data.coordinator.account is mondo.runtime_data.coordinator.account


async def test_a_forbidden_group_is_a_failed_poll_naming_it(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    fake.forbidden.add(GROUP)
    for _ in range(3):
        await _poll(hass, freezer, fake)
    assert hass.states.get(LOAD).state == STATE_UNAVAILABLE
    error = (await _rows(mondo, "SELECT last_error FROM polling_status"))[0][0]
    assert error.startswith("SiteForbidden")
    assert GROUP in error
    assert not hass.config_entries.flow.async_progress()  # not a reauth: the password is fine


async def test_an_unbalanced_reading_is_logged_once(
    hass: HomeAssistant,
    mondo: MockConfigEntry,
    fake: FakeMondo,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.widgets[GROUP]["demand"] = 40.0
    await _poll(hass, freezer, fake)
    await _poll(hass, freezer, fake)
    assert caplog.text.count("do not add up") == 1
    assert "not as documented" not in caplog.text
    # Figures that balance only if grid positive meant export: used that way, and said once.
    usage = fake.widgets[GROUP]["liveUsageData"]
    usage["solar"]["value"], usage["battery"]["value"], usage["grid"]["value"] = 6.0, 1.0, 4.0
    fake.widgets[GROUP]["demand"] = 1.0
    await _poll(hass, freezer, fake)
    await _poll(hass, freezer, fake)
    assert caplog.text.count("not as documented") == 1
    assert "battery positive = charging and grid negative = import" in caplog.text
    rows = await _rows(mondo, "SELECT battery_w, grid_w FROM readings ORDER BY inverter_time DESC LIMIT 1")
    assert rows == [(-1000, -4000)]


async def test_a_string_soc_is_refused_and_the_rest_kept(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    fake.widgets[GROUP]["liveUsageData"]["battery"]["stateOfCharge"] = "74"
    fake.widgets[GROUP]["liveUsageData"]["grid"]["value"] = "x"
    await _poll(hass, freezer, fake)
    row = await _rows(mondo, "SELECT battery_soc, load_w FROM readings ORDER BY inverter_time DESC LIMIT 1")
    assert row == [(None, 4350)]
    error = (await _rows(mondo, "SELECT error FROM sessions ORDER BY id DESC LIMIT 1"))[0][0]
    assert "battery_soc='74': not a number" in error


# Entities that follow the points.


async def test_a_new_circuit_adds_its_two_sensors_without_a_reload(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    assert hass.states.get("sensor.ev_charger_power") is None
    fake.subcircuits[GROUP]["rows"].append(
        {
            "monitoringPointId": "ev-1",
            "monitoringPointName": "EV charger",
            "loadType": "EvCharger",
            "energyNowW": 7200.0,
            "totalEnergyWh": 450000.0,
        }
    )
    with patch.object(hass.config_entries, "async_reload") as reload:
        await _poll(hass, freezer, fake)
    reload.assert_not_called()
    assert float(hass.states.get("sensor.ev_charger_power").state) == 7200
    assert float(hass.states.get("sensor.ev_charger_energy").state) == 450.0  # shown in kWh
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"mondo_{GROUP}_point_ev-1")})
    assert device is not None
    assert (device.name, device.model, device.manufacturer) == (
        "EV charger",
        "EvCharger",
        "Mondo Power",
    )
    system = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"mondo_{GROUP}")})
    assert device.via_device_id == system.id
    entity = er.async_get(hass).async_get("sensor.ev_charger_power")
    assert entity.translation_key == "point_power"  # an unknown load type: the plain icon


async def test_a_point_gone_longer_than_the_limit_is_removed_and_comes_back(
    hass: HomeAssistant, fake: FakeMondo, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to("2026-09-11T03:51:00+00:00")
    entry = await _setup(hass, mondo_entry(stale_days=1))
    devices = dr.async_get(hass)
    pool = (DOMAIN, f"mondo_{GROUP}_point_{POOL}")
    rows = fake.subcircuits[GROUP]["rows"]
    pool_row = next(row for row in rows if row["monitoringPointId"] == POOL)
    rows.remove(pool_row)
    await _poll(hass, freezer, fake)
    assert hass.states.get("sensor.pool_power").state == STATE_UNKNOWN  # gone for now, not yet stale
    freezer.tick(timedelta(hours=23))
    await _poll(hass, freezer, fake, advance=23 * 3600)
    assert devices.async_get_device(identifiers={pool}) is not None
    freezer.tick(timedelta(hours=1))
    await _poll(hass, freezer, fake, advance=3600)
    assert devices.async_get_device(identifiers={pool}) is None
    assert hass.states.get("sensor.pool_power") is None
    assert er.async_get(hass).async_get("sensor.pool_energy") is None
    # Its history stays in the store.
    assert await _rows(entry, f"SELECT count(*) FROM point_info WHERE point_id = '{POOL}'") == [(2,)]
    # It comes back: the entry reloads and the point has its device and sensors again.
    rows.append(pool_row)
    await _poll(hass, freezer, fake)
    await hass.async_block_till_done()
    assert devices.async_get_device(identifiers={pool}) is not None
    assert float(hass.states.get("sensor.pool_power").state) == 850


async def test_a_point_stale_at_setup_gets_no_device(
    hass: HomeAssistant, fake: FakeMondo, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to("2026-09-11T03:51:00+00:00")
    entry = await _setup(hass, mondo_entry())
    assert await hass.config_entries.async_unload(entry.entry_id)
    fake.subcircuits[GROUP]["rows"] = [
        r for r in fake.subcircuits[GROUP]["rows"] if r["monitoringPointId"] != POOL
    ]
    freezer.tick(timedelta(days=8))
    fake.move_on(8 * 86400)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"mondo_{GROUP}_point_{POOL}")}) is None
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, MondoCoordinator)
    assert POOL in coordinator.removed
    assert POOL not in coordinator.points


async def test_a_renamed_point_keeps_its_name_across_polls(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    registry = er.async_get(hass)
    registry.async_update_entity("sensor.pool_power", name="Pool pump")
    registry.async_update_entity("sensor.pool_power", icon="mdi:pool")  # not a rename
    await hass.async_block_till_done()
    sql = (
        f"SELECT point_sub_id, point_name, display_name FROM point_info WHERE point_id = '{POOL}' ORDER BY 1"
    )
    assert await _rows(mondo, sql) == [("energy", "Pool", "Pool"), ("power", "Pool", "Pool pump")]
    next(r for r in fake.subcircuits[GROUP]["rows"] if r["monitoringPointId"] == POOL)[
        "monitoringPointName"
    ] = "Pool 2"
    for _ in range(3):
        await _poll(hass, freezer, fake)
    assert await _rows(mondo, sql) == [("energy", "Pool 2", "Pool"), ("power", "Pool 2", "Pool pump")]
    assert hass.states.get("sensor.pool_power").name == "Pool pump"
    # Clearing the name gives the vendor's back.
    registry.async_update_entity("sensor.pool_power", name=None)
    await hass.async_block_till_done()
    assert (await _rows(mondo, sql))[1] == ("power", "Pool 2", "Pool 2")


async def test_renames_of_other_entities_are_ignored_and_a_lost_point_is_logged(
    hass: HomeAssistant, mondo: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    registry = er.async_get(hass)
    registry.async_update_entity(LOAD, name="House load")
    other = MockConfigEntry(domain=DOMAIN)
    other.add_to_hass(hass)
    foreign = registry.async_get_or_create(
        "sensor", DOMAIN, f"mondo_{GROUP}_point_x_power", config_entry=other
    )
    registry.async_update_entity(foreign.entity_id, name="Not ours")
    ghost = registry.async_get_or_create(
        "sensor", DOMAIN, f"mondo_{GROUP}_point_ghost_power", config_entry=mondo
    )
    registry.async_update_entity(ghost.entity_id, name="Ghost")
    await hass.async_block_till_done()
    assert await _rows(mondo, "SELECT count(*) FROM point_info WHERE display_name != point_name") == [(0,)]
    assert "Could not keep the new name" in caplog.text
    assert "ghost" in caplog.text


# What users see.


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "setup_liveone", "fake")
async def test_entity_states_snapshot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """The real widget body (2026-09-11 13:50 local) and the hand-made points as entities."""
    freezer.move_to("2026-09-11T03:51:00+00:00")
    entry = mondo_entry()
    with patch("custom_components.liveone.PLATFORMS", [Platform.SENSOR]):
        await _setup(hass, entry)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_energy_dashboard_validation_passes_for_mondo(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    fake: FakeMondo,
) -> None:
    freezer.move_to("2026-09-11T03:51:00+00:00")
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = await _setup(hass, mondo_entry())
    for _ in range(3):
        await _poll(hass, freezer, fake)
    await assert_energy_dashboard_valid(hass, "hillcrest")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_point_sensor_of_a_forgotten_point_shows_nothing(
    hass: HomeAssistant, mondo: MockConfigEntry
) -> None:
    from custom_components.liveone.sources.mondo import POINT_SENSORS, _point_value_fn

    coordinator = mondo.runtime_data.coordinator
    assert isinstance(coordinator, MondoCoordinator)
    assert _point_value_fn(coordinator, "forgotten", "power")(coordinator.data) is None
    assert _point_value_fn(coordinator, POOL, "energy")(coordinator.data) == 1234567.0
    assert POINT_SENSORS[None][0].value_fn(coordinator.data) is None


async def test_diagnostics_hide_the_credentials_and_tokens(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, hass_client: ClientSessionGenerator
) -> None:
    result = await get_diagnostics_for_config_entry(hass, hass_client, mondo)
    text = json.dumps(result)
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert PASSWORD not in text
    assert not any(token in text for token in (*fake.access_tokens, *fake.refresh_tokens))


async def test_a_malformed_body_is_an_error_and_stores_nothing(
    hass: HomeAssistant, mondo: MockConfigEntry, fake: FakeMondo, freezer: FrozenDateTimeFactory
) -> None:
    fake.subcircuits[GROUP] = {"rows": "not a list"}
    await _poll(hass, freezer, fake)
    assert await _rows(mondo, "SELECT count(*) FROM readings") == [(1,)]
    assert await _rows(mondo, "SELECT count(*) FROM point_readings") == [(10,)]
    error = (await _rows(mondo, "SELECT last_error FROM polling_status"))[0][0]
    assert error.startswith("InvalidResponse")
    assert "rows" in error
    assert hass.states.get(LOAD).state != STATE_UNAVAILABLE  # within the grace of two failed polls
