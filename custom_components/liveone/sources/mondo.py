"""Mondo Power: one entry per monitoring-point group, polled every 2 minutes, a device per point.

Its client is :mod:`..vendors.mondo` (protocol in docs/vendors.md, Mondo Power); this module is its
coordinator, its config-flow steps (account, group, reauthentication, reconfigure), its options (how
long a point may be gone before its device is removed) and its declaration in the registry.

* The groups of one account share one :class:`~..vendors.mondo.MondoAccount` through an
  :class:`~..accounts.AccountPool`: one login, one token for all of them.
* Each poll stores one system reading (SOC, load, solar, battery, grid in LiveOne's signs, lifetime
  totals) and two values per monitoring point (power W, energy Wh) in one batch.
* Each point has its own device (attached to the system's through ``via_device_id``) with a power and an energy sensor, added
  when the point first appears (the kind's ``sensors_fn``); a point absent from the vendor's list for
  longer than the ``stale_days`` option loses its device and entities (HA's stale-devices rule), and
  gets them back (a reload of the entry) if it ever returns.
* Renaming a point's entity writes the new name to ``point_info.display_name`` (clearing it restores the
  vendor's name); polls never overwrite it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, ClassVar, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD, UnitOfEnergy, UnitOfPower
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util import dt as dt_util
import voluptuous as vol

from ..accounts import AccountPool
from ..const import CONF_SITE_ID, DOMAIN, LOGGER
from ..coordinator import LiveOneCoordinator, LiveOneData, PollingCoordinator
from ..descriptions import LiveOneSensorEntityDescription
from ..entity import device_identifier
from ..flow import CREDENTIALS_SCHEMA, PASSWORD_SCHEMA, LiveOneFlowBase, email_account_key
from ..http_session import async_get_session
from ..registry import SourceKind
from ..runtime import LiveOneConfigEntry
from ..store import StoreError
from ..vendors.model import AuthError, Batch, Reading, VendorError, system_key
from ..vendors.mondo import (
    API_URL,
    DOCUMENTED_SIGNS,
    IDENTITY_URL,
    MondoAccount,
    MondoGroup,
    MondoPoint,
    SiteForbidden,
    balances,
    imbalance_w,
    solar_counter_kwh,
    with_totals,
)

VENDOR: Final = "mondo"
MANUFACTURER: Final = "Mondo Power"

CONF_GROUP: Final = "group"
CONF_ORGANIZATION: Final = "organization"
CONF_STALE_DAYS: Final = "stale_days"
DEFAULT_STALE_DAYS: Final = 7
"""A point absent from the vendor's list this many days loses its device and entities."""

POLL_INTERVAL: Final = timedelta(minutes=2)
TRANSIENT_GRACE_POLLS: Final = 2

MONDO_IDENTITY_URL = IDENTITY_URL
MONDO_API_URL = API_URL
"""Where Mondo is (tests point them at fake servers on 127.0.0.1)."""

ACCOUNTS: Final[AccountPool[MondoAccount]] = AccountPool(VENDOR)


def new_account(hass: HomeAssistant, email: str, password: str) -> MondoAccount:
    """Create a Mondo client for an account, on LiveOne's cookie-less session."""
    return MondoAccount(
        async_get_session(hass), email, password, identity_url=MONDO_IDENTITY_URL, api_url=MONDO_API_URL
    )


@dataclass(slots=True)
class MondoPointState:
    """What the coordinator knows of one monitoring point."""

    point_id: str
    name: str
    subsystem: str | None
    load_type: str | None
    last_seen: float
    """When (Unix s) the vendor last listed it."""
    power_w: float | None = None
    energy_wh: float | None = None


class MondoCoordinator(PollingCoordinator):
    """A Mondo Power monitoring-point group: subcircuits and live usage every 2 minutes."""

    default_interval: ClassVar[timedelta] = POLL_INTERVAL
    transient_grace_polls: ClassVar[int] = TRANSIENT_GRACE_POLLS
    account: MondoAccount

    def _setup_state(self) -> None:
        self.points: dict[str, MondoPointState] = {}
        self.removed: set[str] = set()
        self._previous: Reading | None = None
        self._unbalanced_said = False
        self._signs_said = False
        self._linked: set[str] = set()

    async def _async_prepare(self) -> None:
        """Share the account's client; resume the totals and the points from the store."""
        self._setup_state()
        email, password = self.config_entry.data[CONF_EMAIL], self.config_entry.data[CONF_PASSWORD]
        key = email_account_key(email, password)
        self.account = ACCOUNTS.async_acquire(self.hass, key, lambda: new_account(self.hass, email, password))
        self.config_entry.async_on_unload(lambda: ACCOUNTS.async_release(self.hass, key))
        stored = await self.store.async_latest_reading(self.system_id)
        self._previous = None if stored is None else stored.reading
        for info in await self.store.async_list_points(self.system_id):
            seen = (info.last_seen_ms or 0) / 1000
            known = self.points.get(info.point_id)
            if known is None:
                self.points[info.point_id] = MondoPointState(
                    point_id=info.point_id,
                    name=info.point_name,
                    subsystem=info.subsystem,
                    load_type=None,
                    last_seen=seen,
                )
            else:
                known.last_seen = max(known.last_seen, seen)
        self._remove_stale()

    def point_identifier(self, point_id: str) -> tuple[str, str]:
        """Return the device registry identifier of one of the system's points."""
        return (DOMAIN, f"{system_key(self.vendor, self.site_id)}_point_{point_id}")

    async def _async_fetch(self) -> Batch:
        """Read the group, keep the points up to date, and return the system reading and point values."""
        live = await self.account.async_get_live(self.site_id)
        for problem in live.problems:
            LOGGER.debug("%s: %s", self.config_entry.title, problem)
        if not balances(live.reading) and not self._unbalanced_said:
            LOGGER.warning(
                "%s: Mondo's solar, battery and grid do not add up to its load (off by %.0f W)",
                self.config_entry.title,
                imbalance_w(live.reading) or 0,
            )
            self._unbalanced_said = True
        if live.signs != DOCUMENTED_SIGNS and not self._signs_said:
            LOGGER.warning(
                "%s: Mondo's figures balance only with battery %s = charging and grid %s = import "
                "(not as documented); LiveOne uses that for such readings",
                self.config_entry.title,
                "negative" if live.signs[0] > 0 else "positive",
                "positive" if live.signs[1] > 0 else "negative",
            )
            self._signs_said = True
        previous = self._previous
        reading = with_totals(previous, live.reading, solar_counter_kwh(live.points))
        if previous is None or reading.inverter_time > previous.inverter_time:
            self._previous = reading
        self._track_points(live.points)
        return Batch(readings=(reading,), points=live.point_readings(), raw=live.body)

    def _track_points(self, points: Iterable[MondoPoint]) -> None:
        now = dt_util.utcnow().timestamp()
        listed: set[str] = set()
        for point in points:
            listed.add(point.point_id)
            if point.point_id in self.removed:
                # Its device was removed as stale: a reload gives it its entities again.
                LOGGER.info("%s: monitoring point %s is back", self.config_entry.title, point.name)
                self.removed.discard(point.point_id)
                self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
            self.points[point.point_id] = MondoPointState(
                point_id=point.point_id,
                name=point.name,
                subsystem=point.subsystem,
                load_type=point.load_type,
                last_seen=now,
                power_w=point.power_w,
                energy_wh=point.energy_wh,
            )
        for point_id, state in self.points.items():
            if point_id not in listed:
                state.power_w = state.energy_wh = None
        self._remove_stale()
        self._link_devices()

    def _link_devices(self) -> None:
        """Give each listed point its device, attached to the system's device (``via_device_id``).

        Made here rather than by the entities' ``DeviceInfo`` because ``DeviceInfo(via_device=...)``
        is deprecated in current Home Assistant and ``via_device_id`` does not exist in older ones
        (docs/architecture.md); the device registry's ``via_device_id`` works in both.
        """
        registry = dr.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        system = registry.async_get_or_create(
            config_entry_id=entry_id,
            identifiers={device_identifier(self.vendor, self.site_id)},
            name=self.config_entry.title,
            manufacturer=MANUFACTURER,
        )
        for point_id, state in self.points.items():
            if point_id in self._linked:
                continue
            device = registry.async_get_or_create(
                config_entry_id=entry_id,
                identifiers={self.point_identifier(point_id)},
                name=state.name,
                manufacturer=MANUFACTURER,
                model=state.load_type,
            )
            if device.via_device_id != system.id:
                registry.async_update_device(device.id, via_device_id=system.id)
            self._linked.add(point_id)

    def _remove_stale(self) -> None:
        """Remove the devices (and so the entities) of points gone longer than the option allows."""
        days = self.config_entry.options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS)
        cutoff = dt_util.utcnow().timestamp() - days * 86400
        registry = dr.async_get(self.hass)
        for point_id, state in list(self.points.items()):
            if state.last_seen >= cutoff:
                continue
            del self.points[point_id]
            self.removed.add(point_id)
            self._linked.discard(point_id)
            device = registry.async_get_device(identifiers={self.point_identifier(point_id)})
            if device is not None and self.config_entry.entry_id in device.config_entries:
                LOGGER.info(
                    "%s: monitoring point %s has been gone for more than %s days; its device is removed",
                    self.config_entry.title,
                    state.name,
                    days,
                )
                registry.async_update_device(device.id, remove_config_entry_id=self.config_entry.entry_id)


def _power_template(translation_key: str) -> LiveOneSensorEntityDescription:
    return LiveOneSensorEntityDescription(
        key="point_power",
        translation_key=translation_key,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda _data: None,  # each point's own replaces it
    )


def _energy_template(translation_key: str) -> LiveOneSensorEntityDescription:
    return LiveOneSensorEntityDescription(
        key="point_energy",
        translation_key=translation_key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda _data: None,  # each point's own replaces it
    )


POINT_SENSORS: Final[
    Mapping[str | None, tuple[LiveOneSensorEntityDescription, LiveOneSensorEntityDescription]]
] = {
    None: (_power_template("point_power"), _energy_template("point_energy")),
    "solar": (_power_template("point_solar_power"), _energy_template("point_solar_energy")),
    "battery": (_power_template("point_battery_power"), _energy_template("point_battery_energy")),
    "grid": (_power_template("point_grid_power"), _energy_template("point_grid_energy")),
    "inverter": (_power_template("point_inverter_power"), _energy_template("point_inverter_energy")),
    "load": (_power_template("point_load_power"), _energy_template("point_load_energy")),
}
"""A point's power and energy sensors by its subsystem (its icon); an unknown subsystem uses ``None``'s."""


def _point_sensors(coordinator: LiveOneCoordinator) -> Iterable[LiveOneSensorEntityDescription]:
    """Describe a power and an energy sensor per known point, on the point's own device."""
    assert isinstance(coordinator, MondoCoordinator)
    for point_id, state in list(coordinator.points.items()):
        device = DeviceInfo(identifiers={coordinator.point_identifier(point_id)})
        power, energy = POINT_SENSORS.get(state.subsystem, POINT_SENSORS[None])
        yield replace(
            power,
            key=f"point_{point_id}_power",
            device_info=device,
            value_fn=_point_value_fn(coordinator, point_id, "power"),
        )
        yield replace(
            energy,
            key=f"point_{point_id}_energy",
            device_info=device,
            value_fn=_point_value_fn(coordinator, point_id, "energy"),
        )


def _point_value_fn(
    coordinator: MondoCoordinator, point_id: str, sub: str
) -> Callable[[LiveOneData], float | None]:
    """Return how a point sensor reads its value: the point's latest, ``None`` while it is not listed."""

    def value(_data: LiveOneData) -> float | None:
        state = coordinator.points.get(point_id)
        if state is None:
            return None
        return state.power_w if sub == "power" else state.energy_wh

    return value


async def _async_setup_entry(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Follow renames of the point entities into ``point_info.display_name``."""
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, MondoCoordinator)
    prefix = f"{system_key(coordinator.vendor, coordinator.site_id)}_point_"

    async def _renamed(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        data = event.data
        if data["action"] != "update" or "name" not in data["changes"]:
            return
        registry_entry = er.async_get(hass).async_get(data["entity_id"])
        if (
            registry_entry is None
            or registry_entry.config_entry_id != entry.entry_id
            or not registry_entry.unique_id.startswith(prefix)
        ):
            return
        point_id, _, sub = registry_entry.unique_id.removeprefix(prefix).rpartition("_")
        try:
            name = await coordinator.store.async_rename_point(
                coordinator.system_id, point_id, sub, registry_entry.name
            )
        except (StoreError, LookupError) as err:
            LOGGER.warning("Could not keep the new name of %s: %s", data["entity_id"], err)
            return
        LOGGER.debug("Monitoring point %s/%s is now called %s", point_id, sub, name)

    entry.async_on_unload(hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, _renamed))


class MondoOptionsFlow(OptionsFlow):
    """How many days a monitoring point may be gone before its device is removed."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the Mondo options."""
        return await self.async_step_mondo_options(user_input)

    async def async_step_mondo_options(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the stale-point limit."""
        if user_input is not None:
            return self.async_create_entry(data={CONF_STALE_DAYS: int(user_input[CONF_STALE_DAYS])})
        schema = vol.Schema(
            {
                vol.Required(CONF_STALE_DAYS): NumberSelector(
                    NumberSelectorConfig(
                        min=1, max=365, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="d"
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="mondo_options",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_STALE_DAYS: self.config_entry.options.get(CONF_STALE_DAYS, DEFAULT_STALE_DAYS)}
            ),
        )


class MondoFlow(LiveOneFlowBase):
    """Mondo Power's steps: account, group; reauthentication and reconfigure."""

    _mondo_account: MondoAccount | None = None
    _mondo_credentials: dict[str, str]
    _mondo_groups: list[MondoGroup]

    async def _async_mondo_login(self, email: str, password: str) -> dict[str, str]:
        """Log in (or reuse a logged-in account) and list its groups; return the form errors."""
        account = ACCOUNTS.async_find(self.hass, email_account_key(email, password)) or new_account(
            self.hass, email, password
        )
        try:
            groups = await account.async_list_groups()
        except AuthError:
            return {"base": "mondo_invalid_auth"}
        except VendorError as err:
            LOGGER.debug("Mondo could not be reached: %s", err)
            return {"base": "mondo_cannot_connect"}
        except Exception:  # noqa: BLE001  (a config flow reports anything else as "unknown")
            LOGGER.exception("Unexpected error logging in to Mondo")
            return {"base": "unknown"}
        if not groups:
            return {"base": "mondo_no_groups"}
        self._mondo_account = account
        self._mondo_groups = groups
        self._mondo_credentials = {CONF_EMAIL: email, CONF_PASSWORD: password}
        return {}

    async def async_step_mondo(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Mondo Power account and test it."""
        return await self._async_mondo_credentials("mondo", user_input, user_input)

    async def _async_mondo_credentials(
        self, step_id: str, user_input: dict[str, Any] | None, suggested: Mapping[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_mondo_login(user_input[CONF_EMAIL].strip(), user_input[CONF_PASSWORD])
            if not errors:
                return await self.async_step_mondo_group()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(CREDENTIALS_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_mondo_group(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the monitoring-point groups of the account's organisations."""
        account = self._mondo_account
        assert account is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            group = next(g for g in self._mondo_groups if g.id == user_input[CONF_GROUP])
            try:
                await account.async_get_live(group.id)
            except SiteForbidden:
                errors["base"] = "mondo_group_forbidden"
            except AuthError:
                errors["base"] = "mondo_invalid_auth"
            except VendorError as err:
                LOGGER.debug("Mondo group %s could not be read: %s", group.id, err)
                errors["base"] = "mondo_cannot_connect"
            else:
                return await self._async_finish_mondo(group)
        options = [
            SelectOptionDict(value=group.id, label=f"{group.name} ({group.organization})")
            for group in self._mondo_groups
        ]
        return self.async_show_form(
            step_id="mondo_group",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_GROUP): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
            errors=errors,
            description_placeholders={"count": str(len(options))},
        )

    async def _async_finish_mondo(self, group: MondoGroup) -> ConfigFlowResult:
        data = {**self._mondo_credentials, CONF_ORGANIZATION: group.organization}
        await self.async_set_system_id(VENDOR, group.id)
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if self.unique_id != entry.unique_id:
                self._abort_if_unique_id_configured()
            return self.async_update_reload_and_abort(
                entry, unique_id=self.unique_id, data_updates={CONF_SITE_ID: group.id, **data}
            )
        self._abort_if_unique_id_configured()
        return self.async_create_system_entry(VENDOR, group.id, title=group.name, data=data)

    async def async_step_mondo_reauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Mondo refused the stored password: test the new one and reload the group with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_mondo_login(entry.data[CONF_EMAIL], user_input[CONF_PASSWORD])
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="mondo_reauth",
            data_schema=PASSWORD_SCHEMA,
            errors=errors,
            description_placeholders={"email": entry.data[CONF_EMAIL]},
        )

    async def async_step_mondo_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a Mondo entry's account or group."""
        entry = self._get_reconfigure_entry()
        return await self._async_mondo_credentials(
            "mondo_reconfigure", user_input, user_input or {CONF_EMAIL: entry.data[CONF_EMAIL]}
        )


SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer=MANUFACTURER,
    coordinator=MondoCoordinator,
    flow=MondoFlow,
    reauth_step="mondo_reauth",
    reconfigure_step="mondo_reconfigure",
    options_flow=MondoOptionsFlow,
    sensors_fn=_point_sensors,
    async_setup_entry=_async_setup_entry,
)
