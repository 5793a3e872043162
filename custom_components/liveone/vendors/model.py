"""The common data model every vendor client produces.

Nothing here imports Home Assistant: the vendor clients and the store share these types, and they
could be published as a library of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal
import math
from typing import Any


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
        """Return the reading with the store's precision: W whole, SOC 1 dp, kWh 3 dp, Wh as sent."""
        return Reading(
            inverter_time=self.inverter_time,
            solar_w=round_int(self.solar_w),
            solar_inverter_w=round_int(self.solar_inverter_w),
            shunt_w=round_int(self.shunt_w),
            load_w=round_int(self.load_w),
            battery_w=round_int(self.battery_w),
            grid_w=round_int(self.grid_w),
            battery_soc=round_opt(self.battery_soc, 1),
            fault_code=self.fault_code,
            fault_timestamp=self.fault_timestamp,
            generator_status=self.generator_status,
            solar_kwh_total=round_opt(self.solar_kwh_total, 3),
            load_kwh_total=round_opt(self.load_kwh_total, 3),
            battery_in_kwh_total=round_opt(self.battery_in_kwh_total, 3),
            battery_out_kwh_total=round_opt(self.battery_out_kwh_total, 3),
            grid_in_kwh_total=round_opt(self.grid_in_kwh_total, 3),
            grid_out_kwh_total=round_opt(self.grid_out_kwh_total, 3),
            solar_wh_interval=self.solar_wh_interval,
            load_wh_interval=self.load_wh_interval,
            battery_in_wh_interval=self.battery_in_wh_interval,
            battery_out_wh_interval=self.battery_out_wh_interval,
            grid_in_wh_interval=self.grid_in_wh_interval,
            grid_out_wh_interval=self.grid_out_wh_interval,
        )

    def as_row(self) -> dict[str, Any]:
        """Return the reading as a ``readings`` row fragment (column name -> value)."""
        return {name: getattr(self, name) for name in READING_FIELDS}

    @classmethod
    def from_row(cls, row: Any) -> Reading:
        """Build a reading from a mapping with (at least) the ``readings`` column names."""
        return cls(**{name: row[name] for name in READING_FIELDS if name in row})


READING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Reading))


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
