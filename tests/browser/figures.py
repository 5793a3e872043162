"""The browser tests' figures in ``bench/results.json``'s shape (mode, when, machine, figures, table).

Recorded, not asserted: the time from opening the panel to a drawn chart (aim: under a second) and
the bundle's size (aim: under 200 KB gzipped).
"""

from __future__ import annotations

from datetime import UTC, datetime
import gzip
import json
import os
from pathlib import Path
import subprocess
from typing import Any

from .harness import REPO

BUNDLE = REPO / "custom_components" / "liveone" / "frontend" / "liveone.js"
TARGET_MS = 1000
TARGET_GZIP_KIB = 200


def bundle_size() -> dict[str, Any]:
    """The bundle's size as served and gzipped."""
    data = BUNDLE.read_bytes()
    return {"bytes": len(data), "gzip_bytes": len(gzip.compress(data, 9))}


def _chromium_version(path: str) -> str:
    try:
        return subprocess.run(
            [path, "--version"], check=False, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_results(target: Path, figures: dict[str, Any], *, chromium: str, python: str) -> None:
    """Write the figures and their table to ``target``."""
    figures = {**figures, "bundle": bundle_size()}
    table = []
    for name, figure in sorted(figures.get("time_to_chart", {}).items()):
        table.append(
            {
                "figure": f"panel opened -> chart drawn, {name} (whole page load)",
                "measured": f"{figure['panel_ms']:.0f} ms ({figure['page_ms']:.0f} ms)",
                "target": f"<= {TARGET_MS} ms",
                "met": figure["panel_ms"] <= TARGET_MS,
            }
        )
    gzip_kib = figures["bundle"]["gzip_bytes"] / 1024
    table.append(
        {
            "figure": "panel/card bundle, gzipped (raw)",
            "measured": f"{gzip_kib:.1f} KiB ({figures['bundle']['bytes'] / 1024:.1f} KiB)",
            "target": f"< {TARGET_GZIP_KIB} KB",
            "met": gzip_kib < TARGET_GZIP_KIB,
        }
    )
    document = {
        "mode": "browser",
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "nproc": os.cpu_count(),
            "python": python,
            "chromium": _chromium_version(chromium),
            "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        },
        "figures": figures,
        "table": table,
    }
    target.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
