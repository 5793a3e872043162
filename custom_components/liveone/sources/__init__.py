"""The kinds of system, one module each; importing this package registers them all.

Adding a kind is one module here (its coordinator, flow steps and :class:`~..registry.SourceKind`),
one HA-free client under ``vendors/``, and one line below. See ``docs/adding-a-source.md``.
"""

from __future__ import annotations

from ..registry import register
from . import composite, demo, enphase, fronius, mondo, selectronic

# The first step's menu lists the kinds in this order.
for _kind in (
    selectronic.SOURCE,
    enphase.SOURCE,
    mondo.SOURCE,
    fronius.SOURCE,
    demo.SOURCE,
    composite.SOURCE,
):
    register(_kind)
