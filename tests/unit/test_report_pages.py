"""The report pages' pure parts: filters from a query string, the drill-down selection, the
figures' drill values, and how tables read as CSV and on the page. No database, no server."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from bot.console import report_data, report_figures
from bot.console.report_data import BadFilters, Filters
from bot.console.reports import cell, minutes, pct
from crm_store.scoring.episodes import Episode


def _episode(conversation: str, *, day: int = 1, channel: str = "web", intent: str | None = "track_order",
             agent: str | None = None, reason: str | None = None, customer: int | None = 7,
             escalated: bool = False, number: int = 1, end: float | None = 0.2) -> Episode:
    started = datetime(2026, 5, day, 10, 0)
    return Episode(
        conversation_id=conversation, number=number, channel=channel, customer_id=customer, started_at=started,
        ended_at=started, user_messages=2, intents=(intent,) if intent else (), topic_intent=intent,
        sentiment_start=-0.5, sentiment_end=end, sentiment_min=-0.5, negative_messages=1, escalated=escalated,
        live_handover=False, escalation_reason=reason, ticket_id=1 if escalated else None, agent=agent,
        first_response_seconds=600.0 if agent else None, resolution_seconds=3600.0 if agent else None,
        resolved_by="agent" if escalated else "bot", csat=5, csat_asked=True, recontact_24h=False,
        contained=not escalated)


def test_filters_read_dates_channel_and_intent_and_write_them_back():
    filters = Filters.from_query({"since": "2026-05-01", "until": "2026-05-31", "channel": "telegram",
                                  "intent": "track_order"})
    assert filters == Filters(date(2026, 5, 1), date(2026, 5, 31), "telegram", "track_order")
    assert Filters.from_query(filters.as_query()) == filters
    assert Filters.from_query({"since": "", "channel": ""}) == Filters()


@pytest.mark.parametrize("query", [{"since": "yesterday"}, {"since": "2026-06-02", "until": "2026-06-01"},
                                   {"channel": "fax"}, {"intent": "<script>"}])
def test_filters_refuse_what_is_not_a_date_a_channel_or_an_intent(query):
    with pytest.raises(BadFilters):
        Filters.from_query(query)


def test_a_selection_keeps_the_episodes_of_that_day_channel_agent_reason_or_customer():
    episodes = [_episode("web:a", day=1), _episode("tg:b", day=2, channel="telegram", agent="amira",
                                                   reason="complaint", escalated=True, customer=9),
                _episode("web:c", day=2, intent=None, customer=None)]

    def chosen(**selection):
        keep = report_data._selector(selection, None)
        return [e.conversation_id for e in episodes if keep(e)]

    assert chosen(day="2026-05-02") == ["tg:b", "web:c"]
    assert chosen(day="2026-05-02", channel="web") == ["web:c"]
    assert chosen(agent="amira", reason="complaint") == ["tg:b"]
    assert chosen(intent=report_data.NO_VALUE) == ["web:c"]
    assert chosen(customer="9") == ["tg:b"]
    with pytest.raises(BadFilters):
        chosen(customer="nine")


def test_every_clickable_point_carries_the_value_its_drill_down_selects():
    episodes = [_episode(f"web:{i}", day=1 + i % 28, agent="amira" if i % 3 == 0 else None,
                         reason="complaint" if i % 3 == 0 else None, escalated=i % 3 == 0) for i in range(60)]
    computed = report_figures.compute(episodes, [])
    figures = {figure["id"]: figure for figure in computed.figures}
    assert figures["sentiment-daily"]["drill"] == "day"
    assert set(figures["sentiment-daily"]["data"][0]["customdata"]) == {e.started_at.date().isoformat()
                                                                        for e in episodes}
    assert figures["escalation-reasons"]["data"][0]["customdata"] == ["complaint"]
    assert figures["sentiment-agent"]["data"][0]["customdata"] == ["(none)", "amira"]
    assert computed.latest_conversation == {7: "web:59"}


def test_tables_read_as_csv_and_cells_read_plainly():
    table = report_figures.Table("t", "T", ("topic", "terms", "share"), (("0", ("late", "parcel"), None),))
    assert list(csv.reader(io.StringIO(table.csv()))) == [["topic", "terms", "share"], ["0", "late; parcel", ""]]
    assert (cell(None), cell(("a", "b")), cell(datetime(2026, 5, 1, 9, 30, 12)), cell(0.123456)) == \
        ("-", "a; b", "2026-05-01 09:30", "0.1235")
    assert (pct(0.256), pct(None), minutes(600.0), minutes(36000.0)) == ("26%", "-", "10 min", "10.0 h")


def test_the_daily_trend_averages_the_last_seven_calendar_days_of_scored_episodes():
    episodes = [_episode("web:a", day=1, end=0.6), _episode("web:b", day=1, end=None),
                _episode("web:c", day=3, end=0.0), _episode("web:d", day=9, end=-0.4)]
    days, means = report_figures.rolling_end(report_figures.rm.episode_table(episodes))
    trend = dict(zip(days, means, strict=True))
    assert len(days) == 9 and trend["2026-05-01"] == 0.6 and trend["2026-05-05"] == 0.3
    assert trend["2026-05-08"] == 0.0 and trend["2026-05-09"] == -0.2
