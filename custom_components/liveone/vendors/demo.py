"""The built-in ``demo`` vendor: a simulated household with solar, a battery and a grid connection.

Nothing here touches the network. A :class:`DemoSite` describes the household (where it is, how big its
solar array, battery and inverter are, and a seed that makes it unique); a :class:`DemoSystem` walks its
state forward one minute at a time and produces a :class:`~.model.Reading` per minute with every column a
Selectronic SP PRO system reports; :class:`DemoClient` gives it the async face of a vendor client.

How a minute is made:

* Weather and household behaviour are drawn per local day from a ``random.Random`` seeded with a stable
  hash of ``(seed, day)``. A whole day (1,440 minutes of solar potential and load) is built at once, so a
  minute's value is a pure function of the site and the time, whenever and in whatever order it is asked
  for. The hash is BLAKE2b, not Python's salted ``hash()``, so results do not depend on ``PYTHONHASHSEED``.
* Solar: the sun's elevation comes from the usual fractional-year approximations of the declination and
  the equation of time. Clear-sky output is the array rating times the beam irradiance after the air mass
  (``1.353 * 0.7 ** (AM ** 0.678)`` kW/m2), projected half onto a horizontal plane and half onto a plane
  tilted at the latitude towards the equator, plus 10 % diffuse light, times an 82 % system derate. A day
  is clear, partly cloudy or overcast, with drifting clouds and a little per-minute flicker.
* Load: a base load with a cycling fridge, morning, daytime and evening peaks in local time (later and
  busier at weekends), heating in winter and cooling in summer (by hemisphere), per-household extras
  (pool pump, off-peak electric hot water), appliance bursts (kettle, microwave, oven, washing machine,
  dishwasher, dryer) and smooth noise.
* Battery: self-consumption. Surplus solar charges the battery, a deficit discharges it, each within the
  inverter rating, with charging tapering above 90 % SOC and discharging stopping at the SOC floor. The
  grid takes the rest, so ``solar + battery + grid == load`` holds exactly every minute; exports beyond the
  inverter rating are curtailed from the solar output.
* Totals integrate the minute's powers (``W * 60 / 3.6e6`` kWh per minute) exactly, in whole watt-minutes.

Readings are produced directly at the store's precision (whole W, SOC to 0.1 %, kWh to 3 decimals), so
``reading.normalized() == reading``; ``Reading.normalized()`` itself is not called because its decimal
rounding would dominate the cost of a backfill.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from functools import lru_cache
import hashlib
import math
import random
import time
from typing import TYPE_CHECKING

from .model import Reading

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_CATCH_UP = 7 * 86400
"""The longest gap (seconds) simulated minute by minute; beyond it the clock jumps, keeping the state."""
MAX_POLL_CATCH_UP = 3600
"""A poll returns at most this many seconds of missed minutes (see DemoClient.async_get_readings)."""

START_SOC = 50.0
"""SOC (%) of a system that starts fresh."""

SOC_FLOOR = 10.0
"""The battery does not discharge below this SOC (%)."""

BATTERY_EFFICIENCY = 0.95
"""One-way efficiency of charging and of discharging (about 90 % round trip)."""

TAPER_FROM_SOC = 90.0
"""Above this SOC (%) the charge limit falls linearly, to 10 % of the rating at full."""

SYSTEM_DERATE = 0.82
"""Share of the clear-sky plane irradiance an array turns into AC power (heat, wiring, inverter)."""

MINUTES_PER_DAY = 1440

_SUN_UP = 0.0
_MAX_AIR_MASS = 38.0
_CLOUD_KNOT_MIN = 8
_LOAD_KNOT_MIN = 15


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoSite:
    """A simulated household: where it is, how big its equipment is, and the seed that makes it unique.

    Attributes:
        seed: Any text; the same seed (and the rest of the site) always gives the same household.
        latitude: Degrees north (negative = south).
        longitude: Degrees east (negative = west).
        tz_offset_min: The fixed standard offset of local time from UTC, in minutes.
        solar_kw: Array rating in kW (DC).
        battery_kwh: Usable battery capacity in kWh.
        inverter_kw: Inverter rating in kW; the battery's charge and discharge limits and the export
            limit are this rating.

    """

    seed: str
    latitude: float
    longitude: float
    tz_offset_min: int
    solar_kw: float = 6.6
    battery_kwh: float = 13.5
    inverter_kw: float = 7.5

    def __post_init__(self) -> None:
        """Reject a site that cannot be simulated.

        Raises:
            ValueError: A coordinate, offset or size is out of range.

        """
        if not -90.0 <= self.latitude <= 90.0:
            raise ValueError(f"latitude {self.latitude} is not within -90..90")
        if not -180.0 <= self.longitude <= 180.0:
            raise ValueError(f"longitude {self.longitude} is not within -180..180")
        if not -720 <= self.tz_offset_min <= 840:
            raise ValueError(f"tz_offset_min {self.tz_offset_min} is not within -720..840")
        if self.solar_kw < 0 or self.battery_kwh <= 0 or self.inverter_kw <= 0:
            raise ValueError("solar_kw must be >= 0, battery_kwh and inverter_kw > 0")


def site_details(site: DemoSite) -> dict[str, str]:
    """Describe a simulated system the way Select.Live's system page describes a real one.

    Args:
        site: The simulated household.

    Returns:
        ``model``, ``serial`` (derived from the seed), ``ratings``, ``solar_size`` and ``battery_size``.

    """
    serial = f"{_stable_int(site.seed, 'serial') % 10**9:09d}"
    return {
        "model": "LiveOne Demo SP",
        "serial": f"DEMO{serial}",
        "ratings": f"{site.inverter_kw:g}kW, 48V",
        "solar_size": f"{site.solar_kw:g} kW",
        "battery_size": f"{site.battery_kwh:g} kWh",
    }


# --- The sun -------------------------------------------------------------------------------------------


def _stable_int(*parts: object) -> int:
    """Hash ``parts`` to a 64-bit integer that is the same in every process and on every machine."""
    text = "\x1f".join(str(part) for part in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _year_angle(t: float) -> float:
    """Return the fractional year of UTC time ``t`` as an angle in radians (0 at 1 January 00:00)."""
    tm = time.gmtime(t)
    days_in_year = 366 if calendar.isleap(tm.tm_year) else 365
    hours = tm.tm_hour + tm.tm_min / 60 + tm.tm_sec / 3600
    return 2 * math.pi / days_in_year * (tm.tm_yday - 1 + (hours - 12) / 24)


def _sun_terms(angle: float) -> tuple[float, float]:
    """Return the declination (radians) and equation of time (minutes) at a fractional-year angle."""
    c1, s1 = math.cos(angle), math.sin(angle)
    c2, s2 = math.cos(2 * angle), math.sin(2 * angle)
    c3, s3 = math.cos(3 * angle), math.sin(3 * angle)
    declination = (
        0.006918
        - 0.399912 * c1
        + 0.070257 * s1
        - 0.006758 * c2
        + 0.000907 * s2
        - 0.002697 * c3
        + 0.00148 * s3
    )
    equation_of_time = 229.18 * (0.000075 + 0.001868 * c1 - 0.032077 * s1 - 0.014615 * c2 - 0.040849 * s2)
    return declination, equation_of_time


def _hour_angle(t: float, equation_of_time: float, longitude: float) -> float:
    """Return the sun's hour angle in radians (0 at solar noon) at UTC time ``t``."""
    true_solar_minutes = (t % 86400) / 60 + equation_of_time + 4 * longitude
    return math.radians(true_solar_minutes / 4 - 180)


def solar_elevation(t: float, latitude: float, longitude: float) -> float:
    """Compute the sun's elevation above the horizon, in degrees, at a place and a UTC time.

    Args:
        t: Unix time (seconds, UTC).
        latitude: Degrees north.
        longitude: Degrees east.

    Returns:
        Elevation in degrees, negative when the sun is below the horizon.

    """
    declination, equation_of_time = _sun_terms(_year_angle(t))
    lat = math.radians(latitude)
    sin_elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * math.cos(
        _hour_angle(t, equation_of_time, longitude)
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elevation))))


def _array_fraction(sin_elevation: float, facing: float) -> float:
    """Clear-sky output of an array as a share of its rating.

    Args:
        sin_elevation: Sine of the sun's elevation.
        facing: Cosine of the sun's angle to a plane tilted at the latitude towards the equator.

    Returns:
        Output / rating, 0 when the sun is down, at most 1.

    """
    if sin_elevation <= _SUN_UP:
        return 0.0
    air_mass = min(1.0 / sin_elevation, _MAX_AIR_MASS)
    beam = 1.353 * math.pow(0.7, math.pow(air_mass, 0.678))
    plane = beam * (0.5 * sin_elevation + 0.5 * max(facing, 0.0) + 0.1)
    return min(plane * SYSTEM_DERATE, 1.0)


def clear_sky_w(site: DemoSite, t: float) -> float:
    """Compute the array's cloudless output (W) at UTC time ``t``: the curve the weather scales down.

    Args:
        site: The simulated household.
        t: Unix time (seconds, UTC).

    Returns:
        Watts, 0 at night.

    """
    declination, equation_of_time = _sun_terms(_year_angle(t))
    lat = math.radians(site.latitude)
    cos_hour = math.cos(_hour_angle(t, equation_of_time, site.longitude))
    sin_elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * cos_hour
    return site.solar_kw * 1000 * _array_fraction(sin_elevation, math.cos(declination) * cos_hour)


# --- The household -------------------------------------------------------------------------------------


def local_day(site: DemoSite, t: int) -> int:
    """Return the local day number (days since 1970-01-01, site standard time) of UTC time ``t``."""
    return (t // 60 + site.tz_offset_min) // MINUTES_PER_DAY


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


@dataclass(frozen=True, slots=True)
class _Traits:
    """What makes one household unlike another; fixed for the life of a site."""

    weekday_shape: tuple[float, ...]
    weekend_shape: tuple[float, ...]
    heating_shape: tuple[float, ...]
    cooling_shape: tuple[float, ...]
    ac_share: float
    hot_water_w: int


@lru_cache(maxsize=256)
def _traits(site: DemoSite) -> _Traits:
    rng = random.Random(_stable_int(site.seed, "household"))  # noqa: S311 - a simulation, not a secret
    base = rng.uniform(150.0, 300.0)
    fridge = rng.uniform(60.0, 120.0)
    morning = rng.uniform(400.0, 900.0)
    daytime = rng.uniform(100.0, 350.0)
    evening = rng.uniform(600.0, 1300.0)
    pool_w = rng.choice((0.0, 0.0, 0.0, 750.0))
    heating = rng.uniform(400.0, 1000.0)
    cooling = rng.uniform(400.0, 1200.0)
    ac_share = rng.uniform(0.45, 0.75)
    hot_water_w = rng.choice((0, 0, 3600))

    def shape(morning_at: float, daytime_scale: float) -> tuple[float, ...]:
        values = []
        for minute in range(MINUTES_PER_DAY):
            hour = minute / 60
            value = (
                base
                + (fridge if minute % 47 < 15 else 0.0)
                + morning * _bump(hour, morning_at, 0.8)
                + daytime * daytime_scale * _bump(hour, 13.0, 2.8)
                + evening * _bump(hour, 19.0, 1.5)
                + (pool_w if 10 <= hour < 16 else 0.0)
            )
            values.append(value)
        return tuple(values)

    hours = [minute / 60 for minute in range(MINUTES_PER_DAY)]
    return _Traits(
        weekday_shape=shape(6.75, 1.0),
        weekend_shape=shape(8.0, 1.8),
        heating_shape=tuple(heating * (_bump(h, 7.0, 1.2) + _bump(h, 20.0, 2.2)) for h in hours),
        cooling_shape=tuple(cooling * _bump(h, 16.5, 2.5) for h in hours),
        ac_share=ac_share,
        hot_water_w=hot_water_w,
    )


@dataclass(frozen=True, slots=True)
class _Day:
    """One local day of a site: its weather and, per local minute, solar potential and load in W."""

    clearness: float
    solar: tuple[int, ...]
    load: tuple[int, ...]


def _weather(rng: random.Random) -> tuple[float, float]:
    """Draw a day's clearness (mean share of clear-sky output) and how much clouds make it vary."""
    kind = rng.random()
    if kind < 0.45:
        return rng.uniform(0.92, 1.0), 0.03  # clear
    if kind < 0.8:
        return rng.uniform(0.55, 0.85), 0.35  # sun and passing clouds
    return rng.uniform(0.12, 0.4), 0.1  # overcast


def _knots(rng: random.Random, spacing: int) -> list[float]:
    return [rng.uniform(-1.0, 1.0) for _ in range(MINUTES_PER_DAY // spacing + 1)]


def _smooth(knots: list[float], spacing: int, minute: int) -> float:
    index, offset = divmod(minute, spacing)
    share = offset / spacing
    return knots[index] * (1.0 - share) + knots[index + 1] * share


def _appliances(rng: random.Random, load: list[float], hot_water_w: int) -> None:
    """Add the day's appliance runs (start minute, minutes, watts) to ``load``."""
    runs: list[tuple[int, int, float]] = []
    runs.extend((rng.randint(360, 1320), 3, 2200.0) for _ in range(rng.randint(2, 5)))  # kettle
    for _ in range(rng.randint(0, 3)):  # microwave or toaster
        start = rng.choice((420, 750, 1050)) + rng.randint(0, 90)
        runs.append((start, rng.randint(2, 6), 1100.0))
    if rng.random() < 0.45:  # washing machine: heat, then wash and spin
        start = rng.randint(480, 900)
        runs += [(start, 20, 2000.0), (start + 20, 60, 300.0)]
    if rng.random() < 0.6:  # dishwasher: heat, wash, heat to dry
        start = rng.randint(1140, 1320)
        runs += [(start, 20, 1800.0), (start + 20, 60, 150.0), (start + 80, 15, 1800.0)]
    if rng.random() < 0.15:  # dryer
        runs.append((rng.randint(600, 1020), 70, 2400.0))
    if rng.random() < 0.35:  # oven, its element cycling
        start = rng.randint(1020, 1110)
        runs.extend((start + cycle, 4, 2000.0) for cycle in range(0, 50, 6))
    if hot_water_w:  # off-peak electric hot water
        runs.append((1320 + rng.randint(0, 30), rng.randint(40, 110), float(hot_water_w)))
    for start, minutes, watts in runs:
        for minute in range(start, min(start + minutes, MINUTES_PER_DAY)):
            load[minute] += watts


@lru_cache(maxsize=32)
def _day(site: DemoSite, day: int) -> _Day:
    """Build one local day of a site (a pure function of the site and the day)."""
    traits = _traits(site)
    rng = random.Random(_stable_int(site.seed, "day", day))  # noqa: S311 - a simulation, not a secret
    start = (day * MINUTES_PER_DAY - site.tz_offset_min) * 60  # UTC time of local midnight
    angle = _year_angle(start + 43200)
    declination, equation_of_time = _sun_terms(angle)

    # Solar potential, before any curtailment.
    clearness, variability = _weather(rng)
    clouds = _knots(rng, _CLOUD_KNOT_MIN)
    lat = math.radians(site.latitude)
    sin_part = math.sin(lat) * math.sin(declination)
    cos_part = math.cos(lat) * math.cos(declination)
    cos_declination = math.cos(declination)
    first_hour_angle = _hour_angle(start, equation_of_time, site.longitude)
    step = math.radians(0.25)
    rating = site.solar_kw * 1000
    solar: list[int] = []
    for minute in range(MINUTES_PER_DAY):
        cos_hour = math.cos(first_hour_angle + minute * step)
        fraction = _array_fraction(sin_part + cos_part * cos_hour, cos_declination * cos_hour)
        flicker = 1.0 + 0.03 * (rng.random() - 0.5)
        if fraction > 0.0:
            sky = clearness + variability * _smooth(clouds, _CLOUD_KNOT_MIN, minute)
            solar.append(int(rating * fraction * min(max(sky, 0.05), 1.0) * flicker + 0.5))
        else:
            solar.append(0)

    # Load: the household's shape for the day of the week and season, noise, appliances.
    weekend = (day + 3) % 7 >= 5  # day 0 (1970-01-01) was a Thursday
    shape = traits.weekend_shape if weekend else traits.weekday_shape
    season = math.cos(angle - 2 * math.pi * 171 / 365.25)  # +1 at the June solstice
    summer = season if site.latitude >= 0 else -season
    heating = max(0.0, -summer) * rng.uniform(0.4, 1.2)
    cooling = max(0.0, summer) ** 2 * rng.uniform(0.0, 1.2)
    wobble = _knots(rng, _LOAD_KNOT_MIN)
    load_w = [
        (shape[m] + heating * traits.heating_shape[m] + cooling * traits.cooling_shape[m])
        * (1.0 + 0.12 * _smooth(wobble, _LOAD_KNOT_MIN, m) + 0.08 * (rng.random() - 0.5))
        for m in range(MINUTES_PER_DAY)
    ]
    _appliances(rng, load_w, traits.hot_water_w)
    return _Day(clearness=clearness, solar=tuple(solar), load=tuple(int(w + 0.5) for w in load_w))


def day_clearness(site: DemoSite, day: int) -> float:
    """Return the share of clear-sky output a local day's weather lets through (about 0.1 to 1).

    Args:
        site: The simulated household.
        day: Local day number, as :func:`local_day` gives.

    Returns:
        Above 0.9 on a clear day, below 0.4 on an overcast one.

    """
    return _day(site, day).clearness


# --- The system ----------------------------------------------------------------------------------------


def _watt_minutes(kwh: float | None) -> int:
    return 0 if kwh is None else max(0, round(kwh * 60000))


class DemoSystem:
    """Simulation state of one household, advanced minute by minute.

    The state is the time of the newest reading, the battery's stored energy and the six cumulative
    totals. Every method is synchronous and CPU-only; a year of minutes takes a few seconds.
    """

    __slots__ = (
        "_ac_share",
        "_battery_in",
        "_battery_out",
        "_capacity_wh",
        "_day_cache",
        "_day_index",
        "_floor_wh",
        "_grid_in",
        "_grid_out",
        "_last",
        "_load",
        "_max_battery_w",
        "_max_export_w",
        "_site",
        "_solar",
        "_stored_wh",
    )

    def __init__(self, site: DemoSite, *, resume_from: Reading | None = None) -> None:
        """Start fresh or continue from a stored reading.

        Args:
            site: The simulated household.
            resume_from: Continue from this reading (its time, SOC and totals; a missing SOC is taken
                as 50 %, missing totals as 0). ``None`` starts fresh, with SOC 50 % and zero totals, at
                the first minute asked for.

        """
        self._site = site
        self._capacity_wh = site.battery_kwh * 1000
        self._floor_wh = self._capacity_wh * SOC_FLOOR / 100
        self._max_battery_w = round(site.inverter_kw * 1000)
        self._max_export_w = self._max_battery_w
        self._ac_share = _traits(site).ac_share
        self._day_index = 0
        self._day_cache: _Day | None = None
        self._last = resume_from
        soc = START_SOC
        if resume_from is not None and resume_from.battery_soc is not None:
            soc = resume_from.battery_soc
        self._stored_wh = min(max(soc, 0.0), 100.0) / 100 * self._capacity_wh
        # Totals in watt-minutes (a W held for a minute), so integration is exact.
        self._solar = _watt_minutes(None if resume_from is None else resume_from.solar_kwh_total)
        self._load = _watt_minutes(None if resume_from is None else resume_from.load_kwh_total)
        self._battery_in = _watt_minutes(None if resume_from is None else resume_from.battery_in_kwh_total)
        self._battery_out = _watt_minutes(None if resume_from is None else resume_from.battery_out_kwh_total)
        self._grid_in = _watt_minutes(None if resume_from is None else resume_from.grid_in_kwh_total)
        self._grid_out = _watt_minutes(None if resume_from is None else resume_from.grid_out_kwh_total)

    @property
    def site(self) -> DemoSite:
        """The simulated household."""
        return self._site

    @property
    def last(self) -> Reading | None:
        """The newest reading (or the one resumed from); ``None`` before the first."""
        return self._last

    def advance_to(self, t: int) -> Reading:
        """Return the reading of the whole minute ``floor(t / 60) * 60``, simulating up to it.

        Every minute since the newest reading is simulated so that SOC and totals integrate correctly.
        When that gap exceeds :data:`MAX_CATCH_UP`, the clock jumps to the minute before ``t``, keeping
        SOC and totals. Asking for a minute at or before the newest reading returns that reading unchanged.

        Args:
            t: Unix time (seconds, UTC).

        Returns:
            The reading of that minute (or the newest one, when ``t`` is not past it).

        """
        minute = int(t) // 60 * 60
        last = self._last
        if last is None:
            return self._step(minute, integrate=False)
        if minute <= last.inverter_time:
            return last
        previous = last.inverter_time
        if minute - previous > MAX_CATCH_UP:
            previous = minute - 60
        reading = self._step((previous // 60 + 1) * 60, integrate=True)
        while reading.inverter_time < minute:
            reading = self._step(reading.inverter_time + 60, integrate=True)
        return reading

    def readings_between(self, start: int, end: int) -> Iterator[Reading]:
        """Yield one reading per whole minute in ``(start, end]``, advancing the state (for backfills).

        Minutes at or before the newest reading are skipped; minutes between the newest reading and
        ``start`` are simulated (or jumped, as :meth:`advance_to` does) without being yielded. The
        generator is lazy: stopping early leaves the state at the last reading yielded.

        Args:
            start: Unix time (exclusive).
            end: Unix time (inclusive).

        Yields:
            Readings, 60 s apart, oldest first.

        """
        first = (start // 60 + 1) * 60
        if self._last is not None:
            first = max(first, (self._last.inverter_time // 60 + 1) * 60)
        for minute in range(first, end // 60 * 60 + 1, 60):
            last = self._last
            if last is not None and last.inverter_time == minute - 60:
                yield self._step(minute, integrate=True)  # the common case, without advance_to's checks
            else:
                yield self.advance_to(minute)

    def _step(self, minute: int, *, integrate: bool) -> Reading:
        """Simulate the minute ending at ``minute``; ``integrate=False`` leaves SOC and totals as they are."""
        local = minute // 60 + self._site.tz_offset_min
        index = local // MINUTES_PER_DAY
        day = self._day_cache
        if day is None or index != self._day_index:
            day = self._day_cache = _day(self._site, index)
            self._day_index = index
        offset = local % MINUTES_PER_DAY
        solar = day.solar[offset]
        load = day.load[offset]
        stored = self._stored_wh
        capacity = self._capacity_wh
        surplus = solar - load
        charge = discharge = grid_in = grid_out = 0
        if surplus >= 0:
            limit = self._max_battery_w
            soc = stored / capacity * 100
            if soc > TAPER_FROM_SOC:
                limit = int(limit * max(0.1, (100 - soc) / (100 - TAPER_FROM_SOC)))
            room = int((capacity - stored) * 60 / BATTERY_EFFICIENCY)
            charge = max(0, min(surplus, limit, room))
            grid_out = surplus - charge
            if grid_out > self._max_export_w:
                solar -= grid_out - self._max_export_w
                grid_out = self._max_export_w
            stored += charge / 60 * BATTERY_EFFICIENCY
        else:
            available = int((stored - self._floor_wh) * 60 * BATTERY_EFFICIENCY)
            discharge = max(0, min(-surplus, self._max_battery_w, available))
            grid_in = -surplus - discharge
            stored -= discharge / 60 / BATTERY_EFFICIENCY
        if integrate:
            self._stored_wh = min(max(stored, 0.0), capacity)
            self._solar += solar
            self._load += load
            self._battery_in += charge
            self._battery_out += discharge
            self._grid_in += grid_in
            self._grid_out += grid_out
        solar_inverter = int(solar * self._ac_share + 0.5)
        # Watt-minutes to kWh, rounded half up to whole Wh (inlined: this is the hot path).
        reading = Reading(
            inverter_time=minute,
            solar_w=solar,
            solar_inverter_w=solar_inverter,
            shunt_w=solar - solar_inverter,
            load_w=load,
            battery_w=discharge - charge,
            grid_w=grid_in - grid_out,
            battery_soc=int(self._stored_wh / capacity * 1000 + 0.5) / 10,
            fault_code=0,
            generator_status=0,
            solar_kwh_total=(self._solar + 30) // 60 / 1000,
            load_kwh_total=(self._load + 30) // 60 / 1000,
            battery_in_kwh_total=(self._battery_in + 30) // 60 / 1000,
            battery_out_kwh_total=(self._battery_out + 30) // 60 / 1000,
            grid_in_kwh_total=(self._grid_in + 30) // 60 / 1000,
            grid_out_kwh_total=(self._grid_out + 30) // 60 / 1000,
        )
        self._last = reading
        return reading


class DemoClient:
    """The async vendor-client face of the demo, shaped like a real vendor client.

    The simulation is CPU-only: a poll (a few minutes) is computed inline; a backfill runs
    :meth:`DemoSystem.readings_between` (via :attr:`system`) in an executor, off the event loop.
    """

    def __init__(self, site: DemoSite, *, resume_from: Reading | None = None) -> None:
        """Create the client and its simulation.

        Args:
            site: The simulated household.
            resume_from: The newest stored reading to continue from, or ``None`` to start fresh.

        """
        self._system = DemoSystem(site, resume_from=resume_from)

    @property
    def system(self) -> DemoSystem:
        """The simulation behind the client."""
        return self._system

    async def async_get_readings(self, now: float) -> list[Reading]:
        """Return every whole minute's reading since the last one, up to ``now`` (oldest first).

        A poller's clock drifts around the minute boundary (Home Assistant's coordinator may fire at
        12:00:59.8 and then 12:02:00.1); returning each minute not yet returned means no minute is
        repeated or skipped. After a long pause only the last :data:`MAX_POLL_CATCH_UP` seconds are
        returned (the minutes before are simulated, so totals and SOC stay continuous).

        Args:
            now: Unix time (seconds, UTC).

        Returns:
            The new readings; empty when the current minute was already returned.

        """
        last = self._system.last
        if last is None:
            return [self._system.advance_to(int(now))]
        start = max(last.inverter_time, int(now) - MAX_POLL_CATCH_UP)
        return list(self._system.readings_between(start, int(now)))
