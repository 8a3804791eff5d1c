"""bot/rasa_patches.py: Rasa's action-server response check, with its validator built once, and
request bodies encoded with ujson."""

import inspect

import pytest
from jsonschema import ValidationError

from bot import rasa_patches


def _restored_after_the_test(monkeypatch) -> None:
    """Every method the patches replace is put back when the test ends."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.core.policies.policy import Policy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    for owner, name in ((RemoteAction, "_validate_action_result"), (RemoteAction, "_action_call_format"),
                        (EndpointConfig, "session"),
                        (RulePolicy, "_get_possible_keys"), (DialogueStateTracker, "copy"),
                        (RulePolicy, "format_tracker_states"), (Policy, "_prediction_states"),
                        (Domain, "states_for_tracker_history"), (DialogueStateTracker, "applied_events"),
                        (DaskGraphRunner, "run"), (Event, "resolve_by_type"), (Domain, "is_empty"),
                        (TrackerFeaturizer, "_remove_user_text_if_intent")):
        monkeypatch.setattr(owner, name, inspect.getattr_static(owner, name))


@pytest.fixture
def remote_action(monkeypatch):
    from rasa.core.actions.action import RemoteAction

    _restored_after_the_test(monkeypatch)
    rasa_patches.apply()
    return RemoteAction("action_anything", None)


def test_the_launcher_installs_the_patches_before_rasa_runs(monkeypatch, tmp_path):
    import rasa.__main__

    from caredesk import rasa_launcher

    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(rasa_launcher, "redact_logs_and_warnings", lambda: None)
    monkeypatch.setattr(rasa_launcher.sys, "argv", ["caredesk.rasa_launcher", "run"])
    _restored_after_the_test(monkeypatch)
    seen = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(rasa_patches.active()))
    rasa_launcher.main()
    assert seen == [True]


def test_a_valid_response_passes_and_the_schema_is_checked_only_once(remote_action, monkeypatch):
    from jsonschema import validators

    rasa_patches.action_response_validator.cache_clear()
    checks = []
    validator_class = validators.validator_for(remote_action.action_response_format_spec())
    original_check = validator_class.check_schema
    monkeypatch.setattr(validator_class, "check_schema",
                        classmethod(lambda cls, schema: (checks.append(1), original_check(schema))[1]))
    response = {"events": [{"event": "slot", "name": "verified", "value": True}],
                "responses": [{"response": "utter_greet"}]}
    for _ in range(3):
        assert remote_action._validate_action_result(response) is True
    assert checks == [1]


@pytest.mark.parametrize("response", [
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": ["a bare string"]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot event without its name
])
def test_an_invalid_response_is_still_rejected_with_rasas_message(remote_action, response):
    with pytest.raises(ValidationError) as raised:
        remote_action._validate_action_result(response)
    assert "Failed to validate Action server response from API" in raised.value.message


@pytest.mark.parametrize("body", [
    {"tracker": {"events": [{"event": "user", "text": "Grüße, ça va? 你好 / \\ \"q\"", "confidence": 0.1 + 0.2}]}},
    {"n": [1, 2.5, -3e-12, 10**15, True, None], "nested": {"k": {"deep": ["x"]}}, "nan": float("nan")},
])
def test_request_bodies_reach_the_server_as_the_standard_encoder_sent_them(body, monkeypatch):
    """A real HTTP round trip: what the action server parses is what ``json.dumps`` would have sent."""
    import asyncio
    import json

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    _restored_after_the_test(monkeypatch)
    rasa_patches.apply()
    received = []

    async def scenario():
        async def webhook(request):
            received.append(await request.text())
            return web.json_response({"events": [], "responses": []})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            return await EndpointConfig(f"http://127.0.0.1:{port}/webhook").request(json=body, method="post")
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == {"events": [], "responses": []}
    sent_before = json.loads(json.dumps(body))
    assert json.dumps(json.loads(received[0]), sort_keys=True) == json.dumps(sent_before, sort_keys=True)


def test_action_calls_reuse_one_connection_and_survive_a_server_restart(monkeypatch):
    """Rasa opened a new connection for every custom action call. Calls now share the endpoint's
    connections: the server sees one peer for calls in a row; after the server restarts on the
    same port (its connections gone), and after an idle pause longer than the kept time, the next
    call still gets its answer on a new connection."""
    import asyncio

    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    _restored_after_the_test(monkeypatch)
    rasa_patches.apply()
    monkeypatch.setattr(rasa_patches, "KEEPALIVE_S", 0.3)
    peers: list[tuple] = []

    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": [{"text": str(len(peers))}]})

    async def serve(port: int = 0):
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    async def scenario():
        runner, port = await serve()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(json={"n": n}, method="post") for n in range(3)]
        await runner.cleanup()  # the action server restarts
        runner, _ = await serve(port)
        answers.append(await endpoint.request(json={"n": 3}, method="post"))
        await asyncio.sleep(0.6)  # idle longer than connections are kept
        answers.append(await endpoint.request(json={"n": 4}, method="post"))
        await runner.cleanup()
        return answers

    answers = asyncio.run(scenario())
    assert [a["responses"][0]["text"] for a in answers] == ["1", "2", "3", "4", "5"]
    assert len(set(peers[:3])) == 1  # one connection for the calls in a row
    assert peers[3] != peers[0] and peers[4] != peers[3]


def test_a_body_neither_encoder_takes_fails_as_it_did():
    import json

    class Unknown:
        pass

    assert json.loads(rasa_patches.encoded({"big": 10**30})) == {"big": 10**30}
    with pytest.raises(TypeError):
        rasa_patches.encoded({"x": Unknown()})


def _rule_keys_and_conversations(seed: int):
    """Rule keys as RulePolicy writes them (JSON of 1-5 states), cut from conversations' own states
    (some features left out, some required unset) so that many rules match, and the conversations."""
    import json
    import random

    from rasa.core.policies.rule_policy import SHOULD_NOT_BE_SET
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    rng = random.Random(seed)
    domain = Domain.load("domain.yml")
    intents, slots = domain.intents[:6], [s.name for s in domain.slots if s.type_name == "bool"][:3]
    actions = [a for a in domain.action_names_or_texts if a.startswith("utter_")][:6]
    conversations = []
    for number in range(6):
        tracker = DialogueStateTracker(f"c{number}", domain.slots)
        tracker.update(ActionExecuted("action_listen"))
        for _ in range(rng.randint(3, 40)):
            tracker.update(UserUttered("text", {"name": rng.choice(intents), "confidence": 1.0}))
            if slots and rng.random() < 0.3:
                tracker.update(SlotSet(rng.choice(slots), rng.choice([True, False])))
            tracker.update(ActionExecuted(rng.choice(actions)))
            tracker.update(BotUttered("reply"))
            tracker.update(ActionExecuted("action_listen"))
        states = tracker.past_states(domain)
        for state in states:
            state.get("user", {}).pop("text", None)
        conversations.append(states)
    keys = set()
    for _ in range(300):
        states = rng.choice(conversations)
        end = rng.randint(1, len(states))
        window = [dict(s) for s in states[max(0, end - rng.randint(1, 5)):end]]
        for state in window:
            for kind in list(state):
                sub = {k: v for k, v in state[kind].items() if rng.random() < 0.7}
                if rng.random() < 0.1:
                    sub[rng.choice(["is_verified", "order_id"])] = SHOULD_NOT_BE_SET
                if sub:
                    state[kind] = sub
                else:
                    del state[kind]
        if rng.random() < 0.2 and window:  # a rule that does not match (an intent no one sends)
            window[-1] = {"user": {"intent": "never_sent"}}
        keys.add(json.dumps(window, sort_keys=True))
    return {key: "utter_x" for key in keys}, conversations


@pytest.mark.parametrize("seed", range(4))
def test_the_rule_keys_found_are_rasas_walking_back_only_as_far_as_the_longest_rule(seed, monkeypatch):
    """RulePolicy._get_possible_keys walked back over every state of the conversation, though a rule
    shorter than the walk always applies: an O(conversation) cost on every prediction."""
    from rasa.core.policies.rule_policy import RulePolicy

    lookup, conversations = _rule_keys_and_conversations(seed)
    policy = RulePolicy.__new__(RulePolicy)
    original = RulePolicy._get_possible_keys
    seen = []
    real_is_applicable = RulePolicy._is_rule_applicable
    monkeypatch.setattr(RulePolicy, "_is_rule_applicable",
                        lambda self, key, index, state: seen.append(index)
                        or real_is_applicable(self, key, index, state))
    matched = 0
    rasa_patches._rule_keys_found.clear()
    for states in conversations:
        for end in range(1, len(states) + 1):
            expected = original(policy, lookup, states[:end])
            seen.clear()
            assert rasa_patches.possible_rule_keys(policy, lookup, states[:end]) == expected
            assert max(seen, default=0) < 5
            found = rasa_patches.possible_rule_keys(policy, lookup, states[:end])
            found.add("the caller's own")  # kept: found again, not walked, and not changed by the caller
            assert rasa_patches.possible_rule_keys(policy, lookup, states[:end]) == expected
            matched += bool(expected)
    assert matched > 20
    walked = len(seen)
    other_rules = {key: action for key, action in list(lookup.items())[: len(lookup) // 2]}
    assert rasa_patches.possible_rule_keys(policy, other_rules, conversations[0]) == original(
        policy, other_rules, conversations[0])  # other rules, the same states: their own keys
    assert len(seen) >= walked


def _tracker_state(tracker) -> dict:
    """Everything a tracker holds, events by identity, slots by their attributes."""
    import dataclasses

    state = dict(vars(tracker))
    state["events"] = [id(event) for event in tracker.events]
    state["maxlen"] = tracker.events.maxlen
    state["slots"] = {name: (type(slot), dict(vars(slot))) for name, slot in tracker.slots.items()}
    state["slots_type"] = type(tracker.slots)
    if tracker.active_loop is not None:
        state["active_loop"] = dataclasses.asdict(tracker.active_loop)
    return state


@pytest.mark.parametrize("seed", range(12))
def test_a_tracker_copy_is_rasas_without_replaying_the_conversation(seed, monkeypatch):
    """Rasa copies the tracker before every action (``MessageProcessor._run_action``) by replaying
    every event of the session into a new one: 6% of the Rasa server's samples at ~150 turns. The
    copy takes the state as it is; it must equal Rasa's replayed copy in everything, and be as
    independent of the original."""
    import random

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ConversationPaused, ConversationResumed, EntitiesAdded, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from tests.unit.test_state_history import _random_events

    domain = Domain.load("domain.yml")
    rng = random.Random(seed)
    tracker = DialogueStateTracker(f"c{seed}", domain.slots, max_event_history=None if seed % 3 else 150)
    tracker.model_id, tracker.assistant_id, tracker.sender_source = "m", "a", "s"
    original = DialogueStateTracker.copy
    for number, event in enumerate(_random_events(domain, rng, 60)):
        tracker.update(event)
        if isinstance(event, UserUttered) and rng.random() < 0.3:
            tracker.update(EntitiesAdded([{"entity": domain.entities[0], "value": "y"}]))
        if rng.random() < 0.1:  # a human agent takes the conversation, or gives it back
            tracker.update(rng.choice([ConversationPaused(), ConversationResumed()]))
        if number % 7 == 0:
            ours, rasas = rasa_patches.tracker_copy(tracker), original(tracker)
            assert _tracker_state(ours) == _tracker_state(rasas)
            assert ours.current_state() == rasas.current_state()
            assert ours.past_states(domain) == rasas.past_states(domain)
            for copy in (ours, rasas):  # changing a copy leaves the original as it was
                before = _tracker_state(tracker)
                copy.update(UserUttered("more", {"name": domain.intents[1], "confidence": 1.0}))
                if copy.active_loop is not None:
                    copy.active_loop.is_interrupted = not copy.active_loop.is_interrupted
                for slot in copy.slots.values():
                    slot.value = "changed"
                copy.latest_action["action_name"] = "changed"
                assert _tracker_state(tracker) == before


@pytest.mark.parametrize("then", ["copy", "revert", "restart"])
def test_a_copy_after_the_processor_clears_a_follow_up_action_is_rasas(then, monkeypatch):
    """``MessageProcessor._predict_next_with_tracker`` clears ``followup_action`` on the tracker
    itself (no event), then ``_run_action`` copies the tracker for the follow-up action: Rasa's
    replayed copy has the follow-up action again (its FollowupAction event is replayed), and it is
    sent to the action server (``validate_feedback_form`` after actions/feedback.py's
    ``FollowupAction("feedback_form")``). The copy must be Rasa's there too."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (
        ActionExecuted,
        FollowupAction,
        Restarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    tracker = DialogueStateTracker("c", domain.slots)
    original = DialogueStateTracker.copy
    for event in (ActionExecuted("action_listen"), UserUttered("good", {"name": domain.intents[1], "confidence": 1.0}),
                  ActionExecuted("action_feedback"), SlotSet("next_step", "feedback_form"),
                  FollowupAction("feedback_form")):
        tracker.update(event)
    if then == "revert":
        tracker.update(UserUtteranceReverted())
    elif then == "restart":
        tracker.update(Restarted())
    tracker.clear_followup_action()  # what the processor does before running the follow-up action
    ours, rasas = rasa_patches.tracker_copy(tracker), original(tracker)
    assert ours.followup_action == rasas.followup_action
    assert _tracker_state(ours) == _tracker_state(rasas)
    assert ours.current_state() == rasas.current_state()
    tracker.trigger_followup_action("action_anything")  # set without an event: Rasa's copy loses it
    assert rasa_patches.tracker_copy(tracker).followup_action == original(tracker).followup_action


def test_a_copy_made_before_the_first_message_has_its_own_empty_message(monkeypatch):
    """Before the first message of a session (or after a restart) the tracker's latest message is
    an empty one of its own, not an event; Rasa's copy makes another. An entity added to the copy
    (EntitiesAdded appends to the latest message in place) must not reach the original."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, EntitiesAdded, Restarted, SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("domain.yml")
    original = DialogueStateTracker.copy
    for events in ([ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
                   [ActionExecuted("action_restart"), Restarted()], []):
        tracker = DialogueStateTracker("c", domain.slots)
        for event in events:
            tracker.update(event)
        for copy in (rasa_patches.tracker_copy(tracker), original(tracker)):
            assert copy.latest_message is not tracker.latest_message
            copy.update(EntitiesAdded([{"entity": domain.entities[0], "value": "y"}]))
            assert tracker.latest_message.entities == []


def test_the_rule_policy_formats_the_states_only_for_a_debug_log_that_is_written(monkeypatch):
    """The rule policy formatted every state of the conversation into a debug message on every
    prediction, written or not (5% of the Rasa server's samples at ~150 turns)."""
    import logging

    from rasa.core.policies.policy import Policy
    from rasa.core.policies.rule_policy import RulePolicy

    _restored_after_the_test(monkeypatch)
    rasa_patches.apply()
    formatted = []
    real_format = Policy.format_tracker_states
    monkeypatch.setattr(rasa_patches, "_rasa_format_tracker_states",
                        lambda states: formatted.append(1) or real_format(states))
    states = [{}, {"user": {"intent": "greet"}, "prev_action": {"action_name": "action_listen"}}]
    logger = logging.getLogger("rasa.core.policies.rule_policy")
    level = logger.level
    try:
        logger.setLevel(logging.INFO)
        assert RulePolicy.format_tracker_states(states) == ""
        assert formatted == []
        logger.setLevel(logging.DEBUG)
        assert RulePolicy.format_tracker_states(states) == real_format(states)
        assert "user intent: greet" in RulePolicy.format_tracker_states(states)
    finally:
        logger.setLevel(level)


class _Sum:
    """A graph component adding what its parents gave (and counting its runs)."""

    runs = 0

    @classmethod
    def create(cls, config, model_storage, resource, execution_context):
        return cls()

    def add(self, a, b):
        _Sum.runs += 1
        return a + b


def _runner(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    component = type("Sum", (_Sum, GraphComponent), {})
    node = lambda a, b, target=False: SchemaNode(needs={"a": a, "b": b}, uses=component, fn="add",  # noqa: E731
                                                 constructor_name="create", config={}, is_target=target)
    # a diamond (the shared ancestor is walked once per path) and a second target
    schema = GraphSchema({"left": node("__x__", "__y__"), "right": node("__y__", "__y__"),
                          "joined": node("left", "right", target=True), "other": node("__x__", "__x__", target=True)})
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "model"))


@pytest.mark.parametrize("targets", [None, ["joined"], ["other"], ["left", "other"]])
def test_a_graph_run_gives_rasas_results_pruning_the_graph_once_per_list_of_targets(targets, tmp_path, monkeypatch):
    from rasa.engine.graph import GraphSchema
    from rasa.engine.runner.dask import DaskGraphRunner

    _restored_after_the_test(monkeypatch)
    stock_run = DaskGraphRunner.run
    runner = _runner(tmp_path)
    inputs = [{"__x__": x, "__y__": y} for x, y in ((1, 2), (10, -3), (0, 0))]
    expected, stock_runs = [], []
    for given in inputs:
        _Sum.runs = 0
        expected.append(stock_run(runner, dict(given), targets))
        stock_runs.append(_Sum.runs)

    rasa_patches.apply()
    prunings = []
    prune = GraphSchema.minimal_graph_schema
    monkeypatch.setattr(GraphSchema, "minimal_graph_schema",
                        lambda self, t=None: (prunings.append(t), prune(self, t))[1])
    patched = _runner(tmp_path)
    for given, want, runs in zip(inputs * 2, expected * 2, stock_runs * 2, strict=True):
        _Sum.runs = 0
        assert patched.run(dict(given), targets) == want
        assert _Sum.runs == runs  # the same nodes ran: nothing pruned away, nothing extra
    assert len(prunings) == 1
    assert patched.run(inputs[0], ["other"]) == stock_run(runner, inputs[0], ["other"])  # another list: its own graph


def test_event_classes_are_rasas_found_once(monkeypatch):
    """Event.resolve_by_type walked the whole class tree for every event read (5% of the samples)."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, deserialise_events

    _restored_after_the_test(monkeypatch)
    rasa_resolve = Event.resolve_by_type
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    expected = {name: rasa_resolve(name) for name in names}
    rasa_patches.apply()
    rasa_patches._event_classes.clear()
    walks = []
    real_walk = rasa.shared.utils.common.all_subclasses
    monkeypatch.setattr(rasa.shared.utils.common, "all_subclasses", lambda cls: walks.append(cls) or real_walk(cls))
    for _ in range(3):
        assert {name: Event.resolve_by_type(name) for name in names} == expected
    assert walks.count(Event) == len(names)  # each name looked up once
    assert Event.resolve_by_type("topic") is None and Event.resolve_by_type("nothing", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name 'nothing'"):
        Event.resolve_by_type("nothing")
    events = [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
              {"event": "slot", "name": "x", "value": 1}, {"event": "action", "name": "action_listen"}]
    assert [type(e).__name__ for e in deserialise_events(events)] == ["UserUttered", "SlotSet", "ActionExecuted"]


def test_an_empty_domain_is_told_as_rasa_tells_it(monkeypatch):
    from rasa.shared.core.domain import Domain

    _restored_after_the_test(monkeypatch)
    loaded = Domain.load("domain.yml")
    expected = (Domain.empty().is_empty(), loaded.is_empty(), Domain.from_dict({"intents": ["greet"]}).is_empty())
    rasa_patches.apply()
    assert (Domain.empty().is_empty(), loaded.is_empty(),
            Domain.from_dict({"intents": ["greet"]}).is_empty()) == expected == (True, False, False)


@pytest.mark.parametrize("seed", range(4))
def test_a_prediction_hides_the_turns_rasa_hides_without_writing_the_conversation_as_json(seed, monkeypatch):
    """With no rule applying, the rule policy made the key of the whole conversation's states (JSON
    of every state, twice per prediction) only to ask whether it is a rule not in stories. While
    predicting, a key of more states than any such rule is none of them; training gets Rasa's keys."""
    import json
    import random

    from rasa.core.policies.rule_policy import RULE_SNIPPET_ACTION_NAME, RULES_NOT_IN_STORIES, RulePolicy

    _restored_after_the_test(monkeypatch)
    rasa_key = RulePolicy._create_feature_key
    rng = random.Random(seed)
    pool = [{"prev_action": {"action_name": rng.choice(["action_listen", "utter_a", RULE_SNIPPET_ACTION_NAME])},
             "user": {"intent": rng.choice(["greet", "bye", "ask"])}} for _ in range(6)]
    conversations = [[rng.choice(pool) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    policy = RulePolicy.__new__(RulePolicy)
    unstoried = sorted({json.dumps(c[-rng.randint(1, 3):], sort_keys=True) for c in conversations[:40]})
    policy.lookup = {RULES_NOT_IN_STORIES: ["predicting default action with intent restart", *unstoried]}
    expected = [rasa_key(policy, states) for states in conversations]
    rasa_patches.apply()
    monkeypatch.setattr(rasa_patches, "_rule_predicting", True)
    hidden = 0
    for states, key in zip(conversations, expected, strict=True):
        ours = RulePolicy._create_feature_key(policy, states)
        assert (ours in policy.lookup[RULES_NOT_IN_STORIES]) == (key in policy.lookup[RULES_NOT_IN_STORIES])
        assert ours == key or ours == rasa_patches.NO_RULE_KEY
        hidden += key in policy.lookup[RULES_NOT_IN_STORIES]
    assert hidden > 5 and sum(RulePolicy._create_feature_key(policy, c) == rasa_patches.NO_RULE_KEY
                              for c in conversations) > 15
    monkeypatch.setattr(rasa_patches, "_rule_predicting", False)  # training: Rasa's keys
    assert [RulePolicy._create_feature_key(policy, states) for states in conversations] == expected


def test_the_rule_policy_is_predicting_only_while_it_predicts(monkeypatch):
    from rasa.core.policies.rule_policy import RulePolicy

    _restored_after_the_test(monkeypatch)
    seen = []

    def predict(self, tracker, domain, rule_only_data=None, **kwargs):
        seen.append(rasa_patches._rule_predicting)
        raise RuntimeError("a failing prediction")

    monkeypatch.setattr(rasa_patches, "_rasa_rule_prediction", predict)
    rasa_patches.apply()
    with pytest.raises(RuntimeError):
        RulePolicy.predict_action_probabilities(RulePolicy.__new__(RulePolicy), None, None)
    assert seen == [True] and rasa_patches._rule_predicting is False
