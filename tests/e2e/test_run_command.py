"""`caredesk run` (what `make run` calls) brings the assistant up and Ctrl-C takes it down."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import yaml

from caredesk.harness import port_open, start_stack, stop_stack
from crm_store.services import users
from crm_store.unit_of_work import UnitOfWork

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
        # A demo gets a first console admin whose generated password is shown once, and it works.
        shown = _wait_for_line(stack, "Console log-in for this demo: admin / ")
        password = shown.split("admin / ", 1)[1].split(" ", 1)[0]
        assert users.authenticate("admin", password, UnitOfWork(stack.database_url)).role == "admin"
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
        assert "Console log-in for this demo" not in output  # made once, never shown again
        assert stack.say("e2e-2", "thanks")
    finally:
        assert stop_stack(stack) == 0
    print(f"\ncaredesk run: first start {first:.1f} s, second start {second:.1f} s")


def _wait_for_line(stack, needle: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(stack.lines):
            if needle in line:
                return line
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} was never printed")
