"""Rebuilding the admins' report tables from the stored conversations (``caredesk report rebuild``).

The tracker store's ``events`` table (Rasa's SQL tracker store, SQLite or PostgreSQL) is read with
SQLAlchemy Core, ordered by conversation and event id and streamed in chunks, so memory holds one
conversation's events at a time plus the episodes derived so far (never every event). Each
conversation goes through the pure :func:`crm_store.scoring.episodes.derive` with its CRM tickets
and ratings; re-contacts across conversations are marked once all are known; the tables are then
replaced in one transaction.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, create_engine, func, inspect, select, table
from sqlalchemy.engine import Engine

from crm_store.policy import load_policy
from crm_store.scoring.episodes import Episode, NegativeMessage, SupportHours, derive, mark_recontacts
from crm_store.services import reports
from crm_store.unit_of_work import UnitOfWork

EVENTS = table("events", column("id"), column("sender_id"), column("data"))
CHUNK = 5_000


@dataclass(frozen=True)
class RebuildStats:
    conversations: int
    events_read: int
    episodes: int
    negative_messages: int
    seconds: float
    built_at: datetime


def _tracker_engine(url: str) -> Engine:
    """A plain engine: the tracker store is Rasa's database, so no pragmas of ours are set on it."""
    if url.startswith("sqlite"):
        return create_engine(url, future=True, connect_args={"check_same_thread": False})
    return create_engine(url, future=True)


def count_events(engine: Engine) -> int:
    if not inspect(engine).has_table("events"):
        return 0
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(EVENTS)).scalar_one())


def stream_conversations(engine: Engine, on_progress: Callable[[int], None] | None = None,
                         chunk: int = CHUNK) -> Iterator[tuple[str, list[dict]]]:
    """Each conversation's events in stored order, one conversation at a time."""
    if not inspect(engine).has_table("events"):
        return
    query = select(EVENTS.c.sender_id, EVENTS.c.data).order_by(EVENTS.c.sender_id, EVENTS.c.id)
    current: str | None = None
    events: list[dict] = []
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, max_row_buffer=chunk).execute(query)
        for rows in result.partitions(chunk):
            for sender_id, data in rows:
                if sender_id != current:
                    if current is not None and events:
                        yield current, events
                    current, events = sender_id, []
                if data:
                    events.append(json.loads(data))
            if on_progress:
                on_progress(len(rows))
    if current is not None and events:
        yield current, events


def rebuild(settings, *, on_progress: Callable[[int], None] | None = None,
            on_total: Callable[[int], None] | None = None, hours: SupportHours | None = None) -> RebuildStats:
    """Derive every episode from the tracker store and replace the report tables with them.

    ``on_total`` hears the number of events to read, ``on_progress`` each chunk read (a tqdm bar's
    ``update``); ``hours`` defaults to the shop policy's support hours."""
    started = time.perf_counter()
    hours = hours or SupportHours.from_policy(load_policy())
    uow = UnitOfWork(settings.database_url)
    tickets, feedback = reports.tickets_and_feedback(uow)
    engine = _tracker_engine(settings.tracker_store_url)
    episodes: list[Episode] = []
    negatives: list[NegativeMessage] = []
    conversations = events_read = 0
    try:
        if on_total:
            on_total(count_events(engine))

        def progress(count: int) -> None:
            nonlocal events_read
            events_read += count
            if on_progress:
                on_progress(count)

        for sender_id, events in stream_conversations(engine, progress):
            conversations += 1
            found, negative = derive(sender_id, events, tickets.get(sender_id, ()), feedback.get(sender_id, ()),
                                     hours)
            episodes += found
            negatives += negative
    finally:
        engine.dispose()
    episodes = mark_recontacts(episodes)
    built_at = datetime.utcnow().replace(microsecond=0)
    reports.replace_all(episodes, negatives, uow, built_at=built_at, events_read=events_read)
    return RebuildStats(conversations, events_read, len(episodes), len(negatives),
                        time.perf_counter() - started, built_at)


def conversation_events(engine: Engine, conversation_ids: list[str]) -> dict[str, list[dict]]:
    """These conversations' stored events in order (a lookup on the tracker store's sender_id index)."""
    found: dict[str, list[dict]] = {conversation: [] for conversation in conversation_ids}
    if not conversation_ids or not inspect(engine).has_table("events"):
        return found
    query = (select(EVENTS.c.sender_id, EVENTS.c.data).where(EVENTS.c.sender_id.in_(conversation_ids))
             .order_by(EVENTS.c.sender_id, EVENTS.c.id))
    with engine.connect() as connection:
        for sender_id, data in connection.execute(query):
            if data:
                found[sender_id].append(json.loads(data))
    return found


def refresh(settings, conversation_ids: list[str], new_events: int, *, engine: Engine | None = None,
            hours: SupportHours | None = None) -> reports.BuildInfo:
    """What the report consumer does as conversations go on: derive these conversations' episodes
    again from their whole stored history, as :func:`rebuild` does for all of them, and put them in
    place of their old rows (``new_events``: events the broker announced since the last refresh)."""
    hours = hours or SupportHours.from_policy(load_policy())
    uow = UnitOfWork(settings.database_url)
    tickets, feedback = reports.tickets_and_feedback(uow, conversation_ids)
    own_engine = engine is None
    engine = engine or _tracker_engine(settings.tracker_store_url)
    try:
        stored = conversation_events(engine, conversation_ids)
    finally:
        if own_engine:
            engine.dispose()
    episodes: list[Episode] = []
    negatives: list[NegativeMessage] = []
    for sender_id, events in stored.items():
        found, negative = derive(sender_id, events, tickets.get(sender_id, ()), feedback.get(sender_id, ()), hours)
        episodes += found
        negatives += negative
    return reports.replace_conversations(conversation_ids, episodes, negatives, uow,
                                         built_at=datetime.utcnow().replace(microsecond=0), new_events=new_events)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _rating(mean: float | None) -> str:
    return "-" if mean is None else f"{mean:.2f}"


def segment_lines(summary: dict | None) -> list[str]:
    """The customer segments the recommender was last built with: size, share and profile each."""
    if not summary:
        return ["Segments:          none saved yet (`caredesk recommend train` saves them)"]
    parts = [f"{s['segment']}: {s['customers']:,} ({s['share']:.0%}) {s['profile']}" for s in summary["segments"]]
    return [f"Segments:          {summary['k']} (RFM k-means as of {summary['as_of'][:10]}): " + "; ".join(parts)]


def summary_lines(episodes: list[Episode], build: reports.BuildInfo | None) -> list[str]:
    """The headline figures of these episodes, as ``caredesk report summary`` prints them."""
    from crm_store.scoring import report_metrics

    if build is None:
        return ["The report tables were never built: run `caredesk report rebuild`."]
    lines = [f"Report tables built {build.built_at:%Y-%m-%d %H:%M} UTC from {build.events_read:,} events "
             f"({build.episodes:,} episodes in all)."]
    if not episodes:
        return [*lines, "No episodes in this period."]
    table = report_metrics.episode_table(episodes)
    top = report_metrics.overview(table)
    contain = report_metrics.containment(table)
    ratings = report_metrics.csat(table)
    channels = Counter(e.channel for e in episodes)
    negatives = sum(e.negative_messages for e in episodes)
    lines += [
        f"Period:            {top.first_day} to {top.last_day}",
        f"Episodes:          {top.episodes:,} in {top.conversations:,} conversations of {top.customers:,} known "
        f"customers ({', '.join(f'{name} {count:,}' for name, count in channels.most_common())})",
        f"Contained:         {contain.contained:,} ({_percent(contain.contained_share)}) resolved by the bot "
        f"with no re-contact within 24 h",
        f"Escalations:       {contain.escalated:,} ({_percent(contain.escalation_rate)}), "
        f"{sum(e.live_handover for e in episodes):,} answered live in the chat; reasons: "
        + (", ".join(f"{reason} {count:,}" for reason, count in contain.reasons.items()) or "-"),
        f"Re-contacts (24 h): {contain.recontact:,} ({_percent(contain.recontact_share)})",
        f"Agent times:       first response median {_duration(top.first_response_median)}, "
        f"p90 {_duration(top.first_response_p90)}; resolution median {_duration(top.resolution_median)}, "
        f"p90 {_duration(top.resolution_p90)} (support hours)",
        f"CSAT:              bot-resolved {_rating(ratings.bot.mean)} ({ratings.bot.answered:,} ratings), "
        f"agent-resolved {_rating(ratings.agent.mean)} ({ratings.agent.answered:,}); "
        f"response rate {_percent(top.csat_response_rate)}",
        f"Sentiment:         {_percent(top.share_negative)} of episodes negative, {negatives:,} negative messages; "
        f"mean start->end change {top.mean_sentiment_change if top.mean_sentiment_change is not None else '-'}",
    ]
    return lines
