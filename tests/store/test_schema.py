"""The created database matches docs/schema.md, table by table, read from the document itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import re
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.migrations import migrate

REPO = Path(__file__).resolve().parents[2]
SHARED_SCHEMA = REPO.parent / "shared" / "spec" / "SCHEMA.md"
SCHEMA_DOC = REPO / "docs" / "schema.md"

# Columns the store adds to documented tables (docs/schema-extensions.md says why).
EXTENSION_COLUMNS = {
    "readings": {
        "solar_wh_interval",
        "load_wh_interval",
        "battery_in_wh_interval",
        "battery_out_wh_interval",
        "grid_in_wh_interval",
        "grid_out_wh_interval",
    }
}
# Tables the store adds to the documented ones (docs/schema-extensions.md), and its own version table.
EXTRA_TABLES = {"sessions", "point_readings_agg_5m", "schema_version"}


@dataclass
class DocColumn:
    name: str
    base_type: str
    not_null: bool
    primary_key: bool
    default: str | None


@dataclass
class DocIndex:
    name: str
    unique: bool
    columns: list[tuple[str, bool]]  # (column, descending)


@dataclass
class DocTable:
    name: str
    columns: list[DocColumn] = field(default_factory=list)
    indexes: list[DocIndex] = field(default_factory=list)
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)  # (target table, on delete)


def parse_schema_doc(text: str) -> dict[str, DocTable]:
    """Read every ``### N. `table` `` section: its column table, indexes and foreign keys."""
    tables: dict[str, DocTable] = {}
    current: DocTable | None = None
    section = ""
    for line in text.splitlines():
        if heading := re.match(r"^### \d+\. `(\w+)`", line):
            current = tables.setdefault(heading[1], DocTable(heading[1]))
            section = "columns"
            continue
        if line.startswith("## "):
            current = None
            continue
        if current is None:
            continue
        if line.startswith("**Indexes:**"):
            section = "indexes"
        elif line.startswith("**Constraints:**"):
            section = "constraints"
        elif line.startswith("**"):
            section = "other"
        elif section == "columns" and (cell := re.match(r"^\|\s*`(\w+)`\s*\|\s*([^|]+?)\s*\|", line)):
            declared = cell[2]
            default = re.search(r"DEFAULT (\S+)", declared)
            current.columns.append(
                DocColumn(
                    name=cell[1],
                    base_type=declared.split()[0],
                    not_null="NOT NULL" in declared,
                    primary_key="PRIMARY KEY" in declared,
                    default=default[1] if default else None,
                )
            )
        elif section == "indexes" and (idx := re.match(r"^- `(\w+)` (UNIQUE )?on \((.+)\)", line)):
            columns = [(m[1], m[2] is not None) for m in re.finditer(r"`(\w+)`( DESC)?", idx[3])]
            current.indexes.append(DocIndex(idx[1], idx[2] is not None, columns))
        elif section == "constraints" and (
            fk := re.match(r"^- Foreign key to `(\w+)\(id\)` with (.+)", line)
        ):
            action = "CASCADE" if "CASCADE" in fk[2] else "SET NULL" if "SET NULL" in fk[2] else fk[2]
            current.foreign_keys.append((fk[1], action))
    return tables


@pytest.fixture(scope="module")
def doc_tables() -> dict[str, DocTable]:
    tables = parse_schema_doc(SCHEMA_DOC.read_text(encoding="utf-8"))
    # The parser must have found what the document holds, or every comparison below is vacuous.
    assert len(tables) == 8
    assert sum(len(t.columns) for t in tables.values()) > 120
    return tables


@pytest.fixture(scope="module")
def created_db(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("schema") / "liveone.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def test_copy_of_schema_doc_is_current() -> None:
    """docs/schema.md is the user's document, unchanged (checked when shared/ is beside the repo)."""
    if not SHARED_SCHEMA.exists():
        pytest.skip("shared/spec/SCHEMA.md is not beside this checkout")
    assert SCHEMA_DOC.read_text(encoding="utf-8") == SHARED_SCHEMA.read_text(encoding="utf-8")


def test_every_documented_table_exists(
    doc_tables: dict[str, DocTable], created_db: sqlite3.Connection
) -> None:
    names = {row[0] for row in created_db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    names.discard("sqlite_sequence")
    assert names == set(doc_tables) | EXTRA_TABLES


DOCUMENTED_TABLES = [
    "systems",
    "readings",
    "readings_agg_5m",
    "readings_agg_1d",
    "polling_status",
    "user_systems",
    "point_info",
    "point_readings",
]


@pytest.mark.parametrize("table", DOCUMENTED_TABLES)
def test_table_matches_document(
    table: str, doc_tables: dict[str, DocTable], created_db: sqlite3.Connection
) -> None:
    doc = doc_tables[table]
    info = {row[1]: row for row in created_db.execute(f"PRAGMA table_info({table})")}
    expected_names = [c.name for c in doc.columns]
    actual_names = [name for name in info if name not in EXTENSION_COLUMNS.get(table, set())]
    assert actual_names == expected_names, "columns and their order"
    assert set(info) - set(expected_names) == EXTENSION_COLUMNS.get(table, set())

    for column in doc.columns:
        _cid, _name, declared, not_null, default, pk = info[column.name]
        assert declared == column.base_type, f"{table}.{column.name} type"
        assert bool(pk) == column.primary_key, f"{table}.{column.name} primary key"
        # An INTEGER PRIMARY KEY is the rowid, never NULL, whether or not NOT NULL is spelled out.
        assert bool(not_null) == (column.not_null or column.primary_key), f"{table}.{column.name} NOT NULL"
        if column.default is None:
            assert default is None, f"{table}.{column.name} has no default"
        else:
            normalized = {"true": "1", "false": "0"}.get(column.default, column.default)
            assert default.strip("'") == normalized.strip("'"), f"{table}.{column.name} default"

    indexes = {row[1]: row for row in created_db.execute(f"PRAGMA index_list({table})")}
    for index in doc.indexes:
        assert index.name in indexes, f"index {index.name}"
        assert bool(indexes[index.name][2]) == index.unique, f"{index.name} uniqueness"
        keys = [
            (row[2], bool(row[3]))
            for row in created_db.execute(f"PRAGMA index_xinfo({index.name})")
            if row[5]  # key columns only
        ]
        assert keys == index.columns, f"{index.name} columns"

    foreign_keys = {(row[2], row[6]) for row in created_db.execute(f"PRAGMA foreign_key_list({table})")}
    assert set(doc.foreign_keys) <= foreign_keys


def test_document_parser_reads_the_tricky_parts(doc_tables: dict[str, DocTable]) -> None:
    """Spot checks that the parser understands the document (so the comparisons mean something)."""
    composite = next(
        i for i in doc_tables["point_readings"].indexes if i.name == "point_readings_composite_idx"
    )
    assert composite.columns == [("point_id", False), ("measurement_time", True)]
    status = next(c for c in doc_tables["systems"].columns if c.name == "status")
    assert (status.base_type, status.not_null, status.default) == ("TEXT", True, "'active'")
    assert ("sessions", "SET NULL") in doc_tables["point_readings"].foreign_keys
    assert next(c for c in doc_tables["readings_agg_1d"].columns if c.name == "system_id").base_type == "TEXT"


def test_sqlite_pragmas(db_url: str) -> None:
    engine = create_engine(db_url)
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


# ---- Server databases: the same document, read back through SQLAlchemy's inspector ------------------

# SQLite's INTEGER is 8 bytes; on servers timestamps become BIGINT (ids and counts stay INTEGER). REAL is
# DOUBLE PRECISION on PostgreSQL (its REAL is a 4-byte float, too coarse for lifetime totals) and DOUBLE
# on MariaDB; MariaDB's indexed or defaulted text columns are VARCHAR(255) and BOOLEAN is TINYINT.
SERVER_TYPES = {
    "postgresql": {
        "INTEGER": {"INTEGER", "BIGINT"},
        "REAL": {"DOUBLE PRECISION"},
        "TEXT": {"TEXT"},
        "BOOLEAN": {"BOOLEAN"},
    },
    "mysql": {
        "INTEGER": {"INTEGER", "BIGINT"},
        "REAL": {"DOUBLE"},
        "TEXT": {"TEXT", "VARCHAR(255)"},
        "BOOLEAN": {"TINYINT", "BOOL"},
    },
}


def _server_default(reflected: str | None, dialect: str) -> str | None:
    """A reflected default as schema.md writes it (``'active'::text`` -> ``'active'``; MariaDB 1 -> true)."""
    if reflected is None or reflected.startswith("nextval("):
        return None
    if dialect == "mysql":
        return {"1": "true"}.get(reflected, reflected)  # the only default of 1 is the boolean's
    return reflected.split("::")[0]


def _descending(conn: sa.Connection, table: str, index: dict[str, Any]) -> set[str]:
    """The index's descending columns (PostgreSQL reflects them; MariaDB says so in SHOW INDEX)."""
    if conn.dialect.name == "postgresql":
        sorting = index.get("column_sorting", {})
        return {name for name in index["column_names"] if "desc" in sorting.get(name, ())}
    rows = conn.exec_driver_sql(f"SHOW INDEX FROM {table} WHERE Key_name = '{index['name']}'").mappings()
    return {row["Column_name"] for row in rows if row["Collation"] == "D"}


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgresql),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def server_schema(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every table of a store created on a server database, as the inspector reflects it."""
    prefix = "pg" if request.param == "postgresql" else request.param
    url = request.getfixturevalue(f"{prefix}_databases").create()
    engine = create_engine(url)
    try:
        migrate(engine)
        inspector = sa.inspect(engine)
        with engine.connect() as conn:
            tables = {
                table: {
                    "columns": inspector.get_columns(table),
                    "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                    "indexes": {
                        index["name"]: {**index, "desc": _descending(conn, table, index)}
                        for index in inspector.get_indexes(table)
                    },
                    "fks": inspector.get_foreign_keys(table),
                }
                for table in inspector.get_table_names()
            }
        return {"dialect": engine.dialect.name, "tables": tables}
    finally:
        engine.dispose()


def test_server_has_every_documented_table(
    doc_tables: dict[str, DocTable], server_schema: dict[str, Any]
) -> None:
    assert set(server_schema["tables"]) == set(doc_tables) | EXTRA_TABLES


@pytest.mark.parametrize("table", DOCUMENTED_TABLES)
def test_server_table_matches_document(
    table: str, doc_tables: dict[str, DocTable], server_schema: dict[str, Any]
) -> None:
    dialect_name = server_schema["dialect"]
    dialect = postgresql.dialect() if dialect_name == "postgresql" else mysql.dialect()
    doc = doc_tables[table]
    found = server_schema["tables"][table]
    columns = {column["name"]: column for column in found["columns"]}
    extension = EXTENSION_COLUMNS.get(table, set())
    assert [name for name in columns if name not in extension] == [c.name for c in doc.columns]
    assert set(columns) - {c.name for c in doc.columns} == extension
    assert found["pk"] == [c.name for c in doc.columns if c.primary_key]
    for column in doc.columns:
        actual = columns[column.name]
        type_name = actual["type"].compile(dialect=dialect)
        if not type_name.startswith("VARCHAR"):  # MariaDB's display widths, INTEGER(11), say nothing
            type_name = re.sub(r"\(\d+\)$", "", type_name)
        expected_types = SERVER_TYPES[dialect_name][column.base_type]
        assert type_name in expected_types, f"{table}.{column.name} type {type_name}"
        assert actual["nullable"] == (not (column.not_null or column.primary_key)), f"{table}.{column.name}"
        default = _server_default(actual["default"], dialect_name)
        assert default == column.default, f"{table}.{column.name} default"

    for index in doc.indexes:
        assert index.name in found["indexes"], f"index {index.name}"
        actual_index = found["indexes"][index.name]
        assert bool(actual_index["unique"]) == index.unique, f"{index.name} uniqueness"
        keys = [(name, name in actual_index["desc"]) for name in actual_index["column_names"]]
        assert keys == index.columns, f"{index.name} columns"

    foreign_keys = {(fk["referred_table"], fk["options"].get("ondelete")) for fk in found["fks"]}
    assert set(doc.foreign_keys) <= foreign_keys


def test_mysql_schema_indexes_no_text_column() -> None:
    """MySQL/MariaDB refuse an index on TEXT (and a TEXT default); those columns are VARCHAR there."""
    from sqlalchemy.dialects import mysql

    from custom_components.liveone.store.schema import metadata

    dialect = mysql.dialect()
    checked = 0
    for table in metadata.tables.values():
        for column in table.columns:
            type_name = column.type.compile(dialect=dialect)
            if any(column in index.columns.values() for index in table.indexes) or column.server_default:
                assert type_name != "TEXT", f"{table.name}.{column.name}"
                checked += 1
    assert checked > 20
    assert metadata.tables["systems"].c.vendor_site_id.type.compile(dialect=dialect) == "VARCHAR(255)"
