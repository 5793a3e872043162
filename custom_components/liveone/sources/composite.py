"""Composite systems: one home made of other LiveOne systems, with a history of its own.

A composite takes each role from other configured systems (docs/vendors.md#composite): solar from one
or several (summed), battery power and SOC from one, grid from one, load from one or, with none, the
balance ``solar + battery + grid``. It is a system like any other: its 5-minute rows are computed from
its sources' stored 5-minute rows (:mod:`..store.combine`) and written through the interval writer,
so it gets its own running totals, daily rows, history, statistics and access rows.

- **Derived**: every write of a source (its result names the 5-minute intervals written or recomputed,
  late ones included) recomputes the same intervals of the composite.
- **Live values**: the sum of the sources' newest values, at the time of the oldest of them; its energy
  sensors show the composite's own running lifetime totals (what its statistics are built from).
- **Sources come and go**: a role whose source is not loaded is unavailable (not 0); a removed source
  raises a fixable repair issue on the composite whose fix flow picks another source.
- **Remapping** (the options flow, or the fix) rebuilds the composite's rows from its sources' stored
  rows, a day per transaction, in the background, with progress in the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
import functools
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util, slugify
import voluptuous as vol

from ..const import CONF_SITE_ID, CONF_VENDOR, DOMAIN, LOGGER
from ..coordinator import DerivedCoordinator, LiveOneCoordinator, LiveOneData
from ..flow import LiveOneFlowBase
from ..registry import SourceKind
from ..statistics import async_import_statistics
from ..store import BatchResult, StoreError, combine
from ..store.aggregate import INTERVAL
from ..vendors.model import Batch, Reading

if TYPE_CHECKING:
    from ..runtime import LiveOneConfigEntry

VENDOR: Final = "composite"

CONF_SOLAR: Final = "solar_sources"
CONF_BATTERY: Final = "battery_source"
CONF_GRID: Final = "grid_source"
CONF_LOAD: Final = "load_source"
CONF_TITLES: Final = "source_titles"
"""The sources' titles when the mapping was chosen (a removed source's issue names it)."""
CONF_SOURCE: Final = "source"
"""The fix flow's one field: the system that takes the removed source's roles."""
SINGLE_ROLES: Final = (CONF_BATTERY, CONF_GRID, CONF_LOAD)

ISSUE_SOURCE_REMOVED: Final = "composite_source_removed"
REBUILD_MAX_DAYS: Final = 366
"""The most recent days of the sources' rows a rebuild covers (the rebuild action's limit too)."""
CATCH_UP_WINDOW: Final = combine.DAY
"""How far before its newest row a catch-up recomputes the composite (s)."""
REBUILD_LOG_EVERY: Final = 30
"""Days between the rebuild's progress lines in the log."""

ROLE_ENTITIES: Final[Mapping[str, frozenset[str]]] = {
    CONF_SOLAR: frozenset({"solar_power", "solar_energy"}),
    CONF_BATTERY: frozenset(
        {"battery_power", "battery_soc", "battery_charge_energy", "battery_discharge_energy"}
    ),
    CONF_GRID: frozenset({"grid_power", "grid_import_energy", "grid_export_energy"}),
    CONF_LOAD: frozenset({"load_power", "load_energy"}),
}
"""The entities (sensor keys) that show each role."""

type RoleMapping = dict[str, Any]


# ---- the mapping -----------------------------------------------------------------------------------


def entry_mapping(entry: ConfigEntry[Any]) -> RoleMapping:
    """Return an entry's roles: the options flow's choice once made, else the config flow's."""
    chosen = entry.options if CONF_SOLAR in entry.options else entry.data
    return {
        CONF_SOLAR: list(chosen.get(CONF_SOLAR) or []),
        **{role: chosen.get(role) for role in SINGLE_ROLES},
        CONF_TITLES: dict(chosen.get(CONF_TITLES) or {}),
    }


def source_ids(mapping: Mapping[str, Any]) -> list[str]:
    """Return every source entry id of a mapping, once, in role order."""
    ids = [*mapping[CONF_SOLAR], *(mapping[role] for role in SINGLE_ROLES)]
    return list(dict.fromkeys(entry_id for entry_id in ids if entry_id))


def _mapping_from(hass: HomeAssistant, user_input: Mapping[str, Any]) -> RoleMapping:
    mapping: RoleMapping = {
        CONF_SOLAR: list(dict.fromkeys(user_input.get(CONF_SOLAR) or [])),
        **{role: user_input.get(role) or None for role in SINGLE_ROLES},
    }
    mapping[CONF_TITLES] = {entry_id: _title(hass, entry_id) for entry_id in source_ids(mapping)}
    return mapping


def _title(hass: HomeAssistant, entry_id: str) -> str:
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry_id if entry is None else entry.title


def _candidates(hass: HomeAssistant) -> list[SelectOptionDict]:
    """Return the systems a composite may take a role from: every LiveOne system but composites."""
    return [
        SelectOptionDict(value=entry.entry_id, label=entry.title)
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.data.get(CONF_VENDOR) != VENDOR
    ]


def _select(options: list[SelectOptionDict], *, multiple: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=options, multiple=multiple, mode=SelectSelectorMode.DROPDOWN)
    )


def _roles_schema(options: list[SelectOptionDict]) -> dict[vol.Marker, Any]:
    return {
        vol.Optional(CONF_SOLAR): _select(options, multiple=True),
        **{vol.Optional(role): _select(options) for role in SINGLE_ROLES},
    }


def _suggested(hass: HomeAssistant, mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Return a mapping's choices that still exist, as a form's suggested values."""
    known = {option["value"] for option in _candidates(hass)}
    suggested: dict[str, Any] = {CONF_SOLAR: [i for i in mapping[CONF_SOLAR] if i in known]}
    suggested.update({role: mapping[role] for role in SINGLE_ROLES if mapping[role] in known})
    return suggested


# ---- the coordinator -------------------------------------------------------------------------------


def _add(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


class CompositeCoordinator(DerivedCoordinator):
    """A composite: derived from its sources' writes, live values from their coordinators."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up a composite that follows nothing yet (its setup hook starts following)."""
        super().__init__(*args, **kwargs)
        self.mapping: RoleMapping = entry_mapping(self.config_entry)
        self.roles = combine.Roles()
        self._followed: dict[str, tuple[LiveOneCoordinator, list[CALLBACK_TYPE]]] = {}
        self._totals: dict[str, float | None] = {}
        self._lock = asyncio.Lock()
        self._missed: set[int] = set()
        """Interval ends a failed write could not store; the next derivation includes them."""
        self._rebuild: asyncio.Task[None] | None = None
        self._pending_ends: set[int] = set()
        """The interval ends of the derivation being stored."""

    # ---- sources

    async def _async_prepare(self) -> None:
        """Find the sources' systems and the composite's own totals."""
        self.roles = await self._async_resolve()
        self._totals = await self.store.async_transaction(combine.latest_totals, self.system_id)

    async def _async_resolve(self) -> combine.Roles:
        """Return the store ids of the mapping's sources (a removed source's role has no system)."""
        hass = self.hass
        ids: dict[str, int] = {}
        for entry_id in source_ids(self.mapping):
            source = hass.config_entries.async_get_entry(entry_id)
            found = None
            if source is not None:
                found = await self.store.async_find_system(
                    source.data[CONF_VENDOR], source.data[CONF_SITE_ID]
                )
            ids[entry_id] = combine.NO_SYSTEM if found is None else found

        def single(role: str) -> int | None:
            entry_id = self.mapping[role]
            return None if not entry_id else ids[entry_id]

        return combine.Roles(
            solar=tuple(dict.fromkeys(ids[entry_id] for entry_id in self.mapping[CONF_SOLAR])),
            battery=single(CONF_BATTERY),
            grid=single(CONF_GRID),
            load=single(CONF_LOAD),
        )

    @callback
    def async_follow_loaded(self) -> None:
        """Follow every source that is loaded and stop following those that are not."""
        wanted = source_ids(self.mapping)
        for entry_id in list(self._followed):
            source = self.hass.config_entries.async_get_entry(entry_id)
            feeder = self._followed[entry_id][0]
            if (
                entry_id not in wanted
                or source is None
                or source.state is not ConfigEntryState.LOADED
                or source.runtime_data.coordinator is not feeder
            ):
                for unsub in self._followed.pop(entry_id)[1]:
                    unsub()
        for entry_id in wanted:
            source = self.hass.config_entries.async_get_entry(entry_id)
            if entry_id in self._followed or source is None or source.state is not ConfigEntryState.LOADED:
                continue
            feeder = source.runtime_data.coordinator
            self._followed[entry_id] = (
                feeder,
                [
                    feeder.async_add_write_listener(functools.partial(self._source_written, feeder)),
                    feeder.async_add_listener(self.async_publish),
                ],
            )

    @callback
    def _source_written(self, feeder: LiveOneCoordinator, result: BatchResult) -> None:
        self.config_entry.async_create_background_task(
            self.hass, self.async_source_written(feeder.system_id, result), f"{DOMAIN} composite derive"
        )

    @callback
    def async_stop(self) -> None:
        """Stop following the sources and any rebuild (the composite unloads)."""
        for _, unsubs in self._followed.values():
            for unsub in unsubs:
                unsub()
        self._followed.clear()
        if self._rebuild is not None:
            self._rebuild.cancel()

    @callback
    def async_entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry[Any]) -> None:
        """React to a source loaded, unloaded or removed (Home Assistant's config-entry signal)."""
        if entry.entry_id not in source_ids(self.mapping):
            return
        if change is ConfigEntryChange.REMOVED:
            self.async_raise_removed(entry.entry_id, entry.title)
        self.async_follow_loaded()
        self.async_publish()
        if change is ConfigEntryChange.REMOVED or entry.state is ConfigEntryState.LOADED:
            self.config_entry.async_create_background_task(
                self.hass, self._async_reresolve(), f"{DOMAIN} composite sources"
            )

    async def _async_reresolve(self) -> None:
        try:
            roles = await self._async_resolve()
        except StoreError as err:
            LOGGER.warning("Could not find %s's sources in the store: %s", self.config_entry.title, err)
            return
        async with self._lock:
            self.roles = roles
        await self.async_catch_up()

    # ---- repair issues

    def _issue_id(self, source_entry_id: str) -> str:
        return f"{ISSUE_SOURCE_REMOVED}_{self.config_entry.entry_id}_{source_entry_id}"

    @callback
    def async_raise_removed(self, source_entry_id: str, title: str | None = None) -> None:
        """Raise the fixable issue that one of the composite's sources was removed."""
        LOGGER.warning(
            "A source of %s was removed; its roles stay unavailable until another is chosen",
            self.config_entry.title,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(source_entry_id),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_SOURCE_REMOVED,
            translation_placeholders={
                "composite": self.config_entry.title,
                "source": title or self.mapping[CONF_TITLES].get(source_entry_id, source_entry_id),
            },
            data={"vendor": VENDOR, "entry_id": self.config_entry.entry_id, "source": source_entry_id},
        )

    @callback
    def async_check_sources(self) -> None:
        """Raise the issue for each source that no longer exists; drop issues of sources no longer used."""
        wanted = source_ids(self.mapping)
        for entry_id in wanted:
            if self.hass.config_entries.async_get_entry(entry_id) is None:
                self.async_raise_removed(entry_id)
        prefix = f"{ISSUE_SOURCE_REMOVED}_{self.config_entry.entry_id}_"
        for domain, issue_id in list(ir.async_get(self.hass).issues):
            if (
                domain == DOMAIN
                and issue_id.startswith(prefix)
                and issue_id.removeprefix(prefix) not in wanted
            ):
                ir.async_delete_issue(self.hass, DOMAIN, issue_id)

    # ---- derivation

    async def _async_derive(self, source_system_id: int, result: BatchResult) -> Batch:
        """Recompute the composite's intervals that the source's write changed (and any missed before)."""
        ends = {*result.intervals, *self._missed}
        intervals = await self.store.async_transaction(combine.combined_intervals, self.roles, ends)
        self._missed -= ends
        self._pending_ends = ends
        return Batch(intervals=tuple(intervals))

    async def async_source_written(self, source_system_id: int, result: BatchResult) -> BatchResult | None:
        """Derive and store the composite's intervals of a source's write, then show the new totals.

        A write that changed no interval (a poll with nothing new), or of a system that is no longer a
        source, stores nothing (not even a session) and returns ``None``.
        """
        if source_system_id not in self.roles.systems or not (result.intervals or self._missed):
            return None
        async with self._lock:
            self._pending_ends = set()
            written = await super().async_source_written(source_system_id, result)
            if written is None:
                self._missed |= self._pending_ends  # the store failed: derive them with the next write
            elif written.intervals:
                try:
                    self._totals = await self.store.async_transaction(combine.latest_totals, self.system_id)
                except StoreError as err:
                    LOGGER.debug("Could not read %s's totals: %s", self.config_entry.title, err)
        self.async_publish()
        return written

    # ---- live values

    async def _async_update_data(self) -> LiveOneData | None:
        """Show the sources' newest values (the composite is never polled)."""
        return self._live()

    @callback
    def async_publish(self) -> None:
        """Show the sources' newest values now."""
        self.async_set_updated_data(self._live())

    def _live(self) -> LiveOneData | None:
        """Return the sum of the sources' newest values at the time of the oldest, or ``None`` without any."""
        mapping = self.mapping
        times: list[int] = []
        unavailable: set[str] = set()

        def data(entry_id: str) -> LiveOneData | None:
            followed = self._followed.get(entry_id)
            shown = None if followed is None else followed[0].data
            if shown is not None:
                times.append(shown.reading.inverter_time)
            return shown

        def role(key: str, entry_ids: list[str], field: str) -> tuple[bool, float | None]:
            """Return whether a role is available (or has no source) and its summed value."""
            shown = [data(entry_id) for entry_id in entry_ids]
            if any(item is None for item in shown):
                unavailable.update(ROLE_ENTITIES[key])
                return False, None
            return True, _add(getattr(item.reading, field) for item in shown if item is not None)

        def ids(key: str) -> list[str]:
            value = mapping[key]
            return list(value) if key == CONF_SOLAR else [value] if value else []

        solar_ok, solar_w = role(CONF_SOLAR, ids(CONF_SOLAR), "solar_w")
        battery_ok, battery_w = role(CONF_BATTERY, ids(CONF_BATTERY), "battery_w")
        soc = None
        if battery_ok and ids(CONF_BATTERY):
            battery = data(ids(CONF_BATTERY)[0])
            soc = None if battery is None else battery.reading.battery_soc
        grid_ok, grid_w = role(CONF_GRID, ids(CONF_GRID), "grid_w")
        if ids(CONF_LOAD):
            _, load_w = role(CONF_LOAD, ids(CONF_LOAD), "load_w")
        elif solar_ok and battery_ok and grid_ok:
            terms = [
                (bool(ids(key)), value)
                for key, value in ((CONF_SOLAR, solar_w), (CONF_BATTERY, battery_w), (CONF_GRID, grid_w))
            ]
            load_w = (
                None
                if any(used and value is None for used, value in terms)
                else sum(v or 0 for _, v in terms)
            )
        else:
            unavailable.update(ROLE_ENTITIES[CONF_LOAD])
            load_w = None
        if not times:
            return None
        totals = self._totals
        reading = Reading(
            inverter_time=min(times),
            solar_w=solar_w,
            battery_w=battery_w,
            battery_soc=soc,
            grid_w=grid_w,
            load_w=load_w,
            solar_kwh_total=totals.get("solar"),
            load_kwh_total=totals.get("load"),
            battery_in_kwh_total=totals.get("battery_in"),
            battery_out_kwh_total=totals.get("battery_out"),
            grid_in_kwh_total=totals.get("grid_in"),
            grid_out_kwh_total=totals.get("grid_out"),
        )
        return LiveOneData(
            reading=reading.normalized(), received_time=dt_util.utcnow(), unavailable=frozenset(unavailable)
        )

    # ---- remapping and rebuilding

    async def async_set_mapping(self, mapping: RoleMapping) -> None:
        """Use a new mapping: follow its sources, drop stale issues, and rebuild from the stored rows."""
        if mapping == self.mapping:
            return
        LOGGER.info("%s's sources changed; its history is rebuilt from theirs", self.config_entry.title)
        self.mapping = mapping
        try:
            roles = await self._async_resolve()
        except StoreError as err:
            LOGGER.error("Could not find %s's sources in the store: %s", self.config_entry.title, err)
            return
        async with self._lock:
            self.roles = roles
        self.async_follow_loaded()
        self.async_check_sources()
        self.async_publish()
        self.async_start_rebuild()

    @callback
    def async_start_rebuild(self) -> None:
        """Rebuild the composite's rows in the background (a running rebuild is replaced)."""
        if self._rebuild is not None:
            self._rebuild.cancel()
        self._rebuild = self.config_entry.async_create_background_task(
            self.hass, self.async_rebuild(), f"{DOMAIN} composite rebuild"
        )

    async def async_rebuild(self) -> None:
        """Recompute every 5-minute row of the composite from its sources' (the newest 366 days).

        The composite's rows are deleted first, then written a day per transaction, oldest first, so
        the running totals chain and live derivations interleave; its statistics are re-imported.
        """
        title = self.config_entry.title
        roles = self.roles
        try:
            async with self._lock:
                span = await self.store.async_transaction(combine.source_span, roles)
                await self.store.async_transaction(combine.clear_rows, self.system_id)
            if span is None:
                LOGGER.info("Rebuilt %s: its sources have no 5-minute rows yet", title)
                return
            first = max(span[0], span[1] - REBUILD_MAX_DAYS * combine.DAY + INTERVAL)
            count = await self._async_recompute(roles, first, span[1], "Rebuilding")
            LOGGER.info("Rebuilt %s: %d intervals", title, count)
        except StoreError as err:
            LOGGER.error("Could not rebuild %s from its sources: %s", title, err)

    async def async_catch_up(self) -> None:
        """Recompute the composite from a day before its newest row on: what its sources wrote unfollowed.

        A source writes during its own setup (a resumed simulation, a backfill, the readings since a
        restart) before the composite can follow it, and while the composite is not loaded; such writes
        may also rewrite the source's recent past. Rows that come out the same are not written again
        (the interval writer skips them), so this costs a read of a day.
        """
        if self._rebuild is not None and not self._rebuild.done():
            return  # the rebuild covers it
        title = self.config_entry.title
        roles = self.roles
        try:
            async with self._lock:
                newest = await self.store.async_transaction(combine.newest_end, self.system_id)
                span = await self.store.async_transaction(combine.source_span, roles)
            if newest is None or span is None:
                return  # no history yet: the rebuild at setup makes it
            first = max(
                newest - CATCH_UP_WINDOW, span[0], span[1] - REBUILD_MAX_DAYS * combine.DAY + INTERVAL
            )
            count = await self._async_recompute(roles, first, span[1], "Catching up")
            LOGGER.debug("Caught up %s: %d intervals", title, count)
        except StoreError as err:
            LOGGER.error("Could not catch %s up with its sources: %s", title, err)

    async def _async_recompute(self, roles: combine.Roles, first: int, last: int, doing: str) -> int:
        """Write the composite's intervals ending in ``[first, last]``, a day per transaction; return how many.

        Then show the new totals and re-import the statistics from ``first`` on.
        """
        title = self.config_entry.title
        store = self.store
        starts = range(first, last + 1, combine.DAY)
        LOGGER.info("%s %s from its sources' history: %d day(s)", doing, title, len(starts))
        count = 0
        for done, start in enumerate(starts, 1):
            async with self._lock:
                intervals = await store.async_transaction(
                    combine.combined_range, roles, start, min(start + combine.DAY - INTERVAL, last)
                )
                await store.async_write_intervals(self.system_id, intervals)
            count += len(intervals)
            if done % REBUILD_LOG_EVERY == 0:
                LOGGER.info("%s %s: day %d of %d", doing, title, done, len(starts))
        self._totals = await store.async_transaction(combine.latest_totals, self.system_id)
        self.async_publish()
        await async_import_statistics(
            self.hass, self.config_entry, since=datetime.fromtimestamp(first - INTERVAL, UTC)
        )
        return count


# ---- setup, removal ----------------------------------------------------------------------------------


async def _async_setup_composite(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Follow the sources, watch them come and go, and build the history when there is none."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, CompositeCoordinator)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, coordinator.async_entry_changed)
    )
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    entry.async_on_unload(coordinator.async_stop)
    coordinator.async_follow_loaded()
    coordinator.async_check_sources()
    coordinator.async_publish()
    try:
        built = await coordinator.store.async_transaction(combine.has_rows, coordinator.system_id)
    except StoreError as err:
        LOGGER.warning("Could not read %s's rows: %s", entry.title, err)
        return
    if not built:
        coordinator.async_start_rebuild()
    else:
        entry.async_create_background_task(hass, coordinator.async_catch_up(), f"{DOMAIN} composite catch-up")


async def _async_entry_updated(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Apply a new mapping (the options flow, or a repair's fix)."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, CompositeCoordinator)
    await coordinator.async_set_mapping(entry_mapping(entry))


async def _async_remove_composite(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Delete the composite's repair issues with it."""
    prefix = f"{ISSUE_SOURCE_REMOVED}_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


# ---- flows -------------------------------------------------------------------------------------------


def _has_role(mapping: Mapping[str, Any]) -> bool:
    return bool(source_ids(mapping))


class CompositeFlow(LiveOneFlowBase):
    """The composite's config-flow step: a name and a source per role."""

    async def async_step_composite(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Name the composite and pick its sources."""
        options = _candidates(self.hass)
        if not options:
            return self.async_abort(reason="composite_no_systems")
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            mapping = _mapping_from(self.hass, user_input)
            if not any(character.isalnum() for character in name):
                errors[CONF_NAME] = "invalid_name"
            elif not _has_role(mapping):
                errors["base"] = "composite_no_roles"
            else:
                site_id = slugify(name)
                await self.async_set_system_id(VENDOR, site_id)
                self._abort_if_unique_id_configured()
                return self.async_create_system_entry(VENDOR, site_id, title=name, data=mapping)
        schema = vol.Schema({vol.Required(CONF_NAME): TextSelector(), **_roles_schema(options)})
        return self.async_show_form(
            step_id="composite",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )


class CompositeOptions(OptionsFlow):
    """Change a composite's sources; its history is rebuilt from theirs."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the composite's step (its strings are the composite's own)."""
        return await self.async_step_composite(user_input)

    async def async_step_composite(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the sources again."""
        errors: dict[str, str] = {}
        if user_input is not None:
            mapping = _mapping_from(self.hass, user_input)
            if _has_role(mapping):
                return self.async_create_entry(data=mapping)
            errors["base"] = "composite_no_roles"
        schema = vol.Schema(_roles_schema(_candidates(self.hass)))
        suggested = (
            user_input if user_input is not None else _suggested(self.hass, entry_mapping(self.config_entry))
        )
        return self.async_show_form(
            step_id="composite",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )


def replace_source(mapping: Mapping[str, Any], old: str, new: str | None) -> RoleMapping:
    """Return a mapping with every role of ``old`` taken by ``new`` (``None``: by nothing)."""
    solar = [new if entry_id == old else entry_id for entry_id in mapping[CONF_SOLAR]]
    replaced: RoleMapping = {
        CONF_SOLAR: list(dict.fromkeys(entry_id for entry_id in solar if entry_id)),
        **{role: new if mapping[role] == old else mapping[role] for role in SINGLE_ROLES},
    }
    titles = {k: v for k, v in mapping[CONF_TITLES].items() if k != old}
    replaced[CONF_TITLES] = titles
    return replaced


class SourceRemovedFixFlow(RepairsFlow):
    """Pick the system that takes a removed source's roles in a composite."""

    def __init__(self, composite_entry_id: str, source_entry_id: str) -> None:
        """Fix one composite's one removed source."""
        self._composite = composite_entry_id
        self._source = source_entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start at the question (the repairs manager hands this step the issue, not an answer)."""
        return await self.async_step_pick()

    async def async_step_pick(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for the replacement, then remap the composite (which rebuilds its history)."""
        hass = self.hass
        entry = hass.config_entries.async_get_entry(self._composite)
        if entry is None:
            return self.async_abort(reason="composite_removed")
        mapping = entry_mapping(entry)
        errors: dict[str, str] = {}
        if user_input is not None:
            new = user_input.get(CONF_SOURCE) or None
            remapped = replace_source(mapping, self._source, new)
            if new is not None:
                remapped[CONF_TITLES][new] = _title(hass, new)
            if _has_role(remapped):
                hass.config_entries.async_update_entry(entry, options=remapped)
                return self.async_create_entry(data={})
            errors["base"] = "composite_no_roles"
        schema = vol.Schema({vol.Optional(CONF_SOURCE): _select(_candidates(hass))})
        return self.async_show_form(
            step_id="pick",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "composite": entry.title,
                "source": mapping[CONF_TITLES].get(self._source, self._source),
            },
        )


def _fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    info = data or {}
    return SourceRemovedFixFlow(str(info.get("entry_id")), str(info.get("source")))


SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer="LiveOne (composite)",
    coordinator=CompositeCoordinator,
    flow=CompositeFlow,
    options_flow=CompositeOptions,
    async_setup_entry=_async_setup_composite,
    async_remove_entry=_async_remove_composite,
    fix_flow=_fix_flow,
    # Any user may download an entry's diagnostics: they must not name the sources (docs/access.md).
    redact=frozenset({CONF_SOLAR, *SINGLE_ROLES, CONF_TITLES}),
)

__all__ = [
    "SOURCE",
    "CompositeCoordinator",
    "entry_mapping",
    "replace_source",
    "source_ids",
]
