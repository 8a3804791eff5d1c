/* The demo shop's own script: the "continue on Telegram" button. */
(function () {
  "use strict";
  var button = document.getElementById("telegram-link");
  var status = document.getElementById("telegram-code");
  if (!button || !status) return;
  button.addEventListener("click", function () {
    button.disabled = true;
    fetch("/api/telegram-link", { method: "POST", credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (link) {
        status.textContent = "";
        if (link.error) {
          status.textContent = link.message;
          return;
        }
        if (link.url) {
          var anchor = document.createElement("a");
          anchor.href = link.url;
          anchor.target = "_blank";
          anchor.rel = "noopener noreferrer";
          anchor.textContent = "Open Telegram";
          status.appendChild(anchor);
          status.appendChild(document.createTextNode(" (valid " + link.expires_in_minutes + " min)"));
        } else {
          status.textContent = "Send " + link.command + " to our Telegram bot within " +
            link.expires_in_minutes + " minutes.";
        }
      })
      .catch(function () { status.textContent = "Could not create a link, please try again."; })
      .then(function () { button.disabled = false; });
  });
})();
