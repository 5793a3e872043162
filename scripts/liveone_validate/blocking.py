"""Check 5: no blocking call directly inside an ``async def``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
import re

from .core import (
    BLOCKING_CALLS,
    BLOCKING_METHODS,
    SQL_METHODS,
    SQL_RECEIVERS,
    Integration,
    Module,
    Report,
    dotted,
    qualified,
    walk_calls,
)

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
