"""Serialising check-then-write work across processes, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def _lock_id(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def serialise(session: Session, *keys: str) -> None:
    """Hold ``keys`` until this transaction ends, so a concurrent caller with any of the same keys
    waits and then reads what this one wrote.

    PostgreSQL: transaction-scoped advisory locks, taken in sorted order so two callers cannot
    deadlock. SQLite has one writer at a time: a no-op write takes the write lock now rather than
    at the first real write, so nothing this transaction reads next can change under it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        for lock_id in sorted({_lock_id(key) for key in keys}):
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    elif dialect == "sqlite":
        session.execute(text("UPDATE verification_attempts SET id = id WHERE 1 = 0"))
