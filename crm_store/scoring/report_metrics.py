"""The figures of the admins' reports, computed from conversation episodes (plain values, no database).

Every function takes the episodes (``Sequence[Episode]``) or an :class:`EpisodeTable` built from
them once with :func:`episode_table`; a report that shows several sections builds the table once
and passes it to each (:func:`overview` does). The table is a pandas frame with one column per
field the figures need, so the figures are vectorised: 100,000 episodes take well under a second.

Results are frozen dataclasses with an ``as_dict()`` of JSON-ready values (numbers rounded to 4
places, dates as ISO strings, ``None`` where a figure has no data, e.g. a mean of no values).

Definitions used throughout:
- an episode is **negative** when it had a negative user message or its lowest sentiment was at or
  below :data:`NEGATIVE_AT` (VADER's convention for a negative compound score);
- **percentiles** are :func:`percentile` (linear interpolation between closest ranks, as numpy's
  default), median = 50th, p90 = 90th.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from operator import attrgetter
from typing import Any, Literal

import numpy as np
import pandas as pd

from crm_store.scoring.episodes import Episode

NEGATIVE_AT = -0.05  # compound score at or below which a message or an episode counts as negative
SHIFT_TOLERANCE = 0.05  # a start->end change smaller than this counts as unchanged
NO_VALUE = "(none)"  # the group of episodes without a channel / topic intent / agent
ALL_AGENTS = "all agents"
PLACES = 4
GroupKey = Literal["channel", "topic_intent", "agent"]
GROUP_KEYS: tuple[GroupKey, ...] = ("channel", "topic_intent", "agent")

_TEXT = ("conversation_id", "channel", "topic_intent", "escalation_reason", "agent", "resolved_by")
_FLOAT = ("customer_id", "sentiment_start", "sentiment_end", "sentiment_min", "negative_messages",
          "first_response_seconds", "resolution_seconds", "csat")
_BOOL = ("escalated", "csat_asked", "recontact_24h", "contained")
_FIELDS = ("started_at", *_TEXT, *_FLOAT, *_BOOL)


@dataclass(frozen=True)
class EpisodeTable:
    """The episodes as columns (one row per episode), built once by :func:`episode_table`."""

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


Episodes = Sequence[Episode] | EpisodeTable


def episode_table(episodes: Episodes) -> EpisodeTable:
    """The columns the figures need, plus ``day`` (UTC date started) and ``negative``."""
    if isinstance(episodes, EpisodeTable):
        return episodes
    rows = list(map(attrgetter(*_FIELDS), episodes))
    frame = pd.DataFrame.from_records(rows, columns=_FIELDS, nrows=len(rows))  # dtypes fixed below
    frame = frame.astype({**dict.fromkeys(_FLOAT, float), **dict.fromkeys(_BOOL, bool), **dict.fromkeys(_TEXT, object)})
    frame["day"] = pd.to_datetime(frame.pop("started_at")).to_numpy().astype("datetime64[D]")
    frame["negative"] = (frame["negative_messages"] > 0) | (frame["sentiment_min"] <= NEGATIVE_AT)
    return EpisodeTable(frame)


def percentile(values: Any, q: float) -> float | None:
    """The ``q``-th percentile (0-100) of the non-missing values, linearly interpolated; None if none."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    return float(np.percentile(array, q)) if array.size else None


def _num(value: Any) -> float | None:
    """A rounded float, or None for a missing value (NaN, None)."""
    if value is None or pd.isna(value):
        return None
    return round(float(value), PLACES)


def _share(part: int | float, whole: int | float) -> float | None:
    return round(part / whole, PLACES) if whole else None


def _as_dict(result: Any) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(result).items()}


# --- sentiment ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentimentRow:
    """Sentiment of one group of episodes (a day, a channel, a topic intent or an agent).

    Means are over the episodes that have the score; ``share_negative`` is over all ``n``
    (an episode with no scored message and no negative message is not negative).
    """

    group: str
    n: int
    mean_start: float | None
    mean_end: float | None
    mean_min: float | None
    share_negative: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sentiment_rows(frame: pd.DataFrame, key: str) -> list[SentimentRow]:
    if frame.empty:
        return []
    grouped = frame.groupby(key, sort=False).agg(
        n=("negative", "size"), mean_start=("sentiment_start", "mean"), mean_end=("sentiment_end", "mean"),
        mean_min=("sentiment_min", "mean"), negatives=("negative", "sum"))
    return [SentimentRow(group=str(group), n=int(row.n), mean_start=_num(row.mean_start), mean_end=_num(row.mean_end),
                         mean_min=_num(row.mean_min), share_negative=_share(int(row.negatives), int(row.n)))
            for group, row in grouped.iterrows()]


def sentiment_daily(episodes: Episodes) -> list[SentimentRow]:
    """One row per UTC day that has episodes (``group`` is the ISO date), oldest first."""
    rows = _sentiment_rows(_with_iso_days(episode_table(episodes).frame), "day")
    return sorted(rows, key=lambda row: row.group)


def _with_iso_days(frame: pd.DataFrame) -> pd.DataFrame:
    """``day`` as ISO strings, formatting each distinct day once (strftime per row is slow)."""
    codes, days = pd.factorize(frame["day"])
    labels = np.array([day.strftime("%Y-%m-%d") for day in days], dtype=object)
    return frame.assign(day=labels[codes])


def sentiment_by(episodes: Episodes, key: GroupKey) -> list[SentimentRow]:
    """One row per channel, topic intent or agent (missing values as :data:`NO_VALUE`), largest first."""
    if key not in GROUP_KEYS:
        raise ValueError(f"sentiment_by groups by one of {GROUP_KEYS}, not {key!r}")
    frame = episode_table(episodes).frame
    rows = _sentiment_rows(frame.assign(**{key: frame[key].fillna(NO_VALUE)}), key)
    return sorted(rows, key=lambda row: (-row.n, row.group))


@dataclass(frozen=True)
class SentimentShift:
    """How the mood moved from the first to the last scored message of an episode.

    ``calmed`` is the share of episodes that started negative (first score at or below
    :data:`NEGATIVE_AT`) and ended above it: did we make angry customers calmer? It is given for
    all of them, for those a person took over (escalated) and for those the bot handled alone.
    """

    paired: int  # episodes with both a start and an end score
    mean_change: float | None
    improved: float | None
    unchanged: float | None
    worsened: float | None
    started_negative: int
    calmed: float | None
    started_negative_escalated: int
    calmed_escalated: float | None
    started_negative_bot_only: int
    calmed_bot_only: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sentiment_shift(episodes: Episodes) -> SentimentShift:
    frame = episode_table(episodes).frame
    paired = frame[frame["sentiment_start"].notna() & frame["sentiment_end"].notna()]
    change = (paired["sentiment_end"] - paired["sentiment_start"]).to_numpy()
    n = len(change)
    angry = paired[paired["sentiment_start"] <= NEGATIVE_AT]
    calm_end = (angry["sentiment_end"] > NEGATIVE_AT).to_numpy()
    escalated = angry["escalated"].to_numpy()
    return SentimentShift(
        paired=n, mean_change=_num(change.mean()) if n else None,
        improved=_share(int((change >= SHIFT_TOLERANCE).sum()), n),
        unchanged=_share(int((np.abs(change) < SHIFT_TOLERANCE).sum()), n),
        worsened=_share(int((change <= -SHIFT_TOLERANCE).sum()), n),
        started_negative=len(angry), calmed=_share(int(calm_end.sum()), len(angry)),
        started_negative_escalated=int(escalated.sum()),
        calmed_escalated=_share(int(calm_end[escalated].sum()), int(escalated.sum())),
        started_negative_bot_only=int((~escalated).sum()),
        calmed_bot_only=_share(int(calm_end[~escalated].sum()), int((~escalated).sum())))


# --- containment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Containment:
    """Conversations the bot resolved alone (no ticket, no re-contact within 24 hours)."""

    episodes: int
    contained: int
    contained_share: float | None
    escalated: int
    escalation_rate: float | None
    recontact: int
    recontact_share: float | None
    reasons: dict[str, int]  # escalation reason -> escalated episodes, most frequent first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def containment(episodes: Episodes) -> Containment:
    frame = episode_table(episodes).frame
    n = len(frame)
    contained, escalated, recontact = (int(frame[c].sum()) for c in ("contained", "escalated", "recontact_24h"))
    reasons = frame.loc[frame["escalated"], "escalation_reason"].fillna(NO_VALUE).value_counts()
    ordered = sorted(((str(reason), int(count)) for reason, count in reasons.items()), key=lambda p: (-p[1], p[0]))
    return Containment(episodes=n, contained=contained, contained_share=_share(contained, n), escalated=escalated,
                       escalation_rate=_share(escalated, n), recontact=recontact, recontact_share=_share(recontact, n),
                       reasons=dict(ordered))


# --- agents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRow:
    """One agent's (or all agents') handled episodes and times, in seconds within support hours.

    ``answered`` and ``resolved`` count the episodes that have a first response and a resolution
    time; the medians and 90th percentiles are over those.
    """

    agent: str
    handled: int
    answered: int
    first_response_median: float | None
    first_response_p90: float | None
    resolved: int
    resolution_median: float | None
    resolution_p90: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _agent_row(name: str, frame: pd.DataFrame) -> AgentRow:
    first = frame["first_response_seconds"].to_numpy()
    resolution = frame["resolution_seconds"].to_numpy()
    return AgentRow(agent=name, handled=len(frame), answered=int((~np.isnan(first)).sum()),
                    first_response_median=_num(percentile(first, 50)), first_response_p90=_num(percentile(first, 90)),
                    resolved=int((~np.isnan(resolution)).sum()),
                    resolution_median=_num(percentile(resolution, 50)), resolution_p90=_num(percentile(resolution, 90)))


def agent_stats(episodes: Episodes) -> list[AgentRow]:
    """A row per agent (episodes with that agent), busiest first, then the :data:`ALL_AGENTS` row."""
    frame = episode_table(episodes).frame
    handled = frame[frame["agent"].notna()]
    rows = [_agent_row(str(name), group) for name, group in handled.groupby("agent", sort=True)]
    rows.sort(key=lambda row: (-row.handled, row.agent))
    return [*rows, _agent_row(ALL_AGENTS, handled)]


# --- CSAT --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsatFigures:
    """Ratings (1-5) of the episodes one side resolved.

    ``response_rate`` is the share of asked episodes that got a rating; ``mean`` and
    ``share_4_5`` are over every rated episode (a customer may rate without being asked).
    """

    resolved_by: str
    episodes: int
    asked: int
    answered: int
    response_rate: float | None
    mean: float | None
    share_4_5: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Csat:
    bot: CsatFigures
    agent: CsatFigures

    def as_dict(self) -> dict[str, Any]:
        return {"bot": self.bot.as_dict(), "agent": self.agent.as_dict()}


def _csat_figures(frame: pd.DataFrame, resolved_by: str) -> CsatFigures:
    side = frame[frame["resolved_by"] == resolved_by]
    ratings = side["csat"].to_numpy()
    rated = ~np.isnan(ratings)
    asked = side["csat_asked"].to_numpy()
    return CsatFigures(resolved_by=resolved_by, episodes=len(side), asked=int(asked.sum()), answered=int(rated.sum()),
                       response_rate=_share(int((asked & rated).sum()), int(asked.sum())),
                       mean=_num(ratings[rated].mean()) if rated.any() else None,
                       share_4_5=_share(int((ratings[rated] >= 4).sum()), int(rated.sum())))


def csat(episodes: Episodes) -> Csat:
    """CSAT of bot-resolved and agent-resolved episodes, side by side (open ones are in neither)."""
    frame = episode_table(episodes).frame
    return Csat(bot=_csat_figures(frame, "bot"), agent=_csat_figures(frame, "agent"))


# --- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """The headline numbers of the report's first screen."""

    first_day: date | None
    last_day: date | None
    episodes: int
    conversations: int
    customers: int
    share_negative: float | None
    mean_sentiment_change: float | None
    calmed: float | None
    contained_share: float | None
    escalation_rate: float | None
    recontact_share: float | None
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    csat_bot: float | None
    csat_agent: float | None
    csat_response_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return _as_dict(self)


def overview(episodes: Episodes) -> Overview:
    table = episode_table(episodes)
    frame = table.frame
    shift, contain, ratings = sentiment_shift(table), containment(table), csat(table)
    everyone = agent_stats(table)[-1]
    asked = int(frame["csat_asked"].sum())
    answered = int((frame["csat_asked"] & frame["csat"].notna()).sum())
    days = frame["day"]
    return Overview(
        first_day=days.min().date() if len(frame) else None, last_day=days.max().date() if len(frame) else None,
        episodes=len(frame), conversations=int(frame["conversation_id"].nunique()),
        customers=int(frame["customer_id"].nunique()),
        share_negative=_share(int(frame["negative"].sum()), len(frame)),
        mean_sentiment_change=shift.mean_change, calmed=shift.calmed,
        contained_share=contain.contained_share, escalation_rate=contain.escalation_rate,
        recontact_share=contain.recontact_share,
        first_response_median=everyone.first_response_median, first_response_p90=everyone.first_response_p90,
        resolution_median=everyone.resolution_median, resolution_p90=everyone.resolution_p90,
        csat_bot=ratings.bot.mean, csat_agent=ratings.agent.mean, csat_response_rate=_share(answered, asked))
