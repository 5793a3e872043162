"""Check 3: services.yaml matches the registered services."""

from __future__ import annotations

import ast
from typing import Any

from .core import Integration, Report, Unreadable, call_name, dotted, keyword, load_data, walk_calls

# ---- 3. services --------------------------------------------------------------------------------------------


def enclosing_function(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
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
        for field_name, field_spec in service_fields(spec).items():
            if not isinstance(field_spec, dict) or "selector" not in field_spec:
                report.add(check, rel, f"field '{service}.{field_name}' has no selector")


def services_yaml(integration: Integration, report: Report | None = None) -> dict[str, Any] | None:
    """Load services.yaml (None if absent; malformed files are reported to ``report``)."""
    path = integration.path / "services.yaml"
    data = load_data(path, report, "services", integration.rel(path))
    if isinstance(data, Unreadable):
        return None
    if data is None:
        return {}
    if not isinstance(data, dict):
        if report is not None:
            report.add("services", integration.rel(path), "must be a mapping of service names")
        return None
    return data


def service_fields(service: Any) -> dict[str, Any]:
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
