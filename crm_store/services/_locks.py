"""Check-then-write work that stays right when two processes do it at once, on PostgreSQL and SQLite."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_store.errors import CareDeskError
from crm_store.unit_of_work import UnitOfWork


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


def commit_once(uow: UnitOfWork, refusal: CareDeskError) -> None:
    """Commit; if a unique constraint says a concurrent caller already did this, raise ``refusal``
    (the typed error a later caller gets) instead of the driver's IntegrityError."""
    try:
        uow.commit()
    except IntegrityError as exc:
        uow.rollback()
        raise refusal from exc


def lock_row(session: Session, model, row_id: int) -> None:
    """Hold the row until this transaction ends (SELECT ... FOR UPDATE; on SQLite, the write lock),
    so what is read next is the latest committed state and nobody else changes it meanwhile."""
    if session.get_bind().dialect.name == "sqlite":
        serialise(session)
    else:
        session.execute(select(model.id).where(model.id == row_id).with_for_update())
