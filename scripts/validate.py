#!/usr/bin/env python3
"""Check LiveOne against the rules Home Assistant's and HACS's validators apply, and against current HA.

We cannot run GitHub's hassfest and HACS actions here, so this script checks the same things itself (in its
own code, after reading their rules), plus what those actions cannot see:

  manifest       manifest.json and hacs.json (keys, order, version, URLs, iot_class, dependencies)
  translations   translations/en.json holds every string the code shows, and no [%key:...] references
  services       services.yaml matches the registered services; every field has a selector
  icons          icons.json names only entity keys and services that exist
  blocking       no blocking call (sleep, sync HTTP, sync DB, file I/O) directly inside an ``async def``
  traps          the known current-HA traps (spec/ARCHITECTURE.md): via_device, OptionsFlow assigning
                 self.config_entry, async_forward_entry_setup, hass.helpers, asyncio.get_event_loop, ...
  quality_scale  quality_scale.yaml lists every rule; the claims that code can prove are checked
  brand          brand/ images exist, are valid PNGs and have the sizes HA's brands rules ask for
  current_ha     every homeassistant name the integration uses exists in the newest HA release and is
                 not deprecated there (downloads that wheel; ``--offline`` skips this check)

The source is read with ``ast``; only string literals and simple module constants are understood. A
translation key built at run time (an f-string, a value from a dict) cannot be seen: such places are
reported as notes, not findings, so that a reader knows what was not checked.

Usage: python scripts/validate.py [--repo DIR] [--ha-wheel-cache DIR] [--ha-source WHEEL_OR_DIR] [--offline]
                                  [--only CHECK ...] [-v]
The wheel cache defaults to REPO/.venv/ha-wheel-cache (git-ignored with .venv).
Exit status: 0 when nothing was found, 1 when anything was (every finding is printed), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Callable, Iterable, Iterator
import contextlib
from dataclasses import dataclass, field
import functools
import json
from pathlib import Path
import re
import struct
import subprocess
import sys
import time
import tomllib
from typing import Any
import zipfile
import zlib

import yaml

DOMAIN_DIR = "custom_components"

# Entity platforms of Home Assistant (homeassistant.const.Platform); a module named like one is a platform.
PLATFORMS = frozenset(
    {
        "air_quality", "alarm_control_panel", "assist_satellite", "binary_sensor", "button", "calendar",
        "camera", "climate", "conversation", "cover", "date", "datetime", "device_tracker", "event", "fan",
        "geo_location", "humidifier", "image", "image_processing", "lawn_mower", "light", "lock",
        "media_player", "notify", "number", "remote", "scene", "select", "sensor", "siren", "stt", "switch",
        "text", "time", "todo", "tts", "update", "vacuum", "valve", "wake_word", "water_heater", "weather",
    }
)  # fmt: skip

# Integrations a custom integration may import from without declaring them (hassfest's dependencies rule
# allows the entity platforms and a set of integrations that are always loaded).
ALWAYS_AVAILABLE = PLATFORMS | {
    "alert", "automation", "conversation", "default_config", "device_automation", "frontend", "group",
    "homeassistant", "input_boolean", "input_button", "input_datetime", "input_number", "input_select",
    "input_text", "media_source", "onboarding", "panel_custom", "persistent_notification", "person",
    "script", "shopping_list", "sun", "system_health", "system_log", "timer", "webhook", "websocket_api",
    "zone", "mjpeg", "stream",
}  # fmt: skip

IOT_CLASSES = frozenset(
    {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
)
INTEGRATION_TYPES = frozenset(
    {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
)
MANIFEST_QUALITY_SCALES = ("bronze", "silver", "gold", "platinum")
MANIFEST_KEYS = frozenset(
    {
        "domain", "name", "after_dependencies", "bluetooth", "codeowners", "config_flow", "dependencies",
        "dhcp", "disabled", "documentation", "homekit", "import_executor", "integration_type", "iot_class",
        "issue_tracker", "loggers", "mqtt", "quality_scale", "requirements", "single_config_entry", "ssdp",
        "usb", "version", "zeroconf",
    }
)  # fmt: skip
DISCOVERY_KEYS = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")
HACS_KEYS = frozenset(
    {
        "name", "content_in_root", "country", "filename", "hacs", "hide_default_branch", "homeassistant",
        "persistent_directory", "render_readme", "zip_release",
    }
)  # fmt: skip
HACS_BOOL_KEYS = ("content_in_root", "hide_default_branch", "render_readme", "zip_release")

# The Integration Quality Scale (hassfest's quality_scale.py), tier by tier.
QUALITY_SCALE_RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions", "docs-conditions",
        "docs-high-level-description", "docs-installation-instructions", "docs-removal-instructions",
        "docs-triggers", "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data",
        "test-before-configure", "test-before-setup", "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner", "log-when-unavailable",
        "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update", "docs-examples",
        "docs-known-limitations", "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
        "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}  # fmt: skip

# Exceptions of Home Assistant that accept translation_domain / translation_key.
HA_EXCEPTIONS = frozenset(
    {
        "HomeAssistantError", "ServiceValidationError", "ConfigEntryError", "ConfigEntryNotReady",
        "ConfigEntryAuthFailed", "UpdateFailed", "IntegrationError", "PlatformNotReady", "TemplateError",
        "ServiceNotFound", "Unauthorized",
    }
)  # fmt: skip

# Qualified names (or prefixes ending in ".") that block the event loop when called in an ``async def``.
BLOCKING_CALLS = (
    "time.sleep", "requests.", "urllib.request.urlopen", "urllib3.", "http.client.", "sqlite3.connect",
    "builtins.open", "io.open", "os.system", "os.popen", "subprocess.run", "subprocess.call",
    "subprocess.check_call", "subprocess.check_output", "subprocess.Popen", "socket.create_connection",
    "sqlalchemy.create_engine", "sqlalchemy.orm.Session", "shutil.copy", "shutil.copyfile",
    "shutil.copytree", "shutil.rmtree", "shutil.move", "os.walk", "os.listdir", "os.scandir", "glob.glob",
)  # fmt: skip
# Methods that are blocking whatever object they are called on (file I/O on paths).
BLOCKING_METHODS = frozenset(
    {"read_text", "write_text", "read_bytes", "write_bytes", "iterdir", "rglob", "mkdir", "unlink"}
)
# Sync SQLAlchemy: these methods on a receiver whose name looks like an engine, connection or session.
SQL_RECEIVERS = re.compile(r"(^|_)(engine|conn|connection|session|db)$", re.IGNORECASE)
SQL_METHODS = frozenset(
    {"connect", "begin", "execute", "scalar", "scalars", "commit", "rollback", "dispose", "raw_connection"}
)

CHECKS = (
    "manifest",
    "translations",
    "services",
    "icons",
    "blocking",
    "traps",
    "quality_scale",
    "brand",
    "current_ha",
)


@dataclass(frozen=True)
class Finding:
    """One problem, in one file."""

    check: str
    path: str
    message: str

    def __str__(self) -> str:
        """Format the finding for the terminal."""
        return f"[{self.check}] {self.path}: {self.message}"


@dataclass
class Report:
    """What every check found, and what it could not see."""

    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, check: str, path: Path | str, message: str) -> None:
        """Record a finding."""
        self.findings.append(Finding(check, str(path), message))

    def of(self, check: str) -> list[Finding]:
        """Return the findings of one check."""
        return [finding for finding in self.findings if finding.check == check]


# ---- reading the integration --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def parse_tolerantly(source: str, filename: str = "<source>") -> ast.Module | None:
    """Parse Python source, accepting Python 3.14's unparenthesised ``except A, B:``.

    Returns None if the source still does not parse after rewriting those clauses. The trees are cached
    by source text and must not be modified.
    """
    try:
        return ast.parse(source, filename)
    except SyntaxError:
        pass
    rewritten = re.sub(
        r"^(\s*except\*?\s+)([^():\n]+?,[^():\n]+?)(\s+as\s+\w+)?\s*:",
        r"\1(\2)\3:",
        source,
        flags=re.MULTILINE,
    )
    try:
        return ast.parse(rewritten, filename)
    except SyntaxError:
        return None


def dotted(node: ast.expr) -> str | None:
    """Return ``a.b.c`` for a Name/Attribute chain, or None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def call_name(node: ast.Call) -> str | None:
    """Return the last part of the called name (``async_abort`` for ``self.async_abort(...)``)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def keyword(node: ast.Call, name: str) -> ast.expr | None:
    """Return the value of a keyword argument."""
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


@dataclass
class Module:
    """One parsed module of the integration."""

    path: Path
    rel: str  # path relative to the integration, e.g. "sensor.py" or "store/engine.py"
    tree: ast.Module
    aliases: dict[str, str]  # local name -> qualified name ("dt_util" -> "homeassistant.util.dt")

    @property
    def stem(self) -> str:
        """Return the module's name without the package (``sensor``)."""
        return self.path.stem


class Integration:
    """The integration's files, parsed once."""

    def __init__(self, repo: Path) -> None:
        """Find and parse the integration under ``repo/custom_components``."""
        self.repo = repo
        candidates = sorted(p.parent for p in (repo / DOMAIN_DIR).glob("*/manifest.json"))
        if len(candidates) != 1:
            raise SystemExit(
                f"expected exactly one integration with a manifest.json under {repo / DOMAIN_DIR}"
            )
        self.path = candidates[0]
        self.domain = self.path.name
        self.modules: dict[str, Module] = {}
        self.unparsable: list[str] = []
        for file in sorted(self.path.rglob("*.py")):
            if "__pycache__" in file.parts:
                continue
            rel = file.relative_to(self.path).as_posix()
            tree = parse_tolerantly(file.read_text(encoding="utf-8"), rel)
            if tree is None:
                self.unparsable.append(rel)
                continue
            self.modules[rel] = Module(file, rel, tree, _aliases(tree, rel, self.domain))
        self.constants = self._constants()

    def rel(self, path: Path) -> str:
        """Return a path relative to the repository, for messages."""
        try:
            return path.relative_to(self.repo).as_posix()
        except ValueError:
            return str(path)

    def module(self, rel: str) -> Module | None:
        """Return a parsed module by its path relative to the integration."""
        return self.modules.get(rel)

    def top_modules(self) -> Iterator[Module]:
        """Yield the modules directly in the integration's folder."""
        for rel, module in self.modules.items():
            if "/" not in rel:
                yield module

    def platform_modules(self) -> Iterator[Module]:
        """Yield the entity platform modules (``sensor.py``, ``binary_sensor.py``, ...)."""
        for module in self.top_modules():
            if module.stem in PLATFORMS:
                yield module

    def _constants(self) -> dict[str, Any]:
        """Collect module-level constants (strings and lists of strings) of every module, by name.

        A name defined with different values in two modules is dropped (ambiguous).
        """
        found: dict[str, Any] = {}
        ambiguous: set[str] = set()
        # Twice, so that a module's constant made of another module's constants resolves whatever the order.
        for module in [*self.modules.values(), *self.modules.values()]:
            for stmt in module.tree.body:
                target: ast.expr | None = None
                value: ast.expr | None = None
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target, value = stmt.targets[0], stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    target, value = stmt.target, stmt.value
                if not isinstance(target, ast.Name) or value is None:
                    continue
                literal = self._literal(value, found)
                if literal is None:
                    continue
                if target.id in found and found[target.id] != literal:
                    ambiguous.add(target.id)
                found[target.id] = literal
        for name in ambiguous:
            found.pop(name, None)
        return found

    @staticmethod
    def _literal(value: ast.expr, known: dict[str, Any]) -> Any:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.Name) and isinstance(known.get(value.id), str):
            return known[value.id]
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            items = [Integration._literal(element, known) for element in value.elts]
            if items and all(isinstance(item, str) for item in items):
                return items
        return None

    def string(self, node: ast.expr | None) -> str | None:
        """Resolve an expression to a string: a literal, a module constant, or an HA ``CONF_*`` constant."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            value = self.constants.get(node.id)
            if isinstance(value, str):
                return value
            # homeassistant.const's CONF_* constants are their names in lower case (CONF_NAME = "name").
            if node.id.startswith("CONF_"):
                return node.id.removeprefix("CONF_").lower()
        return None

    def strings(self, node: ast.expr | None) -> list[str] | None:
        """Resolve an expression to a list of strings (a literal list or a module constant)."""
        if node is None:
            return None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.string(element) for element in node.elts]
            return [item for item in items if item is not None] if all(items) else None
        if isinstance(node, ast.Name) and isinstance(self.constants.get(node.id), list):
            return list(self.constants[node.id])
        if isinstance(node, ast.Dict):
            keys = [self.string(key) if key is not None else None for key in node.keys]
            return [key for key in keys if key is not None] if all(keys) else None
        return None

    def load_json(self, name: str, report: Report, check: str) -> Any:
        """Load a JSON file of the integration, reporting it if malformed; None if absent or broken."""
        path = self.path / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            report.add(check, self.rel(path), f"is not valid JSON: {err}")
            return None


def _aliases(tree: ast.Module, rel: str, domain: str) -> dict[str, str]:
    """Map every imported local name of a module to its qualified name."""
    package_parts = [DOMAIN_DIR, domain, *rel.split("/")[:-1]]
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.asname:
                    aliases[name.asname] = name.name
                else:
                    top = name.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for name in node.names:
                aliases[name.asname or name.name] = f"{module}.{name.name}"
    return aliases


def qualified(module: Module, node: ast.expr) -> str | None:
    """Return the qualified dotted name of an expression, following the module's imports."""
    name = dotted(node)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    base = module.aliases.get(head)
    if base is None:
        return f"builtins.{name}" if head in {"open", "input", "print"} and not rest else name
    return f"{base}.{rest}" if rest else base


def walk_calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Yield every call in a tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def classes(tree: ast.Module) -> Iterator[ast.ClassDef]:
    """Yield every class definition of a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            yield node


def base_names(cls: ast.ClassDef) -> list[str]:
    """Return the last parts of a class's base names (``ConfigFlow`` for ``config_entries.ConfigFlow``)."""
    names: list[str] = []
    for base in cls.bases:
        expr = base.value if isinstance(base, ast.Subscript) else base
        if (name := dotted(expr)) is not None:
            names.append(name.rsplit(".", 1)[-1])
    return names


def methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Return a class's methods by name."""
    return {node.name: node for node in cls.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


# ---- 1. manifest.json and hacs.json -------------------------------------------------------------------------

_VERSION = re.compile(
    r"^v?(\d+)(\.\d+)*"  # calver, semver, simplever, buildver
    r"([-.]?(a|b|rc|alpha|beta|dev|post)\.?\d*)*"  # pre/post/dev releases
    r"(\+[0-9A-Za-z.-]+)?$",  # local version / build metadata
)


def valid_version(value: object) -> bool:
    """Return whether a version string is one HA accepts (calver, semver, simple, build or PEP 440)."""
    return isinstance(value, str) and bool(_VERSION.match(value))


def valid_url(value: object) -> bool:
    """Return whether a value is an absolute http(s) URL with a host."""
    return isinstance(value, str) and bool(
        re.match(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/\S*)?$", value)
    )


def referenced_components(integration: Integration) -> dict[str, str]:
    """Return the HA integrations the code imports from (``homeassistant.components.X``), with a file each."""
    found: dict[str, str] = {}

    def add(component: str, rel: str) -> None:
        found.setdefault(component, rel)

    for module in integration.modules.values():
        skip: set[int] = set()
        for node in ast.walk(module.tree):
            # Imports under ``if TYPE_CHECKING:`` load nothing at run time.
            if isinstance(node, ast.If) and dotted(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
                skip.update(id(child) for child in ast.walk(node))
        for node in ast.walk(module.tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                parts = node.module.split(".")
                if parts[:2] == ["homeassistant", "components"]:
                    if len(parts) > 2:
                        add(parts[2], module.rel)
                    else:
                        for name in node.names:
                            add(name.name, module.rel)
            elif isinstance(node, ast.Import):
                for name in node.names:
                    parts = name.name.split(".")
                    if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                        add(parts[2], module.rel)
    return found


def check_manifest(integration: Integration, report: Report) -> None:
    """Check manifest.json against hassfest's rules for custom integrations, and hacs.json against HACS's."""
    check = "manifest"
    path = integration.path / "manifest.json"
    rel = integration.rel(path)
    manifest = integration.load_json("manifest.json", report, check)
    if not isinstance(manifest, dict):
        if manifest is not None:
            report.add(check, rel, "must be a JSON object")
        elif path.is_file() is False:
            report.add(check, rel, "is missing")
        manifest = None
    if manifest is not None:
        _check_manifest_keys(integration, manifest, rel, report)
    _check_hacs(integration, report)


def _check_manifest_keys(
    integration: Integration, manifest: dict[str, Any], rel: str, report: Report
) -> None:
    check = "manifest"
    for key in ("domain", "name", "codeowners", "documentation", "iot_class", "integration_type", "version"):
        if key not in manifest:
            report.add(check, rel, f"required key '{key}' is missing")
    for key in sorted(set(manifest) - MANIFEST_KEYS):
        report.add(check, rel, f"unknown key '{key}'")
    keys = list(manifest)
    expected: list[str] = [key for key in ("domain", "name") if key in manifest]
    expected += sorted(key for key in keys if key not in {"domain", "name"})
    if keys != expected:
        report.add(
            check, rel, f"keys must be ordered domain, name, then alphabetically: {', '.join(expected)}"
        )
    if manifest.get("domain", integration.domain) != integration.domain:
        report.add(
            check, rel, f"domain '{manifest.get('domain')}' does not match the folder '{integration.domain}'"
        )
    if "name" in manifest and (not isinstance(manifest["name"], str) or not manifest["name"].strip()):
        report.add(check, rel, "name must be a non-empty string")
    if "version" in manifest and not valid_version(manifest["version"]):
        report.add(check, rel, f"version {manifest['version']!r} is not a valid version (e.g. 1.2.3)")
    for key in ("documentation", "issue_tracker"):
        if key in manifest and not valid_url(manifest[key]):
            report.add(check, rel, f"{key} {manifest[key]!r} is not a valid http(s) URL")
    if isinstance(manifest.get("documentation"), str) and not manifest["documentation"].startswith(
        "https://"
    ):
        report.add(check, rel, "documentation must be an https URL")
    codeowners = manifest.get("codeowners")
    if "codeowners" in manifest and (
        not isinstance(codeowners, list)
        or not codeowners
        or not all(
            isinstance(owner, str) and re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", owner) for owner in codeowners
        )
    ):
        report.add(check, rel, "codeowners must be a non-empty list of GitHub @users or @org/teams")
    if "iot_class" in manifest and manifest["iot_class"] not in IOT_CLASSES:
        report.add(
            check, rel, f"iot_class {manifest['iot_class']!r} is not one of {', '.join(sorted(IOT_CLASSES))}"
        )
    if "integration_type" in manifest and manifest["integration_type"] not in INTEGRATION_TYPES:
        report.add(
            check,
            rel,
            f"integration_type {manifest['integration_type']!r} is not one of {', '.join(sorted(INTEGRATION_TYPES))}",
        )
    if "quality_scale" in manifest and manifest["quality_scale"] not in MANIFEST_QUALITY_SCALES:
        report.add(
            check, rel, f"quality_scale {manifest['quality_scale']!r} is not one of {MANIFEST_QUALITY_SCALES}"
        )
    for key in ("requirements", "dependencies", "after_dependencies", "loggers", "codeowners"):
        if key in manifest and not (
            isinstance(manifest[key], list) and all(isinstance(item, str) for item in manifest[key])
        ):
            report.add(check, rel, f"{key} must be a list of strings")
    for requirement in (
        manifest.get("requirements", []) if isinstance(manifest.get("requirements"), list) else []
    ):
        if isinstance(requirement, str) and not re.match(
            r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[\w,]+\])?\s*[<>=!~]", requirement
        ):
            report.add(check, rel, f"requirement {requirement!r} must pin a version (name==x or name>=x)")

    has_flow = (integration.path / "config_flow.py").is_file()
    if bool(manifest.get("config_flow", False)) != has_flow:
        report.add(
            check,
            rel,
            "config_flow must be true exactly when config_flow.py exists "
            f"(config_flow={manifest.get('config_flow', False)}, config_flow.py {'exists' if has_flow else 'is absent'})",
        )

    deps = manifest.get("dependencies", []) if isinstance(manifest.get("dependencies"), list) else []
    after = (
        manifest.get("after_dependencies", []) if isinstance(manifest.get("after_dependencies"), list) else []
    )
    for dep in sorted(set(deps) & set(after)):
        report.add(check, rel, f"'{dep}' is in both dependencies and after_dependencies")
    allowed = ALWAYS_AVAILABLE | set(deps) | set(after) | {integration.domain}
    for component, used_in in sorted(referenced_components(integration).items()):
        # A platform this integration provides for another integration (diagnostics.py, repairs.py) is fine.
        if component in allowed or (integration.path / f"{component}.py").is_file():
            continue
        if (integration.path / component).is_dir():
            continue
        report.add(
            check,
            rel,
            f"the code imports homeassistant.components.{component} ({used_in}) but '{component}' is in "
            "neither dependencies nor after_dependencies",
        )


def _check_hacs(integration: Integration, report: Report) -> None:
    check = "manifest"
    path = integration.repo / "hacs.json"
    rel = integration.rel(path)
    if not path.is_file():
        report.add(check, rel, "is missing (HACS needs it at the repository root)")
        return
    try:
        hacs = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        report.add(check, rel, f"is not valid JSON: {err}")
        return
    if not isinstance(hacs, dict):
        report.add(check, rel, "must be a JSON object")
        return
    if not isinstance(hacs.get("name"), str) or not hacs["name"].strip():
        report.add(check, rel, "'name' is required (a non-empty string)")
    for key in sorted(set(hacs) - HACS_KEYS):
        report.add(check, rel, f"unknown key '{key}' (HACS accepts {', '.join(sorted(HACS_KEYS))})")
    for key in HACS_BOOL_KEYS:
        if key in hacs and not isinstance(hacs[key], bool):
            report.add(check, rel, f"'{key}' must be true or false")
    minimum = hacs.get("homeassistant")
    if minimum is None:
        report.add(check, rel, "'homeassistant' (the minimum Home Assistant version) is required")
    elif not isinstance(minimum, str) or not re.fullmatch(r"20\d\d\.\d{1,2}\.\d+(b\d+)?", minimum):
        report.add(check, rel, f"'homeassistant' {minimum!r} must be a Home Assistant version like 2025.4.0")


# ---- 2. translations ----------------------------------------------------------------------------------------


@dataclass
class Strings:
    """The translation keys the code uses, as dotted paths into en.json, each with where it was seen."""

    required: dict[str, str] = field(default_factory=dict)
    entity_keys: dict[str, set[str]] = field(default_factory=dict)  # platform -> translation keys

    def need(self, key: str, where: str) -> None:
        """Record a key the code uses."""
        self.required.setdefault(key, where)


def _flow_kind(cls: ast.ClassDef) -> str | None:
    bases = base_names(cls)
    if any(name.endswith("OptionsFlow") or name == "OptionsFlowWithReload" for name in bases):
        return "options"
    if any(name == "ConfigFlow" or name.endswith("ConfigFlow") for name in bases):
        return "config"
    if any(name.endswith("SubentryFlow") for name in bases):
        return "config_subentries"
    if any(name == "RepairsFlow" for name in bases):
        return "issues"
    return None


def _schema_keys(
    integration: Integration, module: Module, node: ast.expr | None, depth: int = 0
) -> list[str] | None:
    """Return the field keys of a voluptuous schema expression, or None if they cannot be seen."""
    if node is None or depth > 4:
        return None
    if isinstance(node, ast.Name):
        for stmt in module.tree.body:
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            value = getattr(stmt, "value", None)
            if any(isinstance(t, ast.Name) and t.id == node.id for t in targets) and value is not None:
                return _schema_keys(integration, module, value, depth + 1)
        return None
    if isinstance(node, ast.Call):
        name = call_name(node)
        if name in {"Schema"} and node.args:
            return _schema_keys(integration, module, node.args[0], depth + 1)
        if name == "add_suggested_values_to_schema" and node.args:
            return _schema_keys(integration, module, node.args[0], depth + 1)
        if name in {"extend"} and isinstance(node.func, ast.Attribute):
            first = _schema_keys(integration, module, node.func.value, depth + 1)
            second = _schema_keys(integration, module, node.args[0], depth + 1) if node.args else []
            return None if first is None or second is None else first + second
        return None
    if isinstance(node, ast.Dict):
        keys: list[str] = []
        for key in node.keys:
            if isinstance(key, ast.Call) and call_name(key) in {
                "Required",
                "Optional",
                "Exclusive",
                "Inclusive",
            }:
                value = integration.string(key.args[0] if key.args else None)
            else:
                value = integration.string(key)
            if value is None:
                return None
            keys.append(value)
        return keys
    return None


def _collect_flow_strings(integration: Integration, report: Report, strings: Strings) -> None:
    for module in integration.top_modules():
        for cls in classes(module.tree):
            kind = _flow_kind(cls)
            if kind is None:
                continue
            steps = {
                name.removeprefix("async_step_") for name in methods(cls) if name.startswith("async_step_")
            }
            for name, method in methods(cls).items():
                where = f"{module.rel}:{method.lineno} {cls.name}.{name}"
                step = name.removeprefix("async_step_") if name.startswith("async_step_") else None
                for call in walk_calls(method):
                    _flow_call(
                        integration,
                        module,
                        report,
                        strings,
                        call,
                        kind=kind,
                        step=step,
                        where=where,
                        steps=steps,
                    )
                for node in ast.walk(method):
                    _flow_errors(integration, report, strings, node, kind=kind, where=where)


def _flow_call(
    integration: Integration,
    module: Module,
    report: Report,
    strings: Strings,
    call: ast.Call,
    *,
    kind: str,
    step: str | None,
    where: str,
    steps: set[str],
) -> None:
    name = call_name(call)
    if name in {"async_show_form", "async_show_menu", "async_show_progress", "async_external_step"}:
        step_node = keyword(call, "step_id")
        step_id = integration.string(step_node) if step_node is not None else step
        if step_id is None:
            report.notes.append(f"{where}: a step id that is not a literal; its strings were not checked")
            return
        prefix = f"{kind}.step.{step_id}"
        if name == "async_show_progress":
            return
        strings.need(f"{prefix}.title", where) if kind != "options" else strings.need(prefix, where)
        if name == "async_show_menu":
            options = integration.strings(keyword(call, "menu_options"))
            if options is None:
                report.notes.append(f"{where}: menu options that are not literals were not checked")
            for option in options or []:
                strings.need(f"{prefix}.menu_options.{option}", where)
        else:
            schema = keyword(call, "data_schema")
            if schema is not None and not (isinstance(schema, ast.Constant) and schema.value is None):
                fields = _schema_keys(integration, module, schema)
                if fields is None:
                    report.notes.append(f"{where}: a data schema whose keys are not literals was not checked")
                for key in fields or []:
                    strings.need(f"{prefix}.data.{key}", where)
        return
    if name in {"async_abort", "async_update_reload_and_abort", "async_update_and_abort"}:
        reason_node = keyword(call, "reason")
        if name == "async_abort" and reason_node is None and call.args:
            reason_node = call.args[0]
        if reason_node is None and name != "async_abort":
            # HA picks the default reason by the flow's source; outside a reauth/reconfigure step, either.
            if step and step.startswith(("reauth", "reconfigure")):
                defaults = ["reauth_successful" if step.startswith("reauth") else "reconfigure_successful"]
            else:
                defaults = [f"{source}_successful" for source in ("reauth", "reconfigure") if source in steps]
            for default in defaults:
                strings.need(f"{kind}.abort.{default}", where)
            return
        reason = integration.string(reason_node)
        if reason is None:
            report.notes.append(f"{where}: an abort reason that is not a literal was not checked")
            return
        strings.need(f"{kind}.abort.{reason}", where)
    elif name in {"_abort_if_unique_id_configured", "_async_abort_entries_match"}:
        strings.need(f"{kind}.abort.already_configured", where)
    elif name == "_abort_if_unique_id_mismatch":
        reason = integration.string(keyword(call, "reason")) or "unique_id_mismatch"
        strings.need(f"{kind}.abort.{reason}", where)


def _flow_errors(
    integration: Integration, report: Report, strings: Strings, node: ast.AST, *, kind: str, where: str
) -> None:
    # errors["base"] = "cannot_connect"
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Subscript) and dotted(target.value) in {"errors", "self._errors"}:
                value = integration.string(node.value)
                if value is None:
                    report.notes.append(f"{where}: an error key that is not a literal was not checked")
                else:
                    strings.need(f"{kind}.error.{value}", where)
            if isinstance(target, ast.Name) and target.id == "errors" and isinstance(node.value, ast.Dict):
                for value_node in node.value.values:
                    if (value := integration.string(value_node)) is not None:
                        strings.need(f"{kind}.error.{value}", where)


def _collect_entity_strings(integration: Integration, report: Report, strings: Strings) -> None:
    for module in integration.platform_modules():
        keys = strings.entity_keys.setdefault(module.stem, set())
        # Helper functions that pass one of their parameters on as translation_key: map parameter -> index.
        helpers: dict[str, tuple[int, str]] = {}
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = [arg.arg for arg in node.args.args]
                for call in walk_calls(node):
                    value = keyword(call, "translation_key")
                    if isinstance(value, ast.Name) and value.id in params:
                        helpers[node.name] = (params.index(value.id), value.id)
        for node in ast.walk(module.tree):
            where = f"{module.rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                value = keyword(node, "translation_key")
                if value is not None and keyword(node, "translation_domain") is None:
                    text = integration.string(value)
                    if text is not None:
                        keys.add(text)
                    elif not (
                        isinstance(value, ast.Name)
                        and call_name(node)
                        and _inside_helper(module, node, helpers)
                    ):
                        report.notes.append(
                            f"{where}: an entity translation_key that is not a literal was not checked"
                        )
                name = call_name(node)
                if name in helpers:
                    index, param = helpers[name]
                    arg = node.args[index] if index < len(node.args) else keyword(node, param)
                    text = integration.string(arg)
                    if text is None:
                        report.notes.append(
                            f"{where}: an entity translation_key that is not a literal was not checked"
                        )
                    else:
                        keys.add(text)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(dotted(t) in {"_attr_translation_key", "self._attr_translation_key"} for t in targets):
                    text = integration.string(node.value)
                    if text is not None:
                        keys.add(text)
                    elif node.value is not None and not (
                        isinstance(node.value, ast.Constant) and node.value.value is None
                    ):
                        report.notes.append(
                            f"{where}: an _attr_translation_key that is not a literal was not checked"
                        )
        for key in keys:
            strings.need(f"entity.{module.stem}.{key}.name", module.rel)


def _inside_helper(module: Module, call: ast.Call, helpers: dict[str, tuple[int, str]]) -> bool:
    for node in ast.walk(module.tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.name in helpers
            and any(child is call for child in ast.walk(node))
        ):
            return True
    return False


def _collect_other_strings(integration: Integration, report: Report, strings: Strings) -> None:
    for module in integration.modules.values():
        for call in walk_calls(module.tree):
            where = f"{module.rel}:{call.lineno}"
            name = call_name(call)
            key_node = keyword(call, "translation_key")
            if name in {"async_create_issue", "create_issue"}:
                if key_node is None:
                    continue
                key = integration.string(key_node)
                if key is None:
                    report.notes.append(
                        f"{where}: a repair issue translation_key that is not a literal was not checked"
                    )
                else:
                    strings.need(f"issues.{key}.title", where)
                continue
            if key_node is None:
                continue
            if keyword(call, "translation_domain") is not None or name in HA_EXCEPTIONS:
                key = integration.string(key_node)
                if key is None:
                    report.notes.append(
                        f"{where}: an exception translation_key that is not a literal was not checked"
                    )
                else:
                    strings.need(f"exceptions.{key}.message", where)


def services_yaml(integration: Integration, report: Report | None = None) -> dict[str, Any] | None:
    """Load services.yaml (None if absent; malformed files are reported to ``report``)."""
    path = integration.path / "services.yaml"
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        if report is not None:
            report.add("services", integration.rel(path), f"is not valid YAML: {err}")
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        if report is not None:
            report.add("services", integration.rel(path), "must be a mapping of service names")
        return None
    return data


def _service_fields(service: Any) -> dict[str, Any]:
    """Return a service's fields, flattening sections (a field with its own ``fields``)."""
    fields: dict[str, Any] = {}
    if not isinstance(service, dict) or not isinstance(service.get("fields"), dict):
        return fields
    for name, spec in service["fields"].items():
        if isinstance(spec, dict) and isinstance(spec.get("fields"), dict) and "selector" not in spec:
            fields.update(spec["fields"])
        else:
            fields[name] = spec
    return fields


def _walk_strings(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk_strings(value, f"{path}.{key}" if path else str(key))
    else:
        yield path, data


def _lookup(data: Any, dotted_key: str) -> Any:
    node = data
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def code_strings(integration: Integration, report: Report) -> Strings:
    """Collect every translation key the integration's code uses."""
    strings = Strings()
    _collect_flow_strings(integration, report, strings)
    _collect_entity_strings(integration, report, strings)
    _collect_other_strings(integration, report, strings)
    services = services_yaml(integration) or {}
    for service, spec in services.items():
        strings.need(f"services.{service}.name", "services.yaml")
        strings.need(f"services.{service}.description", "services.yaml")
        for field_name in _service_fields(spec):
            strings.need(f"services.{service}.fields.{field_name}.name", "services.yaml")
    return strings


def check_translations(integration: Integration, report: Report) -> None:
    """Check that en.json is valid, has no references, and holds every string the code uses."""
    check = "translations"
    path = integration.path / "translations" / "en.json"
    rel = integration.rel(path)
    if not path.is_file():
        report.add(check, rel, "is missing")
        return
    data = integration.load_json("translations/en.json", report, check)
    if data is None:
        return
    if not isinstance(data, dict):
        report.add(check, rel, "must be a JSON object")
        return
    for key, value in _walk_strings(data):
        if not isinstance(value, str):
            report.add(check, rel, f"{key}: every value must be a string, found {type(value).__name__}")
        elif "[%key:" in value:
            report.add(
                check,
                rel,
                f"{key}: uses a [%key:...] reference, which HA does not resolve for custom integrations",
            )
        elif not value.strip():
            report.add(check, rel, f"{key}: is empty")
    strings = code_strings(integration, report)
    for key, where in sorted(strings.required.items()):
        value = _lookup(data, key)
        if key.startswith("issues.") and key.split(".")[1] in ("step", "abort", "error"):
            # A repair flow's strings live under the issue it fixes: issues.<issue>.fix_flow.<rest>.
            issues = data.get("issues")
            rest = key.removeprefix("issues.")
            found = [_lookup(issue, f"fix_flow.{rest}") for issue in (issues or {}).values()]
            value = next((v for v in found if isinstance(v, str)), value)
        # A step may have no title when it has a description; an options step only needs to exist.
        if key.endswith(".title") and ".step." in key:
            step = _lookup(data, key.removesuffix(".title"))
            if isinstance(step, dict) and step:
                continue
        if key.startswith("options.step.") and key.count(".") == 2 and isinstance(value, dict):
            continue
        if not isinstance(value, str):
            report.add(check, rel, f"lacks '{key}' (used at {where})")


# ---- 3. services --------------------------------------------------------------------------------------------


def _enclosing_function(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """Return the top-level function whose body holds ``line``."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (
            node.end_lineno or node.lineno
        ):
            return node
    return None


def registered_services(integration: Integration, report: Report) -> dict[str, str]:
    """Return the services the code registers, with where each is registered."""
    found: dict[str, str] = {}
    for module in integration.modules.values():
        for call in walk_calls(module.tree):
            name = call_name(call)
            where = f"{module.rel}:{call.lineno}"
            service_node: ast.expr | None = None
            if name in {"async_register", "register"} and isinstance(call.func, ast.Attribute):
                receiver = dotted(call.func.value) or ""
                if receiver.endswith("services") and len(call.args) >= 2:
                    service_node = call.args[1]
                else:
                    continue
            elif name in {"async_register_admin_service", "async_register_platform_entity_service"}:
                service_node = call.args[2] if len(call.args) >= 3 else keyword(call, "service")
            elif name == "async_register_entity_service":
                service_node = call.args[0] if call.args else keyword(call, "name")
            else:
                continue
            service = integration.string(service_node)
            if service is None:
                report.notes.append(
                    f"{where}: a service registered under a name that is not a literal was not checked"
                )
                continue
            found[service] = where
    return found


def check_services(integration: Integration, report: Report) -> None:
    """Check services.yaml against the registered services, in both directions, and field selectors."""
    check = "services"
    path = integration.path / "services.yaml"
    rel = integration.rel(path)
    declared = services_yaml(integration, report)
    registered = registered_services(integration, report)
    if declared is None and not path.is_file():
        declared = {}
    if declared is None:
        return
    for service, where in sorted(registered.items()):
        if service not in declared:
            report.add(check, rel, f"service '{service}' is registered ({where}) but not described here")
    for service, spec in declared.items():
        if service not in registered:
            report.add(check, rel, f"service '{service}' is described but never registered")
        if spec is not None and not isinstance(spec, dict):
            report.add(check, rel, f"service '{service}' must be a mapping")
            continue
        for field_name, field_spec in _service_fields(spec).items():
            if not isinstance(field_spec, dict) or "selector" not in field_spec:
                report.add(check, rel, f"field '{service}.{field_name}' has no selector")


# ---- 4. icons -----------------------------------------------------------------------------------------------


def check_icons(integration: Integration, report: Report) -> None:
    """Check icons.json: valid, and naming only entity keys and services that exist."""
    check = "icons"
    path = integration.path / "icons.json"
    rel = integration.rel(path)
    if not path.is_file():
        return
    data = integration.load_json("icons.json", report, check)
    if data is None:
        return
    if not isinstance(data, dict):
        report.add(check, rel, "must be a JSON object")
        return
    for key in sorted(set(data) - {"entity", "services", "entity_component", "issues"}):
        report.add(check, rel, f"unknown top-level key '{key}'")
    strings = Strings()
    _collect_entity_strings(integration, Report(), strings)
    entity = data.get("entity", {})
    if not isinstance(entity, dict):
        report.add(check, rel, "'entity' must be an object")
        entity = {}
    for platform, keys in entity.items():
        known = strings.entity_keys.get(platform)
        if known is None:
            report.add(check, rel, f"entity.{platform}: the integration has no {platform} platform")
            continue
        if not isinstance(keys, dict):
            report.add(check, rel, f"entity.{platform} must be an object")
            continue
        for key, spec in keys.items():
            if key not in known:
                report.add(
                    check, rel, f"entity.{platform}.{key}: no {platform} entity has translation_key '{key}'"
                )
            if not isinstance(spec, dict) or not ({"default", "state", "range"} & set(spec)):
                report.add(
                    check, rel, f"entity.{platform}.{key} needs 'default' (and optional 'state'/'range')"
                )
                continue
            for icon_path, icon in _walk_strings(spec):
                if not isinstance(icon, str) or not re.fullmatch(r"mdi:[a-z0-9-]+", icon):
                    report.add(
                        check, rel, f"entity.{platform}.{key}.{icon_path}: {icon!r} is not an mdi: icon"
                    )
    services = data.get("services", {})
    existing = set(services_yaml(integration) or {}) | set(registered_services(integration, Report()))
    if isinstance(services, dict):
        for service in services:
            if service not in existing:
                report.add(check, rel, f"services.{service}: no such service")
    else:
        report.add(check, rel, "'services' must be an object")


# ---- 5. blocking calls in async code ------------------------------------------------------------------------


def _direct_nodes(function: ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Yield the nodes of a coroutine's body, not descending into nested functions, lambdas or classes."""
    nested = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    stack: list[ast.AST] = [stmt for stmt in function.body if not isinstance(stmt, nested)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, nested))


def check_blocking(integration: Integration, report: Report) -> None:
    """Find blocking calls made directly in an ``async def`` (not in nested sync functions it hands off)."""
    check = "blocking"
    for module in integration.modules.values():
        # A command-line entry point (store/cli.py) runs its own event loop with asyncio.run(), outside HA.
        if any(qualified(module, call.func) == "asyncio.run" for call in walk_calls(module.tree)):
            report.notes.append(
                f"blocking: {module.rel} runs its own event loop (asyncio.run), outside HA: skipped"
            )
            continue
        for function in ast.walk(module.tree):
            if not isinstance(function, ast.AsyncFunctionDef):
                continue
            awaited = {id(node.value) for node in _direct_nodes(function) if isinstance(node, ast.Await)}
            for node in _direct_nodes(function):
                if not isinstance(node, ast.Call) or id(node) in awaited:
                    continue
                problem = _blocking(module, node)
                if problem:
                    report.add(
                        check,
                        integration.rel(module.path),
                        f"line {node.lineno}: {problem} inside 'async def {function.name}' blocks the event loop; "
                        "run it in an executor or the store's worker",
                    )


def _blocking(module: Module, call: ast.Call) -> str | None:
    name = qualified(module, call.func)
    if name is not None:
        for pattern in BLOCKING_CALLS:
            if name == pattern or (pattern.endswith(".") and name.startswith(pattern)):
                return f"{name.removeprefix('builtins.')}()"
    if isinstance(call.func, ast.Attribute):
        method = call.func.attr
        receiver = dotted(call.func.value) or ""
        last = receiver.rsplit(".", 1)[-1]
        if method in BLOCKING_METHODS and receiver and not receiver.startswith("hass"):
            return f"{receiver}.{method}() (file I/O)"
        if method in SQL_METHODS and SQL_RECEIVERS.search(last):
            return f"{receiver}.{method}() (sync database I/O)"
        if method == "open" and re.search(r"(path|file)$", last, re.IGNORECASE):
            return f"{receiver}.open() (file I/O)"
    return None


# ---- 6a. current-HA traps (from spec/ARCHITECTURE.md) -------------------------------------------------------


def check_traps(integration: Integration, report: Report) -> None:
    """Check the known differences between the HA we test on and current HA."""
    check = "traps"
    for module in integration.modules.values():
        rel = integration.rel(module.path)
        for node in ast.walk(module.tree):
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Call):
                if keyword(node, "via_device") is not None:
                    report.add(
                        check, rel, f"line {line}: DeviceInfo(via_device=...) is deprecated in current HA"
                    )
                name = call_name(node)
                if name == "async_forward_entry_setup":
                    report.add(
                        check,
                        rel,
                        f"line {line}: async_forward_entry_setup was removed; use async_forward_entry_setups",
                    )
                if qualified(module, node.func) in {
                    "asyncio.get_event_loop",
                    "asyncio.events.get_event_loop",
                }:
                    report.add(
                        check,
                        rel,
                        f"line {line}: asyncio.get_event_loop() fails on Python 3.14; use get_running_loop()",
                    )
                if name == "DataUpdateCoordinator" and keyword(node, "config_entry") is None:
                    report.add(check, rel, f"line {line}: pass config_entry= to DataUpdateCoordinator")
            elif isinstance(node, ast.Attribute):
                chain = dotted(node) or ""
                if re.search(r"(^|\.)hass\.(helpers|components)(\.|$)", chain) and chain.count(".") <= 3:
                    report.add(check, rel, f"line {line}: {chain} was removed from current HA")
        for cls in classes(module.tree):
            bases = base_names(cls)
            if any(base.endswith("OptionsFlow") or base == "OptionsFlowWithReload" for base in bases):
                for node in ast.walk(cls):
                    targets = (
                        node.targets
                        if isinstance(node, ast.Assign)
                        else [node.target]
                        if isinstance(node, (ast.AnnAssign, ast.AugAssign))
                        else []
                    )
                    if any(dotted(t) == "self.config_entry" for t in targets):
                        report.add(
                            check,
                            rel,
                            f"line {getattr(node, 'lineno', 0)}: an OptionsFlow must not assign self.config_entry "
                            "(read-only in current HA)",
                        )
            if "DataUpdateCoordinator" in bases:
                init = methods(cls).get("__init__")
                for call in walk_calls(init) if init else []:
                    if (
                        isinstance(call.func, ast.Attribute)
                        and call.func.attr == "__init__"
                        and isinstance(call.func.value, ast.Call)
                        and call_name(call.func.value) == "super"
                        and keyword(call, "config_entry") is None
                    ):
                        report.add(
                            check,
                            rel,
                            f"line {call.lineno}: {cls.name} must pass config_entry= to DataUpdateCoordinator",
                        )
        if module.stem in PLATFORMS:
            for node in module.tree.body:
                if isinstance(node, ast.AsyncFunctionDef) and node.name == "async_setup_entry":
                    for arg in node.args.args:
                        if arg.annotation is not None and (dotted(arg.annotation) or "").endswith(
                            "AddEntitiesCallback"
                        ):
                            report.add(
                                check,
                                rel,
                                f"line {node.lineno}: platforms take AddConfigEntryEntitiesCallback, not AddEntitiesCallback",
                            )


# ---- 6b. names used from homeassistant, checked against the newest release ----------------------------------


class HaSource:
    """The source of a ``homeassistant`` package: a wheel (read in place) or a folder holding ``homeassistant/``."""

    def __init__(self, location: Path) -> None:
        """Open a wheel file or a directory."""
        self.location = location
        self._zip = zipfile.ZipFile(location) if location.is_file() else None
        self._names = set(self._zip.namelist()) if self._zip else None
        self._trees: dict[str, ast.Module | None] = {}

    def version(self) -> str:
        """Return the release's version, from homeassistant/const.py."""
        tree = self.tree("homeassistant.const")
        values: dict[str, Any] = {}
        for stmt in tree.body if tree else []:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                if isinstance(target, ast.Name) and isinstance(stmt.value, ast.Constant):
                    values[target.id] = stmt.value.value
        if "MAJOR_VERSION" in values:
            return f"{values['MAJOR_VERSION']}.{values.get('MINOR_VERSION')}.{values.get('PATCH_VERSION')}"
        return "unknown"

    def _read(self, rel: str) -> str | None:
        if self._zip is not None:
            assert self._names is not None
            return self._zip.read(rel).decode("utf-8") if rel in self._names else None
        path = self.location / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def module_file(self, module: str) -> str | None:
        """Return the file of a module (``a/b.py`` or ``a/b/__init__.py``), or None."""
        base = module.replace(".", "/")
        for rel in (f"{base}.py", f"{base}/__init__.py"):
            if self._zip is not None:
                assert self._names is not None
                if rel in self._names:
                    return rel
            elif (self.location / rel).is_file():
                return rel
        return None

    def tree(self, module: str) -> ast.Module | None:
        """Return a module's parsed source, or None if it does not exist or cannot be parsed."""
        if module not in self._trees:
            rel = self.module_file(module)
            source = self._read(rel) if rel else None
            self._trees[module] = parse_tolerantly(source, rel or module) if source is not None else None
        return self._trees[module]


@dataclass
class Definition:
    """What a name is, in the module that defines it."""

    node: ast.AST | None  # the def/class/assignment; None for re-exports and submodules
    deprecated: str | None = None  # why, if deprecated
    submodule: str | None = None  # the qualified module, if the name is a module


def _deprecation_of_call(value: ast.expr | None) -> str | None:
    if isinstance(value, ast.Call):
        name = call_name(value) or ""
        if name.startswith("Deprecated"):
            return f"it is a {name}"
    return None


def _deprecation_of_def(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str | None:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = (dotted(target) or "").rsplit(".", 1)[-1]
        if name.startswith("deprecated"):
            return f"it is decorated with @{name}"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        # An unconditional report_usage() in the body: every call is reported as deprecated usage.
        for stmt in node.body:
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Call)
                and call_name(stmt.value) in {"report_usage", "report"}
            ):
                return "its body always calls frame.report_usage()"
    return None


def lookup(ha: HaSource, module: str, name: str) -> Definition | None:
    """Find ``name`` in ``module`` of the HA source: None if it does not exist there."""
    submodule = f"{module}.{name}"
    tree = ha.tree(module)
    if tree is None:
        return Definition(None, submodule=submodule) if ha.module_file(submodule) else None
    found: Definition | None = None
    for stmt in _top_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
            found = Definition(stmt, _deprecation_of_def(stmt))
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if name in names:
                found = Definition(stmt, _deprecation_of_call(stmt.value))
            elif f"_DEPRECATED_{name}" in names:
                return Definition(stmt, "it only exists as a _DEPRECATED_ constant")
        elif isinstance(stmt, ast.TypeAlias) and isinstance(stmt.name, ast.Name) and stmt.name.id == name:
            found = Definition(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                if (alias.asname or alias.name.split(".")[0]) == name:
                    found = Definition(None)
    if found is not None:
        return found
    if ha.module_file(submodule):
        return Definition(None, submodule=submodule)
    return None


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Yield module-level statements, including those under top-level if/try blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body)
            yield from _top_level(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_level(stmt.body)
            for handler in stmt.handlers:
                yield from _top_level(handler.body)
            yield from _top_level(stmt.orelse)


def _class_member(cls: ast.ClassDef, name: str) -> Definition | bool | None:
    """Find a member of a class body: a Definition, None if surely absent, True if it cannot be told."""
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
            return Definition(stmt, _deprecation_of_def(stmt))
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return Definition(stmt, _deprecation_of_call(stmt.value))
    # Only an enum's members are all in its own body; anything else may inherit the name.
    enum_bases = {"Enum", "StrEnum", "IntEnum", "IntFlag", "Flag"}
    if base_names(cls) and set(base_names(cls)) <= enum_bases:
        return None
    return True


def used_ha_names(integration: Integration) -> dict[str, str]:
    """Return every ``homeassistant`` name the integration uses (``module:name[.attr]``), with a place each."""
    used: dict[str, str] = {}
    for module in integration.modules.values():
        local: dict[str, str] = {}  # local name -> "module:name" or "module" (for modules)
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.ImportFrom)
                and not node.level
                and (node.module or "").split(".")[0] == "homeassistant"
            ):
                assert node.module is not None
                for alias in node.names:
                    ref = f"{node.module}:{alias.name}"
                    used.setdefault(ref, f"{module.rel}:{node.lineno}")
                    local[alias.asname or alias.name] = ref
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "homeassistant":
                        parent, _, last = alias.name.rpartition(".")
                        if parent:
                            used.setdefault(f"{parent}:{last}", f"{module.rel}:{node.lineno}")
                        if alias.asname:
                            local[alias.asname] = f"{parent}:{last}"
        # Attribute chains on imported names: dt_util.utcnow, Platform.SENSOR, config_validation.string.
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in local
            ):
                used.setdefault(f"{local[node.value.id]}.{node.attr}", f"{module.rel}:{node.lineno}")
    return used


def check_current_ha(integration: Integration, report: Report, ha: HaSource) -> None:
    """Check every homeassistant name the integration uses against another HA release's source."""
    check = "current_ha"
    version = ha.version()
    _check_deprecated_keywords(integration, report, ha, version)
    for ref, where in sorted(used_ha_names(integration).items()):
        module, _, path = ref.partition(":")
        name, _, attr = path.partition(".")
        if ha.tree(module) is None and ha.module_file(module) is None:
            report.add(check, where, f"module {module} does not exist in Home Assistant {version}")
            continue
        definition = lookup(ha, module, name)
        if definition is None:
            report.add(check, where, f"{module}.{name} does not exist in Home Assistant {version}")
            continue
        if definition.deprecated and not attr:
            report.add(
                check,
                where,
                f"{module}.{name} is deprecated in Home Assistant {version}: {definition.deprecated}",
            )
            continue
        if not attr:
            continue
        if definition.submodule:
            member = lookup(ha, definition.submodule, attr)
            what = f"{definition.submodule}.{attr}"
        elif isinstance(definition.node, ast.ClassDef):
            found = _class_member(definition.node, attr)
            member = definition if found is True else found  # type: ignore[assignment]
            what = f"{module}.{name}.{attr}"
        else:
            continue
        if member is None:
            report.add(check, where, f"{what} does not exist in Home Assistant {version}")
        elif member is not definition and member.deprecated:
            report.add(check, where, f"{what} is deprecated in Home Assistant {version}: {member.deprecated}")


def deprecated_parameters(ha: HaSource, module: str, name: str) -> set[str]:
    """Return the keyword parameters of ``name`` that ``module`` lists as deprecated.

    Current HA lists them in a module dict named after the class, e.g. ``_DEPRECATED_DEVICE_INFO_PARAMETERS``
    in helpers/device_registry.py (``via_device``, ``default_name``, ...).
    """
    wanted = "_DEPRECATED_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper() + "_PARAMETERS"
    tree = ha.tree(module)
    for stmt in _top_level(tree.body) if tree else []:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
        value = getattr(stmt, "value", None)
        if isinstance(target, ast.Name) and target.id == wanted and isinstance(value, ast.Dict):
            return {
                key.value
                for key in value.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            }
    return set()


def _check_deprecated_keywords(integration: Integration, report: Report, ha: HaSource, version: str) -> None:
    for module in integration.modules.values():
        for call in walk_calls(module.tree):
            name = qualified(module, call.func)
            if not name or not name.startswith("homeassistant."):
                continue
            ha_module, _, attr = name.rpartition(".")
            deprecated = deprecated_parameters(ha, ha_module, attr)
            for kw in call.keywords:
                if kw.arg in deprecated:
                    report.add(
                        "current_ha",
                        f"{module.rel}:{call.lineno}",
                        f"{attr}({kw.arg}=...) is deprecated in Home Assistant {version}",
                    )


def _version_key(path: Path) -> tuple[int, ...]:
    match = re.match(r"homeassistant-(\d+)\.(\d+)\.(\d+)", path.name)
    return tuple(int(part) for part in match.groups()) if match else (0,)


def fetch_newest_ha(cache: Path, offline: bool, report: Report) -> Path | None:
    """Download the newest homeassistant wheel into ``cache``; return the newest wheel there."""
    cache.mkdir(parents=True, exist_ok=True)
    if offline:
        report.notes.append("--offline: the check against the newest Home Assistant release was skipped")
        return None
    # A Python newer than any released one: plain 3.14 would stop at the last release that allowed 3.13.
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.14.99", "--dest", str(cache), "--quiet", "homeassistant",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    wheels = sorted(cache.glob("homeassistant-*.whl"), key=_version_key)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        report.add(
            "current_ha",
            str(cache),
            f"could not download the newest homeassistant wheel ({message[0]}); "
            "check the network, or run with --offline to skip this check",
        )
        return None
    return wheels[-1] if wheels else None


# ---- 7. quality_scale.yaml ----------------------------------------------------------------------------------


def _has_call(integration: Integration, names: set[str], rel: str | None = None) -> bool:
    modules = [integration.module(rel)] if rel else list(integration.modules.values())
    return any(call_name(call) in names for module in modules if module for call in walk_calls(module.tree))


def _flow_steps(integration: Integration) -> set[str]:
    module = integration.module("config_flow.py")
    steps: set[str] = set()
    if module is None:
        return steps
    for cls in classes(module.tree):
        if _flow_kind(cls) == "config":
            steps |= {
                name.removeprefix("async_step_") for name in methods(cls) if name.startswith("async_step_")
            }
    return steps


def _quality_claims(integration: Integration) -> dict[str, Callable[[], str | None]]:
    """Return, per rule, a function telling why a 'done' claim is false (None when the code proves it)."""
    repo = integration.repo
    manifest: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((integration.path / "manifest.json").read_text(encoding="utf-8"))
    pyproject: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    test_script = (
        (repo / "scripts" / "test").read_text(encoding="utf-8")
        if (repo / "scripts" / "test").is_file()
        else ""
    )

    def parallel_updates() -> str | None:
        missing = [
            m.rel
            for m in integration.platform_modules()
            if not any(
                isinstance(s, (ast.Assign, ast.AnnAssign))
                and any(
                    dotted(t) == "PARALLEL_UPDATES"
                    for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
                )
                for s in m.tree.body
            )
        ]
        return f"PARALLEL_UPDATES is not set in {', '.join(missing)}" if missing else None

    def runtime_data() -> str | None:
        typed = any(
            isinstance(node, ast.TypeAlias)
            and (dotted(node.value.value) if isinstance(node.value, ast.Subscript) else "")
            in {"ConfigEntry", "config_entries.ConfigEntry"}
            for m in integration.modules.values()
            for node in ast.walk(m.tree)
        )
        assigned = any(
            isinstance(node, ast.Assign)
            and any((dotted(t) or "").endswith(".runtime_data") for t in node.targets)
            for m in integration.modules.values()
            for node in ast.walk(m.tree)
        )
        if not typed:
            return "no typed config entry (type XConfigEntry = ConfigEntry[...])"
        return None if assigned else "entry.runtime_data is never assigned"

    def diagnostics() -> str | None:
        module = integration.module("diagnostics.py")
        if module is None:
            return "diagnostics.py does not exist"
        defs = {n.name for n in module.tree.body if isinstance(n, ast.AsyncFunctionDef)}
        if not defs & {"async_get_config_entry_diagnostics", "async_get_device_diagnostics"}:
            return "diagnostics.py defines no async_get_config_entry_diagnostics"
        return (
            None
            if _has_call(integration, {"async_redact_data"}, "diagnostics.py")
            else "diagnostics.py never calls async_redact_data"
        )

    def unique_id() -> str | None:
        for m in integration.modules.values():
            for node in ast.walk(m.tree):
                if isinstance(node, ast.Assign) and any(
                    (dotted(t) or "").endswith("_attr_unique_id") for t in node.targets
                ):
                    return None
                if isinstance(node, ast.FunctionDef) and node.name == "unique_id":
                    return None
        return "no entity sets _attr_unique_id"

    def has_entity_name() -> str | None:
        for m in integration.modules.values():
            for node in ast.walk(m.tree):
                if (
                    isinstance(node, ast.Assign)
                    and any(dotted(t) == "_attr_has_entity_name" for t in node.targets)
                    and isinstance(node.value, ast.Constant)
                    and node.value.value is True
                ):
                    return None
        return "no entity class sets _attr_has_entity_name = True"

    def strict_typing() -> str | None:
        mypy = pyproject.get("tool", {}).get("mypy", {})
        if mypy.get("strict") is not True:
            return "pyproject.toml does not set [tool.mypy] strict = true"
        return (
            None if re.search(r"mypy\s+--strict", test_script) else "scripts/test does not run mypy --strict"
        )

    def step(name: str) -> Callable[[], str | None]:
        return lambda: (
            None if name in _flow_steps(integration) else f"the config flow has no async_step_{name}"
        )

    def config_flow() -> str | None:
        if not (integration.path / "config_flow.py").is_file():
            return "config_flow.py does not exist"
        return None if manifest.get("config_flow") is True else "manifest.json does not set config_flow: true"

    def unique_entry() -> str | None:
        if (
            _has_call(integration, {"_async_abort_entries_match"}, "config_flow.py")
            or (
                _has_call(integration, {"async_set_unique_id"}, "config_flow.py")
                and _has_call(integration, {"_abort_if_unique_id_configured"}, "config_flow.py")
            )
            or manifest.get("single_config_entry")
        ):
            return None
        return "the config flow neither sets a unique id and aborts on it, nor matches existing entries"

    def before_setup() -> str | None:
        names = {
            "async_config_entry_first_refresh",
            "ConfigEntryNotReady",
            "ConfigEntryAuthFailed",
            "ConfigEntryError",
        }
        return (
            None
            if _has_call(integration, names, "__init__.py")
            else "async_setup_entry neither refreshes first nor raises ConfigEntryNotReady"
        )

    def unloading() -> str | None:
        module = integration.module("__init__.py")
        defs = {getattr(n, "name", None) for n in module.tree.body} if module else set()
        return None if "async_unload_entry" in defs else "__init__.py has no async_unload_entry"

    def exception_translations() -> str | None:
        bare = [
            f"{m.rel}:{call.lineno}"
            for m in integration.modules.values()
            for call in walk_calls(m.tree)
            if call_name(call) in HA_EXCEPTIONS and keyword(call, "translation_key") is None
        ]
        return f"HA exceptions raised without translation_key at {', '.join(bare)}" if bare else None

    def icons() -> str | None:
        return None if (integration.path / "icons.json").is_file() else "icons.json does not exist"

    def brands() -> str | None:
        return (
            None if (integration.path / "brand" / "icon.png").is_file() else "brand/icon.png does not exist"
        )

    def test_coverage() -> str | None:
        under = pyproject.get("tool", {}).get("coverage", {}).get("report", {}).get("fail_under", 0)
        return None if float(under) >= 95 else f"coverage fail_under is {under}, below 95"

    def flow_coverage() -> str | None:
        proven = "config_flow.py" in test_script and "--fail-under=100" in test_script
        return None if proven else "scripts/test does not require 100% coverage of config_flow.py"

    def owner() -> str | None:
        return None if manifest.get("codeowners") else "manifest.json has no codeowners"

    def devices() -> str | None:
        return None if _has_call(integration, {"DeviceInfo"}) else "no entity has DeviceInfo"

    def discovery() -> str | None:
        return (
            None if any(key in manifest for key in DISCOVERY_KEYS) else "manifest.json declares no discovery"
        )

    def inject_websession() -> str | None:
        for m in integration.modules.values():
            for call in walk_calls(m.tree):
                if qualified(m, call.func) in {"aiohttp.ClientSession", "httpx.AsyncClient"}:
                    return f"{m.rel}:{call.lineno} creates its own HTTP session"
        return None

    def async_dependency() -> str | None:
        for requirement in manifest.get("requirements", []):
            if re.match(r"(?i)(requests|sqlalchemy)\b", requirement):
                return f"requirement {requirement} is not an asyncio library"
        return None

    def action_setup() -> str | None:
        # A service must be registered in async_setup, or in a function async_setup calls (HA's usual
        # services.py with async_setup_services); never per config entry.
        init = integration.module("__init__.py")
        setup = None
        if init is not None:
            setup = next(
                (
                    n
                    for n in init.tree.body
                    if isinstance(n, ast.AsyncFunctionDef) and n.name == "async_setup"
                ),
                None,
            )
        called = set() if setup is None else {call_name(c) for c in walk_calls(setup)}
        for where in registered_services(integration, Report()).values():
            rel, _, line = where.rpartition(":")
            module = integration.module(rel)
            enclosing = None if module is None else _enclosing_function(module.tree, int(line))
            if enclosing is None:
                return f"a service is registered outside any function ({where})"
            if (rel == "__init__.py" and enclosing is setup) or enclosing.name in called:
                continue
            return f"a service is registered outside async_setup ({where}, in {enclosing.name})"
        return None

    return {
        "action-setup": action_setup,
        "async-dependency": async_dependency,
        "brands": brands,
        "config-entry-unloading": unloading,
        "config-flow": config_flow,
        "config-flow-test-coverage": flow_coverage,
        "devices": devices,
        "diagnostics": diagnostics,
        "discovery": discovery,
        "entity-unique-id": unique_id,
        "exception-translations": exception_translations,
        "has-entity-name": has_entity_name,
        "icon-translations": icons,
        "inject-websession": inject_websession,
        "integration-owner": owner,
        "parallel-updates": parallel_updates,
        "reauthentication-flow": step("reauth"),
        "reconfiguration-flow": step("reconfigure"),
        "runtime-data": runtime_data,
        "strict-typing": strict_typing,
        "test-before-setup": before_setup,
        "test-coverage": test_coverage,
        "unique-config-entry": unique_entry,
    }


def check_quality_scale(integration: Integration, report: Report) -> None:
    """Check quality_scale.yaml: every rule listed with a valid status, and the verifiable claims true."""
    check = "quality_scale"
    path = integration.path / "quality_scale.yaml"
    rel = integration.rel(path)
    if not path.is_file():
        report.add(check, rel, "is missing")
        return
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        report.add(check, rel, f"is not valid YAML: {err}")
        return
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        report.add(check, rel, "must hold a 'rules' mapping")
        return
    all_rules = [rule for tier in QUALITY_SCALE_RULES.values() for rule in tier]
    status: dict[str, str] = {}
    for rule in all_rules:
        if rule not in rules:
            report.add(
                check, rel, f"rule '{rule}' is not listed (mark it done, todo, or exempt with a comment)"
            )
    for rule, value in rules.items():
        if rule not in all_rules:
            report.add(check, rel, f"unknown rule '{rule}'")
            continue
        state = value.get("status") if isinstance(value, dict) else value
        comment = value.get("comment") if isinstance(value, dict) else None
        if state not in {"done", "todo", "exempt"}:
            report.add(check, rel, f"{rule}: status must be done, todo or exempt, not {state!r}")
            continue
        if isinstance(value, dict) and set(value) - {"status", "comment"}:
            report.add(check, rel, f"{rule}: only 'status' and 'comment' are allowed")
        if state == "exempt" and (not isinstance(comment, str) or not comment.strip()):
            report.add(check, rel, f"{rule}: an exempt rule needs a comment saying why")
        status[rule] = state

    if registered_services(integration, Report()):
        for rule in ("action-setup", "action-exceptions", "docs-actions"):
            if status.get(rule) == "exempt":
                report.add(check, rel, f"{rule} is exempt, but the integration registers service actions")

    claims = _quality_claims(integration)
    for rule, state in sorted(status.items()):
        verify = claims.get(rule)
        if verify is None:
            continue
        problem = verify()
        if state == "done" and problem:
            report.add(check, rel, f"{rule} is marked done, but {problem}")
        if rule in {"reauthentication-flow", "reconfiguration-flow"} and state != "done" and problem is None:
            report.add(check, rel, f"{rule} is implemented in the config flow, so mark it done")

    met = {rule for rule, state in status.items() if state in {"done", "exempt"}}
    reached = None
    for tier, tier_rules in QUALITY_SCALE_RULES.items():
        if not set(tier_rules) <= met:
            break
        reached = tier
    manifest_path = integration.path / "manifest.json"
    manifest: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    declared = manifest.get("quality_scale")
    if declared in MANIFEST_QUALITY_SCALES:
        order = list(QUALITY_SCALE_RULES)
        if reached is None or order.index(declared) > order.index(reached):
            missing = sorted(
                rule
                for tier in order[: order.index(declared) + 1]
                for rule in QUALITY_SCALE_RULES[tier]
                if rule not in met
            )
            report.add(
                check,
                integration.rel(manifest_path),
                f"quality_scale is '{declared}' but quality_scale.yaml proves {reached or 'no tier'}; "
                f"not done: {', '.join(missing)}",
            )
    tiers = list(QUALITY_SCALE_RULES)
    reached_index = -1 if reached is None else tiers.index(reached)
    next_tier = tiers[reached_index + 1] if reached_index + 1 < len(tiers) else None
    summary = f"quality scale: {reached or 'no tier'} reached"
    if next_tier:
        open_rules = sorted(set(QUALITY_SCALE_RULES[next_tier]) - met)
        summary += f"; {next_tier} still needs {', '.join(open_rules)}"
    report.notes.append(summary)


# ---- 8. brand images ----------------------------------------------------------------------------------------

# name -> (min width, max width, min height, max height); icons are square.
BRAND_FILES: dict[str, tuple[int, int, int, int]] = {
    "icon.png": (256, 256, 256, 256),
    "icon@2x.png": (512, 512, 512, 512),
    "logo.png": (128, 1024, 128, 256),
    "logo@2x.png": (256, 2048, 256, 512),
}
OPTIONAL_DARK = ("dark_icon.png", "dark_icon@2x.png", "dark_logo.png", "dark_logo@2x.png")


def png_info(path: Path) -> tuple[int, int, int] | str:
    """Return (width, height, color type) of a PNG after checking its chunks' CRCs, or why it is invalid."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "is not a PNG (bad signature)"
    offset, header, seen_end, has_data = 8, None, False, False
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        crc_bytes = data[offset + 8 + length : offset + 12 + length]
        if len(body) != length or len(crc_bytes) != 4:
            return "is truncated"
        if zlib.crc32(kind + body) != struct.unpack(">I", crc_bytes)[0]:
            return f"has a corrupt {kind.decode('latin-1')} chunk"
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", body[:10])
        has_data |= kind == b"IDAT"
        offset += 12 + length
        if kind == b"IEND":
            seen_end = True
            break
    if header is None or not has_data or not seen_end:
        return "is incomplete (no IHDR, IDAT or IEND)"
    width, height, _depth, color_type = header
    return width, height, color_type


def check_brand(integration: Integration, report: Report) -> None:
    """Check the brand images HA 2026.3+ shows for custom integrations (custom_components/X/brand/)."""
    check = "brand"
    folder = integration.path / "brand"
    for name in (*BRAND_FILES, *OPTIONAL_DARK):
        path = folder / name
        rel = integration.rel(path)
        light = name.removeprefix("dark_")
        if not path.is_file():
            if name in BRAND_FILES:
                report.add(check, rel, "is missing")
            continue
        info = png_info(path)
        if isinstance(info, str):
            report.add(check, rel, info)
            continue
        width, height, color_type = info
        min_w, max_w, min_h, max_h = BRAND_FILES[light]
        if light.startswith("icon") and (width, height) != (min_w, min_h):
            report.add(check, rel, f"is {width}x{height}; it must be {min_w}x{min_h}")
        elif light.startswith("logo"):
            shortest = min(width, height)
            if not min_h <= shortest <= max_h:
                report.add(
                    check, rel, f"is {width}x{height}; its shortest side must be {min_h} to {max_h} pixels"
                )
            if width > max_w:
                report.add(check, rel, f"is {width} pixels wide; at most {max_w}")
        if color_type not in {4, 6}:
            report.add(check, rel, "has no alpha channel; brand images need a transparent background")
    if folder.is_dir() and not any(folder.glob("*.svg")):
        report.add(check, integration.rel(folder), "keep the SVG source of the images beside them")


# ---- running ------------------------------------------------------------------------------------------------


def run(
    repo: Path,
    *,
    ha_source: Path | None = None,
    ha_cache: Path | None = None,
    offline: bool = False,
    only: Iterable[str] = CHECKS,
) -> Report:
    """Run the checks on a repository and return what they found."""
    report = Report()
    integration = Integration(repo)
    for rel in integration.unparsable:
        report.add("source", integration.rel(integration.path / rel), "does not parse as Python")
    selected = set(only)
    simple: dict[str, Callable[[Integration, Report], None]] = {
        "manifest": check_manifest,
        "translations": check_translations,
        "services": check_services,
        "icons": check_icons,
        "blocking": check_blocking,
        "traps": check_traps,
        "quality_scale": check_quality_scale,
        "brand": check_brand,
    }
    for name, function in simple.items():
        if name in selected:
            function(integration, report)
    if "current_ha" in selected:
        source = ha_source
        if source is None:
            source = fetch_newest_ha(ha_cache or repo / ".venv" / "ha-wheel-cache", offline, report)
        if source is not None:
            ha = HaSource(source)
            report.notes.append(f"current_ha: checked against Home Assistant {ha.version()} ({source.name})")
            check_current_ha(integration, report, ha)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "--ha-wheel-cache", type=Path, default=None, help="default: REPO/.venv/ha-wheel-cache"
    )
    parser.add_argument(
        "--ha-source", type=Path, default=None, help="a homeassistant wheel or source tree to use"
    )
    parser.add_argument("--offline", action="store_true", help="skip the check against the newest HA release")
    parser.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS))
    parser.add_argument("-v", "--verbose", action="store_true", help="also print what could not be checked")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run(
        args.repo.resolve(),
        ha_source=args.ha_source,
        ha_cache=args.ha_wheel_cache,
        offline=args.offline,
        only=args.only,
    )
    unseen = [note for note in report.notes if "not checked" in note]
    for note in report.notes:
        if args.verbose or note not in unseen:
            print(f"{'warning' if 'skipped' in note and '--offline' in note else 'note'}: {note}")
    if unseen and not args.verbose:
        print(
            f"note: {len(unseen)} place(s) use values that are not literals and were not checked (-v lists them)"
        )
    for finding in report.findings:
        print(finding, file=sys.stderr)
    elapsed = time.monotonic() - started
    if report.findings:
        print(f"validate: {len(report.findings)} finding(s) in {elapsed:.1f}s", file=sys.stderr)
        return 1
    checked = [
        check for check in args.only if not (check == "current_ha" and args.offline and not args.ha_source)
    ]
    print(f"validate: {', '.join(checked)}: no findings ({elapsed:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
