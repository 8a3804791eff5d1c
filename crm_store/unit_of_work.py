"""The unit of work: one session per use case, rolled back unless told to commit."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import session_factory


class UnitOfWork:
    """Context manager around one SQLAlchemy session.

    Work is rolled back on exit unless :meth:`commit` was called, and always on error.

    Example:
        with UnitOfWork(url) as uow:
            uow.session.add(thing)
            uow.commit()
    """

    session: Session

    def __init__(self, url_or_factory: str | sessionmaker):
        if isinstance(url_or_factory, str):
            url_or_factory = session_factory(url_or_factory)
        self._factory = url_or_factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(self, *exc_info) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
