"""A small client for Rasa's HTTP API (token-protected), with a timeout on every call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=15)


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or answered with an error."""


class RasaClient:
    def __init__(self, base_url: str, token: str):
        self._base = base_url.rstrip("/")
        self._token = token

    async def _call(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        query = {"token": self._token, **(params or {})}
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session, session.request(
                    method, f"{self._base}{path}", params=query, json=json) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"Rasa answered {response.status} to {method} {path}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa is not reachable: {exc!r}") from exc

    async def tracker(self, conversation_id: str) -> dict:
        return await self._call("GET", f"/conversations/{quote(conversation_id, safe='')}/tracker")

    async def append(self, conversation_id: str, events: list[dict], *, deliver: bool = False) -> dict:
        """Append events; with ``deliver`` bot messages go out through the customer's latest channel."""
        params = {"output_channel": "latest", "execute_side_effects": "true"} if deliver else None
        return await self._call("POST", f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
                                params=params, json=events)

    async def trigger_intent(self, conversation_id: str, intent: str) -> dict:
        """Run the assistant as if the customer had expressed ``intent``; what it says goes out
        through the customer's latest channel."""
        return await self._call("POST", f"/conversations/{quote(conversation_id, safe='')}/trigger_intent",
                                params={"output_channel": "latest"}, json={"name": intent, "entities": {}})
