"""`caredesk rollout` against fake Rasa servers (real HTTP, the real nginx -t on every configuration
written; nginx's reload recorded instead of run): what nginx is told at each step, and after a
server fails to load the model."""

from __future__ import annotations

import http.server
import json
import re
import secrets
import shutil
import threading
from pathlib import Path

import pytest

from caredesk import production
from common.settings import load_settings

pytestmark = pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()),
                                reason="nginx is not installed")


def fake_rasa(fails: bool):
    class Handler(http.server.BaseHTTPRequestHandler):
        loaded: list[str] = []

        def _answer(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if fails:
                self._answer(400, {"message": "could not load"})
            else:
                Handler.loaded.append(body["model_file"])
                self._answer(204, {})

        def do_GET(self):  # noqa: N802
            self._answer(200, {"model_file": Handler.loaded[-1] if Handler.loaded else "old"})

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def rollout(monkeypatch, tmp_path):
    servers: list = []

    def start(*fails: bool):
        servers.extend(fake_rasa(f) for f in fails)
        for name in ("DATABASE_URL", "TRACKER_STORE_URL", "CAREDESK_ENV", "RASA_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("CAREDESK_MODELS_DIR", str(tmp_path / "models"))
        monkeypatch.setenv("RASA_API_TOKEN", secrets.token_urlsafe(24))
        monkeypatch.setenv("RASA_BACKEND_PORTS", ",".join(str(s.server_address[1]) for s in servers))
        settings = load_settings()
        reloads: list[dict[str, list[str]]] = []

        def reload(settings_):
            text = (production.nginx_prefix(settings_) / "nginx.conf").read_text()
            upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", text, re.DOTALL))
            reloads.append({name: [" ".join(m) for m in re.findall(r"^\s*server (\S+) [^;\n]*?(down)?;", body, re.M)]
                            for name, body in upstreams.items()})

        monkeypatch.setattr(production, "reload_nginx", reload)
        model = tmp_path / "new.tar.gz"
        model.write_bytes(b"model")
        (tmp_path / "models").mkdir()
        return settings, model, reloads

    start.servers = servers
    yield start
    for server in servers:
        server.shutdown()


def up(reload: dict, upstream: str) -> list[str]:
    return [s.split()[0] for s in reload[upstream] if not s.endswith("down")]


def test_a_server_that_cannot_load_the_model_leaves_every_server_in_nginx(rollout):
    settings, model, reloads = rollout(False, True)
    with pytest.raises(OSError):
        production.roll_out(settings, model, drain_s=0, say=lambda _: None)
    every = [f"127.0.0.1:{p}" for p in settings.rasa_backend_ports]
    assert up(reloads[-1], "caredesk_rasa") == every and up(reloads[-1], "caredesk_rasa_socketio") == every
    assert not (settings.models_dir / "caredesk.tar.gz").exists()  # the served file is not replaced


def test_taking_one_server_out_keeps_the_other_socket_clients_where_they_are(rollout):
    """socket.io is sticky by ip_hash; a server removed from the list re-hashes clients of the
    servers that stay (their sessions live in the server they were on): nginx says to mark it down."""
    settings, model, reloads = rollout(False, False, False)
    production.roll_out(settings, model, drain_s=0, say=lambda _: None)
    every = [f"127.0.0.1:{p}" for p in settings.rasa_backend_ports]
    first_out = reloads[0]
    assert [s.split()[0] for s in first_out["caredesk_rasa_socketio"]] == every  # same list, same hashing
    assert up(first_out, "caredesk_rasa_socketio") == every[1:]
    assert up(first_out, "caredesk_rasa") == every[1:]
    assert up(reloads[-1], "caredesk_rasa_socketio") == every
    assert (settings.models_dir / "caredesk.tar.gz").read_bytes() == b"model"


def test_after_a_failed_load_the_servers_already_switched_serve_the_previous_model_again(rollout):
    """Otherwise the rollout stops with the servers split between two models, the file every server
    restarts from still the old one, and nothing says which server serves what."""
    settings, model, reloads = rollout(False, True)
    served = settings.models_dir / "caredesk.tar.gz"
    served.write_bytes(b"old model")
    with pytest.raises(OSError):
        production.roll_out(settings, model, drain_s=0, say=lambda _: None)
    first = rollout.servers[0].RequestHandlerClass.loaded
    assert first == [str(model.resolve()), str(served.resolve())]
