"""Shared test fixtures.

``custom_components.liveone`` is imported first so that our package, not the test plugin's own
``testing_config/custom_components``, is the one Home Assistant's loader finds.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from pathlib import Path
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
import sqlalchemy as sa
from syrupy.assertion import SnapshotAssertion

import custom_components.liveone  # noqa: F401  (must come before Home Assistant's loader runs)
from custom_components.liveone.const import DOMAIN

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite store file for the test."""
    return f"sqlite:///{tmp_path / 'liveone.db'}"


# The demo entry the HA tests use: a simulated system at Daylesford (UTC+10 standard time).
DEMO_ENTRY_DATA = {
    "vendor": "demo",
    "site_id": "demo_home",
    "backfill_days": 0,
    "timezone_offset_min": 600,
    "latitude": -37.35,
    "longitude": 144.14,
}
# 2025-08-17 12:00 local (AEST): a sunny-enough winter noon for the simulation.
NOON_LOCAL = "2025-08-17T02:00:00+00:00"


def demo_entry(**data: object) -> MockConfigEntry:
    """A demo system's config entry, with ``data`` overriding the defaults (e.g. ``backfill_days=1``)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Demo Home",
        unique_id="demo_demo_home",
        data={**DEMO_ENTRY_DATA, **data},
    )


def query_db(db_url: str, sql: str) -> list[tuple[object, ...]]:
    """Read a store file directly with its own engine (for tests that check what was written)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A demo system's config entry (not yet added to hass)."""
    return demo_entry()


@pytest.fixture
async def setup_liveone(hass: HomeAssistant, enable_custom_integrations: None, db_url: str) -> str:
    """Set up the liveone domain with the test's own store file; return its URL."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    return db_url


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The demo system, set up at local noon."""
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, including the disabled-by-default diagnostics."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


async def async_next_poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int = 1) -> None:
    """Let the clock run ``minutes`` one at a time, letting each minute's poll happen.

    Coordinators refresh in background tasks, which the wait must include.
    """
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (stable ids, readable states)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
