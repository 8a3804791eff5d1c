"""The unit of work: one session per use case, rolled back unless told to commit."""

from __future__ import annotations

import contextlib

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crm_store.db import session_factory
from crm_store.errors import StoreUnavailable


class UnitOfWork:
    """Context manager around one SQLAlchemy session.

    Work is rolled back on exit unless :meth:`commit` was called, and always on error. A database
    that cannot be reached surfaces as :class:`StoreUnavailable`, whatever the backend.

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

    def __exit__(self, exc_type, exc, traceback) -> None:
        with contextlib.suppress(DBAPIError):  # a dead connection cannot roll back; it is discarded
            self.session.rollback()
        self.session.close()
        if isinstance(exc, (OperationalError, InterfaceError)) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated):
            raise StoreUnavailable("the CRM database cannot be reached") from exc

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
