"""Fronius pushes: the two bodies a Fronius system's webhook takes, checked and turned into readings.

No Home Assistant here: pure functions of a decoded JSON body (and of the request's ``Authorization``
header), so the tests feed them the bodies as they arrive. The facts they rely on are in
``docs/vendors.md`` (Fronius (push)):

- the **bridge body** a LiveOne bridge POSTs (``action``, ``timestamp``, ``sequence``, powers, SOC, fault
  and the six ``*WhInterval`` energies), authenticated by its ``apiKey``;
- a **Fronius Datamanager's own Push Service** posting Solar API v1 current power-flow data
  (``Head.Timestamp``, ``Body[.Data].Site.P_PV/P_Grid/P_Akku/P_Load/E_Total``,
  ``Body[.Data].Inverters.*.SOC``), authenticated by HTTP Basic credentials.

Every refusal is a :class:`BadPush` whose message starts with the field it is about
(``"batteryW: expected a number, got a string"``), so the sender's 400 answer names it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
import hmac
import math
import re
from typing import Any, Final, Literal

from .model import FLOWS, VALUE_LIMITS, InvalidResponse, Reading, VendorError, round_half_away

MAX_BODY_BYTES: Final = 64 * 1024
"""A push body larger than this is refused (413) before it is decoded."""

BRIDGE: Final = "bridge"
SOLAR_API: Final = "solar_api"
type BodyFormat = Literal["bridge", "solar_api"]

ACTIONS: Final = frozenset({"test", "store"})

# Bridge field -> Reading field, for the powers and SOC (docs/vendors.md: solarLocalW is the local
# shunt/CT, solarRemoteW the remote inverter, as the original system kept them).
BRIDGE_VALUES: Final[dict[str, str]] = {
    "solarW": "solar_w",
    "solarLocalW": "shunt_w",
    "solarRemoteW": "solar_inverter_w",
    "loadW": "load_w",
    "batteryW": "battery_w",
    "gridW": "grid_w",
    "batterySOC": "battery_soc",
}
# Bridge interval energy (Wh) -> Reading field.
BRIDGE_ENERGIES: Final[dict[str, str]] = {
    "solarWhInterval": "solar_wh_interval",
    "loadWhInterval": "load_wh_interval",
    "batteryInWhInterval": "battery_in_wh_interval",
    "batteryOutWhInterval": "battery_out_wh_interval",
    "gridInWhInterval": "grid_in_wh_interval",
    "gridOutWhInterval": "grid_out_wh_interval",
}

MILLISECONDS_ABOVE: Final = 1e11
"""An epoch number above this is milliseconds (1e11 s is the year 5138)."""

_DIGITS: Final = re.compile(r"\d+")


class BadPush(InvalidResponse):
    """A push body that cannot be stored; ``field`` names the part of the body at fault."""

    def __init__(self, field: str, problem: str) -> None:
        """Keep the field apart from the message (the message starts with it)."""
        super().__init__(f"{field}: {problem}")
        self.field = field


class PushRefused(VendorError):
    """A push the webhook refused (its message: the HTTP status and why), as its session records it."""


@dataclass(frozen=True, slots=True)
class Push:
    """One checked push: what to store, and what the entities show beside it.

    ``reading`` is ``None`` for a bridge ``test`` push (nothing is stored). ``fault_text`` is the fault
    code as the bridge sent it (``"E102"``), whose numeric part is the reading's ``fault_code``.
    """

    format: BodyFormat
    action: str
    reading: Reading | None
    fault_text: str | None = None
    sequence: str | None = None


def body_format(body: object) -> BodyFormat:
    """Tell the two bodies apart by their shape.

    A Solar API document has ``Head`` and ``Body`` objects; anything else that is a JSON object is taken
    for a bridge body (whose own checks then name what is missing).

    Raises:
        BadPush: the body is not a JSON object.

    """
    if not isinstance(body, dict):
        raise BadPush("body", f"expected a JSON object, got {_type_name(body)}")
    if isinstance(body.get("Head"), dict) and "Body" in body and "action" not in body:
        return SOLAR_API
    return BRIDGE


# ---- authentication ----------------------------------------------------------------------------------


def _same(given: str, expected: str) -> bool:
    """Compare two secrets in constant time (as UTF-8 bytes, so any text compares)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def api_key_matches(body: Mapping[str, Any], secret: str) -> bool:
    """Whether a bridge body's ``apiKey`` is the system's secret (a missing or non-text key is not)."""
    given = body.get("apiKey")
    # Compare even when the key is missing, so that a missing key takes as long as a wrong one.
    matches = _same(given if isinstance(given, str) else "", secret)
    return matches and isinstance(given, str) and bool(secret)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Return the user and password of an HTTP ``Authorization: Basic`` header (``None``: none or malformed)."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def basic_matches(header: str | None, username: str | None, password: str | None) -> bool:
    """Whether an ``Authorization`` header carries the system's Basic credentials (none set: never)."""
    given = basic_credentials(header) or ("", "")
    user_ok = _same(given[0], username or "")
    password_ok = _same(given[1], password or "")
    return bool(username) and bool(password) and user_ok and password_ok


# ---- values ------------------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__  # pragma: no cover - json.loads makes nothing else


def number(body: Mapping[str, Any], field: str, *, limit: str | None = None, path: str = "") -> float | None:
    """Return an optional number of the body: ``None`` when absent or null.

    Refused (:class:`BadPush` naming ``path + field``): a value that is not a number (a string, a
    boolean), not finite (``NaN``, ``Infinity``), or outside the store's limits of the reading field
    ``limit`` (:data:`~.model.VALUE_LIMITS`).
    """
    name = path + field
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPush(name, f"expected a number, got {_type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):  # a JSON integer is always finite
        raise BadPush(name, f"{value!r} is not a finite number")
    if limit is not None:
        low, high = VALUE_LIMITS[limit]
        if not low <= value <= high:
            raise BadPush(name, f"{value!r:.40} is outside {low:g} .. {high:g}")
    return value


def parse_time(value: object, field: str, *, tz_offset_min: int = 0) -> int:
    """Return an ISO 8601 text as Unix seconds (whole seconds; a fraction is dropped).

    A text without a UTC offset is taken as the system's standard local time (``tz_offset_min``).
    """
    if not isinstance(value, str):
        raise BadPush(field, f"expected an ISO 8601 time, got {_type_name(value)}")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text)
    except ValueError:
        raise BadPush(field, f"{value[:40]!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=tz_offset_min)))
    return math.floor(moment.astimezone(UTC).timestamp())


def parse_epoch_or_iso(value: object, field: str, *, tz_offset_min: int = 0) -> int | None:
    """Return a time sent as ISO text, epoch seconds or epoch milliseconds, as Unix seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time(value, field, tz_offset_min=tz_offset_min)
    seconds = number({field: value}, field, limit="fault_timestamp")
    assert seconds is not None
    if seconds < 0:
        raise BadPush(field, f"{value!r} is before 1970")
    if seconds > MILLISECONDS_ABOVE:
        seconds /= 1000
    return math.floor(seconds)


def fault_code(value: object) -> tuple[int | None, str | None]:
    """Return a fault code's number (for the INTEGER column) and its text as sent.

    ``"E102"`` is ``(102, "E102")``; ``7`` is ``(7, "7")``; a text without digits keeps only its text.
    """
    if value is None:
        return None, None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, None
        if len(text) > 64:
            raise BadPush("faultCode", "longer than 64 characters")
        digits = _DIGITS.search(text)
        code = int(digits.group()) if digits else None
        if code is not None and not VALUE_LIMITS["fault_code"][0] <= code <= VALUE_LIMITS["fault_code"][1]:
            raise BadPush("faultCode", f"{text!r} has a number too large to store")
        return code, text
    code_number = number({"faultCode": value}, "faultCode", limit="fault_code")
    assert code_number is not None
    if not float(code_number).is_integer():
        raise BadPush("faultCode", f"{value!r} is not a whole number")
    return int(code_number), str(int(code_number))


def _whole(body: Mapping[str, Any], field: str, limit: str) -> int | None:
    value = number(body, field, limit=limit)
    if value is None:
        return None
    if not float(value).is_integer():
        raise BadPush(field, f"{value!r} is not a whole number")
    return int(value)


# ---- the bridge body ---------------------------------------------------------------------------------


def parse_bridge(body: Mapping[str, Any], *, tz_offset_min: int = 0) -> Push:
    """Check a bridge body (its ``apiKey`` already checked) and return what it asks to store.

    ``action`` must be ``test`` (nothing to store) or ``store``; a ``store`` body must have
    ``timestamp`` (ISO 8601) and ``sequence`` (text or number); every other field is optional and
    ``null`` means "not sent". See :func:`number`, :func:`fault_code`, :func:`parse_epoch_or_iso`.
    """
    action = body.get("action")
    if action is None:
        raise BadPush("action", "missing (expected 'test' or 'store')")
    if not isinstance(action, str) or action not in ACTIONS:
        raise BadPush("action", f"expected 'test' or 'store', got {str(action)[:20]!r}")
    if action == "test":
        return Push(format=BRIDGE, action=action, reading=None)

    if "timestamp" not in body:
        raise BadPush("timestamp", "missing")
    inverter_time = parse_time(body["timestamp"], "timestamp", tz_offset_min=tz_offset_min)
    sequence = body.get("sequence")
    if sequence is None:
        raise BadPush("sequence", "missing")
    if isinstance(sequence, bool) or not isinstance(sequence, str | int):
        raise BadPush("sequence", f"expected a text or a whole number, got {_type_name(sequence)}")

    values: dict[str, Any] = {
        target: number(body, field, limit=target) for field, target in BRIDGE_VALUES.items()
    }
    values.update({target: number(body, field, limit=target) for field, target in BRIDGE_ENERGIES.items()})
    code, text = fault_code(body.get("faultCode"))
    fault_time = parse_epoch_or_iso(body.get("faultTimestamp"), "faultTimestamp", tz_offset_min=tz_offset_min)
    reading = Reading(
        inverter_time=inverter_time,
        fault_code=code,
        fault_timestamp=fault_time,
        generator_status=_whole(body, "generatorStatus", "generator_status"),
        **values,
    )
    return Push(format=BRIDGE, action=action, reading=reading, fault_text=text, sequence=str(sequence))


def redacted(body: Mapping[str, Any]) -> dict[str, Any]:
    """Return a bridge body without its ``apiKey`` (what ``polling_status.last_response`` may keep)."""
    return {key: value for key, value in body.items() if key != "apiKey"}


# ---- the Solar API power-flow document ----------------------------------------------------------------


def _object(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise BadPush(field, f"expected an object, got {_type_name(value)}")
    return value


def parse_solar_api(body: Mapping[str, Any]) -> Push:
    """Check a Solar API v1 power-flow document and return its reading.

    The data lies under ``Body.Data`` in the polled ``GetPowerFlowRealtimeData`` answer and directly
    under ``Body`` in what receivers of the Push Service read; both are taken. Signs
    (docs/vendors.md): ``P_Load`` is negative for consumption (``load_w`` is its negation), ``P_Akku``
    positive is discharging and ``P_Grid`` positive is import (both as LiveOne's); ``E_Total`` is the
    lifetime PV energy in Wh (``solar_kwh_total`` in kWh); the SOC is the mean of the inverters' SOCs.
    """
    head = _object(body.get("Head"), "Head")
    status = head.get("Status")
    if isinstance(status, dict):
        code = status.get("Code")
        if code not in (0, None):
            reason = str(status.get("Reason") or "")[:80]
            raise BadPush(
                "Head.Status.Code", f"{code!r:.40}: the Datamanager reports an error {reason!r}".strip()
            )
    if "Timestamp" not in head:
        raise BadPush("Head.Timestamp", "missing")
    inverter_time = parse_time(head["Timestamp"], "Head.Timestamp")
    outer = _object(body.get("Body"), "Body")
    if "Data" in outer:
        data = _object(outer["Data"], "Body.Data")
        path = "Body.Data."
    else:
        data, path = outer, "Body."
    if "Site" not in data:
        raise BadPush(f"{path}Site", "missing")
    site = _object(data["Site"], f"{path}Site")
    site_path = f"{path}Site."

    load = number(site, "P_Load", limit="load_w", path=site_path)
    total_wh = number(site, "E_Total", path=site_path)
    if total_wh is not None and not 0 <= total_wh <= VALUE_LIMITS["solar_kwh_total"][1] * 1000:
        raise BadPush(f"{site_path}E_Total", f"{total_wh!r:.40} is outside 0 .. 1e15 Wh")

    socs: list[float] = []
    inverters = data.get("Inverters")
    if inverters is not None:
        for number_key, inverter in _object(inverters, f"{path}Inverters").items():
            inverter_path = f"{path}Inverters.{number_key}."
            soc = number(
                _object(inverter, inverter_path[:-1]), "SOC", limit="battery_soc", path=inverter_path
            )
            if soc is not None:
                socs.append(soc)

    reading = Reading(
        inverter_time=inverter_time,
        solar_w=number(site, "P_PV", limit="solar_w", path=site_path),
        load_w=None if load is None else -load,
        battery_w=number(site, "P_Akku", limit="battery_w", path=site_path),
        grid_w=number(site, "P_Grid", limit="grid_w", path=site_path),
        battery_soc=sum(socs) / len(socs) if socs else None,
        solar_kwh_total=None if total_wh is None else total_wh / 1000,
    )
    return Push(format=SOLAR_API, action="store", reading=reading)


# ---- running totals -----------------------------------------------------------------------------------


def running_totals(reading: Reading, previous: Mapping[str, float]) -> tuple[Reading, dict[str, float]]:
    """Add a bridge reading's interval energies to the lifetime totals that came before it.

    ``previous`` maps a flow key (``solar`` ... ``grid_out``) to its total in kWh so far (a flow not in
    it starts at 0). A flow whose energy the reading lacks keeps no total on this reading (and its
    total stays where it was); a flow that has a total already (sent by the vendor) is left alone.
    Returns the reading with its ``*_kwh_total`` set and the totals after it.
    """
    totals = dict(previous)
    changes: dict[str, Any] = {}
    for flow in FLOWS:
        energy = getattr(reading, flow.pushed_column)
        if energy is None or getattr(reading, flow.total_column) is not None:
            continue
        total = totals.get(flow.key, 0.0) + max(0.0, energy) / 1000
        totals[flow.key] = total
        changes[flow.total_column] = round_half_away(total, 6)
    return replace(reading, **changes), totals


def totals_of(reading: Reading) -> dict[str, float]:
    """Return the lifetime totals a stored reading carries, by flow key (what :func:`running_totals` takes)."""
    found: dict[str, float] = {}
    for flow in FLOWS:
        total = getattr(reading, flow.total_column)
        if total is not None:
            found[flow.key] = float(total)
    return found
