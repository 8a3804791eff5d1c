"""The admins' reports in a real browser: the console runs as its own process (``python -m
bot.console.app``) on a CRM with a year of seeded conversations rebuilt into episodes; headless
Debian Chromium (Playwright) logs in as an admin, sees every plotly chart drawn under the report
pages' CSP, clicks a bar and lands on the conversations behind it. The self-contained HTML report
is opened from disk with every network request recorded: it draws its charts and asks for nothing.

``CAREDESK_SCREENSHOTS=docs/screenshots`` keeps the README's pictures of the report and a drill-down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from caredesk.harness import free_port
from caredesk.history_seed import seed_history
from caredesk.report_html import write_report
from caredesk.reports import rebuild
from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import users
from crm_store.unit_of_work import UnitOfWork

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough console password"
PROJECT = Path(__file__).resolve().parents[2]
SCREENSHOTS = os.environ.get("CAREDESK_SCREENSHOTS")
AS_OF = datetime(2026, 6, 1)
CHARTS = ("sentiment-daily", "sentiment-channel", "sentiment-intent", "sentiment-agent", "sentiment-shift",
          "escalation-reasons", "agents", "csat", "topics", "forecast")


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("reports-e2e")
    url, tracker = f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}"
    upgrade(url)
    seed_shop(url, customers=60, seed=7, as_of=AS_OF)
    seed_history(url, tracker, 600, seed=7, as_of=AS_OF, project_dir=PROJECT)
    rebuild(types.SimpleNamespace(database_url=url, tracker_store_url=tracker))
    with UnitOfWork(url) as uow:
        for customer in uow.session.execute(select(models.Customer).limit(10)).scalars():
            customer.churn_score, customer.churn_reasons = 0.95 - customer.id / 100, ["no order for 5 months"]
        uow.commit()
    users.add_user("boss", "admin", UnitOfWork(url), password=PASSWORD)
    return url, folder


@pytest.fixture(scope="module")
def console(crm):
    url, folder = crm
    port = free_port()
    env = {**os.environ, "CAREDESK_VAR_DIR": str(folder), "DATABASE_URL": url,
           "TRACKER_STORE_URL": f"sqlite:///{folder / 'tracker.db'}", "AGENT_API_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "bot.console.app"], cwd=PROJECT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the console did not start") from None
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and "favicon" not in str(message.location)
            and page.problems.append(f"console: {message.text}"))
    yield page
    context.close()


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def _log_in(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#queue")


def test_an_admin_sees_every_chart_and_drills_into_a_bar(console, page):
    _log_in(page, console)
    page.click("nav a[href='/reports']")
    for chart in CHARTS:
        page.wait_for_selector(f"#fig-{chart}[data-rendered='true'] svg.main-svg", timeout=30_000)
    assert page.locator("#fig-escalation-reasons .bars .point").count() >= 2
    assert page.locator("#fig-forecast .scatterlayer .trace").count() == 3
    assert page.locator("#table-at_risk tbody tr").count() == 10
    assert "@" in page.inner_text("#table-at_risk")  # admins see the e-mail addresses
    page.wait_for_timeout(500)
    assert page.problems == []
    _shot(page, "reports-overview.png")

    page.locator("#fig-escalation-reasons").scroll_into_view_if_needed()
    bar = page.locator("#fig-escalation-reasons .bars .point path").first.bounding_box()
    reason = page.evaluate("document.getElementById('fig-escalation-reasons').data[0].customdata[0]")
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.wait_for_url("**/reports/conversations?**")
    assert f"reason={reason}" in page.url.replace("+", " ").replace("%20", " ")
    rows = page.locator("#episodes tbody tr")
    assert rows.count() >= 1 and rows.first.locator("a[href^='/conversations/']").count() == 1
    assert all(reason == cell for cell in page.locator("#episodes tbody tr td:nth-child(7)").all_text_contents())
    _shot(page, "reports-drilldown.png")


def test_the_html_report_draws_offline_and_requests_nothing(crm, page, tmp_path):
    url, _ = crm
    out = write_report(types.SimpleNamespace(database_url=url), since=None, until=None, out=tmp_path / "report.html")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(out.as_uri())
    for chart in CHARTS:
        page.wait_for_selector(f"#fig-{chart}[data-rendered='true'] svg.main-svg", timeout=30_000)
    assert [r for r in requested if not r.startswith(("file:", "data:", "blob:"))] == []
    assert "@" not in page.inner_text("#table-at_risk")  # no personal data unless asked for
    assert page.problems == []
