"""Composite systems through a real Home Assistant: two demo systems as sources.

"Roof" gives the solar, "Shed" the battery, grid and load (both simulated, with a day of backfilled
history). The composite "Our Home" is a system of its own: its 5-minute rows, days, live entities,
repair issue, options, access and Energy dashboard.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from http import HTTPStatus
import json
import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import list_statistic_ids
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator
import sqlalchemy as sa

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.diagnostics import async_get_config_entry_diagnostics
from custom_components.liveone.repairs import async_create_fix_flow
from custom_components.liveone.sources import composite
from custom_components.liveone.sources.composite import (
    CONF_BATTERY,
    CONF_GRID,
    CONF_LOAD,
    CONF_SOLAR,
    CONF_TITLES,
    ISSUE_SOURCE_REMOVED,
    CompositeCoordinator,
)
from custom_components.liveone.store import BatchResult, StoreError, combine
from custom_components.liveone.vendors.model import Reading

from ..conftest import DEMO_ENTRY_DATA, NOON_LOCAL, async_next_poll, query_db
from ..test_energy import assert_energy_dashboard_valid

SOLAR = ("solar_w_avg", "solar_w_min", "solar_w_max", "solar_interval_wh")
BATTERY = (
    "battery_w_avg",
    "battery_w_min",
    "battery_w_max",
    "battery_soc_last",
    "battery_in_wh_interval",
    "battery_out_wh_interval",
)
GRID = ("grid_w_avg", "grid_w_min", "grid_w_max", "grid_in_wh_interval", "grid_out_wh_interval")
LOAD = ("load_w_avg", "load_w_min", "load_w_max", "load_wh_interval")
YESTERDAY = "2025-08-16"


def _demo(title: str, site: str, **data: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=f"demo_{site}",
        data={**DEMO_ENTRY_DATA, "site_id": site, **data},
    )


def _mapping(
    solar: list[str] | None = None,
    battery: str | None = None,
    grid: str | None = None,
    load: str | None = None,
) -> dict[str, Any]:
    return {
        CONF_SOLAR: solar or [],
        CONF_BATTERY: battery,
        CONF_GRID: grid,
        CONF_LOAD: load,
        CONF_TITLES: {},
    }


class Home:
    """The two sources and (once added) the composite."""

    def __init__(
        self, hass: HomeAssistant, db_url: str, roof: MockConfigEntry, shed: MockConfigEntry
    ) -> None:
        self.hass = hass
        self.db_url = db_url
        self.roof = roof
        self.shed = shed
        self.entry: MockConfigEntry | None = None

    def split(self) -> dict[str, Any]:
        """Solar from the roof, battery, grid and load from the shed."""
        shed = self.shed.entry_id
        return _mapping([self.roof.entry_id], shed, shed, shed)

    async def add(self, mapping: dict[str, Any], title: str = "Our Home", **data: object) -> MockConfigEntry:
        site = title.lower().replace(" ", "_")
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=title,
            unique_id=f"composite_{site}",
            data={"vendor": "composite", "site_id": site, "timezone_offset_min": 600, **mapping, **data},
        )
        entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(entry.entry_id)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        self.entry = entry
        return entry

    @property
    def coordinator(self) -> CompositeCoordinator:
        assert self.entry is not None
        coordinator = self.entry.runtime_data.coordinator
        assert isinstance(coordinator, CompositeCoordinator)
        return coordinator

    def rows(self, site: str) -> dict[int, dict[str, Any]]:
        """A system's 5-minute rows by interval end."""
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                result = conn.execute(
                    sa.text(
                        "SELECT a.* FROM readings_agg_5m a JOIN systems s ON s.id = a.system_id "
                        "WHERE s.vendor_site_id = :site ORDER BY a.interval_end"
                    ),
                    {"site": site},
                )
                return {int(row["interval_end"]): dict(row) for row in result.mappings()}
        finally:
            engine.dispose()

    def day(self, site: str, day: str) -> dict[str, Any] | None:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                row = (
                    conn.execute(
                        sa.text(
                            "SELECT d.* FROM readings_agg_1d d JOIN systems s ON CAST(s.id AS TEXT) = d.system_id "
                            "WHERE s.vendor_site_id = :site AND d.day = :day"
                        ),
                        {"site": site, "day": day},
                    )
                    .mappings()
                    .first()
                )
                return None if row is None else dict(row)
        finally:
            engine.dispose()

    def state(self, entity: str) -> str:
        state = self.hass.states.get(entity)
        assert state is not None, entity
        return state.state


@pytest.fixture
async def home(hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str) -> Home:
    freezer.move_to(NOON_LOCAL)
    roof, shed = _demo("Roof", "roof", backfill_days=1), _demo("Shed", "shed", backfill_days=1)
    for entry in (roof, shed):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return Home(hass, setup_liveone, roof, shed)


def _assert_chosen_columns(home: Home, solar_site: str = "roof", other_site: str = "shed") -> dict[int, Any]:
    roof, shed, ours = home.rows(solar_site), home.rows(other_site), home.rows("our_home")
    assert ours
    assert ours.keys() == roof.keys() | shed.keys()
    for end, row in ours.items():
        assert {c: row[c] for c in SOLAR} == {c: roof[end][c] for c in SOLAR}, end
        for columns in (BATTERY, GRID, LOAD):
            assert {c: row[c] for c in columns} == {c: shed[end][c] for c in columns}, end
    return ours


# ---- history ---------------------------------------------------------------------------------------------


async def test_rows_are_built_from_the_sources_history_and_follow_their_polls(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    entry = await home.add(home.split())
    assert entry.state is ConfigEntryState.LOADED
    assert "Rebuilding Our Home from its sources' history: 1 day(s)" in caplog.text
    assert "Rebuilt Our Home: " in caplog.text
    ours = _assert_chosen_columns(home)
    assert len(ours) >= 288

    # Yesterday (finished) has a daily row that is the sum of its intervals.
    day = home.day("our_home", YESTERDAY)
    assert day is not None
    start = int(datetime(2025, 8, 15, 14, tzinfo=UTC).timestamp())  # 2025-08-16 00:00 at UTC+10
    in_day = [row for end, row in ours.items() if start < end <= start + 86400]
    assert day["interval_count"] == len(in_day)
    for day_column, column in (
        ("solar_kwh", "solar_interval_wh"),
        ("load_kwh", "load_wh_interval"),
        ("battery_charge_kwh", "battery_in_wh_interval"),
        ("grid_export_kwh", "grid_out_wh_interval"),
    ):
        assert day[day_column] == pytest.approx(sum(r[column] or 0 for r in in_day) / 1000, abs=0.0011)

    # Polls of the sources write the composite's interval too (cause DERIVED), never into the sources.
    await async_next_poll(hass, freezer, 6)
    _assert_chosen_columns(home)
    assert query_db(
        home.db_url,
        "SELECT DISTINCT cause FROM sessions s JOIN systems y ON y.id = s.system_id WHERE y.vendor_type = 'composite'",
    ) == [("DERIVED",)]
    assert query_db(
        home.db_url,
        "SELECT COUNT(*) FROM readings r JOIN systems y ON y.id = r.system_id "
        "WHERE y.vendor_type = 'composite'",
    ) == [(0,)]

    # Live values: the sources' newest, at the oldest of their times.
    assert home.state("sensor.our_home_solar_power") == home.state("sensor.roof_solar_power")
    for key in ("battery_power", "grid_power", "load_power", "battery_state_of_charge"):
        assert home.state(f"sensor.our_home_{key}") == home.state(f"sensor.shed_{key}")
    newest = max(ours)
    data = home.coordinator.data
    assert data is not None
    roof_time = home.roof.runtime_data.coordinator.data.reading.inverter_time  # type: ignore[union-attr]
    shed_time = home.shed.runtime_data.coordinator.data.reading.inverter_time  # type: ignore[union-attr]
    assert data.reading.inverter_time == min(roof_time, shed_time)
    # The energy sensors show the composite's own running totals.
    totals = home.rows("our_home")
    last = totals[max(totals)]
    assert float(home.state("sensor.our_home_solar_energy")) == pytest.approx(last["solar_kwh_total_last"])
    assert newest <= max(totals)


async def test_a_late_source_reading_recomputes_the_interval_and_the_day(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home
) -> None:
    await home.add(home.split())
    before = home.day("our_home", YESTERDAY)
    assert before is not None
    late_time = int(datetime(2025, 8, 16, 1, 2, 30, tzinfo=UTC).timestamp())  # yesterday 11:02:30 local
    late = Reading(inverter_time=late_time, solar_w=9999)
    client = home.roof.runtime_data.coordinator.client  # type: ignore[attr-defined]
    with patch.object(client, "async_get_readings", AsyncMock(return_value=[late])):
        await async_next_poll(hass, freezer)
    end = late_time - late_time % 300 + 300
    assert home.rows("roof")[end]["solar_w_max"] == 9999
    ours = home.rows("our_home")
    assert ours[end]["solar_w_max"] == 9999
    assert ours[end]["solar_w_avg"] == home.rows("roof")[end]["solar_w_avg"]
    after = home.day("our_home", YESTERDAY)
    assert after is not None
    assert after["solar_w_max"] == 9999 != before["solar_w_max"]


async def test_the_load_is_the_balance_without_a_load_source(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home
) -> None:
    shed = home.shed.entry_id
    await home.add(_mapping([home.roof.entry_id], shed, shed))
    await async_next_poll(hass, freezer)
    roof, shed_rows, ours = home.rows("roof"), home.rows("shed"), home.rows("our_home")
    for end, row in ours.items():
        expected = roof[end]["solar_w_avg"] + shed_rows[end]["battery_w_avg"] + shed_rows[end]["grid_w_avg"]
        assert row["load_w_avg"] == expected
        assert row["load_w_min"] is row["load_w_max"] is None
        energies = [
            roof[end]["solar_interval_wh"],
            shed_rows[end]["battery_out_wh_interval"],
            -shed_rows[end]["battery_in_wh_interval"]
            if shed_rows[end]["battery_in_wh_interval"] is not None
            else None,
            shed_rows[end]["grid_in_wh_interval"],
            -shed_rows[end]["grid_out_wh_interval"]
            if shed_rows[end]["grid_out_wh_interval"] is not None
            else None,
        ]
        if None not in energies:
            assert row["load_wh_interval"] == pytest.approx(max(0, sum(energies)), abs=1)
    live = sum(
        float(home.state(entity))
        for entity in ("sensor.roof_solar_power", "sensor.shed_battery_power", "sensor.shed_grid_power")
    )
    assert float(home.state("sensor.our_home_load_power")) == live


async def test_two_solar_arrays_are_summed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home
) -> None:
    await home.add(_mapping([home.roof.entry_id, home.shed.entry_id]))
    await async_next_poll(hass, freezer)
    roof, shed, ours = home.rows("roof"), home.rows("shed"), home.rows("our_home")
    for end, row in ours.items():
        assert row["solar_w_avg"] == roof[end]["solar_w_avg"] + shed[end]["solar_w_avg"]
        assert row["solar_w_max"] is None
        assert row["battery_w_avg"] is None
    assert float(home.state("sensor.our_home_solar_power")) == float(
        home.state("sensor.roof_solar_power")
    ) + float(home.state("sensor.shed_solar_power"))
    assert hass.states.get("sensor.our_home_battery_power") is None  # no battery source: no entity


# ---- sources come and go -----------------------------------------------------------------------------------


async def test_an_unloaded_source_makes_its_roles_unavailable(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home
) -> None:
    await home.add(home.split())
    await async_next_poll(hass, freezer)
    assert await hass.config_entries.async_unload(home.shed.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for key in ("battery_power", "battery_state_of_charge", "grid_power", "load_power", "grid_import_energy"):
        assert home.state(f"sensor.our_home_{key}") == STATE_UNAVAILABLE, key
    assert home.state("sensor.our_home_solar_power") == home.state("sensor.roof_solar_power")
    rows_before = home.rows("our_home")
    await async_next_poll(hass, freezer, 5)
    rows_after = home.rows("our_home")
    newest = max(rows_after)
    assert rows_after[newest]["battery_w_avg"] == rows_before.get(newest, {}).get("battery_w_avg")
    # Back again: followed again, the roles come back.
    assert await hass.config_entries.async_setup(home.shed.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_next_poll(hass, freezer)
    assert home.state("sensor.our_home_battery_power") == home.state("sensor.shed_battery_power")
    assert home.state("sensor.our_home_load_power") == home.state("sensor.shed_load_power")
    # What the shed wrote while it set up again (the minutes it was away) reached the composite too.
    _assert_chosen_columns(home)


async def test_the_balance_is_unavailable_while_a_role_it_needs_is(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home
) -> None:
    shed = home.shed.entry_id
    await home.add(_mapping([home.roof.entry_id], shed, shed))
    assert home.state("sensor.our_home_load_power") != STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(home.roof.entry_id)
    await hass.async_block_till_done()
    assert home.state("sensor.our_home_load_power") == STATE_UNAVAILABLE
    assert home.state("sensor.our_home_solar_power") == STATE_UNAVAILABLE
    assert home.state("sensor.our_home_grid_power") == home.state("sensor.shed_grid_power")
    # With every source gone there is nothing to show.
    assert await hass.config_entries.async_unload(home.shed.entry_id)
    await hass.async_block_till_done()
    assert home.coordinator.data is None
    assert home.state("sensor.our_home_grid_power") == STATE_UNAVAILABLE


async def _fix(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, issue_id: str, answer: dict[str, Any]
) -> dict[str, Any]:
    admin = await hass.auth.async_create_user("Admin", group_ids=["system-admin"])
    refresh = await hass.auth.async_create_refresh_token(admin, CLIENT_ID)
    client = await hass_client(hass.auth.async_create_access_token(refresh))
    response = await client.post("/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id})
    assert response.status == HTTPStatus.OK
    form: dict[str, Any] = await response.json()
    if form["type"] != "form":
        return form
    assert form["step_id"] == "pick"
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json=answer)
    assert response.status == HTTPStatus.OK
    result: dict[str, Any] = await response.json()
    await hass.async_block_till_done(wait_background_tasks=True)
    return result


async def test_a_removed_source_raises_a_repair_whose_fix_picks_another(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    barn = _demo("Barn", "barn", backfill_days=1)
    barn.add_to_hass(hass)
    assert await hass.config_entries.async_setup(barn.entry_id)
    mapping = home.split()
    mapping[CONF_TITLES] = {home.roof.entry_id: "Roof", home.shed.entry_id: "Shed"}
    entry = await home.add(mapping)
    await hass.config_entries.async_remove(home.shed.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue_id = f"{ISSUE_SOURCE_REMOVED}_{entry.entry_id}_{home.shed.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {"composite": "Our Home", "source": "Shed"}
    assert home.state("sensor.our_home_battery_power") == STATE_UNAVAILABLE
    # The removed source's stored rows are no longer combined: its roles have no values.
    await async_next_poll(hass, freezer, 5)
    ours = home.rows("our_home")
    assert ours[max(ours)]["battery_w_avg"] is None
    assert ours[max(ours)]["solar_w_avg"] is not None

    result = await _fix(hass, hass_client, issue_id, {"source": barn.entry_id})
    assert result["type"] == "create_entry", result
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert entry.options[CONF_BATTERY] == entry.options[CONF_LOAD] == barn.entry_id
    assert entry.options[CONF_TITLES] == {home.roof.entry_id: "Roof", barn.entry_id: "Barn"}
    # The history is rebuilt from the barn's rows.
    _assert_chosen_columns(home, "roof", "barn")
    await async_next_poll(hass, freezer)
    assert home.state("sensor.our_home_battery_power") == home.state("sensor.barn_battery_power")


async def test_the_fix_refuses_to_leave_no_source_and_a_missing_source_is_found_at_setup(
    hass: HomeAssistant, home: Home, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    entry = await home.add(_mapping(load="gone-entry"))
    issue_id = f"{ISSUE_SOURCE_REMOVED}_{entry.entry_id}_gone-entry"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {"composite": "Our Home", "source": "gone-entry"}
    assert home.coordinator.data is None
    result = await _fix(hass, hass_client, issue_id, {})
    assert (result["type"], result["errors"]) == ("form", {"base": "composite_no_roles"})
    # Removing the composite removes its issues.
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_fix_for_a_composite_that_is_gone_aborts(hass: HomeAssistant, setup_liveone: str) -> None:
    flow = await async_create_fix_flow(
        hass, "composite_source_removed_x_y", {"vendor": "composite", "entry_id": "x", "source": "y"}
    )
    flow.hass = hass
    result = await flow.async_step_init({"issue_id": "composite_source_removed_x_y"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "composite_removed")
    for data in ({"vendor": "nobody"}, {"vendor": "demo"}, None):
        with pytest.raises(ValueError, match="no fix"):
            await async_create_fix_flow(hass, "other", data)


# ---- flows -------------------------------------------------------------------------------------------------


async def test_the_flow_needs_systems_first(hass: HomeAssistant, setup_liveone: str) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert "composite" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "composite"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "composite_no_systems")


async def test_the_flow_names_the_home_and_picks_its_sources(hass: HomeAssistant, home: Home) -> None:
    # An existing composite is not offered as a source.
    await home.add(_mapping([home.roof.entry_id]), title="Other Home")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "composite"})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "composite")
    options = result["data_schema"].schema[CONF_SOLAR].config["options"]
    assert options == [
        {"value": home.roof.entry_id, "label": "Roof"},
        {"value": home.shed.entry_id, "label": "Shed"},
    ]
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"name": " ?! ", CONF_SOLAR: [home.roof.entry_id]}
    )
    assert result["errors"] == {"name": "invalid_name"}
    result = await hass.config_entries.flow.async_configure(flow_id, {"name": "Our Home"})
    assert result["errors"] == {"base": "composite_no_roles"}
    shed = home.shed.entry_id
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "name": "Our Home",
            CONF_SOLAR: [home.roof.entry_id, home.roof.entry_id],
            CONF_BATTERY: shed,
            CONF_GRID: shed,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Our Home"
    data = result["data"]
    assert data["vendor"] == "composite"
    assert data["site_id"] == "our_home"
    assert data[CONF_SOLAR] == [home.roof.entry_id]
    assert (data[CONF_BATTERY], data[CONF_GRID], data[CONF_LOAD]) == (shed, shed, None)
    assert data[CONF_TITLES] == {home.roof.entry_id: "Roof", shed: "Shed"}
    await hass.async_block_till_done(wait_background_tasks=True)
    # The same name again is the same system.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "composite"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Our home", CONF_SOLAR: [home.roof.entry_id]}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")


async def test_options_remap_and_rebuild(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await home.add(home.split())
    assert entry.supports_options
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "composite")
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested == {
        CONF_SOLAR: [home.roof.entry_id],
        CONF_BATTERY: home.shed.entry_id,
        CONF_GRID: home.shed.entry_id,
        CONF_LOAD: home.shed.entry_id,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["errors"] == {"base": "composite_no_roles"}
    caplog.set_level(logging.INFO)
    shed = home.shed.entry_id
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SOLAR: [shed], CONF_BATTERY: shed, CONF_GRID: shed, CONF_LOAD: shed}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "Our Home's sources changed" in caplog.text
    assert "Rebuilding Our Home from its sources" in caplog.text
    _assert_chosen_columns(home, "shed", "shed")
    await async_next_poll(hass, freezer)
    assert home.state("sensor.our_home_solar_power") == home.state("sensor.shed_solar_power")
    # The same mapping again changes nothing (no rebuild).
    caplog.clear()
    hass.config_entries.async_update_entry(entry, title="Our Home")
    await home.coordinator.async_set_mapping(dict(home.coordinator.mapping))
    assert "sources changed" not in caplog.text


async def test_a_long_rebuild_logs_progress_and_is_bounded(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, caplog: pytest.LogCaptureFixture
) -> None:
    freezer.move_to(NOON_LOCAL)
    roof = _demo("Roof", "roof", backfill_days=30)
    roof.add_to_hass(hass)
    assert await hass.config_entries.async_setup(roof.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    home = Home(hass, setup_liveone, roof, roof)
    caplog.set_level(logging.INFO)
    with patch.object(composite, "REBUILD_MAX_DAYS", 20), patch.object(composite, "REBUILD_LOG_EVERY", 10):
        await home.add(_mapping([roof.entry_id]))
    assert "Rebuilding Our Home from its sources' history: 20 day(s)" in caplog.text
    assert "Rebuilding Our Home: day 10 of 20" in caplog.text
    ours = home.rows("our_home")
    assert min(ours) > max(ours) - 20 * 86400


# ---- failures of the store ---------------------------------------------------------------------------------


def _failing(real: Any, name: str) -> Any:
    """Wrap ``Store.async_transaction`` so that the combine function ``name`` fails."""

    async def _transaction(func: Any, *args: Any) -> Any:
        if getattr(func, "__name__", "") == name:
            raise StoreError("gone")
        return await real(func, *args)

    return _transaction


async def test_store_failures_lose_no_interval(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    await home.add(home.split())
    coordinator = home.coordinator
    store = coordinator.store
    real_record = store.async_record_batch
    failed: list[int] = []

    async def _composite_fails(system_id: int, *args: Any, **kwargs: Any) -> Any:
        if system_id == coordinator.system_id:
            failed.append(system_id)
            raise StoreError("database is locked")
        return await real_record(system_id, *args, **kwargs)

    # The composite's writes fail for six polls: their intervals are derived again with the next write.
    with patch.object(store, "async_record_batch", _composite_fails):
        await async_next_poll(hass, freezer, 6)
    assert failed
    assert coordinator._missed
    await async_next_poll(hass, freezer)
    assert not coordinator._missed
    _assert_chosen_columns(home)

    real = store.async_transaction
    # Reading the sources fails: nothing is written, a warning says so.
    with patch.object(store, "async_transaction", _failing(real, "combined_intervals")):
        await async_next_poll(hass, freezer)
    assert "Could not read Our Home's sources from the store: gone" in caplog.text
    # The totals cannot be read after a write: the write stands, the old totals stay shown.
    caplog.set_level(logging.DEBUG)
    with patch.object(store, "async_transaction", _failing(real, "latest_totals")):
        await async_next_poll(hass, freezer)
    assert "Could not read Our Home's totals: gone" in caplog.text
    _assert_chosen_columns(home)
    # A rebuild that cannot read says so.
    with patch.object(store, "async_transaction", _failing(real, "source_span")):
        await coordinator.async_rebuild()
    assert "Could not rebuild Our Home from its sources: gone" in caplog.text


async def test_store_failures_around_the_mapping(
    hass: HomeAssistant, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    await home.add(home.split())
    coordinator = home.coordinator
    store = coordinator.store
    with patch.object(store, "async_find_system", AsyncMock(side_effect=StoreError("gone"))):
        await coordinator.async_set_mapping(_mapping([home.shed.entry_id]))
        assert "Could not find Our Home's sources in the store: gone" in caplog.text
        assert await hass.config_entries.async_unload(home.shed.entry_id)
        assert await hass.config_entries.async_setup(home.shed.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert caplog.text.count("Could not find Our Home's sources in the store") == 2


async def test_a_composite_whose_rows_cannot_be_read_at_setup_waits(
    hass: HomeAssistant, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    store_cls = type(home.roof.runtime_data.coordinator.store)
    real = store_cls.async_transaction

    async def _has_rows_fails(self: Any, func: Any, *args: Any) -> Any:
        if getattr(func, "__name__", "") == "has_rows":
            raise StoreError("gone")
        return await real(self, func, *args)

    with patch.object(store_cls, "async_transaction", _has_rows_fails):
        entry = await home.add(home.split())
    assert entry.state is ConfigEntryState.LOADED
    assert "Could not read Our Home's rows: gone" in caplog.text
    assert home.rows("our_home") == {}


async def test_restart_unload_and_writes_that_change_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await home.add(home.split())
    coordinator = home.coordinator
    sessions = query_db(home.db_url, "SELECT COUNT(*) FROM sessions")
    nothing = BatchResult(rows_written=0, intervals=(), days=(), points=None, session_id=0)
    assert await coordinator.async_source_written(coordinator.roles.solar[0], nothing) is None
    assert await coordinator.async_source_written(9999, replace(nothing, intervals=(300,))) is None
    assert query_db(home.db_url, "SELECT COUNT(*) FROM sessions") == sessions
    # Unloading stops following the sources; a restart with rows does not rebuild.
    feeder = home.roof.runtime_data.coordinator
    following = len(feeder._write_listeners)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert len(feeder._write_listeners) == following - 1
    # The sources go on while the composite is away; it catches up when it is back.
    await async_next_poll(hass, freezer, 12)
    caplog.clear()
    caplog.set_level(logging.INFO)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "Rebuilding" not in caplog.text
    assert "Catching up Our Home from its sources' history: 2 day(s)" in caplog.text
    _assert_chosen_columns(home)
    assert home.state("sensor.our_home_solar_power") == home.state("sensor.roof_solar_power")


async def test_remapping_drops_the_issues_of_sources_no_longer_used(hass: HomeAssistant, home: Home) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        "unrelated",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="unrelated",
    )
    entry = await home.add(_mapping([home.roof.entry_id], load="gone-entry"))
    issue_id = f"{ISSUE_SOURCE_REMOVED}_{entry.entry_id}_gone-entry"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SOLAR: [home.roof.entry_id]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, "unrelated") is not None
    await hass.config_entries.async_remove(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, "unrelated") is not None


# ---- access ------------------------------------------------------------------------------------------------


async def test_a_viewer_of_the_composite_sees_its_data_and_nothing_of_its_sources(
    hass: HomeAssistant,
    home: Home,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    viewer = MockUser(name="Vic Viewer", groups=[group]).add_to_hass(hass)
    refresh = await hass.auth.async_create_refresh_token(viewer, CLIENT_ID)
    token = hass.auth.async_create_access_token(refresh)
    entry = await home.add(home.split())
    await hass.services.async_call(
        DOMAIN,
        "grant_access",
        {"system": entry.entry_id, "user": viewer.id},
        blocking=True,
        context=Context(),
    )
    ids = dict(query_db(home.db_url, "SELECT vendor_site_id, id FROM systems"))
    ours, roof, shed = (int(ids[site]) for site in ("our_home", "roof", "shed"))  # type: ignore[call-overload]
    secrets = ("roof", "Roof", "shed", "Shed", home.roof.entry_id, home.shed.entry_id)

    def _leaks(answer: object) -> list[str]:
        text = json.dumps(answer)
        return [secret for secret in secrets if secret in text]

    async def _ws(message: dict[str, Any]) -> dict[str, Any]:
        client = await hass_ws_client(hass, token)
        await client.send_json_auto_id(message)
        answer: dict[str, Any] = await client.receive_json()
        await client.close()
        return answer

    listed = await _ws({"type": "liveone/systems"})
    assert [system["system"] for system in listed["result"]["systems"]] == [ours]
    assert listed["result"]["systems"][0]["role"] == "viewer"
    assert _leaks(listed) == []
    history = await _ws({"type": "liveone/history", "system": ours, "interval": "5m", "last": "24h"})
    assert history["success"]
    assert all(series["id"].startswith("liveone.composite.our_home.") for series in history["result"]["data"])
    assert any(value is not None for value in history["result"]["data"][0]["history"]["data"])
    assert _leaks(history) == []
    for source in (roof, shed):
        refused = await _ws({"type": "liveone/history", "system": source, "interval": "5m", "last": "24h"})
        assert refused["error"]["code"] == "not_found"

    client = await hass_client(token)
    response = await client.get(f"/api/liveone/history?system={ours}&interval=1d&last=7d")
    assert response.status == HTTPStatus.OK
    assert _leaks(await response.json()) == []
    response = await client.get(f"/api/liveone/history?system={roof}&interval=1d&last=7d")
    assert response.status == HTTPStatus.BAD_REQUEST
    # Its entities' attributes name no source, nor do its diagnostics (Home Assistant lets any user
    # download an entry's diagnostics over HTTP, so the mapping is redacted for everyone).
    for state in hass.states.async_all("sensor"):
        if state.entity_id.startswith("sensor.our_home_"):
            assert _leaks(dict(state.attributes)) == [], state.entity_id
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert _leaks(diagnostics) == []
    assert diagnostics["entry"]["data"][CONF_SOLAR] == "**REDACTED**"


# ---- Energy dashboard --------------------------------------------------------------------------------------


async def test_the_composites_energy_passes_the_energy_dashboard_validation(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> None:
    freezer.move_to(NOON_LOCAL)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    roof, shed = _demo("Roof", "roof", backfill_days=1), _demo("Shed", "shed", backfill_days=1)
    for source in (roof, shed):
        source.add_to_hass(hass)
        assert await hass.config_entries.async_setup(source.entry_id)
    home = Home(hass, db_url, roof, shed)
    await home.add(home.split())
    await async_next_poll(hass, freezer, 3)
    for flow in ("solar", "grid_import", "grid_export", "battery_charge", "battery_discharge", "load"):
        assert float(home.state(f"sensor.our_home_{flow}_energy")) >= 0
    await assert_energy_dashboard_valid(hass, "our_home")
    # Its long-term statistics are its own, imported from its rows like any system's.
    statistic_ids = await recorder_mock.async_add_executor_job(list_statistic_ids, hass)
    ours = {
        item["statistic_id"] for item in statistic_ids if item["statistic_id"].startswith("liveone:composite")
    }
    assert ours == {
        f"liveone:composite_our_home_{flow}"
        for flow in ("solar", "load", "battery_charge", "battery_discharge", "grid_import", "grid_export")
    }


async def test_catching_up_only_when_there_is_history_to_extend(
    hass: HomeAssistant, home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    await home.add(home.split())
    coordinator = home.coordinator
    store = coordinator.store
    caplog.set_level(logging.INFO)
    # While a rebuild runs, it covers what a catch-up would do.
    coordinator.async_start_rebuild()
    caplog.clear()
    await coordinator.async_catch_up()
    assert "Catching up" not in caplog.text
    await hass.async_block_till_done(wait_background_tasks=True)
    # Without rows of its own, or without sources' rows, there is nothing to extend.
    await store.async_transaction(combine.clear_rows, coordinator.system_id)
    await coordinator.async_catch_up()
    assert home.rows("our_home") == {}
    await coordinator.async_rebuild()
    rows = home.rows("our_home")
    coordinator.roles = combine.Roles()
    caplog.clear()
    await coordinator.async_catch_up()
    assert "Catching up" not in caplog.text
    assert home.rows("our_home") == rows
    with patch.object(store, "async_transaction", _failing(store.async_transaction, "newest_end")):
        await coordinator.async_catch_up()
    assert "Could not catch Our Home up with its sources: gone" in caplog.text
