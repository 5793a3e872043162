"""Run the store's command line without loading Home Assistant.

``custom_components/liveone/__init__.py`` is the Home Assistant integration; the store and vendor
packages below it do not need it. This launcher registers the two parent packages by path only, so
``custom_components.liveone.store`` imports without running the integration's ``__init__``.
"""

from pathlib import Path
import sys
import types

ROOT = Path(__file__).resolve().parent.parent


def _register_package(name: str, path: Path) -> None:
    if name not in sys.modules:
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module


_register_package("custom_components", ROOT / "custom_components")
_register_package("custom_components.liveone", ROOT / "custom_components" / "liveone")

from custom_components.liveone.store.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
