"""Targeted patches to Rasa 3.6, applied once when our Rasa server process starts
(``caredesk.rasa_launcher.main``, before Rasa's own command line runs).

Each patch keeps Rasa's behaviour and removes a cost that need not be paid on every turn; the
throughput profile in the README ("Throughput") shows what each one was worth.

- **Action-server responses validated with a cached validator.** ``RemoteAction.
  _validate_action_result`` calls ``jsonschema.validate(result, schema)`` after every custom action.
  That call first checks the schema itself against the JSON Schema meta-schema
  (``check_schema``), then builds a validator: under 20 concurrent conversations the schema check
  alone was about a quarter of the Rasa server's samples. The schema is a constant, so it is
  checked once and its validator kept; every response is still validated and an invalid one still
  raises the same ``ValidationError`` with Rasa's message.
- **The states of a conversation's history continued, not rebuilt** (``bot/state_history.py``):
  the policies ask for the states of the whole history several times per turn; the replayed
  history is kept per conversation and only the new events are replayed.
- **Custom actions sent the events they read, not the whole session.** Every custom action call
  sent every event of the session (and the action server parsed them, and our escalation and
  rating checks read them all): at 150 turns about 20% of the Rasa server's samples, growing with
  the conversation. The action server keeps what it reads of the whole conversation in a digest
  slot (``actions/digest.py``, ``common/conversation.py``); a call now carries the events from the
  action that stored the digest on and at least the last ``RECENT_MESSAGES`` customer messages
  (every event while there is no digest). Everything else in the request is Rasa's.
- **Request bodies encoded with ujson.** Every custom action call sends the whole session's
  tracker to the action server, encoded by aiohttp with the standard library's ``json.dumps``:
  14% of the Rasa server's samples at 200 turns. ``EndpointConfig.session`` is Rasa's own, with
  ``ujson.dumps`` as the session's encoder (about twice as fast on a 200-turn tracker; ujson is
  already installed, Rasa and Sanic use it); anything ujson cannot encode goes to ``json.dumps``
  as before, which raises what it raised.
- **Connections to the action server kept alive.** Rasa opened a client session, and so a new TCP
  connection, for every custom action call and closed it after the answer (6% of the samples). An
  endpoint now keeps one session per event loop, whose idle connections close after
  ``KEEPALIVE_S``; a connection the server closed is not used again (aiohttp notices it).
- **Rule matching walks back only as far as the longest rule.** ``RulePolicy._get_possible_keys``
  compared every state of the conversation, newest first, with the rules still possible, though a
  rule is always applicable at a step further back than its length: at 150 turns 15% of the Rasa
  server's samples. The walk now stops there; the keys found are Rasa's. As they depend only on
  the rules and the last states, they are also kept for each such ending (comparing the 331 rules
  with the current state took 10% of the samples at any length).
- **A tracker copied without replaying the session.** ``MessageProcessor._run_action`` copies
  the tracker before every action, and Rasa's ``copy`` replays every event of the session into a
  new tracker (6% of the samples at 150 turns). The copy takes the replay's result directly: the
  events shared (as the replay shares them), slots and loop copied, the rest as it is.
- **The rule policy's states formatted only for a debug message that is written.** Every
  prediction formatted all states of the conversation for a debug message (5% at 150 turns).
- **The model's graph pruned once per list of targets.** ``DaskGraphRunner.run`` pruned the
  model's graph to the targets' ancestors (a recursive walk that visits a shared ancestor once per
  path: 4% of the samples at 150 turns), built the dask graph from it and formatted its inputs (the
  tracker) for a debug message, for the NLU and again for every prediction. The graph and its
  instantiated nodes do not change while the model is loaded, so each runner keeps the dask graph
  of each list of targets and copies it for a run; dask runs the same graph with the same inputs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import dataclasses
import functools
import itertools
import json
import logging
from collections import OrderedDict, deque
from typing import Any

import aiohttp
import ujson
from jsonschema import validators
from jsonschema.exceptions import ValidationError, best_match
from rasa.core.policies.policy import Policy
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from common.conversation import DIGEST_SLOT, RECENT_MESSAGES

_rasa_tracker_copy = DialogueStateTracker.copy
_rasa_resolve_event = Event.resolve_by_type
_rasa_rule_prediction = RulePolicy.predict_action_probabilities
_rasa_rule_feature_key = RulePolicy._create_feature_key
# Events after which Rasa's replay resets the tracker (and replays what is left)
_RESETS = (Restarted, SessionStarted, UserUtteranceReverted, ActionReverted)
_rasa_format_tracker_states = Policy.format_tracker_states
_graph_log = logging.getLogger("rasa.engine.runner.dask")
# Idle connections to an endpoint are closed after this long: before the action server (Sanic:
# 5 s) closes them, so a call never goes out on a connection the server is closing.
KEEPALIVE_S = 2.0


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """The validator of Rasa's action-server response schema, its schema checked once."""
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the cached validator (same errors, same message)."""
    from rasa.shared.constants import DOCS_BASE_URL

    error: ValidationError | None = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def encoded(body: Any) -> str:
    """A request body as JSON: ujson's encoding, or the standard library's where ujson refuses."""
    try:
        return ujson.dumps(body, escape_forward_slashes=False)
    except (TypeError, OverflowError, ValueError):
        return json.dumps(body)


def new_session(endpoint: Any, connector: aiohttp.BaseConnector | None = None) -> aiohttp.ClientSession:
    """Rasa's ``EndpointConfig.session`` (the same headers, basic auth and timeout), encoding with
    :func:`encoded`."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
            if endpoint.basic_auth else None)
    return aiohttp.ClientSession(headers=endpoint.headers, auth=auth, json_serialize=encoded, connector=connector,
                                 timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT))


class _KeptSession:
    """What ``async with endpoint.session()`` enters: the endpoint's client session for the running
    event loop, left open on the way out so that its connections serve the next call."""

    def __init__(self, endpoint: Any) -> None:
        self._endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return kept_session(self._endpoint)

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _close_now(session: aiohttp.ClientSession) -> None:
    """Close a session's connections without awaiting (its loop may be gone, or about to be)."""
    connector = session.connector
    if connector is not None and not connector.closed:
        with contextlib.suppress(RuntimeError):  # its event loop is closed: the sockets went with it
            connector._close()


def kept_session(endpoint: Any) -> aiohttp.ClientSession:
    """The endpoint's one client session for the running event loop (made when first needed, and
    again after its loop changed or it was closed)."""
    loop = asyncio.get_running_loop()
    kept = endpoint.__dict__.get("_kept_session")
    if kept is not None and kept[0] is loop and not kept[1].closed:
        return kept[1]
    if kept is not None:
        _close_now(kept[1])
    session = new_session(endpoint, aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S))
    endpoint._kept_session = (loop, session)
    atexit.register(_close_now, session)
    return session


def endpoint_session(self: Any) -> _KeptSession:
    """``EndpointConfig.session`` whose connections are kept alive between calls (see :func:`kept_session`)."""
    return _KeptSession(self)


def action_events(tracker: Any) -> list[Any]:
    """The events a custom action call sends: from the action that stored the conversation's digest
    (the digest covers what came before it) and at least the last ``RECENT_MESSAGES`` customer
    messages; every event when the digest slot is empty or the event that stored it is not found."""
    events = tracker.events
    slot = tracker.slots.get(DIGEST_SLOT)
    if slot is None or slot.value is None:
        return list(events)
    messages, stored, covered, start = 0, False, False, len(events)
    for event in reversed(events):
        start -= 1
        if isinstance(event, UserUttered):
            messages += 1
        if not stored:
            stored = isinstance(event, SlotSet) and event.key == DIGEST_SLOT
        elif isinstance(event, ActionExecuted):
            covered = True
        if covered and messages >= RECENT_MESSAGES:
            return list(itertools.islice(events, start, None))
    return list(events)


def action_call_format(self: Any, tracker: Any, domain: Any) -> dict[str, Any]:
    """``RemoteAction._action_call_format`` with the tracker's events cut to :func:`action_events`."""
    import rasa
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in action_events(tracker)]
    result = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state,
              "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        result["domain"] = domain.as_dict()
    return result


def _replayed_followup_action(events: Any) -> tuple[bool, str | None]:
    """The follow-up action Rasa's replay of ``events`` ends with, when the last event that sets
    it is one that sets it alone (a FollowupAction sets it, an action or a message clears it):
    (True, it). Otherwise (a restart, a new session, an undo, no such event): (False, None). The
    tracker's own may differ: the processor clears it without an event before running it."""
    for event in reversed(events):
        if isinstance(event, FollowupAction):
            return True, event.action_name
        if isinstance(event, (ActionExecuted, UserUttered)):
            return True, None
        if isinstance(event, _RESETS):
            return False, None  # the tracker reset (and replayed): Rasa's copy decides
    return False, None


def _latest_message_is_an_event(tracker: Any) -> bool:
    """Whether the tracker's latest message is the last message event of its session (Rasa's
    replay then gives the copy that same object); else (before the first message, after a restart
    or an undo) Rasa's copy makes its own."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return event is tracker.latest_message
        if isinstance(event, _RESETS):
            return False
    return False


def tracker_copy(self: Any) -> Any:
    """``DialogueStateTracker.copy`` without replaying the session: the events (shared, as Rasa's
    replay shares them), the slots and the loop copied, the rest taken as it is -- the state Rasa's
    replay arrives at. Like Rasa's, the copy has no model id, assistant id or sender source.
    Subclasses (training's trackers), trackers without a slot list and trackers whose bounded
    history has dropped events are copied by Rasa. The follow-up action is the replay's (the
    processor clears the tracker's own before the copy for the follow-up action runs), a tracker
    whose last such event resets it is copied by Rasa, and so is one whose latest message is not
    its last message event (Rasa's copy has an empty message of its own)."""
    if (type(self) is not DialogueStateTracker or type(self.slots) is not dict
            # events dropped off a bounded history: Rasa's replay of those left gives another state
            or (self._max_event_history is not None and len(self.events) >= self._max_event_history)):
        return _rasa_tracker_copy(self)
    known, followup_action = _replayed_followup_action(self.events)
    if not known or not _latest_message_is_an_event(self):
        return _rasa_tracker_copy(self)
    new = DialogueStateTracker(self.sender_id or DEFAULT_SENDER_ID, None, self._max_event_history,
                               is_rule_tracker=self.is_rule_tracker)
    new.events = deque(self.events, self._max_event_history)
    new.slots = {name: copy.copy(slot) for name, slot in self.slots.items()}
    new._paused = self._paused
    new.followup_action = followup_action  # the replay's, as Rasa's copy has it
    new.latest_action = dict(self.latest_action) if self.latest_action is not None else None
    new.latest_message = self.latest_message
    new.latest_bot_utterance = self.latest_bot_utterance
    new.active_loop = dataclasses.replace(self.active_loop) if self.active_loop is not None else None
    return new


def format_rule_states(states: list[dict]) -> str:
    """``RulePolicy.format_tracker_states``, whose only use is a debug message of the rule policy:
    the states formatted when that message is written, else nothing."""
    if not logging.getLogger("rasa.core.policies.rule_policy").isEnabledFor(logging.DEBUG):
        return ""
    return _rasa_format_tracker_states(states)


@functools.lru_cache(maxsize=20_000)
def _rule_length(rule_key: str) -> int:
    return len(json.loads(rule_key))


def _walk_rule_keys(self: Any, lookup: dict[str, str], states: list[dict]) -> set[str]:
    possible_keys = set(lookup.keys())
    longest = max(map(_rule_length, possible_keys), default=0)
    for i, state in enumerate(reversed(states)):
        if i >= longest:
            break
        possible_keys = {key for key in possible_keys if self._is_rule_applicable(key, i, state)}
        longest = max(map(_rule_length, possible_keys), default=0)
    return possible_keys


# (lookup's id, the last states as JSON) -> (the lookup, the keys found); least recently used dropped
_rule_keys_found: OrderedDict[tuple[int, str], tuple[dict, frozenset[str]]] = OrderedDict()
KEPT_RULE_MATCHES = 4_096
# id of a collection of rule keys -> (the collection, the most states a rule in it has)
_longest_rules: dict[int, tuple[Any, int]] = {}


def _longest_rule_in(keys: Any) -> int:
    """The most states a rule key in ``keys`` has (worked out once per collection; the lookup's
    collections do not change once the policy is trained or loaded). Rasa's default-rule names,
    which are not JSON lists of states, are left out."""
    kept = _longest_rules.get(id(keys))
    if kept is None or kept[0] is not keys:
        kept = _longest_rules[id(keys)] = (keys, max((_rule_length(key) for key in keys if key.startswith("[")),
                                                     default=0))
    return kept[1]


def possible_rule_keys(self: Any, lookup: dict[str, str], states: list[dict]) -> set[str]:
    """``RulePolicy._get_possible_keys``: the rule keys whose states match the conversation's last
    states. Rasa walks back over every state; a rule shorter than the walk so far always applies
    (``_is_rule_applicable``), so the walk stops once it is past the longest rule still possible.
    What it finds therefore depends only on the rules and the last states, as many as the longest
    rule has: found once for each such ending (conversations end their turns in the same few
    states) and kept."""
    longest = _longest_rule_in(lookup)
    try:
        ending = json.dumps(states[-longest:] if longest else [], sort_keys=True)
    except (TypeError, ValueError):  # a state JSON cannot hold: not kept
        return _walk_rule_keys(self, lookup, states)
    key = (id(lookup), ending)
    found = _rule_keys_found.get(key)
    if found is None or found[0] is not lookup:
        found = _rule_keys_found[key] = (lookup, frozenset(_walk_rule_keys(self, lookup, states)))
        while len(_rule_keys_found) > KEPT_RULE_MATCHES:
            _rule_keys_found.popitem(last=False)
    else:
        _rule_keys_found.move_to_end(key)
    return set(found[1])


# A rule policy key no rule has (keys are JSON lists of states).
NO_RULE_KEY = "caredesk: no rule of this many states"
_rule_predicting = False


def rule_prediction(self: Any, tracker: Any, domain: Any, rule_only_data: Any = None, **kwargs: Any) -> Any:
    """``RulePolicy.predict_action_probabilities``, noting that a prediction is being made (for
    :func:`rule_feature_key`)."""
    global _rule_predicting
    _rule_predicting = True
    try:
        return _rasa_rule_prediction(self, tracker, domain, rule_only_data, **kwargs)
    finally:
        _rule_predicting = False


def rule_feature_key(self: Any, states: list[dict]) -> str | None:
    """``RulePolicy._create_feature_key``. When no rule applies, a prediction makes the key of the
    whole conversation's states (as JSON: 7% of the samples at 200 turns), whose only use there is
    to hide the turn if it is one of the rules not in stories. A key of more states than any of
    those is none of them: while predicting, past that length (no rule snippet among the last
    states, which would cut the key) a key no rule has is given instead. Training gets Rasa's."""
    if _rule_predicting:
        from rasa.core.policies.rule_policy import RULES_NOT_IN_STORIES

        longest = _longest_rule_in(self.lookup.get(RULES_NOT_IN_STORIES, []))
        if len(states) > longest and not any(self._is_rule_snippet_state(state) for state in states[-(longest + 1):]):
            return NO_RULE_KEY
    return _rasa_rule_feature_key(self, states)


_event_classes: dict[str, type] = {}


@staticmethod  # type: ignore[misc]
def event_class(type_name: str, default: type | None = None) -> type | None:
    """``Event.resolve_by_type``: the first event class (of all imported subclasses, in Rasa's
    order) with this type name. Rasa walks the whole class tree (``all_subclasses``, an
    ``inspect.isabstract`` per class) for every event it reads from the store or an action's
    answer (5% of the samples); a name found is remembered. The event classes are Rasa's and
    defined when it is imported; names not found go to Rasa's (its default, "topic", its error)."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _rasa_resolve_event(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


_empty_domain: list[dict] = []


def domain_is_empty(self: Any) -> bool:
    """``Domain.is_empty`` comparing with the empty domain's dict made once (Rasa builds an empty
    ``Domain`` for the comparison on every message)."""
    from rasa.shared.core.domain import Domain

    if not _empty_domain:
        _empty_domain.append(Domain.empty().as_dict())
    return bool(self.as_dict() == _empty_domain[0])


def graph_run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
    """``DaskGraphRunner.run`` with the dask graph of each list of targets built once per runner."""
    import dask
    from rasa.engine.exceptions import GraphRunError

    run_targets = targets if targets else self._graph_schema.target_names
    graphs = self.__dict__.setdefault("_graphs_by_targets", {})
    key = tuple(run_targets)
    if key not in graphs:
        graphs[key] = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
    run_graph = dict(graphs[key])
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    if _graph_log.isEnabledFor(logging.DEBUG):
        _graph_log.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
    try:
        return dict(dask.get(run_graph, run_targets))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def apply() -> None:
    """Install the patches (idempotent)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from bot import state_history

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    RemoteAction._action_call_format = action_call_format  # type: ignore[method-assign]
    EndpointConfig.session = endpoint_session  # type: ignore[method-assign]
    RulePolicy._get_possible_keys = possible_rule_keys  # type: ignore[method-assign]
    DialogueStateTracker.copy = tracker_copy  # type: ignore[method-assign]
    RulePolicy.format_tracker_states = staticmethod(format_rule_states)  # type: ignore[method-assign,assignment]
    DaskGraphRunner.run = graph_run  # type: ignore[method-assign]
    Event.resolve_by_type = event_class  # type: ignore[method-assign,assignment]
    Domain.is_empty = domain_is_empty  # type: ignore[method-assign]
    RulePolicy.predict_action_probabilities = rule_prediction  # type: ignore[method-assign]
    RulePolicy._create_feature_key = rule_feature_key  # type: ignore[method-assign]
    state_history.apply()


def active() -> bool:
    """Whether this process runs with the patches installed."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from bot import state_history

    return (DaskGraphRunner.run is graph_run  # type: ignore[comparison-overlap]
            and Event.__dict__["resolve_by_type"] is event_class
            and Domain.is_empty is domain_is_empty  # type: ignore[comparison-overlap]
            and RulePolicy.predict_action_probabilities is rule_prediction  # type: ignore[comparison-overlap]
            and RulePolicy._create_feature_key is rule_feature_key  # type: ignore[comparison-overlap]
            and RemoteAction._validate_action_result is validate_action_result  # type: ignore[comparison-overlap]
            and RemoteAction._action_call_format is action_call_format  # type: ignore[comparison-overlap]
            and EndpointConfig.session is endpoint_session  # type: ignore[comparison-overlap]
            and RulePolicy._get_possible_keys is possible_rule_keys  # type: ignore[comparison-overlap]
            and DialogueStateTracker.copy is tracker_copy  # type: ignore[comparison-overlap]
            and RulePolicy.format_tracker_states is format_rule_states  # type: ignore[comparison-overlap]
            and Domain.states_for_tracker_history is state_history.states_for_tracker_history
            and Policy._prediction_states is state_history.prediction_states
            and TrackerFeaturizer.__dict__["_remove_user_text_if_intent"] is state_history.remove_user_text_if_intent)  # type: ignore[comparison-overlap]
