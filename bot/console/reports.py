"""The admins' report pages: charts with drill-down, and a CSV export of every table.

Admins and analysts read them (agents get 403); only admins see personal data. The figures are
built in Python (bot/console/report_data.py) and drawn by plotly.js, which the console serves
from the pinned ``plotly`` wheel itself (no CDN): ``/static/vendor/plotly.min.js``, cached by the
browser for a year under a versioned URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import importlib.metadata
import importlib.util
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment

from bot.console import report_data
from bot.console.auth import reports_access
from bot.console.http import DATABASE_URL, TEMPLATES, render
from bot.console.report_data import BadFilters, Filters

log = logging.getLogger(__name__)
WARM_SECONDS = 30.0
PLOTLY_PATH = "/static/vendor/plotly.min.js"
# plotly.js draws with inline style attributes and <style> rules it inserts; report pages only
# allow inline styles (never inline scripts).
REPORT_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              "frame-ancestors 'none'; form-action 'self'")


@lru_cache(maxsize=1)
def plotly_bundle() -> tuple[bytes, bytes, str, str]:
    """plotly.min.js from the installed wheel: (plain, gzipped, ETag, plotly.js version)."""
    spec = importlib.util.find_spec("plotly")  # found, not imported: the Python side is not needed
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the plotly package is not installed (it is in requirements.lock)")
    path = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    body = path.read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return body, gzip.compress(body, 6), etag, importlib.metadata.version("plotly")


def plotly_url() -> str:
    return f"{PLOTLY_PATH}?v={plotly_bundle()[3]}"


async def plotly_js(request: web.Request) -> web.StreamResponse:
    body, zipped, etag, _ = await asyncio.to_thread(plotly_bundle)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable",
               "Content-Type": "text/javascript; charset=utf-8", "Vary": "Accept-Encoding"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        return web.Response(body=zipped, headers={**headers, "Content-Encoding": "gzip"})
    return web.Response(body=body, headers=headers)


def cell(value: Any) -> str:
    """How a table cell reads on a page: lists joined, datetimes to the minute, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def minutes(seconds: float | None) -> str:
    """Seconds as minutes, or hours once past two hours (support-hour durations)."""
    if seconds is None:
        return "-"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def register_filters(env: Environment) -> None:
    """The report templates' formatting, for the console and for the HTML file alike."""
    env.filters.update(cell=cell, pct=pct, minutes=minutes, score=lambda v: "-" if v is None else f"{v:.2f}")


def _filters(request: web.Request) -> Filters:
    try:
        return Filters.from_query(request.query)
    except BadFilters as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc


def _personal(request: web.Request) -> bool:
    return request["user"].role == "admin"


def _page(request: web.Request, template: str, **values: Any) -> web.Response:
    response = render(request, template, plotly_src=plotly_url(), links=True, **values)
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@reports_access
async def reports_page(request: web.Request) -> web.Response:
    """The report for the filters in the query string (all dates, channels and intents by default)."""
    filters = _filters(request)
    report = await asyncio.to_thread(report_data.build_report, request.app[DATABASE_URL], filters,
                                     personal=_personal(request))
    return _page(request, "reports.html", report=report, data=report.as_json(),
                 query=filters.as_query(), export_query=request.query_string)


def _selection(request: web.Request) -> dict[str, str]:
    return {key: request.query[key] for key in report_data.DRILL_KEYS if request.query.get(key)}


@reports_access
async def drill_page(request: web.Request) -> web.Response:
    """The episodes behind one chart point or bar, each linked to its conversation."""
    filters = _filters(request)
    try:
        rows, total = await asyncio.to_thread(report_data.drill, request.app[DATABASE_URL], filters,
                                              _selection(request), personal=_personal(request))
    except BadFilters as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return _page(request, "report_conversations.html", rows=rows, total=total, selection=_selection(request),
                 query=filters.as_query(), export_query=request.query_string, limit=report_data.DRILL_LIMIT)


@reports_access
async def export_csv(request: web.Request) -> web.Response:
    """One table of the report (or ``episodes``: a drill-down's list) as CSV, for the same filters."""
    name = request.match_info["table"]
    filters = _filters(request)
    url = request.app[DATABASE_URL]
    if name == "episodes":
        rows, _ = await asyncio.to_thread(report_data.drill, url, filters, _selection(request), limit=10**9,
                                          personal=_personal(request))
        table = report_data.drill_table(rows)
    else:
        report = await asyncio.to_thread(report_data.build_report, url, filters, personal=_personal(request))
        if name not in report.tables:
            raise web.HTTPNotFound(text=f"No table {name!r}.")
        table = report.tables[name]
    return web.Response(text=table.csv(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="caredesk-{name}.csv"'})


async def keep_warm(app: web.Application) -> AsyncIterator[None]:
    """Builds the default report at start-up and again after each rebuild (the build stamp is
    checked every :data:`WARM_SECONDS`; an unchanged stamp costs one small query)."""

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(report_data.warm, app[DATABASE_URL])
            except Exception:  # noqa: BLE001 - a report that cannot be built now is built on demand later
                log.warning("warming the default report failed", exc_info=True)
            await asyncio.sleep(WARM_SECONDS)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def add_routes(app: web.Application, *, warm: bool = True) -> None:
    """The vendor script must be routed before ``/static`` (the static route owns that prefix)."""
    register_filters(app[TEMPLATES])
    if warm:
        app.cleanup_ctx.append(keep_warm)
    app.add_routes([
        web.get("/reports", reports_page), web.get("/reports/conversations", drill_page),
        web.get("/reports/export/{table:[a-z_]+}.csv", export_csv),
    ])


def vendor_routes() -> list[web.RouteDef]:
    return [web.get(PLOTLY_PATH, plotly_js)]
