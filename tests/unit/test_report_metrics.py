"""The admins' report figures over hand-built episodes."""

from __future__ import annotations

import json
import math
import random
import time
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from crm_store.scoring import report_metrics as metrics
from crm_store.scoring.episodes import Episode

DAY = datetime(2026, 5, 4, 10, 0)  # a Monday


def episode(**fields) -> Episode:
    """A calm, bot-resolved web episode unless told otherwise."""
    started = fields.pop("started_at", DAY)
    escalated = fields.get("escalated", False)
    resolved_by = fields.pop("resolved_by", "agent" if escalated else "bot")
    recontact = fields.get("recontact_24h", False)
    values = dict(conversation_id="web:a", number=1, channel="web", customer_id=1, started_at=started,
                  ended_at=started + timedelta(minutes=5), user_messages=2, intents=("track_order",),
                  topic_intent="track_order", sentiment_start=0.2, sentiment_end=0.3, sentiment_min=0.2,
                  negative_messages=0, escalated=False, live_handover=False, escalation_reason=None, ticket_id=None,
                  agent=None, first_response_seconds=None, resolution_seconds=None, resolved_by=resolved_by,
                  csat=None, csat_asked=False, recontact_24h=False,
                  contained=resolved_by == "bot" and not recontact)
    values.update(fields)
    return Episode(**values)


def angry(**fields) -> Episode:
    return episode(**{"sentiment_start": -0.6, "sentiment_end": -0.5, "sentiment_min": -0.7,
                      "negative_messages": 2, **fields})


def handed_over(agent: str, first: float, resolution: float | None, **fields) -> Episode:
    return episode(**{"escalated": True, "agent": agent, "ticket_id": 1, "escalation_reason": "asked for a person",
                      "first_response_seconds": first, "resolution_seconds": resolution,
                      "resolved_by": "agent" if resolution is not None else "open", **fields})


def test_an_episode_is_negative_with_a_negative_message_or_a_low_enough_minimum():
    table = metrics.episode_table([
        episode(),
        episode(negative_messages=1),
        episode(sentiment_min=metrics.NEGATIVE_AT),
        episode(sentiment_min=-0.04),
        episode(sentiment_start=None, sentiment_end=None, sentiment_min=None)])
    assert table.frame["negative"].tolist() == [False, True, True, False, False]


def test_daily_sentiment_groups_by_the_utc_day_the_episode_started_and_runs_oldest_first():
    rows = metrics.sentiment_daily([
        angry(started_at=DAY + timedelta(days=1, hours=13, minutes=59)),  # 23:59 on Tuesday
        episode(started_at=DAY, sentiment_start=0.2, sentiment_end=0.4),
        angry(started_at=DAY),
        episode(started_at=DAY, sentiment_start=None, sentiment_end=None, sentiment_min=None)])
    assert [(row.group, row.n) for row in rows] == [("2026-05-04", 3), ("2026-05-05", 1)]
    monday = rows[0]
    assert monday.mean_start == pytest.approx((0.2 - 0.6) / 2)  # the unscored episode is left out of means
    assert monday.mean_end == pytest.approx((0.4 - 0.5) / 2)
    assert monday.share_negative == pytest.approx(0.3333)  # ... but counts in the share
    assert rows[1].share_negative == 1.0


def test_sentiment_by_channel_puts_the_busiest_first_and_names_missing_values():
    eps = [episode(channel="web"), angry(channel="telegram"), angry(channel="telegram"),
           episode(topic_intent=None), episode(channel="web")]
    by_channel = metrics.sentiment_by(eps, "channel")
    assert [(row.group, row.n, row.share_negative) for row in by_channel] == [("web", 3, 0.0), ("telegram", 2, 1.0)]
    by_topic = {row.group: row.n for row in metrics.sentiment_by(eps, "topic_intent")}
    assert by_topic == {"track_order": 4, metrics.NO_VALUE: 1}
    with pytest.raises(ValueError, match="groups by one of"):
        metrics.sentiment_by(eps, "customer_id")  # type: ignore[arg-type]


def test_sentiment_shift_tells_whether_angry_customers_ended_calmer_with_a_person_or_the_bot():
    eps = [
        angry(escalated=True, sentiment_end=0.4),  # calmed by an agent
        angry(escalated=True, sentiment_end=-0.3),  # still angry after an agent
        angry(sentiment_end=0.1),  # calmed by the bot
        episode(sentiment_start=0.2, sentiment_end=0.22),  # unchanged (within the tolerance)
        episode(sentiment_start=0.5, sentiment_end=None)]  # no end score: not paired
    shift = metrics.sentiment_shift(eps)
    assert shift.paired == 4
    assert shift.mean_change == pytest.approx(round((1.0 + 0.3 + 0.7 + 0.02) / 4, 4))
    assert (shift.improved, shift.unchanged, shift.worsened) == (0.75, 0.25, 0.0)
    assert shift.started_negative == 3 and shift.calmed == pytest.approx(0.6667)
    assert (shift.started_negative_escalated, shift.calmed_escalated) == (2, 0.5)
    assert (shift.started_negative_bot_only, shift.calmed_bot_only) == (1, 1.0)


def test_containment_counts_recontacts_as_not_contained_and_ranks_escalation_reasons():
    eps = [episode(), episode(), episode(recontact_24h=True),
           handed_over("amira", 60, 600, escalation_reason="negative streak"),
           handed_over("amira", 60, 600, escalation_reason="negative streak"),
           handed_over("chen", 60, None, escalation_reason="asked for a person")]
    figures = metrics.containment(eps)
    assert (figures.episodes, figures.contained, figures.escalated, figures.recontact) == (6, 2, 3, 1)
    assert (figures.contained_share, figures.escalation_rate) == (pytest.approx(0.3333), 0.5)
    assert list(figures.reasons.items()) == [("negative streak", 2), ("asked for a person", 1)]


def test_agent_times_are_medians_and_90th_percentiles_with_an_all_agents_row():
    eps = [handed_over("amira", first, first * 10) for first in (10, 20, 30, 40, 50)]
    eps += [handed_over("chen", 100, None), episode()]
    rows = metrics.agent_stats(eps)
    assert [row.agent for row in rows] == ["amira", "chen", metrics.ALL_AGENTS]
    amira, chen, everyone = rows
    assert (amira.handled, amira.first_response_median, amira.first_response_p90) == (5, 30.0, 46.0)
    assert (amira.resolution_median, amira.resolution_p90) == (300.0, 460.0)
    assert (chen.handled, chen.resolved, chen.resolution_median) == (1, 0, None)
    assert (everyone.handled, everyone.answered, everyone.first_response_median) == (6, 6, 35.0)


def test_percentile_interpolates_like_numpy_and_ignores_missing_values():
    values = [3.0, None, 1.0, 10.0, float("nan"), 7.0]
    assert metrics.percentile(values, 50) == np.percentile([1, 3, 7, 10], 50) == 5.0
    assert metrics.percentile(values, 90) == pytest.approx(np.percentile([1, 3, 7, 10], 90))
    assert metrics.percentile([], 50) is None and metrics.percentile([None], 90) is None


def test_csat_compares_bot_and_agent_resolved_with_the_response_rate_of_those_asked():
    eps = [episode(csat_asked=True, csat=5), episode(csat_asked=True, csat=3), episode(csat_asked=True),
           episode(csat_asked=True), episode(csat=4),  # rated without being asked
           handed_over("amira", 60, 600, csat_asked=True, csat=2),
           handed_over("amira", 60, None, csat_asked=True, csat=1)]  # still open: in neither side
    ratings = metrics.csat(eps)
    assert (ratings.bot.episodes, ratings.bot.asked, ratings.bot.answered) == (5, 4, 3)
    assert ratings.bot.response_rate == 0.5
    assert ratings.bot.mean == 4.0 and ratings.bot.share_4_5 == pytest.approx(0.6667)
    assert (ratings.agent.episodes, ratings.agent.mean, ratings.agent.share_4_5) == (1, 2.0, 0.0)


def test_the_overview_holds_the_headline_numbers_and_is_json_ready():
    eps = [episode(conversation_id="web:a", customer_id=1, csat_asked=True, csat=5),
           angry(conversation_id="web:b", customer_id=2, started_at=DAY + timedelta(days=3)),
           handed_over("amira", 30, 300, conversation_id="tg:c", customer_id=None, csat_asked=True)]
    headline = metrics.overview(eps)
    assert (headline.first_day, headline.last_day) == (date(2026, 5, 4), date(2026, 5, 7))
    assert (headline.episodes, headline.conversations, headline.customers) == (3, 3, 2)
    assert headline.share_negative == pytest.approx(0.3333) and headline.escalation_rate == pytest.approx(0.3333)
    assert (headline.first_response_median, headline.resolution_p90) == (30.0, 300.0)
    assert (headline.csat_bot, headline.csat_agent, headline.csat_response_rate) == (5.0, None, 0.5)
    assert json.loads(json.dumps(headline.as_dict()))["first_day"] == "2026-05-04"


def test_no_episodes_give_empty_rows_and_missing_figures_instead_of_errors():
    assert metrics.sentiment_daily([]) == [] and metrics.sentiment_by([], "agent") == []
    assert metrics.containment([]).contained_share is None
    assert metrics.sentiment_shift([]).mean_change is None
    assert metrics.agent_stats([])[-1].first_response_median is None
    headline = metrics.overview([])
    assert headline.episodes == 0 and headline.first_day is None and headline.share_negative is None


def test_every_result_turns_into_json():
    eps = [episode(), angry(escalated=True, agent="amira", first_response_seconds=5.0)]
    results = [*metrics.sentiment_daily(eps), *metrics.sentiment_by(eps, "agent"), metrics.sentiment_shift(eps),
               metrics.containment(eps), *metrics.agent_stats(eps), metrics.csat(eps), metrics.overview(eps)]
    for result in results:
        assert json.loads(json.dumps(result.as_dict()))


def _many(n: int) -> list[Episode]:
    rng = random.Random(3)
    made = []
    for i in range(n):
        escalated = rng.random() < 0.2
        start = rng.uniform(-1, 1)
        made.append(episode(
            conversation_id=f"web:{i // 2}", number=i % 2 + 1, customer_id=rng.randrange(5000),
            started_at=DAY - timedelta(minutes=rng.randrange(365 * 24 * 60)), channel=rng.choice(["web", "telegram"]),
            sentiment_start=start, sentiment_end=rng.uniform(-1, 1), sentiment_min=min(start, -0.1),
            negative_messages=rng.randrange(3), escalated=escalated, resolved_by="agent" if escalated else "bot",
            agent=rng.choice(["amira", "chen"]) if escalated else None, csat=rng.choice([None, 1, 5]),
            first_response_seconds=rng.expovariate(0.01) if escalated else None, csat_asked=rng.random() < 0.5))
    return made


def test_the_whole_overview_of_100_000_episodes_takes_well_under_a_second():
    eps = _many(100_000)
    started = time.perf_counter()
    headline = metrics.overview(eps)
    elapsed = time.perf_counter() - started
    assert headline.episodes == 100_000 and not math.isnan(headline.share_negative or math.nan)
    assert elapsed < 1.0, f"overview took {elapsed:.2f}s"  # about 0.3 s here; slack for busy machines
