import pytest
from sqlalchemy import select

from crm_store import models
from crm_store.unit_of_work import UnitOfWork


def _customer_named(uow: UnitOfWork, name: str):
    with uow:
        return uow.session.execute(
            select(models.Customer).where(models.Customer.name == name)
        ).scalar_one_or_none()


def _add_customer(uow: UnitOfWork, name: str, as_of) -> None:
    uow.session.add(models.Customer(email=f"{name}@uow.test", name=name, segment="new",
                                    newsletter_opt_in=False, created_at=as_of))


def test_uncommitted_work_is_rolled_back(uow_factory, as_of):
    with uow_factory() as uow:
        _add_customer(uow, "uncommitted", as_of)
        uow.session.flush()
    assert _customer_named(uow_factory(), "uncommitted") is None


def test_an_error_rolls_back_even_flushed_work(uow_factory, as_of):
    try:
        with uow_factory() as uow:
            _add_customer(uow, "failing", as_of)
            uow.session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert _customer_named(uow_factory(), "failing") is None


def test_committed_work_is_kept(uow_factory, as_of):
    with uow_factory() as uow:
        _add_customer(uow, "committed", as_of)
        uow.commit()
    assert _customer_named(uow_factory(), "committed") is not None


@pytest.mark.parametrize("url", ["postgresql://postgres@127.0.0.1:1/caredesk",
                                 "sqlite:////nonexistent-folder/caredesk/crm.db"])
def test_a_database_that_cannot_be_reached_is_store_unavailable(url):
    from crm_store.errors import StoreUnavailable
    from crm_store.services import orders

    with pytest.raises(StoreUnavailable):
        orders.list_orders(1, UnitOfWork(url))
