"""Running the checks, and the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
import sys
import time

from . import __doc__ as package_doc
from .blocking import check_blocking
from .brand import check_brand
from .core import CHECKS, Integration, Report
from .current_ha import HaSource, check_current_ha, fetch_newest_ha
from .icons import check_icons
from .manifest import check_manifest
from .quality_scale import check_quality_scale
from .services import check_services
from .translations import check_translations
from .traps import check_traps

# ---- running ------------------------------------------------------------------------------------------------


def run(
    repo: Path,
    *,
    ha_source: Path | None = None,
    ha_cache: Path | None = None,
    offline: bool = False,
    only: Iterable[str] = CHECKS,
) -> Report:
    """Run the checks on a repository and return what they found."""
    report = Report()
    integration = Integration(repo)
    for rel in integration.unparsable:
        report.add("source", integration.rel(integration.path / rel), "does not parse as Python")
    selected = set(only)
    simple: dict[str, Callable[[Integration, Report], None]] = {
        "manifest": check_manifest,
        "translations": check_translations,
        "services": check_services,
        "icons": check_icons,
        "blocking": check_blocking,
        "traps": check_traps,
        "quality_scale": check_quality_scale,
        "brand": check_brand,
    }
    for name, function in simple.items():
        if name in selected:
            function(integration, report)
    if "current_ha" in selected:
        source = ha_source
        if source is None:
            source = fetch_newest_ha(ha_cache or repo / ".venv" / "ha-wheel-cache", offline, report)
        if source is not None:
            ha = HaSource(source)
            report.notes.append(f"current_ha: checked against Home Assistant {ha.version()} ({source.name})")
            check_current_ha(integration, report, ha)
    return report


def main(argv: list[str] | None = None) -> int:
    """Run from the command line."""
    parser = argparse.ArgumentParser(prog="validate.py", description=(package_doc or "").split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument(
        "--ha-wheel-cache", type=Path, default=None, help="default: REPO/.venv/ha-wheel-cache"
    )
    parser.add_argument(
        "--ha-source", type=Path, default=None, help="a homeassistant wheel or source tree to use"
    )
    parser.add_argument("--offline", action="store_true", help="skip the check against the newest HA release")
    parser.add_argument("--only", nargs="+", choices=CHECKS, default=list(CHECKS))
    parser.add_argument("-v", "--verbose", action="store_true", help="also print what could not be checked")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run(
        args.repo.resolve(),
        ha_source=args.ha_source,
        ha_cache=args.ha_wheel_cache,
        offline=args.offline,
        only=args.only,
    )
    unseen = [note for note in report.notes if "not checked" in note]
    for note in report.notes:
        if args.verbose or note not in unseen:
            print(f"{'warning' if 'skipped' in note and '--offline' in note else 'note'}: {note}")
    if unseen and not args.verbose:
        print(
            f"note: {len(unseen)} place(s) use values that are not literals and were not checked (-v lists them)"
        )
    for finding in report.findings:
        print(finding, file=sys.stderr)
    elapsed = time.monotonic() - started
    if report.findings:
        print(f"validate: {len(report.findings)} finding(s) in {elapsed:.1f}s", file=sys.stderr)
        return 1
    checked = [
        check for check in args.only if not (check == "current_ha" and args.offline and not args.ha_source)
    ]
    print(f"validate: {', '.join(checked)}: no findings ({elapsed:.1f}s)")
    return 0
