"""Attack (issue 9, item 9): two action-server workers act on one order at the same moment.
Cancellation, return, refund and link-code redemption read, checked and wrote with no lock, so
both could win: two refunds for one order, two returns, one code linking two chat accounts.

Each round starts two threads on a Barrier against the real database (SQLite and PostgreSQL);
exactly one must win and the other must get the same typed error a second, later call gets.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from crm_store import errors, models
from crm_store.services import identity, orders, returns
from crm_store.unit_of_work import UnitOfWork
from tests.integration import conftest as integration
from tests.integration.shop import count, delivered_ref, order_ref

# The integration tests' real databases (SQLite, and PostgreSQL when it can be started), here too.
db_url, pg_template, sqlite_template, uow_factory = (
    integration.db_url, integration.pg_template, integration.sqlite_template, integration.uow_factory)

ANA = 1
ROUNDS = 6


def _race(call, *arguments):
    """Run ``call(argument)`` for each argument in its own thread, released together."""
    barrier = threading.Barrier(len(arguments))
    outcomes: list = [None] * len(arguments)

    def worker(index, argument):
        barrier.wait()
        try:
            outcomes[index] = call(argument)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[index] = exc

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(arguments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing call hung"
    return outcomes


def _one_wins(outcomes, error_type):
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(losers) == len(outcomes) - 1, outcomes
    assert all(type(loser) is error_type for loser in losers), losers  # typed, not IntegrityError
    return next(o for o in outcomes if not isinstance(o, Exception))


def _reopen(uow, ref):
    """Put the order back to paid-and-packed with no refund, as before the round."""
    with uow:
        order_id = uow.session.execute(select(models.Order.id).where(models.Order.reference == ref)).scalar_one()
        uow.session.execute(delete(models.Refund).where(models.Refund.order_id == order_id))
        uow.session.execute(update(models.Order).where(models.Order.id == order_id)
                            .values(status="packed", cancelled_at=None))
        uow.commit()
    return order_id


def test_two_simultaneous_cancellations_of_a_paid_order_make_one_refund(db_url, uow_factory):
    ref = order_ref(uow_factory(), ANA, "paid")
    for _ in range(ROUNDS):
        order_id = _reopen(uow_factory(), ref)
        outcomes = _race(lambda _: orders.cancel_order(ANA, ref, UnitOfWork(db_url)), 1, 2)
        won = _one_wins(outcomes, errors.NotCancellable)
        assert won.status == "cancelled" and won.refund is not None
        assert count(uow_factory(), models.Refund, models.Refund.order_id == order_id) == 1
        with pytest.raises(errors.NotCancellable):  # what a later call gets, for comparison
            orders.cancel_order(ANA, ref, uow_factory())


def test_two_simultaneous_returns_of_one_order_open_one_return(db_url, uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    with uow_factory() as uow:
        order_id = uow.session.execute(select(models.Order.id).where(models.Order.reference == ref)).scalar_one()
    for _ in range(ROUNDS):
        with uow_factory() as uow:
            uow.session.execute(delete(models.Return).where(models.Return.order_id == order_id))
            uow.commit()
        outcomes = _race(lambda reason: returns.start_return(ANA, ref, reason, UnitOfWork(db_url), now=as_of),
                         "too small", "too big")
        _one_wins(outcomes, errors.NotReturnable)
        assert count(uow_factory(), models.Return, models.Return.order_id == order_id) == 1
        with pytest.raises(errors.NotReturnable):
            returns.start_return(ANA, ref, "again", uow_factory(), now=as_of)


def test_a_returned_parcel_received_twice_at_once_is_refunded_once(db_url, uow_factory, as_of):
    ref = delivered_ref(uow_factory(), ANA, as_of, 1, 20)
    with uow_factory() as uow:
        order_id = uow.session.execute(select(models.Order.id).where(models.Order.reference == ref)).scalar_one()
    for _ in range(ROUNDS):
        with uow_factory() as uow:
            uow.session.execute(delete(models.Refund).where(models.Refund.order_id == order_id))
            uow.session.execute(delete(models.Return).where(models.Return.order_id == order_id))
            uow.session.execute(update(models.Order).where(models.Order.id == order_id).values(status="delivered"))
            uow.commit()
        returns.start_return(ANA, ref, "too small", uow_factory(), now=as_of)
        outcomes = _race(lambda _: returns.receive_return(ANA, ref, UnitOfWork(db_url), now=as_of), 1, 2)
        _one_wins(outcomes, errors.NotReturnable)
        assert count(uow_factory(), models.Refund, models.Refund.order_id == order_id) == 1
        with pytest.raises(errors.NotReturnable):
            returns.receive_return(ANA, ref, uow_factory(), now=as_of)


def test_one_link_code_redeemed_twice_at_once_links_one_account(db_url, uow_factory, as_of):
    for round_ in range(ROUNDS):
        code = identity.create_link_code(ANA, "telegram", uow_factory(), now=as_of)
        users = (f"{round_}01", f"{round_}02")
        outcomes = _race(lambda user, code=code: identity.redeem_link_code(
            code, "telegram", user, UnitOfWork(db_url), now=as_of + timedelta(seconds=1)), *users)
        assert _one_wins(outcomes, errors.VerificationFailed) == ANA
        assert count(uow_factory(), models.ChannelIdentity, models.ChannelIdentity.external_id.in_(users)) == 1
        with pytest.raises(errors.VerificationFailed):
            identity.redeem_link_code(code, "telegram", f"{round_}03", uow_factory(), now=as_of)
