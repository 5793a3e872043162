"""An OAuth2 kind lives in the same flow class beside the others (the groundwork Enphase builds on).

A throw-away kind ``cloudfake`` asks for an API key in a step of its own, then runs Home Assistant's
OAuth2 authorization-code flow (``config_entry_oauth2_flow``) against a real token endpoint on
127.0.0.1; its coordinator then calls a real API there with the Bearer token and the key header. The
domain's first step stays LiveOne's menu, and the other kinds' steps stay reachable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
import pytest
import voluptuous as vol
from yarl import URL

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.coordinator import PollingCoordinator
from custom_components.liveone.flow import LiveOneFlowBase
from custom_components.liveone.registry import SourceKind, register
from custom_components.liveone.vendors.model import AuthError, Batch, Reading

from ..conftest import NOON_LOCAL, query_db

CLIENT_ID = "fake-client"
CLIENT_SECRET = "fake-secret"
API_KEY = "key-123"
T0 = 1_755_396_000


@dataclass
class FakeCloud:
    """The vendor's token endpoint and API, on 127.0.0.1."""

    token_requests: list[dict[str, str]] = field(default_factory=list)
    api_requests: list[dict[str, str]] = field(default_factory=list)
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/api/reading", self._reading)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        if form.get("code") != "good-code":
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {
                "access_token": "access-1",
                "refresh_token": "refresh-1",
                "token_type": "bearer",
                "expires_in": 86400,
            }
        )

    async def _reading(self, request: web.Request) -> web.Response:
        self.api_requests.append(
            {"authorization": request.headers.get("Authorization", ""), "key": request.headers.get("key", "")}
        )
        if request.headers.get("key") != API_KEY or request.headers.get("Authorization") != "Bearer access-1":
            return web.json_response({"message": "not authorized"}, status=401)
        return web.json_response({"t": T0, "w": 4321})


class CloudCoordinator(PollingCoordinator):
    async def _async_fetch(self) -> Batch:
        implementation = await config_entry_oauth2_flow.async_get_config_entry_implementation(
            self.hass, self.config_entry
        )
        session = config_entry_oauth2_flow.OAuth2Session(self.hass, self.config_entry, implementation)
        await session.async_ensure_token_valid()
        base = self.config_entry.data["api"]
        response = await async_get_clientsession(self.hass).get(
            f"{base}/api/reading",
            headers={
                "Authorization": f"Bearer {session.token['access_token']}",
                "key": self.config_entry.data["api_key"],
            },
        )
        if response.status == 401:
            raise AuthError("refused")
        body = await response.json()
        return Batch(readings=(Reading(inverter_time=body["t"], solar_w=body["w"]),), raw=str(body))


class CloudFlow(LiveOneFlowBase, config_entry_oauth2_flow.AbstractOAuth2FlowHandler):
    _cloud_api_key: str
    api_base = ""

    async def async_step_cloudfake(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the API key before OAuth starts."""
        if user_input is not None:
            self._cloud_api_key = user_input["api_key"]
            return await self.async_step_pick_implementation()
        return self.async_show_form(
            step_id="cloudfake", data_schema=vol.Schema({vol.Required("api_key"): str})
        )

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        await self.async_set_system_id("cloudfake", "site-1")
        self._abort_if_unique_id_configured()
        return self.async_create_system_entry(
            "cloudfake",
            "site-1",
            title="Cloud site",
            data={**data, "api_key": self._cloud_api_key, "api": CloudFlow.api_base},
        )


CLOUD = SourceKind(
    vendor="cloudfake", manufacturer="Fake Cloud", coordinator=CloudCoordinator, flow=CloudFlow
)


@pytest.fixture
def cloud_kind() -> Iterator[None]:
    remove = register(CLOUD)
    yield
    remove()


@pytest.fixture
async def cloud(socket_enabled: None) -> AsyncIterator[FakeCloud]:
    state = FakeCloud()
    server = TestServer(state.app(), host="127.0.0.1")
    await server.start_server()
    state.base = str(server.make_url("")).rstrip("/")
    CloudFlow.api_base = state.base
    try:
        yield state
    finally:
        await server.close()


@pytest.mark.usefixtures("cloud_kind", "current_request_with_host")
async def test_an_oauth2_kind_shares_the_flow_class_and_its_token_reaches_the_api(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    cloud: FakeCloud,
    hass_client_no_auth: Any,
) -> None:
    freezer.move_to(NOON_LOCAL)
    assert await async_setup_component(hass, "auth", {})  # serves /auth/external/callback
    config_entry_oauth2_flow.async_register_implementation(
        hass,
        DOMAIN,
        config_entry_oauth2_flow.LocalOAuth2Implementation(
            hass,
            DOMAIN,
            CLIENT_ID,
            CLIENT_SECRET,
            f"{cloud.base}/oauth/authorize",
            f"{cloud.base}/oauth/token",
        ),
    )
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] is FlowResultType.MENU  # LiveOne's menu, not the OAuth2 helper's first step
    assert result["menu_options"] == ["selectronic", "enphase", "demo", "cloudfake"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "cloudfake"})
    assert result["step_id"] == "cloudfake"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": API_KEY})
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    authorize = URL(result["url"])
    assert str(authorize.with_query(None)) == f"{cloud.base}/oauth/authorize"
    assert authorize.query["client_id"] == CLIENT_ID
    assert authorize.query["redirect_uri"] == "https://example.com/auth/external/callback"

    client = await hass_client_no_auth()
    response = await client.get(f"/auth/external/callback?code=good-code&state={authorize.query['state']}")
    assert response.status == 200
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert cloud.token_requests[0]["grant_type"] == "authorization_code"
    assert cloud.token_requests[0]["code"] == "good-code"
    assert entry.data["token"]["access_token"] == "access-1"
    assert entry.data["api_key"] == API_KEY
    assert (entry.data["vendor"], entry.data["site_id"], entry.unique_id) == (
        "cloudfake",
        "site-1",
        "cloudfake_site-1",
    )

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert cloud.api_requests[-1] == {"authorization": "Bearer access-1", "key": API_KEY}
    assert query_db(setup_liveone, "SELECT inverter_time, solar_w FROM readings") == [(T0, 4321)]


@pytest.mark.usefixtures("cloud_kind")
async def test_the_other_kinds_steps_stay_in_the_composed_class(
    hass: HomeAssistant, setup_liveone: str
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "demo"})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "demo")
