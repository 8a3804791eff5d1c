"""The admins' report as plain, JSON-friendly data: figures (plotly figure dicts) and tables.

One function, :func:`build_report`, turns filters into the whole report, so the console's
``/reports`` page, its CSV exports and the self-contained HTML file (caredesk/report_html.py)
show the same numbers. It reads the rebuilt episodes through ``crm_store.services.reports`` and
computes with the pure metrics of ``crm_store.scoring``; nothing here touches a database session.

The computed figures are cached in this process, keyed by the filters and the stamp of the last
``caredesk report rebuild`` (a rebuild changes the stamp, so nothing stale is served) and kept for
at most :data:`CACHE_SECONDS` (a customer forgotten between rebuilds leaves the episode table at
once, from another process). A repeated page load or an export after viewing costs one small
query for the stamp and the at-risk list, which is always read live.

Personal data (names, e-mail addresses, phones, postal addresses) appears only for admins. For
analysts the at-risk rows carry the customer id and the churn and value figures only, every
example complaint text is passed through :func:`crm_store.privacy.redact` once more, and so is every
conversation id but a web one (:func:`shown_id`).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.console import report_figures as metrics
from bot.console.report_figures import Computed, Table
from crm_store.privacy import redact
from crm_store.scoring.episodes import channel_name
from crm_store.services import reports, suggestions
from crm_store.unit_of_work import UnitOfWork

CHANNELS = ("web", "telegram", "rest", "other")
DRILL_KEYS = ("day", "channel", "intent", "agent", "reason", "topic", "customer")
INTENT_RE = re.compile(r"^[a-z0-9_]{1,64}$")
NO_VALUE = "(none)"  # how a missing intent, agent or reason is shown and selected
MAX_CACHED_REPORTS = 16
MAX_CACHED_EPISODE_SETS = 2  # 100,000 episodes are ~100 MB of objects: keep few
# A customer forgotten between two rebuilds leaves the episode table at once (another process, the
# stamp unchanged): no cached figure outlives this. The at-risk list is never cached.
CACHE_SECONDS = 300.0
DRILL_LIMIT = 500
AT_RISK_ROWS = 50


class BadFilters(ValueError):
    """A filter in the query string is not a date, a known channel or an intent name."""


@dataclass(frozen=True)
class Filters:
    """What the admin asked to see: a date range (inclusive, UTC days), one channel, one intent."""

    since: date | None = None
    until: date | None = None
    channel: str | None = None
    intent: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        since, until = _day(query.get("since"), "since"), _day(query.get("until"), "until")
        if since and until and since > until:
            raise BadFilters("since is after until")
        channel = (query.get("channel") or "").strip() or None
        if channel is not None and channel not in CHANNELS:
            raise BadFilters(f"channel must be one of {', '.join(CHANNELS)}")
        intent = (query.get("intent") or "").strip() or None
        if intent is not None and not INTENT_RE.match(intent):
            raise BadFilters("intent must be an intent name")
        return cls(since=since, until=until, channel=channel, intent=intent)

    def as_query(self) -> dict[str, str]:
        values = {"since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None,
                  "channel": self.channel, "intent": self.intent}
        return {key: value for key, value in values.items() if value}

    def load_arguments(self) -> dict[str, Any]:
        """Keyword arguments for the episode loaders (whole days, both included)."""
        return {"since": self.since, "until": self.until, "channel": self.channel, "intent": self.intent}


def _day(text: str | None, name: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadFilters(f"{name} must be a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Report:
    filters: Filters
    personal: bool
    built_at: str | None
    episodes: int
    summary: dict[str, Any]
    figures: tuple[dict[str, Any], ...]
    tables: dict[str, Table] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = CHANNELS
    intents: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """What the page's script needs: the figures and the filters the drill-down links keep."""
        return {"figures": list(self.figures), "query": self.filters.as_query()}


@dataclass(frozen=True)
class DrillRow:
    conversation_id: str
    number: int
    started_at: datetime
    channel: str
    intent: str | None
    agent: str | None
    reason: str | None
    sentiment_start: float | None
    sentiment_end: float | None
    resolved_by: str
    contained: bool


# --- caches -------------------------------------------------------------------------------------

class _Lru:
    """A small thread-safe LRU map whose entries expire: reports are built in worker threads.
    Callers asking for the same key at once wait for one build instead of each making their own."""

    def __init__(self, size: int, seconds: float = CACHE_SECONDS):
        self.size, self.seconds, self.lock = size, seconds, threading.Lock()
        self.items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.building: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        found = self.items.get(key)
        if found is None or time.monotonic() - found[0] > self.seconds:
            return False, None
        self.items.move_to_end(key)
        return True, found[1]

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self.lock:
            hit, value = self._fresh(key)
            if hit:
                return value
            building = self.building.setdefault(key, threading.Lock())
        with building:
            with self.lock:
                hit, value = self._fresh(key)
                if hit:
                    return value
            value = make()
            with self.lock:
                self.items[key] = (time.monotonic(), value)
                self.items.move_to_end(key)
                self.building.pop(key, None)
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_COMPUTED = _Lru(MAX_CACHED_REPORTS)
_EPISODES = _Lru(MAX_CACHED_EPISODE_SETS)


def clear_caches() -> None:
    for cache in (_COMPUTED, _EPISODES):
        cache.clear()


def _stamp(database_url: str) -> str:
    """The last rebuild's stamp as a cache key part (a new rebuild is a new key)."""
    return repr(reports.last_build(UnitOfWork(database_url)))


def _episodes(database_url: str, filters: Filters, stamp: str) -> tuple[list, list]:
    def load() -> tuple[list, list]:
        arguments = filters.load_arguments()
        return (reports.load_episodes(UnitOfWork(database_url), **arguments),
                reports.load_negative_messages(UnitOfWork(database_url), **arguments))

    return _EPISODES.get_or_make((database_url, filters, stamp), load)


def _computed(database_url: str, filters: Filters, stamp: str) -> Computed:
    def compute() -> Computed:
        episodes, negatives = _episodes(database_url, filters, stamp)
        return metrics.compute(episodes, negatives, until=filters.until)

    return _COMPUTED.get_or_make((database_url, filters, stamp), compute)


# --- the report ---------------------------------------------------------------------------------

def build_report(database_url: str, filters: Filters, *, personal: bool) -> Report:
    """The whole report for ``filters``; personal data only when ``personal`` (admins)."""
    stamp = _stamp(database_url)
    computed = _computed(database_url, filters, stamp)
    at_risk = reports.at_risk_customers(UnitOfWork(database_url), limit=AT_RISK_ROWS)
    if not personal:
        at_risk = [row.without_personal_data() for row in at_risk]
    names = () if personal else _example_writers(database_url, filters, stamp, computed)
    tables = {table.name: table for table in _tables(computed, _at_risk_table(at_risk, computed.latest_conversation,
                                                                              personal), personal, names)}
    tables["suggestions"] = suggestions_table(database_url, filters)
    last = reports.last_build(UnitOfWork(database_url))
    return Report(filters=filters, personal=personal, built_at=_built_at(last), episodes=computed.summary["episodes"],
                  summary=computed.summary, figures=computed.figures, tables=tables,
                  notes=computed.notes, intents=computed.intents)


FOLLOW_NAMES = {"details": "Details", "more": "More like this", "basket": "Add to basket link"}


def suggestions_table(database_url: str, filters: Filters) -> Table:
    """How often the suggestions shown in chat in the period (and channel) were followed, by how.
    Read live (not cached): follows arrive between rebuilds. Suggestions have no intent."""
    until = None if filters.until is None else datetime.combine(filters.until, datetime.min.time()) + timedelta(days=1)
    since = None if filters.since is None else datetime.combine(filters.since, datetime.min.time())
    counts = [c for c in suggestions.follow_counts(UnitOfWork(database_url), since=since, until=until)
              if filters.channel is None or channel_name(c.channel) == filters.channel]
    shown = sum(c.shown for c in counts)
    by_kind = {kind: sum(c.followed[kind] for c in counts) for kind in suggestions.FOLLOW_KINDS}

    def share(n: int) -> str:
        return f"{n / shown:.1%}" if shown else "-"

    rows = [("shown", shown, "")] if shown else []
    if shown:
        rows += [(FOLLOW_NAMES[kind], n, share(n)) for kind, n in by_kind.items()]
        rows.append(("followed in any way", sum(by_kind.values()), share(sum(by_kind.values()))))
    return Table(name="suggestions", title="Suggestions followed", columns=("suggestions", "count", "share of shown"),
                 rows=tuple(rows))


def warm(database_url: str) -> None:
    """Build the default report (every date, channel and intent) for both kinds of viewer, so the
    first admin to open ``/reports`` after a start or a rebuild does not wait for it."""
    _computed(database_url, Filters(), _stamp(database_url))


def _built_at(last: reports.BuildInfo | None) -> str | None:
    return None if last is None else last.built_at.strftime("%Y-%m-%d %H:%M UTC")


def _tables(computed: Computed, at_risk: Table, personal: bool, names: Sequence[str]) -> Iterable[Table]:
    for table in computed.tables:
        yield _redacted_topics(table, names) if table.name == "topics" and not personal else table
    yield at_risk


def _redacted_topics(table: Table, names: Sequence[str]) -> Table:
    index = table.columns.index("examples")
    rows = tuple(tuple([without_names(redact(str(e)), names) for e in cell]
                       if i == index and isinstance(cell, (list, tuple)) else cell
                       for i, cell in enumerate(row)) for row in table.rows)
    return replace(table, rows=rows)


NAME = "[name]"


def _example_writers(database_url: str, filters: Filters, stamp: str, computed: Computed) -> tuple[str, ...]:
    """The CRM names of the customers who wrote the topics' example messages: a verified customer
    who signs a complaint ("This is Emma Keller, ...") must not be named to analysts. (A name the
    CRM does not hold, or a guest's, is beyond what the redaction can know.)"""
    topics = next((t for t in computed.tables if t.name == "topics"), None)
    if topics is None or not topics.rows:
        return ()
    index = topics.columns.index("examples")
    texts = {str(e) for row in topics.rows for e in (row[index] or ())}
    episodes, negatives = _episodes(database_url, filters, stamp)
    written = {(m.conversation_id, m.number) for m in negatives if m.text in texts}
    customers = {e.customer_id for e in episodes if (e.conversation_id, e.number) in written and e.customer_id}
    return tuple(reports.customer_names(UnitOfWork(database_url), customers).values())


def without_names(text: str, names: Sequence[str]) -> str:
    """``text`` with each of ``names``, whole or any word of it, replaced by ``[name]``."""
    parts = sorted({part for name in names for part in [name, *name.split()] if len(part) > 1}, key=len,
                   reverse=True)
    if not parts or not text:
        return text
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(part) for part in parts) + r")\b", re.IGNORECASE)
    return pattern.sub(NAME, text)


def _at_risk_table(rows: Sequence[reports.AtRisk], latest: Mapping[int, str], personal: bool) -> Table:
    """The churn model's most worried-about customers; names and e-mail addresses for admins only."""
    columns = (("name", "email") if personal else ()) + (
        "customer_id", "churn_score", "reasons", "lifetime_value", "last_contact", "episodes", "latest_conversation")
    out = []
    for row in rows:
        person = (row.personal.name, row.personal.email) if personal and row.personal else ((None, None) if personal
                                                                                             else ())
        out.append(person + (row.customer_id, round(row.churn_score, 3), row.churn_reasons,
                             round(row.lifetime_value_cents / 100, 2), row.last_contact, row.episodes,
                             shown_id(latest.get(row.customer_id), personal)))
    return Table("at_risk", "At-risk customers", columns, tuple(out), link="latest_conversation")


# --- drill-down ---------------------------------------------------------------------------------

def drill(database_url: str, filters: Filters, selection: Mapping[str, str], *,
          limit: int = DRILL_LIMIT, personal: bool = False) -> tuple[list[DrillRow], int]:
    """The episodes behind one chart point or bar: the filtered episodes that match ``selection``
    (``day``, ``channel``, ``intent``, ``agent``, ``reason`` or ``topic``), newest first; conversation
    ids as :func:`shown_id` shows them unless ``personal``."""
    stamp = _stamp(database_url)
    episodes, _ = _episodes(database_url, filters, stamp)
    keep = _selector(selection, _computed(database_url, filters, stamp) if selection.get("topic") else None)
    chosen = sorted((e for e in episodes if keep(e)), key=lambda e: e.started_at, reverse=True)
    return [_drill_row(e, personal) for e in chosen[:limit]], len(chosen)


_ATTRIBUTES = {"channel": "channel", "intent": "topic_intent", "agent": "agent", "reason": "escalation_reason",
               "customer": "customer_id"}


def _wanted(key: str, value: str) -> Any:
    if key == "day":
        return _day(value, "day")
    if key == "customer":
        return _customer_id(value)
    return None if value == NO_VALUE else value


def _value_of(episode: Any, key: str) -> Any:
    if key == "day":
        return episode.started_at.date()
    return getattr(episode, _ATTRIBUTES[key])


def _selector(selection: Mapping[str, str], computed: Computed | None) -> Callable[[Any], bool]:
    """A predicate for the episodes matching every key of ``selection`` (a topic: its messages' episodes)."""
    wanted = {key: _wanted(key, value) for key, value in selection.items()
              if value and (key in _ATTRIBUTES or key == "day")}
    members = None
    if selection.get("topic"):
        members = computed.topic_members.get(selection["topic"], frozenset()) if computed else frozenset()

    def keep(episode: Any) -> bool:
        if members is not None and (episode.conversation_id, episode.number) not in members:
            return False
        return all(_value_of(episode, key) == value for key, value in wanted.items())

    return keep


def _customer_id(text: str) -> int:
    if not text.isdigit():
        raise BadFilters("customer must be a customer id")
    return int(text)


def shown_id(conversation_id: str | None, personal: bool) -> str | None:
    """A conversation id as a viewer without personal data sees it. Only web ids are keyed hashes;
    the others carry what their channel named the conversation after (a Telegram chat id, or a REST
    or callback integration's sender, which may be the customer's e-mail address or phone)."""
    if personal or conversation_id is None or conversation_id.startswith("web:"):
        return conversation_id
    return redact(conversation_id)


def _drill_row(e: Any, personal: bool) -> DrillRow:
    return DrillRow(conversation_id=shown_id(e.conversation_id, personal) or "", number=e.number,
                    started_at=e.started_at, channel=e.channel,
                    intent=e.topic_intent, agent=e.agent, reason=e.escalation_reason,
                    sentiment_start=e.sentiment_start, sentiment_end=e.sentiment_end, resolved_by=e.resolved_by,
                    contained=e.contained)


def drill_table(rows: Sequence[DrillRow]) -> Table:
    columns = ("conversation_id", "number", "started_at", "channel", "intent", "agent", "reason",
               "sentiment_start", "sentiment_end", "resolved_by", "contained")
    return Table("episodes", "Episodes", columns,
                 tuple(tuple(getattr(r, c) for c in columns) for r in rows), link="conversation_id")
