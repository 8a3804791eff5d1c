"""The report's numbers (from the pure metrics of ``crm_store.scoring``) shaped as plotly figures
and tables: plain dicts and tuples, so the console page, the CSV exports and the HTML file share them.

Figures are plotly figure dicts (``data`` traces + ``layout``) built here in Python; the page only
hands them to ``Plotly.newPlot``. A figure with ``drill`` set carries, in each point's
``customdata``, the value that selects the episodes behind that point (``/reports/conversations``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from crm_store.scoring import forecast as forecasting
from crm_store.scoring import report_metrics as rm
from crm_store.scoring import topics as topic_model

FORECAST_DAYS = 14
TREND_DAYS = 7
HISTORY_SHOWN_DAYS = 56
COLOURS = {"start": "#2f6fed", "end": "#067647", "min": "#c4320a", "negative": "#f79009", "naive": "#667085"}


@dataclass(frozen=True)
class Table:
    """A table as shown and exported. ``link`` names the column holding a conversation id, if any."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    link: str | None = None

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([inert(cell) for cell in row])
        return out.getvalue()


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(...) leaks data, DDE runs
# programs); example complaints are customer text, so every text cell is checked.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: Any) -> Any:
    """A CSV cell a spreadsheet cannot run: text that would start a formula gets a leading quote
    (the spreadsheet convention for "this is text"); numbers, a lone "-" and numeric text stay as they are."""
    if cell is None:
        return ""
    if isinstance(cell, (list, tuple)):
        cell = "; ".join(map(str, cell))
    if not isinstance(cell, str) or not cell.startswith(FORMULA_START) or cell == "-" or _numeric(cell):
        return cell
    return "'" + cell


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Computed:
    summary: dict[str, Any]
    figures: tuple[dict[str, Any], ...]
    tables: tuple[Table, ...]
    notes: dict[str, str]
    intents: tuple[str, ...]
    topic_members: dict[str, frozenset[tuple[str, int]]]
    latest_conversation: dict[int, str]  # customer id -> their most recent conversation in the period


def compute(episodes: Sequence[Any], negatives: Sequence[Any], *, until: date | None = None) -> Computed:
    """Every figure and table of the report from the (already filtered) episodes and negative messages."""
    table = rm.episode_table(episodes)
    daily = rm.sentiment_daily(table)
    by = {key: rm.sentiment_by(table, key) for key in rm.GROUP_KEYS}
    shift, contain, agents, ratings = rm.sentiment_shift(table), rm.containment(table), rm.agent_stats(table), \
        rm.csat(table)
    topics = topic_model.topics(negatives)
    series = escalations_per_day(table)
    planned, tested, note = _forecast(series, until)
    figures = (
        sentiment_daily_figure(daily, rolling_end(table)),
        sentiment_by_figure("sentiment-channel", "Sentiment by channel", by["channel"], "channel"),
        sentiment_by_figure("sentiment-intent", "Sentiment by topic intent", by["topic_intent"], "intent",
                            height=420, margin={"l": 50, "r": 50, "t": 64, "b": 130}),
        sentiment_by_figure("sentiment-agent", "Sentiment by agent", by["agent"], "agent"),
        shift_figure(shift),
        reasons_figure(contain),
        agents_figure(agents),
        csat_figure(ratings),
        topics_figure(topics),
        forecast_figure(series, planned, tested),
    )
    tables = (
        _sentiment_table("sentiment_daily", "Sentiment per day", daily, "day"),
        _sentiment_table("sentiment_channel", "Sentiment by channel", by["channel"], "channel"),
        _sentiment_table("sentiment_intent", "Sentiment by topic intent", by["topic_intent"], "intent"),
        _sentiment_table("sentiment_agent", "Sentiment by agent", by["agent"], "agent"),
        _pairs_table("sentiment_shift", "Start to end shift", shift.as_dict()),
        _pairs_table("containment", "Containment", {k: v for k, v in contain.as_dict().items() if k != "reasons"}),
        Table("escalation_reasons", "Escalation reasons", ("reason", "escalations"),
              tuple(contain.reasons.items())),
        _rows_table("agents", "Agents (seconds within support hours)", [a.as_dict() for a in agents]),
        _rows_table("csat", "CSAT: bot-resolved vs agent-resolved", [ratings.bot.as_dict(), ratings.agent.as_dict()]),
        _topics_table(topics),
        _rows_table("forecast", "Expected escalations, next 14 days", [d.as_dict() for d in planned]),
        _backtest_table(tested),
    )
    intents = tuple(sorted(row.group for row in by["topic_intent"] if row.group != rm.NO_VALUE))
    return Computed(summary=rm.overview(table).as_dict(), figures=figures, tables=tables,
                    notes={"forecast": note} if note else {}, intents=intents,
                    topic_members={_topic_key(t): _members(t, negatives) for t in topics},
                    latest_conversation={e.customer_id: e.conversation_id for e in episodes
                                         if e.customer_id is not None})  # episodes come oldest first


# --- shaping helpers ------------------------------------------------------------------------------

def escalations_per_day(table: rm.EpisodeTable) -> dict[date, float]:
    """Escalated episodes per UTC day (days without any are absent: the forecast reads them as 0)."""
    frame = table.frame
    counts = frame.loc[frame["escalated"], "day"].value_counts()
    return {day.date(): float(count) for day, count in counts.items()}


def _forecast(series: dict[date, float], until: date | None):
    if not series:
        return [], None, "No escalations in the selected period: nothing to forecast from."
    try:
        return (forecasting.forecast(series, FORECAST_DAYS, until=until),
                forecasting.backtest(series, FORECAST_DAYS, until=until), None)
    except forecasting.SeriesTooShort as exc:
        return [], None, f"Too little history for the forecast ({exc})."


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout = {"title": {"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top"},
              "margin": {"l": 50, "r": 50, "t": 64, "b": 40}, "height": 340, "hovermode": "closest",
              "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
              "xaxis": {"automargin": True}}
    layout.update(extra)
    return layout


def labels(values: Sequence[Any]) -> list[Any]:
    """Category labels for plotly.js, which draws a subset of HTML in them (links, styles): intent
    names come from customers ("/<a href=...>" is parsed as an intent), so ``&``, ``<`` and ``>`` are
    sent as entities, which plotly shows as the characters. The raw value stays in ``customdata``."""
    return [v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") if isinstance(v, str) else v
            for v in values]


def _figure(fid: str, title: str, data: list[dict], drill: str | None = None, **layout: Any) -> dict[str, Any]:
    return {"id": fid, "title": title, "drill": drill, "data": data, "layout": _layout(title, **layout)}


def rolling_end(table: rm.EpisodeTable, days: int = TREND_DAYS) -> tuple[list[str], list[float | None]]:
    """The mean end score over the last ``days`` calendar days at each day: the trend a day's few
    episodes hide (days without episodes count as none, not as zero)."""
    frame = table.frame
    if frame.empty:
        return [], []
    daily = frame.groupby("day")["sentiment_end"].agg(["sum", "count"])
    full = daily.reindex(pd.date_range(daily.index.min(), daily.index.max(), freq="D"), fill_value=0)
    rolled = full.rolling(days, min_periods=1).sum()
    means = rolled["sum"] / rolled["count"].where(rolled["count"] > 0)
    return ([day.strftime("%Y-%m-%d") for day in full.index],
            [None if pd.isna(v) else round(float(v), 4) for v in means])


def sentiment_daily_figure(rows: Sequence[rm.SentimentRow], trend: tuple[list[str], list[float | None]]
                           ) -> dict[str, Any]:
    days = [r.group for r in rows]
    lines = [{"type": "scatter", "mode": "lines", "name": f"mean {part}", "x": days, "customdata": days,
              "y": [getattr(r, f"mean_{part}") for r in rows], "line": {"color": COLOURS[part], "width": 1},
              "opacity": 0.6} for part in ("start", "end", "min")]
    lines.append({"type": "scatter", "mode": "lines", "name": f"mean end, {TREND_DAYS}-day", "x": trend[0],
                  "customdata": trend[0], "y": trend[1], "line": {"color": "#101828", "width": 3}})
    share = {"type": "bar", "name": "share negative", "x": days, "customdata": days, "yaxis": "y2",
             "y": [r.share_negative for r in rows], "marker": {"color": COLOURS["negative"]}, "opacity": 0.35}
    return _figure("sentiment-daily", "Sentiment per day", [share, *lines], drill="day",
                   yaxis={"title": {"text": "compound score"}, "range": [-1, 1]},
                   yaxis2={"title": {"text": "share negative"}, "overlaying": "y", "side": "right",
                           "range": [0, 1.05], "tickformat": ".0%"})


def sentiment_by_figure(fid: str, title: str, rows: Sequence[rm.SentimentRow], drill: str,
                        **layout: Any) -> dict[str, Any]:
    groups = [r.group for r in rows]
    bars = [{"type": "bar", "name": f"mean {part}", "x": labels(groups), "customdata": groups,
             "y": [getattr(r, f"mean_{part}") for r in rows], "marker": {"color": COLOURS[part]}}
            for part in ("start", "end")]
    share = {"type": "scatter", "mode": "markers", "name": "share negative", "x": labels(groups),
             "customdata": groups,
             "yaxis": "y2", "y": [r.share_negative for r in rows],
             "marker": {"color": COLOURS["negative"], "size": 10, "symbol": "diamond"}}
    return _figure(fid, title, [*bars, share], drill=drill, barmode="group", **layout,
                   yaxis={"title": {"text": "compound score"}, "range": [-1, 1]},
                   yaxis2={"title": {"text": "share negative"}, "overlaying": "y", "side": "right",
                           "range": [0, 1.05], "tickformat": ".0%"})


def shift_figure(shift: rm.SentimentShift) -> dict[str, Any]:
    kinds = ["improved", "unchanged", "worsened"]
    bars = [{"type": "bar", "name": "all scored episodes", "x": kinds, "y": [getattr(shift, k) for k in kinds],
             "marker": {"color": [COLOURS["end"], COLOURS["naive"], COLOURS["min"]]}}]
    calmed = {"type": "bar", "name": "started negative, ended calmer", "xaxis": "x2", "yaxis": "y",
              "x": ["all", "escalated", "bot only"],
              "y": [shift.calmed, shift.calmed_escalated, shift.calmed_bot_only], "marker": {"color": COLOURS["start"]}}
    return _figure("sentiment-shift", "Start to end shift", [*bars, calmed], showlegend=False,
                   grid={"rows": 1, "columns": 2, "pattern": "independent"},
                   xaxis={"domain": [0, 0.45], "title": {"text": "first to last message"}},
                   xaxis2={"domain": [0.55, 1], "anchor": "y", "title": {"text": "angry at start: share calmed"}},
                   yaxis={"tickformat": ".0%", "range": [0, 1]})


def reasons_figure(contain: rm.Containment) -> dict[str, Any]:
    reasons = list(contain.reasons)
    bar = {"type": "bar", "orientation": "h", "name": "escalations", "y": labels(reasons), "customdata": reasons,
           "x": list(contain.reasons.values()), "marker": {"color": COLOURS["min"]}}
    rate = "-" if contain.contained_share is None else f"{contain.contained_share:.0%}"
    return _figure("escalation-reasons", f"Escalation reasons (contained: {rate})", [bar], drill="reason",
                   yaxis={"autorange": "reversed", "automargin": True}, xaxis={"title": {"text": "escalations"}})


def agents_figure(agents: Sequence[rm.AgentRow]) -> dict[str, Any]:
    names = [a.agent for a in agents]
    traces = []
    for field, label, colour in (("first_response_median", "first response, median", COLOURS["start"]),
                                 ("first_response_p90", "first response, p90", "#9db8f7"),
                                 ("resolution_median", "resolution, median", COLOURS["end"]),
                                 ("resolution_p90", "resolution, p90", "#8fd3b0")):
        minutes = [None if getattr(a, field) is None else round(getattr(a, field) / 60, 1) for a in agents]
        traces.append({"type": "bar", "name": label, "x": labels(names), "customdata": names, "y": minutes,
                       "marker": {"color": colour}})
    return _figure("agents", "Agents: response and resolution time (minutes within support hours)", traces,
                   drill="agent", barmode="group", yaxis={"title": {"text": "minutes"}})


def csat_figure(ratings: rm.Csat) -> dict[str, Any]:
    sides = [ratings.bot, ratings.agent]
    labels = ["bot-resolved", "agent-resolved"]
    text = [f"{'-' if s.mean is None else s.mean:} · {s.answered}/{s.asked} answered" +
            ("" if s.response_rate is None else f" ({s.response_rate:.0%})") for s in sides]
    bar = {"type": "bar", "x": labels, "y": [s.mean for s in sides], "text": text, "textposition": "auto",
           "marker": {"color": [COLOURS["start"], COLOURS["end"]]}, "name": "mean CSAT"}
    return _figure("csat", "CSAT (1-5): bot vs agent, with response rate", [bar], yaxis={"range": [0, 5]})


def _topic_key(topic: topic_model.Topic) -> str:
    return str(topic.id)


def _members(topic: topic_model.Topic, negatives: Sequence[Any]) -> frozenset[tuple[str, int]]:
    """The episodes (conversation id, number) whose negative messages fall in ``topic``."""
    return frozenset((negatives[i].conversation_id, negatives[i].number) for i in topic.members)


def topics_figure(topics: Sequence[topic_model.Topic]) -> dict[str, Any]:
    weeks = sorted({week for topic in topics for week, _ in topic.weekly})
    traces = []
    for topic in topics:
        counts = dict(topic.weekly)
        traces.append({"type": "scatter", "mode": "lines+markers", "name": labels([topic.label])[0], "x": weeks,
                       "y": [counts.get(week, 0) for week in weeks], "customdata": [_topic_key(topic)] * len(weeks)})
    return _figure("topics", "Complaint topics over time (negative messages per ISO week)", traces, drill="topic",
                   yaxis={"title": {"text": "negative messages"}, "rangemode": "tozero"},
                   xaxis={"type": "category", "automargin": True})


def forecast_figure(series: dict[date, float], planned: Sequence[forecasting.ForecastDay],
                    tested: forecasting.Backtest | None) -> dict[str, Any]:
    history_days: list[str] = []
    if series:
        last = max(series)
        history_days = _fill_days(max(min(series), last - timedelta(days=HISTORY_SHOWN_DAYS - 1)), last)
    history = {"type": "scatter", "mode": "lines+markers", "name": "escalations", "x": history_days,
               "customdata": history_days, "y": [series.get(date.fromisoformat(d), 0) for d in history_days],
               "line": {"color": COLOURS["start"]}}
    days = [d.day.isoformat() for d in planned]
    band = {"type": "scatter", "mode": "lines", "name": "80% interval", "x": days + days[::-1],
            "y": [d.high for d in planned] + [d.low for d in planned][::-1], "fill": "toself",
            "line": {"width": 0}, "fillcolor": "rgba(247,144,9,0.2)", "hoverinfo": "skip"}
    expected = {"type": "scatter", "mode": "lines+markers", "name": "expected", "x": days,
                "y": [d.expected for d in planned], "line": {"color": COLOURS["negative"], "dash": "dot"}}
    title = "Staffing forecast: escalations per day, next 14 days"
    if tested is not None:
        title += f" (back-test MAE: model {tested.model.mae:.2f}, naive same weekday {tested.naive.mae:.2f})"
    return _figure("forecast", title, [history, band, expected], drill="day",
                   yaxis={"title": {"text": "escalations"}, "rangemode": "tozero"})


def _fill_days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


# --- tables -----------------------------------------------------------------------------------------

def _sentiment_table(name: str, title: str, rows: Sequence[rm.SentimentRow], key: str) -> Table:
    columns = (key, "episodes", "mean_start", "mean_end", "mean_min", "share_negative")
    return Table(name, title, columns, tuple((r.group, r.n, r.mean_start, r.mean_end, r.mean_min, r.share_negative)
                                             for r in rows))


def _pairs_table(name: str, title: str, values: dict[str, Any]) -> Table:
    return Table(name, title, ("figure", "value"), tuple(values.items()))


def _rows_table(name: str, title: str, rows: Sequence[dict[str, Any]]) -> Table:
    columns = tuple(rows[0]) if rows else ("-",)
    return Table(name, title, columns, tuple(tuple(row.values()) for row in rows))


def _backtest_table(tested: forecasting.Backtest | None) -> Table:
    columns = ("method", "days", "mae", "mape", "smape", "wape")
    if tested is None:
        return Table("backtest", "Forecast back-test", columns, ())
    rows = tuple((label, e.days, e.mae, e.mape, e.smape, e.wape)
                 for label, e in (("our model", tested.model), ("naive same weekday", tested.naive)))
    return Table("backtest", f"Forecast back-test ({tested.folds} windows of {tested.horizon} days)", columns, rows)


def _topics_table(topics: Sequence[topic_model.Topic]) -> Table:
    columns = ("topic", "label", "terms", "messages", "share", "examples")
    rows = tuple((_topic_key(t), t.label, t.terms, t.size, t.share, tuple(e.text for e in t.examples))
                 for t in topics)
    return Table("topics", "Complaint topics", columns, rows)
