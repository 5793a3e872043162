"""The LiveOne panel and card: registered with Home Assistant's frontend and served from our files."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from homeassistant.components.frontend import DATA_PANELS
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.liveone import panel
from custom_components.liveone.const import DOMAIN

BUNDLE = Path(panel.__file__).parent / "frontend" / "liveone.js"


async def test_panel_and_card_registered(
    hass: HomeAssistant, enable_custom_integrations: None, db_url: str, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "frontend", {})
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    registered = hass.data[DATA_PANELS]["liveone"]
    config = registered.config["_panel_custom"]
    assert registered.sidebar_title == "LiveOne"
    assert registered.require_admin is False  # each user sees what the access rules allow
    assert config["name"] == "liveone-panel"
    assert config["embed_iframe"] is False
    url = config["module_url"]
    assert url.startswith("/liveone_frontend/liveone.js?v=")
    # The card needs no resource entry: the same module is loaded on every page.
    assert url in hass.data["frontend_extra_module_url"].urls
    client = await hass_client()
    response = await client.get(url)
    assert response.status == HTTPStatus.OK
    assert await response.read() == BUNDLE.read_bytes()
    # The version is the bundle's content: a rebuilt bundle gets a new URL (browsers cache the old one).
    assert url.endswith(panel._bundle_version())


async def test_no_panel_without_frontend(
    hass: HomeAssistant, enable_custom_integrations: None, db_url: str
) -> None:
    """A Home Assistant without its frontend (headless) still runs LiveOne, without the panel."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    assert "frontend" not in hass.config.components
    assert DATA_PANELS not in hass.data
    assert await panel.async_register_panel(hass) is False


async def test_missing_bundle_is_logged(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken install (no bundle) leaves the sidebar alone and says what is missing."""
    assert await async_setup_component(hass, "frontend", {})
    monkeypatch.setattr(panel, "BUNDLE_DIR", tmp_path)
    assert await panel.async_register_panel(hass) is False
    assert "liveone" not in hass.data[DATA_PANELS]
    assert f"missing its bundle {tmp_path / 'liveone.js'}" in caplog.text
