"""The action server, reachable only by the Rasa server.

    python -m caredesk.action_server --port 5055

rasa_sdk's own app (``rasa_sdk.endpoint.create_app``) with five changes:

- it listens on ``settings.host`` (127.0.0.1 unless ``CAREDESK_HOST`` says otherwise), never on
  every interface as ``python -m rasa_sdk`` does;
- every route but ``/health`` needs ``Authorization: Bearer <ACTION_SERVER_TOKEN>`` (compared in
  constant time) before any action runs; the Rasa server sends it from ``var/endpoints.yml``;
- request bodies are bounded: Sanic reads at most ``MAX_BODY_BYTES``, and a
  ``Content-Encoding: deflate`` body is inflated to at most ``MAX_INFLATED_BYTES`` (413 beyond);
- an action that raises is logged with its name and the exception only, and answered
  ``{"error": "action failed", "action_name": ...}``: rasa_sdk's handler put the whole tracker
  (the conversation, personal data included) into the 500 body, which the Rasa server then logs.
- each action runs in a worker thread, so its synchronous CRM calls never block the event loop
  that serves the other conversations' calls (``run_in_worker_thread``).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hmac
import logging
import traceback
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from common.settings import Settings, get_settings

logger = logging.getLogger("caredesk.action_server")

# A tracker of a long session is a few hundred KB of JSON; compressed it is several times smaller.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_INFLATED_BYTES = 8 * 1024 * 1024
OPEN_PATHS = frozenset({"/health"})
MAX_LOGGED_MESSAGE = 300


class BodyTooLarge(ValueError):
    """An inflated body would exceed its limit."""


def inflate(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """``data`` inflated (zlib/deflate), never producing more than ``limit`` bytes.

    Raises:
        BodyTooLarge: the inflated body is longer than ``limit``.
        zlib.error: ``data`` is not a deflate stream.
    """
    inflater = zlib.decompressobj()
    inflated = inflater.decompress(data, limit + 1)
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(f"the inflated body exceeds {limit} bytes")
    return inflated


def authorized(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries the shared token (constant-time compare)."""
    given = (header or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, f"Bearer {token}".encode())


def _action_name(request: Request) -> str | None:
    try:
        call = request.json
    except Exception:  # noqa: BLE001 - an unreadable body has no action name
        return None
    name = call.get("next_action") if isinstance(call, dict) else None
    return name[:100] if isinstance(name, str) else None


def describe_failure(exception: BaseException) -> str:
    """Exception type, where it was raised and its message with personal data redacted: never the
    request, the tracker or local variables."""
    from crm_store.privacy import redact

    message = " ".join(str(exception).split())[:MAX_LOGGED_MESSAGE]
    frames = traceback.extract_tb(exception.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{type(exception).__name__}{where}: {redact(message)}"


def run_in_worker_thread(run: Callable[[Any, Any], Coroutine[Any, Any, Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
    """``ActionExecutor.run`` moved off the server's event loop: each action call runs in a worker
    thread (with an event loop of its own for the action's ``async def run``).

    Our actions call the CRM synchronously (SQLAlchemy sessions, SQLite commits). On the server's
    loop, one action waiting for its database blocked every other conversation's call, and the
    loop could not even read the next request meanwhile. The actions await nothing bound to the
    server's loop, so a loop per call is safe."""

    @functools.wraps(run)
    async def threaded(self, action_call):
        return await asyncio.to_thread(asyncio.run, run(self, action_call))

    return threaded


def run_within_a_form(action_name: Any) -> bool:
    """Whether Rasa runs this action from inside a form's step, on a temporary tracker of the form's
    (``FormAction.validate_slots``, ``_ask_for_slot``; ``action_validate_slot_mappings`` from
    ``ActionExtractSlots``): the form's validation and the actions asking for a slot. Their answer
    stores no digest. Rasa's form takes the customer's message when its validation returns any
    slot (it rejects a message only when no slot comes back, and then the rules for an
    interruption, "stop" or "human" answer it): a digest stored there made every message a form
    answer. And the form's tracker holds only the events since the last restart."""
    return isinstance(action_name, str) and (action_name.startswith(("validate_", "action_ask_"))
                                             or action_name == "action_validate_slot_mappings")


def with_digest(run: Callable[[Any, Any], Coroutine[Any, Any, Any]]) -> Callable[[Any, Any], Coroutine[Any, Any, Any]]:
    """``ActionExecutor.run`` whose every response also stores the conversation's digest, brought up
    to date with the events it was given (``actions/digest.py``): the Rasa server then sends the
    next call only what the digest does not cover. A digest that cannot be made is left out (the
    next call is sent more events), never the action's answer; so is one of an action run within
    a form (:func:`run_within_a_form`)."""
    from rasa_sdk import Tracker

    from actions import digest

    @functools.wraps(run)
    async def digested(self, action_call):
        response = await run(self, action_call)
        if (response is None or not isinstance(action_call.get("tracker"), dict)
                or run_within_a_form(action_call.get("next_action"))):
            return response
        try:
            stored = digest.stored_with(Tracker.from_dict(action_call["tracker"]), response.get("events") or [])
        except Exception as exception:  # noqa: BLE001 - the answer goes out without it
            logger.error("Action %r: the conversation's digest was not brought up to date: %s",
                         action_call.get("next_action"), describe_failure(exception))
            return response
        response["events"] = stored + list(response.get("events") or [])
        return response

    return digested


def create_app(settings: Settings, actions_package: str = "actions") -> Sanic:
    """rasa_sdk's app behind the shared token, with bounded bodies and a quiet error handler."""
    from rasa_sdk import endpoint
    from rasa_sdk.executor import ActionExecutor

    class ThreadedActionExecutor(ActionExecutor):
        run = run_in_worker_thread(with_digest(ActionExecutor.run))

    # rasa_sdk's create_app builds its executor from this module global: ours runs actions off the loop.
    endpoint.ActionExecutor = ThreadedActionExecutor
    app = endpoint.create_app(actions_package, cors_origins=None)  # browsers have no business here
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    app.config.FALLBACK_ERROR_FORMAT = "json"
    token = settings.action_server_token

    @app.on_request
    async def authenticate_and_inflate(request: Request):
        if request.path in OPEN_PATHS:
            return None
        if not authorized(request.headers.get("authorization"), token):
            return response.json({"error": "unauthorized"}, status=401)
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding != "deflate":
            return response.json({"error": f"unsupported Content-Encoding {encoding[:20]!r}"}, status=415)
        try:
            request.body = inflate(request.body)
        except BodyTooLarge:
            return response.json({"error": "request body too large"}, status=413)
        except zlib.error:
            return response.json({"error": "the body is not deflate data"}, status=400)
        del request.headers["content-encoding"]  # rasa_sdk's handler would inflate it again, unbounded
        return None

    async def action_failed(request: Request, exception: Exception):
        if isinstance(exception, SanicException):  # 404, 405, 413, bad JSON: their own status
            return app.error_handler.default(request, exception)
        action = _action_name(request)
        logger.error("Action %r failed: %s", action, describe_failure(exception))
        return response.json({"error": "action failed", "action_name": action}, status=500)

    # Replaces rasa_sdk's handler for Exception (the same key in Sanic's handler table).
    app.error_handler.add(Exception, action_failed)
    return app


def main(argv: list[str] | None = None) -> None:
    from rasa_sdk.utils import number_of_sanic_workers

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="caredesk.action_server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=settings.action_port)
    parser.add_argument("--actions", default="actions", help="package the actions are loaded from")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s - %(message)s")
    app = create_app(settings, args.actions)
    logger.info("Action server on http://%s:%s (token required)", settings.host, args.port)
    app.run(host=settings.host, port=args.port, workers=number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
