"""The admins' report pages, in process over real HTTP on a real CRM with seeded conversation
history rebuilt into episodes (``caredesk report rebuild``): who may read them, that analysts'
exports carry no personal data, that filters change the figures, that a drill-down lists the
episodes behind a figure, and that the HTML report file loads nothing from outside."""

from __future__ import annotations

import csv
import io
import re
import types
from collections import Counter
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.console import report_data
from bot.console.app import create_app
from caredesk.history_seed import seed_history
from caredesk.report_html import write_report
from caredesk.reports import rebuild
from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import reports, suggestions, users
from crm_store.unit_of_work import UnitOfWork
from tests.support.console import PASSWORD, log_in

AS_OF = datetime(2026, 6, 1)
PROJECT = Path(__file__).resolve().parents[2]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+\d{1,3}[ \d]{6,}\d")  # the shop's phones: "+49 30 1155438"
STREET = re.compile(r"\b\d{1,5} [A-Z][a-z]+ (?:Street|Road|Avenue|Lane|Way|Drive|Place|Square)\b")
AT_RISK = 12


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> str:
    """A 40-customer shop with a year of seeded conversations, rebuilt into report episodes, and
    churn scores for some customers (the at-risk list)."""
    folder = tmp_path_factory.mktemp("reports")
    url, tracker = f"sqlite:///{folder / 'crm.db'}", f"sqlite:///{folder / 'tracker.db'}"
    upgrade(url)
    seed_shop(url, customers=40, seed=7, as_of=AS_OF)
    seed_history(url, tracker, 300, seed=7, as_of=AS_OF, project_dir=PROJECT)
    rebuild(types.SimpleNamespace(database_url=url, tracker_store_url=tracker))
    with UnitOfWork(url) as uow:
        for customer in uow.session.execute(select(models.Customer).order_by(models.Customer.id)
                                            .limit(AT_RISK)).scalars():
            customer.churn_score, customer.churn_reasons = 0.9 - customer.id / 100, ["no order for 5 months"]
        uow.commit()
    for name, role in (("maria", "agent"), ("boss", "admin"), ("ana", "analyst")):
        users.add_user(name, role, UnitOfWork(url), password=PASSWORD)
    report_data.clear_caches()
    return url


@pytest.fixture
async def console(crm, tmp_path):
    app = create_app(rasa_url="http://127.0.0.1:9", rasa_token="x", database_url=crm,
                     tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}", poll_interval=0.2)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def _log_in(client: TestClient, username: str) -> None:
    assert (await log_in(client, username)).status == 303


async def _page(client: TestClient, path: str):
    return await client.get(path, headers={"Accept": "text/html"}, allow_redirects=False)


async def _csv(client: TestClient, path: str) -> list[dict[str, str]]:
    response = await client.get(path)
    assert response.status == 200, (path, await response.text())
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(await response.text())))


def _episodes(crm: str, **filters) -> list:
    return reports.load_episodes(UnitOfWork(crm), **filters)


def _customers(crm: str) -> list[tuple[str, str, str | None, str]]:
    with UnitOfWork(crm) as uow:
        query = select(models.Customer, models.Address).join(models.Address,
                                                              models.Address.customer_id == models.Customer.id)
        return [(c.name, c.email, c.phone, a.line1) for c, a in uow.session.execute(query)]


async def test_agents_are_refused_the_reports_and_their_exports(console):
    await _log_in(console, "maria")
    for path in ("/reports", "/reports/conversations?channel=web", "/reports/export/at_risk.csv"):
        assert (await _page(console, path)).status == 403, path
        assert (await console.get(path)).status == 403, path


async def test_analysts_read_reports_only(console, crm):
    await _log_in(console, "ana")
    home = await _page(console, "/")
    assert (home.status, home.headers["Location"]) == (303, "/reports")
    page = await _page(console, "/reports")
    text = await page.text()
    assert page.status == 200 and 'id="fig-sentiment-daily"' in text and "Customers at risk" in text
    assert not EMAIL.search(text)
    for path in ("/queue.json", "/admin", "/conversations/web:x"):
        assert (await console.get(path)).status == 403, path
    token = users.issue_token("ana", UnitOfWork(crm))
    assert (await console.get("/api/queue", headers={"Authorization": f"Bearer {token}"})).status == 403


async def test_analyst_exports_carry_no_personal_data_and_admin_at_risk_export_does(console, crm):
    people = _customers(crm)
    await _log_in(console, "ana")
    page = await (await _page(console, "/reports")).text()
    tables = re.findall(r'href="/reports/export/([a-z_]+)\.csv"', page)
    assert {"at_risk", "topics", "sentiment_daily", "agents", "forecast", "backtest"} <= set(tables)
    for table in tables:
        text = await (await console.get(f"/reports/export/{table}.csv")).text()
        assert not EMAIL.search(text) and not PHONE.search(text) and not STREET.search(text), table
        for name, email, phone, street in people:
            assert email not in text and (not phone or phone not in text) and street not in text, table
            assert name not in text, table
    at_risk = await _csv(console, "/reports/export/at_risk.csv")
    assert len(at_risk) == AT_RISK and "email" not in at_risk[0] and "name" not in at_risk[0]
    assert all(float(row["churn_score"]) > 0.7 and row["customer_id"] for row in at_risk)

    console.session.cookie_jar.clear()
    await _log_in(console, "boss")
    at_risk = await _csv(console, "/reports/export/at_risk.csv")
    assert len(at_risk) == AT_RISK and all(EMAIL.fullmatch(row["email"]) for row in at_risk)
    assert {row["email"] for row in at_risk} <= {email for _, email, _, _ in people}


async def test_filters_change_the_figures(console, crm):
    await _log_in(console, "boss")
    everything = await _csv(console, "/reports/export/sentiment_channel.csv")
    telegram = await _csv(console, "/reports/export/sentiment_channel.csv?channel=telegram")
    assert {row["channel"] for row in everything} == {"web", "telegram"}
    assert [row["channel"] for row in telegram] == ["telegram"]
    assert int(telegram[0]["episodes"]) == len(_episodes(crm, channel="telegram"))

    may = await _csv(console, "/reports/export/sentiment_daily.csv?since=2026-05-01&until=2026-05-31")
    days = Counter(e.started_at.date().isoformat() for e in _episodes(crm, since=date(2026, 5, 1),
                                                                        until=date(2026, 5, 31)))
    assert {row["day"]: int(row["episodes"]) for row in may} == days
    intent = Counter(e.topic_intent for e in _episodes(crm) if e.topic_intent).most_common(1)[0][0]
    page = await (await _page(console, f"/reports?intent={intent}")).text()
    assert f"<b>{len(_episodes(crm, intent=intent))}</b>" in page
    assert (await _page(console, "/reports?since=yesterday")).status == 400


async def test_a_drill_down_lists_the_episodes_behind_a_figure(console, crm):
    await _log_in(console, "boss")
    escalated = [e for e in _episodes(crm, channel="web") if e.escalated]
    reason = Counter(e.escalation_reason for e in escalated).most_common(1)[0][0]
    expected = {(e.conversation_id, e.number) for e in escalated if e.escalation_reason == reason}
    rows = await _csv(console, f"/reports/export/episodes.csv?channel=web&reason={reason}")
    assert {(row["conversation_id"], int(row["number"])) for row in rows} == expected

    day = escalated[-1].started_at.date()
    page = await (await _page(console, f"/reports/conversations?channel=web&day={day}")).text()
    on_day = {e.conversation_id for e in _episodes(crm, channel="web") if e.started_at.date() == day}
    listed = set(re.findall(r'<a href="/conversations/([^"]+)">', page))
    assert {c.replace("%3A", ":") for c in listed} == on_day

    topics = await _csv(console, "/reports/export/topics.csv")
    biggest = topics[0]
    topic_rows = await _csv(console, f"/reports/export/episodes.csv?topic={biggest['topic']}")
    negative = {(m.conversation_id, m.number) for m in reports.load_negative_messages(UnitOfWork(crm))}
    assert topic_rows and {(r["conversation_id"], int(r["number"])) for r in topic_rows} <= negative


async def test_report_pages_allow_plotly_styles_but_no_inline_script_and_serve_plotly_cached(console):
    await _log_in(console, "ana")
    page = await _page(console, "/reports")
    policy = page.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src" not in policy
    text = await page.text()
    assert "<script>" not in text and '<script type="application/json" id="report-data"' in text
    src = re.search(r'<script src="(/static/vendor/plotly\.min\.js\?v=[^"]+)"', text)[1]
    script = await console.get(src, headers={"Accept-Encoding": "gzip"})
    assert script.status == 200 and "immutable" in script.headers["Cache-Control"]
    assert "plotly.js v2" in (await script.text())[:200]
    again = await console.get(src, headers={"If-None-Match": script.headers["ETag"]})
    assert again.status == 304


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.references: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data") and value:
                self.references.append(value)
            if name == "style" and value:
                self.references += re.findall(r"url\(([^)]*)\)", value)

    def handle_data(self, data):
        if self.lasttag == "style":
            self.references += re.findall(r"url\(([^)]*)\)", data)


def _outside(reference: str) -> bool:
    reference = reference.strip("'\" ").lower()
    return reference.startswith(("http:", "https:", "//", "ftp:"))


def test_the_html_report_is_one_self_contained_file_without_personal_data(crm, tmp_path):
    settings = types.SimpleNamespace(database_url=crm)
    out = write_report(settings, since=date(2025, 12, 1), until=date(2026, 5, 31), out=tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    assert parser.scripts == 3 and not [r for r in parser.references if _outside(r)]
    assert "plotly.js v2" in text and 'id="fig-forecast"' in text and "Customers at risk" in text
    assert not EMAIL.search(re.sub(r"<script>.*?</script>", "", text, flags=re.S))
    with_people = write_report(settings, since=None, until=None, out=tmp_path / "people.html",
                               with_personal_data=True).read_text(encoding="utf-8")
    assert any(email in with_people for _, email, _, _ in _customers(crm))


async def test_the_report_shows_how_often_suggestions_were_followed_by_kind(console, crm):
    april, may = datetime(2026, 4, 10, 12), datetime(2026, 5, 20, 12)

    def show(conversation: str, channel: str, at: datetime, n: int) -> list[int]:
        shown = [suggestions.Shown(f"SKU-{i}", "popular") for i in range(n)]
        return suggestions.record_shown(UnitOfWork(crm), conversation_id=conversation, channel=channel,
                                        customer_id=None, products=shown, now=at)

    web = show("web:follows", "caredesk_web", april, 8)
    telegram = show("telegram:follows", "caredesk_telegram", april, 2)
    later = show("web:later", "caredesk_web", may, 5)
    for suggestion_id, kind in ((web[0], "details"), (web[1], "more"), (web[2], "basket"), (web[3], "details"),
                                (telegram[0], "more"), (later[0], "basket")):
        conversation = None if kind == "basket" else ("telegram:follows" if suggestion_id in telegram
                                                      else "web:follows")
        suggestions.record_followed(UnitOfWork(crm), suggestion_id, conversation_id=conversation, kind=kind)
    suggestions.record_followed(UnitOfWork(crm), web[0], conversation_id="web:follows", kind="more")  # counted once

    await _log_in(console, "ana")  # analysts read it too: counts only, no personal data
    april_rows = await _csv(console, "/reports/export/suggestions.csv?since=2026-04-01&until=2026-04-30")
    assert [(r["suggestions"], r["count"], r["share of shown"]) for r in april_rows] == [
        ("shown", "10", ""), ("Details", "2", "20.0%"), ("More like this", "2", "20.0%"),
        ("Add to basket link", "1", "10.0%"), ("followed in any way", "5", "50.0%")]
    web_only = await _csv(console, "/reports/export/suggestions.csv?since=2026-04-01&until=2026-04-30&channel=web")
    assert {r["suggestions"]: r["count"] for r in web_only} == {
        "shown": "8", "Details": "2", "More like this": "1", "Add to basket link": "1", "followed in any way": "4"}
    whole = {r["suggestions"]: r["count"] for r in await _csv(console, "/reports/export/suggestions.csv")}
    assert whole["shown"] == "15" and whole["Add to basket link"] == "2" and whole["followed in any way"] == "6"
    page = await (await _page(console, "/reports?since=2026-05-01&until=2026-05-31")).text()
    section = re.sub(r"\s+", " ", page.split('id="table-suggestions"', 1)[1].split("</table>", 1)[0])
    assert re.search(r"<td>\s*Add to basket link\s*</td>\s*<td>\s*1\s*</td>\s*<td>\s*20.0%\s*</td>", section), section
    nothing = await _csv(console, "/reports/export/suggestions.csv?since=2026-01-01&until=2026-01-31")
    assert nothing == []
