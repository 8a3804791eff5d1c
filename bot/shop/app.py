"""The demo shop: a product page with the CareDesk chat widget, served by `caredesk run`.

    python -m bot.shop.app            (started by `caredesk run`; http://127.0.0.1:8000)

It plays the part of a real shop's website: it knows who is logged in (here: pick a demo customer,
only when the demo login is switched on with CAREDESK_DEMO_LOGIN=1, as `caredesk run --demo` does)
and hands the widget a short-lived signed ``chat-identity`` token for that customer. A real shop signs
the same token with the shared CAREDESK_SECRET_KEY from its own login (common.identity_token).

    GET  /                        the shop page with the widget
    GET  /products/{sku}          one product (where the widget's product cards link)
    POST /login                   log in as a demo customer (form field customer_id; demo login only)
    POST /logout                  also clears the page's stored chat sessions (Clear-Site-Data)
    GET  /api/chat-token          {"token", "customer", "socket_url"} for the widget
    POST /api/telegram-link       a one-time "continue on Telegram" code for the logged-in customer
    GET  /static/...              widget, styles, socket.io client (installed from npm at setup)
"""

from __future__ import annotations

import argparse
import html
import logging
from pathlib import Path
from string import Template

from aiohttp import web

from common import identity_token
from common.settings import Settings, get_settings
from crm_store import errors
from crm_store.dto import format_money
from crm_store.services import accounts, catalog, identity, suggestions
from crm_store.unit_of_work import UnitOfWork

log = logging.getLogger("caredesk.shop")
HERE = Path(__file__).resolve().parent
COOKIE = "caredesk_shop"
LOGIN_TTL_S = 8 * 3600
CHAT_TOKEN_TTL_S = 3600
DEMO_CUSTOMERS = 6
PAGE_PRODUCTS = 12
SETTINGS = web.AppKey("settings", Settings)
PAGE = web.AppKey("page", Template)


def _json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


def _logged_in(request: web.Request) -> int | None:
    return identity_token.verify(request.cookies.get(COOKIE), request.app[SETTINGS].signing_keys,
                                 identity_token.LOGIN)


def _same_origin(request: web.Request) -> bool:
    """State-changing requests must come from the shop's own pages (a CSRF guard beside SameSite)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


def _product_cards(products) -> str:
    return "\n".join(
        f'<article class="product" id="product-{html.escape(p.sku)}"><h3>{html.escape(p.name)}</h3>'
        f'<p class="category">{html.escape(p.category)}</p><p>{html.escape(p.description)}</p>'
        f'<p class="price">{html.escape(format_money(p.price_cents))}'
        f'{"" if p.stock > 0 else " <em>(out of stock)</em>"}</p></article>'
        for p in products)


def _account_box(request: web.Request, customer_id: int | None) -> str:
    uow = UnitOfWork(request.app[SETTINGS].database_url)
    if customer_id is not None:
        try:
            name = accounts.get_account(customer_id, uow).name
        except errors.CustomerNotFound:
            name = f"customer {customer_id}"
        return (f'<span id="who">Logged in as <strong>{html.escape(name)}</strong></span>'
                '<button type="button" id="telegram-link">Continue on Telegram</button>'
                '<form method="post" action="/logout"><button type="submit">Log out</button></form>'
                '<span id="telegram-code" role="status"></span>')
    if not request.app[SETTINGS].demo_login:
        return '<span id="who">Not logged in</span>'
    options = "".join(f'<option value="{a.customer_id}">{html.escape(a.name)} ({html.escape(a.email)})</option>'
                      for a in accounts.list_accounts(uow, limit=DEMO_CUSTOMERS))
    return ('<form method="post" action="/login" id="login"><span id="who">Browsing as a guest.</span> '
            f'<label>Log in as <select name="customer_id">{options}</select></label>'
            '<button type="submit">Log in</button></form>')


def _page(request: web.Request, products) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    page = request.app[PAGE].substitute(
        account=_account_box(request, _logged_in(request)),
        products=_product_cards(products),
        socket_url=html.escape(settings.rasa_url),
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def shop_page(request: web.Request) -> web.Response:
    uow = UnitOfWork(request.app[SETTINGS].database_url)
    return _page(request, catalog.search_products(uow, limit=PAGE_PRODUCTS))


async def product_page(request: web.Request) -> web.Response:
    uow = UnitOfWork(request.app[SETTINGS].database_url)
    try:
        product = catalog.get_product(request.match_info["sku"][:40], uow)
    except errors.InvalidInput:
        raise web.HTTPNotFound(text="There is no such product.") from None
    if "suggestion" in request.query:  # a chat suggestion's "Add to basket" link, counted in the reports
        followed = identity_token.signed_suggestion(request.query.get("suggestion"), product.sku,
                                                    request.query.get("sig"), request.app[SETTINGS].signing_keys)
        if followed is None:  # unsigned, forged or made for another product: shown, never counted
            log.warning("suggestion link without a valid signature: not counted")
        else:
            suggestions.record_followed(uow, followed, conversation_id=None, kind="basket")
    return _page(request, [product])


async def login(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    if not settings.demo_login:
        raise web.HTTPNotFound(text="The demo login is switched off (CAREDESK_DEMO_LOGIN).")
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    try:
        customer_id = int(str(form.get("customer_id", "")))
        accounts.get_account(customer_id, UnitOfWork(settings.database_url))
    except (ValueError, errors.CustomerNotFound):
        raise web.HTTPBadRequest(text="choose one of the demo customers") from None
    found = web.HTTPSeeOther("/")
    found.set_cookie(COOKIE, identity_token.issue(customer_id, settings.signing_keys, identity_token.LOGIN,
                                                          ttl_s=LOGIN_TTL_S),
                     max_age=LOGIN_TTL_S, httponly=True, samesite="Lax", path="/")
    raise found


async def logout(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    found = web.HTTPSeeOther("/")
    found.del_cookie(COOKIE, path="/")
    # The next person at this browser must not reopen this customer's chat (nor a guest chat
    # verified before logging in): the browser drops the page's stored sessions.
    found.headers["Clear-Site-Data"] = '"storage"'
    raise found


async def chat_token(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    customer_id = _logged_in(request)
    if customer_id is None:
        return _json({"token": None, "customer": None, "socket_url": settings.rasa_url})
    token = identity_token.issue(customer_id, settings.signing_keys, identity_token.CHAT_IDENTITY,
                                 ttl_s=CHAT_TOKEN_TTL_S)
    return _json({"token": token, "customer": {"id": customer_id}, "socket_url": settings.rasa_url})


async def telegram_link(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    if not _same_origin(request):
        return _json({"error": "forbidden", "message": "cross-site request refused"}, 403)
    customer_id = _logged_in(request)
    if customer_id is None:
        return _json({"error": "login_required", "message": "log in to link your Telegram"}, 401)
    code = identity.create_link_code(customer_id, "telegram", UnitOfWork(settings.database_url))
    minutes = int(identity.LINK_CODE_TTL.total_seconds() // 60)
    url = f"https://t.me/{settings.telegram_bot_username}?start={code}" if settings.telegram_bot_username else None
    return _json({"code": code, "url": url, "command": f"/start {code}", "expires_in_minutes": minutes})


async def health(_request: web.Request) -> web.Response:
    return _json({"status": "ok"})


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    rasa = request.app[SETTINGS].rasa_url
    socket = rasa.replace("http://", "ws://").replace("https://", "wss://")
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; connect-src 'self' {rasa} {socket}; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def create_app(settings: Settings) -> web.Application:
    vendor = HERE / "node_modules" / "socket.io-client" / "dist"
    if not (vendor / "socket.io.min.js").exists():
        raise SystemExit("The chat widget's socket.io client is missing: run `make install` (needs npm).")
    app = web.Application(middlewares=[security_headers], client_max_size=16 * 1024)
    app[SETTINGS] = settings
    app[PAGE] = Template((HERE / "templates" / "shop.html").read_text(encoding="utf-8"))  # read once
    app.add_routes([
        web.get("/", shop_page),
        web.get("/products/{sku}", product_page),
        web.get("/health", health),
        web.post("/login", login),
        web.post("/logout", logout),
        web.get("/api/chat-token", chat_token),
        web.post("/api/telegram-link", telegram_link),
        web.static("/static/vendor", vendor),
        web.static("/static", HERE / "static"),
    ])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="CareDesk demo shop with the chat widget")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = get_settings()
    logging.basicConfig(level=logging.INFO)
    web.run_app(create_app(settings), host=settings.host, port=args.port or settings.shop_port, print=None)


if __name__ == "__main__":
    main()

