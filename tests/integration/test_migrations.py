from sqlalchemy import inspect

from crm_store import migrate
from crm_store.db import make_engine
from crm_store.models import Base


def test_migrations_build_the_whole_schema_on_an_empty_database(db_url):
    # db_url is already migrated; this checks the result matches the models exactly.
    assert migrate.is_up_to_date(db_url)
    engine = make_engine(db_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names()) - {"alembic_version"}
        assert tables == set(Base.metadata.tables)
        for name, table in Base.metadata.tables.items():
            assert {c["name"] for c in inspector.get_columns(name)} == set(table.columns.keys())
    finally:
        engine.dispose()


def test_upgrading_twice_is_harmless(db_url):
    migrate.upgrade(db_url)
    assert migrate.current_revision(db_url) == migrate.head_revision(db_url)


def test_an_empty_sqlite_file_is_upgraded_from_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'crm.db'}"
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.is_up_to_date(url)
