"""The words the customer reads live in domain.yml: every response the actions name exists, and each
call gives every variable the response's texts use. Read from the actions' source (an AST walk), so a
reply that only runs on a rare path is checked too."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import actions
from tests.actions_support import load_domain

ACTIONS_DIR = Path(actions.__file__).parent
# Rasa's template variables ({name}); the same pattern as rasa.core.nlg.interpolator.
VARIABLE = re.compile(r"{([^\n{}]+?)}")
# Keyword arguments of utter_message that are parts of the message, not template variables; a value
# passed under one of the reserved names would replace that part of the message.
MESSAGE_PARTS = {"buttons", "elements"}
RESERVED = {"text", "image", "json_message", "template", "attachment", "custom", "response", "quick_replies"}
REPLY_BUILDERS = {"utter_message", "reply"}  # dispatcher.utter_message(response=...), replies.reply(name, ...)


@dataclass(frozen=True)
class Site:
    where: str
    response: tuple[ast.expr, ...] | None  # the expression, or what its variable is assigned in the function
    values: frozenset[str]
    spread: bool  # values also come from a ** argument
    text: bool  # a text= argument


def _called(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    return assigned


def _sites() -> list[Site]:
    sites: dict[tuple[str, int, int], Site] = {}
    for path in sorted(ACTIONS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Outer scopes first (ast.walk is breadth-first), so a call ends up with its innermost function.
        for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]:
            assigned = _assignments(scope)
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call) or _called(node) not in REPLY_BUILDERS:
                    continue
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
                response = keywords.get("response")
                if response is None and _called(node) == "reply" and node.args:
                    response = node.args[0]
                if isinstance(response, ast.Name) and response.id in assigned:
                    candidates = tuple(assigned[response.id])
                else:
                    candidates = None if response is None else (response,)
                sites[(path.name, node.lineno, node.col_offset)] = Site(f"{path.name}:{node.lineno}", candidates,
                                       frozenset(set(keywords) - {"response"} - MESSAGE_PARTS),
                                       any(k.arg is None for k in node.keywords), "text" in keywords)
    return list(sites.values())


def _names(expr: ast.expr, responses: dict) -> list[str]:
    """The responses a call can name: a literal, either branch of a conditional, or every response
    an f-string such as f"utter_error_{code}" matches."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.IfExp):
        return _names(expr.body, responses) + _names(expr.orelse, responses)
    if isinstance(expr, ast.JoinedStr):
        pattern = "".join(re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z_]+"
                          for part in expr.values)
        matched = [name for name in responses if re.fullmatch(pattern, name)]
        assert matched, f"no response matches {ast.unparse(expr)}"
        return matched
    return []


def _variables(response: list[dict]) -> set[str]:
    return {name for variation in response for name in VARIABLE.findall(variation.get("text") or "")}


SITES = _sites()
RESPONSES = load_domain()["responses"]


def _is_prefix(value: str) -> bool:
    """A constant such as "utter_intent_label_" names a family of responses (one per intent) that an
    action reads from the domain by prefix."""
    return value.startswith("utter_") and value.endswith("_")


def responses_named_by_actions() -> set[str]:
    """Every response an action can send (literal names, both branches of a choice, f-string matches,
    the names held in constants, and the families named by a prefix constant)."""
    named = {n for s in SITES if s.response is not None for e in s.response for n in _names(e, RESPONSES)}
    for path in ACTIONS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in RESPONSES:
                    named.add(node.value)
                elif _is_prefix(node.value):
                    named |= {name for name in RESPONSES if name.startswith(node.value)}
    return named


def test_the_actions_name_responses_at_all():
    assert len([s for s in SITES if s.response is not None]) > 40


@pytest.mark.parametrize("site", [s for s in SITES if s.response is not None], ids=lambda s: s.where)
def test_every_named_response_exists_and_gets_every_variable_it_uses(site):
    names = [name for expr in site.response for name in _names(expr, RESPONSES)]
    if not names:  # a response held in a variable: the string constants are checked below
        return
    assert not site.spread, f"{site.where}: pass a named response's values by name, not with **"
    assert not site.values & RESERVED, f"{site.where}: {site.values & RESERVED} would replace part of the message"
    for name in names:
        assert name in RESPONSES, f"{site.where}: {name} is not in domain.yml"
        missing = _variables(RESPONSES[name]) - site.values
        assert not missing, f"{site.where}: {name} uses {missing}, which the call does not give"


def test_no_action_sends_text_built_in_python():
    assert [s.where for s in SITES if s.text] == []


def test_a_message_without_a_named_response_gets_one_from_a_reply_builder():
    # dispatcher.utter_message(**replies.invoice(info)): the builder's own reply(...) call is checked above.
    assert [s.where for s in SITES if s.response is None and not s.spread] == []


# Names Rasa itself uses that start like a response: the bot event's metadata keeps the response
# it came from under "utter_action".
RASA_KEYS = {"utter_action"}


def test_responses_named_by_constants_elsewhere_exist_and_need_no_values():
    named_at_sites = {n for s in SITES if s.response is not None for e in s.response for n in _names(e, RESPONSES)}
    for path in ACTIONS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("utter_"):
                if node.value in named_at_sites or id(node) in in_fstrings or node.value in RASA_KEYS:
                    continue
                if _is_prefix(node.value):
                    family = [name for name in RESPONSES if name.startswith(node.value)]
                    assert family, f"{path.name}:{node.lineno}: no response starts with {node.value}"
                    assert not any(_variables(RESPONSES[name]) for name in family), f"{node.value}* need no values"
                    continue
                assert node.value in RESPONSES, f"{path.name}:{node.lineno}: {node.value} is not in domain.yml"
                assert not _variables(RESPONSES[node.value]), f"{path.name}:{node.lineno}: {node.value} needs values"



def responses_named_by_channels() -> set[str]:
    """The responses the channels send themselves after a turn that ended without a word
    (bot/channels/conversations.py reads them from the loaded domain by these names)."""
    from bot.channels import conversations

    return {value for name, value in vars(conversations).items() if name.endswith("_RESPONSE")}


def test_responses_the_channels_say_exist_and_need_no_values():
    assert responses_named_by_channels() == {"utter_no_reply", "utter_not_taken"}
    for name in responses_named_by_channels():
        assert name in RESPONSES, f"{name} is not in domain.yml"
        assert not _variables(RESPONSES[name]), f"{name} needs values the channels do not give"
