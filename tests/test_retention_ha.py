"""``liveone: keep_raw_days: N`` in configuration.yaml: the 00:05 job then purges old raw readings."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.liveone.const import DOMAIN

from .conftest import demo_entry, query_db

START_17TH = 1755352800  # 2025-08-17 00:00 AEST


async def test_daily_job_purges_raw_readings_older_than_keep_raw_days(
    hass: HomeAssistant, enable_custom_integrations: None, db_url: str, freezer: FrozenDateTimeFactory
) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url, "keep_raw_days": 1}})
    freezer.move_to("2025-08-17T13:50:00+00:00")  # 23:50 AEST on the 17th
    entry = demo_entry(backfill_days=3)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert query_db(db_url, f"SELECT count(*) FROM readings WHERE inverter_time <= {START_17TH}") != [(0,)]
    old_rows = (
        f"SELECT count(*), sum(solar_interval_wh) FROM readings_agg_5m WHERE interval_end <= {START_17TH}"
    )
    aggregates = query_db(db_url, old_rows)

    freezer.move_to("2025-08-17T14:05:00+00:00")  # 00:05 AEST on the 18th: the job, then the purge
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    # One day kept: the 17th's readings stay, everything up to its 00:00 is gone.
    assert query_db(db_url, f"SELECT count(*) FROM readings WHERE inverter_time <= {START_17TH}") == [(0,)]
    assert query_db(db_url, f"SELECT count(*) FROM readings WHERE inverter_time > {START_17TH}") != [(0,)]
    assert query_db(db_url, old_rows) == aggregates  # 5-minute rows are never purged
    assert query_db(db_url, "SELECT max(day) FROM readings_agg_1d") == [("2025-08-17",)]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_keep_raw_days_must_be_a_whole_number_of_days(
    hass: HomeAssistant, enable_custom_integrations: None, db_url: str
) -> None:
    assert not await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url, "keep_raw_days": 0}})
