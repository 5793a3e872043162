"""Check 6b: names used from homeassistant, against the newest release's wheel."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import re
import subprocess
import sys
from typing import Any
import zipfile

from .core import Integration, Report, base_names, call_name, dotted, parse_tolerantly, qualified, walk_calls

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
