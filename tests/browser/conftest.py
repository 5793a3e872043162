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


@dataclass
class Pages:
    """Opens logged-in pages and collects what their consoles report."""

    ha: HomeAssistantProcess
    browser: Any
    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)  # LiveOne responses and failed requests
    contexts: list[Any] = field(default_factory=list)

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
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on(
            "pageerror",
            lambda exc: self.errors.append(f"page error at {page.url}: {exc.message} {exc.stack or ''}"),
        )
        page.goto(f"{self.ha.base_url}{path}")
        return page

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
    assert not opened.errors, "the browser console reported errors:\n" + "\n".join(opened.errors)


@pytest.fixture
def shoot(artifacts: Path) -> Callable[[Any, str], None]:
    """Save a full-page screenshot into the artifacts."""

    def _shoot(page: Any, name: str) -> None:
        page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

    return _shoot
