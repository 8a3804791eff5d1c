"""The admins' reports' tables: conversation episodes, negative messages, the last rebuild, and the
CRM facts the derivation and the at-risk list need.

The episode table is derived (``caredesk report rebuild``, caredesk/reports.py) and replaced
wholesale; the reports read it back as :class:`~crm_store.scoring.episodes.Episode` values. Reads
are Core selects of plain columns turned straight into the frozen dataclasses (no ORM objects): a
year of a busy shop is a few hundred thousand rows and a report page must not wait for them.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from crm_store import models
from crm_store.scoring.episodes import (
    EPISODE_FIELDS,
    NEGATIVE_FIELDS,
    Episode,
    FeedbackFacts,
    NegativeMessage,
    TicketFacts,
    mark_recontacts,
)
from crm_store.unit_of_work import UnitOfWork

INSERT_BATCH = 5_000
BUILD_ROW = 1
_FLAGS = ("escalated", "live_handover", "csat_asked", "recontact_24h", "contained")


@dataclass(frozen=True)
class BuildInfo:
    """When the report tables were last rebuilt, and from what."""

    built_at: datetime
    events_read: int
    episodes: int
    negative_messages: int


@dataclass(frozen=True)
class PersonalDetails:
    """Who an at-risk customer is: shown to admins only, dropped for everyone else."""

    name: str
    email: str


@dataclass(frozen=True)
class AtRisk:
    """A customer the churn model worries about, with their value and their recent contact."""

    customer_id: int
    churn_score: float
    churn_reasons: tuple[str, ...]
    lifetime_value_cents: int
    last_contact: datetime | None  # start of their latest episode
    episodes: int
    personal: PersonalDetails | None = None

    def without_personal_data(self) -> AtRisk:
        return replace(self, personal=None)


# ---- writing ------------------------------------------------------------------------------------


def _batches(rows: Iterable[dict], size: int = INSERT_BATCH) -> Iterable[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _episode_rows(episodes: Iterable[Episode]) -> Iterable[dict]:
    for episode in episodes:
        row = dict(episode.__dict__)
        row["intents"] = list(episode.intents)
        yield row


def _negative_rows(negatives: Iterable[NegativeMessage], topics: dict[tuple[str, int], str | None]) -> Iterable[dict]:
    for message in negatives:
        row = dict(message.__dict__)
        row["topic_intent"] = topics.get((message.conversation_id, message.number))
        yield row


def replace_all(episodes: Sequence[Episode], negatives: Sequence[NegativeMessage], uow: UnitOfWork, *,
                built_at: datetime, events_read: int) -> BuildInfo:
    """Replace the report tables' contents with these rows in one transaction (readers see the old
    table or the new one, never half of each) and record the build."""
    episode_table = models.ReportEpisode.__table__
    negative_table = models.ReportNegativeMessage.__table__
    topics = {(e.conversation_id, e.number): e.topic_intent for e in episodes}
    info = BuildInfo(built_at, events_read, len(episodes), len(negatives))
    with uow:
        session = uow.session
        session.execute(delete(negative_table))
        session.execute(delete(episode_table))
        for batch in _batches(_episode_rows(episodes)):
            session.execute(insert(episode_table), batch)
        for batch in _batches(_negative_rows(negatives, topics)):
            session.execute(insert(negative_table), batch)
        session.execute(delete(models.ReportBuild.__table__))
        session.execute(insert(models.ReportBuild.__table__), [{"id": BUILD_ROW, **info.__dict__}])
        uow.commit()
    return info


def replace_conversations(conversation_ids: Sequence[str], episodes: Sequence[Episode],
                          negatives: Sequence[NegativeMessage], uow: UnitOfWork, *, built_at: datetime,
                          new_events: int) -> BuildInfo:
    """The incremental form of :func:`replace_all` (the report consumer's, as conversations go on):
    these conversations' rows are replaced by ``episodes`` and ``negatives`` (derived again from
    each conversation's whole stored history), and the re-contact flags of their customers' other
    episodes are worked out again with them, in one transaction. The build row keeps the totals
    (``new_events``: the events stored since the last update)."""
    e, n, b = models.ReportEpisode.__table__, models.ReportNegativeMessage.__table__, models.ReportBuild.__table__
    ids = list(dict.fromkeys(conversation_ids))
    customers = sorted({episode.customer_id for episode in episodes if episode.customer_id is not None})
    with uow:
        session = uow.session
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            session.execute(delete(n).where(n.c.conversation_id.in_(chunk)))
            session.execute(delete(e).where(e.c.conversation_id.in_(chunk)))
        others: list[Episode] = []
        if customers:
            rows = _raw_rows(uow, select(*(e.c[name] for name in EPISODE_FIELDS)).where(e.c.customer_id.in_(customers)))
            others = _typed(Episode, EPISODE_FIELDS, rows, times=("started_at", "ended_at"), flags=_FLAGS,
                            intents="intents")
        marked = mark_recontacts([*others, *episodes])
        for before, after in zip(others, marked[:len(others)], strict=True):
            if (before.recontact_24h, before.contained) != (after.recontact_24h, after.contained):
                session.execute(update(e).where(e.c.conversation_id == after.conversation_id,
                                                e.c.number == after.number)
                                .values(recontact_24h=after.recontact_24h, contained=after.contained))
        fresh = marked[len(others):]
        topics = {(x.conversation_id, x.number): x.topic_intent for x in fresh}
        for batch in _batches(_episode_rows(fresh)):
            session.execute(insert(e), batch)
        for batch in _batches(_negative_rows(negatives, topics)):
            session.execute(insert(n), batch)
        episode_count = session.execute(select(func.count()).select_from(e)).scalar_one()
        negative_count = session.execute(select(func.count()).select_from(n)).scalar_one()
        read_before = session.execute(select(b.c.events_read).where(b.c.id == BUILD_ROW)).scalar_one_or_none()
        info = BuildInfo(built_at, (read_before or 0) + new_events, episode_count, negative_count)
        session.execute(delete(b))
        session.execute(insert(b), [{"id": BUILD_ROW, **info.__dict__}])
        uow.commit()
    return info


# ---- reading ------------------------------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min)


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Building a hundred thousand objects triggers the cyclic collector over and over, scanning
    everything made so far (~15 % of a load); none of them form cycles, so it waits until the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _raw_rows(uow: UnitOfWork, query) -> list[tuple]:
    """The rows as the database driver returns them, skipping SQLAlchemy's per-value processing:
    that costs more than the query on a hundred thousand rows. What the drivers leave undone
    (SQLite's date-times as ISO text, booleans as 0/1, JSON as text) :func:`_typed` does, faster."""
    result = uow.session.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _filtered(query, table, when_column: str, since: date | None, until: date | None, channel: str | None,
              intent: str | None):
    if since is not None:
        query = query.where(table.c[when_column] >= _day_start(since))
    if until is not None:
        query = query.where(table.c[when_column] < _day_start(until + timedelta(days=1)))
    if channel:
        query = query.where(table.c.channel == channel)
    if intent:
        query = query.where(table.c.topic_intent == intent)
    return query


def _typed(cls, names: Sequence[str], rows: Iterable[Sequence], *, times: Sequence[str],
           flags: Sequence[str] = (), intents: str | None = None) -> list:
    """Frozen dataclasses from raw rows, built without the generated ``__init__`` (which sets every
    field through ``object.__setattr__``): the rows are the table's own, so only the driver's
    representation needs fixing. Intents' JSON is decoded once per distinct list (there are few)."""
    time_at = [names.index(name) for name in times]
    flag_at = [names.index(name) for name in flags]
    intents_at = names.index(intents) if intents else -1
    decoded: dict[Any, tuple[str, ...]] = {}
    parse, new, made = datetime.fromisoformat, object.__new__, []
    for row in rows:
        values = list(row)
        for position in time_at:
            if isinstance(values[position], str):
                values[position] = parse(values[position])
        for position in flag_at:
            values[position] = bool(values[position])
        if intents_at >= 0:
            stored = values[intents_at]
            if isinstance(stored, list):  # PostgreSQL's driver decodes JSON itself
                values[intents_at] = tuple(stored)
            else:
                found = decoded.get(stored)
                if found is None:
                    found = decoded[stored] = _intents(stored)
                values[intents_at] = found
        item = new(cls)
        item.__dict__.update(zip(names, values, strict=True))
        made.append(item)
    return made


def _intents(stored: Any) -> tuple[str, ...]:
    if isinstance(stored, (bytes, str)):
        stored = json.loads(stored)
    return tuple(stored or ())


def load_episodes(uow: UnitOfWork, *, since: date | None = None, until: date | None = None,
                  channel: str | None = None, intent: str | None = None) -> list[Episode]:
    """Episodes that started between ``since`` and ``until`` (whole days, both included), of one
    channel and one topic intent if given, in order of their start."""
    table = models.ReportEpisode.__table__
    query = select(*(table.c[name] for name in EPISODE_FIELDS))
    query = _filtered(query, table, "started_at", since, until, channel, intent).order_by(
        table.c.started_at, table.c.id)
    with uow, _no_gc_pauses():
        rows = _raw_rows(uow, query)
        return _typed(Episode, EPISODE_FIELDS, rows, times=("started_at", "ended_at"), flags=_FLAGS,
                      intents="intents")


def load_negative_messages(uow: UnitOfWork, *, since: date | None = None, until: date | None = None,
                           channel: str | None = None, intent: str | None = None) -> list[NegativeMessage]:
    """Negative customer messages written between ``since`` and ``until`` (whole days), on one
    channel, in episodes of one topic intent (the episode's, as :func:`load_episodes` filters)."""
    table = models.ReportNegativeMessage.__table__
    query = select(*(table.c[name] for name in NEGATIVE_FIELDS))
    query = _filtered(query, table, "at", since, until, channel, intent).order_by(table.c.at, table.c.id)
    with uow, _no_gc_pauses():
        rows = _raw_rows(uow, query)
        return _typed(NegativeMessage, NEGATIVE_FIELDS, rows, times=("at",))


def last_build(uow: UnitOfWork) -> BuildInfo | None:
    """The last rebuild, or None if the tables were never built."""
    table = models.ReportBuild.__table__
    with uow:
        row = uow.session.execute(select(table.c.built_at, table.c.events_read, table.c.episodes,
                                         table.c.negative_messages).where(table.c.id == BUILD_ROW)).first()
        return BuildInfo(*row) if row else None


def tickets_and_feedback(uow: UnitOfWork, conversation_ids: Sequence[str] | None = None,
                         ) -> tuple[dict[str, list[TicketFacts]], dict[str, list[FeedbackFacts]]]:
    """The CRM's tickets and ratings that belong to a conversation (to one of ``conversation_ids``
    if given), by conversation id, oldest first."""
    t, f = models.Ticket.__table__, models.Feedback.__table__
    tickets: dict[str, list[TicketFacts]] = {}
    feedback: dict[str, list[FeedbackFacts]] = {}
    ticket_filter = t.c.conversation_id.is_not(None)
    feedback_filter = f.c.conversation_id.is_not(None)
    if conversation_ids is not None:
        ticket_filter = t.c.conversation_id.in_(list(conversation_ids))
        feedback_filter = f.c.conversation_id.in_(list(conversation_ids))
    with uow:
        for row in uow.session.execute(
                select(t.c.conversation_id, t.c.id, t.c.created_at, t.c.reason, t.c.assignee,
                       t.c.first_response_at, t.c.closed_at, t.c.customer_id, t.c.card)
                .where(ticket_filter).order_by(t.c.created_at, t.c.id)):
            conversation, ticket_id, created, reason, assignee, answered, closed, customer, card = row
            tickets.setdefault(conversation, []).append(TicketFacts(
                ticket_id, created, reason, assignee, answered, closed, customer, rules=_card_rules(card)))
        for row in uow.session.execute(
                select(f.c.conversation_id, f.c.csat, f.c.created_at, f.c.customer_id)
                .where(feedback_filter).order_by(f.c.created_at, f.c.id)):
            feedback.setdefault(row[0], []).append(FeedbackFacts(*row[1:]))
    return tickets, feedback


def _card_rules(card: Any) -> tuple[str, ...]:
    """The escalation rules a hand-over card lists (JSON text or already decoded)."""
    if isinstance(card, str):
        try:
            card = json.loads(card)
        except ValueError:
            return ()
    rules = card.get("reasons") if isinstance(card, dict) else None
    return tuple(str(rule) for rule in rules) if isinstance(rules, list) else ()


def at_risk_customers(uow: UnitOfWork, *, limit: int = 50, min_score: float | None = None) -> list[AtRisk]:
    """Customers with the highest churn score first (those who asked to be forgotten left out),
    with lifetime spend (orders not cancelled, as accounts.account_in counts it) and their latest
    contact by the episode table. Personal details are in ``personal``; callers that may not show
    them use :meth:`AtRisk.without_personal_data`."""
    c, o, e = models.Customer.__table__, models.Order.__table__, models.ReportEpisode.__table__
    spend = (select(o.c.customer_id, func.sum(o.c.total_cents).label("spent"))
             .where(o.c.status != "cancelled").group_by(o.c.customer_id).subquery())
    contact = (select(e.c.customer_id, func.max(e.c.started_at).label("last_contact"),
                      func.count().label("episodes"))
               .where(e.c.customer_id.is_not(None)).group_by(e.c.customer_id).subquery())
    query = (select(c.c.id, c.c.churn_score, c.c.churn_reasons, func.coalesce(spend.c.spent, 0),
                    contact.c.last_contact, func.coalesce(contact.c.episodes, 0), c.c.name, c.c.email)
             .outerjoin(spend, spend.c.customer_id == c.c.id)
             .outerjoin(contact, contact.c.customer_id == c.c.id)
             .where(c.c.churn_score.is_not(None), c.c.deletion_requested_at.is_(None))
             .order_by(c.c.churn_score.desc(), c.c.id).limit(max(1, limit)))
    if min_score is not None:
        query = query.where(c.c.churn_score >= min_score)
    with uow:
        rows = uow.session.execute(query).all()
    return [AtRisk(customer_id=row[0], churn_score=float(row[1]), churn_reasons=tuple(row[2] or ()),
                   lifetime_value_cents=int(row[3]), last_contact=_as_datetime(row[4]), episodes=int(row[5]),
                   personal=PersonalDetails(name=row[6], email=row[7])) for row in rows]


def customer_names(uow: UnitOfWork, customer_ids: Iterable[int]) -> dict[int, str]:
    """The CRM names of these customers (forgotten ones hold none), for callers that must take
    them out of text shown without personal data."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    with uow:
        rows = uow.session.execute(select(models.Customer.id, models.Customer.name)
                                   .where(models.Customer.id.in_(wanted))).all()
    return {customer_id: name for customer_id, name in rows if name}


def _as_datetime(value: Any) -> datetime | None:
    """``max()`` over a DateTime column comes back as text on SQLite (the aggregate loses the type)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def drop_report_rows(session: Session, conversation_ids: Iterable[str], customer_id: int | None = None) -> int:
    """Inside an open transaction (e.g. forgetting a customer): delete the report rows of these
    conversations and of this customer's episodes, with the negative messages of their
    conversations. Returns the episodes removed."""
    ids = list(dict.fromkeys(conversation_ids))
    e, n = models.ReportEpisode.__table__, models.ReportNegativeMessage.__table__
    removed = negatives = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        negatives += session.execute(delete(n).where(n.c.conversation_id.in_(chunk))).rowcount or 0
        removed += session.execute(delete(e).where(e.c.conversation_id.in_(chunk))).rowcount or 0
    if customer_id is not None:
        own = select(e.c.conversation_id).where(e.c.customer_id == customer_id)
        negatives += session.execute(delete(n).where(n.c.conversation_id.in_(own))).rowcount or 0
        removed += session.execute(delete(e).where(e.c.customer_id == customer_id)).rowcount or 0
    if removed or negatives:
        # The build row's counts change with them, and the console keys its caches on that row, so
        # cached figures that still held these conversations are not served again.
        b = models.ReportBuild.__table__
        session.execute(update(b).where(b.c.id == BUILD_ROW).values(
            episodes=b.c.episodes - removed, negative_messages=b.c.negative_messages - negatives))
    return removed


def forget_conversations(uow: UnitOfWork, conversation_ids: Iterable[str], customer_id: int | None = None) -> int:
    """Drop the report rows of erased conversations (and of a forgotten customer) and commit, so a
    customer forgotten between two rebuilds is gone from the reports at once. Returns the episodes
    removed."""
    with uow:
        removed = drop_report_rows(uow.session, conversation_ids, customer_id)
        uow.commit()
    return removed
