"""Check 7: quality_scale.yaml lists every rule; provable claims are checked."""

from __future__ import annotations

import ast
from collections.abc import Callable
import re
from typing import Any

from .core import (
    DISCOVERY_KEYS,
    HA_EXCEPTIONS,
    MANIFEST_QUALITY_SCALES,
    QUALITY_SCALE_RULES,
    Integration,
    Report,
    Unreadable,
    call_name,
    dotted,
    keyword,
    load_data,
    qualified,
    walk_calls,
)
from .flows import flows
from .services import enclosing_function, registered_services

# ---- 7. quality_scale.yaml ----------------------------------------------------------------------------------


def _has_call(integration: Integration, names: set[str], rel: str | list[str] | None = None) -> bool:
    """Tell whether a function of ``names`` is called in the module(s) ``rel``, or anywhere."""
    rels = [rel] if isinstance(rel, str) else rel
    modules = (
        [integration.module(r) for r in rels] if rels is not None else list(integration.modules.values())
    )
    return any(call_name(call) in names for module in modules if module for call in walk_calls(module.tree))


def _flow_steps(integration: Integration) -> set[str]:
    """Return the steps of the config flows, wherever their parts (mixins) are defined."""
    return {step for flow in flows(integration) if flow.kind == "config" for step in flow.steps}


def _config_flow_modules(integration: Integration) -> list[str]:
    """Return the modules holding the config flows' parts (config_flow.py and any mixin modules)."""
    return sorted(
        {"config_flow.py"}
        | {rel for flow in flows(integration) if flow.kind == "config" for rel in flow.modules}
    )


def _mapping(data: Any) -> dict[str, Any]:
    """Return loaded data if it is a mapping, else an empty one (other checks report broken files)."""
    return data if isinstance(data, dict) else {}


def _quality_claims(integration: Integration) -> dict[str, Callable[[], str | None]]:
    """Return, per rule, a function telling why a 'done' claim is false (None when the code proves it)."""
    repo = integration.repo
    manifest = _mapping(load_data(integration.path / "manifest.json"))
    pyproject = _mapping(load_data(repo / "pyproject.toml"))
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
        flow_modules = _config_flow_modules(integration)
        if (
            _has_call(integration, {"_async_abort_entries_match"}, flow_modules)
            or (
                _has_call(integration, {"async_set_unique_id"}, flow_modules)
                and _has_call(integration, {"_abort_if_unique_id_configured"}, flow_modules)
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
            enclosing = None if module is None else enclosing_function(module.tree, int(line))
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
    data = load_data(path, report, check, rel)
    if isinstance(data, Unreadable):
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
    manifest = _mapping(load_data(manifest_path))
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
