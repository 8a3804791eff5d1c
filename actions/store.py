"""Lazy access to the CRM for actions: settings and units of work are made on first use."""

from __future__ import annotations

from common.settings import Settings, get_settings
from crm_store.unit_of_work import UnitOfWork


def settings() -> Settings:
    """The process's settings: one cache, ``common.settings.get_settings``'s."""
    return get_settings()


def uow() -> UnitOfWork:
    """A fresh unit of work on the configured CRM (one per service call)."""
    return UnitOfWork(settings().database_url)
