"""Schema versions: a new file is created current, an old one is upgraded in place, a newer one refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.migrations import (
    SchemaTooNewError,
    create_at_version,
    get_version,
    migrate,
)
from custom_components.liveone.store.schema import SCHEMA_VERSION, build_metadata, metadata


def _columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def test_new_database_is_created_at_current_version(store_url: str) -> None:
    engine = create_engine(store_url)
    assert migrate(engine) == 0
    with engine.connect() as conn:
        assert get_version(conn) == SCHEMA_VERSION
    assert migrate(engine) == SCHEMA_VERSION  # a second start changes nothing
    engine.dispose()


def test_version_1_file_upgrades_without_losing_rows(store_url: str) -> None:
    engine = create_engine(store_url)
    create_at_version(engine, 1)
    v1 = build_metadata(1)
    assert "load_wh_interval" not in _columns(engine, "readings_agg_5m")
    assert not sa.inspect(engine).has_table("point_readings_agg_5m")
    with engine.begin() as conn:
        conn.execute(
            v1.tables["systems"].insert(),
            [{"vendor_type": "selectronic", "vendor_site_id": "1586", "display_name": "Daylesford"}],
        )
        conn.execute(
            v1.tables["readings"].insert(),
            [{"system_id": 1, "inverter_time": 1755404000 + 60 * i, "solar_w": 100 + i} for i in range(50)],
        )
        conn.execute(
            v1.tables["readings_agg_5m"].insert(),
            [{"system_id": 1, "interval_end": 1755404100, "solar_w_avg": 120, "solar_interval_wh": 10}],
        )
    engine.dispose()

    engine = create_engine(store_url)
    assert migrate(engine) == 1
    with engine.connect() as conn:
        assert get_version(conn) == SCHEMA_VERSION
        assert conn.execute(sa.text("SELECT count(*), sum(solar_w) FROM readings")).one() == (
            50,
            sum(100 + i for i in range(50)),
        )
        row = conn.execute(
            sa.text("SELECT solar_w_avg, solar_interval_wh, load_wh_interval FROM readings_agg_5m")
        ).one()
        assert tuple(row) == (120, 10, None)
        assert conn.execute(sa.text("SELECT display_name FROM systems")).scalar() == "Daylesford"
    # The upgraded file has exactly the current schema's columns and tables.
    for table in metadata.tables.values():
        assert sorted(_columns(engine, table.name)) == sorted(c.name for c in table.columns), table.name
    engine.dispose()


def test_unversioned_file_of_the_documented_system_counts_as_version_1(store_url: str) -> None:
    engine = create_engine(store_url)
    build_metadata(1).tables["systems"].create(engine)
    with engine.connect() as conn:
        assert get_version(conn) == 1
    engine.dispose()


def test_newer_database_is_refused(store_url: str) -> None:
    engine = create_engine(store_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaTooNewError, match="newer"):
        migrate(engine)
    engine.dispose()


def test_file_without_the_history_indexes_gets_them_and_keeps_its_rows(store_url: str) -> None:
    """A current-version file made before the history indexes existed gains them at the next start."""
    from custom_components.liveone.store.schema import (
        HISTORY_1D_COLUMNS,
        HISTORY_1D_INDEX,
        HISTORY_5M_COLUMNS,
        HISTORY_INDEX,
    )

    indexes = (
        ("readings_agg_5m", HISTORY_INDEX, HISTORY_5M_COLUMNS),
        ("readings_agg_1d", HISTORY_1D_INDEX, HISTORY_1D_COLUMNS),
    )
    engine = create_engine(store_url)
    migrate(engine)
    with engine.begin() as conn:
        for table, name, _ in indexes:
            conn.execute(
                sa.text(
                    f"DROP INDEX {name}"
                    + (f" ON {table}" if conn.dialect.name in {"mysql", "mariadb"} else "")
                )
            )
        conn.execute(
            metadata.tables["readings_agg_5m"].insert(),
            [{"system_id": 1, "interval_end": 1755404100 + 300 * i, "solar_w_avg": i} for i in range(20)],
        )
    for table, name, _ in indexes:
        assert name not in {i["name"] for i in sa.inspect(engine).get_indexes(table)}
    engine.dispose()

    engine = create_engine(store_url)
    assert migrate(engine) == SCHEMA_VERSION
    for table, name, columns in indexes:
        (index,) = [i for i in sa.inspect(engine).get_indexes(table) if i["name"] == name]
        assert tuple(index["column_names"]) == columns
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), sum(solar_w_avg) FROM readings_agg_5m")).one() == (
            20,
            190,
        )
    engine.dispose()


def test_new_sqlite_file_can_hand_freed_pages_back(tmp_path: Path) -> None:
    """A new SQLite store is made with incremental auto-vacuum (the retention purge shrinks it)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() == 2  # INCREMENTAL
    engine.dispose()
