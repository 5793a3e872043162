"""The layering the sources layout promises: shared modules name no kind, kinds live in sources/."""

from __future__ import annotations

import ast
from pathlib import Path
import re

import pytest

from custom_components.liveone.registry import registered

PACKAGE = Path(__file__).resolve().parents[2] / "custom_components" / "liveone"
SHARED = sorted(p for p in PACKAGE.glob("*.py") if p.name != "registry.py")
VENDOR_WORDS = re.compile(
    r"selectlive|select\.live|selectronic|enphase|mondo|fronius|\bdemo\b", re.IGNORECASE
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.add(base)
            found.update(
                f"{base}.{alias.name}" if node.module else f"{base}{alias.name}" for alias in node.names
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_every_registered_kind_lives_in_its_own_sources_module() -> None:
    vendors = {kind.vendor for kind in registered()}
    assert {"demo", "selectronic"} <= vendors
    for kind in registered():
        assert kind.coordinator.__module__.startswith("custom_components.liveone.sources."), kind.vendor
        if kind.flow is not None:
            assert kind.flow.__module__ == kind.coordinator.__module__, kind.vendor


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_a_shared_module_imports_no_kind(path: Path) -> None:
    kinds = {f".sources.{kind.vendor}" for kind in registered()} | {
        f".vendors.{kind.vendor}" for kind in registered()
    }
    assert not (_imports(path) & kinds), f"{path.name} imports a kind's module"


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_a_shared_module_names_no_vendor(path: Path) -> None:
    code = path.read_text()
    assert not VENDOR_WORDS.findall(code), f"{path.name} names a vendor"


def test_the_layering_check_would_catch_a_shared_module_naming_a_kind(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("from .sources.selectronic import SOURCE\nVENDOR = 'fronius'\n")
    assert ".sources.selectronic" in _imports(planted)
    assert VENDOR_WORDS.findall(planted.read_text())


@pytest.mark.parametrize("folder", ["vendors", "store"])
def test_vendors_and_store_import_nothing_of_home_assistant(folder: str) -> None:
    for path in (PACKAGE / folder).rglob("*.py"):
        assert not any(name.split(".")[0] == "homeassistant" for name in _imports(path)), path


def test_every_kind_in_the_menu_has_its_menu_label_and_first_step_strings() -> None:
    """The first menu is built from the registry at run time, which the validator cannot read: check here."""
    import json

    strings = json.loads((PACKAGE / "translations" / "en.json").read_text())["config"]["step"]
    for kind in registered():
        if kind.flow is not None and kind.in_menu:
            assert kind.vendor in strings["user"]["menu_options"], kind.vendor
            assert kind.vendor in strings, kind.vendor


def _form_step_ids(path: Path) -> dict[str, set[str]]:
    """The step ids a kind's module shows forms or menus for, by the kind of flow (config, options, repair)."""
    tree = ast.parse(path.read_text())
    found: dict[str, set[str]] = {"config": set(), "options": set(), "repair": set()}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = " ".join(ast.unparse(base) for base in node.bases)
        flow = "options" if "OptionsFlow" in bases else "repair" if "RepairsFlow" in bases else "config"
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                for keyword in call.keywords:
                    if keyword.arg == "step_id" and isinstance(keyword.value, ast.Constant):
                        found[flow].add(str(keyword.value.value))
    return found


def test_kinds_show_steps_under_ids_of_their_own() -> None:
    # All kinds share one translations file: two kinds' options forms both called "init" (HA's first
    # options step) would share one title and one set of field labels.
    seen: dict[tuple[str, str], str] = {}
    modules = sorted((PACKAGE / "sources").glob("*.py"))
    assert len(modules) > 3
    for path in modules:
        for flow, step_ids in _form_step_ids(path).items():
            assert "init" not in step_ids or flow == "repair", (path.name, flow)
            for step_id in step_ids:
                assert (flow, step_id) not in seen, (path.name, seen[(flow, step_id)], flow, step_id)
                seen[(flow, step_id)] = path.name
