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
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError, best_match


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


def apply() -> None:
    """Install the patches (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    from bot import state_history

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    state_history.apply()


def active() -> bool:
    """Whether this process runs with the patches installed."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain

    from bot import state_history

    return (RemoteAction._validate_action_result is validate_action_result  # type: ignore[comparison-overlap]
            and Domain.states_for_tracker_history is state_history.states_for_tracker_history)
