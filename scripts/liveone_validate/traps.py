"""Check 6a: the known current-HA traps."""

from __future__ import annotations

import ast
import re

from .core import (
    PLATFORMS,
    Integration,
    Report,
    base_names,
    call_name,
    classes,
    dotted,
    keyword,
    methods,
    qualified,
    walk_calls,
)

# ---- 6a. current-HA traps (docs/architecture.md#two-home-assistant-versions) ----


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
