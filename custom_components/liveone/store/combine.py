"""A system made of other systems: its 5-minute rows computed from theirs (docs/vendors.md#composite).

A combined (derived) system names, for each role, the systems it takes that role from
(:class:`Roles`): solar from one or several systems (summed), battery power with its SOC from one,
grid from one, load from one or, with none, the balance ``solar + battery + grid``
(docs/conventions.md signs: battery positive is discharging, grid positive is import).

:func:`combine` is the rule, a pure function of the sources' stored ``readings_agg_5m`` rows of one
interval; :func:`combined_intervals` and :func:`combined_range` read those rows and return the combined
system's :class:`~..vendors.model.Interval` values, which the caller writes through the interval writer
(:mod:`.intervals`), so the combined system gets its own running lifetime totals, daily rows and
statistics as any system does. Nothing here writes to a source system's rows.

The rule, per interval end:

- power averages: the sum of the role's sources' averages (a source without a row, or with a NULL
  average, adds nothing; NULL when none has one);
- power minimum and maximum: copied when the role has one source; NULL for a sum of several and for the
  balance, whose extremes the sources' extremes do not give (the extremes of two arrays need not fall
  in the same minute);
- SOC: the battery source's ``battery_soc_last``;
- interval energies: summed per role as the averages are; the balance load's energy is
  ``solar + battery_out - battery_in + grid_in - grid_out`` (never below 0), NULL when a role it needs
  has none;
- ``sample_count``: the sum of the sources' counts.

A role with no source counts as 0 in the balance; a role whose source has no row (or a NULL value) for
the interval makes the balance NULL, so a late source makes the interval incomplete until its row
arrives and the interval is recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import FLOWS, Interval
from . import aggregate
from .schema import readings_agg_1d, readings_agg_5m

_AGG = readings_agg_5m
_STATS: Final = ("avg", "min", "max")
_SOURCE_COLUMNS: Final = (
    "system_id",
    "interval_end",
    *(f"{name}_w_{stat}" for name in ("solar", "load", "battery", "grid") for stat in _STATS),
    "battery_soc_last",
    *(flow.interval_column for flow in FLOWS),
    "sample_count",
)
_TOTAL_COLUMNS: Final = {flow.key: f"{flow.total_column}_last" for flow in FLOWS}
_ENERGY_COLUMN: Final = {flow.key: flow.interval_column for flow in FLOWS}
_IN_CHUNK: Final = 500
"""Interval ends per ``IN`` list (SQLite allows 32766 parameters; keep statements small)."""

type Row = Mapping[str, Any]

NO_SYSTEM: Final = -1
"""The id to give a role whose source has no system (removed): it has no rows, so the role is unknown."""


@dataclass(frozen=True, slots=True)
class Roles:
    """The store ids of the systems a combined system takes each role from (``None``: no source)."""

    solar: tuple[int, ...] = ()
    battery: int | None = None
    grid: int | None = None
    load: int | None = None
    """``None``: the load is the balance of solar, battery and grid."""

    @property
    def systems(self) -> tuple[int, ...]:
        """Every source system, once, ascending."""
        single = (self.battery, self.grid, self.load)
        return tuple(sorted({*self.solar, *(system for system in single if system is not None)}))


def _add(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) if present else None


def _field(row: Row | None, column: str) -> float | None:
    return None if row is None else row[column]


def _role(rows: Sequence[Row | None], name: str, prefix: str) -> dict[str, float | None]:
    """Return one role's power avg/min/max from its sources' rows (min/max only for one source)."""
    single = len(rows) == 1
    return {
        f"{prefix}_w_avg": _add(_field(row, f"{name}_w_avg") for row in rows),
        f"{prefix}_w_min": _field(rows[0], f"{name}_w_min") if single else None,
        f"{prefix}_w_max": _field(rows[0], f"{name}_w_max") if single else None,
    }


def _balance_term(system: int | None, value: float | None) -> tuple[bool, float]:
    """Return whether a role's term of the balance is known, and its value (0 for a role without source)."""
    if system is None:
        return True, 0.0
    return value is not None, value or 0.0


def _balance(terms: Iterable[tuple[bool, float]]) -> float | None:
    total = 0.0
    for known, value in terms:
        if not known:
            return None
        total += value
    return total


def combine(rows: Mapping[int, Row], roles: Roles, interval_end: int) -> Interval | None:
    """Return the combined system's interval from its sources' rows of that interval (by system id).

    ``None`` when no source has a row for it (the combined system then has none either).
    """
    if not any(system in rows for system in roles.systems):
        return None

    def row(system: int | None) -> Row | None:
        return None if system is None else rows.get(system)

    solar_rows = [rows.get(system) for system in roles.solar]
    battery, grid = row(roles.battery), row(roles.grid)
    values: dict[str, Any] = {}
    if solar_rows:
        values.update(_role(solar_rows, "solar", "solar"))
        values["solar_wh"] = _add(_field(r, _ENERGY_COLUMN["solar"]) for r in solar_rows)
    if roles.battery is not None:
        values.update(_role([battery], "battery", "battery"))
        values["battery_soc_last"] = _field(battery, "battery_soc_last")
        values["battery_in_wh"] = _field(battery, _ENERGY_COLUMN["battery_in"])
        values["battery_out_wh"] = _field(battery, _ENERGY_COLUMN["battery_out"])
    if roles.grid is not None:
        values.update(_role([grid], "grid", "grid"))
        values["grid_in_wh"] = _field(grid, _ENERGY_COLUMN["grid_in"])
        values["grid_out_wh"] = _field(grid, _ENERGY_COLUMN["grid_out"])
    if roles.load is not None:
        values.update(_role([row(roles.load)], "load", "load"))
        values["load_wh"] = _field(row(roles.load), _ENERGY_COLUMN["load"])
    else:
        solar_known = bool(solar_rows) and all(
            r is not None and r["solar_w_avg"] is not None for r in solar_rows
        )
        values["load_w_avg"] = _balance(
            (
                (solar_known or not solar_rows, values.get("solar_w_avg") or 0.0),
                _balance_term(roles.battery, values.get("battery_w_avg")),
                _balance_term(roles.grid, values.get("grid_w_avg")),
            )
        )
        solar_energy_known = bool(solar_rows) and all(
            r is not None and r[_ENERGY_COLUMN["solar"]] is not None for r in solar_rows
        )
        battery_known = values.get("battery_in_wh") is not None and values.get("battery_out_wh") is not None
        grid_known = values.get("grid_in_wh") is not None and values.get("grid_out_wh") is not None
        energy = _balance(
            (
                (solar_energy_known or not solar_rows, values.get("solar_wh") or 0.0),
                (
                    roles.battery is None or battery_known,
                    (values.get("battery_out_wh") or 0.0) - (values.get("battery_in_wh") or 0.0),
                ),
                (
                    roles.grid is None or grid_known,
                    (values.get("grid_in_wh") or 0.0) - (values.get("grid_out_wh") or 0.0),
                ),
            )
        )
        values["load_wh"] = None if energy is None else max(0.0, energy)
    count = sum(int(rows[system]["sample_count"] or 0) for system in roles.systems if system in rows)
    return Interval(interval_end=interval_end, sample_count=count, **values)


def _select(systems: Sequence[int]) -> sa.Select[Any]:
    return sa.select(*(_AGG.c[column] for column in _SOURCE_COLUMNS)).where(_AGG.c.system_id.in_(systems))


def _grouped(result: Iterable[sa.Row[Any]]) -> dict[int, dict[int, Row]]:
    by_end: dict[int, dict[int, Row]] = {}
    for source_row in result:
        mapping: Row = dict(source_row._mapping)
        by_end.setdefault(int(mapping["interval_end"]), {})[int(mapping["system_id"])] = mapping
    return by_end


def _combined(by_end: Mapping[int, Mapping[int, Row]], roles: Roles) -> list[Interval]:
    combined = (combine(by_end[end], roles, end) for end in sorted(by_end))
    return [interval for interval in combined if interval is not None]


def combined_intervals(conn: Connection, roles: Roles, ends: Iterable[int]) -> list[Interval]:
    """Return the combined intervals of the given interval ends, ascending (ends no source has are left out)."""
    wanted = sorted(set(ends))
    systems = roles.systems
    if not systems or not wanted:
        return []
    by_end: dict[int, dict[int, Row]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        stmt = _select(systems).where(_AGG.c.interval_end.in_(chunk))
        by_end.update(_grouped(conn.execute(stmt)))
    return _combined(by_end, roles)


def combined_range(conn: Connection, roles: Roles, first_end: int, last_end: int) -> list[Interval]:
    """Return the combined intervals whose end lies in ``[first_end, last_end]``, ascending."""
    systems = roles.systems
    if not systems:
        return []
    stmt = _select(systems).where(_AGG.c.interval_end >= first_end, _AGG.c.interval_end <= last_end)
    return _combined(_grouped(conn.execute(stmt)), roles)


def source_span(conn: Connection, roles: Roles) -> tuple[int, int] | None:
    """Return the first and last interval end any source has a row for (``None``: no rows yet)."""
    systems = roles.systems
    if not systems:
        return None
    stmt = sa.select(sa.func.min(_AGG.c.interval_end), sa.func.max(_AGG.c.interval_end)).where(
        _AGG.c.system_id.in_(systems)
    )
    first, last = conn.execute(stmt).one()
    return None if first is None else (int(first), int(last))


def has_rows(conn: Connection, system_id: int) -> bool:
    """Whether the system has any 5-minute row."""
    stmt = sa.select(_AGG.c.id).where(_AGG.c.system_id == system_id).limit(1)
    return conn.execute(stmt).first() is not None


def newest_end(conn: Connection, system_id: int) -> int | None:
    """Return the system's newest 5-minute interval end (``None``: it has no rows)."""
    newest = conn.execute(
        sa.select(sa.func.max(_AGG.c.interval_end)).where(_AGG.c.system_id == system_id)
    ).scalar_one_or_none()
    return None if newest is None else int(newest)


def clear_rows(conn: Connection, system_id: int) -> int:
    """Delete a combined system's 5-minute and daily rows (before a rebuild); return the 5-minute rows deleted.

    Only for a system whose rows are all combined (it has no raw readings); a source's rows are
    never touched.
    """
    deleted = conn.execute(_AGG.delete().where(_AGG.c.system_id == system_id)).rowcount
    conn.execute(readings_agg_1d.delete().where(readings_agg_1d.c.system_id == str(system_id)))
    return int(deleted or 0)


def latest_totals(conn: Connection, system_id: int) -> dict[str, float | None]:
    """Return each flow's newest running lifetime total of the system (kWh; ``None``: none yet), by flow key."""
    totals: dict[str, float | None] = {}
    for key, column in _TOTAL_COLUMNS.items():
        stmt = (
            sa.select(_AGG.c[column])
            .where(_AGG.c.system_id == system_id, _AGG.c[column].is_not(None))
            .order_by(_AGG.c.interval_end.desc())
            .limit(1)
        )
        totals[key] = conn.execute(stmt).scalar_one_or_none()
    return totals


DAY: Final = 86400
CHUNK_INTERVALS: Final = DAY // aggregate.INTERVAL
"""Intervals per rebuild step (a day): one transaction each, so live writes interleave."""
