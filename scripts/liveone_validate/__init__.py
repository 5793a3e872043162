"""Check LiveOne against the rules Home Assistant's and HACS's validators apply, and against current HA.

We cannot run GitHub's hassfest and HACS actions here, so this script checks the same things itself (in its
own code, after reading their rules), plus what those actions cannot see:

  manifest       manifest.json and hacs.json (keys, order, version, URLs, iot_class, dependencies)
  translations   translations/en.json holds every string the code shows, and no [%key:...] references
  services       services.yaml matches the registered services; every field has a selector
  icons          icons.json names only entity keys and services that exist
  blocking       no blocking call (sleep, sync HTTP, sync DB, file I/O) directly inside an ``async def``
  traps          the known current-HA traps (docs/architecture.md#two-home-assistant-versions): via_device,
                 OptionsFlow assigning self.config_entry, async_forward_entry_setup, hass.helpers,
                 asyncio.get_event_loop, ...
  quality_scale  quality_scale.yaml lists every rule; the claims that code can prove are checked
  brand          brand/ images exist, are valid PNGs and have the sizes HA's brands rules ask for
  current_ha     every homeassistant name the integration uses exists in the newest HA release and is
                 not deprecated there (downloads that wheel; ``--offline`` skips this check)

The source is read with ``ast``; only string literals and simple module constants are understood. A
translation key built at run time (an f-string, a value from a dict) cannot be seen: such places are
reported as notes, not findings, so that a reader knows what was not checked.

Usage: python scripts/validate.py [--repo DIR] [--ha-wheel-cache DIR] [--ha-source WHEEL_OR_DIR] [--offline]
                                  [--only CHECK ...] [-v]
The wheel cache defaults to REPO/.venv/ha-wheel-cache (git-ignored with .venv).
Exit status: 0 when nothing was found, 1 when anything was (every finding is printed), 2 on usage errors.

Each check is a module of this package (``manifest``, ``translations``, ...); ``core`` holds what they
share: the parsed integration and ``load_data``, the one loader of JSON, YAML and TOML files. Flow classes
are found in every module of the integration, subpackages included, each with the mixins it is composed of
(``flows``). ``scripts/validate.py`` is the command; ``cli`` holds ``run`` and ``main``.
"""

from __future__ import annotations

from .cli import main, run
from .core import (
    CHECKS,
    QUALITY_SCALE_RULES,
    Finding,
    Integration,
    Report,
    Unreadable,
    load_data,
    parse_tolerantly,
)
from .current_ha import HaSource, _version_key, fetch_newest_ha

__all__ = [
    "CHECKS",
    "QUALITY_SCALE_RULES",
    "Finding",
    "HaSource",
    "Integration",
    "Report",
    "Unreadable",
    "_version_key",
    "fetch_newest_ha",
    "load_data",
    "main",
    "parse_tolerantly",
    "run",
]
