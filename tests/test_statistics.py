"""Long-term statistics: the store's hourly energy imported into the recorder as external statistics.

Expected energies are computed here from the raw readings in the store file (lifetime totals: an hour's
energy is the total at its end minus the total at its start), not from the 5-minute rows or the code
under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_metadata,
    statistics_during_period,
    valid_statistic_id,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done

from custom_components.liveone import statistics as stats_mod
from custom_components.liveone.const import DOMAIN
from custom_components.liveone.statistics import (
    async_import_statistics,
    metadata_has_unit_class,
    statistic_metadata,
    statistic_system,
)
from custom_components.liveone.store import Store, StoreError, SystemInfo, statistics as store_stats
from custom_components.liveone.vendors.demo import DemoClient
from custom_components.liveone.vendors.model import ENERGY_FLOWS, Reading

from .conftest import NOON_LOCAL, async_next_poll, demo_entry, query_db

NOW = int(datetime.fromisoformat(NOON_LOCAL).timestamp())  # 02:00 UTC, an hour boundary
HOUR = 3600
FLOW_IDS = {
    "solar": "liveone:demo_demo_home_solar",
    "load": "liveone:demo_demo_home_load",
    "battery_in": "liveone:demo_demo_home_battery_charge",
    "battery_out": "liveone:demo_demo_home_battery_discharge",
    "grid_in": "liveone:demo_demo_home_grid_import",
    "grid_out": "liveone:demo_demo_home_grid_export",
}
TOTAL_COLUMNS = ", ".join(f"{flow}_kwh_total" for flow in ENERGY_FLOWS)


def history(start: int, end: int) -> list[Reading]:
    """One reading a minute from ``start`` to ``end`` with lifetime totals rising by a few Wh a minute."""
    wh = [0] * 6
    result: list[Reading] = []
    for t in range(start, end + 1, 60):
        m = t // 60
        rises = (m % 5, 3 + m % 3, m % 2, 1 if m % 4 == 0 else 0, 2, 1 if m % 3 == 0 else 0)
        wh = [total + rise for total, rise in zip(wh, rises, strict=True)]
        totals = {f"{flow}_kwh_total": w / 1000 for flow, w in zip(ENERGY_FLOWS, wh, strict=True)}
        result.append(Reading(inverter_time=t, **totals))
    return result


async def seed_store(db_url: str, readings: Sequence[Reading], freezer: FrozenDateTimeFactory) -> None:
    """Put a demo system's history into the store file, ten minutes before Home Assistant starts at NOW.

    (Rows written in the second of the last import count as changed: the seeded rows are older.)
    """
    freezer.move_to(dt_util.utc_from_timestamp(NOW - 600))
    store = await Store.async_open(db_url)
    try:
        info = SystemInfo(vendor_type="demo", vendor_site_id="demo_home", display_name="Demo Home")
        system_id = await store.async_ensure_system(info)
        await store.async_write_readings(system_id, readings)
    finally:
        await store.async_close()
    freezer.move_to(NOON_LOCAL)


def expected_hours(db_url: str, first: int, last: int) -> dict[str, dict[int, float]]:
    """Each flow's energy (kWh) per hour start in [first, last], from the raw readings' totals."""
    rows = query_db(db_url, f"SELECT inverter_time, {TOTAL_COLUMNS} FROM readings ORDER BY inverter_time")

    def total_at(flow: int, t: int) -> float:
        return [row for row in rows if int(row[0]) <= t][-1][flow + 1]  # type: ignore[return-value]

    return {
        flow: {h: round(total_at(i, h + HOUR) - total_at(i, h), 6) for h in range(first, last + 1, HOUR)}
        for i, flow in enumerate(ENERGY_FLOWS)
    }


async def recorded(hass: HomeAssistant, start: int = NOW - 24 * HOUR) -> dict[str, list[dict[str, Any]]]:
    """Every flow's hourly statistics rows (start as Unix s, sum) from ``start``."""
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.utc_from_timestamp(start),
        None,
        set(FLOW_IDS.values()),
        "hour",
        None,
        {"sum", "state"},
    )
    return {
        flow: [{"start": int(r["start"]), "sum": r["sum"], "state": r["state"]} for r in found.get(sid, [])]
        for flow, sid in FLOW_IDS.items()
    }


def hourly(rows: list[dict[str, Any]], base: float = 0.0) -> dict[int, float]:
    """Hour start -> energy: the rise of the running sum over the hour before (``base`` before the first)."""
    result: dict[int, float] = {}
    before = base
    for row in rows:
        result[row["start"]] = round(row["sum"] - before, 6)
        before = row["sum"]
    return result


async def settle(hass: HomeAssistant) -> None:
    """Let background imports finish and the recorder commit them."""
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)


@pytest.fixture
async def liveone(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> MockConfigEntry:
    """Six hours of stored history (request it before ``hass``: it brings the recorder) (20:00-01:59 UTC) and the demo entry (not yet set up) at 02:00 UTC."""
    await seed_store(db_url, history(NOW - 6 * HOUR, NOW - 60), freezer)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry()
    entry.add_to_hass(hass)
    return entry


async def test_first_start_imports_the_stored_history(
    liveone: MockConfigEntry, hass: HomeAssistant, freezer: FrozenDateTimeFactory, db_url: str
) -> None:
    await setup_entry(hass, liveone)

    rows = await recorded(hass)
    # 19:00 holds only the first reading (no rise to measure): the series start at 20:00. The newest
    # interval (ending 02:00) is the last of 01:00, which is not imported until data after it arrives.
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(rows[flow]) == expected[flow], flow
    assert expected["solar"][NOW - 6 * HOUR] > 0

    assert liveone.runtime_data.statistics is not None
    assert liveone.runtime_data.statistics.async_diagnostics() == {
        "statistic_ids": sorted(FLOW_IDS.values()),
        "imported_until": dt_util.utc_from_timestamp(NOW - HOUR).isoformat(),
        "watermark": NOW,
    }

    metadata = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=set(FLOW_IDS.values()))
    )
    _, solar = metadata[FLOW_IDS["solar"]]
    assert solar["name"] == "Demo Home solar energy"
    assert solar["source"] == DOMAIN
    assert solar["unit_of_measurement"] == "kWh"
    assert solar["has_sum"] is True
    assert solar["mean_type"] is StatisticMeanType.NONE
    assert metadata[FLOW_IDS["battery_out"]][1]["name"] == "Demo Home battery discharge energy"

    # The next poll (02:01, interval ending 02:05) completes 01:00: it is imported, sums running on.
    await async_next_poll(hass, freezer, 1)
    await settle(hass)
    rows = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(rows[flow]) == expected[flow], flow
        assert rows[flow][-1]["state"] == rows[flow][-1]["sum"]


async def test_imports_only_when_an_hour_completes(
    liveone: MockConfigEntry, hass: HomeAssistant, freezer: FrozenDateTimeFactory, db_url: str
) -> None:
    await setup_entry(hass, liveone)
    with (
        patch.object(stats_mod, "async_add_external_statistics", wraps=async_add_external_statistics) as add,
        patch.object(store_stats, "hours_to_import", wraps=store_stats.hours_to_import) as read,
    ):
        await async_next_poll(hass, freezer, 1)  # completes 01:00
        await settle(hass)
        assert (read.call_count, add.call_count) == (1, 6)
        assert {call.args[2][0]["start"].timestamp() for call in add.call_args_list} == {NOW - HOUR}
        add.reset_mock()
        read.reset_mock()

        await async_next_poll(hass, freezer, 58)  # 02:59: nothing new is complete
        assert (read.call_count, add.call_count) == (0, 0)  # not even the store was read
        await async_next_poll(hass, freezer, 2)  # 03:01: 02:00 is complete
        await settle(hass)
        assert (read.call_count, add.call_count) == (1, 6)
        assert {len(call.args[2]) for call in add.call_args_list} == {1}
        # Imports after the coordinator's own writes never scan all rows for other writers' changes.
        assert [call.kwargs["scan_changes"] for call in read.call_args_list] == [False]

    rows = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW)
    for flow in ENERGY_FLOWS:
        assert hourly(rows[flow]) == expected[flow], flow


async def test_late_data_reimports_its_hour(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> None:
    """Readings missing from 22:20 to 23:40 arrive later: the hours they change are re-imported."""
    full = history(NOW - 6 * HOUR, NOW - 60)
    gap = [r for r in full if NOW - 3 * HOUR - 2400 <= r.inverter_time <= NOW - 2 * HOUR - 1200]
    await seed_store(db_url, [r for r in full if r not in gap], freezer)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry()
    entry.add_to_hass(hass)
    await setup_entry(hass, entry)

    before = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    assert hourly(before["solar"]) == expected["solar"]

    # Late data written by something other than a poll (a backfill, Enphase's late 5-minute data, a
    # rebuild): found by the watermark when the rebuild service (or the daily job) asks for an import.
    coordinator = entry.runtime_data.coordinator
    await coordinator.store.async_write_readings(
        coordinator.system_id, [r for r in gap if r.inverter_time < NOW - 3 * HOUR]
    )
    await async_import_statistics(hass, entry)
    await settle(hass)
    after = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(after[flow]) == expected[flow], flow
    changed = [h for h in expected["solar"] if hourly(before["solar"])[h] != expected["solar"][h]]
    assert changed == [NOW - 4 * HOUR, NOW - 3 * HOUR]  # 22:00 gained what 23:00 lost
    # The running sum after the changed hours is what it was: the total did not change.
    assert after["solar"][-1]["sum"] == pytest.approx(before["solar"][-1]["sum"])

    # The rest of the gap arrives with a poll (the vendor sends late data with the current minute).
    real_get = DemoClient.async_get_readings
    late = [r for r in gap if r.inverter_time >= NOW - 3 * HOUR]

    async def with_late_data(client: DemoClient, now: float) -> list[Reading]:
        return [*late, *(await real_get(client, now))]

    await async_next_poll(hass, freezer, 1)  # 02:01 completes 01:00
    await settle(hass)
    with patch.object(DemoClient, "async_get_readings", with_late_data):
        await async_next_poll(hass, freezer, 1)  # 02:02: completes nothing, changes 22:00 and 23:00
    await settle(hass)
    final = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(final[flow]) == expected[flow], flow
    assert hourly(final["load"])[NOW - 3 * HOUR] != hourly(after["load"])[NOW - 3 * HOUR]


async def test_sums_keep_running_across_a_restart(
    liveone: MockConfigEntry, hass: HomeAssistant, freezer: FrozenDateTimeFactory, db_url: str
) -> None:
    await setup_entry(hass, liveone)
    await async_next_poll(hass, freezer, 1)
    await settle(hass)
    before = await recorded(hass)
    importer = liveone.runtime_data.statistics
    assert importer is not None

    assert await hass.config_entries.async_unload(liveone.entry_id)
    await hass.async_block_till_done()
    assert importer._unloaded
    freezer.tick(timedelta(hours=2))  # Home Assistant "down" for two hours

    with patch.object(stats_mod, "async_add_external_statistics", wraps=async_add_external_statistics) as add:
        await setup_entry(hass, liveone)
        await async_next_poll(hass, freezer, 1)
        await settle(hass)
    # Only the hours from the one the last poll rewrote (the interval ending on the hour belongs to the
    # hour before) were written: the setup scan re-reads what changed since the last scanning import,
    # which the poll-driven imports do not move. Nothing earlier was re-imported.
    assert min(call.args[2][0]["start"].timestamp() for call in add.call_args_list) == NOW - HOUR
    after = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW + HOUR)
    for flow in ENERGY_FLOWS:
        assert after[flow][: len(before[flow])] == before[flow], flow
        assert hourly(after[flow]) == expected[flow], flow


async def test_a_lost_watermark_reimports_everything(
    liveone: MockConfigEntry,
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    db_url: str,
) -> None:
    await setup_entry(hass, liveone)
    assert hass_storage["liveone.statistics_demo_demo_home"]["data"]["watermark"] == NOW
    assert await hass.config_entries.async_unload(liveone.entry_id)
    del hass_storage["liveone.statistics_demo_demo_home"]

    with patch.object(stats_mod, "async_add_external_statistics", wraps=async_add_external_statistics) as add:
        await setup_entry(hass, liveone)
    assert min(call.args[2][0]["start"].timestamp() for call in add.call_args_list) == NOW - 6 * HOUR
    rows = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    assert hourly(rows["grid_in"]) == expected["grid_in"]


async def test_reimport_from_a_given_time(
    liveone: MockConfigEntry, hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    await setup_entry(hass, liveone)
    with patch.object(stats_mod, "async_add_external_statistics", wraps=async_add_external_statistics) as add:
        await async_import_statistics(hass, liveone, since=dt_util.utc_from_timestamp(NOW - 3 * HOUR + 1800))
        await settle(hass)
    assert {call.args[2][0]["start"].timestamp() for call in add.call_args_list} == {NOW - 3 * HOUR}
    assert {len(call.args[2]) for call in add.call_args_list} == {2}


async def test_a_store_error_is_retried_at_the_next_poll(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = history(NOW - 6 * HOUR, NOW - 60)
    gap = [r for r in full if NOW - 4 * HOUR - 600 <= r.inverter_time <= NOW - 4 * HOUR + 600]
    await seed_store(db_url, [r for r in full if r not in gap], freezer)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry()
    entry.add_to_hass(hass)
    await setup_entry(hass, entry)
    await async_next_poll(hass, freezer, 1)  # 02:01 completes 01:00
    await settle(hass)
    before = await recorded(hass)

    store = entry.runtime_data.coordinator.store
    real_transaction = store.async_transaction
    real_get = DemoClient.async_get_readings

    async def failing(func: Any, *args: Any) -> Any:
        if getattr(func, "func", None) is store_stats.hours_to_import:
            raise StoreError("disk I/O error")
        return await real_transaction(func, *args)

    async def with_late_data(client: DemoClient, now: float) -> list[Reading]:
        return [*gap, *(await real_get(client, now))]

    # 02:02: the gap around 22:00 arrives with a poll, but the import cannot read the store.
    with (
        patch.object(store, "async_transaction", failing),
        patch.object(DemoClient, "async_get_readings", with_late_data),
    ):
        await async_next_poll(hass, freezer, 1)
        await settle(hass)
    assert "Could not import Demo Home's statistics from the store: disk I/O error" in caplog.text
    assert await recorded(hass) == before

    await async_next_poll(hass, freezer, 1)  # 02:03 completes nothing, but the failed import is due
    await settle(hass)
    after = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(after[flow]) == expected[flow], flow
    assert hourly(after["load"]) != hourly(before["load"])


async def test_no_recorder_no_import(
    hass: HomeAssistant, init_integration: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    assert "recorder" not in hass.config.components
    assert init_integration.runtime_data.statistics is None
    await async_import_statistics(hass, init_integration)  # nothing to do, and no error
    await async_next_poll(hass, freezer, 61)


def test_statistic_ids_are_valid_and_stable() -> None:
    assert statistic_system("demo", "demo_home") == "demo_demo_home"
    assert statistic_system("selectronic", "1586") == "selectronic_1586"
    assert statistic_system("enphase", "Site #12 (Garage)") == "enphase_site_12_garage"
    for system in ("demo_demo_home", "selectronic_1586", "enphase_site_12_garage"):
        for suffix in ("solar", "battery_charge", "grid_export"):
            assert valid_statistic_id(f"liveone:{system}_{suffix}")


def test_metadata_for_the_running_home_assistant() -> None:
    """HA 2025.4 declares mean_type but not unit_class, and refuses keys it does not declare."""
    assert metadata_has_unit_class() is False
    metadata = statistic_metadata("liveone:x_solar", "X solar energy", unit_class=False)
    declared = StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__
    assert set(metadata) == declared - {"has_mean"}  # every field but the deprecated one
    assert metadata["mean_type"] is StatisticMeanType.NONE
    assert metadata["has_sum"] is True


def test_metadata_for_newer_home_assistant(monkeypatch: pytest.MonkeyPatch) -> None:
    """Newer releases (2026.11) add unit_class; detected from the TypedDict, filled with the energy class."""

    class NewerMetaData(TypedDict):
        mean_type: StatisticMeanType
        has_sum: bool
        name: str | None
        source: str
        statistic_id: str
        unit_class: str | None
        unit_of_measurement: str | None

    monkeypatch.setattr(stats_mod, "StatisticMetaData", NewerMetaData)
    assert metadata_has_unit_class() is True
    metadata = statistic_metadata("liveone:x_solar", "X solar energy", unit_class=True)
    assert set(metadata) == set(NewerMetaData.__annotations__)
    assert metadata["unit_class"] == "energy"
    assert metadata["unit_of_measurement"] in EnergyConverter.VALID_UNITS


async def test_newer_home_assistant_gets_unit_class(
    liveone: MockConfigEntry, hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats_mod, "METADATA_HAS_UNIT_CLASS", True)
    with patch.object(stats_mod, "async_add_external_statistics") as add:
        await setup_entry(hass, liveone)
    assert add.call_count == 6
    for call in add.call_args_list:
        metadata = call.args[1]
        assert metadata["unit_class"] == "energy"
        assert metadata["mean_type"] is StatisticMeanType.NONE
        assert "has_mean" not in metadata


async def test_imports_in_quick_succession_read_committed_sums(
    liveone: MockConfigEntry, hass: HomeAssistant, freezer: FrozenDateTimeFactory, db_url: str
) -> None:
    """An import right after another starts from sums the recorder may not have committed yet: it waits."""
    assert await hass.config_entries.async_setup(liveone.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)  # imported, not necessarily committed
    await async_next_poll(hass, freezer, 1)  # completes 01:00: its sum runs on from 00:00's
    await settle(hass)
    rows = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(rows[flow]) == expected[flow], flow


async def test_the_daily_job_reimports_what_changed_outside_polls(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
) -> None:
    full = history(NOW - 6 * HOUR, NOW - 60)
    gap = [r for r in full if NOW - 5 * HOUR + 2400 <= r.inverter_time <= NOW - 4 * HOUR + 1200]
    await seed_store(db_url, [r for r in full if r not in gap], freezer)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = demo_entry()
    entry.add_to_hass(hass)
    await setup_entry(hass, entry)
    coordinator = entry.runtime_data.coordinator
    await coordinator.store.async_write_readings(coordinator.system_id, gap)  # e.g. the command line
    before = await recorded(hass)

    # 00:05 local (UTC+10) is 14:05 UTC: the daily job aggregates yesterday and re-imports 21:00 and
    # 22:00. The system sends nothing new then, so no poll asks for an import.
    daily = dt_util.utc_from_timestamp(NOW + 12 * HOUR + 300)
    freezer.move_to(daily)
    with patch.object(DemoClient, "async_get_readings", return_value=[]):
        async_fire_time_changed(hass, daily)
        await settle(hass)
    after = await recorded(hass)
    assert hourly(after["load"])[NOW - 5 * HOUR] != hourly(before["load"])[NOW - 5 * HOUR]
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(after[flow]) == expected[flow], flow


async def test_rebuild_service_reimports_from_its_first_day(
    liveone: MockConfigEntry, hass: HomeAssistant, db_url: str
) -> None:
    """liveone.rebuild_aggregates re-imports every hour from the rebuilt range's first local day on."""
    await setup_entry(hass, liveone)
    with patch.object(stats_mod, "async_add_external_statistics", wraps=async_add_external_statistics) as add:
        result = await hass.services.async_call(
            DOMAIN,
            "rebuild_aggregates",
            {"system": liveone.entry_id, "from_day": "2025-08-17", "to_day": "2025-08-17"},
            blocking=True,
            return_response=True,
        )
        await settle(hass)
    assert result is not None
    assert result["intervals"] > 0
    # The day starts at 00:00 local (14:00 UTC the day before), before the first stored hour.
    assert {call.args[2][0]["start"].timestamp() for call in add.call_args_list} == {NOW - 6 * HOUR}
    rows = await recorded(hass)
    expected = expected_hours(db_url, NOW - 6 * HOUR, NOW - 2 * HOUR)
    for flow in ENERGY_FLOWS:
        assert hourly(rows[flow]) == expected[flow], flow
