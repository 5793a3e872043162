"""The store's one error type, shared by the engine, the worker and the command line."""

from __future__ import annotations


class StoreError(Exception):
    """A database operation failed; the transaction was rolled back and nothing was written.

    Its message never holds the database password: URLs in it are redacted.
    """


class StoreDamaged(StoreError):
    """The SQLite file is not a database, or is corrupt (at open or during a write).

    Retrying cannot help: the file must be moved aside (:func:`.recovery.move_aside`) and a new store
    started. ``path`` is the damaged file.
    """

    def __init__(self, message: str, path: str | None) -> None:
        """Keep the message and the damaged file's path."""
        super().__init__(message)
        self.path = path
