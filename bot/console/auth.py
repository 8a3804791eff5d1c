"""Who is calling the console, and whether they may.

Two kinds of caller, never mixed:
- pages and the console's own requests carry the session cookie (``caredesk_session``: HttpOnly,
  SameSite=Strict, Secure unless the console runs on plain localhost HTTP); every unsafe request
  also carries the session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf_token``);
- integrations call ``/api/...`` with a personal bearer token and no cookie is looked at there.

Nothing but ``/health``, ``/login`` and ``/static`` answers without one of them; ``admin_only``
routes refuse agents with 403. Analysts read the reports and nothing else (no inbox, no
conversations, no agent API: those show customers' personal data); ``reports_access`` routes take
admins and analysts and refuse agents.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.console.http import DATABASE_URL, form_of
from crm_store.services import sessions, users
from crm_store.unit_of_work import UnitOfWork

COOKIE = "caredesk_session"
LOGIN_COOKIE = "caredesk_login_csrf"
PUBLIC = ("/health", "/login", "/static/")
REPORT_READERS = ("admin", "analyst")
ANALYST_PATHS = ("/reports", "/logout")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def client_of(request: web.Request) -> str:
    return request.remote or "?"


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def _wants_page(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


async def _bearer_user(request: web.Request) -> users.UserInfo | None:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        return None
    return await asyncio.to_thread(users.user_for_token, supplied.strip(), UnitOfWork(request.app[DATABASE_URL]))


def csrf_ok(request: web.Request, supplied: str | None) -> bool:
    expected = request["session"].csrf_token
    return bool(supplied) and hmac.compare_digest(str(supplied), expected)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sets ``request["user"]`` (and ``request["session"]`` for cookie callers) or refuses."""
    path = request.path
    if path == "/health" or path.startswith("/static/") or path == "/login":
        return await handler(request)
    if path.startswith("/api/"):
        user = await _bearer_user(request)
        if user is None:
            response = _json_error(401, "unauthorised", "a valid personal API token of an enabled user is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="caredesk-agent-api"'
            return response
        if user.role == "analyst":
            return _json_error(403, "forbidden", "the agent API is for agents and admins")
        request["user"] = user
        return await handler(request)
    session = await asyncio.to_thread(sessions.session_for, request.cookies.get(COOKIE),
                                      UnitOfWork(request.app[DATABASE_URL]))
    if session is None:
        if _wants_page(request):
            raise web.HTTPSeeOther("/login")
        return _json_error(401, "unauthorised", "log in first")
    request["session"], request["user"] = session, session.user
    if session.user.role == "analyst" and not _analyst_may(path):
        if path == "/" and _wants_page(request):
            raise web.HTTPSeeOther("/reports")
        return _forbidden(request, "analysts read the reports only")
    if request.method in UNSAFE:
        supplied: object = request.headers.get("X-CSRF-Token")
        if supplied is None and request.content_type == "application/x-www-form-urlencoded":
            supplied = (await form_of(request)).get("csrf_token")
        if not csrf_ok(request, supplied if isinstance(supplied, str) else None):
            return _json_error(403, "csrf", "the request did not carry this session's CSRF token")
    return await handler(request)


def _analyst_may(path: str) -> bool:
    return any(path == allowed or path.startswith(allowed + "/") for allowed in ANALYST_PATHS)


def _forbidden(request: web.Request, message: str) -> web.Response:
    if _wants_page(request):
        raise web.HTTPForbidden(text=message[0].upper() + message[1:] + ".")
    return _json_error(403, "forbidden", message)


def _only(roles: tuple[str, ...], message: str) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if request["user"].role not in roles:
                return _forbidden(request, message)
            return await handler(request)

        wrapped.__name__ = handler.__name__
        wrapped.__doc__ = handler.__doc__
        return wrapped

    return decorate


admin_only = _only(("admin",), "admins only")
reports_access = _only(REPORT_READERS, "reports are for admins and analysts")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _set_headers(response)
        raise
    _set_headers(response)
    return response


def _set_headers(response: web.StreamResponse) -> None:
    if response.prepared:  # a live event stream already sent its headers
        return
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
