"""Check 4: icons.json names only entity keys and services that exist."""

from __future__ import annotations

import re

from .core import Integration, Report
from .services import registered_services, services_yaml
from .translations import Strings, collect_entity_strings, walk_strings

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
    collect_entity_strings(integration, Report(), strings)
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
            for icon_path, icon in walk_strings(spec):
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
