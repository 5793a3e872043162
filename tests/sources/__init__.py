"""Tests of each kind of system (one module per kind) and of the sources layout."""

# The first step's menu as sources/__init__.py registers the real kinds (tests add their own after them).
MENU = ["selectronic", "enphase", "mondo", "fronius", "demo", "composite"]
