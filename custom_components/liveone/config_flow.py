"""The LiveOne config flow: one class for the domain, composed from every kind's step mixin.

The first step is a menu of the registered kinds (:mod:`.registry`); each kind's steps live in its own
module under :mod:`.sources`, reauthentication and *Reconfigure* go to the entry's kind
(:class:`.flow.LiveOneFlowBase`). One entry per system, its unique id ``<vendor>_<site id>``.
"""

from __future__ import annotations

from . import sources  # noqa: F401  (importing the package registers every kind)
from .const import DOMAIN
from .flow import LiveOneFlowBase, standard_offset_minutes
from .registry import on_change, registered

__all__ = ["LiveOneConfigFlow", "compose_flow", "standard_offset_minutes"]


def compose_flow() -> type[LiveOneFlowBase]:
    """Build the domain's flow class from the registered kinds' mixins (Home Assistant registers it).

    Home Assistant registers a flow class for its domain when the class is created with ``domain=``, so
    the newest composition is the one flows use.
    """
    mixins = tuple(kind.flow for kind in registered() if kind.flow is not None)
    return type(
        "LiveOneConfigFlow",
        (*mixins, LiveOneFlowBase),
        {"__module__": __name__, "__doc__": "Add a LiveOne system."},
        domain=DOMAIN,
    )


def _recompose() -> None:
    """Replace the flow class when a kind is registered or removed."""
    global LiveOneConfigFlow  # noqa: PLW0603  (the module's class is the registry's current composition)
    LiveOneConfigFlow = compose_flow()


LiveOneConfigFlow = compose_flow()
on_change(_recompose)
