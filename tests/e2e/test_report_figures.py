"""The admins' report figures against the same figures worked out independently from what is stored.

The stack runs as `caredesk run --demo` does: a seeded shop with months of seeded conversations,
plus conversations this test holds with the real assistant (a calm guest answered by the bot, an
angry verified customer handed to an agent who answers through the agent API, hands back and gets a
rating, an upset guest the bot keeps). Then ``caredesk report rebuild`` derives the episode table and
every headline figure of the report is compared with a figure this module computes on its own,
straight from the tracker store's ``events`` rows and the CRM's ``tickets`` and ``feedback`` rows:
its own session split, its own channel and ticket matching, its own percentiles. Two pieces of code
written apart that agree on the stored facts are the check; neither one's numbers are restated here.

Agents are live around the clock in this stack (so the hand-over pauses the bot), which makes
support-hours time equal to wall-clock time; the support-hours arithmetic itself is tested on
hand-built cases in tests/unit/test_episodes.py.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from caredesk.harness import PROJECT_DIR, start_stack, stop_stack
from crm_store import models
from crm_store.unit_of_work import UnitOfWork
from tests.e2e.agents import agent_call, agent_token, customer_says
from tests.e2e.test_handoff import Inbox
from tests.support.policy import always_live_policy

pytestmark = pytest.mark.e2e

CHANNEL_OF = {"caredesk_web": "web", "caredesk_telegram": "telegram", "rest": "rest", "caredesk_rest": "rest",
              "callback": "rest"}
NEGATIVE_AT = -0.05  # the report's documented threshold for a negative episode


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports")
    policy = always_live_policy(folder)
    inbox = Inbox()
    env = {"CAREDESK_CALLBACK_URL": f"http://127.0.0.1:{inbox.port}/bot", "CAREDESK_POLICY_FILE": str(policy)}
    stack = start_stack(folder, extra_env=env)
    stack.inbox, stack.env = inbox, env
    yield stack
    stop_stack(stack)
    inbox.server.shutdown()


def _say(stack, sender: str, text: str, wait_for: str | None = None) -> None:
    mark = len(stack.inbox.messages)
    customer_says(stack, sender, text)
    if wait_for:
        stack.inbox.wait_for(mark, wait_for)


def _hold_conversations(stack) -> None:
    _say(stack, "calm-carl", "hi there")
    _say(stack, "calm-carl", "what delivery options do you have?")
    _say(stack, "calm-carl", "great, thanks a lot")

    with UnitOfWork(stack.database_url) as uow:
        ref = uow.session.execute(select(models.Order.reference).where(
            models.Order.customer_id == 1, models.Order.status == "shipped")).scalars().first()
    token = agent_token(stack, "sam")
    assert agent_call(stack, "POST", "/api/presence", {"available": True}, token=token) == {"available": True}
    _say(stack, "angry-ana", f"where is my order {ref}")
    _say(stack, "angry-ana", "ana@example.com", wait_for="on its way")
    _say(stack, "angry-ana", "WHERE IS MY PARCEL?! this is the third time i ask, ridiculous!!!",
         wait_for="asked a colleague")
    conversation = "cb:angry-ana"
    agent_call(stack, "POST", f"/api/conversations/{conversation}/messages",
               {"text": "Hi Ana, I'm Sam. The carrier delivers tomorrow."}, token=token)
    _say(stack, "angry-ana", "ok thank you sam")
    mark = len(stack.inbox.messages)
    agent_call(stack, "POST", f"/api/conversations/{conversation}/resume", {}, token=token)
    stack.inbox.wait_for(mark, "How happy are you")
    _say(stack, "angry-ana", "4", wait_for="Anything you'd like to add")
    _say(stack, "angry-ana", "no", wait_for="Thank you for your feedback")

    _say(stack, "upset-uma", "this is so disappointing, the jumper i got is awful")
    _say(stack, "upset-uma", "how do i return something?")


# ---- the independent computation ------------------------------------------------------------------


@dataclass
class Session:
    conversation: str
    started: datetime
    ended: datetime
    channel: str | None = None
    customer: int | None = None
    scores: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    messages: int = 0
    agent_replies: int = 0
    ticket: dict | None = None
    rating: dict | None = None
    asked_rating: bool = False
    recontact: bool = False


def _utc(stamp: float) -> datetime:
    return datetime.utcfromtimestamp(stamp)


def _stored_sessions(tracker_db, tickets: list[dict], feedback: list[dict]) -> list[Session]:
    """Every session in which a customer wrote, read from the tracker's rows by plain SQL."""
    rows = sqlite3.connect(tracker_db).execute("SELECT sender_id, data FROM events ORDER BY sender_id, id")
    by_conversation: dict[str, list[dict]] = defaultdict(list)
    for sender, data in rows:
        by_conversation[sender].append(json.loads(data))
    sessions: list[Session] = []
    for conversation, events in by_conversation.items():
        chunks: list[list[dict]] = []
        for event in events:
            if not chunks or (event["event"] == "action" and event.get("name") == "action_session_start"):
                chunks.append([])
            chunks[-1].append(event)
        starts = [_utc(min(e["timestamp"] for e in chunk)) for chunk in chunks]
        for index, chunk in enumerate(chunks):
            session = Session(conversation, starts[index], _utc(max(e["timestamp"] for e in chunk)))
            for event in chunk:
                intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
                if event["event"] == "user" and not intent.startswith("EXTERNAL_"):
                    session.messages += 1
                    session.channel = session.channel or CHANNEL_OF.get(event.get("input_channel"), "other")
                    cid = ((event.get("metadata") or {}).get("identity") or {}).get("cid")
                    session.customer = session.customer or cid
                    sentiment = (event.get("parse_data") or {}).get("sentiment")
                    if sentiment:
                        session.scores.append(sentiment["score"])
                        session.labels.append(sentiment["label"])
                elif event["event"] == "bot" and (event.get("metadata") or {}).get("agent"):
                    session.agent_replies += 1
                elif _asks_rating(event):
                    session.asked_rating = True
            if not session.messages:
                continue
            until = starts[index + 1] if index + 1 < len(starts) else None
            mine = [t for t in tickets if t["conversation_id"] == conversation
                    and t["created_at"] >= session.started - timedelta(seconds=2)
                    and (until is None or t["created_at"] < until)]
            session.ticket = min(mine, key=lambda t: t["created_at"]) if mine else None
            latest = session.ended + timedelta(hours=24)
            latest = min(latest, until) if until else latest
            rated = [f for f in feedback if f["conversation_id"] == conversation and f["csat"] is not None
                     and session.started - timedelta(seconds=2) <= f["created_at"] < latest]
            session.rating = min(rated, key=lambda f: f["created_at"]) if rated else None
            if session.customer is None:
                session.customer = ((session.ticket or {}).get("customer_id")
                                    or (session.rating or {}).get("customer_id"))
            sessions.append(session)
    for session in sessions:
        session.recontact = any(
            other is not session and session.started < other.started <= session.ended + timedelta(hours=24)
            and (other.conversation == session.conversation
                 or (session.customer is not None and other.customer == session.customer))
            for other in sessions)
    return sessions


def _asks_rating(event: dict) -> bool:
    if event["event"] == "bot":
        return (event.get("metadata") or {}).get("utter_action") in ("utter_ask_csat", "utter_offer_csat")
    return event["event"] == "slot" and event.get("name") == "requested_slot" and event.get("value") == "csat"


def _crm_rows(database_url: str) -> tuple[list[dict], list[dict]]:
    with UnitOfWork(database_url) as uow:
        tickets = [dict(row._mapping) for row in uow.session.execute(select(
            models.Ticket.conversation_id, models.Ticket.created_at, models.Ticket.reason, models.Ticket.assignee,
            models.Ticket.first_response_at, models.Ticket.closed_at, models.Ticket.customer_id, models.Ticket.card))]
        feedback = [dict(row._mapping) for row in uow.session.execute(select(
            models.Feedback.conversation_id, models.Feedback.csat, models.Feedback.created_at,
            models.Feedback.customer_id))]
    return tickets, feedback


def _quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, written out."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _reason(ticket: dict) -> str:
    """The reason the report gives: automatic escalations by the first rule their card lists."""
    card = ticket["card"] if isinstance(ticket["card"], dict) else json.loads(ticket["card"] or "{}")
    if ticket["reason"] == "escalated" and card.get("reasons"):
        return card["reasons"][0]
    return ticket["reason"]


def _is_negative(session: Session) -> bool:
    return "negative" in session.labels or (bool(session.scores) and min(session.scores) <= NEGATIVE_AT)


def _resolved_by(session: Session) -> str:
    if session.ticket is not None:
        return "agent" if session.ticket["closed_at"] is not None else "open"
    return "bot" if not session.agent_replies else "agent"


def _expected(sessions: list[Session]) -> dict:
    escalated = [s for s in sessions if s.ticket is not None]
    contained = [s for s in sessions if _resolved_by(s) == "bot" and not s.recontact]
    first_responses = [(s.ticket["first_response_at"] - s.ticket["created_at"]).total_seconds()
                       for s in escalated if s.ticket["first_response_at"] is not None]
    resolutions = [(s.ticket["closed_at"] - s.ticket["created_at"]).total_seconds()
                   for s in escalated if s.ticket["closed_at"] is not None]
    paired = [s for s in sessions if s.scores]

    def rating(kind: str) -> dict:
        group = [s for s in sessions if _resolved_by(s) == kind]
        asked = [s for s in group if s.asked_rating or s.rating is not None]
        answered = [s.rating["csat"] for s in group if s.rating is not None]
        return {"episodes": len(group), "asked": len(asked), "answered": len(answered),
                "mean": _mean(answered), "response_rate": len(answered) / len(asked) if asked else None}

    return {
        "episodes": len(sessions),
        "conversations": len({s.conversation for s in sessions}),
        "customers": len({s.customer for s in sessions if s.customer is not None}),
        "escalated": len(escalated),
        "reasons": dict(Counter(_reason(s.ticket) for s in escalated)),
        "contained": len(contained),
        "recontact": sum(s.recontact for s in sessions),
        "share_negative": sum(map(_is_negative, sessions)) / len(sessions),
        "mean_change": _mean([s.scores[-1] - s.scores[0] for s in paired]),
        "first_response_median": _quantile(first_responses, 0.5),
        "first_response_p90": _quantile(first_responses, 0.9),
        "resolution_median": _quantile(resolutions, 0.5),
        "resolution_p90": _quantile(resolutions, 0.9),
        "by_channel": dict(Counter(s.channel for s in sessions)),
        "mean_start_by_channel": {c: _mean([s.scores[0] for s in paired if s.channel == c])
                                  for c in {s.channel for s in paired}},
        "by_agent": dict(Counter(s.ticket["assignee"] for s in escalated if s.ticket["assignee"])),
        "negative_messages": sum(s.labels.count("negative") for s in sessions),
        "csat_bot": rating("bot"),
        "csat_agent": rating("agent"),
        "escalations_per_day": dict(Counter(s.started.date() for s in escalated)),
    }


# ---- the test -------------------------------------------------------------------------------------


def _close(found, expected, places: int = 3) -> bool:
    if expected is None or found is None:
        return found is None and expected is None
    return math.isclose(found, expected, abs_tol=10 ** -places)


def test_every_report_figure_matches_the_stored_events(stack):
    _hold_conversations(stack)
    env = {**os.environ, "CAREDESK_VAR_DIR": str(stack.var_dir), **stack.env}
    for key in ("DATABASE_URL", "TRACKER_STORE_URL"):
        env.pop(key, None)
    rebuilt = subprocess.run([sys.executable, "-m", "caredesk.cli", "report", "rebuild"], cwd=PROJECT_DIR,
                             env=env, capture_output=True, text=True, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]

    tickets, feedback = _crm_rows(stack.database_url)
    sessions = _stored_sessions(stack.var_dir / "tracker.db", tickets, feedback)
    expected = _expected(sessions)
    # The conversations held above are in the figures, as the assistant stored them.
    mine = {s.conversation: s for s in sessions if s.conversation in ("cb:calm-carl", "cb:angry-ana", "cb:upset-uma")}
    assert set(mine) == {"cb:calm-carl", "cb:angry-ana", "cb:upset-uma"}
    assert mine["cb:angry-ana"].ticket is not None and mine["cb:angry-ana"].rating["csat"] == 4
    assert mine["cb:calm-carl"].ticket is None and mine["cb:calm-carl"].channel == "rest"
    assert expected["escalated"] > 1 and expected["contained"] > 1  # seeded history as well as ours

    from bot.console.report_data import Filters, build_report

    report = build_report(stack.database_url, Filters(), personal=True)
    overview = report.summary
    contained = {row["figure"]: row["value"] for row in _rows(report, "containment")}
    assert overview["episodes"] == expected["episodes"]
    assert overview["conversations"] == expected["conversations"]
    assert overview["customers"] == expected["customers"]
    assert contained["escalated"] == expected["escalated"]
    assert {r["reason"]: r["escalations"] for r in _rows(report, "escalation_reasons")} == expected["reasons"]
    assert contained["contained"] == expected["contained"]
    assert contained["recontact"] == expected["recontact"]
    assert _close(overview["share_negative"], expected["share_negative"])
    assert _close(overview["mean_sentiment_change"], expected["mean_change"])
    for name in ("first_response_median", "first_response_p90", "resolution_median", "resolution_p90"):
        assert _close(overview[name], expected[name], places=0), name
    by_channel = {row["channel"]: row for row in _rows(report, "sentiment_channel")}
    assert {name: row["episodes"] for name, row in by_channel.items()} == expected["by_channel"]
    for name, mean_start in expected["mean_start_by_channel"].items():
        assert _close(by_channel[name]["mean_start"], mean_start), name
    agents = {row["agent"]: row["handled"] for row in _rows(report, "agents") if row["agent"] != "all agents"}
    assert agents == expected["by_agent"]
    csat = {row["resolved_by"]: row for row in _rows(report, "csat")}
    for kind in ("bot", "agent"):
        for name in ("episodes", "asked", "answered"):
            assert csat[kind][name] == expected[f"csat_{kind}"][name], (kind, name)
        assert _close(csat[kind]["mean"], expected[f"csat_{kind}"]["mean"]), kind
        assert _close(csat[kind]["response_rate"], expected[f"csat_{kind}"]["response_rate"]), kind
    assert sum(row["messages"] for row in _rows(report, "topics")) == expected["negative_messages"]
    forecast = next(f for f in report.figures if f["id"] == "forecast")
    history = next(trace for trace in forecast["data"] if trace["name"] == "escalations")
    shown = {date.fromisoformat(day): count for day, count in zip(history["x"], history["y"], strict=True)}
    assert len(shown) >= 28  # the chart shows recent weeks; each day shown must agree
    assert shown == {day: expected["escalations_per_day"].get(day, 0) for day in shown}


def _rows(report, name: str) -> list[dict]:
    table = report.tables[name]
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]
