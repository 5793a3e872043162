"""Check 2: translations/en.json holds every string the code shows."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .core import (
    HA_EXCEPTIONS,
    Integration,
    Module,
    Report,
    call_name,
    dotted,
    keyword,
    methods,
    walk_calls,
)
from .flows import flows
from .services import service_fields, services_yaml

# ---- 2. translations ----------------------------------------------------------------------------------------


@dataclass
class Strings:
    """The translation keys the code uses, as dotted paths into en.json, each with where it was seen."""

    required: dict[str, str] = field(default_factory=dict)
    entity_keys: dict[str, set[str]] = field(default_factory=dict)  # platform -> translation keys

    def need(self, key: str, where: str) -> None:
        """Record a key the code uses."""
        self.required.setdefault(key, where)


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
    for flow in flows(integration):
        kind, steps = flow.kind, flow.steps
        for module, cls in flow.parts:
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


def _entity_modules(integration: Integration) -> Iterator[tuple[Module, str | None]]:
    """Yield the modules that describe entities, with their platform (``None``: decided per call).

    The platform modules (``sensor.py``, ...), and the kinds under ``sources/`` whose entity
    descriptions (``SourceKind.sensors``, ``sensors_fn``) belong to the sensor or binary-sensor
    platform by the description class they build.
    """
    for module in integration.platform_modules():
        yield module, module.stem
    for rel, module in integration.modules.items():
        if rel.startswith("sources/"):
            yield module, None


def _platform_of(call: ast.Call) -> str:
    return "binary_sensor" if "BinarySensor" in (call_name(call) or "") else "sensor"


def collect_entity_strings(integration: Integration, report: Report, strings: Strings) -> None:
    """Collect the entity translation keys of the platform modules and of the kinds' descriptions."""
    for module, platform in _entity_modules(integration):
        found: dict[str, set[str]] = {}
        # Helper functions that pass one of their parameters on as translation_key: map parameter -> index.
        helpers: dict[str, tuple[int, str]] = {}
        helper_platform: dict[str, str] = {}
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = [arg.arg for arg in node.args.args]
                for call in walk_calls(node):
                    value = keyword(call, "translation_key")
                    if isinstance(value, ast.Name) and value.id in params:
                        helpers[node.name] = (params.index(value.id), value.id)
                        helper_platform[node.name] = platform or _platform_of(call)
        for node in ast.walk(module.tree):
            where = f"{module.rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                value = keyword(node, "translation_key")
                if value is not None and keyword(node, "translation_domain") is None:
                    text = integration.string(value)
                    if text is not None:
                        found.setdefault(platform or _platform_of(node), set()).add(text)
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
                        found.setdefault(helper_platform[name], set()).add(text)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and platform is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(dotted(t) in {"_attr_translation_key", "self._attr_translation_key"} for t in targets):
                    text = integration.string(node.value)
                    if text is not None:
                        found.setdefault(platform, set()).add(text)
                    elif node.value is not None and not (
                        isinstance(node.value, ast.Constant) and node.value.value is None
                    ):
                        report.notes.append(
                            f"{where}: an _attr_translation_key that is not a literal was not checked"
                        )
        for entity_platform, keys in found.items():
            strings.entity_keys.setdefault(entity_platform, set()).update(keys)
            for key in keys:
                strings.need(f"entity.{entity_platform}.{key}.name", module.rel)


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


def walk_strings(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted path, value) for every leaf of nested mappings."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk_strings(value, f"{path}.{key}" if path else str(key))
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
    collect_entity_strings(integration, report, strings)
    _collect_other_strings(integration, report, strings)
    services = services_yaml(integration) or {}
    for service, spec in services.items():
        strings.need(f"services.{service}.name", "services.yaml")
        strings.need(f"services.{service}.description", "services.yaml")
        for field_name in service_fields(spec):
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
    for key, value in walk_strings(data):
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
