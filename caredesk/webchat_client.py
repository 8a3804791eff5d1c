"""A minimal socket.io client for the web chat channel, over a WebSocket as the widget connects.

python-socketio's own client cannot use its WebSocket transport with this aiohttp, and its
long-polling transport takes a ping interval to disconnect; this speaks just enough Engine.IO 4.
Used by the e2e and security tests and by benchmarks/chat_latency.py.
"""

from __future__ import annotations

import asyncio
import json
import time

from websockets.legacy.client import WebSocketClientProtocol, connect


class WebChat:
    """The widget's side of the socket.io protocol (Engine.IO 4 over a WebSocket), kept minimal.

    Every event the server sends is kept in ``events`` as ``(name, data)``.
    """

    def __init__(self, url: str, origin: str):
        self.url, self.origin = url, origin
        self.events: list[tuple[str, object]] = []

    async def __aenter__(self):
        self.ws: WebSocketClientProtocol = await connect(f"{self.url}/socket.io/?EIO=4&transport=websocket",
                                           extra_headers={"Origin": self.origin}, max_size=2**22)
        await self.ws.recv()  # Engine.IO open packet
        await self.ws.send("40")
        await self._next_event_or_connect()
        return self

    async def __aexit__(self, *_exc):
        await self.ws.close()

    async def _next_event_or_connect(self):
        while True:
            packet = await self.ws.recv()
            if isinstance(packet, bytes):
                continue  # binary attachments: the chat channel sends none
            if packet == "2":  # ping
                await self.ws.send("3")
            elif packet.startswith("40"):
                return None
            elif packet.startswith("42"):
                message = json.loads(packet[2:])
                self.events.append((message[0], message[1] if len(message) > 1 else None))
                return message

    async def emit(self, event: str, data) -> None:
        await self.ws.send("42" + json.dumps([event, data]))

    async def until(self, event: str, accept=lambda _data: True, timeout: float = 60):
        return await asyncio.wait_for(self._until(event, accept), timeout)

    async def _until(self, event: str, accept):
        while True:
            message = await self._next_event_or_connect()
            if message and message[0] == event and accept(message[1] if len(message) > 1 else None):
                return message[1] if len(message) > 1 else None

    async def session(self, token: str | None = None, session_id: str | None = None) -> tuple[str, dict]:
        """Open (or reopen) a conversation: its session id and the history the server sent."""
        await self.emit("session_request", {"session_id": session_id, "customData": {"identity_token": token}})
        confirmed = await self.until("session_confirm")
        return confirmed, await self.until("history")

    async def turn(self, text: str, **extra) -> float:
        """Send a message and wait for the end of the bot's turn; the seconds it took."""
        started = time.perf_counter()
        await self.emit("user_uttered", {"message": text, **extra})
        await self.until("typing", lambda data: data == {"on": False})
        return time.perf_counter() - started
