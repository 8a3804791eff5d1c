"""The admins' NLU review page (``/nlu/review``): what the model did not understand, grouped, with an
intent to choose for each text; saving writes ``data/nlu/learned/`` through the same
:func:`bot.nlu.learning.learn_in_project` as ``caredesk nlu learn`` (redacted again, evaluation
sentences refused). Admins only: the texts are customers' words, and saving changes what the next
training teaches the assistant."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot.console.auth import admin_only
from bot.console.http import form_of, render
from bot.console.live import FEED
from bot.nlu import learning

PROJECT_DIR = web.AppKey("nlu_project_dir", Path)  # where domain.yml and data/ are (default: the settings')
MAX_ROWS = 300  # distinct texts on one page; the form stays under the console's request size limit
DEFAULT_DAYS = 30


def _project_dir(request: web.Request) -> Path:
    if PROJECT_DIR in request.app:
        return request.app[PROJECT_DIR]
    from common.settings import get_settings

    return get_settings().project_dir


def _query(request: web.Request) -> tuple[date, float]:
    try:
        since = (datetime.strptime(request.query["since"], "%Y-%m-%d").date() if request.query.get("since")
                 else datetime.utcnow().date() - timedelta(days=DEFAULT_DAYS))
        threshold = float(request.query.get("threshold") or learning.DEFAULT_THRESHOLD)
    except ValueError:
        raise web.HTTPBadRequest(text="since is a day (YYYY-MM-DD), threshold a number") from None
    if not 0 <= threshold <= 1:
        raise web.HTTPBadRequest(text="threshold is a confidence between 0 and 1")
    return since, threshold


def _review(tracker_store_url: str, since: date, threshold: float) -> tuple[list[learning.ReviewRow], int]:
    missed = learning.read_missed(tracker_store_url, threshold=threshold, since=since)
    return learning.review_rows(missed), len(missed)


@admin_only
async def review_page(request: web.Request) -> web.Response:
    since, threshold = _query(request)
    rows, missed = await asyncio.to_thread(_review, request.app[FEED].tracker_store_url, since, threshold)
    intents = sorted(await asyncio.to_thread(learning.domain_intents, _project_dir(request) / "domain.yml"))
    return render(request, "nlu_review.html", rows=rows[:MAX_ROWS], more=max(0, len(rows) - MAX_ROWS),
                  missed=missed, intents=intents, since=since.isoformat(), threshold=threshold, result=None,
                  error=None)


@admin_only
async def save_review(request: web.Request) -> web.Response:
    form = await form_of(request)
    texts, chosen = form.getall("text", []), form.getall("intent", [])
    if len(texts) != len(chosen):
        raise web.HTTPBadRequest(text="every text needs its intent field (empty to skip it)")
    project = _project_dir(request)
    pairs = zip(texts, chosen, strict=True)
    records = [(number, str(text), str(intent)) for number, (text, intent) in enumerate(pairs, 1)]
    try:
        annotations = learning.annotations_of(
            records, await asyncio.to_thread(learning.domain_intents, project / "domain.yml"))
    except learning.AnnotationError as exc:
        return render(request, "nlu_review.html", status=400, rows=[], more=0, missed=0, intents=[], since="",
                      threshold="", result=None, error=str(exc))
    result = await asyncio.to_thread(learning.learn_in_project, annotations, project)
    return render(request, "nlu_review.html", rows=[], more=0, missed=0, intents=[], since="", threshold="",
                  result=learning.summary(result), error=None)


def add_routes(app: web.Application) -> None:
    app.add_routes([web.get("/nlu/review", review_page), web.post("/nlu/review", save_review)])
