"""The glitch rule's baseline before an interval, against the rule of docs/aggregation.md#rule-1-cumulative-total.

The store finds most baselines with two short queries (a flow whose newest total is its highest) and
replays a day of rows only when a flow dipped. Both must give what the rule says: the replay over the
day of rows (288) before the interval, from the latest total before them. The reference below is
that sentence, written out in the simplest way over rows generated with rises, glitches, resets,
missing totals and gaps, on each backend.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from hypothesis import HealthCheck, example, given, settings, strategies as st
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import aggregate
from custom_components.liveone.store.schema import readings_agg_5m
from custom_components.liveone.vendors.model import FLOWS

from .conftest import MIDNIGHT, add_system

WINDOW = 288
_SITES = count()
TOTAL_COLUMNS = tuple(f"{flow.total_column}_last" for flow in FLOWS)

# One step of a flow's total from one row to the next.
STEP = st.one_of(
    st.floats(min_value=0, max_value=5).map(lambda rise: ("rise", rise)),  # includes 0: a flat total
    st.floats(min_value=0.001, max_value=0.1).map(lambda dip: ("glitch", dip)),  # within 10 %
    st.floats(min_value=0.0, max_value=0.5).map(lambda level: ("reset", level)),  # to half or less
    st.just(("missing", 0.0)),
)
ROW = st.tuples(st.integers(min_value=1, max_value=3), STEP, STEP)  # the gap to it (in intervals), two flows


def reference(rows: list[tuple[int, list[float | None]]], before: int, flow: int) -> float | None:
    """The flow's baseline before ``before``, as the rule states it."""
    earlier = [totals[flow] for end, totals in rows if end < before]
    window, older = earlier[-WINDOW:], earlier[:-WINDOW]
    seeds = [total for total in older if total is not None]
    baseline = seeds[-1] if seeds else None
    for total in window:
        if total is None:
            continue
        if baseline is None or total >= baseline or total < 0.9 * baseline:
            baseline = total
    return baseline


def _make_rows(
    spec: list[tuple[int, tuple[str, float], tuple[str, float]]],
) -> list[tuple[int, list[float | None]]]:
    rows: list[tuple[int, list[float | None]]] = []
    end = MIDNIGHT
    level = [100.0, 2000.0]
    for gap, *steps in spec:
        end += 300 * gap
        totals: list[float | None] = [None] * len(FLOWS)
        for flow, (kind, amount) in enumerate(steps):
            if kind == "rise":
                level[flow] = round(level[flow] + amount, 3)
            elif kind == "glitch":
                totals[flow] = round(level[flow] * (1 - amount), 3)  # the level itself stays
                continue
            elif kind == "reset":
                level[flow] = round(level[flow] * amount, 3)
            else:
                continue
            totals[flow] = level[flow]
        totals[2] = 5.0  # a flow that never changes
        rows.append((end, totals))
    return rows


def _store(engine: Engine, rows: list[tuple[int, list[float | None]]]) -> int:
    with engine.begin() as conn:
        conn.execute(readings_agg_5m.delete())
        system_id = add_system(conn, site=f"s{next(_SITES)}")
        if rows:
            conn.execute(
                readings_agg_5m.insert(),
                [
                    {
                        "system_id": system_id,
                        "interval_end": end,
                        "sample_count": 1,
                        **dict(zip(TOTAL_COLUMNS, totals, strict=True)),
                    }
                    for end, totals in rows
                ],
            )
    return system_id


def _found(engine: Engine, system_id: int, before: int) -> list[Any]:
    with engine.connect() as conn:
        initial = aggregate._Initial(conn, system_id, before)
        return [initial.value(flow) for flow in range(len(FLOWS))]


def _check(engine: Engine, rows: list[tuple[int, list[float | None]]], picks: list[int]) -> None:
    system_id = _store(engine, rows)
    ends = [end for end, _ in rows]
    befores = {ends[-1] + 300, ends[0]} | {ends[pick % len(ends)] for pick in picks}
    befores |= {ends[pick % len(ends)] + 150 for pick in picks}  # between two rows
    for before in sorted(befores):
        expected = [reference(rows, before, flow) for flow in range(len(FLOWS))]
        assert _found(engine, system_id, before) == expected, before


LONG_RISE = [(1, ("rise", 0.2), ("rise", 1.0))] * 400
GLITCH_IN_THE_WINDOW = [*LONG_RISE, (1, ("glitch", 0.05), ("rise", 1.0)), *LONG_RISE[:50]]
GLITCH_BEFORE_THE_WINDOW = [*LONG_RISE, (1, ("glitch", 0.05), ("glitch", 0.05)), *LONG_RISE[:300]]
RESET_THEN_RISE = [*LONG_RISE, (1, ("reset", 0.1), ("reset", 0.0)), *LONG_RISE[:100]]
# A dip held for longer than the window: inside it, every total is a glitch below the one before it.
HELD_GLITCH = [*LONG_RISE, *[(1, ("glitch", 0.05), ("rise", 1.0))] * 300]
GAPS_AND_MISSING = [(3, ("missing", 0), ("rise", 1.0)), (1, ("rise", 1.0), ("missing", 0))] * 200


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@example(spec=LONG_RISE, picks=[0, 100, 287, 288, 289, 399])
@example(spec=GLITCH_IN_THE_WINDOW, picks=[400, 401, 402, 430, 450])
@example(spec=GLITCH_BEFORE_THE_WINDOW, picks=[600, 688, 689, 690, 700])
@example(spec=RESET_THEN_RISE, picks=[400, 401, 420, 500])
@example(spec=HELD_GLITCH, picks=[401, 600, 688, 689, 690, 699])
@example(spec=GAPS_AND_MISSING, picks=[10, 150, 288, 300, 399])
@given(
    spec=st.lists(ROW, min_size=1, max_size=700),
    picks=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6),
)
def test_the_baseline_before_an_interval_is_the_rule_s(engine: Engine, spec: Any, picks: list[int]) -> None:
    _check(engine, _make_rows(spec), picks)


def test_a_system_without_rows_has_no_baseline(engine: Engine) -> None:
    with engine.begin() as conn:
        system_id = add_system(conn)
    assert _found(engine, system_id, MIDNIGHT) == [None] * len(FLOWS)


def test_a_rising_flow_needs_no_replay(engine: Engine) -> None:
    """A day of rising totals is resolved from the database's summary: no day of rows is read."""
    rows = _make_rows(LONG_RISE)
    system_id = _store(engine, rows)
    window = str(aggregate._WINDOW_TOTALS_STMT.compile(dialect=engine.dialect))
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as conn:
            initial = aggregate._Initial(conn, system_id, rows[-1][0] + 300)
            found = [initial.value(flow) for flow in range(3)]  # the flows these rows have totals for
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert found == [rows[-1][1][0], rows[-1][1][1], 5.0]
    assert statements  # recorded
    assert window not in statements  # the summary, the newest row, the row before the window
    assert len(statements) == 3

    # A newest total below the day's highest (a glitch) sends the flow to the replay, which reads
    # the day's rows: the baseline stays the level before the glitch.
    dipped = _make_rows([*LONG_RISE, (1, ("glitch", 0.05), ("rise", 1.0))])
    system_id = _store(engine, dipped)
    statements.clear()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.connect() as conn:
            assert aggregate._Initial(conn, system_id, dipped[-1][0] + 300).value(0) == dipped[-2][1][0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert window in statements
