"""scripts/validate.py: the real integration passes, and a planted break of each kind is caught.

Each test copies the integration (and the repository files the checks read) to a temporary directory,
plants one break, and asserts that the validator reports that specific finding. Nothing here uses the
network: the check against the newest Home Assistant release runs on a small fake ``homeassistant`` tree.
"""

from __future__ import annotations

from collections.abc import Callable
import importlib.util
import json
from pathlib import Path
import re
import shutil
import subprocess
import sys
from types import ModuleType
from typing import Any

from PIL import Image
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "liveone"


def _load_validator() -> ModuleType:
    package = REPO / "scripts" / "liveone_validate"
    spec = importlib.util.spec_from_file_location(
        "liveone_validate", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _load_validator()
OFFLINE_CHECKS = [check for check in validate.CHECKS if check != "current_ha"]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Return a copy of the repository's checked files, to plant breaks in."""
    root = tmp_path / "repo"
    shutil.copytree(
        REPO / "custom_components" / DOMAIN,
        root / "custom_components" / DOMAIN,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("hacs.json", "pyproject.toml", "scripts/test"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    return root


def integration(root: Path) -> Path:
    return root / "custom_components" / DOMAIN


def edit(path: Path, change: Callable[[str], str]) -> None:
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before, f"the planted break did not change {path.name}"
    path.write_text(after, encoding="utf-8")


def edit_json(path: Path, change: Callable[[Any], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def append(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n" + code, encoding="utf-8")


def findings(root: Path, check: str) -> list[str]:
    report = validate.run(root, only=[check], offline=True)
    return [finding.message for finding in report.findings if finding.check == check]


def assert_found(root: Path, check: str, pattern: str) -> None:
    messages = findings(root, check)
    assert any(re.search(pattern, message) for message in messages), (
        f"no {check} finding matches {pattern!r}; found: {messages}"
    )


# ---- the real integration -----------------------------------------------------------------------------------


def test_real_integration_passes_offline_checks() -> None:
    report = validate.run(REPO, only=OFFLINE_CHECKS)
    assert [str(finding) for finding in report.findings] == []


def test_real_integration_passes_against_cached_newest_ha() -> None:
    """Uses the wheel scripts/test downloaded, if there is one; the download itself is not tested here."""
    wheels = sorted(
        (REPO / ".venv" / "ha-wheel-cache").glob("homeassistant-*.whl"), key=validate._version_key
    )
    if not wheels:
        pytest.skip("no cached homeassistant wheel (scripts/validate.py downloads it)")
    report = validate.run(REPO, only=["current_ha"], ha_source=wheels[-1])
    assert [str(finding) for finding in report.findings] == []


def test_copy_passes(repo: Path) -> None:
    report = validate.run(repo, only=OFFLINE_CHECKS)
    assert [str(finding) for finding in report.findings] == []


def test_cli_exit_status(repo: Path) -> None:
    script = REPO / "scripts" / "validate.py"
    ok = subprocess.run(
        [sys.executable, script, "--repo", repo, "--offline"], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "no findings" in ok.stdout
    edit_json(integration(repo) / "manifest.json", lambda m: m.pop("version"))
    broken = subprocess.run(
        [sys.executable, script, "--repo", repo, "--offline"], capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    assert "required key 'version' is missing" in broken.stderr


# ---- 1. manifest.json and hacs.json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda m: m.pop("version"), r"required key 'version' is missing"),
        (lambda m: m.pop("codeowners"), r"required key 'codeowners'"),
        (lambda m: m.update(version="one point oh"), r"not a valid version"),
        (lambda m: m.update(documentation="not a url"), r"documentation .* not a valid"),
        (lambda m: m.update(issue_tracker="ftp://example.com/x"), r"issue_tracker .* not a valid"),
        (lambda m: m.update(iot_class="cloud_pulling"), r"iot_class 'cloud_pulling' is not one of"),
        (lambda m: m.update(integration_type="hubb"), r"integration_type 'hubb' is not one of"),
        (lambda m: m.update(codeowners=["liveone-energy"]), r"codeowners must be"),
        (lambda m: m.update(config_flow=False), r"config_flow must be true exactly when"),
        (lambda m: m.update(requirements=["SQLAlchemy"]), r"must pin a version"),
        (lambda m: m.update(dependencies=["recorder"]), r"'recorder' is in both"),
        (lambda m: m.update(colour="blue"), r"unknown key 'colour'"),
    ],
)
def test_manifest_breaks(repo: Path, change: Callable[[dict[str, Any]], None], pattern: str) -> None:
    edit_json(integration(repo) / "manifest.json", change)
    assert_found(repo, "manifest", pattern)


def test_manifest_key_order(repo: Path) -> None:
    path = integration(repo) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    reordered = {"name": manifest.pop("name"), **manifest}
    path.write_text(json.dumps(reordered), encoding="utf-8")
    assert_found(repo, "manifest", r"keys must be ordered domain, name, then alphabetically")


def test_manifest_malformed(repo: Path) -> None:
    (integration(repo) / "manifest.json").write_text('{"domain": "liveone",', encoding="utf-8")
    assert_found(repo, "manifest", r"not valid JSON")


def test_undeclared_dependency(repo: Path) -> None:
    append(integration(repo) / "const.py", "from homeassistant.components.energy import is_configured\n")
    assert_found(repo, "manifest", r"imports homeassistant.components.energy .* neither dependencies")


def test_platform_and_type_checking_imports_need_no_dependency(repo: Path) -> None:
    append(
        integration(repo) / "const.py",
        "from typing import TYPE_CHECKING\n"
        "from homeassistant.components.sensor import SensorEntity\n"
        "if TYPE_CHECKING:\n    from homeassistant.components.energy import is_configured\n",
    )
    assert findings(repo, "manifest") == []


def test_config_flow_without_module(repo: Path) -> None:
    (integration(repo) / "config_flow.py").unlink()
    assert_found(repo, "manifest", r"config_flow.py is absent")


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda h: h.pop("name"), r"'name' is required"),
        (lambda h: h.pop("homeassistant"), r"'homeassistant' .* is required"),
        (lambda h: h.update(homeassistant="latest"), r"must be a Home Assistant version"),
        (lambda h: h.update(domains=["sensor"]), r"unknown key 'domains'"),
        (lambda h: h.update(render_readme="yes"), r"'render_readme' must be true or false"),
    ],
)
def test_hacs_breaks(repo: Path, change: Callable[[dict[str, Any]], None], pattern: str) -> None:
    edit_json(repo / "hacs.json", change)
    assert_found(repo, "manifest", pattern)


def test_hacs_missing(repo: Path) -> None:
    (repo / "hacs.json").unlink()
    assert_found(repo, "manifest", r"is missing")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.json", '{"a": [1]}', {"a": [1]}),
        ("a.yaml", "a:\n  - 1\n", {"a": [1]}),
        ("a.yaml", "", None),
        ("a.toml", "[a]\nb = 1\n", {"a": {"b": 1}}),
    ],
)
def test_loader_reads_each_format(tmp_path: Path, name: str, text: str, expected: object) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    report = validate.Report()
    assert validate.load_data(tmp_path / name, report, "manifest") == expected
    assert report.findings == []


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("a.json", b"{ not json", r"^is not valid JSON: "),
        ("a.yaml", b"a: [1\n", r"^is not valid YAML: "),
        ("a.toml", b"[a\n", r"^is not valid TOML: "),
        ("a.json", b'{"a": "\xff"}', r"^is not valid JSON: .*utf-8"),
    ],
)
def test_loader_reports_broken_files(tmp_path: Path, name: str, content: bytes, pattern: str) -> None:
    (tmp_path / name).write_bytes(content)
    report = validate.Report()
    assert validate.load_data(tmp_path / name, report, "manifest", "where") is validate.Unreadable.BROKEN
    assert [(f.check, f.path) for f in report.findings] == [("manifest", "where")]
    assert re.search(pattern, report.findings[0].message), report.findings[0].message
    # Without a report the file is still broken, and nothing is raised.
    assert validate.load_data(tmp_path / name) is validate.Unreadable.BROKEN
    assert validate.load_data(tmp_path / "absent.json", report) is validate.Unreadable.MISSING
    assert len(report.findings) == 1


def test_hacs_not_utf8(repo: Path) -> None:
    (repo / "hacs.json").write_bytes(b'{"name": "\xff"}')
    assert_found(repo, "manifest", r"is not valid JSON: .*utf-8")


# ---- 2. translations ----------------------------------------------------------------------------------------


def en_json(root: Path) -> Path:
    return integration(root) / "translations" / "en.json"


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda t: t["entity"]["sensor"].pop("solar_power"), r"lacks 'entity.sensor.solar_power.name'"),
        (lambda t: t["entity"]["binary_sensor"].pop("fault"), r"lacks 'entity.binary_sensor.fault.name'"),
        (lambda t: t["config"]["step"].pop("demo"), r"lacks 'config.step.demo"),
        (
            lambda t: t["config"]["step"]["demo"]["data"].pop("backfill_days"),
            r"config.step.demo.data.backfill_days",
        ),
        (lambda t: t["config"]["error"].pop("invalid_name"), r"lacks 'config.error.invalid_name'"),
        (
            lambda t: t["config"]["abort"].pop("already_configured"),
            r"lacks 'config.abort.already_configured'",
        ),
        (lambda t: t["exceptions"].pop("store_unavailable"), r"lacks 'exceptions.store_unavailable.message'"),
        (
            lambda t: t["entity"]["sensor"]["solar_power"].update(name="[%key:common::generic::power%]"),
            r"\[%key:\.\.\.\] reference",
        ),
        (lambda t: t["entity"]["sensor"]["solar_power"].update(name=3), r"must be a string"),
    ],
)
def test_translation_breaks(repo: Path, change: Callable[[dict[str, Any]], None], pattern: str) -> None:
    edit_json(en_json(repo), change)
    assert_found(repo, "translations", pattern)


def test_translations_malformed(repo: Path) -> None:
    en_json(repo).write_text("{ not json", encoding="utf-8")
    assert_found(repo, "translations", r"not valid JSON")


def test_translations_missing(repo: Path) -> None:
    en_json(repo).unlink()
    assert_found(repo, "translations", r"is missing")


def test_new_strings_in_code_need_translations(repo: Path) -> None:
    append(
        integration(repo) / "__init__.py",
        "def _planted(hass):\n"
        '    async_create_issue(hass, DOMAIN, "x", is_fixable=False, severity="error", translation_key="planted_issue")\n'
        '    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="planted_error")\n',
    )
    append(
        integration(repo) / "sensor.py",
        'PLANTED = LiveOneSensorEntityDescription(key="x", translation_key="planted_sensor", value_fn=len)\n',
    )
    messages = findings(repo, "translations")
    for key in (
        "issues.planted_issue.title",
        "exceptions.planted_error.message",
        "entity.sensor.planted_sensor.name",
    ):
        assert any(key in message for message in messages), (key, messages)


def test_service_strings_need_translations(repo: Path) -> None:
    (integration(repo) / "services.yaml").write_text(
        "rebuild:\n  fields:\n    days:\n      selector:\n        number: {}\n", encoding="utf-8"
    )
    messages = findings(repo, "translations")
    assert any("services.rebuild.name" in message for message in messages)
    assert any("services.rebuild.fields.days.name" in message for message in messages)


# The config flow's steps may live in per-kind mixin classes anywhere in the package (sources/<kind>.py),
# the domain's ConfigFlow class being composed of them: their strings are checked like the class's own.
ACME_STEPS = (
    "import voluptuous as vol\n"
    "{base_import}"
    "class {name}{bases}:\n"
    "    async def async_step_acme(self, user_input=None):\n"
    "        errors = {{}}\n"
    "        if user_input is not None:\n"
    '            errors["base"] = "acme_offline"\n'
    "            return await self.async_step_acme_site()\n"
    "        return self.async_show_form(\n"
    '            step_id="acme", data_schema=vol.Schema({{vol.Required("acme_key"): str}}), errors=errors\n'
    "        )\n"
)


def plant_acme_mixin(root: Path, *, nested: bool) -> None:
    """Add an Acme step mixin in sources/ (nested: a mixin of a mixin, deeper down).

    The integration composes its flow class from every subclass of its flow base at run time, so a
    mixin deriving (however deeply) from ``LiveOneFlowBase`` is part of the domain's flow.
    """
    sources = integration(root) / "sources"
    (sources / "kinds").mkdir(parents=True, exist_ok=True)
    for package in (sources, sources / "kinds"):
        if not (package / "__init__.py").exists():
            (package / "__init__.py").write_text("", encoding="utf-8")
    flow_base = "from ..flow import LiveOneFlowBase\n"
    if nested:
        (sources / "kinds" / "acme.py").write_text(
            ACME_STEPS.format(
                base_import="from ...flow import LiveOneFlowBase\n",
                name="AcmeStepsBase",
                bases="(LiveOneFlowBase)",
            ),
            encoding="utf-8",
        )
        (sources / "acme.py").write_text(
            ACME_STEPS.format(
                base_import="from .kinds.acme import AcmeStepsBase\n",
                name="AcmeSteps",
                bases="(AcmeStepsBase)",
            )
            .replace("async_step_acme(", "async_step_acme_site(")
            .replace('step_id="acme"', 'step_id="acme_site"')
            .replace("await self.async_step_acme_site()", "await self.async_step_acme()"),
            encoding="utf-8",
        )
    else:
        (sources / "acme.py").write_text(
            ACME_STEPS.format(base_import=flow_base, name="AcmeSteps", bases="(LiveOneFlowBase)"),
            encoding="utf-8",
        )


@pytest.mark.parametrize("nested", [False, True])
def test_steps_in_mixins_need_translations(repo: Path, nested: bool) -> None:
    plant_acme_mixin(repo, nested=nested)
    messages = findings(repo, "translations")
    expected = ["config.step.acme", "config.step.acme.data.acme_key", "config.error.acme_offline"]
    if nested:
        expected += ["config.step.acme_site", "config.step.acme_site.data.acme_key"]
    for key in expected:
        assert any(f"'{key}" in message for message in messages), (key, messages)
    # Each finding names the mixin's own module and class, where the step is defined.
    where = "sources/kinds/acme.py" if nested else "sources/acme.py"
    assert any(where in message and "AcmeSteps" in message for message in messages), messages

    def translate(data: dict[str, Any]) -> None:
        for step in ("acme", "acme_site"):
            data["config"]["step"][step] = {"title": "Acme", "data": {"acme_key": "Key"}}
        data["config"]["error"]["acme_offline"] = "Acme is offline"

    edit_json(en_json(repo), translate)
    assert findings(repo, "translations") == []


def test_steps_in_mixins_count_for_the_quality_scale(repo: Path) -> None:
    """A step the flow gets from a mixin in a subpackage counts as the flow's own (reauth here)."""
    flow = integration(repo) / "flow.py"
    edit(flow, lambda text: text.replace("async def async_step_reauth(", "async def _moved_reauth("))
    assert_found(repo, "quality_scale", r"reauthentication-flow is marked done, but the config flow has no")
    plant_acme_mixin(repo, nested=True)
    append(
        integration(repo) / "sources" / "kinds" / "acme.py",
        "    async def async_step_reauth(self, entry_data):\n        return await self._moved_reauth(entry_data)\n",
    )
    assert findings(repo, "quality_scale") == []


# ---- 3. services --------------------------------------------------------------------------------------------

REGISTER = (
    "async def _register(hass):\n"
    '    hass.services.async_register(DOMAIN, "rebuild", _handler, schema=None)\n'
    "async def _handler(call):\n    return None\n"
)


def test_real_services_pass(repo: Path) -> None:
    assert (integration(repo) / "services.yaml").exists()
    assert findings(repo, "services") == []


def test_consistent_services_pass(repo: Path) -> None:
    append(integration(repo) / "__init__.py", REGISTER)
    append(
        integration(repo) / "services.yaml",
        "rebuild:\n  fields:\n    days:\n      selector:\n        number: {}\n",
    )
    assert findings(repo, "services") == []


def test_registered_service_not_described(repo: Path) -> None:
    append(integration(repo) / "__init__.py", REGISTER)
    assert_found(repo, "services", r"service 'rebuild' is registered .* but not described")


def test_described_service_not_registered(repo: Path) -> None:
    append(integration(repo) / "services.yaml", "rebuild:\n  fields: {}\n")
    assert_found(repo, "services", r"service 'rebuild' is described but never registered")


def test_service_field_without_selector(repo: Path) -> None:
    append(integration(repo) / "__init__.py", REGISTER)
    append(integration(repo) / "services.yaml", "rebuild:\n  fields:\n    days:\n      required: true\n")
    assert_found(repo, "services", r"field 'rebuild.days' has no selector")


def test_services_yaml_malformed(repo: Path) -> None:
    (integration(repo) / "services.yaml").write_text("rebuild: [\n", encoding="utf-8")
    assert_found(repo, "services", r"not valid YAML")


# ---- 4. icons -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            lambda i: i["entity"]["sensor"].update(no_such_sensor={"default": "mdi:flash"}),
            r"no sensor entity has translation_key 'no_such_sensor'",
        ),
        (lambda i: i["entity"].update(switch={"x": {"default": "mdi:flash"}}), r"has no switch platform"),
        (
            lambda i: i.update(services={"rebuild": {"service": "mdi:refresh"}}),
            r"services.rebuild: no such service",
        ),
        (lambda i: i["entity"]["sensor"].update(solar_power={"default": "flash"}), r"is not an mdi: icon"),
    ],
)
def test_icon_breaks(repo: Path, change: Callable[[dict[str, Any]], None], pattern: str) -> None:
    edit_json(integration(repo) / "icons.json", change)
    assert_found(repo, "icons", pattern)


def test_icons_malformed(repo: Path) -> None:
    (integration(repo) / "icons.json").write_text("{", encoding="utf-8")
    assert_found(repo, "icons", r"not valid JSON")


def test_entity_keys_of_the_kinds_descriptions_are_checked(repo: Path) -> None:
    """A kind's own sensor and binary-sensor descriptions in sources/ need their strings and may have icons."""
    append(
        integration(repo) / "sources" / "demo.py",
        "\n\ndef _planted_power(translation_key: str) -> object:\n"
        "    return LiveOneSensorEntityDescription(key='x', translation_key=translation_key, value_fn=len)\n"
        "\n\nPLANTED = (_planted_power('planted_power'), LiveOneBinarySensorEntityDescription("
        "key='y', translation_key='planted_flag', is_on_fn=len, has_fn=len))\n",
    )
    assert_found(repo, "translations", r"lacks 'entity\.sensor\.planted_power\.name'")
    assert_found(repo, "translations", r"lacks 'entity\.binary_sensor\.planted_flag\.name'")
    edit_json(
        integration(repo) / "icons.json",
        lambda i: i["entity"]["sensor"].update(planted_power={"default": "mdi:flash"}),
    )
    assert not [m for m in findings(repo, "icons") if "planted_power" in m]


# ---- 5. blocking calls in async code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "pattern"),
    [
        (
            "import time\nasync def planted():\n    time.sleep(1)\n",
            r"time\.sleep\(\) inside 'async def planted'",
        ),
        ("from time import sleep\nasync def planted():\n    sleep(1)\n", r"time\.sleep\(\)"),
        ("import requests\nasync def planted():\n    requests.get('x')\n", r"requests\.get\(\)"),
        ("from urllib.request import urlopen\nasync def planted():\n    urlopen('x')\n", r"urlopen"),
        ("import sqlite3\nasync def planted():\n    sqlite3.connect('x')\n", r"sqlite3\.connect"),
        ("async def planted():\n    open('x')\n", r"open\(\) inside"),
        ("async def planted(path):\n    path.read_text()\n", r"read_text\(\) \(file I/O\)"),
        (
            "async def planted(self):\n    with self._engine.begin() as conn:\n        pass\n",
            r"_engine\.begin\(\) \(sync database",
        ),
        ("async def planted(conn):\n    conn.execute('select 1')\n", r"conn\.execute\(\) \(sync database"),
    ],
)
def test_blocking_calls(repo: Path, code: str, pattern: str) -> None:
    append(integration(repo) / "store" / "writer.py", code)
    assert_found(repo, "blocking", pattern)


def test_blocking_calls_handed_off_pass(repo: Path) -> None:
    append(
        integration(repo) / "store" / "writer.py",
        "import time\n"
        "async def planted(hass, conn):\n"
        "    def _work():\n        time.sleep(1)\n        conn.execute('x')\n"
        "    await hass.async_add_executor_job(_work)\n"
        "    await conn.execute('async drivers are awaited')\n",
    )
    assert findings(repo, "blocking") == []


# ---- 6a. current-HA traps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "code", "pattern"),
    [
        ("entity.py", "def planted():\n    return DeviceInfo(via_device=('a', 'b'))\n", r"via_device"),
        (
            "config_flow.py",
            "from homeassistant.config_entries import OptionsFlow\n"
            "class PlantedOptions(OptionsFlow):\n    def __init__(self, entry):\n        self.config_entry = entry\n",
            r"must not assign self.config_entry",
        ),
        (
            "__init__.py",
            "async def planted(hass, entry):\n    await hass.config_entries.async_forward_entry_setup(entry, 'sensor')\n",
            r"async_forward_entry_setup was removed",
        ),
        ("__init__.py", "def planted(hass):\n    return hass.helpers.event\n", r"hass\.helpers.* removed"),
        (
            "__init__.py",
            "import asyncio\ndef planted():\n    return asyncio.get_event_loop()\n",
            r"get_event_loop",
        ),
        (
            "coordinator.py",
            "def planted(hass):\n    return DataUpdateCoordinator(hass, LOGGER, name='x')\n",
            r"pass config_entry= to DataUpdateCoordinator",
        ),
        (
            "sensor.py",
            "from homeassistant.helpers.entity_platform import AddEntitiesCallback\n"
            "async def async_setup_entry(hass, entry, async_add_entities: AddEntitiesCallback) -> None:\n    pass\n",
            r"AddConfigEntryEntitiesCallback",
        ),
    ],
)
def test_traps(repo: Path, module: str, code: str, pattern: str) -> None:
    append(integration(repo) / module, code)
    assert_found(repo, "traps", pattern)


# ---- 6b. names used from homeassistant, against a fake newest release -------------------------------------

FAKE_HA: dict[str, str] = {
    "homeassistant/__init__.py": "",
    "homeassistant/const.py": (
        "from enum import StrEnum\n"
        "from .helpers.deprecation import DeprecatedConstant\n"
        "MAJOR_VERSION = 2099\nMINOR_VERSION = 1\nPATCH_VERSION = '0'\n"
        "CONF_NAME = 'name'\n"
        "_DEPRECATED_OLD_UNIT = DeprecatedConstant('x', 'NEW_UNIT', '2099.6')\n"
        "OLD_ALIAS = DeprecatedConstant('y', 'CONF_NAME', '2099.6')\n"
        "class Platform(StrEnum):\n    SENSOR = 'sensor'\n"
    ),
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/deprecation.py": "class DeprecatedConstant: ...\ndef deprecated_function(*a): ...\n",
    "homeassistant/helpers/frame.py": "def report_usage(*a, **k): ...\n",
    "homeassistant/helpers/things.py": (
        "from .deprecation import deprecated_function\n"
        "from .frame import report_usage\n"
        "try:\n    import thing\nexcept ImportError, ValueError:\n    thing = None\n"
        "def current(): ...\n"
        "@deprecated_function('current', breaks_in_ha_version='2099.6')\ndef old(): ...\n"
        "def reported():\n    report_usage('calls reported()')\n"
        "def sometimes(flag=False):\n    if flag:\n        report_usage('flag')\n"
        "class Helper:\n    def method(self): ...\n"
    ),
    "homeassistant/helpers/device_registry.py": (
        "_DEPRECATED_DEVICE_INFO_PARAMETERS = {'via_device': ('2099.8.0', 'via_device_id')}\n"
        "class DeviceInfo:\n    pass\n"
    ),
    "homeassistant/util/__init__.py": "def slugify(text): ...\n",
    "homeassistant/util/dt.py": "def utcnow(): ...\n",
}


@pytest.fixture
def fake_ha(tmp_path: Path) -> Path:
    root = tmp_path / "fake_ha"
    for rel, text in FAKE_HA.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def minimal_repo(tmp_path: Path, code: str) -> Path:
    root = tmp_path / "mini"
    (root / "custom_components" / "mini").mkdir(parents=True)
    (root / "custom_components" / "mini" / "manifest.json").write_text('{"domain": "mini"}', encoding="utf-8")
    (root / "custom_components" / "mini" / "__init__.py").write_text(code, encoding="utf-8")
    return root


def current_ha(tmp_path: Path, fake_ha: Path, code: str) -> list[str]:
    report = validate.run(minimal_repo(tmp_path, code), only=["current_ha"], ha_source=fake_ha)
    return [finding.message for finding in report.findings]


def test_fake_ha_parses_despite_py314_except(fake_ha: Path) -> None:
    ha = validate.HaSource(fake_ha)
    assert ha.version() == "2099.1.0"
    assert ha.tree("homeassistant.helpers.things") is not None


def test_current_ha_clean_code_passes(tmp_path: Path, fake_ha: Path) -> None:
    code = (
        "from homeassistant.const import CONF_NAME, Platform\n"
        "from homeassistant.helpers.things import current, sometimes, Helper\n"
        "from homeassistant.util import dt as dt_util, slugify\n"
        "import homeassistant.helpers.things as things\n"
        "from homeassistant.helpers.device_registry import DeviceInfo\n"
        "DeviceInfo(name='x', identifiers=set())\n"
        "x = (Platform.SENSOR, dt_util.utcnow(), things.current, Helper.inherited_maybe)\n"
    )
    assert current_ha(tmp_path, fake_ha, code) == []


@pytest.mark.parametrize(
    ("code", "pattern"),
    [
        (
            "from homeassistant.const import OLD_UNIT\n",
            r"homeassistant.const.OLD_UNIT is deprecated.*_DEPRECATED_",
        ),
        ("from homeassistant.const import OLD_ALIAS\n", r"OLD_ALIAS is deprecated .* DeprecatedConstant"),
        (
            "from homeassistant.helpers.things import old\n",
            r"things.old is deprecated .* @deprecated_function",
        ),
        ("from homeassistant.helpers.things import reported\n", r"reported is deprecated .*report_usage"),
        (
            "from homeassistant.helpers.things import gone\n",
            r"things.gone does not exist in Home Assistant 2099.1.0",
        ),
        (
            "from homeassistant.helpers.removed import x\n",
            r"module homeassistant.helpers.removed does not exist",
        ),
        (
            "from homeassistant.util import dt as dt_util\ndt_util.now()\n",
            r"homeassistant.util.dt.now does not exist",
        ),
        ("from homeassistant.const import Platform\nPlatform.LAMP\n", r"Platform.LAMP does not exist"),
        ("import homeassistant.helpers.things as t\nt.old()\n", r"things.old is deprecated"),
        (
            "from homeassistant.helpers.device_registry import DeviceInfo\nDeviceInfo(name='x', via_device=('a', 'b'))\n",
            r"DeviceInfo\(via_device=\.\.\.\) is deprecated in Home Assistant 2099.1.0",
        ),
    ],
)
def test_current_ha_findings(tmp_path: Path, fake_ha: Path, code: str, pattern: str) -> None:
    messages = current_ha(tmp_path, fake_ha, code)
    assert any(re.search(pattern, message) for message in messages), messages


def test_parse_tolerantly_rewrites_py314_except() -> None:
    source = "try:\n    pass\nexcept ValueError, TypeError as err:\n    pass\nexcept OSError, KeyError:\n    pass\n"
    tree = validate.parse_tolerantly(source)
    assert tree is not None
    assert validate.parse_tolerantly("def broken(:\n") is None


def test_offline_skips_with_warning(repo: Path) -> None:
    report = validate.run(repo, only=["current_ha"], offline=True)
    assert report.findings == []
    assert any("--offline" in note for note in report.notes)


def test_download_failure_is_a_finding(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "ERROR: Could not find a version (no network)")

    monkeypatch.setattr(subprocess, "run", fail)
    report = validate.run(repo, only=["current_ha"], ha_cache=repo / "cache")
    assert any("could not download the newest homeassistant wheel" in f.message for f in report.findings)


def test_download_uses_a_future_python(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake)
    cache = repo / "cache"
    cache.mkdir()
    for version in ("2025.4.4", "2026.11.0", "2026.2.3"):
        (cache / f"homeassistant-{version}-py3-none-any.whl").write_bytes(b"")
    newest = validate.fetch_newest_ha(cache, False, validate.Report())
    assert newest is not None
    assert newest.name == "homeassistant-2026.11.0-py3-none-any.whl"
    assert seen[0][seen[0].index("--python-version") + 1] == "3.14.99"


# ---- 7. quality_scale.yaml ----------------------------------------------------------------------------------


def quality(root: Path) -> Path:
    return integration(root) / "quality_scale.yaml"


def set_rule(root: Path, rule: str, value: Any) -> None:
    data = yaml.safe_load(quality(root).read_text(encoding="utf-8"))
    if value is None:
        data["rules"].pop(rule)
    else:
        data["rules"][rule] = value
    quality(root).write_text(yaml.safe_dump(data), encoding="utf-8")


def test_quality_scale_lists_every_rule() -> None:
    data = yaml.safe_load(
        (REPO / "custom_components" / DOMAIN / "quality_scale.yaml").read_text(encoding="utf-8")
    )
    every = {rule for tier in validate.QUALITY_SCALE_RULES.values() for rule in tier}
    assert set(data["rules"]) == every


@pytest.mark.parametrize(
    ("rule", "value", "pattern"),
    [
        ("diagnostics", None, r"rule 'diagnostics' is not listed"),
        ("made-up-rule", "done", r"unknown rule 'made-up-rule'"),
        ("discovery", "exempt", r"discovery: an exempt rule needs a comment"),
        ("devices", "finished", r"status must be done, todo or exempt"),
        ("reauthentication-flow", "todo", r"reauthentication-flow is implemented .* mark it done"),
        ("discovery", "done", r"discovery is marked done, but manifest.json declares no discovery"),
        (
            "docs-actions",
            {"status": "exempt", "comment": "no actions"},
            r"docs-actions is exempt, but the integration registers service actions",
        ),
    ],
)
def test_quality_scale_file_breaks(repo: Path, rule: str, value: Any, pattern: str) -> None:
    set_rule(repo, rule, value)
    assert_found(repo, "quality_scale", pattern)


def test_quality_scale_missing(repo: Path) -> None:
    quality(repo).unlink()
    assert_found(repo, "quality_scale", r"is missing")


@pytest.mark.parametrize(
    ("module", "change", "pattern"),
    [
        (
            "sensor.py",
            lambda s: s.replace("PARALLEL_UPDATES = 0", "PARALLEL = 0"),
            r"PARALLEL_UPDATES is not set in sensor.py",
        ),
        (
            "runtime.py",
            lambda s: s.replace(
                "type LiveOneConfigEntry = ConfigEntry[", "LiveOneConfigEntry = ConfigEntry["
            ),
            r"runtime-data is marked done, but no typed config entry",
        ),
        (
            "diagnostics.py",
            lambda s: s.replace("async_redact_data(", "dict("),
            r"never calls async_redact_data",
        ),
        (
            "entity.py",
            lambda s: s.replace("_attr_has_entity_name = True", "_attr_has_entity_name = False"),
            r"has-entity-name",
        ),
        (
            "entity.py",
            lambda s: s.replace("self._attr_unique_id =", "self._attr_other ="),
            r"no entity sets _attr_unique_id",
        ),
        (
            "flow.py",
            lambda s: re.sub(r"async_step_reauth\b", "async_step_relogin", s),
            r"no async_step_reauth\b",
        ),
        (
            "flow.py",
            lambda s: re.sub(r"async_step_reconfigure\b", "async_step_change", s),
            r"no async_step_reconfigure",
        ),
    ],
)
def test_quality_scale_claims(repo: Path, module: str, change: Callable[[str], str], pattern: str) -> None:
    edit(integration(repo) / module, change)
    assert_found(repo, "quality_scale", pattern)


def test_services_registered_per_entry(repo: Path) -> None:
    """Registering from async_setup_entry (not async_setup or what it calls) breaks action-setup."""
    edit(
        integration(repo) / "__init__.py",
        lambda s: s.replace("    async_register_services(hass)\n", "", 1).replace(
            "    coordinator_class = COORDINATORS",
            "    async_register_services(hass)\n    coordinator_class = COORDINATORS",
        ),
    )
    assert_found(
        repo, "quality_scale", r"action-setup is marked done, but a service is registered outside async_setup"
    )


def test_services_registered_outside_functions(repo: Path) -> None:
    append(
        integration(repo) / "services.py",
        'hass.services.async_register(DOMAIN, "refresh", _async_poll_now)\n',
    )
    assert_found(repo, "quality_scale", r"registered outside any function \(services.py:\d+\)")


def test_diagnostics_module_missing(repo: Path) -> None:
    (integration(repo) / "diagnostics.py").unlink()
    assert_found(repo, "quality_scale", r"diagnostics.py does not exist")


def test_strict_typing_claim(repo: Path) -> None:
    edit(repo / "pyproject.toml", lambda s: s.replace("strict = true", "strict = false"))
    assert_found(repo, "quality_scale", r"strict-typing is marked done, but .* strict = true")


def test_manifest_quality_scale_above_proven_tier(repo: Path) -> None:
    edit_json(integration(repo) / "manifest.json", lambda m: m.update(quality_scale="platinum"))
    assert_found(repo, "quality_scale", r"quality_scale is 'platinum' but quality_scale.yaml proves")


def test_manifest_quality_scale_at_proven_tier_passes(repo: Path) -> None:
    data = yaml.safe_load(quality(repo).read_text(encoding="utf-8"))
    for rule in validate.QUALITY_SCALE_RULES["bronze"]:
        if data["rules"][rule] == "todo" or (
            isinstance(data["rules"][rule], dict) and data["rules"][rule]["status"] == "todo"
        ):
            data["rules"][rule] = {"status": "exempt", "comment": "planted for the test"}
    quality(repo).write_text(yaml.safe_dump(data), encoding="utf-8")
    edit_json(integration(repo) / "manifest.json", lambda m: m.update(quality_scale="bronze"))
    assert findings(repo, "quality_scale") == []


# ---- 8. brand -----------------------------------------------------------------------------------------------


def brand(root: Path, name: str) -> Path:
    return integration(root) / "brand" / name


def test_brand_file_missing(repo: Path) -> None:
    brand(repo, "icon@2x.png").unlink()
    assert_found(repo, "brand", r"is missing")


def test_brand_wrong_size(repo: Path) -> None:
    Image.new("RGBA", (200, 200)).save(brand(repo, "icon.png"))
    assert_found(repo, "brand", r"is 200x200; it must be 256x256")


def test_brand_logo_too_short(repo: Path) -> None:
    Image.new("RGBA", (300, 100)).save(brand(repo, "dark_logo.png"))
    assert_found(repo, "brand", r"shortest side must be 128 to 256")


def test_brand_without_alpha(repo: Path) -> None:
    Image.new("RGB", (256, 256), "white").save(brand(repo, "icon.png"))
    assert_found(repo, "brand", r"no alpha channel")


def test_brand_corrupt_png(repo: Path) -> None:
    data = bytearray(brand(repo, "logo.png").read_bytes())
    data[40] ^= 0xFF
    brand(repo, "logo.png").write_bytes(bytes(data))
    assert_found(repo, "brand", r"corrupt|truncated|incomplete")


def test_brand_not_png(repo: Path) -> None:
    brand(repo, "logo@2x.png").write_bytes(b"GIF89a")
    assert_found(repo, "brand", r"not a PNG")


def test_brand_svg_source_kept(repo: Path) -> None:
    for svg in (integration(repo) / "brand").glob("*.svg"):
        svg.unlink()
    assert_found(repo, "brand", r"SVG source")
