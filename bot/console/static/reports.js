// The admins' report: draws the figures built on the server (JSON block #report-data) with plotly.js.
// A figure with "drill" set opens the list of episodes behind the clicked point or bar; each point's
// customdata holds the value that selects them. The same script runs inside the self-contained
// HTML report, where there is no server to drill into (data-drill is empty there).
(function () {
  "use strict";
  const holder = document.getElementById("report-data");
  if (!holder || !window.Plotly) return;
  const report = JSON.parse(holder.textContent);
  const drillBase = holder.dataset.drill;

  function drillTo(figure, event) {
    const point = event.points && event.points[0];
    if (!point || point.customdata === undefined || point.customdata === null) return;
    const params = new URLSearchParams(report.query);
    params.set(figure.drill, String(point.customdata));
    window.location.assign(drillBase + "?" + params.toString());
  }

  for (const figure of report.figures) {
    const node = document.getElementById("fig-" + figure.id);
    if (!node) continue;
    Plotly.newPlot(node, figure.data, figure.layout, {displaylogo: false, responsive: true}).then(() => {
      node.dataset.rendered = "true";
    });
    if (figure.drill && drillBase) node.on("plotly_click", (event) => drillTo(figure, event));
  }
})();
