"""Storage ports and adapters: SQL (SQLite / PostgreSQL) for durable state, key-value for ephemeral state."""

from storage.errors import StorageError, StorageUnavailable
from storage.sql import create_all, make_engine, metadata, normalise_url, sqlite_url

__all__ = ["StorageError", "StorageUnavailable", "create_all", "make_engine", "metadata", "normalise_url", "sqlite_url"]
