#!/usr/bin/env python3
"""Check LiveOne against Home Assistant's and HACS's validator rules, and against the newest HA release.

The checks live in the ``liveone_validate`` package next to this file (its docstring lists them).

Usage: python scripts/validate.py [--repo DIR] [--ha-wheel-cache DIR] [--ha-source WHEEL_OR_DIR] [--offline]
                                  [--only CHECK ...] [-v]
The wheel cache defaults to REPO/.venv/ha-wheel-cache (git-ignored with .venv).
Exit status: 0 when nothing was found, 1 when anything was (every finding is printed), 2 on usage errors.
"""

from __future__ import annotations

from pathlib import Path
import runpy
import sys

if __name__ == "__main__":
    # This folder is first on sys.path when the file is run, so the package beside it is found.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    runpy.run_module("liveone_validate", run_name="__main__", alter_sys=True)
