"""bot/rasa_patches.py: Rasa's action-server response check, with its validator built once, and
request bodies encoded with ujson."""

import pytest
from jsonschema import ValidationError

from bot import rasa_patches


def _restored_after_the_test(monkeypatch) -> None:
    """Every method the patches replace is put back when the test ends."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    for owner, name in ((RemoteAction, "_validate_action_result"), (EndpointConfig, "session"),
                        (Domain, "states_for_tracker_history"), (DialogueStateTracker, "applied_events")):
        monkeypatch.setattr(owner, name, getattr(owner, name))


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


def test_a_body_neither_encoder_takes_fails_as_it_did():
    import json

    class Unknown:
        pass

    assert json.loads(rasa_patches.encoded({"big": 10**30})) == {"big": 10**30}
    with pytest.raises(TypeError):
        rasa_patches.encoded({"x": Unknown()})
