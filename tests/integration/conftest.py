"""Real databases for integration tests: SQLite always, PostgreSQL when it can be started.

The schema is migrated and the shop seeded once per backend into a template; every test gets
its own copy (a file copy for SQLite, CREATE DATABASE ... TEMPLATE for PostgreSQL).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_store.db import session_factory
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.unit_of_work import UnitOfWork
from tests.conftest import AS_OF, TEST_CUSTOMERS
from tests.support.postgres import admin_execute, database_url, ensure_postgres


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
    admin_execute(f"CREATE DATABASE {name}")
    upgrade(database_url(name))
    seed_shop(database_url(name), customers=TEST_CUSTOMERS, seed=7, as_of=AS_OF)
    yield name
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
    admin_execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield database_url(name)
    _forget_engine(database_url(name))
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


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
    from common.settings import get_settings

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
def agents_live(crm, monkeypatch, tmp_path):
    """An agent is logged in to the console and available, within support hours."""
    from crm_store.services import presence, users

    _policy_with(monkeypatch, tmp_path, live_days=list(range(7)), live_from_hour=0, live_until_hour=24)
    agent = users.add_user("maria", "agent", UnitOfWork(crm), password="correct horse battery").user
    presence.set_available(agent.id, True, UnitOfWork(crm), actor="maria")
    yield
    from crm_store.policy import load_policy

    load_policy.cache_clear()


@pytest.fixture
def agents_busy(monkeypatch, tmp_path):
    """Within support hours, but no agent is available in the console."""
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


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker_store_url(request, tmp_path):
    """A tracker store database: a SQLite file, then a fresh PostgreSQL database (skipped, saying
    why, where PostgreSQL is not available)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tracker.db'}"
        return
    from tests.support.postgres import admin_execute, database_url, ensure_postgres

    reason = ensure_postgres()
    if reason:
        pytest.skip(reason)
    name = f"caredesk_tracker_{uuid.uuid4().hex[:8]}"
    admin_execute(f"CREATE DATABASE {name}")
    yield database_url(name)
    admin_execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
