"""What customers type never reaches the logs unredacted, even when Rasa quotes it in a warning."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

SECRETS = ("bob.private@example.org", "+49 30 9999999", "4111 1111 1111 1111")


def test_a_slash_message_rasa_cannot_parse_is_logged_redacted(stack):
    # Rasa warns "Failed to parse arguments in line '<the whole message>'" for such text.
    for text in (f"/help my email is {SECRETS[0]} and my phone {SECRETS[1]}",
                 f"/complaint {{my card is {SECRETS[2]}, mail {SECRETS[0]}}}"):
        assert isinstance(stack.say_public("slash-writer", text), list)
        assert isinstance(stack.say("slash-writer", text), list)
    logs = "".join(path.read_text(errors="replace") for path in (stack.var_dir / "logs").glob("*.log"))
    assert "Failed to parse" in logs and "[email]" in logs  # Rasa did quote the message, redacted
    for secret in SECRETS:
        assert secret not in logs


def test_databases_and_logs_are_readable_by_their_owner_only(stack):
    import stat

    assert stat.S_IMODE(stack.var_dir.stat().st_mode) == 0o700
    files = [p for p in stack.var_dir.rglob("*") if p.is_file()]
    assert any(p.name == "tracker.db" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
