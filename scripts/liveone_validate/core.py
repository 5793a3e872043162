"""The shared part: constants, findings, the one data-file loader, and the parsed integration."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import enum
import functools
import json
from pathlib import Path
import re
import tomllib
from typing import Any
import weakref

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


# ---- the one loader for data files (JSON, YAML, TOML) -------------------------------------------------------


class Unreadable(enum.Enum):
    """Why a data file gave no data (``load_data`` returns one of these instead of the data)."""

    MISSING = "missing"
    BROKEN = "broken"


# suffix -> (format name, parser, the errors meaning the text is not valid in that format)
_FORMATS: dict[str, tuple[str, Callable[[str], Any], tuple[type[Exception], ...]]] = {
    ".json": ("JSON", json.loads, (json.JSONDecodeError,)),
    ".yaml": ("YAML", yaml.safe_load, (yaml.YAMLError,)),
    ".yml": ("YAML", yaml.safe_load, (yaml.YAMLError,)),
    ".toml": ("TOML", tomllib.loads, (tomllib.TOMLDecodeError,)),
}


def load_data(path: Path, report: Report | None = None, check: str = "", where: str | None = None) -> Any:
    """Load a JSON, YAML or TOML file (by its suffix) and return its data.

    Returns ``Unreadable.MISSING`` when there is no such file and ``Unreadable.BROKEN`` when it cannot be
    read, is not UTF-8 or does not parse; a broken file is reported to ``report`` (under ``check``, as
    ``where`` or the path) when a report is given. An empty YAML file is ``None``, as YAML says.
    """
    kind, parse, errors = _FORMATS[path.suffix]
    if not path.is_file():
        return Unreadable.MISSING
    try:
        return parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:  # not UTF-8: as invalid as a syntax error
        problem = f"is not valid {kind}: {err}"
    except errors as err:
        problem = f"is not valid {kind}: {err}"
    except OSError as err:
        problem = f"cannot be read: {err}"
    if report is not None:
        report.add(check, where or str(path), problem)
    return Unreadable.BROKEN


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
        """Load a data file of the integration (see ``load_data``); None if absent or broken."""
        data = load_data(self.path / name, report, check, self.rel(self.path / name))
        return None if isinstance(data, Unreadable) else data


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


_CALLS: weakref.WeakKeyDictionary[ast.AST, tuple[ast.Call, ...]] = weakref.WeakKeyDictionary()
_CLASSES: weakref.WeakKeyDictionary[ast.AST, tuple[ast.ClassDef, ...]] = weakref.WeakKeyDictionary()


def walk_calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Yield every call in a tree (a subtree's calls are found once: the checks ask many times)."""
    found = _CALLS.get(tree)
    if found is None:
        found = _CALLS[tree] = tuple(node for node in ast.walk(tree) if isinstance(node, ast.Call))
    return iter(found)


def classes(tree: ast.Module) -> Iterator[ast.ClassDef]:
    """Yield every class definition of a module."""
    found = _CLASSES.get(tree)
    if found is None:
        found = _CLASSES[tree] = tuple(node for node in ast.walk(tree) if isinstance(node, ast.ClassDef))
    return iter(found)


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
