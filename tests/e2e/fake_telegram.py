"""A local stand-in for the Telegram Bot API that records what the bot sends (loopback only)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from caredesk.harness import free_port


class FakeBotApi:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _params(self) -> dict:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    return json.loads(body or "{}")
                return {k: v[0] for k, v in parse_qs(body).items()}

            def do_POST(self):  # noqa: N802 - the http.server API
                method = self.path.rsplit("/", 1)[-1]
                params = self._params()
                api.calls.append((method, params))
                result = {
                    "getMe": {"id": 1, "is_bot": True, "first_name": "CareDesk", "username": "caredesk_bot"},
                    "sendMessage": {"message_id": len(api.calls), "date": int(time.time()),
                                    "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
                                    "text": params.get("text", "")},
                }.get(method, True)
                payload = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *_args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sent(self, since: int = 0) -> list[dict]:
        return [params for method, params in self.calls[since:] if method == "sendMessage"]

    def wait_sent(self, since: int, needle: str, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.sent(since)
            if any(needle in (m.get("text") or "") for m in found):
                return found
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} was not sent; sent: {[m.get('text') for m in self.sent(since)]}")
