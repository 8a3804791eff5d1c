// The console's pages: live updates (server-sent events) and the agent's actions.
// Every request that changes something carries the session's CSRF token.
(function () {
  "use strict";
  const body = document.body;
  const csrf = body.dataset.csrf;
  const page = body.dataset.page;

  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(data || {}),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.message || ("HTTP " + response.status));
    return answer;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function mood(score) {
    if (score === null || score === undefined) return "";
    return score <= -0.05 ? "negative" : (score >= 0.05 ? "positive" : "neutral");
  }

  function live(onEvent) {
    const source = new EventSource("/live");
    source.onmessage = (message) => onEvent(JSON.parse(message.data));
    return source;
  }

  // --- the queue ---------------------------------------------------------------------------
  function countdowns() {
    for (const cell of document.querySelectorAll("td.due")) {
      if (cell.dataset.answered === "true") { cell.textContent = "answered"; continue; }
      let left = parseInt(cell.dataset.due, 10);
      cell.dataset.due = String(left - 1);
      const late = left < 0;
      left = Math.abs(left);
      const text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      cell.textContent = late ? text + " late" : text + " left";
      cell.classList.toggle("late", late);
    }
  }

  function drawQueue(rows) {
    const tbody = document.querySelector("#queue tbody");
    tbody.replaceChildren();
    document.getElementById("queue-count").textContent = String(rows.length);
    if (!rows.length) {
      const tr = el("tr", "empty"); const td = el("td", "", "Nobody is waiting."); td.colSpan = 7;
      tr.append(td); tbody.append(tr); return;
    }
    for (const row of rows) {
      const tr = el("tr", row.state); tr.dataset.conversation = row.conversation_id;
      tr.append(el("td", "risk", row.risk.toFixed(1)));
      const feel = el("td"); const m = mood(row.last_sentiment);
      feel.append(el("span", "mood " + m, m || "-"));
      if (row.churn_score !== null && row.churn_score !== undefined) {
        feel.append(el("span", "churn", "churn " + Math.round(row.churn_score * 100) + "%"));
      }
      tr.append(feel);
      const why = el("td"); const link = el("a", "", row.why);
      link.href = "/conversations/" + encodeURIComponent(row.conversation_id); why.append(link); tr.append(why);
      tr.append(el("td", "", row.channel || "-"));
      const prio = el("td"); prio.append(el("span", "priority " + row.priority, row.priority)); tr.append(prio);
      tr.append(el("td", "", row.assignee || "waiting"));
      const due = el("td", "due"); due.dataset.due = String(row.due_in_seconds);
      due.dataset.answered = row.answered ? "true" : "false"; tr.append(due);
      tbody.append(tr);
    }
    countdowns();
  }

  async function refreshQueue() {
    const response = await fetch("/queue.json", {credentials: "same-origin"});
    if (response.ok) drawQueue((await response.json()).queue);
  }

  function queuePage() {
    countdowns();
    setInterval(countdowns, 1000);
    live((event) => { if (event.type === "queue" || event.type === "message") refreshQueue(); });
    const button = document.getElementById("presence");
    button.addEventListener("click", async () => {
      const available = button.dataset.available !== "true";
      await post("/presence", {available});
      button.dataset.available = String(available);
      button.textContent = available ? "Available" : "Away";
      button.className = "presence " + (available ? "on" : "off");
    });
  }

  // --- one conversation --------------------------------------------------------------------
  function conversationPage() {
    const box = document.getElementById("conversation");
    const id = box.dataset.conversation;
    const base = "/conversations/" + encodeURIComponent(id);
    const messages = document.getElementById("messages");
    const error = document.getElementById("reply-error");

    function show(problem) { error.textContent = problem; error.hidden = !problem; }
    messages.scrollTop = messages.scrollHeight;  // the newest messages first in view

    function append(event) {
      const kind = event.from === "customer" ? "customer" : (event.agent ? "agent" : "bot");
      const item = el("li", "msg " + kind);
      item.append(el("span", "from", event.from), el("span", "text", event.text));
      if (event.sentiment) {
        const s = event.sentiment;
        const badge = el("span", "mood " + s.label, s.label + " " + (s.score >= 0 ? "+" : "") + s.score.toFixed(2));
        item.append(badge);
      }
      messages.append(item);
      item.scrollIntoView({block: "nearest"});
    }

    live((event) => {
      if (event.type === "message" && event.conversation === id) append(event);
    });

    async function act(path, data) {
      show("");
      try { await post(base + path, data); window.location.reload(); } catch (problem) { show(problem.message); }
    }
    document.getElementById("claim").addEventListener("click", () => act("/claim"));
    document.getElementById("resolve").addEventListener("click", () => act("/resolve"));
    document.getElementById("transfer").addEventListener("click",
      () => act("/transfer", {to: document.getElementById("transfer-to").value}));

    const reply = document.getElementById("reply");
    document.getElementById("reply-form").addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      show("");
      try { await post(base + "/reply", {text: reply.value}); reply.value = ""; } catch (problem) { show(problem.message); }
    });
    for (const button of document.querySelectorAll(".canned-reply")) {
      button.addEventListener("click", async () => {
        try {
          reply.value = (await post(base + "/canned", {index: parseInt(button.dataset.index, 10)})).text;
          reply.focus();
        } catch (problem) { show(problem.message); }
      });
    }
    const note = document.getElementById("note");
    document.getElementById("note-form").addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      try {
        const answer = await post(base + "/notes", {text: note.value});
        const item = el("li"); item.append(el("b", "", answer.note.author), document.createTextNode(": " + answer.note.text));
        document.getElementById("notes").append(item);
        note.value = "";
      } catch (problem) { show(problem.message); }
    });
  }

  if (page === "queue") queuePage();
  if (page === "conversation") conversationPage();
})();
