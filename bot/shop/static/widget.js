/*
 * CareDesk chat widget: a floating chat window that talks to the assistant over socket.io.
 *
 * Include socket.io's client first, then this script with:
 *   data-socket-url  the Rasa server (its web chat channel listens on /socket.io)
 *   data-token-url   a same-origin URL answering {"token": <signed identity token or null>}
 *   data-title       the window's title
 *
 * The session key the server hands out is the only key to the conversation. A logged-in
 * customer's is kept in localStorage (one per customer; the server reopens it only with that
 * customer's token), a guest's in sessionStorage, so it ends with the tab and the next person at a
 * shared computer starts afresh. When the page says nobody is logged in (after a logout), every
 * customer's stored key is forgotten. A reload reopens the conversation and the server sends its
 * history again.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var config = {
    socketUrl: script.getAttribute("data-socket-url"),
    tokenUrl: script.getAttribute("data-token-url"),
    title: script.getAttribute("data-title") || "Support",
  };
  var MAX_MESSAGE = 2000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Text with [label](url) links, bare http(s) links and line breaks, built as DOM nodes (never HTML).
  var LINK = /\[([^\]]+)\]\(((?:https?:\/\/|\/(?!\/))[^\s)]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,!?;:'"])/g;
  var SAFE_URL = /^(?:https?:\/\/|\/(?!\/))/;
  function richText(text) {
    var fragment = document.createDocumentFragment();
    String(text || "").split("\n").forEach(function (line, index) {
      if (index > 0) fragment.appendChild(document.createElement("br"));
      var last = 0, match;
      LINK.lastIndex = 0;
      while ((match = LINK.exec(line)) !== null) {
        if (match.index > last) fragment.appendChild(document.createTextNode(line.slice(last, match.index)));
        var link = el("a", null, match[1] || match[3]);
        link.href = match[2] || match[3];
        if (!link.href.startsWith(window.location.origin)) {
          link.target = "_blank";
          link.rel = "noopener noreferrer";
        }
        fragment.appendChild(link);
        last = LINK.lastIndex;
      }
      if (last < line.length) fragment.appendChild(document.createTextNode(line.slice(last)));
    });
    return fragment;
  }

  function forgetCustomerSessions() {
    for (var i = window.localStorage.length - 1; i >= 0; i--) {
      var key = window.localStorage.key(i);
      if (key && key.indexOf("caredesk.session.") === 0) window.localStorage.removeItem(key);
    }
  }

  function Widget() {
    this.socket = null;
    this.token = null;
    this.storage = window.sessionStorage;
    this.storageKey = "caredesk.session.guest";
    this.build();
  }

  Widget.prototype.build = function () {
    var self = this;
    this.launcher = el("button", "cd-launcher", "Chat with us");
    this.badge = el("span", "cd-badge");
    this.badge.hidden = true;
    this.badge.setAttribute("aria-label", "unread messages");
    this.launcher.appendChild(this.badge);
    this.unread = 0;
    this.launcher.type = "button";
    this.launcher.setAttribute("aria-controls", "cd-window");
    this.window = el("section", "cd-window");
    this.window.id = "cd-window";
    this.window.setAttribute("aria-label", config.title);
    this.window.hidden = true;

    var header = el("header", "cd-header");
    header.appendChild(el("span", "cd-title", config.title));
    this.status = el("span", "cd-status", "connecting…");
    header.appendChild(this.status);
    var close = el("button", "cd-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close chat");
    header.appendChild(close);

    this.log = el("ol", "cd-log");
    this.log.setAttribute("aria-live", "polite");
    this.typing = el("div", "cd-typing");
    this.typing.setAttribute("aria-label", "The assistant is typing");
    this.typing.appendChild(el("span"));
    this.typing.appendChild(el("span"));
    this.typing.appendChild(el("span"));
    this.typing.hidden = true;

    this.form = el("form", "cd-form");
    this.input = el("input", "cd-input");
    this.input.type = "text";
    this.input.maxLength = MAX_MESSAGE;
    this.input.placeholder = "Type your message…";
    this.input.setAttribute("aria-label", "Your message");
    this.input.autocomplete = "off";
    var send = el("button", "cd-send", "Send");
    send.type = "submit";
    this.form.appendChild(this.input);
    this.form.appendChild(send);

    this.window.appendChild(header);
    this.window.appendChild(this.log);
    this.window.appendChild(this.typing);
    this.window.appendChild(this.form);
    document.body.appendChild(this.launcher);
    document.body.appendChild(this.window);

    this.launcher.addEventListener("click", function () { self.setOpen(true); });
    close.addEventListener("click", function () { self.setOpen(false); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (text) {
        self.send(text, text);
        self.input.value = "";
      }
    });
    if (sessionStorage.getItem("caredesk.open") === "1") this.setOpen(true);
  };

  Widget.prototype.setOpen = function (open) {
    this.window.hidden = !open;
    this.launcher.hidden = open;
    sessionStorage.setItem("caredesk.open", open ? "1" : "0");
    if (open) {
      this.unread = 0;
      this.badge.hidden = true;
      this.input.focus();
    }
  };

  Widget.prototype.start = function () {
    var self = this;
    fetch(config.tokenUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .catch(function () { return {}; })
      .then(function (identity) {
        self.token = identity.token || null;
        if (identity.customer) {
          self.storage = window.localStorage;
          self.storageKey = "caredesk.session.customer-" + identity.customer.id;
        } else {
          forgetCustomerSessions();
        }
        self.connect(identity.socket_url || config.socketUrl);
      });
  };

  Widget.prototype.connect = function (url) {
    var self = this;
    // WebSocket only: the server checks the page's origin, and no long-polling means no CORS round trips.
    this.socket = io(url, { path: "/socket.io", transports: ["websocket"] });
    this.socket.on("connect", function () {
      self.setStatus("online");
      self.socket.emit("session_request", {
        session_id: self.storage.getItem(self.storageKey),
        customData: { identity_token: self.token },
      });
    });
    this.socket.on("disconnect", function () { self.setStatus("reconnecting…"); });
    this.socket.on("connect_error", function () { self.setStatus("offline, retrying…"); });
    this.socket.on("session_confirm", function (sessionId) {
      self.storage.setItem(self.storageKey, sessionId);
      self.window.setAttribute("data-session", sessionId);
    });
    this.socket.on("history", function (history) {
      self.showTyping(false);
      self.log.textContent = "";
      var messages = (history && history.messages) || [];
      if (!messages.length) {
        self.notice("Hi! Ask me about an order, a return or a product, or ask for a person.");
      }
      messages.forEach(function (message) {
        if (message.from === "customer") self.addCustomer(message.text);
        else self.addBot(message, true);
      });
      var last = self.log.lastElementChild;
      var open = last && last.querySelector(".cd-replies");
      if (open) open.classList.remove("cd-used");  // the last question can still be answered
      self.window.setAttribute("data-ready", "1");
    });
    this.socket.on("bot_uttered", function (message) {
      self.addBot(message, false);
      if (self.window.hidden) {  // e.g. an agent answers while the chat is closed
        self.unread += 1;
        self.badge.textContent = String(self.unread);
        self.badge.hidden = false;
      }
    });
    this.socket.on("typing", function (state) { self.showTyping(!!(state && state.on)); });
    this.socket.on("error", function (error) {
      self.showTyping(false);
      self.notice((error && error.message) || "Something went wrong.", "cd-error");
    });
  };

  Widget.prototype.setStatus = function (text) {
    this.status.textContent = text;
    this.window.setAttribute("data-status", text);
  };

  Widget.prototype.send = function (payload, shown) {
    if (!this.socket || !this.socket.connected) {
      this.notice("Not connected yet: your message was not sent. Please try again in a moment.", "cd-error");
      return;
    }
    this.disableQuickReplies();
    this.addCustomer(shown);
    this.socket.emit("user_uttered", {
      message: payload,
      customData: shown !== payload ? { display: shown } : {},
    });
  };

  Widget.prototype.item = function (className) {
    var item = el("li", "cd-message " + className);
    this.log.appendChild(item);
    this.log.scrollTop = this.log.scrollHeight;
    return item;
  };

  Widget.prototype.addCustomer = function (text) {
    this.item("cd-customer").appendChild(richText(text));
  };

  Widget.prototype.notice = function (text, extraClass) {
    this.item("cd-notice " + (extraClass || "")).textContent = text;
  };

  Widget.prototype.addBot = function (message, fromHistory) {
    var self = this;
    var isAgent = message.from === "agent" || !!message.agent;
    var item = this.item(isAgent ? "cd-agent" : "cd-bot");
    if (isAgent) item.appendChild(el("span", "cd-sender", message.agent || "Support agent"));
    if (message.text) item.appendChild(el("div", "cd-text")).appendChild(richText(message.text));
    if (message.image && SAFE_URL.test(message.image)) {
      var image = el("img", "cd-image");
      image.src = message.image;
      image.alt = "";
      item.appendChild(image);
    }
    if (message.cards && message.cards.length) {
      var cards = el("div", "cd-cards");
      message.cards.forEach(function (card) {
        var box = el("article", "cd-card");
        box.appendChild(el("h4", null, card.title));
        if (card.subtitle) box.appendChild(el("p", null, card.subtitle));
        if (card.url && SAFE_URL.test(card.url)) {
          var link = el("a", "cd-card-link", card.link_title || "View product");
          link.href = card.url;
          box.appendChild(link);
        }
        (card.buttons || []).forEach(function (button) {
          box.appendChild(self.replyButton(button, "cd-card-button"));
        });
        cards.appendChild(box);
      });
      item.appendChild(cards);
    }
    var replies = message.quick_replies || message.buttons || [];
    if (replies.length) {
      var row = el("div", "cd-replies");
      replies.forEach(function (button) { row.appendChild(self.replyButton(button, "cd-reply")); });
      if (fromHistory) row.classList.add("cd-used");
      item.appendChild(row);
    }
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.replyButton = function (button, className) {
    var self = this;
    var node = el("button", className, button.title);
    node.type = "button";
    node.addEventListener("click", function () { self.send(button.payload || button.title, button.title); });
    return node;
  };

  Widget.prototype.disableQuickReplies = function () {
    this.log.querySelectorAll(".cd-replies").forEach(function (row) { row.classList.add("cd-used"); });
  };

  Widget.prototype.showTyping = function (on) {
    this.typing.hidden = !on;
    if (on) this.log.scrollTop = this.log.scrollHeight;
  };

  function boot() {
    if (typeof io !== "function") {
      console.error("CareDesk widget: the socket.io client did not load.");
      return;
    }
    window.careDeskWidget = new Widget();
    window.careDeskWidget.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
