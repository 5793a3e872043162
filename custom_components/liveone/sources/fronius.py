"""Fronius by push: one Home Assistant webhook per system, for a bridge or a Datamanager.

The webhook takes a LiveOne bridge's body and a Fronius Datamanager's own Push Service (Solar API v1
power flow). The bodies are checked and parsed in :mod:`..vendors.fronius`; this module is the coordinator (a
:class:`~..coordinator.PushCoordinator`), the webhook's handler, the config and options flows, and the
declaration in the registry. Protocol facts: ``docs/vendors.md`` (Fronius (push)).

What a push is answered (every push, refused ones included, leaves a ``sessions`` row with cause
``PUSH`` and its outcome in ``polling_status``):

- 429 above :data:`RATE_LIMIT` pushes in :data:`RATE_WINDOW` (checked first; ``Retry-After`` says when);
- 413 for a body above 64 KiB (read with that limit, never whole);
- 415 for a body that is not JSON;
- 401 for a wrong or missing ``apiKey`` (bridge) or Basic credentials (Datamanager), with one body
  whatever was wrong, and nothing stored;
- 400 naming the bad field;
- 409 for a reading time already stored (the store refuses the whole push in its one transaction);
- 503 when the store cannot write (the reading is kept and stored with the next push);
- 200 with a small JSON body otherwise (``test`` stores nothing and says so).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import json
import secrets
import time
from typing import Any, ClassVar, Final

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.const import (
    CONF_API_KEY,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_USERNAME,
    CONF_WEBHOOK_ID,
    EntityCategory,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.selector import (
    BooleanSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util, slugify
import voluptuous as vol

from ..const import LOGGER
from ..coordinator import LiveOneData, PushCoordinator
from ..descriptions import LiveOneSensorEntityDescription
from ..flow import LiveOneFlowBase
from ..registry import SourceKind
from ..runtime import LiveOneConfigEntry
from ..store import BatchResult, Store, SystemInfo
from ..vendors.fronius import (
    BRIDGE,
    MAX_BODY_BYTES,
    BadPush,
    BodyFormat,
    Push,
    PushRefused,
    api_key_matches,
    basic_matches,
    body_format,
    parse_bridge,
    parse_solar_api,
    redacted,
    running_totals,
    totals_of,
)
from ..vendors.model import Batch, Reading, time_problem

VENDOR: Final = "fronius"

CONF_ALLOW_EXTERNAL: Final = "allow_external"
CONF_REGENERATE: Final = "regenerate_secret"

SILENCE: Final = timedelta(minutes=5)
RATE_LIMIT: Final = 12
"""Pushes a system may send in :data:`RATE_WINDOW`; a bridge sends one a minute."""
RATE_WINDOW: Final = 60.0

UNAUTHORIZED: Final = {"error": "unauthorized"}
"""The one 401 body: it says nothing of what was wrong, nor of the system."""


def new_secret() -> str:
    """Return a new per-system secret for the bridge's ``apiKey`` (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def webhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """Return the full address of a system's webhook, or its path when Home Assistant knows no URL of its own."""
    try:
        return webhook.async_generate_url(hass, webhook_id)
    except NoURLAvailableError:
        return webhook.async_generate_path(webhook_id)


class RateLimiter:
    """At most ``limit`` events in any ``window`` seconds (by Home Assistant's clock, which tests move)."""

    def __init__(self, limit: int, window: float) -> None:
        """Start with no events."""
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def allow(self, now: float) -> float | None:
        """Count an event at ``now`` and return ``None``, or return the seconds to wait (not counted)."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return self._times[0] + self.window - now
        self._times.append(now)
        return None


class FroniusCoordinator(PushCoordinator):
    """A Fronius system fed by its webhook; unavailable after five minutes without a push."""

    silence: ClassVar[timedelta] = SILENCE
    refuse_stored: ClassVar[bool] = True

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LiveOneConfigEntry,
        store: Store,
        system_id: int,
        *,
        info: SystemInfo,
    ) -> None:
        """Set up the push state: the rate, the running totals, the last push."""
        super().__init__(hass, entry, store, system_id, info=info)
        self.rate = RateLimiter(RATE_LIMIT, RATE_WINDOW)
        self.last_push: datetime | None = None
        self._lock = asyncio.Lock()
        self._totals: dict[str, float] = {}
        self._totals_time: int | None = None
        self._fault: tuple[int, str] | None = None

    async def _async_prepare(self) -> None:
        """Resume the bridge's running totals, and its fault text, from the newest stored reading."""
        stored = await self.store.async_latest_reading(self.system_id)
        if stored is None:
            return
        self._totals = totals_of(stored.reading)
        self._totals_time = stored.reading.inverter_time
        # The fault code's text is not a column: the last body kept in polling_status has it.
        last = await self.store.async_last_response(self.system_id)
        try:
            loaded = json.loads(last) if last else None
            push = (
                parse_bridge(loaded, tz_offset_min=self.tz_offset_min) if isinstance(loaded, dict) else None
            )
        except (ValueError, RecursionError, BadPush):  # not a bridge body (a Solar API document)
            push = None
        reading = None if push is None else push.reading
        if reading is not None and reading.inverter_time == stored.reading.inverter_time:
            assert push is not None
            if push.fault_text is not None:
                self._fault = (reading.inverter_time, push.fault_text)

    @callback
    def async_start_silence(self) -> None:
        """Count the silence from setup: a system that never pushes again goes unavailable."""
        self._arm_silence()

    def fault_text(self, reading: Reading) -> str | None:
        """Return the fault code of a reading as the bridge sent it (``E102``), else its stored number."""
        if self._fault is not None and self._fault[0] == reading.inverter_time:
            return self._fault[1]
        return None if reading.fault_code is None else str(reading.fault_code)

    async def async_refused(self, started: float, status: HTTPStatus, reason: str) -> None:
        """Record a refused push: a failed session, and its reason in ``polling_status``."""
        await self._async_record_failure(started, PushRefused(f"{int(status)} {reason}"))

    async def async_test_push(self) -> None:
        """Record a bridge's ``test`` push: a successful session that stores nothing."""
        self.last_push = dt_util.utcnow()
        await self.async_receive(Batch())
        if self.data is not None:
            self.async_update_listeners()

    async def async_store_push(self, push: Push, raw: str) -> BatchResult | None:
        """Store one push's reading, with the bridge's running totals; ``None``: the store failed.

        Pushes are stored one at a time, so that each running total builds on the one before. A bridge
        reading older than the newest one the totals have seen gets no totals (its interval energy is
        still stored, and counted where its interval has no totals).
        """
        assert push.reading is not None
        async with self._lock:
            reading = push.reading
            after: dict[str, float] | None = None
            if push.format == BRIDGE and (
                self._totals_time is None or reading.inverter_time > self._totals_time
            ):
                reading, after = running_totals(reading, self._totals)
            # Set before the entities update (in async_receive); a refused push puts it back.
            fault = self._fault
            if push.fault_text is not None:
                self._fault = (reading.inverter_time, push.fault_text)
            self.last_push = dt_util.utcnow()
            result = await self.async_receive(Batch(readings=(reading,), raw=raw))
            # A reading the store could not write yet is kept and written later, with these totals.
            kept = result is None or result.rows_written > 0
            if after is not None and kept:
                self._totals = after
                self._totals_time = reading.inverter_time
            if not kept:
                self._fault = fault
            return result


# ---- the webhook ----------------------------------------------------------------------------------------


async def _read_body(request: web.Request) -> bytes | None:
    """Read the body, never more than one byte past the limit; ``None``: it is larger than the limit."""
    # A request relayed by Home Assistant's cloud or WebSocket API (a MockRequest) has no length.
    length: int | None = getattr(request, "content_length", None)
    if length is not None and length > MAX_BODY_BYTES:
        return None
    data = bytearray()
    stream = request.content  # once: a MockRequest makes a new reader at each access
    while chunk := await stream.read(MAX_BODY_BYTES + 1 - len(data)):
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            return None
    return bytes(data)


def _parse(
    body: Any, shape: BodyFormat | None, problem: BadPush | None, tz_offset_min: int, now: float
) -> Push:
    """Check an authenticated body of either shape; raise :class:`BadPush` naming the field at fault."""
    if shape is None:
        assert problem is not None
        raise problem
    push = parse_bridge(body, tz_offset_min=tz_offset_min) if shape == BRIDGE else parse_solar_api(body)
    if push.reading is not None and (late := time_problem(push.reading.inverter_time, now)):
        field = "timestamp" if shape == BRIDGE else "Head.Timestamp"
        raise BadPush(field, late.split(": ", 1)[-1])
    return push


def _answer(status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=int(status), headers=headers)


async def async_handle_push(
    hass: HomeAssistant, entry: LiveOneConfigEntry, request: web.Request
) -> web.Response:
    """Answer one push to a system's webhook (see the module docstring for the answers)."""
    started = time.time()
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, FroniusCoordinator)

    async def refuse(
        status: HTTPStatus, reason: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> web.Response:
        LOGGER.debug("%s: push refused (%d): %s", entry.title, status, reason)
        await coordinator.async_refused(started, status, reason)
        return _answer(status, body, headers)

    if (wait := coordinator.rate.allow(dt_util.utcnow().timestamp())) is not None:
        return await refuse(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"more than {RATE_LIMIT} pushes in {RATE_WINDOW:g} s",
            {"error": f"more than {RATE_LIMIT} pushes a minute"},
            {"Retry-After": str(max(1, int(wait + 0.999)))},
        )
    raw = await _read_body(request)
    if raw is None:
        return await refuse(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"body larger than {MAX_BODY_BYTES} bytes",
            {"error": f"body larger than {MAX_BODY_BYTES} bytes"},
        )
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return await refuse(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "body is not JSON", {"error": "the body is not JSON"}
        )

    data = entry.data
    shape: BodyFormat | None = None
    problem: BadPush | None = None
    try:
        shape = body_format(body)
    except BadPush as err:
        problem = err
    # Authenticate before judging the content: an unauthenticated sender learns nothing of it.
    if shape == BRIDGE:
        allowed = api_key_matches(body, data[CONF_API_KEY])
    else:
        allowed = basic_matches(
            request.headers.get("Authorization"), data.get(CONF_USERNAME), data.get(CONF_PASSWORD)
        )
    if not allowed:
        return await refuse(
            HTTPStatus.UNAUTHORIZED,
            "wrong or missing credentials",
            UNAUTHORIZED,
            {"WWW-Authenticate": 'Basic realm="LiveOne"'},
        )
    try:
        push = _parse(body, shape, problem, coordinator.tz_offset_min, started)
    except BadPush as err:
        return await refuse(HTTPStatus.BAD_REQUEST, str(err), {"error": str(err), "field": err.field})

    if push.reading is None:
        await coordinator.async_test_push()
        return _answer(
            HTTPStatus.OK, {"status": "ok", "action": "test", "stored": 0, "message": "nothing stored"}
        )

    text = json.dumps(redacted(body) if shape == BRIDGE else body, separators=(",", ":"))
    result = await coordinator.async_store_push(push, text)
    when = datetime.fromtimestamp(push.reading.inverter_time, UTC).isoformat()
    if result is None:
        return _answer(
            HTTPStatus.SERVICE_UNAVAILABLE,
            {"error": "the store cannot write now; the reading is kept and stored later", "timestamp": when},
        )
    if result.already_stored:
        return _answer(
            HTTPStatus.CONFLICT, {"error": "a reading at this timestamp is already stored", "timestamp": when}
        )
    return _answer(
        HTTPStatus.OK, {"status": "ok", "action": "store", "stored": result.rows_written, "timestamp": when}
    )


@callback
def _register_webhook(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    async def _handle(hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
        return await async_handle_push(hass, entry, request)

    webhook.async_register(
        hass,
        entry.domain,
        entry.title,
        entry.data[CONF_WEBHOOK_ID],
        _handle,
        local_only=not entry.options.get(CONF_ALLOW_EXTERNAL, False),
        allowed_methods=["POST"],
    )


async def _async_setup_webhook(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Register the system's webhook (unregistered with the entry) and start counting the silence."""
    webhook_id = entry.data[CONF_WEBHOOK_ID]
    _register_webhook(hass, entry)
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))

    async def _options_changed(hass: HomeAssistant, changed: LiveOneConfigEntry) -> None:
        # local_only is fixed at registration: register again (the secret is read on every push).
        webhook.async_unregister(hass, webhook_id)
        _register_webhook(hass, changed)

    entry.async_on_unload(entry.add_update_listener(_options_changed))
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, FroniusCoordinator)
    coordinator.async_start_silence()


# ---- entities -------------------------------------------------------------------------------------------


def _sensors(coordinator: Any) -> tuple[LiveOneSensorEntityDescription, ...]:
    """Describe the fault code as the bridge sent it (replacing the shared number) and the last push's time."""
    assert isinstance(coordinator, FroniusCoordinator)

    def _fault(data: LiveOneData) -> str | None:
        return coordinator.fault_text(data.reading)

    def _last_push(data: LiveOneData) -> datetime | None:
        return coordinator.last_push

    return (
        LiveOneSensorEntityDescription(
            key="fault_code",
            translation_key="fault_code",
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_fault,
            has_fn=lambda data: _fault(data) is not None,
        ),
        LiveOneSensorEntityDescription(
            key="last_push",
            translation_key="last_push",
            device_class=SensorDeviceClass.TIMESTAMP,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=_last_push,
        ),
    )


# ---- flows ----------------------------------------------------------------------------------------------

PASSWORD_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

FRONIUS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Optional(CONF_USERNAME): TextSelector(),
        vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
    }
)
EMPTY_SCHEMA = vol.Schema({})


def _credentials(
    user_input: dict[str, Any], current: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], str | None]:
    """Return the Datamanager's Basic credentials of a form (both or neither), and the error if only one.

    With ``current`` (the options), an empty password under the current user name keeps the current
    password: the form never shows the stored one.
    """
    username = str(user_input.get(CONF_USERNAME) or "").strip()
    password = str(user_input.get(CONF_PASSWORD) or "")
    if current is not None and username and not password and username == current.get(CONF_USERNAME):
        password = str(current.get(CONF_PASSWORD) or "")
    if bool(username) != bool(password):
        return {}, "credentials_incomplete"
    return ({CONF_USERNAME: username, CONF_PASSWORD: password} if username else {}), None


def _placeholders(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, str]:
    return {
        "url": webhook_url(hass, data[CONF_WEBHOOK_ID]),
        "api_key": data[CONF_API_KEY],
        "username": data.get(CONF_USERNAME) or "-",
    }


class FroniusFlow(LiveOneFlowBase):
    """Add a Fronius system: a name and the Datamanager's credentials, then the webhook's address."""

    _fronius_title: str
    _fronius_site: str
    _fronius_data: dict[str, Any]

    async def async_step_fronius(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Name the system (and optionally set the Basic credentials its Datamanager will send)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            credentials, problem = _credentials(user_input)
            if not any(character.isalnum() for character in name):
                errors[CONF_NAME] = "invalid_name"
            elif problem is not None:
                errors["base"] = problem
            else:
                site_id = slugify(name)
                await self.async_set_system_id(VENDOR, site_id)
                self._abort_if_unique_id_configured()
                self._fronius_title, self._fronius_site = name, site_id
                self._fronius_data = {
                    CONF_WEBHOOK_ID: webhook.async_generate_id(),
                    CONF_API_KEY: new_secret(),
                    **credentials,
                }
                return await self.async_step_fronius_webhook()
        return self.async_show_form(
            step_id="fronius",
            data_schema=self.add_suggested_values_to_schema(FRONIUS_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_fronius_webhook(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the webhook's full address and the secret, with what to set in each sender."""
        if user_input is not None:
            return self.async_create_system_entry(
                VENDOR, self._fronius_site, title=self._fronius_title, data=self._fronius_data
            )
        return self.async_show_form(
            step_id="fronius_webhook",
            data_schema=EMPTY_SCHEMA,
            description_placeholders=_placeholders(self.hass, self._fronius_data),
        )


class FroniusOptionsFlow(OptionsFlow):
    """Accept pushes from outside the local network; change the Datamanager's credentials; a new secret."""

    _data: dict[str, Any]
    _options: dict[str, Any]

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the Fronius options (a step id of its own: the kinds share one translations file)."""
        return await self.async_step_fronius_options(user_input)

    async def async_step_fronius_options(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask what to change."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            credentials, problem = _credentials(user_input, entry.data)
            if problem is not None:
                errors["base"] = problem
            else:
                data = {
                    key: value
                    for key, value in entry.data.items()
                    if key not in (CONF_USERNAME, CONF_PASSWORD)
                }
                data.update(credentials)
                self._options = {CONF_ALLOW_EXTERNAL: bool(user_input[CONF_ALLOW_EXTERNAL])}
                if user_input[CONF_REGENERATE]:
                    data[CONF_API_KEY] = new_secret()
                    self._data = data
                    return await self.async_step_fronius_secret()
                self._data = data
                return self._finish()
        schema = vol.Schema(
            {
                vol.Required(CONF_ALLOW_EXTERNAL, default=entry.options.get(CONF_ALLOW_EXTERNAL, False)): (
                    BooleanSelector()
                ),
                vol.Required(CONF_REGENERATE, default=False): BooleanSelector(),
                vol.Optional(CONF_USERNAME): TextSelector(),
                vol.Optional(CONF_PASSWORD): PASSWORD_SELECTOR,
            }
        )
        suggested = {CONF_USERNAME: entry.data.get(CONF_USERNAME, "")}
        return self.async_show_form(
            step_id="fronius_options",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
        )

    async def async_step_fronius_secret(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the new secret; the old one is refused from the moment this is saved."""
        if user_input is not None:
            return self._finish()
        return self.async_show_form(
            step_id="fronius_secret",
            data_schema=EMPTY_SCHEMA,
            description_placeholders=_placeholders(self.hass, self._data),
        )

    def _finish(self) -> ConfigFlowResult:
        self.hass.config_entries.async_update_entry(self.config_entry, data=self._data)
        return self.async_create_entry(data=self._options)


SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer="Fronius",
    coordinator=FroniusCoordinator,
    flow=FroniusFlow,
    options_flow=FroniusOptionsFlow,
    sensors_fn=_sensors,
    redact=frozenset({CONF_WEBHOOK_ID, CONF_API_KEY, CONF_USERNAME, CONF_PASSWORD}),
    async_setup_entry=_async_setup_webhook,
)
