"""Recognising a damaged SQLite store and moving it aside, so that a new one can start.

Nothing is ever deleted: the file and its ``-wal`` and ``-shm`` companions are renamed to
``<name>.corrupt.<UTC time>`` (with the same ``-wal`` / ``-shm`` endings), where they can be examined or
recovered by hand (``sqlite3 liveone.db.corrupt.<time> .recover``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import sqlite3
from typing import Final

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

# SQLite's primary result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_DAMAGE_CODES: Final = frozenset({11, 26})
_DAMAGE_WORDS: Final = ("file is not a database", "database disk image is malformed")
COMPANIONS: Final = ("-wal", "-shm")


def is_damage(err: BaseException) -> bool:
    """Whether an error (SQLAlchemy's or the driver's) says the SQLite file is damaged."""
    cause = getattr(err, "orig", None) or err
    if not isinstance(cause, sqlite3.DatabaseError):
        return False
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _DAMAGE_CODES:
        return True
    return any(words in str(cause) for words in _DAMAGE_WORDS)


def sqlite_file(url: str | URL) -> Path | None:
    """Return the file of an SQLite store URL, or ``None`` (a server database, memory, not a URL)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database)


def move_aside(path: Path, now: datetime | None = None) -> list[Path]:
    """Rename a store file and its ``-wal`` / ``-shm`` to ``<name>.corrupt.<UTC time>``; return the new paths.

    Blocking (file system): run it off the event loop, with the store closed. A name already taken
    (two moves in one second) gets ``-2``, ``-3``... after the time.
    """
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = path.with_name(f"{path.name}.corrupt.{stamp}")
    number = 1
    while any(Path(f"{base}{ending}").exists() for ending in ("", *COMPANIONS)):
        number += 1
        base = path.with_name(f"{path.name}.corrupt.{stamp}-{number}")
    moved: list[Path] = []
    for ending in ("", *COMPANIONS):
        source = Path(f"{path}{ending}")
        if source.exists():
            target = Path(f"{base}{ending}")
            source.rename(target)
            moved.append(target)
    return moved
