"""The LiveOne sidebar panel and dashboard card, served from the integration's own files.

``frontend/liveone.js`` is one ES module, built from the repository's ``frontend/`` folder (TypeScript,
Lit and uPlot) by ``scripts/build-frontend`` and committed, so nothing is built on the user's machine
and nothing is fetched from the internet. It defines the panel element ``<liveone-panel>`` and the card
``custom:liveone-history-card``. :func:`async_register_panel` (called once from ``async_setup``):

- serves the folder at :data:`STATIC_URL` (cached by browsers; the URL carries the bundle's hash, so a
  new release is fetched at once);
- adds a sidebar entry "LiveOne" at ``/liveone`` for every user (what each user sees is decided by the
  WebSocket commands' access rules, not by the panel);
- loads the module on every frontend page, so dashboards find the card without a resource entry.

It needs Home Assistant's frontend; without it (a headless instance) there is nothing to register.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant

from .const import LOGGER

PANEL_URL_PATH: Final = "liveone"
PANEL_ELEMENT: Final = "liveone-panel"
PANEL_TITLE: Final = "LiveOne"
PANEL_ICON: Final = "mdi:solar-power-variant"
STATIC_URL: Final = "/liveone_frontend"
BUNDLE_NAME: Final = "liveone.js"
BUNDLE_DIR: Final = Path(__file__).parent / "frontend"


def _bundle_version() -> str:
    """Return a short hash of the bundle (runs in the executor: it reads the file)."""
    return hashlib.sha256((BUNDLE_DIR / BUNDLE_NAME).read_bytes()).hexdigest()[:12]


def bundle_url(version: str) -> str:
    """Return the bundle's URL for a version (its hash)."""
    return f"{STATIC_URL}/{BUNDLE_NAME}?v={version}"


async def async_register_panel(hass: HomeAssistant) -> bool:
    """Serve the bundle, add the sidebar panel and load the card everywhere; return whether it did."""
    if "frontend" not in hass.config.components:
        LOGGER.debug("Home Assistant's frontend is not loaded: no LiveOne panel")
        return False
    try:
        version = await hass.async_add_executor_job(_bundle_version)
    except OSError as err:
        LOGGER.error("The LiveOne panel is missing its bundle %s: %s", BUNDLE_DIR / BUNDLE_NAME, err)
        return False
    await hass.http.async_register_static_paths([StaticPathConfig(STATIC_URL, str(BUNDLE_DIR), True)])
    url = bundle_url(version)
    frontend.add_extra_js_url(hass, url)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        module_url=url,
        embed_iframe=False,
        require_admin=False,
    )
    return True
