"""Attack (issue 9, item 5): a new conversation id used to buy five fresh guesses at order
reference + e-mail. Now failures count per conversation, per order reference, per customer who
owns it and per client, with back-off, on the real CRM (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm_store import errors, models
from crm_store.services import identity
from tests.integration import conftest as integration
from tests.integration.shop import customer_email, order_ref

# The integration tests' real databases (SQLite, and PostgreSQL when it can be started), here too.
db_url, pg_template, sqlite_template, uow_factory = (
    integration.db_url, integration.pg_template, integration.sqlite_template, integration.uow_factory)

ANA, BEN, CAI = 1, 2, 3
WRONG = "wrong@example.com"


def _references_of_others(uow, customer_id, how_many):
    """One order each of ``how_many`` other customers, so no per-order or per-customer limit is hit."""
    with uow:
        refs = uow.session.execute(
            select(func.min(models.Order.reference)).where(models.Order.customer_id != customer_id)
            .group_by(models.Order.customer_id).limit(how_many)).scalars().all()
    assert len(refs) == how_many
    return refs


def _try(uow_factory, ref, email, conversation, now, client=None):
    return identity.verify_by_order(ref, email, uow_factory(), conversation=conversation, client=client, now=now)


def _fail_times(uow_factory, ref, times, now, *, client=None, prefix="conv"):
    for i in range(times):
        with pytest.raises(errors.VerificationFailed):
            _try(uow_factory, ref, WRONG, f"{prefix}-{i}", now, client)


def test_new_conversation_ids_do_not_buy_fresh_guesses_at_one_order(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    _fail_times(uow_factory, ref, identity.FAILURE_LIMITS["order"], as_of)
    with pytest.raises(errors.TooManyAttempts):  # the right e-mail, a brand-new conversation
        _try(uow_factory, ref, "ana@example.com", "conv-fresh", as_of)
    refused = identity.refused_verifications(as_of - timedelta(minutes=1), uow_factory())
    assert [(r.kind, r.count) for r in refused] == [("order", 1)]


def test_other_orders_of_the_same_customer_are_locked_too(uow_factory, as_of):
    shipped, delivered = order_ref(uow_factory(), ANA, "shipped"), order_ref(uow_factory(), ANA, "delivered")
    _fail_times(uow_factory, shipped, 3, as_of, prefix="a")
    _fail_times(uow_factory, delivered, 2, as_of, prefix="b")
    with pytest.raises(errors.TooManyAttempts):
        _try(uow_factory, delivered, "ana@example.com", "conv-fresh", as_of)
    assert [r.kind for r in identity.refused_verifications(as_of, uow_factory())] == ["customer"]


def test_one_client_cannot_spread_guesses_over_many_orders_and_conversations(uow_factory, as_of):
    refs = _references_of_others(uow_factory(), BEN, identity.FAILURE_LIMITS["client"])
    for i, ref in enumerate(refs[: identity.FAILURE_LIMITS["client"]]):
        with pytest.raises(errors.VerificationFailed):
            _try(uow_factory, ref, WRONG, f"conv-{i}", as_of, client="client-x")
    ben_ref = order_ref(uow_factory(), BEN, "delivered")
    with pytest.raises(errors.TooManyAttempts):  # an order no one has guessed at, from the same client
        _try(uow_factory, ben_ref, customer_email(uow_factory(), BEN), "conv-new", as_of, client="client-x")
    # ...while another client (another customer on the same order) is not affected
    assert _try(uow_factory, ben_ref, customer_email(uow_factory(), BEN), "conv-other", as_of, "client-y") == BEN
    assert [(r.kind, r.count) for r in identity.refused_verifications(as_of, uow_factory())] == [("client", 1)]


def test_the_wait_doubles_with_each_further_burst_of_failures(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    limit, now, waits = identity.FAILURE_LIMITS["order"], as_of, []
    for burst in range(4):
        _fail_times(uow_factory, ref, limit, now, prefix=f"burst{burst}")
        with pytest.raises(errors.TooManyAttempts) as refused:
            _try(uow_factory, ref, "ana@example.com", f"after{burst}", now)
        waits.append(refused.value.retry_after)
        with pytest.raises(errors.TooManyAttempts):  # still locked a minute before the end
            _try(uow_factory, ref, "ana@example.com", f"almost{burst}", now + refused.value.retry_after
                 - timedelta(minutes=1))
        now += refused.value.retry_after
    assert waits == [identity.WINDOW * 2 ** n for n in range(4)]
    assert _try(uow_factory, ref, "ana@example.com", "patient", now) == ANA


def test_the_wait_is_capped(as_of):
    failures, start, waits = [], as_of, []
    for _ in range(10):  # ten bursts, each as soon as the previous lock-out ended
        failures += [start + timedelta(seconds=n) for n in range(5)]
        start = identity.locked_until(failures, 5)
        waits.append(start - failures[-1])
    assert waits[:3] == [identity.WINDOW, 2 * identity.WINDOW, 4 * identity.WINDOW]
    assert max(waits) == waits[-1] == identity.MAX_LOCKOUT


def test_refused_tries_do_not_extend_the_lock_out(uow_factory, as_of):
    ref = order_ref(uow_factory(), ANA, "shipped")
    _fail_times(uow_factory, ref, identity.FAILURE_LIMITS["order"], as_of)
    for minute in range(0, 15, 3):
        with pytest.raises(errors.TooManyAttempts):
            _try(uow_factory, ref, WRONG, f"knock-{minute}", as_of + timedelta(minutes=minute))
    assert _try(uow_factory, ref, "ana@example.com", "later", as_of + identity.WINDOW) == ANA


def test_a_customer_still_verifies_while_someone_else_is_locked_out(uow_factory, as_of):
    ana_ref = order_ref(uow_factory(), ANA, "shipped")
    _fail_times(uow_factory, ana_ref, identity.FAILURE_LIMITS["order"], as_of, client="attacker")
    cai_ref = order_ref(uow_factory(), CAI, "delivered")
    assert _try(uow_factory, cai_ref, customer_email(uow_factory(), CAI), "cai-chat", as_of, "cai-home") == CAI
    assert identity.refused_verifications(as_of, uow_factory()) == []


def test_parallel_guesses_from_many_conversations_do_not_slip_under_the_limit(db_url, uow_factory, as_of):
    import threading

    from crm_store.unit_of_work import UnitOfWork

    ref, tries = order_ref(uow_factory(), ANA, "shipped"), 12
    barrier, outcomes = threading.Barrier(tries), []

    def guess(i):
        barrier.wait()
        try:
            identity.verify_by_order(ref, WRONG, UnitOfWork(db_url), conversation=f"parallel-{i}", now=as_of)
        except errors.CareDeskError as exc:
            outcomes.append(type(exc))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count(errors.VerificationFailed) == identity.FAILURE_LIMITS["order"]
    assert outcomes.count(errors.TooManyAttempts) == tries - identity.FAILURE_LIMITS["order"]
