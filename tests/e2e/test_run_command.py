"""`caredesk run` (what `make run` calls) brings the assistant up and Ctrl-C takes it down."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import free_port, port_open, post_json

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _start(var_dir: Path, rasa_port: int, action_port: int):
    env = {**os.environ, "CAREDESK_VAR_DIR": str(var_dir), "RASA_PORT": str(rasa_port),
           "ACTION_PORT": str(action_port), "CAREDESK_PROJECT_DIR": str(PROJECT)}
    env.pop("DATABASE_URL", None)
    env.pop("TRACKER_STORE_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "caredesk.cli", "run", "--customers", "30"],
                               cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: list[str] = []
    ready = threading.Event()

    def _read():
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    threading.Thread(target=_read, daemon=True).start()
    return process, lines, ready


def _wait_ready(process, lines, ready, timeout=900) -> float:
    started = time.monotonic()
    while not ready.wait(1):
        if process.poll() is not None or time.monotonic() - started > timeout:
            process.kill()
            pytest.fail("caredesk run did not come up:\n" + "".join(lines[-40:]))
    return time.monotonic() - started


def _stop(process) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(60)


def test_run_starts_everything_answers_over_rest_and_ctrl_c_stops_it(tmp_path):
    rasa_port, action_port = free_port(), free_port()
    process, lines, ready = _start(tmp_path, rasa_port, action_port)
    try:
        first = _wait_ready(process, lines, ready)
        output = "".join(lines)
        assert "Seeded 30 customers" in output
        assert f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook" in output

        reply = post_json(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                          {"sender": "e2e-1", "message": "hello"})
        greeting = yaml.safe_load((PROJECT / "domain.yml").read_text())["responses"]["utter_greet"][0]["text"]
        assert [m["text"] for m in reply] == [greeting]
    finally:
        code = _stop(process)
    assert code == 0
    assert "All CareDesk processes stopped." in "".join(lines)
    assert not port_open(rasa_port) and not port_open(action_port)

    # The conversation was kept in the embedded tracker store.
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        events = db.execute("SELECT type_name FROM events WHERE sender_id = 'e2e-1'").fetchall()
    assert ("user",) in events and ("bot",) in events

    # A second start reuses the database and the model: no seeding, no training.
    process, lines, ready = _start(tmp_path, rasa_port, action_port)
    try:
        second = _wait_ready(process, lines, ready, timeout=300)
        output = "".join(lines)
        assert "Seeding" not in output and "Training the Rasa model" not in output
        assert post_json(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                         {"sender": "e2e-2", "message": "thanks"})
    finally:
        assert _stop(process) == 0
    print(f"\ncaredesk run: first start {first:.1f} s, second start {second:.1f} s")
