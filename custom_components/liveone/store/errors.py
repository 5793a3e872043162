"""The store's one error type, shared by the engine, the worker and the command line."""

from __future__ import annotations


class StoreError(Exception):
    """A database operation failed; the transaction was rolled back and nothing was written.

    Its message never holds the database password: URLs in it are redacted.
    """
