"""The store's tables, exactly as docs/schema.md documents them, built for any schema version.

The tables are described once, by :func:`build_metadata`, which takes the schema version so that a
migration can create the tables of an older version (for tests) and add what a newer version brings
without a second copy of the table definitions.

Additions to docs/schema.md (listed, with their reasons, in docs/schema-extensions.md):

* ``sessions``: one row per poll or push (docs/schema-extensions.md#sessions).
* ``point_readings_agg_5m``: 5-minute aggregates of ``point_readings``.
* ``readings.<flow>_wh_interval``: the interval energies a vendor pushes (Fronius) so that the
  aggregation's "pushed Wh" rule can be recomputed from stored rows (late data, rebuilds).
* ``schema_version``: the version this file was migrated to.

Types: timestamps are Unix seconds (``point_readings`` milliseconds) stored as INTEGER; on server
databases they become BIGINT, and REAL becomes DOUBLE PRECISION on PostgreSQL (its REAL is a 4-byte
float, too coarse for lifetime kWh totals). Indexed or defaulted TEXT columns are VARCHAR(255) on
MySQL/MariaDB, which cannot index TEXT.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..vendors.model import FLOWS, POWER_NAMES

# Version 1 is the schema as the documented system had it; version 2 adds the interval-energy columns
# docs/schema.md marks MISSING, the pushed interval energies on readings, and point_readings_agg_5m.
SCHEMA_VERSION = 2

SERVER_DIALECTS = ("postgresql", "mysql", "mariadb")

# INTEGER on SQLite (so that ``INTEGER PRIMARY KEY`` is the rowid), BIGINT on server databases.
BigInt = sa.Integer().with_variant(sa.BigInteger(), *SERVER_DIALECTS)
Real: sa.types.TypeEngine[float] = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")
# TEXT, except on MySQL/MariaDB, which cannot index TEXT (or give it a default) without a length.
KeyText: sa.types.TypeEngine[str] = sa.Text().with_variant(sa.String(255), "mysql", "mariadb")

ENERGY_FLOWS_5M: tuple[tuple[str, str], ...] = tuple((flow.key, flow.interval_column) for flow in FLOWS)
"""Each energy flow and the ``readings_agg_5m`` column that holds its interval energy (Wh).

Derived from :data:`~custom_components.liveone.vendors.model.FLOWS`, the one table of flow names.
"""

DAILY_ENERGY_COLUMNS: dict[str, tuple[str, str]] = {
    flow.key: (flow.day_column, flow.alltime_column) for flow in FLOWS
}
"""Each energy flow and its ``readings_agg_1d`` (day energy, all-time total) columns."""

POWER_STATS: tuple[str, ...] = POWER_NAMES
"""The power columns aggregated to avg/min/max (``<name>_w``)."""

_SOLAR = FLOWS[0]
HISTORY_INDEX = "readings_agg_5m_history_idx"
HISTORY_5M_COLUMNS = (
    "system_id",
    "interval_end",
    *(f"{name}_w_{stat}" for name in POWER_STATS for stat in ("avg", "min", "max")),
    "battery_soc_last",
    *(column for _, column in ENERGY_FLOWS_5M),
    # For the aggregation's own reads of earlier rows (the glitch rule's baseline window, a day's rows).
    *(f"{flow.total_column}_last" for flow in FLOWS),
    "sample_count",
)
"""The covering index of the history answers on ``readings_agg_5m``: its key, then every column read."""
HISTORY_1D_INDEX = "readings_agg_1d_history_idx"
HISTORY_1D_COLUMNS = (
    "system_id",
    "day",
    *(energy for energy, _ in DAILY_ENERGY_COLUMNS.values()),
    *(f"{name}_w_{stat}" for name in POWER_STATS for stat in ("min", "avg", "max")),
    "battery_soc_min",
    "battery_soc_max",
    "battery_soc_end",
)
"""The same for the daily answers on ``readings_agg_1d`` (a system's days, one per row, side by side)."""


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _ts(name: str, *, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, BigInt, nullable=nullable)


def _system_fk() -> sa.Column[int]:
    return sa.Column(
        "system_id",
        sa.Integer,
        sa.ForeignKey("systems.id", ondelete="CASCADE"),
        nullable=False,
    )


def build_metadata(version: int = SCHEMA_VERSION) -> sa.MetaData:
    """Describe every table of the given schema version."""
    md = sa.MetaData()

    sa.Table(
        "schema_version",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", BigInt),
    )

    systems = sa.Table(
        "systems",
        md,
        _id(),
        sa.Column("owner_clerk_user_id", KeyText),
        sa.Column("vendor_type", KeyText, nullable=False),
        sa.Column("vendor_site_id", KeyText, nullable=False),
        sa.Column("display_name", sa.Text),
        sa.Column("model", sa.Text),
        sa.Column("serial", sa.Text),
        sa.Column("ratings", sa.Text),
        sa.Column("solar_size", sa.Text),
        sa.Column("battery_size", sa.Text),
        sa.Column("status", KeyText, nullable=False, server_default="active"),
        sa.Column("location", sa.Text),
        sa.Column("timezone_offset_min", sa.Integer, nullable=False, server_default="600"),
        _ts("created_at"),
        _ts("updated_at"),
    )
    sa.Index("vendor_site_unique", systems.c.vendor_type, systems.c.vendor_site_id, unique=True)
    sa.Index("owner_clerk_user_idx", systems.c.owner_clerk_user_id)
    sa.Index("systems_status_idx", systems.c.status)

    reading_columns: list[sa.Column[Any]] = [
        _id(),
        _system_fk(),
        _ts("inverter_time"),
        _ts("received_time"),
        sa.Column("delay_seconds", sa.Integer),
        sa.Column("solar_w", sa.Integer),
        sa.Column("solar_inverter_w", sa.Integer),
        sa.Column("shunt_w", sa.Integer),
        sa.Column("load_w", sa.Integer),
        sa.Column("battery_w", sa.Integer),
        sa.Column("grid_w", sa.Integer),
        sa.Column("battery_soc", Real),
        sa.Column("fault_code", sa.Integer),
        sa.Column("fault_timestamp", BigInt),
        sa.Column("generator_status", sa.Integer),
        *(sa.Column(flow.total_column, Real) for flow in FLOWS),
        _ts("created_at"),
    ]
    if version >= 2:
        reading_columns += [sa.Column(flow.pushed_column, Real) for flow in FLOWS]
    readings = sa.Table("readings", md, *reading_columns)
    sa.Index(
        "readings_system_inverter_time_unique",
        readings.c.system_id,
        readings.c.inverter_time,
        unique=True,
    )
    sa.Index("system_inverter_time_idx", readings.c.system_id, readings.c.inverter_time)
    sa.Index("inverter_time_idx", readings.c.inverter_time)
    sa.Index("received_time_idx", readings.c.received_time)

    agg5_columns: list[sa.Column[Any]] = [
        _id(),
        sa.Column("system_id", sa.Integer, nullable=False),
        _ts("interval_end"),
    ]
    for name in POWER_STATS:
        agg5_columns += [
            sa.Column(f"{name}_w_avg", sa.Integer),
            sa.Column(f"{name}_w_min", sa.Integer),
            sa.Column(f"{name}_w_max", sa.Integer),
        ]
        if name == _SOLAR.key:  # version 1 had solar's interval energy only, after its power
            agg5_columns.append(sa.Column(_SOLAR.interval_column, sa.Integer))
    if version >= 2:
        agg5_columns += [sa.Column(flow.interval_column, sa.Integer) for flow in FLOWS if flow is not _SOLAR]
    agg5_columns.append(sa.Column("battery_soc_last", Real))
    agg5_columns += [sa.Column(f"{flow.total_column}_last", Real) for flow in FLOWS]
    agg5_columns += [
        sa.Column("sample_count", sa.Integer),
        _ts("created_at"),
    ]
    agg5 = sa.Table("readings_agg_5m", md, *agg5_columns)
    sa.Index("readings_agg_5m_system_interval_idx", agg5.c.system_id, agg5.c.interval_end, unique=True)
    sa.Index("readings_agg_5m_system_id_idx", agg5.c.system_id)
    sa.Index("readings_agg_5m_interval_end_idx", agg5.c.interval_end)
    if version >= 2:
        # Not in docs/schema.md (every index it documents stays): the history answers read only these
        # columns, so this index alone answers them, one system's rows side by side in its pages
        # however many systems fill the store together. Added to older files by migrations.py.
        sa.Index(HISTORY_INDEX, *(agg5.c[name] for name in HISTORY_5M_COLUMNS))

    daily_columns: list[sa.Column[Any]] = [
        _id(),
        sa.Column("system_id", KeyText),
        sa.Column("day", KeyText),
    ]
    daily_columns += [sa.Column(energy, Real) for energy, _ in DAILY_ENERGY_COLUMNS.values()]
    for name in POWER_STATS:
        daily_columns += [
            sa.Column(f"{name}_w_min", sa.Integer),
            sa.Column(f"{name}_w_avg", sa.Integer),
            sa.Column(f"{name}_w_max", sa.Integer),
        ]
    daily_columns += [
        sa.Column("battery_soc_min", Real),
        sa.Column("battery_soc_avg", Real),
        sa.Column("battery_soc_max", Real),
        sa.Column("battery_soc_end", Real),
    ]
    daily_columns += [sa.Column(alltime, Real) for _, alltime in DAILY_ENERGY_COLUMNS.values()]
    daily_columns += [
        sa.Column("interval_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sample_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer),
        _ts("created_at"),
        _ts("updated_at"),
    ]
    daily = sa.Table("readings_agg_1d", md, *daily_columns)
    sa.Index("readings_agg_1d_system_day_idx", daily.c.system_id, daily.c.day, unique=True)
    sa.Index("readings_agg_1d_system_id_idx", daily.c.system_id)
    sa.Index("readings_agg_1d_day_idx", daily.c.day)
    if version >= 2:
        # Like the 5-minute history index: in a store many systems fill, one system's days lie a row
        # per page apart (the daily job writes every system's day together); this index holds them
        # side by side with every column the daily answer reads.
        sa.Index(HISTORY_1D_INDEX, *(daily.c[name] for name in HISTORY_1D_COLUMNS))

    polling = sa.Table(
        "polling_status",
        md,
        _id(),
        _system_fk(),
        _ts("last_poll_time"),
        _ts("last_success_time"),
        _ts("last_error_time"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_response", sa.Text),
        sa.Column("consecutive_errors", sa.Integer, server_default="0"),
        sa.Column("is_active", sa.Boolean, server_default=sa.true()),
        sa.Column("total_polls", sa.Integer, server_default="0"),
        sa.Column("successful_polls", sa.Integer, server_default="0"),
        _ts("updated_at"),
    )
    sa.Index("polling_system_idx", polling.c.system_id)

    user_systems = sa.Table(
        "user_systems",
        md,
        _id(),
        sa.Column("clerk_user_id", KeyText, nullable=False),
        _system_fk(),
        sa.Column("role", KeyText, nullable=False, server_default="viewer"),
        _ts("created_at"),
        _ts("updated_at"),
    )
    sa.Index("user_system_unique", user_systems.c.clerk_user_id, user_systems.c.system_id, unique=True)
    sa.Index("user_systems_user_idx", user_systems.c.clerk_user_id)
    sa.Index("user_systems_system_idx", user_systems.c.system_id)

    sessions = sa.Table(
        "sessions",
        md,
        _id(),
        _system_fk(),
        sa.Column("vendor_type", KeyText, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),  # POLL, PUSH, USER or DERIVED
        _ts("started", nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("successful", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("rows_written", sa.Integer, nullable=False, server_default="0"),
        _ts("created_at"),
    )
    sa.Index("sessions_system_started_idx", sessions.c.system_id, sessions.c.started)

    point_info = sa.Table(
        "point_info",
        md,
        _id(),
        _system_fk(),
        sa.Column("point_id", KeyText, nullable=False),
        sa.Column("point_sub_id", KeyText),
        sa.Column("point_name", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("subsystem", sa.Text),
        sa.Column("metric_type", sa.Text, nullable=False),
        sa.Column("metric_unit", sa.Text, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    sa.Index("point_info_system_idx", point_info.c.system_id)
    sa.Index(
        "point_info_unique",
        point_info.c.system_id,
        point_info.c.point_id,
        point_info.c.point_sub_id,
        unique=True,
    )

    point_readings = sa.Table(
        "point_readings",
        md,
        _id(),
        sa.Column(
            "point_id",
            sa.Integer,
            sa.ForeignKey("point_info.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("measurement_time", BigInt, nullable=False),
        sa.Column("received_time", BigInt, nullable=False),
        sa.Column("value", Real),
        sa.Column("error", sa.Text),
        sa.Column("data_quality", sa.Text, nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="SET NULL")),
    )
    sa.Index("point_readings_point_idx", point_readings.c.point_id)
    sa.Index("point_readings_time_idx", point_readings.c.measurement_time)
    sa.Index(
        "point_readings_composite_idx",
        point_readings.c.point_id,
        point_readings.c.measurement_time.desc(),
    )

    if version >= 2:
        point_agg = sa.Table(
            "point_readings_agg_5m",
            md,
            _id(),
            sa.Column(
                "point_id",
                sa.Integer,
                sa.ForeignKey("point_info.id", ondelete="CASCADE"),
                nullable=False,
            ),
            _ts("interval_end", nullable=False),
            sa.Column("avg", Real),
            sa.Column("min", Real),
            sa.Column("max", Real),
            sa.Column("last", Real),
            sa.Column("sample_count", sa.Integer, nullable=False, server_default="0"),
            sa.Column("error_count", sa.Integer, nullable=False, server_default="0"),
            _ts("created_at"),
            _ts("updated_at"),
        )
        sa.Index(
            "point_readings_agg_5m_point_interval_idx",
            point_agg.c.point_id,
            point_agg.c.interval_end,
            unique=True,
        )

    return md


metadata = build_metadata()
schema_version = metadata.tables["schema_version"]
systems = metadata.tables["systems"]
readings = metadata.tables["readings"]
readings_agg_5m = metadata.tables["readings_agg_5m"]
readings_agg_1d = metadata.tables["readings_agg_1d"]
polling_status = metadata.tables["polling_status"]
user_systems = metadata.tables["user_systems"]
sessions = metadata.tables["sessions"]
point_info = metadata.tables["point_info"]
point_readings = metadata.tables["point_readings"]
point_readings_agg_5m = metadata.tables["point_readings_agg_5m"]
