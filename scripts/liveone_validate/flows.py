"""The flow classes of the integration: what kind each is, and the steps of each composed flow."""

from __future__ import annotations

import ast
from dataclasses import dataclass
import weakref

from .core import Integration, Module, base_names, classes, methods


def flow_kind(cls: ast.ClassDef) -> str | None:
    """Return the translation section of a flow class by its bases (``config``, ``options``, ...), or None."""
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


@dataclass(frozen=True)
class Flow:
    """A flow class of the integration, with the package's classes it is composed from.

    ``parts`` is the class itself first, then every class of the integration (in any module, subpackages
    included) that it inherits from, directly or through other such classes: the mixins that hold the
    steps of each kind of source. Base classes from outside the integration are not parts.
    """

    kind: str
    parts: tuple[tuple[Module, ast.ClassDef], ...]

    @property
    def steps(self) -> set[str]:
        """Return the flow's step names (``user`` for ``async_step_user``), from all its parts."""
        return {
            name.removeprefix("async_step_")
            for _, cls in self.parts
            for name in methods(cls)
            if name.startswith("async_step_")
        }

    @property
    def modules(self) -> set[str]:
        """Return the modules (relative paths) the flow's parts are defined in."""
        return {module.rel for module, _ in self.parts}


_FLOWS: weakref.WeakKeyDictionary[Integration, tuple[Flow, ...]] = weakref.WeakKeyDictionary()
"""The flows of each integration parsed (several checks ask for them)."""


def flows(integration: Integration) -> list[Flow]:
    """Return the integration's flow classes, each composed with its mixins, found across the package.

    A flow class that is itself a part of another flow of the same kind (a mixin deriving from
    ``ConfigFlow``) is checked as part of that one, not again on its own.
    """
    cached = _FLOWS.get(integration)
    if cached is not None:
        return list(cached)
    # Each module's classes, found once (walking every tree for every class made this quadratic).
    defined = [(module, list(classes(module.tree))) for module in integration.modules.values()]
    by_name: dict[str, list[tuple[Module, ast.ClassDef]]] = {}
    for module, module_classes in defined:
        for cls in module_classes:
            by_name.setdefault(cls.name, []).append((module, cls))
    found: list[Flow] = []
    for module, module_classes in defined:
        for cls in module_classes:
            kind = flow_kind(cls)
            if kind is None:
                continue
            parts = [(module, cls)]
            pending = list(base_names(cls))
            while pending:
                name = pending.pop(0)
                for part in by_name.get(name, []):
                    if all(part[1] is not seen for _, seen in parts):
                        parts.append(part)
                        pending.extend(base_names(part[1]))
            # Subclasses of the flow in the package are parts of it too: the integration composes its
            # domain's flow class from the kinds' step mixins at run time (config_flow.compose_flow).
            grown = True
            while grown:
                grown = False
                names = {part[1].name for part in parts}
                for other_module, other_classes in defined:
                    for other in other_classes:
                        if names & set(base_names(other)) and all(other is not seen for _, seen in parts):
                            parts.append((other_module, other))
                            grown = True
            found.append(Flow(kind, tuple(parts)))
    result = [
        flow
        for flow in found
        if not any(
            other is not flow
            and other.kind == flow.kind
            and any(cls is flow.parts[0][1] for _, cls in other.parts[1:])
            for other in found
        )
    ]
    _FLOWS[integration] = tuple(result)
    return result
