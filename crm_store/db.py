"""Engines and session factories, built on demand (nothing connects at import time)."""

from __future__ import annotations

import functools
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _checkpoint(dbapi_connection, _record) -> None:
    # A pooled connection stays open, so SQLite never folds the write-ahead log back into the file
    # on close; doing it when a connection returns keeps the file whole for a copy or a backup
    # (nearly free when nothing was written).
    if dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, foreign keys and WAL."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # A pool even for a file (SQLAlchemy 1.4 would open a new connection, and run the pragmas
        # below, for every session: about 2 ms each, most of a short request).
        pool = {} if database in ("", ":memory:") else {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        if pool:
            event.listen(engine, "checkin", _checkpoint)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=10)


@functools.lru_cache(maxsize=8)
def session_factory(url: str) -> sessionmaker:
    """One cached session factory per database URL."""
    return sessionmaker(bind=make_engine(url), class_=Session, future=True, expire_on_commit=False)
