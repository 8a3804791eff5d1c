"""Real databases for integration tests: SQLite always, PostgreSQL when it can be started.

The schema is migrated and the shop seeded once per backend into a template; every test gets
its own copy (a file copy for SQLite, CREATE DATABASE ... TEMPLATE for PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.unit_of_work import UnitOfWork
from tests.conftest import AS_OF, TEST_CUSTOMERS

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


def _admin_execute(statement: str) -> None:
    engine = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _forget_engine(url: str) -> None:
    """Close the pooled connections of a test database before it is removed."""
    session_factory(url).kw["bind"].dispose()
    session_factory.cache_clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crm") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    seed_shop(url, customers=TEST_CUSTOMERS, seed=7, as_of=AS_OF)
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    reason = ensure_postgres()
    if reason:
        pytest.skip(reason)
    name = f"caredesk_tpl_{uuid.uuid4().hex[:8]}"
    _admin_execute(f"CREATE DATABASE {name}")
    upgrade(_pg_url(name))
    seed_shop(_pg_url(name), customers=TEST_CUSTOMERS, seed=7, as_of=AS_OF)
    yield name
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A freshly seeded CRM of its own for each test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        _forget_engine(f"sqlite:///{path}")
        return
    template = request.getfixturevalue("pg_template")
    name = f"caredesk_t_{uuid.uuid4().hex[:10]}"
    _admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield _pg_url(name)
    _forget_engine(_pg_url(name))
    _admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def uow_factory(db_url):
    """Makes units of work on this test's database, as callers do."""
    return lambda: UnitOfWork(db_url)


@pytest.fixture
def uow(uow_factory) -> UnitOfWork:
    return uow_factory()


@pytest.fixture
def crm(db_url, monkeypatch, tmp_path):
    """Point the action server's settings at this test's CRM."""
    from caredesk.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CAREDESK_SECRET_KEY", "test-secret-key-for-identity-tokens-0123")
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def _policy_with(monkeypatch, tmp_path, **support) -> None:
    import yaml

    from crm_store.policy import DEFAULT_POLICY_FILE, load_policy

    raw = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    raw["support"].update(support)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("CAREDESK_POLICY_FILE", str(path))
    load_policy.cache_clear()


@pytest.fixture
def agents_live(monkeypatch, tmp_path):
    """Agents are in the chat whatever the day and hour of the test run."""
    _policy_with(monkeypatch, tmp_path, live_days=list(range(7)), live_from_hour=0, live_until_hour=24)
    yield
    from crm_store.policy import load_policy

    load_policy.cache_clear()


@pytest.fixture
def agents_offline(monkeypatch, tmp_path):
    _policy_with(monkeypatch, tmp_path, live_days=[])
    yield
    from crm_store.policy import load_policy

    load_policy.cache_clear()
