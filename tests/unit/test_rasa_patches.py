"""bot/rasa_patches.py: Rasa's action-server response check, with its validator built once."""

import pytest
from jsonschema import ValidationError

from bot import rasa_patches


@pytest.fixture
def remote_action():
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    rasa_patches.apply()
    yield RemoteAction("action_anything", None)
    RemoteAction._validate_action_result = original


def test_the_launcher_installs_the_patches_before_rasa_runs(monkeypatch, tmp_path):
    import rasa.__main__
    from rasa.core.actions.action import RemoteAction

    from caredesk import rasa_launcher

    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(rasa_launcher, "redact_logs_and_warnings", lambda: None)
    monkeypatch.setattr(rasa_launcher.sys, "argv", ["caredesk.rasa_launcher", "run"])
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
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
