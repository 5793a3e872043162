"""Fixtures of the browser tests: one real Home Assistant and one Chromium for the whole session.

Run by ``scripts/test`` as its own step (``pytest -p no:homeassistant tests/browser``): Home Assistant's
test plugin, which blocks sockets and patches Home Assistant in-process, has no business here; the
Home Assistant under test is a separate process. Screenshots, Home Assistant's log and the timing
figures (``results.json``) go to ``artifacts/browser/`` (``LIVEONE_ARTIFACTS`` overrides).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
import importlib.util
import json
import os
from pathlib import Path
import platform
import shutil
from typing import Any

import pytest

from .harness import REPO, HomeAssistantProcess, Person, start_home_assistant

CHROMIUM = Path(os.environ.get("LIVEONE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("LIVEONE_REQUIRE_BROWSER") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(f"{reason} (set LIVEONE_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots, logs and figures are kept (git-ignored)."""
    path = Path(os.environ.get("LIVEONE_ARTIFACTS", REPO / "artifacts")) / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def results(artifacts: Path) -> Iterator[dict[str, Any]]:
    """Figures the tests record; written to results.json at the end (bench/results.json's format)."""
    from .figures import write_results

    figures: dict[str, Any] = {}
    yield figures
    write_results(
        artifacts / "results.json", figures, chromium=str(CHROMIUM), python=platform.python_version()
    )


@pytest.fixture(scope="session")
def ha(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[HomeAssistantProcess]:
    """A real Home Assistant with two demo systems, a viewer of one and a user granted nothing."""
    if importlib.util.find_spec("hass_frontend") is None:
        _missing("home-assistant-frontend is not installed in this venv (requirements_test.txt pins it)")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (scripts/test installs Debian's chromium with apt-get)")
    config_dir = tmp_path_factory.mktemp("ha-config")
    try:
        process = start_home_assistant(config_dir)
    finally:
        with suppress(OSError):
            shutil.copy(config_dir / "console.log", artifacts / "home-assistant.log")
    yield process
    process.stop()
    with suppress(OSError):
        shutil.copy(config_dir / "console.log", artifacts / "home-assistant.log")


@pytest.fixture(scope="session")
def browser(ha: HomeAssistantProcess) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (whose own browser download cannot work here).

    Playwright refuses ``--user-data-dir`` with ``launch``: it gives each launch a fresh temporary
    profile itself, and each test's context is fresh too.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


_DESCRIBE_REJECTIONS = """
window.addEventListener("unhandledrejection", (event) => {
  let reason;
  try { reason = JSON.stringify(event.reason); } catch { reason = String(event.reason); }
  console.error(`unhandled rejection: ${reason}`);
});
"""
_REJECTION = "unhandled rejection: "


@dataclass
class _Socket:
    """The WebSocket commands a page sent, and those Home Assistant answered with an error."""

    sent: dict[int, str] = field(default_factory=dict)  # message id -> command type
    failed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (command type, error)

    def on_sent(self, payload: str | bytes) -> None:
        for message in _messages(payload):
            if isinstance(message.get("id"), int):
                self.sent[message["id"]] = str(message.get("type"))

    def on_received(self, payload: str | bytes) -> None:
        for message in _messages(payload):
            if message.get("type") == "result" and message.get("success") is False:
                self.failed.append((self.sent.get(message.get("id", -1), "?"), message.get("error") or {}))


def _messages(payload: str | bytes) -> list[dict[str, Any]]:
    """The JSON messages of one frame (Home Assistant may send several in one array)."""
    try:
        decoded = json.loads(payload)
    except ValueError:
        return []
    items = decoded if isinstance(decoded, list) else [decoded]
    return [item for item in items if isinstance(item, dict)]


@dataclass
class Pages:
    """Opens logged-in pages and collects what their consoles report."""

    ha: HomeAssistantProcess
    browser: Any
    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)  # LiveOne responses and failed requests
    contexts: list[Any] = field(default_factory=list)
    # Unhandled rejections of Home Assistant's own frontend: a non-LiveOne WebSocket command that HA
    # refused (seen once in CI for a non-administrator's page). Recorded, not failed on.
    frontend_noise: list[str] = field(default_factory=list)
    _sockets: list[_Socket] = field(default_factory=list)

    def open(
        self,
        path: str,
        who: Person | None = None,
        *,
        dark: bool = False,
        width: int = 1280,
        height: int = 900,
    ) -> Any:
        """A new page logged in as a user (the administrator by default), at ``path``."""
        person = who or self.ha.admin
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            accept_downloads=True,
            service_workers="block",
        )
        tokens = person.frontend_tokens(self.ha.base_url)
        context.add_init_script(f"window.localStorage.setItem('hassTokens', {tokens!r});")
        # A rejection whose reason is not an Error reaches "pageerror" as the bare word "Object": the
        # listener logs the reason itself, and the page's WebSocket frames say which command it answers.
        context.add_init_script(_DESCRIBE_REJECTIONS)
        self.contexts.append(context)
        page = context.new_page()
        socket = _Socket()
        self._sockets.append(socket)

        def _watch(ws: Any) -> None:
            ws.on("framesent", socket.on_sent)
            ws.on("framereceived", socket.on_received)

        page.on("websocket", _watch)
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on(
            "pageerror",
            lambda exc: self.errors.append(f"page error at {page.url}: {exc.message} {exc.stack or ''}"),
        )
        page.goto(f"{self.ha.base_url}{path}")
        return page

    def problems(self) -> list[str]:
        """The errors to fail on: all but the rejections of HA's own commands (moved to frontend_noise)."""
        failed = [(kind, error) for socket in self._sockets for kind, error in socket.failed]
        kept: list[str] = []
        forgiven = 0
        for entry in self.errors:
            if not entry.startswith(f"console: {_REJECTION}"):
                kept.append(entry)
                continue
            try:
                reason = json.loads(entry.removeprefix(f"console: {_REJECTION}"))
            except ValueError:
                reason = None
            owners = [
                kind
                for kind, error in failed
                if isinstance(reason, dict)
                and reason.get("code") is not None
                and error.get("code") == reason["code"]
            ]
            if owners and not any(kind.startswith("liveone/") or kind == "?" for kind in owners):
                self.frontend_noise.append(f"{entry} (answer to {', '.join(sorted(set(owners)))})")
                forgiven += 1
            else:
                kept.append(entry)
        # Each forgiven rejection also reached "pageerror" as the bare "Object" (no stack).
        result: list[str] = []
        for entry in kept:
            if (
                forgiven
                and entry.startswith("page error at ")
                and entry.split(": ", 1)[-1].strip() == "Object"
            ):
                forgiven -= 1
                continue
            result.append(entry)
        return result

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item (the pages fixture screenshots failed tests)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def pages(
    ha: HomeAssistantProcess, browser: Any, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Pages]:
    """Pages for one test; the test fails if any page logged an error to its console."""
    opened = Pages(ha, browser)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for n, context in enumerate(opened.contexts):
            for m, page in enumerate(context.pages):
                with suppress(Exception):
                    page.screenshot(
                        path=str(artifacts / f"FAILED-{request.node.name}-{n}-{m}.png"), full_page=True
                    )
    opened.close()
    problems = opened.problems()
    if opened.frontend_noise:
        with (artifacts / "frontend-noise.txt").open("a", encoding="utf-8") as noise:
            noise.write("".join(f"{request.node.name}: {line}\n" for line in opened.frontend_noise))
    assert not problems, "the browser console reported errors:\n" + "\n".join(problems)


@pytest.fixture
def shoot(artifacts: Path) -> Callable[[Any, str], None]:
    """Save a full-page screenshot into the artifacts."""

    def _shoot(page: Any, name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

    return _shoot
