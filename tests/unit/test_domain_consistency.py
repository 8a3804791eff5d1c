"""The domain and the action code agree: every action exists (the responses the actions name are
checked in test_responses.py)."""

import importlib
import pkgutil
from pathlib import Path

from rasa_sdk import Action

import actions
from tests.actions_support import load_domain

ACTIONS_DIR = Path(actions.__file__).parent


def _implemented_actions() -> set[str]:
    for module in pkgutil.iter_modules([str(ACTIONS_DIR)]):
        importlib.import_module(f"actions.{module.name}")
    names, stack = set(), list(Action.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("actions.") and "name" in cls.__dict__:
            names.add(cls().name())
    return names


def test_every_custom_action_in_the_domain_is_implemented_and_vice_versa():
    declared = {a for a in load_domain()["actions"] if not a.startswith("utter_")}
    assert declared == _implemented_actions()


def test_every_form_slot_exists_and_can_be_asked_for():
    domain = load_domain()
    askers = set(domain["responses"]) | set(domain["actions"])
    for form, spec in domain["forms"].items():
        for slot in spec["required_slots"]:
            assert slot in domain["slots"], slot
            assert {f"utter_ask_{form}_{slot}", f"action_ask_{form}_{slot}", f"utter_ask_{slot}",
                    f"action_ask_{slot}"} & askers, f"{form} cannot ask for {slot}"


def test_every_intent_has_a_rule():
    import yaml

    domain = load_domain()
    data = Path(__file__).resolve().parents[2] / "data"
    covered = set()
    for path in data.glob("rules*.yml"):
        for rule in yaml.safe_load(path.read_text())["rules"]:
            covered |= {step["intent"] for step in rule["steps"] if "intent" in step}
    assert set(domain["intents"]) <= covered


def test_every_intent_has_a_conversation_test():
    import yaml

    stories_dir = Path(__file__).resolve().parents[1] / "conversations"
    tested = set()
    for path in stories_dir.glob("*.yml"):
        for story in yaml.safe_load(path.read_text())["stories"]:
            tested |= {step["intent"] for step in story["steps"] if "intent" in step}
    assert set(load_domain()["intents"]) - tested == set()
