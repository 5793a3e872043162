"""The aiohttp session LiveOne's vendor clients use.

Home Assistant's shared session keeps one cookie jar for every integration, so cookies of a vendor
that logs in with a form would land there and mix accounts. LiveOne asks Home Assistant
for one session of its own whose jar stores nothing; each vendor account keeps its own cookies. The
session shares Home Assistant's connector and is closed by Home Assistant when it stops.
"""

from __future__ import annotations

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.util.hass_dict import HassKey

DATA_SESSION: HassKey[aiohttp.ClientSession] = HassKey("liveone_http_session")


def async_get_session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return LiveOne's session (created on first use) whose cookie jar keeps nothing."""
    if (session := hass.data.get(DATA_SESSION)) is None or session.closed:
        session = async_create_clientsession(hass, cookie_jar=aiohttp.DummyCookieJar())
        hass.data[DATA_SESSION] = session
    return session
