"""Check 1: manifest.json and hacs.json."""

from __future__ import annotations

import ast
import re
from typing import Any

from .core import (
    ALWAYS_AVAILABLE,
    HACS_BOOL_KEYS,
    HACS_KEYS,
    INTEGRATION_TYPES,
    IOT_CLASSES,
    MANIFEST_KEYS,
    MANIFEST_QUALITY_SCALES,
    Integration,
    Report,
    Unreadable,
    dotted,
    load_data,
)

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
    hacs = load_data(path, report, check, rel)
    if isinstance(hacs, Unreadable):
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
