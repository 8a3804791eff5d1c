"""The admins' report as ONE self-contained HTML file (``caredesk report --since --until --out``).

The file holds everything it needs: plotly.js from the pinned wheel and the console's own
report script inlined, the figures and tables as data, the stylesheet inline. It loads nothing
from anywhere (no CDN, no fonts, no images), so it can be mailed or archived and opened offline
years later. Personal data is left out unless asked for: the file leaves the console's access
control behind.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.console import report_data, reports
from bot.console.report_data import Filters

CONSOLE = Path(reports.__file__).resolve().parent


def _inline_script(text: str) -> str:
    """Script text safe inside <script>...</script> (a literal end tag would close the element)."""
    return text.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def render_report(report: report_data.Report, *, period: str) -> str:
    env = Environment(loader=FileSystemLoader(CONSOLE / "templates"), autoescape=select_autoescape(("html",)))
    reports.register_filters(env)
    plotly_js = reports.plotly_bundle()[0].decode("utf-8")
    return env.get_template("report_file.html").render(
        report=report, data=report.as_json(), links=False, export_query="", period=period,
        written=datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        css=(CONSOLE / "static" / "console.css").read_text(encoding="utf-8"),
        plotly_js=_inline_script(plotly_js),
        reports_js=_inline_script((CONSOLE / "static" / "reports.js").read_text(encoding="utf-8")))


def write_report(settings, *, since: date | None, until: date | None, out: Path,
                 with_personal_data: bool = False) -> Path:
    """Write the report for ``since``..``until`` (whole days, both included) to ``out``; returns its path."""
    filters = Filters(since=since, until=until)
    report = report_data.build_report(settings.database_url, filters, personal=with_personal_data)
    period = f"{since.isoformat() if since else 'start'} to {until.isoformat() if until else 'now'}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(report, period=period), encoding="utf-8")
    return out
