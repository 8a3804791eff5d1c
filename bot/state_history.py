"""The dialogue states of a conversation's history, computed once per turn instead of from the start
on every prediction.

Before each prediction the memoization and rule policies ask for the states of the tracker's whole
history (``Domain.states_for_tracker_history``): Rasa replays every applied event of the session
into a fresh tracker and builds a state before each action, several times per turn (each policy,
each prediction of the turn). At 200 turns that is ~16-25 ms per call, so a turn cost more the
longer the conversation (issue 16). Here, per conversation and per way of asking (the flags and
the rule-only data), the replayed tracker and the states built so far are kept; a call whose
applied events begin with the ones already replayed only replays and builds the rest. The events
are compared as objects, or else by class, timestamp and what a state can see of them (intent,
entity types, text, action name, slot value...), so the stored copy of a turn (the tracker store
reads it back without metadata and entity texts, redacted) continues the history built from the
live one only when it would give the same states;
anything else -- an undone turn, a new session, a different conversation -- builds from the start
as Rasa does. Each call returns new state dicts with new user sub-states (Rasa's featurizer
deletes the text or the intent from those).

Finding the applied events (``DialogueStateTracker.applied_events``, all events less the undone
ones, which every call above and many others of Rasa's start with) was most of what remained at
200 turns: it asks ``isinstance`` of five abstract event classes for every event. ``applied_events``
here is the same walk, each event's class looked up once, and continued from where the last walk of
the conversation ended when the events begin with the ones walked then (the same objects).

The loop body is Rasa 3.6's ``Domain.states_for_tracker_history``, step for step;
``tests/unit/test_state_history.py`` checks the result against Rasa's own on many histories.
"""

from __future__ import annotations

import json
import operator
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rasa.core.featurizers.tracker_featurizers import (
    MaxHistoryTrackerFeaturizer,
    TrackerFeaturizer,
    _is_prev_action_unlikely_intent_in_state,
)
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, SupportedData
from rasa.shared.core import constants
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, TEXT

# Conversation histories kept (least recently used dropped first).
KEPT_HISTORIES = 2_000


@dataclass
class _History:
    applied: list[Event]
    replay: DialogueStateTracker
    # The domain the states were built with: kept so that its address (part of the key) is not given
    # to a new Domain (a model loaded anew) while this history is kept, and checked.
    domain: Domain | None = None
    states: list[State] = field(default_factory=list)
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False
    # ``states`` as Rasa's featurizer leaves them (the user text deleted where an intent is), built
    # once each and shared by the calls of the memoization and rule policies (see prediction_states)
    featurized: list[State] = field(default_factory=list)


_histories: OrderedDict[tuple, _History] = OrderedDict()
_original = Domain.states_for_tracker_history
_original_applied_events = DialogueStateTracker.applied_events
_original_prediction_states = Policy._prediction_states
# Set while the memoization or rule policy asks for its states (prediction_states); the calls are
# synchronous, nothing else runs in between.
_for_prediction = False

# What ``applied_events`` does with an event, by its class (Rasa's isinstance checks, in its order).
_RESET, _ACTION_REVERTED, _UTTERANCE_REVERTED, _ACTION, _LOOP, _OTHER = range(6)
_kinds: dict[type, int] = {}


def _kind(cls: type) -> int:
    kind = _kinds.get(cls)
    if kind is None:
        kind = (_RESET if issubclass(cls, (Restarted, SessionStarted)) else
                _ACTION_REVERTED if issubclass(cls, ActionReverted) else
                _UTTERANCE_REVERTED if issubclass(cls, UserUtteranceReverted) else
                _ACTION if issubclass(cls, ActionExecuted) else
                _LOOP if issubclass(cls, ActiveLoop) else _OTHER)
        _kinds[cls] = kind
    return kind


@dataclass
class _Applied:
    """One conversation's events as last walked, and what the walk left."""

    events: list[Event]
    applied: list[Event]
    loop_names: set[str]


_applied: OrderedDict[str, _Applied] = OrderedDict()


def _walk(tracker: DialogueStateTracker, events: list[Event], applied: list[Event], loop_names: set[str]) -> None:
    """Rasa's walk of ``applied_events`` over ``events``, continuing ``applied`` (changed in place)."""
    for event in events:
        kind = _kind(type(event))
        if kind == _RESET:
            applied.clear()
        elif kind == _ACTION_REVERTED:
            tracker._undo_till_previous(ActionExecuted, applied)
        elif kind == _UTTERANCE_REVERTED:
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (kind == _ACTION and loop_names and event.action_name in loop_names  # type: ignore[attr-defined]
              and not tracker._first_loop_execution_or_unhappy_path(event.action_name,  # type: ignore[attr-defined]
                                                                    applied)):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)  # type: ignore[attr-defined]
        else:
            applied.append(event)


# How many of the last events walked may be other objects with the same part in the walk.
ADOPTED_TAIL = 64


def _walks_alike(kept: Event, event: Event) -> bool:
    """Whether the walk treats the two events alike: the same class, action and loop name (all it
    reads of an event besides its class)."""
    return (type(kept) is type(event) and getattr(kept, "action_name", None) == getattr(event, "action_name", None)
            and getattr(kept, "name", None) == getattr(event, "name", None))


def _adopted(kept: _Applied, events: list[Event]) -> bool:
    """Whether ``events`` begin with the kept ones but for their last few, which the tracker store
    read back as other objects (a turn's events are saved, then read from the database by the
    next turn) that the walk treats alike. If so the kept walk takes the new objects, in its
    events and in its result, and can be continued."""
    walked = len(kept.events)
    start = walked
    while start > 0 and kept.events[start - 1] is not events[start - 1]:
        start -= 1
        if walked - start > ADOPTED_TAIL:
            return False
    if (not all(map(operator.is_, kept.events[:start], events[:start]))
            or not all(map(_walks_alike, kept.events[start:], events[start:walked]))):
        return False
    replaced = {id(old): new for old, new in zip(kept.events[start:], events[start:walked], strict=True)}
    position = len(kept.applied)
    # the result is the walked events in order, less some: those replaced are at its end
    while position > 0 and id(kept.applied[position - 1]) in replaced:
        position -= 1
        kept.applied[position] = replaced[id(kept.applied[position])]
    kept.events[start:] = events[start:walked]
    return True


def _loop_names(events: Any) -> set[str]:
    return {event.name for event in events if _kind(type(event)) == _LOOP and event.name}  # type: ignore[attr-defined]


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """``DialogueStateTracker.applied_events``: the events less those undone, the same walk,
    continued from where it last ended for this conversation.

    The walk's result depends on the events before (the list it builds) and on the names of the
    loops activated anywhere in the events. So when the events begin with the very objects walked
    last time (the tracker store shares them between a conversation's trackers) and name no new
    loop, the kept result is continued with the new events only; anything else walks them all."""
    events = list(self.events)
    kept = _applied.pop(self.sender_id, None)
    if (kept is not None and len(kept.events) <= len(events)
            and (all(map(operator.is_, kept.events, events)) or _adopted(kept, events))):
        new = events[len(kept.events):]
        if _loop_names(new) <= kept.loop_names:
            _walk(self, new, kept.applied, kept.loop_names)
            kept.events = events
            return _remember(self.sender_id, kept)
    loop_names = _loop_names(events)
    applied: list[Event] = []
    _walk(self, events, applied, loop_names)
    return _remember(self.sender_id, _Applied(events, applied, loop_names))


def _remember(sender_id: str, walked: _Applied) -> list[Event]:
    _applied[sender_id] = walked
    while len(_applied) > KEPT_HISTORIES:
        _applied.popitem(last=False)
    return list(walked.applied)


def _what_states_see(event: Event) -> Any:
    """What of an event can change a dialogue state (``Domain.get_active_state`` reads the latest
    message's intent, entity types, roles and groups and text, the latest action, slots, the
    loop): the stored copy of a turn loses metadata and entity texts and may differ in a bot
    text, none of which a state holds."""
    if isinstance(event, UserUttered):
        return (event.text, event.intent_name, event.use_text_for_featurization,
                [(e.get("entity"), "role" in e, e.get("role"), "group" in e, e.get("group"))
                 for e in event.entities])
    if isinstance(event, ActionExecuted):
        return (event.action_name, event.action_text, event.hide_rule_turn)
    if isinstance(event, BotUttered):
        return ()  # only the latest bot utterance, which no state holds
    return event  # Rasa's own equality (slot name and value, loop name, ...)


def _same(kept: Event, event: Event) -> bool:
    return kept is event or (type(kept) is type(event) and kept.timestamp == event.timestamp
                             and _what_states_see(kept) == _what_states_see(event))


def _continues(history: _History, applied: list[Event]) -> bool:
    """Whether ``applied`` begins with the kept events. Found so, the kept history takes the new
    objects: the turn's further calls and the next turn's read (the store keeps its parsed events)
    then compare by identity, at C speed, instead of by contents."""
    kept = history.applied
    if len(kept) > len(applied):
        return False
    if all(map(operator.is_, kept, applied)):
        return True
    if not all(_same(a, b) for a, b in zip(kept, applied, strict=False)):
        return False
    kept[:] = applied[:len(kept)]
    return True


def _step(domain: Domain, history: _History, tracker: DialogueStateTracker, hide_rule_turn: bool,
          omit_unset_slots: bool, ignore_rule_only_turns: bool, rule_only_data: dict | None) -> None:
    """One pass of Rasa's loop: the state before the next action (or at the end), appended to
    ``history.states`` unless the turn is hidden."""
    if ignore_rule_only_turns:
        if not history.turn_was_hidden:
            history.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
            history.turn_was_hidden = hide_rule_turn
        if history.turn_was_hidden:
            return
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if history.states:
            domain._substitute_rule_only_user_input(state, history.states[-1])
        if history.last_ml_action_sub_state:
            state[constants.PREVIOUS_ACTION] = history.last_ml_action_sub_state
    history.states.append(domain._clean_state(state))


class _Featurized(dict):
    """A kept state as ``TrackerFeaturizer._remove_user_text_if_intent`` leaves it. Only
    :func:`states_for_tracker_history` makes them, and only as the start of the list it returns
    (every state but the last, which the featurizer changes), so the featurizer's walk over the
    states can stop at the first one it meets from the end (:func:`remove_user_text_if_intent`)."""

    __slots__ = ()


def _featurized(state: State) -> State:
    """``state`` as ``TrackerFeaturizer._remove_user_text_if_intent`` leaves it, as a new dict."""
    user = state.get(constants.USER)
    if user and user.get(INTENT) and user.get(TEXT):
        return _Featurized({**state, constants.USER: {k: v for k, v in user.items() if k != TEXT}})
    return _Featurized(_copy(state))


@staticmethod  # type: ignore[misc]
def remove_user_text_if_intent(trackers_as_states: list[list[State]]) -> None:
    """``TrackerFeaturizer._remove_user_text_if_intent``: the user text deleted from every state
    whose user sub-state has an intent, walking back from the last state and stopping at a kept
    state (it and those before it are already so: see :class:`_Featurized`). At 200 turns the
    rule policy's featurizer walked every state of the conversation on every prediction."""
    for states in trackers_as_states:
        for state in reversed(states):
            if type(state) is _Featurized:
                break
            user = state.get(constants.USER, {})
            if user.get(INTENT) and user.get(TEXT):
                del state[constants.USER][TEXT]


def _copy(state: State, copies: dict[int, dict] | None = None) -> State:
    """A state callers may change as Rasa's featurizer does: it deletes the text or the intent
    and entities from the user sub-state (``_choose_last_user_input``,
    ``_remove_user_text_if_intent``); nothing changes the other sub-states, which are shared.
    States that share a user sub-state in Rasa's answer (the turns of one message when rule-only
    turns are ignored) share its copy: a change to one is a change to all, as in Rasa."""
    user = state.get(constants.USER)
    if user is None:
        return dict(state)
    if copies is None:
        return {**state, constants.USER: dict(user)}
    copied = copies.get(id(user))
    if copied is None:
        copied = copies[id(user)] = dict(user)
    return {**state, constants.USER: copied}


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``Domain.states_for_tracker_history`` that continues the history kept for this conversation."""
    key = (id(self), tracker.sender_id, tracker.is_rule_tracker, omit_unset_slots, ignore_rule_only_turns,
           json.dumps(rule_only_data, sort_keys=True, default=str) if rule_only_data else None)
    applied = tracker.applied_events()
    history = _histories.pop(key, None)
    if history is None or history.domain is not self or not _continues(history, applied):
        history = _History(applied=[], replay=tracker.init_copy(), domain=self)
    flags = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in applied[len(history.applied):]:
        if isinstance(event, ActionExecuted):
            _step(self, history, history.replay, event.hide_rule_turn, *flags)
        history.replay.update(event)
        history.applied.append(event)
    _histories[key] = history
    while len(_histories) > KEPT_HISTORIES:
        _histories.popitem(last=False)
    # The state at the end is not kept: the next call's events continue past it.
    end = _History(applied=[], replay=history.replay, states=[history.states[-1]] if history.states else [],
                   last_ml_action_sub_state=history.last_ml_action_sub_state,
                   turn_was_hidden=history.turn_was_hidden)
    _step(self, end, history.replay, False, *flags)
    with_end = len(end.states) > min(len(history.states), 1)
    if _for_prediction and history.states:
        # the featurizer's states: shared, but for the last one, which it changes
        featurized = history.featurized
        featurized.extend(_featurized(state) for state in history.states[len(featurized):])
        last = _copy(end.states[-1] if with_end else history.states[-1])
        states = [*featurized, last] if with_end else [*featurized[:-1], last]
        if not _is_prev_action_unlikely_intent_in_state(states[-1]):
            return states
    copies: dict[int, dict] = {}
    states = [_copy(state, copies) for state in history.states]
    if with_end:
        states.append(_copy(end.states[-1], copies))
    return states


def prediction_states(self: Policy, tracker: DialogueStateTracker, domain: Domain,
                      use_text_for_last_user_input: bool = False,
                      rule_only_data: dict[str, Any] | None = None) -> list[State]:
    """``Policy._prediction_states`` of the memoization and rule policies, which read the states
    they get and never change them: their featurizer's work (``MaxHistoryTrackerFeaturizer.
    prediction_states``: the states, those after ``action_unlikely_intent`` dropped, the last
    ``max_history``, the last one's text or intent chosen, the user text deleted from the others)
    gets the kept states already without text (shared) and a copy of the last one. Any other
    policy or featurizer gets copies, as before."""
    global _for_prediction
    if (not isinstance(self, MemoizationPolicy) or type(self.featurizer) is not MaxHistoryTrackerFeaturizer
            # the last state's user sub-state may be shared with earlier states, which then lose
            # the intent too (Rasa's memoization never asks for the text)
            or (use_text_for_last_user_input and self.supported_data() == SupportedData.ML_DATA)):
        return _original_prediction_states(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
    _for_prediction = True
    try:
        return _original_prediction_states(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
    finally:
        _for_prediction = False


def apply() -> None:
    TrackerFeaturizer._remove_user_text_if_intent = remove_user_text_if_intent  # type: ignore[method-assign,assignment]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
    Policy._prediction_states = prediction_states  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]


def forget_all() -> None:
    _histories.clear()
    _applied.clear()
