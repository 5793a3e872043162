"""A real Home Assistant for the browser tests: started as a process, onboarded, with demo systems.

The pytest ``hass`` fixture does not serve Home Assistant's frontend, so these tests start ``hass -c
<temporary config>`` on a free loopback port (as ``scripts/develop`` does, with ``--skip-pip``), finish
onboarding and add the demo systems through the real REST config flow with ``scripts/dev_setup.py``'s
functions, and create the extra users through Home Assistant's own auth WebSocket commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import dev_setup  # noqa: E402  (scripts/ is not a package)

CONFIGURATION = """\
# Written by tests/browser: a real Home Assistant serving its frontend, with LiveOne from this tree.
homeassistant:
  name: LiveOne browser test
  latitude: -37.35
  longitude: 144.14
  elevation: 600
  time_zone: Australia/Melbourne
  unit_system: metric
  currency: AUD
  country: AU
frontend:
config:
api:
lovelace:
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
  logs:
    custom_components.liveone: info
"""


def free_port() -> int:
    """Return a loopback TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run[T](factory: Callable[[HomeAssistantClient], Awaitable[T]], base_url: str, token: str | None) -> T:
    """Run one async step against Home Assistant with a fresh client session."""

    async def _main() -> T:
        async with aiohttp.ClientSession() as session:
            client = HomeAssistantClient(session)
            client.token = token
            return await factory(client)

    _point_dev_setup_at(base_url)
    # In a thread of its own: Playwright's synchronous API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _main()).result()


def _point_dev_setup_at(base_url: str) -> None:
    # dev_setup's functions read these module constants when they run.
    dev_setup.BASE_URL = base_url
    dev_setup.CLIENT_ID = f"{base_url}/"
    dev_setup.REDIRECT_URI = f"{base_url}/?auth_callback=1"


class HomeAssistantClient(dev_setup.HomeAssistantClient):
    """dev_setup's client, plus logging in as any user and tokens the frontend can use."""

    async def login_as(self, username: str, password: str) -> dict[str, Any]:
        """Log in through the login flow; return the token response (also kept as this client's token)."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": dev_setup.CLIENT_ID,
                "handler": ["homeassistant", None],
                "redirect_uri": dev_setup.REDIRECT_URI,
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={"client_id": dev_setup.CLIENT_ID, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            raise dev_setup.SetupError(f"logging in as {username} failed: {result}")
        tokens: dict[str, Any] = await self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": dev_setup.CLIENT_ID,
            },
        )
        self.token = tokens["access_token"]
        return tokens


@dataclass
class Person:
    """A Home Assistant user the tests log in as."""

    name: str
    username: str
    password: str
    user_id: str = ""
    tokens: dict[str, Any] = field(default_factory=dict)

    def frontend_tokens(self, base_url: str) -> str:
        """The ``hassTokens`` the frontend keeps in localStorage (so the browser starts logged in)."""
        return json.dumps(
            {
                **self.tokens,
                "hassUrl": base_url,
                "clientId": f"{base_url}/",
                "expires": int(time.time() * 1000) + int(self.tokens["expires_in"]) * 1000,
            }
        )


@dataclass
class HomeAssistantProcess:
    """A running Home Assistant and what the tests set up in it."""

    config_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    admin: Person
    viewer: Person
    stranger: Person
    systems: dict[str, int] = field(default_factory=dict)  # name -> store system id
    entries: dict[str, str] = field(default_factory=dict)  # name -> config entry id
    started_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call[T](self, factory: Callable[[HomeAssistantClient], Awaitable[T]], who: Person | None = None) -> T:
        """Run an async step as a user (the administrator by default)."""
        return run(factory, self.base_url, (who or self.admin).tokens["access_token"])

    def get(self, path: str, who: Person | None = None) -> Any:
        """GET a REST path as a user; the decoded JSON (or text)."""

        async def _get(client: HomeAssistantClient) -> Any:
            return await client.request("GET", path)

        return self.call(_get, who)

    def stop(self) -> None:
        """Stop Home Assistant (SIGTERM, then SIGKILL after 60 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        """The end of Home Assistant's console output."""
        try:
            text = (self.config_dir / "console.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])


async def _add_demo(client: HomeAssistantClient, name: str, backfill_days: int) -> str:
    """Add a demo system through the real config flow (menu -> demo form); return its entry id."""
    step = await client.request(
        "POST",
        "/api/config/config_entries/flow",
        json_body={"handler": "liveone", "show_advanced_options": False},
    )
    path = f"/api/config/config_entries/flow/{step['flow_id']}"
    await client.request("POST", path, json_body={"next_step_id": "demo"})
    done = await client.request(
        "POST", path, json_body={"name": name, "backfill_days": backfill_days}, seconds=600
    )
    if done.get("type") != "create_entry":
        raise dev_setup.SetupError(f"the demo flow for {name} did not create an entry: {done}")
    return str(done["result"]["entry_id"])


async def _make_user(client: HomeAssistantClient, person: Person) -> None:
    (created,) = await client.websocket(
        [
            {
                "type": "config/auth/create",
                "name": person.name,
                "group_ids": ["system-users"],
                "local_only": False,
            }
        ]
    )
    person.user_id = created["user"]["id"]
    await client.websocket(
        [
            {
                "type": "config/auth_provider/homeassistant/create",
                "user_id": person.user_id,
                "username": person.username,
                "password": person.password,
            }
        ]
    )


def start_home_assistant(config_dir: Path, max_wait: float = 600) -> HomeAssistantProcess:
    """Start, onboard and populate a Home Assistant; the caller stops it."""
    started = time.monotonic()
    port = free_port()
    (config_dir / "custom_components").mkdir(parents=True)
    (config_dir / "custom_components" / "liveone").symlink_to(REPO / "custom_components" / "liveone")
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=port), encoding="utf-8")
    console = (config_dir / "console.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "-c", str(config_dir), "--skip-pip"],
        stdout=console,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    admin = Person("Developer", dev_setup.DEV_USERNAME, dev_setup.DEV_PASSWORD)
    viewer = Person("Vic Viewer", "vic", "vic-password")
    stranger = Person("Sam Stranger", "sam", "sam-password")
    ha = HomeAssistantProcess(config_dir, port, process, admin, viewer, stranger)
    try:
        _populate(ha, max_wait)
    except BaseException:
        ha.stop()
        raise
    ha.started_s = time.monotonic() - started
    return ha


def _populate(ha: HomeAssistantProcess, max_wait: float) -> None:
    async def _setup(client: HomeAssistantClient) -> None:
        status = await dev_setup.wait_for_home_assistant(client, ha.process.pid, max_wait)
        await dev_setup.onboard(client, status, ha.config_dir / dev_setup.CREDENTIAL_FILE_NAME)
        await dev_setup.remove_onboarding_extras(client)
        ha.admin.tokens = await client.login_as(ha.admin.username, ha.admin.password)
        # A week and a day of history for "Demo Home" (7 days at 5m are full), one day for the other.
        ha.entries["Demo Home"] = await _add_demo(client, "Demo Home", dev_setup.DEMO_INPUT["backfill_days"])
        ha.entries["Beach House"] = await _add_demo(client, "Beach House", 1)
        await dev_setup.report_entry(client)
        for person in (ha.viewer, ha.stranger):
            await _make_user(client, person)
        (listed,) = await client.websocket([{"type": "liveone/systems"}])
        ha.systems = {item["name"]: int(item["system"]) for item in listed["systems"]}
        # The administrator shares "Demo Home" with the viewer through the action; the stranger gets nothing.
        await client.request(
            "POST",
            "/api/services/liveone/grant_access",
            json_body={"system": ha.entries["Demo Home"], "user": ha.viewer.user_id, "role": "viewer"},
        )
        for person in (ha.viewer, ha.stranger):
            person.tokens = await client.login_as(person.username, person.password)

    run(_setup, ha.base_url, None)
