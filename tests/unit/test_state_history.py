"""The kept state history (bot/state_history.py) gives exactly Rasa's states, call after call, on
conversations that grow, get undone, restart, run forms and are read back from the store."""

from __future__ import annotations

import random

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    FollowupAction,
    LoopInterrupted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import state_history


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load("domain.yml")


@pytest.fixture(autouse=True)
def fresh():
    state_history.forget_all()
    yield
    state_history.forget_all()


def _rasa(domain, tracker, **flags):
    return state_history._original(domain, tracker, **flags)


def _ours(domain, tracker, **flags):
    return state_history.states_for_tracker_history(domain, tracker, **flags)


def _flag_sets(domain):
    rule_only = {"rule_only_slots": [domain.slots[0].name], "rule_only_loops": [domain.form_names[0]]}
    return [{}, {"omit_unset_slots": True}, {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
            {"ignore_rule_only_turns": True, "rule_only_data": None}]


def _random_events(domain, rng: random.Random, turns: int):
    intents = domain.intents[:12]
    slots = [slot for slot in domain.slots if slot.name != "session_started_metadata"][:8]
    actions = [a for a in domain.action_names_or_texts if a.startswith(("utter_", "action_"))][:15]
    form = domain.form_names[0]
    entity = domain.entities[0]
    for _ in range(turns):
        yield UserUttered(f"text {rng.random()}", {"name": rng.choice(intents), "confidence": 0.9},
                          entities=[{"entity": entity, "value": "x"}] if rng.random() < 0.3 else [])
        roll = rng.random()
        if roll < 0.08:
            yield UserUtteranceReverted()
            continue
        if roll < 0.16:
            yield ActionExecuted(form)
            yield ActiveLoop(form)
            yield SlotSet(slots[0].name, rng.choice([None, "a", 1.0, True]))
            yield ActionExecuted("action_listen")
            continue
        if roll < 0.2:
            yield LoopInterrupted(True)
            yield ActiveLoop(None)
        if roll < 0.25:
            yield FollowupAction(rng.choice(actions))
        if rng.random() < 0.5:
            slot = rng.choice(slots)
            yield SlotSet(slot.name, rng.choice([None, "a", "b", 2.0, True, False]))
        action = rng.choice(actions)
        yield ActionExecuted(action, hide_rule_turn=rng.random() < 0.3)
        yield BotUttered("reply")
        if rng.random() < 0.05:
            yield ActionReverted()
        if rng.random() < 0.03:
            yield ActionExecuted("action_session_start")
            yield SessionStarted()
        yield ActionExecuted("action_listen")


@pytest.mark.parametrize("seed", range(6))
def test_growing_conversations_give_rasas_states_after_every_event(domain, seed):
    rng = random.Random(seed)
    tracker = DialogueStateTracker(f"c{seed}", domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    calls = 0
    for event in _random_events(domain, rng, 40):
        tracker.update(event)
        for flags in _flag_sets(domain):
            assert _ours(domain, tracker, **flags) == _rasa(domain, tracker, **flags)
            calls += 1
    assert calls > 400


@pytest.mark.parametrize("seed", range(20))
def test_the_applied_events_are_rasas(domain, seed):
    tracker = DialogueStateTracker("c", domain.slots)
    for event in _random_events(domain, random.Random(seed), 60):
        tracker.update(event)
        assert state_history.applied_events(tracker) == state_history._original_applied_events(tracker)
    assert [id(e) for e in state_history.applied_events(tracker)] == [
        id(e) for e in state_history._original_applied_events(tracker)]


@pytest.mark.parametrize("seed", range(8))
def test_the_applied_events_continued_from_the_last_walk_are_rasas(domain, seed):
    """The walk continues from the last one only for the same event objects: forks of one
    conversation (a copy that went another way), trackers rebuilt from the stored events, and a
    second loop activated late (which changes how earlier turns of that loop read) walk anew."""
    rng = random.Random(seed)
    forms = domain.form_names[:3]
    tracker = DialogueStateTracker("c", domain.slots)
    for event in _random_events(domain, rng, 50):
        tracker.update(event)
        roll = rng.random()
        if roll < 0.1:
            fork = tracker.copy()
            fork.update(ActionExecuted(rng.choice(forms)))
            fork.update(ActiveLoop(rng.choice(forms)))
            assert state_history.applied_events(fork) == state_history._original_applied_events(fork)
        elif roll < 0.15:
            tracker.update(ActionExecuted(rng.choice(forms)))
            tracker.update(ActiveLoop(rng.choice(forms)))
        elif roll < 0.2:
            tracker = DialogueStateTracker.from_events(
                "c", deserialise_events([e.as_dict() for e in tracker.events]), domain.slots)
        ours, rasas = state_history.applied_events(tracker), state_history._original_applied_events(tracker)
        assert [id(e) for e in ours] == [id(e) for e in rasas]
        ours.append(ActionExecuted("action_listen"))  # the caller's list is its own
        assert state_history.applied_events(tracker) == rasas


@pytest.mark.parametrize("seed", range(6))
def test_a_turn_read_back_from_the_store_continues_the_walk_with_the_new_objects(domain, seed, monkeypatch):
    """Each turn the tracker store reads the last turn's events back from the database: the same
    events as other objects. The walk adopts them (its result must hold the objects the tracker
    holds, as Rasa's does) instead of walking the conversation again; a read-back event the walk
    would treat otherwise (another action name) walks anew."""
    rng = random.Random(seed)
    walked = []
    real_walk = state_history._walk
    monkeypatch.setattr(state_history, "_walk", lambda t, events, *rest: walked.append(len(events))
                        or real_walk(t, events, *rest))
    live = DialogueStateTracker("stored", domain.slots)
    for turn, event in enumerate(_random_events(domain, rng, 60)):
        live.update(event)
        if turn % 7:
            continue
        state_history.applied_events(live)
        events = list(live.events)
        tail = min(rng.randint(1, 8), len(events))
        read_back = events[:-tail] + deserialise_events([e.as_dict() for e in events[-tail:]])
        altered = False
        if rng.random() < 0.2:  # read back as another action: not alike
            where = next((i for i in range(len(read_back) - 1, len(read_back) - tail - 1, -1)
                          if isinstance(read_back[i], ActionExecuted)), None)
            if where is not None:
                read_back[where], altered = ActionExecuted("utter_something_else"), True
        live = DialogueStateTracker.from_events("stored", read_back, domain.slots)
        walked.clear()
        ours, rasas = state_history.applied_events(live), state_history._original_applied_events(live)
        assert [id(e) for e in ours] == [id(e) for e in rasas]
        assert walked == ([len(read_back)] if altered else [0])  # walked anew, or only what is new: nothing


def test_the_stored_copy_of_a_turn_continues_the_history_only_where_it_gives_the_same_states(domain):
    rng = random.Random(42)
    events = list(_random_events(domain, rng, 30))
    live = DialogueStateTracker("c", domain.slots)
    for event in events:
        live.update(event)
        _ours(domain, live)
    from bot.tracker_store import redacted_events

    stored = deserialise_events(redacted_events(event.as_dict() for event in events))
    stored[0].text = "[redacted]"  # the store's copy of a message with personal data
    read_back = DialogueStateTracker.from_events("c", stored, domain.slots)
    read_back.update(UserUttered("next", {"name": domain.intents[0], "confidence": 1.0}))
    for flags in _flag_sets(domain):
        assert _ours(domain, read_back, **flags) == _rasa(domain, read_back, **flags)


def test_the_stored_copy_continues_the_kept_history_without_building_it_again(domain, monkeypatch):
    """The store's copy of a turn (no metadata, no entity texts) must not cost a rebuild: that
    was every turn under load, the states still 25% of the Rasa server's samples at 200 turns."""
    from bot.tracker_store import redacted_events

    live = DialogueStateTracker("c", domain.slots)
    live.update(ActionExecuted("action_listen"))
    for number in range(30):
        live.update(UserUttered(f"order {number}", {"name": domain.intents[0], "confidence": 1.0},
                                entities=[{"entity": domain.entities[0], "value": "x", "text": "x", "start": 0}],
                                metadata={"client": "web", "identity": {"cid": 3, "sig": "secret"}}))
        live.update(ActionExecuted("utter_greet"))
        live.update(BotUttered("hello", metadata={"utter_action": "utter_greet", "other": 1}))
        live.update(ActionExecuted("action_listen"))
    _ours(domain, live)
    read_back = DialogueStateTracker.from_events(
        "c", deserialise_events(redacted_events(event.as_dict() for event in live.events)), domain.slots)
    read_back.update(UserUttered("next", {"name": domain.intents[0], "confidence": 1.0}))
    steps = []
    real_step = state_history._step
    monkeypatch.setattr(state_history, "_step", lambda *args: steps.append(1) or real_step(*args))
    assert _ours(domain, read_back) == _rasa(domain, read_back)
    assert len(steps) <= 2  # the new message's state and the end, not the 60 kept ones


def test_after_the_stored_copy_is_checked_once_the_next_calls_compare_its_events_by_identity(domain, monkeypatch):
    """Each read from the store brings new event objects. Once they are found to continue the kept
    history, the kept history holds them: the turn's further calls (each policy, each prediction)
    and the next turn's read (the store keeps its parsed events) compare objects, not contents
    (comparing contents was 15% of the Rasa server's samples at 150 turns)."""
    from bot.tracker_store import redacted_events

    live = DialogueStateTracker("c", domain.slots)
    live.update(ActionExecuted("action_listen"))
    for intent in domain.intents[:15]:
        live.update(UserUttered(f"about {intent}", {"name": intent, "confidence": 1.0}))
        live.update(ActionExecuted("utter_greet"))
        live.update(BotUttered("hello"))
        live.update(ActionExecuted("action_listen"))
    _ours(domain, live)
    stored = deserialise_events(redacted_events(event.as_dict() for event in live.events))
    read_back = DialogueStateTracker.from_events("c", stored, domain.slots)
    compared = []
    real_same = state_history._same
    monkeypatch.setattr(state_history, "_same", lambda a, b: compared.append(1) or real_same(a, b))
    assert _ours(domain, read_back) == _rasa(domain, read_back)
    assert len(compared) > 30  # the first call compares contents
    compared.clear()
    read_back.update(UserUttered("next", {"name": domain.intents[0], "confidence": 1.0}))
    assert _ours(domain, read_back) == _rasa(domain, read_back)
    again = DialogueStateTracker.from_events("c", stored + [read_back.events[-1]], domain.slots)
    assert _ours(domain, again) == _rasa(domain, again)
    assert compared == []


def test_a_caller_changing_the_states_does_not_change_the_next_answer(domain):
    tracker = DialogueStateTracker("c", domain.slots)
    for event in _random_events(domain, random.Random(3), 10):
        tracker.update(event)
    first = _ours(domain, tracker)
    expected = _rasa(domain, tracker)
    for state in first:  # as Rasa's featurizer does (_choose_last_user_input, _remove_user_text_if_intent)
        state.get("user", {}).clear()
        state.pop("slots", None)
    assert _ours(domain, tracker) == expected


def test_two_conversations_and_a_shorter_tracker_of_the_same_one_are_kept_apart(domain):
    a, b = (DialogueStateTracker(name, domain.slots) for name in "ab")
    for event in _random_events(domain, random.Random(5), 15):
        a.update(event)
    for event in _random_events(domain, random.Random(6), 15):
        b.update(event)
    assert _ours(domain, a) == _rasa(domain, a)
    assert _ours(domain, b) == _rasa(domain, b)
    earlier = DialogueStateTracker.from_events("a", list(a.events)[:20], domain.slots)
    assert _ours(domain, earlier) == _rasa(domain, earlier)
    assert _ours(domain, a) == _rasa(domain, a)


def test_the_patch_is_what_the_rasa_server_runs(domain, monkeypatch):
    from rasa.core.actions.action import RemoteAction

    from bot import rasa_patches

    monkeypatch.setattr(Domain, "states_for_tracker_history", Domain.states_for_tracker_history)
    monkeypatch.setattr(DialogueStateTracker, "applied_events", DialogueStateTracker.applied_events)
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    from rasa.core.policies.rule_policy import RulePolicy

    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    monkeypatch.setattr(DialogueStateTracker, "copy", DialogueStateTracker.copy)
    monkeypatch.setattr(RulePolicy, "format_tracker_states", RulePolicy.format_tracker_states)
    from rasa.core.policies.policy import Policy

    monkeypatch.setattr(Policy, "_prediction_states", Policy._prediction_states)
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer

    monkeypatch.setattr(TrackerFeaturizer, "_remove_user_text_if_intent",
                        TrackerFeaturizer.__dict__["_remove_user_text_if_intent"])
    rasa_patches.apply()
    assert rasa_patches.active()
    assert Domain.states_for_tracker_history is state_history.states_for_tracker_history
    assert DialogueStateTracker.applied_events is state_history.applied_events


def test_a_new_domain_at_a_freed_domains_address_does_not_continue_its_history(domain):
    """A model loaded anew (``PUT /model``, ``rasa run`` reloading) brings a new Domain; CPython gives
    new objects the addresses of freed ones, so a history kept by ``id(domain)`` alone was continued
    with the old domain's states."""
    import copy
    import gc

    as_dict = domain.as_dict()
    quiet = copy.deepcopy(as_dict)  # the same domain, no intent using entities
    quiet["intents"] = [{(i if isinstance(i, str) else next(iter(i))): {"use_entities": []}} for i in quiet["intents"]]
    tracker = DialogueStateTracker.from_events("reloaded", [
        ActionExecuted("action_listen"),
        UserUttered("hi", {"name": domain.intents[0], "confidence": 1.0},
                    [{"entity": domain.entities[0], "value": "x"}]),
        ActionExecuted("action_listen")], domain.slots)
    variants_at: dict[int, set[bool]] = {}
    for attempt in range(40):
        is_quiet = bool(attempt // 2 % 2)
        current = Domain.from_dict(quiet if is_quiet else as_dict)
        variants_at.setdefault(id(current), set()).add(is_quiet)
        assert _ours(current, tracker) == _rasa(current, tracker), f"attempt {attempt}"
        del current
        gc.collect()
    # Before the fix a quiet domain came at a freed full one's address (attempt 15) and got its entities;
    # the kept history now holds its domain, so no address is reused while it is kept.
    assert len(variants_at) >= 1


@pytest.fixture(scope="module")
def policies(tmp_path_factory):
    """The two policies of config.yml, as Rasa builds them."""
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    storage = LocalModelStorage(tmp_path_factory.mktemp("policies"))
    context = ExecutionContext(GraphSchema({}), "test")
    return [cls.create({**cls.get_default_config()}, storage, Resource(cls.__name__), context)
            for cls in (MemoizationPolicy, RulePolicy)]


@pytest.mark.parametrize("seed", range(8))
def test_the_policies_prediction_states_are_rasas_call_after_call(domain, policies, seed, monkeypatch):
    """Rasa's featurizer deletes the user text from every state that has an intent, so the history's
    states were copied on every call (15% of the Rasa server's samples at ~150 turns). When the
    memoization or rule policy asks, the kept states come as the featurizer leaves them, shared
    between calls; only the last one (whose text or intent it chooses) is a copy. The states the
    policies get must be Rasa's, call after call, though the featurizer works on them."""
    from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
    from rasa.core.policies.policy import Policy

    original = Policy._prediction_states
    rasas_removal = TrackerFeaturizer.__dict__["_remove_user_text_if_intent"]
    monkeypatch.setattr(TrackerFeaturizer, "_remove_user_text_if_intent", rasas_removal)
    monkeypatch.setattr(Domain, "states_for_tracker_history", state_history.states_for_tracker_history)
    rule_only = {"rule_only_slots": [domain.slots[0].name], "rule_only_loops": [domain.form_names[0]]}
    tracker = DialogueStateTracker(f"p{seed}", domain.slots)
    tracker.update(ActionExecuted("action_listen"))
    copied, longest, kept_states = [], 0, 0
    real_copy = state_history._copy
    monkeypatch.setattr(state_history, "_copy", lambda *args: copied.append(1) or real_copy(*args))
    for event in _random_events(domain, random.Random(seed), 40):
        tracker.update(event)
        for policy in policies:
            for use_text in (False, True):
                for data in (None, rule_only):
                    monkeypatch.setattr(TrackerFeaturizer, "_remove_user_text_if_intent",
                                        state_history.remove_user_text_if_intent)
                    ours = state_history.prediction_states(policy, tracker, domain, use_text, data)
                    longest = max(longest, len(ours))
                    monkeypatch.setattr(Domain, "states_for_tracker_history", state_history._original)
                    monkeypatch.setattr(TrackerFeaturizer, "_remove_user_text_if_intent", rasas_removal)
                    assert ours == original(policy, tracker, domain, use_text, data)
                    kept_states += any(type(state) is state_history._Featurized for state in ours)
                    monkeypatch.setattr(Domain, "states_for_tracker_history", state_history.states_for_tracker_history)
    assert longest > 20 and kept_states > 100  # the kept states came, and the featurizer's walk stopped at them
    # the calls Rasa's policies make copy the last state only, however long the history (the
    # memoization policy never asks for the text)
    for policy, use_text in ((policies[0], False), (policies[1], False), (policies[1], True)):
        copied.clear()
        state_history.prediction_states(policy, tracker, domain, use_text, rule_only)
        assert len(copied) <= 1
