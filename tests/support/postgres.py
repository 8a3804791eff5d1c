"""The local PostgreSQL server for tests: reach it (starting the cluster if it is down) and make or
drop databases on it. Integration, e2e and security tests use it; SQLite needs none of this."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("CAREDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, future=True, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def ensure_postgres() -> str | None:
    """None if PostgreSQL answers (starting the local cluster if it is down), else the reason."""
    if _pg_reachable():
        return None
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        return "PostgreSQL is not reachable at 127.0.0.1:5432 and no local cluster is installed"
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main", "start"],
                   capture_output=True, timeout=60)
    if _pg_reachable():
        return None
    return "PostgreSQL is not reachable at 127.0.0.1:5432 and could not be started"


def admin_execute(statement: str) -> None:
    """Run one statement as the admin, outside a transaction (CREATE/DROP DATABASE need that)."""
    engine = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def database_url(database: str) -> str:
    """The URL of ``database`` on the same server as the admin URL."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
