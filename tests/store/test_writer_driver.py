"""The readings insert goes to the driver's executemany in the dialect's own parameter style."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from custom_components.liveone.store import writer
from custom_components.liveone.store.migrations import migrate
from custom_components.liveone.store.schema import readings
from custom_components.liveone.vendors.model import Reading

from .conftest import LATER, NOON, add_system


def test_named_parameter_style_inserts_the_same_rows(tmp_path: Path) -> None:
    # A driver with a named parameter style (like psycopg's pyformat) gets the rows as dicts.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'named.db'}", paramstyle="named")
    assert not engine.dialect.positional
    inserts: list[str] = []
    sa.event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: (
            inserts.append(statement) if "INSERT INTO readings (" in statement else None
        ),
    )
    try:
        migrate(engine)
        batch = [Reading(inverter_time=NOON + 60 * n, solar_w=100.4 + n, battery_soc=50.06) for n in range(3)]
        with engine.begin() as conn:
            system_id = add_system(conn)
            result = writer.write_readings(conn, system_id, batch, received_time=LATER, now=LATER)
            rows = conn.execute(
                sa.select(readings.c.inverter_time, readings.c.solar_w, readings.c.battery_soc).order_by(
                    readings.c.inverter_time
                )
            ).all()
    finally:
        engine.dispose()
    assert result.rows_written == 3
    assert len(inserts) == 1
    assert ":inverter_time" in inserts[0]  # compiled for this dialect's style, not another's
    assert [tuple(row) for row in rows] == [(NOON + 60 * n, 100 + n, 50.1) for n in range(3)]
