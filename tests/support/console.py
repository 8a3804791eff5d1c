"""Logging in to the agent console in process (aiohttp's TestClient), as a browser's form does."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery staple"


async def login_token(client) -> str:
    """The CSRF token the login form carries."""
    page = await client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert found is not None
    return found[1]


async def log_in(client, username: str, password: str = PASSWORD, **extra):
    """Post the login form; the response (303 on success) is the caller's to check."""
    token = await login_token(client)
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                             **extra}, allow_redirects=False)
