"""Conversation episodes: one row per session of a stored conversation, the admins' reports' unit.

An *episode* is one Rasa session (events between two ``action_session_start`` actions) in which
the customer wrote at least one message. :func:`derive` turns one conversation's stored events
(Rasa event dicts as the tracker store keeps them: redacted, timestamps as unix floats) plus the
CRM's tickets and ratings for that conversation into episodes and the negative messages in them.
:func:`mark_recontacts` is a second pass over *all* episodes, because whether a customer came back
within a day depends on their other conversations (a web chat answered by a Telegram message).

Pure: plain dicts and dataclasses in, frozen dataclasses out (no database, no Rasa), so the
derivation is tested on hand-built events and the table can be rebuilt from scratch at any time.

Times are naive UTC throughout. Agent response and resolution times count only the shop's support
hours (:class:`SupportHours`): a ticket opened on Friday evening and answered on Monday at 09:10
was answered in ten minutes of working time, which is what a staffing report needs.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

# The input channels' names (bot/channels/*.py ``name()``) and the report's name for each.
CHANNELS = {
    "caredesk_web": "web",
    "caredesk_telegram": "telegram",
    "rest": "rest",
    "caredesk_rest": "rest",
    "callback": "rest",  # the REST integration's asynchronous flavour (bot/channels/rest.py)
}
OTHER_CHANNEL = "other"
# Intents that are conversation, not a request: an episode's topic is its first intent not in here.
NOT_A_TOPIC = frozenset({
    "greet", "goodbye", "affirm", "deny", "thank_you", "thank", "thanks", "inform", "bot_challenge",
    "nlu_fallback", "out_of_scope", "chitchat", "mood_great", "mood_unhappy",
})
EXTERNAL_PREFIX = "EXTERNAL_"  # intents the console triggers (EXTERNAL_agent_resolved): nobody typed them
EXTERNAL_TEXT = "EXTERNAL: "  # Rasa's text for such a message
SESSION_START = "action_session_start"
SESSION_METADATA_SLOT = "session_started_metadata"  # Rasa copies a session's first metadata here
CSAT_QUESTIONS = ("utter_ask_csat", "utter_offer_csat")  # the form's question, the one-tap offer
TICKET_SLOT = "escalated_ticket"
AUTOMATIC_REASON = "escalated"  # a ticket the escalation rules opened (the card lists which fired)
RECONTACT_WINDOW = timedelta(hours=24)
FEEDBACK_GRACE = timedelta(hours=24)  # a rating given after the session's last event still belongs to it
CLOCK_SKEW = timedelta(seconds=2)  # CRM rows are stamped to the second, events to the microsecond


@dataclass(frozen=True)
class Episode:
    """One session of a conversation in which the customer wrote something."""

    conversation_id: str          # Rasa sender_id
    number: int                   # 1-based session number within the conversation (empty sessions count)
    channel: str                  # "web" | "telegram" | "rest" | "other"
    customer_id: int | None       # from user-event metadata identity.cid, else the ticket or rating
    started_at: datetime          # naive UTC, first event of the session
    ended_at: datetime            # naive UTC, last event of the session
    user_messages: int
    intents: tuple[str, ...]      # distinct user intents in order of first appearance
    topic_intent: str | None      # first intent that is a request; None if none
    sentiment_start: float | None  # compound score of the first user message with a sentiment
    sentiment_end: float | None   # ... of the last
    sentiment_min: float | None
    negative_messages: int        # user messages labelled negative
    escalated: bool               # a ticket was opened for this conversation during the episode
    live_handover: bool           # an agent answered in the chat (bot event with metadata.agent)
    escalation_reason: str | None  # ticket.reason; for automatic escalations the rule that fired
    ticket_id: int | None
    agent: str | None             # ticket.assignee (or the agent who answered)
    first_response_seconds: float | None  # ticket created -> first agent response, within support hours
    resolution_seconds: float | None      # ticket created -> ticket closed, within support hours
    resolved_by: str              # "bot" (not escalated) | "agent" (ticket closed) | "open"
    csat: int | None              # the rating given during or just after the episode (1-5)
    csat_asked: bool              # the bot asked for a rating in this episode
    recontact_24h: bool           # the customer (or, if anonymous, the conversation) came back within 24h
    contained: bool               # resolved_by == "bot" and not recontact_24h


@dataclass(frozen=True)
class NegativeMessage:
    """One customer message labelled negative (its text already redacted by the tracker store)."""

    conversation_id: str
    number: int                   # episode number
    at: datetime
    text: str
    intent: str | None
    score: float
    channel: str


EPISODE_FIELDS = tuple(f.name for f in dataclasses.fields(Episode))
NEGATIVE_FIELDS = tuple(f.name for f in dataclasses.fields(NegativeMessage))


@dataclass(frozen=True)
class TicketFacts:
    """What an episode needs to know of a CRM ticket."""

    id: int
    created_at: datetime
    reason: str | None = None
    assignee: str | None = None
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    customer_id: int | None = None
    rules: tuple[str, ...] = ()  # the escalation rules that fired, from the hand-over card

    @property
    def report_reason(self) -> str | None:
        """What the report calls the escalation: the ticket's reason, except that an automatic one
        ("escalated") says which rule fired ("very negative message", "insult", ...)."""
        if self.reason == AUTOMATIC_REASON and self.rules:
            return self.rules[0]
        return self.reason


@dataclass(frozen=True)
class FeedbackFacts:
    """What an episode needs to know of a rating left in a conversation."""

    csat: int | None
    created_at: datetime
    customer_id: int | None = None


class LiveHoursPolicy(Protocol):
    """The part of the shop policy (crm_store.policy.ShopPolicy) that says when agents work."""

    @property
    def live_days(self) -> tuple[int, ...]: ...

    @property
    def live_from_hour(self) -> int: ...

    @property
    def live_until_hour(self) -> int: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True)
class SupportHours:
    """When agents work: weekdays (Monday = 0) and hours in the shop's time zone."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    from_hour: int = 9
    until_hour: int = 18
    timezone: str = "Europe/Berlin"

    @classmethod
    def from_policy(cls, policy: LiveHoursPolicy) -> SupportHours:
        return cls(tuple(policy.live_days), policy.live_from_hour, policy.live_until_hour, policy.timezone)


# ---- business time --------------------------------------------------------------------------------


def _to_utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).date()


def _opening(day: date, hours: SupportHours, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The day's support window in naive UTC (time-zone rules, summer time included, applied)."""
    opens = datetime(day.year, day.month, day.day, hours.from_hour, tzinfo=zone)
    closing_day = day + timedelta(days=hours.until_hour // 24)
    closes = datetime(closing_day.year, closing_day.month, closing_day.day, hours.until_hour % 24, tzinfo=zone)
    return _to_utc(opens), _to_utc(closes)


def support_seconds(start: datetime, end: datetime, hours: SupportHours) -> float:
    """Seconds between ``start`` and ``end`` (naive UTC) that fall inside the support hours."""
    if end <= start or not hours.days or hours.until_hour <= hours.from_hour:
        return 0.0
    zone = ZoneInfo(hours.timezone)
    day, last = _local_date(start, zone), _local_date(end, zone)
    total = 0.0
    while day <= last:
        if day.weekday() in hours.days:
            opens, closes = _opening(day, hours, zone)
            overlap = (min(end, closes) - max(start, opens)).total_seconds()
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return total


# ---- one conversation -----------------------------------------------------------------------------


def split_sessions(events: Sequence[dict]) -> list[list[dict]]:
    """The conversation's sessions in order: a new one at each ``action_session_start``. Events
    before the first session start (conversations stored before sessions existed) form a session
    of their own. Empty sessions are kept so that an episode's number points at its transcript.

    Given message metadata, Rasa sets the ``session_started_metadata`` slot just *before* it runs
    ``action_session_start``, so that slot opens the new session rather than ending the last one
    (or, before the first session start, forming a session of its own)."""
    sessions: list[list[dict]] = []
    current: list[dict] | None = None
    for event in events:
        starts = event.get("event") == "action" and event.get("name") == SESSION_START
        if starts or current is None:
            opening: list[dict] = []
            while starts and current and _is_metadata_slot(current[-1]):
                opening.insert(0, current.pop())
            if starts and current == []:  # the slot was all there was before this session start
                sessions.pop()
            current = [*opening, event]
            sessions.append(current)
        else:
            current.append(event)
    return sessions


def _is_metadata_slot(event: dict) -> bool:
    return event.get("event") == "slot" and event.get("name") == SESSION_METADATA_SLOT


def _utc(timestamp: float) -> datetime:
    return datetime.utcfromtimestamp(timestamp)


def _intent(event: dict) -> str | None:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else None


def _is_customer_message(event: dict) -> bool:
    """A message the customer wrote (not one the console triggered as an external intent)."""
    if event.get("event") != "user":
        return False
    intent = _intent(event) or ""
    text = event.get("text")
    return not intent.startswith(EXTERNAL_PREFIX) and not (isinstance(text, str) and text.startswith(EXTERNAL_TEXT))


def _sentiment(event: dict) -> tuple[str, float] | None:
    found = (event.get("parse_data") or {}).get("sentiment")
    if not isinstance(found, dict):
        return None
    score = found.get("score")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or math.isnan(score):
        return None
    return str(found.get("label") or ""), float(score)


def _customer_of(event: dict) -> int | None:
    for metadata in (event.get("metadata"), (event.get("parse_data") or {}).get("metadata")):
        identity = metadata.get("identity") if isinstance(metadata, dict) else None
        cid = identity.get("cid") if isinstance(identity, dict) else None
        if isinstance(cid, int) and not isinstance(cid, bool):
            return cid
    return None


def channel_name(input_channel: Any) -> str:
    """The report's channel for a Rasa input channel name."""
    return CHANNELS.get(input_channel, OTHER_CHANNEL) if isinstance(input_channel, str) else OTHER_CHANNEL


def _topic(intents: Iterable[str]) -> str | None:
    for intent in intents:
        if intent not in NOT_A_TOPIC and not intent.startswith("mood_"):
            return intent
    return None


@dataclass
class _Session:
    """What one session's events say, gathered in one pass."""

    started_at: datetime
    ended_at: datetime
    channel: str = OTHER_CHANNEL
    customer_id: int | None = None
    user_messages: int = 0
    intents: list[str] = dataclasses.field(default_factory=list)
    scores: list[float] = dataclasses.field(default_factory=list)
    negatives: list[tuple[datetime, str, str | None, float]] = dataclasses.field(default_factory=list)
    ticket_ids: list[int] = dataclasses.field(default_factory=list)
    agent_replies: list[tuple[datetime, str]] = dataclasses.field(default_factory=list)
    resumed: bool = False
    csat_asked: bool = False


def _ticket_id(value: Any) -> int | None:
    try:
        return int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        return None


def _read_user(event: dict, found: _Session) -> None:
    found.user_messages += 1
    if found.user_messages == 1 or found.channel == OTHER_CHANNEL:
        found.channel = channel_name(event.get("input_channel"))
    if found.customer_id is None:
        found.customer_id = _customer_of(event)
    intent = _intent(event)
    if intent and intent not in found.intents:
        found.intents.append(intent)
    sentiment = _sentiment(event)
    if sentiment is not None:
        label, score = sentiment
        found.scores.append(score)
        if label == "negative":
            text = event.get("text")
            found.negatives.append((_utc(event["timestamp"]), text if isinstance(text, str) else "", intent, score))


def _read_other(event: dict, found: _Session) -> None:
    kind = event.get("event")
    if kind == "bot":
        metadata = event.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        agent = metadata.get("agent")
        if isinstance(agent, str) and agent and isinstance(event.get("timestamp"), (int, float)):
            found.agent_replies.append((_utc(event["timestamp"]), agent))
        if metadata.get("utter_action") in CSAT_QUESTIONS:
            found.csat_asked = True
    elif kind == "slot":
        if event.get("name") == TICKET_SLOT and event.get("value"):
            ticket = _ticket_id(event["value"])
            if ticket is not None and ticket not in found.ticket_ids:
                found.ticket_ids.append(ticket)
        elif event.get("name") == "requested_slot" and event.get("value") == "csat":
            found.csat_asked = True
    elif kind == "resume":
        found.resumed = True


def _read_session(events: Sequence[dict]) -> _Session | None:
    """The session's facts, or None if the customer wrote nothing in it."""
    stamps = [e["timestamp"] for e in events if isinstance(e.get("timestamp"), (int, float))]
    if not stamps:
        return None
    found = _Session(_utc(min(stamps)), _utc(max(stamps)))
    for event in events:
        if _is_customer_message(event) and isinstance(event.get("timestamp"), (int, float)):
            _read_user(event, found)
        else:
            _read_other(event, found)
    return found if found.user_messages else None


def _window_ticket(found: _Session, until: datetime | None, tickets: Sequence[TicketFacts]) -> TicketFacts | None:
    """The ticket the session opened: the one its hand-over slot names, else the first one the CRM
    opened for this conversation between the session's start and the next session's."""
    by_id = {t.id: t for t in tickets}
    for ticket_id in found.ticket_ids:
        if ticket_id in by_id:
            return by_id[ticket_id]
    inside = [t for t in tickets
              if found.started_at - CLOCK_SKEW <= t.created_at and (until is None or t.created_at < until)]
    return min(inside, key=lambda t: (t.created_at, t.id)) if inside else None


def _window_feedback(found: _Session, until: datetime | None,
                     feedback: Sequence[FeedbackFacts]) -> FeedbackFacts | None:
    latest = found.ended_at + FEEDBACK_GRACE
    if until is not None:
        latest = min(latest, until)
    inside = [f for f in feedback if f.csat is not None and found.started_at - CLOCK_SKEW <= f.created_at < latest]
    return min(inside, key=lambda f: f.created_at) if inside else None


def _agent_times(ticket: TicketFacts | None, found: _Session,
                 hours: SupportHours) -> tuple[float | None, float | None]:
    if ticket is None:
        return None, None
    first = ticket.first_response_at
    if first is None:
        first = next((at for at, _ in found.agent_replies if at >= ticket.created_at - CLOCK_SKEW), None)
    response = support_seconds(ticket.created_at, first, hours) if first is not None else None
    resolution = support_seconds(ticket.created_at, ticket.closed_at, hours) if ticket.closed_at else None
    return response, resolution


def _resolved_by(ticket: TicketFacts | None, found: _Session) -> str:
    if ticket is not None:
        return "agent" if ticket.closed_at is not None else "open"
    if found.agent_replies:  # an agent took over with no ticket on record: handed back means solved
        return "agent" if found.resumed else "open"
    return "bot"


def _episode(conversation_id: str, number: int, found: _Session, ticket: TicketFacts | None,
             rating: FeedbackFacts | None, hours: SupportHours) -> Episode:
    response, resolution = _agent_times(ticket, found, hours)
    resolved_by = _resolved_by(ticket, found)
    customer_id = found.customer_id
    if customer_id is None:
        customer_id = (ticket.customer_id if ticket else None) or (rating.customer_id if rating else None)
    agent = (ticket.assignee if ticket else None) or (found.agent_replies[0][1] if found.agent_replies else None)
    return Episode(
        conversation_id=conversation_id, number=number, channel=found.channel, customer_id=customer_id,
        started_at=found.started_at, ended_at=found.ended_at, user_messages=found.user_messages,
        intents=tuple(found.intents), topic_intent=_topic(found.intents),
        sentiment_start=found.scores[0] if found.scores else None,
        sentiment_end=found.scores[-1] if found.scores else None,
        sentiment_min=min(found.scores) if found.scores else None,
        negative_messages=len(found.negatives), escalated=ticket is not None,
        live_handover=bool(found.agent_replies), escalation_reason=ticket.report_reason if ticket else None,
        ticket_id=ticket.id if ticket else None, agent=agent, first_response_seconds=response,
        resolution_seconds=resolution, resolved_by=resolved_by, csat=rating.csat if rating else None,
        csat_asked=found.csat_asked or rating is not None, recontact_24h=False, contained=resolved_by == "bot",
    )


def _session_start(events: Sequence[dict]) -> datetime | None:
    stamps = [e["timestamp"] for e in events if isinstance(e.get("timestamp"), (int, float))]
    return _utc(min(stamps)) if stamps else None


def derive(conversation_id: str, events: Sequence[dict], tickets: Sequence[TicketFacts],
           feedback: Sequence[FeedbackFacts], hours: SupportHours) -> tuple[list[Episode], list[NegativeMessage]]:
    """The episodes of one conversation and the negative customer messages in them.

    ``events``: the conversation's stored events in order; ``tickets``/``feedback``: the CRM's rows
    for this conversation id. Re-contacts are not known here (see :func:`mark_recontacts`): every
    episode comes back with ``recontact_24h=False`` and ``contained`` as if nobody came back."""
    sessions = split_sessions(events)
    starts = [_session_start(session) for session in sessions]
    episodes: list[Episode] = []
    negatives: list[NegativeMessage] = []
    for index, session in enumerate(sessions):
        found = _read_session(session)
        if found is None:
            continue
        until = next((start for start in starts[index + 1:] if start is not None), None)
        ticket = _window_ticket(found, until, tickets)
        rating = _window_feedback(found, until, feedback)
        episode = _episode(conversation_id, index + 1, found, ticket, rating, hours)
        episodes.append(episode)
        negatives += [NegativeMessage(conversation_id, index + 1, at, text, intent, score, found.channel)
                      for at, text, intent, score in found.negatives]
    return episodes, negatives


# ---- across conversations -------------------------------------------------------------------------


def _next_start(starts: list[datetime], after: datetime) -> datetime | None:
    position = bisect.bisect_right(starts, after)
    return starts[position] if position < len(starts) else None


def mark_recontacts(episodes: Sequence[Episode]) -> list[Episode]:
    """The episodes with ``recontact_24h`` and ``contained`` set: an episode is followed by a
    re-contact when another episode of the same customer (any conversation, any channel) or of the
    same conversation (how an anonymous visitor is recognised) starts after it started and no later
    than 24 hours after it ended. Order is kept."""
    by_customer: dict[int, list[datetime]] = {}
    by_conversation: dict[str, list[datetime]] = {}
    for episode in episodes:
        if episode.customer_id is not None:
            by_customer.setdefault(episode.customer_id, []).append(episode.started_at)
        by_conversation.setdefault(episode.conversation_id, []).append(episode.started_at)
    for starts in (*by_customer.values(), *by_conversation.values()):
        starts.sort()
    marked = []
    for episode in episodes:
        candidates = [_next_start(by_conversation[episode.conversation_id], episode.started_at)]
        if episode.customer_id is not None:
            candidates.append(_next_start(by_customer[episode.customer_id], episode.started_at))
        deadline = episode.ended_at + RECONTACT_WINDOW
        recontact = any(start is not None and start <= deadline for start in candidates)
        contained = episode.resolved_by == "bot" and not recontact
        if recontact != episode.recontact_24h or contained != episode.contained:
            episode = dataclasses.replace(episode, recontact_24h=recontact, contained=contained)
        marked.append(episode)
    return marked
