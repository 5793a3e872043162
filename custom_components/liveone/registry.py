"""The registry of kinds of system: what the shared modules know of a kind, and how they find it.

Each kind of system has one module under :mod:`.sources` that declares a
:class:`SourceKind` and registers it; ``sources/__init__.py`` holds the one line per kind. The shared
modules (setup, the config flow, entities, diagnostics, services) look a kind up here by the entry's
``vendor`` and never name one. See ``docs/adding-a-source.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import OptionsFlow
from homeassistant.core import HomeAssistant

if TYPE_CHECKING:
    from homeassistant.components.repairs import RepairsFlow

    from .coordinator import LiveOneCoordinator
    from .descriptions import LiveOneBinarySensorEntityDescription, LiveOneSensorEntityDescription
    from .flow import LiveOneFlowBase
    from .runtime import LiveOneConfigEntry


type SetupHook = Callable[[HomeAssistant, LiveOneConfigEntry], Awaitable[None]]
"""Called once the entry's coordinator has its first data, before the platforms are set up; what it
starts, it stops through ``entry.async_on_unload`` (a webhook, a shared account)."""

type SensorsHook = Callable[[LiveOneCoordinator], Iterable[LiveOneSensorEntityDescription]]
"""Returns sensor descriptions that depend on the data (points that show up after setup); called after
every update, and a description whose key is new becomes an entity."""

type FixFlowHook = Callable[[HomeAssistant, str, dict[str, str | int | float | None] | None], RepairsFlow]
"""Makes the repair flow of an issue whose data names the kind (``"vendor"``); see :mod:`.repairs`."""

type RemoveHook = Callable[[HomeAssistant, LiveOneConfigEntry], Awaitable[None]]
"""Called from the integration's ``async_remove_entry``, before the store marks the system removed."""


@dataclass(frozen=True, kw_only=True)
class SourceKind:
    """Everything the shared modules need from one kind of system."""

    vendor: str
    """The kind's key: ``vendor_type`` in the store, ``vendor`` in the entry, the first step's id."""
    manufacturer: str
    """The device's manufacturer."""
    coordinator: type[LiveOneCoordinator]
    """Its coordinator: a subclass of one of the three shapes in :mod:`.coordinator`."""
    flow: type[LiveOneFlowBase] | None = None
    """Its config-flow step mixin, with ``async_step_<vendor>`` (``None``: not added by a flow)."""
    in_menu: bool = True
    """Whether the first step offers it."""
    reauth_step: str | None = None
    """The step a reauthentication starts at (``None``: the kind never asks for credentials again)."""
    reconfigure_step: str | None = None
    """The step *Reconfigure* starts at (``None``: not supported)."""
    options_flow: Callable[[], OptionsFlow] | None = None
    """Makes its options flow (``None``: the kind has no options)."""
    sensors: tuple[LiveOneSensorEntityDescription, ...] = ()
    """Sensors of this kind only, beside the shared ones (each appears once the data has its value); one
    with a shared key replaces the shared one (``sensors_fn``'s too)."""
    binary_sensors: tuple[LiveOneBinarySensorEntityDescription, ...] = ()
    """Binary sensors of this kind only."""
    sensors_fn: SensorsHook | None = None
    """Sensors that depend on the data (see :data:`SensorsHook`)."""
    redact: frozenset[str] = field(default_factory=frozenset)
    """Entry-data and store keys its diagnostics must hide, beside the shared ones."""
    async_setup_entry: SetupHook | None = None
    """An optional setup hook (see :data:`SetupHook`)."""
    fix_flow: FixFlowHook | None = None
    """Makes the repair flow of a fixable issue the kind raised (see :data:`FixFlowHook`)."""
    async_remove_entry: RemoveHook | None = None
    """Called when one of its entries is removed (clean up what outlives an unload: repair issues)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Anything else the kind's own module wants to keep beside its declaration."""


_SOURCES: dict[str, SourceKind] = {}
_listeners: list[Callable[[], None]] = []


def register(kind: SourceKind) -> Callable[[], None]:
    """Add a kind (replacing one of the same vendor); return a function that removes it again."""
    previous = _SOURCES.get(kind.vendor)
    _SOURCES[kind.vendor] = kind
    _changed()

    def _unregister() -> None:
        if _SOURCES.get(kind.vendor) is kind:
            if previous is None:
                del _SOURCES[kind.vendor]
            else:
                _SOURCES[kind.vendor] = previous
            _changed()

    return _unregister


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` whenever a kind is registered or removed (the config flow recomposes)."""
    _listeners.append(listener)


def _changed() -> None:
    for listener in _listeners:
        listener()


def get_source(vendor: str) -> SourceKind:
    """Return the kind of an entry's ``vendor``.

    Raises:
        KeyError: no such kind is registered.

    """
    return _SOURCES[vendor]


def registered() -> tuple[SourceKind, ...]:
    """Return every kind, in the order they were registered (the first step's menu order)."""
    return tuple(_SOURCES.values())
