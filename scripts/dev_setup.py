"""Development helper run by scripts/develop (inside .venv).

Subcommands:
  requirements CONFIG_DIR   print the pip requirements that the development Home Assistant needs
                            (for the integrations it will set up, and LiveOne's manifest) and .venv lacks
  setup CONFIG_DIR          wait for Home Assistant, finish onboarding with the development user, write a
                            long-lived access token to CONFIG_DIR/.dev_token, and add a demo LiveOne system
                            through the real config flow unless a LiveOne entry exists
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
from pathlib import Path
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

BASE_URL = "http://127.0.0.1:8123"
CLIENT_ID = f"{BASE_URL}/"
REDIRECT_URI = f"{BASE_URL}/?auth_callback=1"
DEV_NAME = "Developer"
DEV_USERNAME = "dev"
DEV_PASSWORD = "dev-password"  # noqa: S105 - the published password of a local development instance
LONG_LIVED_CLIENT_NAME = "liveone-dev"
LONG_LIVED_LIFESPAN_DAYS = 3650
CREDENTIAL_FILE_NAME = ".dev_token"
DOMAIN = "liveone"
DEMO_INPUT = {"name": "Demo Home", "backfill_days": 8}  # a full "last 7 days" history
ONBOARDING_STEPS = ("core_config", "analytics", "integration")
# Finishing onboarding's core_config step starts these integrations' flows; their packages are not installed
# (HA runs with --skip-pip) and they need the internet, so their leftover entries are removed.
ONBOARDING_EXTRAS = ("google_translate", "met", "radio_browser")


class SetupError(Exception):
    """A setup step failed; the message says which and why."""


def say(message: str) -> None:
    """Print one progress line."""
    print(f"==> {message}", flush=True)


# --------------------------------------------------------------------------------------------------------------
# requirements
# --------------------------------------------------------------------------------------------------------------


def _configured_domains(config_dir: Path) -> set[str]:
    """Return the integration domains named at the top level of configuration.yaml."""
    import yaml

    class _Loader(yaml.SafeLoader):
        """A YAML loader that accepts HA's tags (!include, !secret, ...) without resolving them."""

    _Loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
    path = config_dir / "configuration.yaml"
    if not path.exists():
        return set()
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        return set()
    # "sensor 2:" style keys configure the "sensor" domain.
    return {str(key).split(" ")[0] for key in data if key != "homeassistant"}


def _missing(requirements: Iterable[str]) -> list[str]:
    """Return the requirements whose installed version does not satisfy them."""
    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for spec in sorted(set(requirements)):
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            missing.append(spec)
            continue
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(spec)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            missing.append(spec)
    return missing


def command_requirements(config_dir: Path) -> int:
    """Print the missing requirements of every integration the development instance sets up."""
    from homeassistant import bootstrap
    import homeassistant.components

    builtin_dir = Path(homeassistant.components.__path__[0])
    custom_dir = config_dir / "custom_components"
    todo = [
        *bootstrap.CORE_INTEGRATIONS,
        *bootstrap.DEFAULT_INTEGRATIONS,
        *_configured_domains(config_dir),
        "onboarding",
        DOMAIN,
    ]
    seen: set[str] = set()
    requirements: list[str] = []
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        for manifest_path in (custom_dir / domain / "manifest.json", builtin_dir / domain / "manifest.json"):
            if manifest_path.exists():
                manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                requirements.extend(manifest.get("requirements", []))
                todo.extend(manifest.get("dependencies", []))
                break
    for spec in _missing(requirements):
        print(spec)
    return 0


# --------------------------------------------------------------------------------------------------------------
# setup
# --------------------------------------------------------------------------------------------------------------


class HomeAssistantClient:
    """The few REST and WebSocket calls that onboarding and the demo entry need."""

    def __init__(self, session: Any) -> None:
        """Wrap an aiohttp ClientSession."""
        self._session = session
        self.token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        expect: Iterable[int] = (200,),
        seconds: float = 60,
    ) -> Any:
        """Send one request and return the decoded JSON body (or text), failing on an unexpected status."""
        import aiohttp

        async with self._session.request(
            method,
            f"{BASE_URL}{path}",
            json=json_body,
            data=form,
            headers=self._headers(),
            timeout=aiohttp.ClientTimeout(total=seconds),
        ) as response:
            text = await response.text()
            if response.status not in tuple(expect):
                raise SetupError(f"{method} {path} answered HTTP {response.status}: {text[:500]}")
            try:
                return json.loads(text) if text else None
            except json.JSONDecodeError:
                return text

    async def token_works(self, token: str) -> bool:
        """Return whether a bearer token is accepted by the REST API."""
        async with self._session.get(
            f"{BASE_URL}/api/", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            return response.status == 200

    async def exchange_code(self, code: str) -> None:
        """Turn an authorization code into an access token."""
        tokens = await self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        )
        self.token = tokens["access_token"]

    async def login(self) -> None:
        """Log in as the development user through the login flow."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            json_body={
                "client_id": CLIENT_ID,
                "handler": ["homeassistant", None],
                "redirect_uri": REDIRECT_URI,
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            json_body={"client_id": CLIENT_ID, "username": DEV_USERNAME, "password": DEV_PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise SetupError(
                f"logging in as '{DEV_USERNAME}' failed ({result.get('errors') or result}). This config/ was "
                "onboarded with another user: run 'scripts/develop --reset' to start clean."
            )
        await self.exchange_code(result["result"])

    async def websocket(self, messages: list[dict[str, Any]]) -> list[Any]:
        """Authenticate on the WebSocket API, send the commands in order and return their results."""
        results = []
        async with self._session.ws_connect(f"{BASE_URL}/api/websocket") as ws:
            hello = await ws.receive_json()
            if hello.get("type") != "auth_required":
                raise SetupError(f"unexpected WebSocket greeting: {hello}")
            await ws.send_json({"type": "auth", "access_token": self.token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise SetupError(f"WebSocket authentication failed: {auth}")
            for message_id, message in enumerate(messages, start=1):
                await ws.send_json({"id": message_id, **message})
                while True:
                    reply = await ws.receive_json()
                    if reply.get("id") == message_id and reply.get("type") == "result":
                        break
                if not reply.get("success"):
                    raise SetupError(f"WebSocket command {message['type']} failed: {reply.get('error')}")
                results.append(reply.get("result"))
        return results


def read_token(path: Path) -> str | None:
    """Return the token saved in path, if any."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def write_token(path: Path, token: str) -> None:
    """Save a token readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{token}\n")
    path.chmod(0o600)


async def wait_for_home_assistant(
    client: HomeAssistantClient, ha_pid: int | None, max_wait: float
) -> list[Any]:
    """Wait until HA's HTTP server answers; return the onboarding status."""
    import aiohttp

    say(f"Waiting for Home Assistant at {BASE_URL} (first start can take a few minutes)")
    start = time.monotonic()
    last_note = start
    while True:
        if ha_pid is not None:
            try:
                os.kill(ha_pid, 0)
            except ProcessLookupError:
                raise SetupError("Home Assistant exited while starting (see its log above)") from None
        try:
            # 200 with the steps while onboarding; 404 once it is complete (HA then drops the view).
            status = await client.request("GET", "/api/onboarding", expect=(200, 404), seconds=10)
        except (aiohttp.ClientError, TimeoutError, SetupError):
            now = time.monotonic()
            if now - start > max_wait:
                raise SetupError(f"Home Assistant did not answer within {max_wait:.0f}s") from None
            if now - last_note > 30:
                say(f"  still waiting ({now - start:.0f}s)")
                last_note = now
            await asyncio.sleep(1)
            continue
        say(f"Home Assistant answers after {time.monotonic() - start:.0f}s")
        if isinstance(status, list):
            return status
        return [{"step": step, "done": True} for step in ("user", *ONBOARDING_STEPS)]


async def onboard(client: HomeAssistantClient, status: list[Any], token_file: Path) -> bool:
    """Finish onboarding (whatever is left of it), leave the client authenticated; return whether core_config ran."""
    done = {step["step"] for step in status if step.get("done")}
    if {"user", *ONBOARDING_STEPS} <= done:
        say("Onboarding was already complete")
    if "user" not in done:
        say(f"Onboarding: creating user '{DEV_USERNAME}' ({DEV_NAME})")
        result = await client.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": CLIENT_ID,
                "name": DEV_NAME,
                "username": DEV_USERNAME,
                "password": DEV_PASSWORD,
                "language": "en",
            },
        )
        await client.exchange_code(result["auth_code"])
    elif (saved := read_token(token_file)) and await client.token_works(saved):
        client.token = saved
    else:
        say(f"Logging in as '{DEV_USERNAME}'")
        await client.login()

    for step in ONBOARDING_STEPS:
        if step in done:
            continue
        say(f"Onboarding: {step}")
        body = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI} if step == "integration" else {}
        await client.request("POST", f"/api/onboarding/{step}", json_body=body)
    return "core_config" not in done


async def remove_onboarding_extras(client: HomeAssistantClient) -> None:
    """Delete the entries that onboarding's core_config step created for integrations that cannot run here."""
    await asyncio.sleep(2)  # onboarding starts their flows as background tasks
    say(
        "  (the ERRORs about met, radio_browser and google_translate in this first log come from these "
        "onboarding defaults: harmless)"
    )
    for domain in ONBOARDING_EXTRAS:
        for entry in await client.request("GET", f"/api/config/config_entries/entry?domain={domain}"):
            say(f"Removing onboarding's '{entry['title']}' entry ({domain} cannot work offline here)")
            await client.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")


async def ensure_long_lived_token(client: HomeAssistantClient, token_file: Path) -> None:
    """Reuse config/.dev_token if it works, otherwise create a new long-lived token and write it there."""
    saved = read_token(token_file)
    if saved and await client.token_works(saved):
        client.token = saved
        say(f"Reusing the long-lived access token in {token_file}")
        return
    (tokens,) = await client.websocket([{"type": "auth/refresh_tokens"}])
    stale = [
        {"type": "auth/delete_refresh_token", "refresh_token_id": token["id"]}
        for token in tokens
        if token.get("client_name") == LONG_LIVED_CLIENT_NAME
    ]
    if stale:
        say(f"Deleting {len(stale)} old '{LONG_LIVED_CLIENT_NAME}' token(s) whose value was lost")
        await client.websocket(stale)
    say(f"Creating long-lived access token '{LONG_LIVED_CLIENT_NAME}'")
    (token,) = await client.websocket(
        [
            {
                "type": "auth/long_lived_access_token",
                "client_name": LONG_LIVED_CLIENT_NAME,
                "lifespan": LONG_LIVED_LIFESPAN_DAYS,
            }
        ]
    )
    write_token(token_file, token)
    client.token = token
    say(f"Wrote the token to {token_file} (mode 600)")


def _schema_names(step: dict[str, Any]) -> list[str]:
    return [field.get("name") for field in step.get("data_schema") or []]


async def add_demo_entry(client: HomeAssistantClient) -> dict[str, Any] | None:
    """Add a demo LiveOne system through the real config flow unless an entry exists; return the new entry."""
    entries = await client.request("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
    if entries:
        titles = ", ".join(f"'{entry['title']}' ({entry['state']})" for entry in entries)
        say(f"LiveOne entries already exist: {titles}; not adding another")
        return None

    say("Adding a demo LiveOne system through the config flow")
    step = await client.request(
        "POST",
        "/api/config/config_entries/flow",
        json_body={"handler": DOMAIN, "show_advanced_options": False},
        expect=(200, 400, 404, 500),
    )
    if not isinstance(step, dict) or "flow_id" not in step:
        raise SetupError(f"the LiveOne config flow could not start: {step}")
    flow_path = f"/api/config/config_entries/flow/{step['flow_id']}"
    options = step.get("menu_options") or []
    if step.get("type") != "menu" or "demo" not in options:
        raise SetupError(f"expected a menu with a 'demo' option as the first step, got: {step}")
    say(f"  first step: menu '{step['step_id']}' with options {list(options)}")

    step = await client.request("POST", flow_path, json_body={"next_step_id": "demo"})
    if step.get("type") != "form" or step.get("step_id") != "demo":
        raise SetupError(f"expected the 'demo' form, got: {step}")
    names = _schema_names(step)
    say(f"  form 'demo' with fields {names}")
    missing = [name for name in DEMO_INPUT if name not in names]
    if missing:
        raise SetupError(f"the 'demo' form lacks the field(s) {missing}: {step.get('data_schema')}")

    say(f"  submitting {DEMO_INPUT}")
    step = await client.request("POST", flow_path, json_body=DEMO_INPUT, seconds=600)
    if step.get("type") != "create_entry":
        raise SetupError(f"the demo form did not create an entry: {step}")
    entry = step.get("result") or {}
    say(f"  created entry '{step.get('title')}' ({entry.get('entry_id')})")
    return dict(entry)


async def report_entry(client: HomeAssistantClient, max_wait: float = 120) -> None:
    """Wait for the LiveOne entries to finish setting up and show their entities."""
    deadline = time.monotonic() + max_wait
    while True:
        entries = await client.request("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
        pending = [entry for entry in entries if entry["state"] in ("not_loaded", "setup_in_progress")]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    for entry in entries:
        reason = f": {entry['reason']}" if entry.get("reason") else ""
        say(f"Entry '{entry['title']}' is {entry['state']}{reason}")
    (registry,) = await client.websocket([{"type": "config/entity_registry/list"}])
    ours = {item["entity_id"]: item for item in registry if item.get("platform") == DOMAIN}
    entity_ids = sorted(ours)
    disabled = sum(1 for item in ours.values() if item.get("disabled_by"))
    say(f"{len(entity_ids)} LiveOne entities ({disabled} disabled by default)")
    if entity_ids:
        states = {state["entity_id"]: state for state in await client.request("GET", "/api/states")}
        for entity_id in entity_ids[:12]:
            state = states.get(entity_id)
            if state is None:
                disabled_by = ours[entity_id].get("disabled_by")
                say(f"  {entity_id}: " + (f"(disabled by {disabled_by})" if disabled_by else "(no state)"))
                continue
            unit = state["attributes"].get("unit_of_measurement") or ""
            say(f"  {entity_id}: {state['state']} {unit}".rstrip())
        if len(entity_ids) > 12:
            say(f"  ... and {len(entity_ids) - 12} more")
    if any(entry["state"] != "loaded" for entry in entries):
        raise SetupError("a LiveOne entry did not load (see the Home Assistant log)")


async def command_setup(config_dir: Path, ha_pid: int | None, max_wait: float) -> int:
    """Run the whole setup against the running Home Assistant.

    Returns 0 when all is done, 2 when Home Assistant is ready but the LiveOne part failed (the integration
    did not load, its flow misbehaved, or its entry did not set up); raises SetupError for anything else.
    """
    import aiohttp

    token_file = config_dir / CREDENTIAL_FILE_NAME
    liveone_error: str | None = None
    async with aiohttp.ClientSession() as session:
        client = HomeAssistantClient(session)
        status = await wait_for_home_assistant(client, ha_pid, max_wait)
        onboarded_now = await onboard(client, status, token_file)
        await ensure_long_lived_token(client, token_file)
        if onboarded_now:
            await remove_onboarding_extras(client)
        try:
            await add_demo_entry(client)
            await report_entry(client)
        except SetupError as err:
            liveone_error = str(err)
    print()
    print(f"Home Assistant is running at {BASE_URL}")
    print(f"  user:     {DEV_USERNAME}")
    print(f"  password: {DEV_PASSWORD}")
    print(f'  token:    {token_file}  (curl -H "Authorization: Bearer $(cat {token_file})" {BASE_URL}/api/)')
    print(f"  log:      {config_dir / 'home-assistant.log'}")
    if liveone_error is None:
        print("  LiveOne:  demo system set up")
        return 0
    print(f"  LiveOne:  NOT set up: {liveone_error}")
    return 2


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a subcommand."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    requirements = commands.add_parser("requirements", help="print missing pip requirements")
    requirements.add_argument("config_dir", type=Path)
    setup = commands.add_parser("setup", help="onboard, write the token, add the demo entry")
    setup.add_argument("config_dir", type=Path)
    setup.add_argument("--ha-pid", type=int, help="fail early if this Home Assistant process exits")
    setup.add_argument("--timeout", type=float, default=900, help="seconds to wait for HA to answer")
    args = parser.parse_args(argv)

    if args.command == "requirements":
        return command_requirements(args.config_dir.resolve())
    try:
        return asyncio.run(command_setup(args.config_dir.resolve(), args.ha_pid, args.timeout))
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
