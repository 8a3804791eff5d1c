"""The agent console and the agent API in one aiohttp server.

    python -m bot.console.app           (started by `caredesk run`, on CAREDESK_HOST only)

Agents and admins log in with their password (``caredesk users add NAME --role agent|admin``)
and work from the queue; integrations use the same operations at ``/api/...`` with a personal
token (bot/console/agent_api.py). Live updates come from one background feed (bot/console/live.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.console import agent_api, nlu_review, reports, views
from bot.console.alerts import TelegramAlerts
from bot.console.auth import authenticate, security_headers
from bot.console.http import DATABASE_URL, LOGIN_THROTTLE, RASA, SECURE_COOKIES, TEMPLATES
from bot.console.live import FEED, Feed, stream
from bot.console.rasa_client import RasaClient
from bot.console.throttle import LoginThrottle
from common.settings import Settings, get_settings

HERE = Path(__file__).resolve().parent


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(("html",)))
    env.filters["mood"] = lambda score: "" if score is None else ("negative" if score <= -0.05 else
                                                                  "positive" if score >= 0.05 else "neutral")
    env.filters["money"] = lambda cents: "-" if cents is None else f"{cents / 100:,.2f}"
    return env


def create_app(*, rasa_url: str, rasa_token: str, database_url: str, tracker_store_url: str,
               secure_cookies: bool = False, alerts=None, poll_interval: float = 1.0) -> web.Application:
    app = web.Application(middlewares=[security_headers, authenticate], client_max_size=64 * 1024)
    app[DATABASE_URL] = database_url
    app[RASA] = RasaClient(rasa_url, rasa_token)
    app[TEMPLATES] = templates()
    app[SECURE_COOKIES] = secure_cookies
    app[LOGIN_THROTTLE] = LoginThrottle()
    app[FEED] = Feed(database_url, tracker_store_url, interval=poll_interval, on_new_ticket=alerts)
    app.add_routes([web.get("/health", health), web.get("/live", stream), *reports.vendor_routes(),
                    web.static("/static", HERE / "static")])
    views.add_routes(app)
    reports.add_routes(app)
    agent_api.add_routes(app)
    nlu_review.add_routes(app)

    async def run_feed(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[FEED].run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(run_feed)
    return app


def alerts_for(settings: Settings) -> TelegramAlerts | None:
    if not (settings.telegram_token and settings.agent_alert_chat_id):
        return None
    return TelegramAlerts(settings.telegram_token, settings.agent_alert_chat_id, settings.telegram_api_url,
                          settings.console_base_url)


def main() -> None:
    parser = argparse.ArgumentParser(description="CareDesk agent console and agent API")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO)
    app = create_app(rasa_url=settings.rasa_url, rasa_token=settings.rasa_api_token,
                     database_url=settings.database_url, tracker_store_url=settings.tracker_store_url,
                     secure_cookies=settings.console_secure_cookies, alerts=alerts_for(settings))
    web.run_app(app, host=settings.host, port=args.port or settings.agent_api_port, print=None)


if __name__ == "__main__":
    main()
