"""The common data model every vendor client produces.

Nothing here imports Home Assistant: the vendor clients and the store share these types, and they
could be published as a library of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from itertools import compress, repeat
import math
from operator import add, attrgetter, eq, is_not, itemgetter, mul, truediv
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class EnergyFlow:
    """One energy flow the store tracks, and every name it goes by (the one table of them).

    ``key`` names it in the ``readings`` and ``readings_agg_5m`` columns (``battery_in``); ``name`` in the
    daily columns, sensor keys and statistic ids (``battery_charge``); ``label`` in words.
    """

    key: str
    name: str
    label: str

    @property
    def total_column(self) -> str:
        """The cumulative total on ``readings`` and (with ``_last``) on ``readings_agg_5m``, in kWh."""
        return f"{self.key}_kwh_total"

    @property
    def pushed_column(self) -> str:
        """The interval energy a vendor pushes on ``readings`` (Wh)."""
        return f"{self.key}_wh_interval"

    @property
    def interval_column(self) -> str:
        """The interval energy on ``readings_agg_5m`` (Wh); solar's keeps the documented older name."""
        return "solar_interval_wh" if self.key == "solar" else f"{self.key}_wh_interval"

    @property
    def day_column(self) -> str:
        """The day's energy on ``readings_agg_1d`` (kWh)."""
        return f"{self.name}_kwh"

    @property
    def alltime_column(self) -> str:
        """The all-time total at the day's end on ``readings_agg_1d`` (kWh)."""
        return f"{self.name}_alltime_kwh"


FLOWS: tuple[EnergyFlow, ...] = (
    EnergyFlow("solar", "solar", "solar"),
    EnergyFlow("load", "load", "load"),
    EnergyFlow("battery_in", "battery_charge", "battery charge"),
    EnergyFlow("battery_out", "battery_discharge", "battery discharge"),
    EnergyFlow("grid_in", "grid_import", "grid import"),
    EnergyFlow("grid_out", "grid_export", "grid export"),
)
"""The flows in the order the schema lists them."""

ENERGY_FLOWS: tuple[str, ...] = tuple(flow.key for flow in FLOWS)
"""The flows' keys (``solar`` ... ``grid_out``)."""

POWER_NAMES: tuple[str, ...] = ("solar", "load", "battery", "grid")
"""The power columns aggregated to avg/min/max (``<name>_w``)."""


def system_key(vendor: str, site_id: str) -> str:
    """Return a system's key, ``<vendor>_<site id>``: its config entry's unique id and device identifier."""
    return f"{vendor}_{site_id}"


class VendorError(Exception):
    """Base class of every error a vendor client raises."""


class AuthError(VendorError):
    """The vendor refused the credentials; the user must act (reauthenticate)."""


class ConnectError(VendorError):
    """The vendor could not be reached or answered with a server error; try again later."""


class RateLimited(VendorError):
    """The vendor's request budget is exhausted; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep the wait the vendor asked for, when it said one."""
        super().__init__(message)
        self.retry_after = retry_after


class InvalidResponse(VendorError):
    """The vendor answered with a body that is not the expected shape."""


def round_half_away(value: float, digits: int = 0) -> float:
    """Round half away from zero (not banker's rounding), mapping ``-0.0`` to ``0.0``.

    Ties are judged on the number as it is written (its shortest decimal form), so ``2.675`` rounds to
    ``2.68`` as a person expects, not to ``2.67`` as its binary value would. Only a written tie needs
    decimal arithmetic; every other value rounds the same either way, so the fast built-in ``round``
    serves it (this runs for every value of every reading stored). A value already at ``digits``
    decimals (``round`` leaves it unchanged: its shortest form has at most ``digits`` decimals, so it is
    no tie) is returned without looking at its text; most readings arrive at the store's precision.
    """
    if -1e15 < value < 1e15:  # not inf, nan or an exponent form
        rounded = round(value, digits)
        if rounded == value:
            return rounded + 0.0  # -0.0 + 0.0 == 0.0
    text = repr(value)
    point = text.find(".")
    if "e" in text or "n" in text or point < 0:  # exponent form, inf/nan: let Decimal decide
        return _round_decimal(text, digits)
    fraction = text[point + 1 :]
    if len(fraction) == digits + 1 and fraction[-1] == "5":
        return _round_decimal(text, digits)
    return round(value, digits) + 0.0  # -0.0 + 0.0 == 0.0


def _round_decimal(text: str, digits: int) -> float:
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(text).quantize(quantum, rounding=ROUND_HALF_UP)) + 0.0


def round_int(value: float | None) -> int | None:
    """Round to a whole number (watts, Wh) half away from zero; ``None`` stays ``None``.

    Exact without decimal arithmetic: ``magnitude - floor(magnitude)`` is computed exactly, and a float
    whose shortest written form ends in ``.5`` is exactly a half, so this agrees with
    :func:`round_half_away` for whole numbers while being several times faster (it runs for every power
    value stored and every aggregate computed).
    """
    if value is None or type(value) is int:
        return value
    magnitude = abs(value)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:
        whole += 1
    return -whole if value < 0 else whole


def round_opt(value: float | None, digits: int) -> float | None:
    """Round an optional value to ``digits`` decimals (half away from zero)."""
    return None if value is None else round_half_away(value, digits)


def _kept(name: str, value: Any, problems: list[str]) -> Any:
    """Return ``value`` when field ``name`` may keep it, else ``None`` with the reason in ``problems``."""
    if value is None:
        return None
    low, high = VALUE_LIMITS[name]
    if type(value) is bool or not isinstance(value, int | float):
        problems.append(f"{name}={value!r:.40}: not a number")
        return None
    if low <= value <= high:  # NaN and infinities fail both comparisons
        return value
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(f"{name}={value!r}: not a finite number")
    else:
        problems.append(f"{name}={value!r:.40}: outside {low:g} .. {high:g}")
    return None


def _kept_whole(name: str, value: Any, problems: list[str]) -> int | None:
    """As :func:`_kept`, for a field that holds whole numbers only (a whole float becomes an int)."""
    value = _kept(name, value, problems)
    if value is None or type(value) is int:
        return value
    if value.is_integer():
        return int(value)
    problems.append(f"{name}={value!r}: not a whole number")
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    """One instant of a system, named exactly after the ``readings`` columns of the schema.

    Power in W (battery negative = charging, grid positive = import), SOC in %, totals in kWh, pushed
    interval energies in Wh. A field the vendor did not send is ``None``, never 0.
    """

    inverter_time: int
    solar_w: float | None = None
    solar_inverter_w: float | None = None
    shunt_w: float | None = None
    load_w: float | None = None
    battery_w: float | None = None
    grid_w: float | None = None
    battery_soc: float | None = None
    fault_code: int | None = None
    fault_timestamp: int | None = None
    generator_status: int | None = None
    solar_kwh_total: float | None = None
    load_kwh_total: float | None = None
    battery_in_kwh_total: float | None = None
    battery_out_kwh_total: float | None = None
    grid_in_kwh_total: float | None = None
    grid_out_kwh_total: float | None = None
    # Interval energies a vendor pushes instead of totals (Fronius), in Wh.
    solar_wh_interval: float | None = None
    load_wh_interval: float | None = None
    battery_in_wh_interval: float | None = None
    battery_out_wh_interval: float | None = None
    grid_in_wh_interval: float | None = None
    grid_out_wh_interval: float | None = None

    def normalized(self) -> Reading:
        """Return the reading as the store keeps it (see :meth:`checked`), without the reasons."""
        return self.checked()[0]

    def checked(self) -> tuple[Reading, tuple[str, ...]]:
        """Return the reading at the store's precision, with every value it cannot keep set to ``None``.

        Precision: W whole, SOC 1 dp, kWh 3 dp, Wh as sent. A value that is not a finite number, or
        lies outside :data:`VALUE_LIMITS` (what the column's type holds and physics allows), becomes
        ``None`` and the rest of the reading is kept; the second item says which field was dropped
        and why (``"solar_w=nan: not a finite number"``). ``inverter_time`` is not judged here
        (:func:`time_problem` needs the time the reading was received).
        """
        problems: list[str] = []

        reading = Reading(
            inverter_time=self.inverter_time,
            solar_w=round_int(_kept("solar_w", self.solar_w, problems)),
            solar_inverter_w=round_int(_kept("solar_inverter_w", self.solar_inverter_w, problems)),
            shunt_w=round_int(_kept("shunt_w", self.shunt_w, problems)),
            load_w=round_int(_kept("load_w", self.load_w, problems)),
            battery_w=round_int(_kept("battery_w", self.battery_w, problems)),
            grid_w=round_int(_kept("grid_w", self.grid_w, problems)),
            battery_soc=round_opt(_kept("battery_soc", self.battery_soc, problems), 1),
            fault_code=_kept_whole("fault_code", self.fault_code, problems),
            fault_timestamp=_kept_whole("fault_timestamp", self.fault_timestamp, problems),
            generator_status=_kept_whole("generator_status", self.generator_status, problems),
            solar_kwh_total=round_opt(_kept("solar_kwh_total", self.solar_kwh_total, problems), 3),
            load_kwh_total=round_opt(_kept("load_kwh_total", self.load_kwh_total, problems), 3),
            battery_in_kwh_total=round_opt(
                _kept("battery_in_kwh_total", self.battery_in_kwh_total, problems), 3
            ),
            battery_out_kwh_total=round_opt(
                _kept("battery_out_kwh_total", self.battery_out_kwh_total, problems), 3
            ),
            grid_in_kwh_total=round_opt(_kept("grid_in_kwh_total", self.grid_in_kwh_total, problems), 3),
            grid_out_kwh_total=round_opt(_kept("grid_out_kwh_total", self.grid_out_kwh_total, problems), 3),
            solar_wh_interval=_kept("solar_wh_interval", self.solar_wh_interval, problems),
            load_wh_interval=_kept("load_wh_interval", self.load_wh_interval, problems),
            battery_in_wh_interval=_kept("battery_in_wh_interval", self.battery_in_wh_interval, problems),
            battery_out_wh_interval=_kept("battery_out_wh_interval", self.battery_out_wh_interval, problems),
            grid_in_wh_interval=_kept("grid_in_wh_interval", self.grid_in_wh_interval, problems),
            grid_out_wh_interval=_kept("grid_out_wh_interval", self.grid_out_wh_interval, problems),
        )
        return reading, tuple(problems)

    def as_row(self) -> dict[str, Any]:
        """Return the reading as a ``readings`` row fragment (column name -> value)."""
        return {name: getattr(self, name) for name in READING_FIELDS}

    @classmethod
    def from_row(cls, row: Any) -> Reading:
        """Build a reading from a mapping with (at least) the ``readings`` column names."""
        return cls(**{name: row[name] for name in READING_FIELDS if name in row})


READING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Reading))

MAX_POWER_W: Final = 1e9
"""No home system's power is beyond ±1 GW (and a 32-bit INTEGER column holds ±2.1e9)."""
MAX_TOTAL_KWH: Final = 1e12
"""A lifetime total above this is not a measurement (1 GW for a century is 8.8e11 kWh)."""
MAX_INTERVAL_WH: Final = 2.4e10
"""A pushed interval energy beyond a day at 1 GW (Wh) is not a measurement."""
_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)

VALUE_LIMITS: Final[dict[str, tuple[float, float]]] = {
    **{name: (-MAX_POWER_W, MAX_POWER_W) for name in READING_FIELDS if name.endswith("_w")},
    "battery_soc": (0.0, 100.0),
    "fault_code": _INT32,
    "generator_status": _INT32,
    "fault_timestamp": _INT64,
    **{name: (0.0, MAX_TOTAL_KWH) for name in READING_FIELDS if name.endswith("_kwh_total")},
    **{name: (-MAX_INTERVAL_WH, MAX_INTERVAL_WH) for name in READING_FIELDS if name.endswith("_wh_interval")},
}
"""The inclusive range each value of a reading must lie in to be stored (``inverter_time`` aside)."""

MIN_INVERTER_TIME: Final = 946_684_800
"""2000-01-01T00:00:00Z: a reading from before it is a clock that was never set (or a unit error)."""
MAX_AHEAD_SECONDS: Final = 86_400
"""A reading more than a day after the time it was received is refused (a wrong clock or unit)."""


def time_problem(inverter_time: object, received_time: float) -> str | None:
    """Return why a reading with this ``inverter_time`` must be refused, or ``None`` when it may be stored.

    A reading is refused when its time is not a whole number of seconds, is before
    :data:`MIN_INVERTER_TIME`, or more than :data:`MAX_AHEAD_SECONDS` after ``received_time``.
    """
    if type(inverter_time) is bool or not isinstance(inverter_time, int | float):
        return f"inverter_time={inverter_time!r:.40}: not a number"
    if not (MIN_INVERTER_TIME <= inverter_time <= received_time + MAX_AHEAD_SECONDS):
        if isinstance(inverter_time, float) and not math.isfinite(inverter_time):
            return f"inverter_time={inverter_time!r}: not a finite number"
        if inverter_time < MIN_INVERTER_TIME:
            return f"inverter_time={inverter_time!r:.40}: before 2000-01-01"
        hint = " (milliseconds?)" if inverter_time > 1e11 else ""
        return f"inverter_time={inverter_time!r:.40}: more than a day after it was received{hint}"
    if isinstance(inverter_time, float) and not inverter_time.is_integer():
        return f"inverter_time={inverter_time!r}: not a whole number of seconds"
    return None


@dataclass(frozen=True, slots=True)
class CheckedReadings:
    """A batch of readings as the store keeps them, and what was dropped or refused on the way."""

    readings: list[Reading]
    """The readings that may be stored, normalised, in the order given."""
    problems: list[str]
    """One line per dropped value or refused reading, naming the reading's time and the reason."""


def check_readings(readings: Iterable[Reading], received_time: float) -> CheckedReadings:
    """Normalise a batch of readings (:meth:`Reading.checked`) and refuse those whose time is not plausible.

    Every path into the store (polls, backfills, ``ingest``) passes through this function, so what one
    path accepts, every other path accepts too.
    """
    kept: list[Reading] = []
    problems: list[str] = []
    for reading in readings:
        refused = time_problem(reading.inverter_time, received_time)
        if refused is not None:
            problems.append(f"reading refused: {refused}")
            continue
        normal, dropped = reading.checked()
        if dropped:
            problems.extend(f"at {int(reading.inverter_time)} dropped {problem}" for problem in dropped)
        if type(normal.inverter_time) is not int:
            normal = replace(normal, inverter_time=int(normal.inverter_time))
        kept.append(normal)
    return CheckedReadings(kept, problems)


_FIELD_VALUES: Final = attrgetter(*READING_FIELDS)
_FIELD_GETTERS: Final = tuple(map(attrgetter, READING_FIELDS))
_NUMBER_TYPES: Final = frozenset({int, float})
_NONE_TYPE: Final = type(None)


@dataclass(frozen=True, slots=True)
class CheckedColumns:
    """A batch of readings as :func:`check_readings` keeps them, held column by column.

    ``columns[i]`` holds the values of field ``READING_FIELDS[i]`` of every reading kept, in the order
    given (``inverter_time`` as ``int``); a column may be the very sequence it was checked from.
    """

    columns: tuple[Sequence[Any], ...]
    problems: list[str]
    """As :attr:`CheckedReadings.problems`: the same lines in the same order."""

    def __len__(self) -> int:
        """Return the number of readings kept."""
        return len(self.columns[0]) if self.columns else 0

    def readings(self) -> list[Reading]:
        """Return the readings kept, as :func:`check_readings` returns them."""
        return [
            Reading(**dict(zip(READING_FIELDS, row, strict=True))) for row in zip(*self.columns, strict=True)
        ]


def _plain(column: Sequence[Any], low: float, high: float) -> tuple[Sequence[Any], set[type]] | None:
    """Return a column's non-``None`` values and their types when every one is a finite number in range.

    ``None`` means some value is not (or might not be): the caller then judges the column value by value.
    """
    types = set(map(type, column))
    values = column
    if _NONE_TYPE in types:
        types.discard(_NONE_TYPE)
        values = list(compress(column, map(is_not, column, repeat(None))))
    if not types:
        return values, types
    if not types <= _NUMBER_TYPES:
        return None  # bool, str, a subclass of int or float
    if float in types:
        try:
            total = sum(values)  # a NaN or an infinity anywhere makes the sum one too
        except OverflowError:  # an int too large for a float
            return None
        if not math.isfinite(total):
            return None
    if low <= min(values) and max(values) <= high:
        return values, types
    return None


def _at_precision(values: Sequence[float], digits: int) -> bool:
    """Return whether :func:`round_half_away` leaves every value as it is (``-0.0`` aside).

    ``round(v * 10**digits) / 10**digits == v`` says ``v`` is the float nearest a number of
    ``digits`` decimals, which for these columns (below 2**43) is exactly ``round(v, digits) == v``,
    the test :func:`round_half_away` makes, at a fraction of its cost.
    """
    scale = float(10**digits)
    scaled = map(round, map(mul, values, repeat(scale)))
    return all(map(eq, map(truediv, scaled, repeat(scale)), values))


def _check_column(
    name: str, column: Sequence[Any], problems: list[tuple[int, int, str]], field: int
) -> Sequence[Any]:
    """Return a column at the store's precision (as :meth:`Reading.checked` keeps each value).

    A column of finite numbers in range is kept or rounded in one pass (a column already at its
    precision is returned as it is); any other is judged value by value, each dropped value noted in
    ``problems`` as ``(row, field, reason)``.
    """
    low, high = VALUE_LIMITS[name]
    digits = _DIGITS.get(name)
    plain = _plain(column, low, high)
    if plain is not None:
        values, types = plain
        if not values or name in _AS_SENT:
            return column
        if name in _WHOLE:
            if types == {int}:
                return column
        elif digits is None:  # power: whole watts
            return list(map(round_int, column)) if float in types else column
        elif types == {float} and _at_precision(values, digits):
            if min(values) > 0:
                return column  # already at its precision
            if values is column:
                return list(map(add, column, repeat(0.0)))  # -0.0 + 0.0 is 0.0, as round_opt makes it
            return list(map(round_opt, column, repeat(digits)))
        else:
            return list(map(round_opt, column, repeat(digits)))
    found: list[str] = []
    whole = name in _WHOLE
    result: list[Any] = []
    for row, value in enumerate(column):
        kept = _kept_whole(name, value, found) if whole else _kept(name, value, found)
        if found:
            problems.append((row, field, found.pop()))
        if kept is not None and not whole and name not in _AS_SENT:
            kept = round_int(kept) if digits is None else round_opt(kept, digits)
        result.append(kept)
    return result


_WHOLE: Final = frozenset({"fault_code", "fault_timestamp", "generator_status"})
_AS_SENT: Final = frozenset(name for name in READING_FIELDS if name.endswith("_wh_interval"))
_DIGITS: Final = {"battery_soc": 1, **{name: 3 for name in READING_FIELDS if name.endswith("_kwh_total")}}
"""Decimals kept; a field not named here and not whole or as sent is a power (whole watts)."""


def check_columns(readings: Sequence[Reading], received_time: float) -> CheckedColumns:
    """Check a batch as :func:`check_readings` does, column by column: the same values, problems and refusals.

    The store's write paths use this: a column that is plainly fine (numbers of the right type, finite,
    in range, already at the column's precision) is checked with a few passes of built-in functions
    instead of a call per value; any other column is checked value by value with the same rules
    (``tests/vendors/test_model.py`` compares both on random batches).
    """
    if len(readings) < COLUMNS_FROM:
        checked = check_readings(readings, received_time)
        return CheckedColumns(
            tuple(zip(*map(_FIELD_VALUES, checked.readings), strict=True)), checked.problems
        )
    return _check_batch(readings, received_time)


COLUMNS_FROM: Final = 8
"""Fewer readings than this are checked one by one (a poll's one reading is faster that way)."""


def _check_batch(readings: Sequence[Reading], received_time: float) -> CheckedColumns:
    """Check a batch column by column (:func:`check_columns`)."""
    if not readings:
        return CheckedColumns((), [])
    times: Sequence[Any] = list(map(_FIELD_GETTERS[0], readings))
    latest = received_time + MAX_AHEAD_SECONDS
    noted: list[tuple[int, int, str]] = []
    index: Sequence[int] | None = None  # the readings kept, when some are refused
    if not (set(map(type, times)) == {int} and min(times) >= MIN_INVERTER_TIME and max(times) <= latest):
        kept: list[int] = []
        for row, when in enumerate(times):
            refused = time_problem(when, received_time)
            if refused is None:
                kept.append(row)
            else:
                noted.append((row, -1, f"reading refused: {refused}"))
        if len(kept) < len(readings):
            index = kept
            readings = [readings[row] for row in kept]
            if not readings:
                return CheckedColumns((), [text for _, _, text in noted])
        times = [when if type(when) is int else int(when) for when in map(_FIELD_GETTERS[0], readings)]
    # A column at a time (no tuple per reading): one getter pass per field.
    columns: list[Sequence[Any]] = [times, *(list(map(getter, readings)) for getter in _FIELD_GETTERS[1:])]
    dropped: list[tuple[int, int, str]] = []
    checked: list[Sequence[Any]] = [times]
    checked.extend(
        _check_column(READING_FIELDS[field], columns[field], dropped, field)
        for field in range(1, len(READING_FIELDS))
    )
    if not (noted or dropped):
        return CheckedColumns(tuple(checked), [])
    for row, field, text in dropped:
        noted.append((row if index is None else index[row], field, f"at {times[row]} dropped {text}"))
    noted.sort(key=itemgetter(0, 1))
    return CheckedColumns(tuple(checked), [text for _, _, text in noted])


POINT_QUALITIES: tuple[str, ...] = ("good", "error", "estimated", "interpolated")


@dataclass(frozen=True, kw_only=True, slots=True)
class PointReading:
    """One value of one monitoring point of a multi-point system (Mondo Power), as ``point_readings`` holds.

    A point is identified within its system by ``(point_id, point_sub_id)``; ``point_sub_id`` names the
    metric (``power``, ``energy``). ``value`` is ``None`` when the point reported an error.
    """

    point_id: str
    point_sub_id: str
    name: str
    metric_type: str
    metric_unit: str
    measurement_time_ms: int
    value: float | None
    subsystem: str | None = None
    error: str | None = None
    data_quality: str = "good"


@dataclass(frozen=True, kw_only=True, slots=True)
class Interval:
    """A vendor's own 5-minute interval (Enphase), written to ``readings_agg_5m`` as it is.

    ``interval_end`` is the interval's end (a multiple of 300 s). Power in W as for :class:`Reading`;
    ``<flow>_wh`` the interval's energy of each flow (keys of :data:`FLOWS`). The store keeps each flow's
    running lifetime total itself (the previous interval's total plus this energy). A field the vendor
    did not send is ``None``.
    """

    interval_end: int
    solar_w_avg: float | None = None
    solar_w_min: float | None = None
    solar_w_max: float | None = None
    load_w_avg: float | None = None
    load_w_min: float | None = None
    load_w_max: float | None = None
    battery_w_avg: float | None = None
    battery_w_min: float | None = None
    battery_w_max: float | None = None
    grid_w_avg: float | None = None
    grid_w_min: float | None = None
    grid_w_max: float | None = None
    battery_soc_last: float | None = None
    solar_wh: float | None = None
    load_wh: float | None = None
    battery_in_wh: float | None = None
    battery_out_wh: float | None = None
    grid_in_wh: float | None = None
    grid_out_wh: float | None = None
    sample_count: int = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Batch:
    """Everything one poll, push or derivation produced, stored by one store call in one transaction.

    ``readings``: raw readings (oldest first or not; the store orders them); ``intervals``: vendor
    5-minute intervals; ``points``: monitoring-point values; ``raw``: the vendor's body as received, kept
    in ``polling_status.last_response``.
    """

    readings: tuple[Reading, ...] = ()
    intervals: tuple[Interval, ...] = ()
    points: tuple[PointReading, ...] = ()
    raw: str | None = None

    @property
    def empty(self) -> bool:
        """Whether the batch holds no data (a raw body alone is not data)."""
        return not (self.readings or self.intervals or self.points)
