"""A server database as the store: an unreachable one is a repair issue and a retry, never a password."""

from __future__ import annotations

from datetime import timedelta
import json
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import sqlalchemy as sa

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.diagnostics import async_get_config_entry_diagnostics
from custom_components.liveone.shared_store import DATA_SHARED_STORE, ISSUE_DATABASE_UNREACHABLE

from .conftest import NOON_LOCAL, query_db
from .helpers import pgserver


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The errors LiveOne logged."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("custom_components.liveone")
    ]


@pytest.mark.postgresql
async def test_unreachable_database_is_a_repair_issue_until_it_answers(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    good = sa.make_url(pg_url)
    assert good.password == pgserver.PASSWORD
    # The same server and credentials on a port where nothing listens.
    closed = good.set(port=1).render_as_string(hide_password=False)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": closed}})
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_DATABASE_UNREACHABLE)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "database_unreachable"
    assert issue.translation_placeholders is not None
    redacted = f"postgresql://liveone:***@127.0.0.1:1/{good.database}"
    assert issue.translation_placeholders["url"] == redacted
    assert "refused" in issue.translation_placeholders["error"]
    errors = _errors(caplog)
    assert len(errors) == 1
    assert (
        "The LiveOne store cannot be opened: cannot open the store at postgresql+psycopg2://liveone:***@127.0.0.1:1/"
        in errors[0]
    )

    # Home Assistant retries: still unreachable, still one error in the log.
    freezer.tick(timedelta(minutes=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert len(_errors(caplog)) == 1

    # The database answers at the configured URL: the next retry loads the entry and clears the issue.
    hass.data[DATA_SHARED_STORE].url = pg_url
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_DATABASE_UNREACHABLE) is None
    assert query_db(pg_url, "SELECT vendor_site_id FROM systems") == [("demo_home",)]
    assert query_db(pg_url, "SELECT count(*) FROM readings") == [(1,)]

    diagnostics = await async_get_config_entry_diagnostics(hass, mock_config_entry)
    assert (
        diagnostics["store"]["url"]
        == f"postgresql+psycopg2://liveone:***@127.0.0.1:{good.port}/{good.database}"
    )
    assert pgserver.PASSWORD not in json.dumps(diagnostics, default=str)
    assert pgserver.PASSWORD not in caplog.text
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
