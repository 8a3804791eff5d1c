"""The queue's risk ranking over plain values."""

from crm_store.scoring.queue import Waiting, rank, risk, value_points, wait_points


def _ids(items):
    return [item.ticket_id for item, _ in rank(items)]


def test_an_angry_customer_goes_before_a_calm_one_who_waited_a_little_longer():
    calm = Waiting(1, "normal", waiting_minutes=3)
    angry = Waiting(2, "normal", sentiment_trend=-0.7, last_sentiment=-0.9, waiting_minutes=1)
    assert _ids([calm, angry]) == [2, 1]


def test_churn_risk_and_value_raise_the_rank_of_an_otherwise_equal_conversation():
    plain = Waiting(1, "normal", waiting_minutes=2)
    at_risk = Waiting(2, "normal", churn_score=0.8, waiting_minutes=2)
    valuable = Waiting(3, "normal", value_cents=250_000, waiting_minutes=2)
    assert _ids([plain, at_risk, valuable]) == [2, 3, 1]


def test_a_long_wait_eventually_beats_a_higher_priority():
    urgent_now = Waiting(1, "urgent", waiting_minutes=0)
    low_forgotten = Waiting(2, "low", waiting_minutes=60, target_minutes=5)
    assert _ids([urgent_now, low_forgotten]) == [2, 1]


def test_waiting_counts_up_to_the_target_then_grows_slowly_and_is_capped():
    assert wait_points(Waiting(1, "normal", waiting_minutes=2.5, target_minutes=5)) == 0.5
    assert 1 < wait_points(Waiting(1, "normal", waiting_minutes=10, target_minutes=5)) <= 3
    assert wait_points(Waiting(1, "normal", waiting_minutes=10_000, target_minutes=5)) == 3


def test_value_is_on_a_log_scale_and_capped():
    assert value_points(0) == 0 and value_points(100_000) == 1 and value_points(10**9) == 1
    assert 0.3 < value_points(1_000) < 0.4


def test_weights_from_the_policy_change_the_order():
    angry = Waiting(1, "normal", last_sentiment=-0.9)
    urgent = Waiting(2, "urgent")
    assert _ids([angry, urgent]) == [2, 1]
    assert [i.ticket_id for i, _ in rank([angry, urgent], {"sentiment": 5.0})] == [1, 2]
    assert risk(urgent, {"priority": 0}) == 0
