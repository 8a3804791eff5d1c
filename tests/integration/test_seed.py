from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.unit_of_work import UnitOfWork
from tests.conftest import AS_OF


def _fresh(tmp_path, name, customers, seed=7):
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    stats = seed_shop(url, customers=customers, seed=seed, as_of=AS_OF)
    return url, stats


def _orders_of(url, customer_id):
    with UnitOfWork(url) as uow:
        return uow.session.execute(
            select(models.Order.reference, models.Order.status, models.Order.total_cents)
            .where(models.Order.customer_id == customer_id).order_by(models.Order.id)
        ).all()


def test_the_same_seed_gives_the_same_shop(tmp_path):
    a, stats_a = _fresh(tmp_path, "a.db", 25)
    b, stats_b = _fresh(tmp_path, "b.db", 25)
    assert stats_a == stats_b
    assert _orders_of(a, 17) == _orders_of(b, 17)


def test_a_customer_is_the_same_whatever_the_shop_size(tmp_path):
    small, _ = _fresh(tmp_path, "small.db", 10)
    large, _ = _fresh(tmp_path, "large.db", 30)
    assert [o[1:] for o in _orders_of(small, 7)] == [o[1:] for o in _orders_of(large, 7)]


def test_another_seed_gives_another_shop(tmp_path):
    a, _ = _fresh(tmp_path, "a.db", 10, seed=1)
    b, _ = _fresh(tmp_path, "b.db", 10, seed=2)
    assert _orders_of(a, 5) != _orders_of(b, 5)


def test_seeding_refuses_a_shop_that_has_customers(tmp_path):
    url, _ = _fresh(tmp_path, "a.db", 3)
    try:
        seed_shop(url, customers=3)
    except RuntimeError as exc:
        assert "already has customers" in str(exc)
    else:
        raise AssertionError("seeding twice must fail")


def test_every_status_and_record_kind_is_present(sqlite_template):
    url = f"sqlite:///{sqlite_template}"
    with UnitOfWork(url) as uow:
        statuses = set(uow.session.execute(select(models.Order.status).distinct()).scalars())
        kinds = {m.__tablename__: uow.session.execute(select(func.count()).select_from(m)).scalar_one()
                 for m in (models.Shipment, models.Return, models.Refund, models.Invoice,
                           models.Ticket, models.Feedback, models.Address)}
    assert statuses == set(models.ORDER_STATUSES)
    assert all(n > 0 for n in kinds.values()), kinds


def test_purchases_follow_each_customers_tastes(tmp_path):
    url, _ = _fresh(tmp_path, "tastes.db", 120)
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(
            select(models.Order.customer_id, models.Product.category)
            .join(models.OrderLine, models.OrderLine.order_id == models.Order.id)
            .join(models.Product, models.Product.id == models.OrderLine.product_id)
        ).all()
    by_customer: dict[int, Counter] = {}
    for customer_id, category in rows:
        by_customer.setdefault(customer_id, Counter())[category] += 1
    shares = []
    for counter in by_customer.values():
        total = sum(counter.values())
        if total >= 10:
            shares.append(sum(n for _, n in counter.most_common(3)) / total)
    assert len(shares) > 20
    # 8 categories: buying at random would put ~3/8 of lines in a customer's top three.
    assert sum(shares) / len(shares) > 0.75


def test_customers_who_drift_away_stop_ordering_and_complain_first(tmp_path):
    url, _ = _fresh(tmp_path, "drift.db", 300)
    recent = AS_OF - timedelta(days=90)
    with UnitOfWork(url) as uow:
        last_order = dict(uow.session.execute(
            select(models.Order.customer_id, func.max(models.Order.placed_at))
            .group_by(models.Order.customer_id)
        ).all())
        complainers = set(uow.session.execute(
            select(models.Ticket.customer_id).where(models.Ticket.reason == "complaint")
        ).scalars())
    lapsed = {c for c, t in last_order.items() if t < recent}
    active = set(last_order) - lapsed
    assert len(lapsed) > 20 and len(active) > 20
    assert len(complainers & lapsed) / len(lapsed) > 2 * len(complainers & active) / len(active)
