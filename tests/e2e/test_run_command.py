"""`caredesk run` (what `make run` calls) brings the assistant up and Ctrl-C takes it down."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import port_open, start_stack, stop_stack

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def test_run_starts_everything_answers_over_rest_and_ctrl_c_stops_it(tmp_path):
    started = time.monotonic()
    stack = start_stack(tmp_path)
    first = time.monotonic() - started
    try:
        output = "".join(stack.lines)
        assert "Seeded 30 customers" in output
        assert stack.rest_url in output
        greeting = yaml.safe_load((PROJECT / "domain.yml").read_text())["responses"]["utter_greet"][0]["text"]
        assert [m["text"] for m in stack.say("e2e-1", "hello")] == [greeting]
    finally:
        code = stop_stack(stack)
    assert code == 0
    assert "All CareDesk processes stopped." in "".join(stack.lines)
    assert not port_open(stack.rasa_port) and not port_open(stack.action_port)

    # The conversation was kept in the embedded tracker store (a trusted integration's: api:<sender>).
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        events = db.execute("SELECT type_name FROM events WHERE sender_id = 'api:e2e-1'").fetchall()
    assert ("user",) in events and ("bot",) in events

    # A second start reuses the database and the model: no seeding, no training.
    started = time.monotonic()
    stack = start_stack(tmp_path, timeout=300)
    second = time.monotonic() - started
    try:
        output = "".join(stack.lines)
        assert "Seeding" not in output and "Training the Rasa model" not in output
        assert stack.say("e2e-2", "thanks")
    finally:
        assert stop_stack(stack) == 0
    print(f"\ncaredesk run: first start {first:.1f} s, second start {second:.1f} s")
